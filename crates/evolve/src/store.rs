//! The run store: `runs/<id>/evolve.db`, one SQLite database (WAL) with the run's config,
//! every candidate (code, parents, prompt, reply, tokens, status, error, fitness), every
//! language-model call, per-checkpoint metrics and the final evaluation runs. Each write is
//! its own transaction, so a kill at any moment loses at most the step in flight.

use crate::EvolveError;
use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// What became of a candidate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// The reply had no code block.
    NoCode,
    /// The program failed to compile or failed its dry run.
    FailedCheck,
    /// Checked; waiting to train (or training when the run stopped).
    Pending,
    /// Trained to the top rung of the schedule.
    Trained,
    /// Trained to a lower rung (its `rung`) and promoted no further.
    Stopped,
    /// Its training process failed.
    Crashed,
}

impl Status {
    /// The name stored in the database and shown in tables.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::NoCode => "no_code",
            Status::FailedCheck => "failed_check",
            Status::Pending => "pending",
            Status::Trained => "trained",
            Status::Stopped => "stopped",
            Status::Crashed => "crashed",
        }
    }

    fn parse(text: &str) -> Result<Self, EvolveError> {
        Ok(match text {
            "no_code" => Status::NoCode,
            "failed_check" => Status::FailedCheck,
            "pending" => Status::Pending,
            "trained" => Status::Trained,
            "stopped" => Status::Stopped,
            "crashed" => Status::Crashed,
            other => {
                return Err(EvolveError::Store(format!(
                    "unknown candidate status '{other}'"
                )));
            }
        })
    }

    /// Whether the candidate was trained to a rung and stays there (the top, or a lower one
    /// it was not promoted from), so it has a fitness.
    pub fn has_fitness(self) -> bool {
        matches!(self, Status::Trained | Status::Stopped)
    }

    /// Whether the candidate's program passed its check, so it enters the lowest rung.
    pub fn checked(self) -> bool {
        !matches!(self, Status::NoCode | Status::FailedCheck)
    }
}

/// Where a candidate stood at the end of one rung.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RungResult {
    /// Env steps trained by then (the end of the update that reached the rung's steps).
    pub steps: u64,
    /// Fitness over the metrics rows up to then.
    pub fitness: Option<f64>,
    /// The task's tiebreak error over the same rows.
    pub tiebreak: Option<f64>,
}

/// One sample's attempt: a reply and the program in it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Candidate {
    pub id: i64,
    pub generation: u32,
    /// Which of the generation's samples this is.
    pub sample: u32,
    /// 0 for the first try; retries after a failed check count up.
    pub attempt: u32,
    /// Ids of the candidates this one was derived from.
    pub parents: Vec<i64>,
    /// The program, when the reply had one.
    pub code: Option<String>,
    /// The chat messages sent (JSON), or the offline generator's description.
    pub prompt: String,
    pub reply: String,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub status: Status,
    pub error: Option<String>,
    /// Fitness over the last checkpoints of training at its last rung (higher is better).
    pub fitness: Option<f64>,
    /// The task's own per-episode measure over the same checkpoints (success rate, error).
    pub task_measure: Option<f64>,
    /// The task's tiebreak error over the same checkpoints.
    pub tiebreak: Option<f64>,
    /// Env steps trained.
    pub steps: u64,
    /// The rung of its last training job that ended (trained to it, or crashed in it);
    /// `None` before its first.
    pub rung: Option<u32>,
    /// Its result at each rung it was trained to, lowest first.
    pub rung_results: Vec<RungResult>,
    /// The generator operators that made its program, in the order applied (the offline
    /// generator's; empty for a language model).
    pub operators: Vec<String>,
    /// The training run's directory, relative to the evolve run.
    pub run_dir: Option<String>,
    /// The reflection text written from its training.
    pub reflection: Option<String>,
}

impl Candidate {
    /// Whether its training job for `rung` has ended (with a result, or a crash).
    pub fn finished_rung(&self, rung: usize) -> bool {
        self.rung.is_some_and(|r| r as usize >= rung)
    }

    /// Its (fitness, tiebreak) at `rung`, `(None, None)` without a result there.
    pub fn score_at(&self, rung: usize) -> (Option<f64>, Option<f64>) {
        self.rung_results
            .get(rung)
            .map_or((None, None), |r| (r.fitness, r.tiebreak))
    }
}

