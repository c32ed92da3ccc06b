//! Models embedded in the binary, compiled once per process.

use crate::EnvError;
use sim::Model;
use std::sync::Mutex;

/// Compiles `scene` from the embedded `files` once per process: every env of a scene shares
/// the same read-only model, which keeps the physics of many envs in cache.
pub(crate) fn cached_model(files: &[(&str, &str)], scene: &str) -> Result<Model, EnvError> {
    static MODELS: Mutex<Vec<(String, Model)>> = Mutex::new(Vec::new());
    let mut models = MODELS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some((_, model)) = models.iter().find(|(name, _)| name == scene) {
        return Ok(model.clone());
    }
    let model = Model::from_embedded(files, scene)?;
    models.push((scene.to_string(), model.clone()));
    Ok(model)
}
