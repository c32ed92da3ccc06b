//! Reading a file that a user named (a reward program, a config, a checkpoint, a model).
//!
//! Every read site of such a file goes through [`read`], [`read_to_string`], [`read_toml`] or,
//! where another library opens the file itself (MuJoCo, burn), [`check`]. They:
//!
//! - refuse anything but a regular file (a FIFO, a device such as `/dev/zero`, a socket or a
//!   directory) by its metadata, *before* opening it for reading, and open with `O_NONBLOCK`
//!   so that a FIFO swapped in meanwhile cannot block the open either;
//! - cap the bytes read at the [`Kind`]'s limit, checked against the file's size first (a
//!   5 GB sparse file is refused without reading it) and again while reading (a file that
//!   grows is cut off at the cap and refused);
//! - give one-line errors that start with the file's path.

use std::fmt;
use std::fs::{File, Metadata};
use std::io::Read;
use std::path::{Path, PathBuf};

const KIB: u64 = 1024;
const MIB: u64 = 1024 * KIB;

/// What a file is, which sets its size cap and names it in errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Kind {
    /// The kind in words, as errors name it ("reward program").
    pub what: &'static str,
    /// The largest size accepted, in bytes.
    pub max_bytes: u64,
}

impl Kind {
    /// A reward program (`.rhai`). The shipped ones are under 10 KiB.
    pub const REWARD: Kind = Kind {
        what: "reward program",
        max_bytes: MIB,
    };
    /// A TOML or JSON settings file: `--config`, `config.toml`, `--limits`, `--llm-config`,
    /// `outcome.json`.
    pub const CONFIG: Kind = Kind {
        what: "settings file",
        max_bytes: MIB,
    };
    /// A task file (`--env task:<path>`): TOML of a few KiB.
    pub const TASK_FILE: Kind = Kind {
        what: "task file",
        max_bytes: MIB,
    };
    /// A prompt template (`--templates DIR/*.j2`).
    pub const TEMPLATE: Kind = Kind {
        what: "prompt template",
        max_bytes: MIB,
    };
    /// A checkpoint's `state.json`: normalizer statistics, two numbers per observation element.
    pub const CHECKPOINT_STATE: Kind = Kind {
        what: "checkpoint state",
        max_bytes: 64 * MIB,
    };
    /// A checkpoint's `model.bpk` or `optimizer.bpk`. Measured on the default franka-reach
    /// network (9,863 parameters): 41,228 and 84,492 bytes, so 4.2 and 8.6 bytes per
    /// parameter; the trainer accepts at most 25M parameters (`trainer::limits`), 100 MB of
    /// model and 200 MB of Adam moments.
    pub const CHECKPOINT: Kind = Kind {
        what: "checkpoint file",
        max_bytes: 256 * MIB,
    };
    /// An MJCF model file (the XML itself; MuJoCo reads its meshes and includes).
    pub const MJCF: Kind = Kind {
        what: "MJCF model",
        max_bytes: 64 * MIB,
    };
    /// A run's `metrics.jsonl`: about 1 KiB per update.
    pub const METRICS: Kind = Kind {
        what: "metrics log",
        max_bytes: 256 * MIB,
    };
    /// A recorded rollout (`episode-NNNN.jsonl`): a few KiB per step.
    pub const ROLLOUT: Kind = Kind {
        what: "rollout file",
        max_bytes: 256 * MIB,
    };
    /// An evolve run's SQLite database (`evolve.db`), which SQLite reads page by page: only
    /// its type is checked.
    pub const DATABASE: Kind = Kind {
        what: "run database",
        max_bytes: u64::MAX,
    };
    /// A log a training job writes, of which only the tail is read: only its type is checked.
    pub const LOG: Kind = Kind {
        what: "log",
        max_bytes: u64::MAX,
    };
    /// A text report or log that a command shows (`report.md`).
    pub const REPORT: Kind = Kind {
        what: "report",
        max_bytes: 16 * MIB,
    };
}

/// A file that cannot be used, with the reason. Displays as one line, `PATH: reason`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileError {
    pub path: PathBuf,
    pub message: String,
}

impl FileError {
    pub fn new(path: &Path, message: impl Into<String>) -> Self {
        Self {
            path: path.to_path_buf(),
            message: message.into(),
        }
    }
}

impl fmt::Display for FileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.message)
    }
}

impl std::error::Error for FileError {}