/// One attempt of a sample, as the progress display needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    pub generation: u32,
    pub sample: u32,
    pub status: Status,
    /// See [`Candidate::rung`].
    pub rung: Option<u32>,
    /// The training run's directory, relative to the evolve run.
    pub run_dir: Option<String>,
}

/// A new candidate before it has an id or results.
pub struct NewCandidate<'a> {
    pub generation: u32,
    pub sample: u32,
    pub attempt: u32,
    pub parents: &'a [i64],
    pub code: Option<&'a str>,
    pub prompt: &'a str,
    pub reply: &'a str,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub status: Status,
    pub error: Option<&'a str>,
    pub operators: &'a [String],
}

/// What training gave a candidate.
pub struct TrainingResult<'a> {
    pub status: Status,
    pub error: Option<&'a str>,
    pub rung: Option<u32>,
    pub rung_results: &'a [RungResult],
    pub fitness: Option<f64>,
    pub task_measure: Option<f64>,
    pub tiebreak: Option<f64>,
    pub steps: u64,
    pub reflection: Option<&'a str>,
}

/// One training run of the final evaluation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FinalRun {
    /// `best`, `human` or `sparse`.
    pub label: String,
    pub seed: u64,
    pub status: Status,
    pub error: Option<String>,
    pub fitness: Option<f64>,
    pub task_measure: Option<f64>,
    pub run_dir: String,
}

/// One language-model call, as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LlmCall {
    pub generation: u32,
    pub sample: u32,
    pub attempt: u32,
    pub request: String,
    pub response: String,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub attempts: u32,
    pub seconds: f64,
}

