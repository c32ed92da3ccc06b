//! The hand-written reward programs: the ones in `rewards/` are built into the binary, so
//! that evolve works from any directory; a folder can add to them or replace them.
//!
//! - No folder given: the built-in programs, each replaced by `rewards/<env>/<name>` from the
//!   working directory where that exists, plus any others there.
//! - `--rewards DIR`: exactly `DIR/<env>/*.rhai` (a seed library of your own).
//!
//! A task file's (`task:<path>`) built-in programs are the `*.rhai` files of its `rewards`
//! folder, and `<env>` above is the task's name.
//!
//! The final evaluation's baselines (`human.rhai`, `sparse.rhai`) come from the same
//! programs, falling back to the built-in ones when a folder lacks them.

use crate::EvolveError;
use std::path::Path;

/// (env, file name, source) of every program in `rewards/`.
pub const BUILT_IN: &[(&str, &str, &str)] = &[
    (
        "franka-push",
        "distance.rhai",
        include_str!("../../../rewards/franka-push/distance.rhai"),
    ),
    (
        "franka-push",
        "human.rhai",
        include_str!("../../../rewards/franka-push/human.rhai"),
    ),
    (
        "franka-push",
        "sparse.rhai",
        include_str!("../../../rewards/franka-push/sparse.rhai"),
    ),
    (
        "franka-reach",
        "human.rhai",
        include_str!("../../../rewards/franka-reach/human.rhai"),
    ),
    (
        "franka-reach",
        "sparse.rhai",
        include_str!("../../../rewards/franka-reach/sparse.rhai"),
    ),
    (
        "quadruped-stand",
        "human.rhai",
        include_str!("../../../rewards/quadruped-stand/human.rhai"),
    ),
    (
        "quadruped-stand",
        "sparse.rhai",
        include_str!("../../../rewards/quadruped-stand/sparse.rhai"),
    ),
    (
        "quadruped-turn",
        "human.rhai",
        include_str!("../../../rewards/quadruped-turn/human.rhai"),
    ),
    (
        "quadruped-turn",
        "sparse.rhai",
        include_str!("../../../rewards/quadruped-turn/sparse.rhai"),
    ),
    (
        "quadruped-walk",
        "human.rhai",
        include_str!("../../../rewards/quadruped-walk/human.rhai"),
    ),
    (
        "quadruped-walk",
        "sparse.rhai",
        include_str!("../../../rewards/quadruped-walk/sparse.rhai"),
    ),
];

/// The built-in programs of `env`, as (file name, source), sorted by name: for a task file,
/// those of its `rewards` folder.
pub fn built_in(env: &str) -> Result<Vec<(String, String)>, EvolveError> {
    if let Some((_, folder)) = task_folder(env)? {
        return match folder {
            Some(folder) => read_folder(&folder),
            None => Ok(Vec::new()),
        };
    }
    Ok(BUILT_IN
        .iter()
        .filter(|(e, _, _)| *e == env)
        .map(|(_, name, source)| (name.to_string(), source.to_string()))
        .collect())
}

/// A task file's name and rewards folder; `None` for other envs.
fn task_folder(env: &str) -> Result<Option<(String, Option<std::path::PathBuf>)>, EvolveError> {
    task_file::reward_folder(env).map_err(|e| EvolveError::Config(e.to_string()))
}

/// The programs in `dir/<env>/*.rhai` (for a task file, `dir/<task name>/`), sorted by name;
/// none when that folder is missing.
pub fn from_dir(dir: &Path, env: &str) -> Result<Vec<(String, String)>, EvolveError> {
    match task_folder(env)? {
        Some((name, _)) => read_folder(&dir.join(name)),
        None => read_folder(&dir.join(env)),
    }
}

/// The `*.rhai` files of a folder, sorted by name; none when it is missing.
fn read_folder(dir: &Path) -> Result<Vec<(String, String)>, EvolveError> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(Vec::new());
    };
    let mut programs = Vec::new();
    for entry in entries {
        let path = entry.map_err(|e| EvolveError::io(dir, e))?.path();
        if path.extension().is_some_and(|e| e == "rhai") {
            let text = user_files::read_to_string(&path, user_files::Kind::REWARD)
                .map_err(|e| EvolveError::Config(e.to_string()))?;
            let name = path
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into();
            programs.push((name, text));
        }
    }
    programs.sort();
    Ok(programs)
}

/// The programs a run of `env` starts from: `dir`'s alone when `replace`, else the built-in
/// ones overlaid by `dir`'s (by file name).
pub fn library(
    dir: Option<&Path>,
    replace: bool,
    env: &str,
) -> Result<Vec<(String, String)>, EvolveError> {
    let from_folder = match dir {
        Some(dir) => from_dir(dir, env)?,
        None => Vec::new(),
    };
    if replace {
        return Ok(from_folder);
    }
    let mut programs = built_in(env)?;
    for (name, source) in from_folder {
        programs.retain(|(n, _)| *n != name);
        programs.push((name, source));
    }
    programs.sort();
    Ok(programs)
}

/// A baseline program (`human.rhai`, `sparse.rhai`): from `library` when it has it, else
/// built in. Says where it came from.
pub fn baseline(
    library: &[(String, String)],
    env: &str,
    file: &str,
) -> Option<(String, &'static str)> {
    let find = |programs: &[(String, String)]| {
        programs
            .iter()
            .find(|(name, _)| name == file)
            .map(|(_, source)| source.clone())
    };
    find(library)
        .map(|s| (s, "the run's programs"))
        .or_else(|| find(&built_in(env).unwrap_or_default()).map(|s| (s, "built in")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_program_in_the_rewards_folder_is_built_in() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../rewards");
        let mut on_disk = Vec::new();
        for env in std::fs::read_dir(&root).unwrap() {
            let env = env.unwrap().file_name().to_string_lossy().to_string();
            for (name, source) in from_dir(&root, &env).unwrap() {
                on_disk.push((env.clone(), name, source));
            }
        }
        on_disk.sort();
        let mut built: Vec<(String, String, String)> = BUILT_IN
            .iter()
            .map(|(e, n, s)| (e.to_string(), n.to_string(), s.to_string()))
            .collect();
        built.sort();
        assert_eq!(built, on_disk, "add new files in rewards/ to BUILT_IN");
    }

    #[test]
    fn a_folder_overlays_the_built_in_programs_or_replaces_them() {
        let dir = std::env::temp_dir().join(format!("evolve-library-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("franka-reach")).unwrap();
        std::fs::write(dir.join("franka-reach/human.rhai"), "[1.0, #{}]").unwrap();
        std::fs::write(dir.join("franka-reach/mine.rhai"), "[2.0, #{}]").unwrap();
        let overlaid = library(Some(&dir), false, "franka-reach").unwrap();
        let names: Vec<&str> = overlaid.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["human.rhai", "mine.rhai", "sparse.rhai"]);
        assert_eq!(overlaid[0].1, "[1.0, #{}]");
        let only = library(Some(&dir), true, "franka-reach").unwrap();
        assert_eq!(only.len(), 2);
        let (sparse, from) = baseline(&only, "franka-reach", "sparse.rhai").unwrap();
        assert_eq!(
            (sparse.as_str(), from),
            (built_in("franka-reach").unwrap()[1].1.as_str(), "built in")
        );
        assert_eq!(
            library(None, false, "franka-reach").unwrap(),
            built_in("franka-reach").unwrap()
        );
        assert!(library(None, false, "mjcf:x.xml").unwrap().is_empty());
    }
}