/// Sizes in errors: `1 MiB`, `3.2 GiB`, `512 bytes`.
pub fn human_bytes(bytes: u64) -> String {
    let units = [("GiB", 1024 * MIB), ("MiB", MIB), ("KiB", KIB)];
    for (unit, size) in units {
        if bytes >= size {
            let value = bytes as f64 / size as f64;
            return if bytes.is_multiple_of(size) {
                format!("{} {unit}", bytes / size)
            } else {
                format!("{value:.1} {unit}")
            };
        }
    }
    format!("{bytes} bytes")
}

/// "a reward program", "an MJCF model".
fn a(what: &str) -> String {
    let vowel = what.starts_with(['a', 'e', 'i', 'o', 'u']) || what.starts_with("MJCF");
    format!("{} {what}", if vowel { "an" } else { "a" })
}

fn file_type_name(metadata: &Metadata) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    let t = metadata.file_type();
    if t.is_dir() {
        "a directory"
    } else if t.is_fifo() {
        "a FIFO (named pipe)"
    } else if t.is_char_device() {
        "a character device"
    } else if t.is_block_device() {
        "a block device"
    } else if t.is_socket() {
        "a socket"
    } else {
        "not a regular file"
    }
}

/// Checks a metadata record: a regular file within the cap.
fn check_metadata(path: &Path, kind: Kind, metadata: &Metadata) -> Result<u64, FileError> {
    if !metadata.is_file() {
        return Err(FileError::new(
            path,
            format!(
                "is {}; {} must be a regular file",
                file_type_name(metadata),
                a(kind.what)
            ),
        ));
    }
    let len = metadata.len();
    if len > kind.max_bytes {
        return Err(too_big(path, kind, &human_bytes(len)));
    }
    Ok(len)
}

fn too_big(path: &Path, kind: Kind, size: &str) -> FileError {
    FileError::new(
        path,
        format!(
            "is {size}; {} may be at most {}",
            a(kind.what),
            human_bytes(kind.max_bytes)
        ),
    )
}

fn io_error(path: &Path, kind: Kind, error: &std::io::Error) -> FileError {
    let reason = match error.kind() {
        std::io::ErrorKind::NotFound => "no such file".to_string(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
        _ => format!("cannot read {}: {error}", a(kind.what)),
    };
    FileError::new(path, reason)
}

/// Checks, without opening it, that `path` is a regular file (following symlinks) of at most
/// the kind's cap; returns its size. For files another library opens by path (MuJoCo's MJCF
/// loader, burn's checkpoint reader).
pub fn check(path: &Path, kind: Kind) -> Result<u64, FileError> {
    let metadata = std::fs::metadata(path).map_err(|e| io_error(path, kind, &e))?;
    check_metadata(path, kind, &metadata)
}

/// Opens a user-given file for reading, as [`read`] does: refused unless a regular file
/// within the kind's cap (checked before opening, and again on the file opened). Returns the
/// file and its size. For readers that take only part of a file (a log's tail).
pub fn open(path: &Path, kind: Kind) -> Result<(File, u64), FileError> {
    check(path, kind)?;
    let file = open_nonblocking(path).map_err(|e| io_error(path, kind, &e))?;
    // The file opened may not be the one checked (a rename in between): check it again.
    let metadata = file.metadata().map_err(|e| io_error(path, kind, &e))?;
    let len = check_metadata(path, kind, &metadata)?;
    Ok((file, len))
}

/// Reads a user-given file whole: a regular file of at most the kind's cap.
pub fn read(path: &Path, kind: Kind) -> Result<Vec<u8>, FileError> {
    let (file, len) = open(path, kind)?;
    let mut bytes = Vec::with_capacity(len as usize);
    file.take(kind.max_bytes + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| io_error(path, kind, &e))?;
    if bytes.len() as u64 > kind.max_bytes {
        return Err(too_big(path, kind, "growing past the cap"));
    }
    Ok(bytes)
}

fn open_nonblocking(path: &Path) -> std::io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
}

/// Reads a user-given text file whole (see [`read`]); it must be UTF-8.
pub fn read_to_string(path: &Path, kind: Kind) -> Result<String, FileError> {
    let bytes = read(path, kind)?;
    String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        let line = e.as_bytes()[..at].iter().filter(|b| **b == b'\n').count() + 1;
        FileError::new(
            path,
            format!(
                "line {line}: not UTF-8 text (byte {at}); {} must be text",
                a(kind.what)
            ),
        )
    })
}

/// Reads and parses a user-given TOML file; a parse error names the line, column and the
/// offending text, on one line.
pub fn read_toml<T: serde::de::DeserializeOwned>(path: &Path, kind: Kind) -> Result<T, FileError> {
    let text = read_to_string(path, kind)?;
    toml::from_str(&text).map_err(|e| FileError::new(path, toml_message(&text, &e)))
}