/// The database of one evolve run.
pub struct Store {
    conn: Connection,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS generations (
    generation INTEGER PRIMARY KEY,
    elite INTEGER,
    finished INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS candidates (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    generation INTEGER NOT NULL,
    sample INTEGER NOT NULL,
    attempt INTEGER NOT NULL,
    parents TEXT NOT NULL,
    code TEXT,
    prompt TEXT NOT NULL,
    reply TEXT NOT NULL,
    prompt_tokens INTEGER NOT NULL,
    completion_tokens INTEGER NOT NULL,
    status TEXT NOT NULL,
    error TEXT,
    fitness REAL,
    task_measure REAL,
    tiebreak REAL,
    steps INTEGER NOT NULL DEFAULT 0,
    run_dir TEXT,
    reflection TEXT,
    rung INTEGER,
    rung_results TEXT NOT NULL DEFAULT '[]',
    operators TEXT NOT NULL DEFAULT '[]',
    UNIQUE (generation, sample, attempt)
);
CREATE TABLE IF NOT EXISTS metrics (
    candidate INTEGER NOT NULL,
    row INTEGER NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (candidate, row)
);
CREATE TABLE IF NOT EXISTS llm_calls (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    generation INTEGER NOT NULL,
    sample INTEGER NOT NULL,
    attempt INTEGER NOT NULL,
    request TEXT NOT NULL,
    response TEXT NOT NULL,
    prompt_tokens INTEGER NOT NULL,
    completion_tokens INTEGER NOT NULL,
    attempts INTEGER NOT NULL,
    seconds REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS final_runs (
    label TEXT NOT NULL,
    seed INTEGER NOT NULL,
    status TEXT NOT NULL,
    error TEXT,
    fitness REAL,
    task_measure REAL,
    run_dir TEXT NOT NULL,
    PRIMARY KEY (label, seed)
);
";

const CANDIDATE_COLUMNS: &str = "id, generation, sample, attempt, parents, code, prompt, reply, \
     prompt_tokens, completion_tokens, status, error, fitness, task_measure, tiebreak, steps, \
     run_dir, reflection, rung, rung_results, operators";

fn db_error(e: rusqlite::Error) -> EvolveError {
    EvolveError::Store(e.to_string())
}

/// The file in a run directory that the running loop holds locked.
pub const LOCK_FILE: &str = "evolve.lock";

/// The lock an evolve loop holds on its run directory while it runs: two loops on one run
/// would train the same candidates at once and overwrite each other's results. The kernel
/// releases it when the process ends, however it ends (`kill -9` included), so `--resume`
/// after a crash finds it free.
#[derive(Debug)]
pub struct RunLock {
    _file: std::fs::File,
}

impl RunLock {
    /// Takes the lock on `dir` (which must exist), or says which process holds it.
    pub fn acquire(dir: &Path) -> Result<Self, EvolveError> {
        use std::io::Write;
        use std::os::fd::AsRawFd;
        let path = dir.join(LOCK_FILE);
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(&path)
            .map_err(|e| EvolveError::io(&path, e))?;
        // SAFETY: flock on a file descriptor this function owns for the call's duration.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
            let holder = std::fs::read_to_string(&path).unwrap_or_default();
            return Err(EvolveError::Config(format!(
                "{}: another `rewardgen evolve` (process {}) is running this run; wait for it to \
                 end, or stop it (Ctrl-C) before resuming",
                dir.display(),
                holder.trim()
            )));
        }
        file.set_len(0).map_err(|e| EvolveError::io(&path, e))?;
        write!(file, "{}", std::process::id()).map_err(|e| EvolveError::io(&path, e))?;
        Ok(Self { _file: file })
    }
}

impl Store {
    /// Opens (creating when missing) the database at `path`.
    pub fn open(path: &Path) -> Result<Self, EvolveError> {
        // An existing database must be a regular file: SQLite would block reading a FIFO.
        if std::fs::symlink_metadata(path).is_ok() {
            user_files::check(path, user_files::Kind::DATABASE)
                .map_err(|e| EvolveError::Store(e.to_string()))?;
        }
        let conn = Connection::open(path)
            .map_err(|e| EvolveError::Store(format!("{}: {e}", path.display())))?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(db_error)?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(db_error)?;
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .map_err(db_error)?;
        conn.execute_batch(SCHEMA)
            .map_err(|e| EvolveError::Store(format!("{}: {e}", path.display())))?;
        migrate(&conn).map_err(|e| {
            EvolveError::Store(format!("{}: adding the rung columns: {e}", path.display()))
        })?;
        Ok(Self { conn })
    }

    /// Sets a run-level value (the config, the generator's name, ...).
    pub fn set_meta(&self, key: &str, value: &str) -> Result<(), EvolveError> {
        self.conn
            .execute(
                "INSERT INTO meta (key, value) VALUES (?1, ?2)
                 ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                params![key, value],
            )
            .map_err(db_error)?;
        Ok(())
    }

    pub fn meta(&self, key: &str) -> Result<Option<String>, EvolveError> {
        self.conn
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()
            .map_err(db_error)
    }

    pub fn insert_candidate(&self, c: &NewCandidate) -> Result<i64, EvolveError> {
        let parents = serde_json::to_string(c.parents).expect("ids serialize");
        self.conn
            .execute(
                "INSERT INTO candidates (generation, sample, attempt, parents, code, prompt, reply,
                 prompt_tokens, completion_tokens, status, error, operators)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
                params![
                    c.generation,
                    c.sample,
                    c.attempt,
                    parents,
                    c.code,
                    c.prompt,
                    c.reply,
                    c.prompt_tokens as i64,
                    c.completion_tokens as i64,
                    c.status.as_str(),
                    c.error,
                    serde_json::to_string(c.operators).expect("names serialize"),
                ],
            )
            .map_err(db_error)?;
        Ok(self.conn.last_insert_rowid())
    }

    pub fn set_run_dir(&self, id: i64, run_dir: &str) -> Result<(), EvolveError> {
        self.conn
            .execute(
                "UPDATE candidates SET run_dir = ?2 WHERE id = ?1",
                params![id, run_dir],
            )
            .map_err(db_error)?;
        Ok(())
    }

    /// Sets a candidate's status alone (a stopped candidate promoted to the next rung).
    pub fn set_status(&self, id: i64, status: Status) -> Result<(), EvolveError> {
        self.conn
            .execute(
                "UPDATE candidates SET status = ?2 WHERE id = ?1",
                params![id, status.as_str()],
            )
            .map_err(db_error)?;
        Ok(())
    }

    /// Records a candidate's training and its metrics rows in one transaction.
    pub fn set_training_result(
        &self,
        id: i64,
        result: &TrainingResult,
        metrics: &[trainer::metrics::MetricsRow],
    ) -> Result<(), EvolveError> {
        let tx = self.conn.unchecked_transaction().map_err(db_error)?;
        tx.execute(
            "UPDATE candidates SET status = ?2, error = ?3, fitness = ?4, rung = ?5,
             rung_results = ?6, task_measure = ?7, tiebreak = ?8, steps = ?9, reflection = ?10
             WHERE id = ?1",
            params![
                id,
                result.status.as_str(),
                result.error,
                result.fitness,
                result.rung,
                serde_json::to_string(result.rung_results).expect("results serialize"),
                result.task_measure,
                result.tiebreak,
                result.steps as i64,
                result.reflection,
            ],
        )
        .map_err(db_error)?;
        tx.execute("DELETE FROM metrics WHERE candidate = ?1", [id])
            .map_err(db_error)?;
        for (i, row) in metrics.iter().enumerate() {
            // Non-finite values as "inf"/"-inf"/"nan", which read back (docs/training.md).
            let data = trainer::metrics::encode_row(row);
            tx.execute(
                "INSERT INTO metrics (candidate, row, data) VALUES (?1, ?2, ?3)",
                params![id, i as i64, data],
            )
            .map_err(db_error)?;
        }
        tx.commit().map_err(db_error)
    }

    fn candidates_where(
        &self,
        clause: &str,
        args: &[&dyn rusqlite::ToSql],
    ) -> Result<Vec<Candidate>, EvolveError> {
        let sql = format!(
            "SELECT {CANDIDATE_COLUMNS} FROM candidates {clause} ORDER BY generation, sample, attempt"
        );
        let mut stmt = self.conn.prepare(&sql).map_err(db_error)?;
        let rows = stmt
            .query_map(args, |r| {
                Ok((
                    Candidate {
                        id: r.get(0)?,
                        generation: r.get(1)?,
                        sample: r.get(2)?,
                        attempt: r.get(3)?,
                        parents: Vec::new(),
                        code: r.get(5)?,
                        prompt: r.get(6)?,
                        reply: r.get(7)?,
                        prompt_tokens: r.get::<_, i64>(8)? as u64,
                        completion_tokens: r.get::<_, i64>(9)? as u64,
                        status: Status::Pending,
                        error: r.get(11)?,
                        fitness: r.get(12)?,
                        task_measure: r.get(13)?,
                        tiebreak: r.get(14)?,
                        steps: r.get::<_, i64>(15)? as u64,
                        run_dir: r.get(16)?,
                        reflection: r.get(17)?,
                        rung: r.get(18)?,
                        rung_results: Vec::new(),
                        operators: Vec::new(),
                    },
                    [
                        r.get::<_, String>(4)?,
                        r.get::<_, String>(10)?,
                        r.get::<_, String>(19)?,
                        r.get::<_, String>(20)?,
                    ],
                ))
            })
            .map_err(db_error)?;
        let mut out = Vec::new();
        for row in rows {
            let (mut candidate, [parents, status, rung_results, operators]) =
                row.map_err(db_error)?;
            let id = candidate.id;
            let json = |what: &str, e: serde_json::Error| {
                EvolveError::Store(format!("candidate {id}: {what}: {e}"))
            };
            candidate.parents = serde_json::from_str(&parents).map_err(|e| json("parents", e))?;
            candidate.rung_results =
                serde_json::from_str(&rung_results).map_err(|e| json("rung_results", e))?;
            candidate.operators =
                serde_json::from_str(&operators).map_err(|e| json("operators", e))?;
            candidate.status = Status::parse(&status)?;
            out.push(candidate);
        }
        Ok(out)
    }

    /// Every candidate, in generation, sample and attempt order.
    pub fn candidates(&self) -> Result<Vec<Candidate>, EvolveError> {
        self.candidates_where("", &[])
    }

    /// The candidates of one generation.
    pub fn generation_candidates(&self, generation: u32) -> Result<Vec<Candidate>, EvolveError> {
        self.candidates_where("WHERE generation = ?1", &[&generation])
    }

    /// Every attempt's generation, sample, status and run directory, without the texts: what
    /// the progress display reads about once a second.
    pub fn attempts(&self) -> Result<Vec<Attempt>, EvolveError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT generation, sample, status, run_dir, rung FROM candidates
                 ORDER BY generation, sample, attempt",
            )
            .map_err(db_error)?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, u32>(0)?,
                    r.get::<_, u32>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, Option<String>>(3)?,
                    r.get::<_, Option<u32>>(4)?,
                ))
            })
            .map_err(db_error)?;
        let mut out = Vec::new();
        for row in rows {
            let (generation, sample, status, run_dir, rung) = row.map_err(db_error)?;
            out.push(Attempt {
                generation,
                sample,
                status: Status::parse(&status)?,
                rung,
                run_dir,
            });
        }
        Ok(out)
    }

    pub fn candidate(&self, id: i64) -> Result<Candidate, EvolveError> {
        self.candidates_where("WHERE id = ?1", &[&id])?
            .pop()
            .ok_or_else(|| EvolveError::Store(format!("no candidate {id}")))
    }

    /// A candidate's metrics rows, in order.
    pub fn metrics(&self, id: i64) -> Result<Vec<trainer::metrics::MetricsRow>, EvolveError> {
        let mut stmt = self
            .conn
            .prepare("SELECT data FROM metrics WHERE candidate = ?1 ORDER BY row")
            .map_err(db_error)?;
        let rows = stmt
            .query_map([id], |r| r.get::<_, String>(0))
            .map_err(db_error)?;
        rows.map(|row| {
            let text = row.map_err(db_error)?;
            trainer::metrics::decode_row(&text)
                .map_err(|e| EvolveError::Store(format!("candidate {id}: metrics: {e}")))
        })
        .collect()
    }

    pub fn insert_llm_call(&self, call: &LlmCall) -> Result<(), EvolveError> {
        self.conn
            .execute(
                "INSERT INTO llm_calls (generation, sample, attempt, request, response,
                 prompt_tokens, completion_tokens, attempts, seconds)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                params![
                    call.generation,
                    call.sample,
                    call.attempt,
                    call.request,
                    call.response,
                    call.prompt_tokens as i64,
                    call.completion_tokens as i64,
                    call.attempts,
                    call.seconds,
                ],
            )
            .map_err(db_error)?;
        Ok(())
    }

    /// Every language-model call, in order.
    pub fn llm_calls(&self) -> Result<Vec<LlmCall>, EvolveError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT generation, sample, attempt, request, response, prompt_tokens,
                 completion_tokens, attempts, seconds FROM llm_calls ORDER BY id",
            )
            .map_err(db_error)?;
        let rows = stmt
            .query_map([], |r| {
                Ok(LlmCall {
                    generation: r.get(0)?,
                    sample: r.get(1)?,
                    attempt: r.get(2)?,
                    request: r.get(3)?,
                    response: r.get(4)?,
                    prompt_tokens: r.get::<_, i64>(5)? as u64,
                    completion_tokens: r.get::<_, i64>(6)? as u64,
                    attempts: r.get(7)?,
                    seconds: r.get(8)?,
                })
            })
            .map_err(db_error)?;
        rows.map(|r| r.map_err(db_error)).collect()
    }

    /// Marks a generation finished, with the elite after it.
    pub fn finish_generation(
        &self,
        generation: u32,
        elite: Option<i64>,
    ) -> Result<(), EvolveError> {
        self.conn
            .execute(
                "INSERT INTO generations (generation, elite, finished) VALUES (?1, ?2, 1)
                 ON CONFLICT(generation) DO UPDATE SET elite = excluded.elite, finished = 1",
                params![generation, elite],
            )
            .map_err(db_error)?;
        Ok(())
    }

    /// Finished generations: (generation, elite id after it), in order.
    pub fn finished_generations(&self) -> Result<Vec<(u32, Option<i64>)>, EvolveError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT generation, elite FROM generations WHERE finished = 1 ORDER BY generation",
            )
            .map_err(db_error)?;
        let rows = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(db_error)?;
        rows.map(|r| r.map_err(db_error)).collect()
    }

    pub fn upsert_final_run(&self, run: &FinalRun) -> Result<(), EvolveError> {
        self.conn
            .execute(
                "INSERT INTO final_runs (label, seed, status, error, fitness, task_measure, run_dir)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                 ON CONFLICT(label, seed) DO UPDATE SET status = excluded.status,
                 error = excluded.error, fitness = excluded.fitness,
                 task_measure = excluded.task_measure, run_dir = excluded.run_dir",
                params![
                    run.label,
                    run.seed as i64,
                    run.status.as_str(),
                    run.error,
                    run.fitness,
                    run.task_measure,
                    run.run_dir,
                ],
            )
            .map_err(db_error)?;
        Ok(())
    }

    pub fn final_runs(&self) -> Result<Vec<FinalRun>, EvolveError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT label, seed, status, error, fitness, task_measure, run_dir FROM final_runs
                 ORDER BY label, seed",
            )
            .map_err(db_error)?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, Option<String>>(3)?,
                    r.get::<_, Option<f64>>(4)?,
                    r.get::<_, Option<f64>>(5)?,
                    r.get::<_, String>(6)?,
                ))
            })
            .map_err(db_error)?;
        rows.map(|row| {
            let (label, seed, status, error, fitness, task_measure, run_dir) =
                row.map_err(db_error)?;
            Ok(FinalRun {
                label,
                seed: seed as u64,
                status: Status::parse(&status)?,
                error,
                fitness,
                task_measure,
                run_dir,
            })
        })
        .collect()
    }
}

