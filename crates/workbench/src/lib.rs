//! The web workbench for an evolve run. [`Site`] turns the run store into pages: the run
//! overview (generation table, fitness plot), one page per candidate (code with a diff
//! against its parent, prompt, reply, reflection, learning curves, and the rollout video with
//! a reward-component plot whose cursor follows the video), and the final comparison.
//! [`serve`] serves them live from 127.0.0.1, refreshing while the run goes on; [`export`]
//! writes the same pages as static files.

mod pages;
mod server;

pub use pages::{Mode, Site};
pub use server::{Server, serve};

use std::path::Path;

/// What can go wrong, naming the run or file.
#[derive(Debug, thiserror::Error)]
pub enum WorkbenchError {
    #[error("{path}: {message}")]
    Run { path: String, message: String },
    #[error(transparent)]
    Evolve(#[from] evolve::EvolveError),
    #[error(transparent)]
    Viewer(#[from] viewer::ViewerError),
    #[error("page template: {0}")]
    Template(#[from] minijinja::Error),
    #[error("no candidate {0} in this run")]
    NoCandidate(i64),
    #[error("{0}")]
    NotFound(String),
    #[error("server: {0}")]
    Server(String),
}

impl WorkbenchError {
    pub(crate) fn run(path: &Path, message: impl std::fmt::Display) -> Self {
        WorkbenchError::Run {
            path: path.display().to_string(),
            message: message.to_string(),
        }
    }
}

/// Writes the run's pages into `out` as static files (`index.html`, `candidate-N.html`,
/// `final.html`, assets and videos) that open without a server. Videos missing from the run
/// are rendered first where the machine can render; `progress` hears about each page.
pub fn export(
    run: &Path,
    out: &Path,
    progress: &mut dyn FnMut(&str),
) -> Result<usize, WorkbenchError> {
    let site = Site::open(run, Mode::Static)?;
    let write = |name: &str, bytes: &[u8]| -> Result<(), WorkbenchError> {
        let path = out.join(name);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| WorkbenchError::run(dir, e))?;
        }
        std::fs::write(&path, bytes).map_err(|e| WorkbenchError::run(&path, e))
    };
    for (name, bytes) in pages::ASSETS {
        write(&format!("assets/{name}"), bytes.as_bytes())?;
    }
    write("index.html", site.overview()?.as_bytes())?;
    write("final.html", site.final_comparison()?.as_bytes())?;
    let mut pages = 2;
    for id in site.candidate_ids()? {
        match site.video(id) {
            Ok(Some(video)) => {
                let name = video
                    .file_name()
                    .and_then(|n| n.to_str())
                    .unwrap_or("video");
                let bytes = std::fs::read(&video).map_err(|e| WorkbenchError::run(&video, e))?;
                write(&format!("videos/{name}"), &bytes)?;
            }
            Ok(None) => {}
            Err(e) => progress(&format!("candidate {id}: no video ({e})")),
        }
        write(
            &format!("candidate-{id}.html"),
            site.candidate(id)?.as_bytes(),
        )?;
        pages += 1;
        progress(&format!("candidate {id}"));
    }
    Ok(pages)
}