/// A TOML error on one line: `line L, column C: message (at `source text`)`, where the
/// position and source are known. `toml`'s own `Display` spans several lines.
pub fn toml_message(text: &str, error: &toml::de::Error) -> String {
    let message = one_line(error.message());
    let Some(span) = error.span() else {
        return message;
    };
    let start = span.start.min(text.len());
    let before = &text[..start];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = text[line_start..start].chars().count() + 1;
    let source = text[line_start..].lines().next().unwrap_or("").trim();
    let source: String = if source.chars().count() > 60 {
        source.chars().take(57).collect::<String>() + "..."
    } else {
        source.to_string()
    };
    if source.is_empty() {
        format!("line {line}, column {column}: {message}")
    } else {
        format!("line {line}, column {column}: {message} (at `{source}`)")
    }
}

/// Joins a message's lines with "; ", for errors that must fit on one line.
pub fn one_line(message: &str) -> String {
    message
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("user-files-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn a_regular_file_within_the_cap_reads_whole() {
        let dir = temp_dir("ok");
        let path = dir.join("r.rhai");
        std::fs::write(&path, "[1.0, #{}]").unwrap();
        assert_eq!(
            read_to_string(&path, Kind::REWARD).unwrap(),
            "[1.0, #{}]".to_string()
        );
        assert_eq!(check(&path, Kind::REWARD).unwrap(), 10);
    }

    #[test]
    fn a_device_is_refused_by_its_metadata() {
        let err = read(Path::new("/dev/zero"), Kind::REWARD).unwrap_err();
        assert!(
            err.to_string().starts_with(
                "/dev/zero: is a character device; a reward program must be a regular file"
            ),
            "{err}"
        );
    }

    #[test]
    fn a_fifo_is_refused_without_blocking() {
        let dir = temp_dir("fifo");
        let path = dir.join("pipe.toml");
        let c_path = std::ffi::CString::new(path.to_str().unwrap()).unwrap();
        // SAFETY: a NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) }, 0);
        let err = read_to_string(&path, Kind::CONFIG).unwrap_err();
        assert!(err.to_string().contains("is a FIFO"), "{err}");
        // Opening it non-blocking, as `read` does, returns at once too.
        assert!(open_nonblocking(&path).unwrap().metadata().unwrap().len() == 0);
    }

    #[test]
    fn a_directory_and_a_missing_file_are_named() {
        let dir = temp_dir("dir");
        let err = read(&dir, Kind::CONFIG).unwrap_err().to_string();
        assert!(
            err.contains("is a directory; a settings file must be a regular file"),
            "{err}"
        );
        let err = read(&dir.join("missing.toml"), Kind::CONFIG)
            .unwrap_err()
            .to_string();
        assert!(err.ends_with("missing.toml: no such file"), "{err}");
    }

    #[test]
    fn a_sparse_file_past_the_cap_is_refused_unread() {
        let dir = temp_dir("sparse");
        let path = dir.join("huge.rhai");
        let file = File::create(&path).unwrap();
        file.set_len(5 * 1024 * MIB).unwrap();
        let err = read(&path, Kind::REWARD).unwrap_err().to_string();
        assert!(
            err.contains("is 5 GiB; a reward program may be at most 1 MiB"),
            "{err}"
        );
        let _ = std::fs::remove_file(&path);
    }

    #[test]
    fn text_that_is_not_utf8_names_its_line() {
        let dir = temp_dir("utf8");
        let path = dir.join("bad.toml");
        std::fs::write(&path, b"a = 1\nb = \xff\n").unwrap();
        let err = read_to_string(&path, Kind::CONFIG).unwrap_err().to_string();
        assert!(err.contains("line 2: not UTF-8"), "{err}");
    }

    #[test]
    fn toml_errors_fit_on_one_line_with_their_position() {
        #[derive(serde::Deserialize, Debug)]
        #[allow(dead_code)]
        struct S {
            a: u32,
        }
        let dir = temp_dir("toml");
        let path = dir.join("s.toml");
        std::fs::write(&path, "\na = \"x\"\n").unwrap();
        let err = read_toml::<S>(&path, Kind::CONFIG).unwrap_err().to_string();
        assert!(!err.contains('\n'), "{err}");
        assert!(
            err.contains("s.toml: line 2, column 5: invalid type") && err.contains("`a = \"x\"`"),
            "{err}"
        );
    }

    #[test]
    fn sizes_read_as_people_write_them() {
        assert_eq!(human_bytes(512), "512 bytes");
        assert_eq!(human_bytes(MIB), "1 MiB");
        assert_eq!(human_bytes(3 * MIB / 2), "1.5 MiB");
    }
}
