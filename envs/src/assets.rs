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
    static MODELS: Mutex<Vec<(String, Model)>> = Mutex::new(Vec::new());
    once_per_scene(&MODELS, scene, variant, || {
        Ok(Model::from_embedded(files, scene)?)
    })
}

/// The value `cache` holds for `scene` and `variant` (as [`cached_model`] names them), made
/// by `make` the first time it is asked for in this process.
pub(crate) fn once_per_scene<T: Clone>(
    cache: &Mutex<Vec<(String, T)>>,
    scene: &str,
    variant: &str,
    make: impl FnOnce() -> Result<T, EnvError>,
) -> Result<T, EnvError> {
    let key = format!("{scene}/{variant}");
    let mut values = cache
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some((_, value)) = values.iter().find(|(name, _)| *name == key) {
        return Ok(value.clone());
    }
    let value = make()?;
    values.push((key, value.clone()));
    Ok(value)
}
