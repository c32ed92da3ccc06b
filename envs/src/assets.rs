//! Models embedded in the binary, compiled once per process.

use crate::EnvError;
use sim::Model;
use std::sync::Mutex;

/// Compiles `scene` from the embedded `files` once per process and `variant` (which version
/// of an included part `files` hold, such as the physics options; empty for a scene with
/// one version): every env of a scene shares
/// the same read-only model, which keeps the physics of many envs in cache.
pub(crate) fn cached_model(
    files: &[(&str, &str)],
    scene: &str,
    variant: &str,
) -> Result<Model, EnvError> {
    let key = format!("{scene}/{variant}");
    static MODELS: Mutex<Vec<(String, Model)>> = Mutex::new(Vec::new());
    let mut models = MODELS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some((_, model)) = models.iter().find(|(name, _)| *name == key) {
        return Ok(model.clone());
    }
    let model = Model::from_embedded(files, scene)?;
    models.push((key, model.clone()));
    Ok(model)
}