/// Brings a store from before the multi-fidelity schedule up to date: adds the rung and
/// operator columns, and reads its racing results as a one-rung schedule (every trained or
/// raced candidate at rung 0, a raced one `stopped` there), as its config reads
/// ([`crate::EvolveConfig::from_json`]). Runs once, in one transaction.
fn migrate(conn: &Connection) -> rusqlite::Result<()> {
    let has_rungs = |conn: &Connection| -> rusqlite::Result<bool> {
        let mut stmt = conn.prepare("SELECT name FROM pragma_table_info('candidates')")?;
        let names = stmt.query_map([], |r| r.get::<_, String>(0))?;
        for name in names {
            if name? == "rung" {
                return Ok(true);
            }
        }
        Ok(false)
    };
    if has_rungs(conn)? {
        return Ok(());
    }
    conn.execute_batch("BEGIN IMMEDIATE")?;
    // Another process may have migrated it between the check and the lock.
    let result = if has_rungs(conn)? {
        Ok(())
    } else {
        conn.execute_batch(
            "ALTER TABLE candidates ADD COLUMN rung INTEGER;
             ALTER TABLE candidates ADD COLUMN rung_results TEXT NOT NULL DEFAULT '[]';
             ALTER TABLE candidates ADD COLUMN operators TEXT NOT NULL DEFAULT '[]';
             UPDATE candidates SET rung = 0, rung_results = json_array(json_object(
                 'steps', steps, 'fitness', fitness, 'tiebreak', tiebreak))
                 WHERE status IN ('trained', 'raced');
             UPDATE candidates SET rung = 0 WHERE status = 'crashed';
             UPDATE candidates SET status = 'stopped' WHERE status = 'raced';",
        )
    };
    match result {
        Ok(()) => conn.execute_batch("COMMIT"),
        Err(e) => {
            let _ = conn.execute_batch("ROLLBACK");
            Err(e)
        }
    }
}

/// Seconds since the Unix epoch: when a run started and finished, as the store keeps it.
pub fn unix_time() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_loop_on_a_run_is_refused_until_the_first_lets_go() {
        let dir = std::env::temp_dir().join(format!("evolve-lock-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let first = RunLock::acquire(&dir).unwrap();
        let err = RunLock::acquire(&dir).unwrap_err().to_string();
        let pid = std::process::id().to_string();
        assert!(
            err.contains("another `rewardgen evolve`") && err.contains(&pid),
            "{err}"
        );
        drop(first);
        // Other tests of this process spawn programs: a child between its fork and its exec
        // holds a copy of the lock's descriptor (closed at exec), so allow that moment.
        let mut free = false;
        for _ in 0..100 {
            free = RunLock::acquire(&dir).is_ok();
            if free {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        assert!(free, "free once the first is gone");
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn metrics_rows_with_non_finite_values_read_back() {
        let dir = std::env::temp_dir().join(format!("evolve-store-inf-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let store = Store::open(&dir.join("evolve.db")).unwrap();
        store
            .conn
            .execute(
                "INSERT INTO metrics (candidate, row, data) VALUES (1, 0, ?1)",
                [trainer::metrics::encode_row(
                    &[
                        ("global_step".to_string(), 128.0),
                        ("charts/episodic_return".to_string(), f64::INFINITY),
                        ("losses/value_loss".to_string(), f64::NAN),
                    ]
                    .into_iter()
                    .collect(),
                )],
            )
            .unwrap();
        // A row stored before the encoding, with serde_json's null.
        store
            .conn
            .execute(
                "INSERT INTO metrics (candidate, row, data) VALUES (1, 1, ?1)",
                [r#"{"global_step":256.0,"charts/episodic_return":null}"#],
            )
            .unwrap();
        let rows = store.metrics(1).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0]["charts/episodic_return"], f64::INFINITY);
        assert!(rows[0]["losses/value_loss"].is_nan());
        assert!(rows[1]["charts/episodic_return"].is_nan());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_store_from_before_the_schedule_reads_as_one_rung() {
        let dir = std::env::temp_dir().join(format!("evolve-store-old-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("evolve.db");
        let old = Connection::open(&path).unwrap();
        old.execute_batch(
            "CREATE TABLE candidates (
                id INTEGER PRIMARY KEY AUTOINCREMENT, generation INTEGER NOT NULL,
                sample INTEGER NOT NULL, attempt INTEGER NOT NULL, parents TEXT NOT NULL,
                code TEXT, prompt TEXT NOT NULL, reply TEXT NOT NULL,
                prompt_tokens INTEGER NOT NULL, completion_tokens INTEGER NOT NULL,
                status TEXT NOT NULL, error TEXT, fitness REAL, halfway REAL, task_measure REAL,
                tiebreak REAL, steps INTEGER NOT NULL DEFAULT 0, run_dir TEXT, reflection TEXT,
                UNIQUE (generation, sample, attempt));
             INSERT INTO candidates (generation, sample, attempt, parents, prompt, reply,
                prompt_tokens, completion_tokens, status, fitness, halfway, tiebreak, steps)
             VALUES (0, 0, 0, '[]', '', '', 0, 0, 'trained', 0.5, 0.25, 0.1, 2048),
                    (0, 1, 0, '[]', '', '', 0, 0, 'raced', 0.2, 0.2, NULL, 1024),
                    (0, 2, 0, '[]', '', '', 0, 0, 'crashed', NULL, NULL, NULL, 300),
                    (0, 3, 0, '[]', '', '', 0, 0, 'failed_check', NULL, NULL, NULL, 0);",
        )
        .unwrap();
        drop(old);
        for _ in 0..2 {
            let store = Store::open(&path).unwrap();
            let c = store.candidates().unwrap();
            let result = |steps, fitness, tiebreak| RungResult {
                steps,
                fitness: Some(fitness),
                tiebreak,
            };
            assert_eq!((c[0].status, c[0].rung), (Status::Trained, Some(0)));
            assert_eq!(c[0].rung_results, vec![result(2048, 0.5, Some(0.1))]);
            assert_eq!((c[1].status, c[1].rung), (Status::Stopped, Some(0)));
            assert_eq!(c[1].rung_results, vec![result(1024, 0.2, None)]);
            assert_eq!((c[2].status, c[2].rung), (Status::Crashed, Some(0)));
            assert!(c[2].rung_results.is_empty());
            assert_eq!((c[3].status, c[3].rung), (Status::FailedCheck, None));
            assert!(c.iter().all(|c| c.operators.is_empty()));
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_database_that_is_not_a_regular_file_is_refused() {
        let dir = std::env::temp_dir().join(format!("evolve-store-fifo-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let fifo = dir.join("evolve.db");
        assert!(
            std::process::Command::new("mkfifo")
                .arg(&fifo)
                .status()
                .unwrap()
                .success()
        );
        let err = Store::open(&fifo).err().unwrap().to_string();
        assert!(err.contains("is a FIFO"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
