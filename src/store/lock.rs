//! A lock file per dataset: one ingest writes at a time, and analysis does not read a dataset
//! while an ingest rewrites it (its memory maps would see files change under them).

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};

/// The lock file's name inside a dataset.
pub const LOCK_FILE: &str = ".lock";

/// How a dataset is held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Ingest: nobody else may read or write.
    Exclusive,
    /// Analysis: many readers, no writer.
    Shared,
}

/// The dataset is held by another process.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Held by someone else.
    #[error("dataset {0} is in use by another fundtrace process (an ingest writes it, or a trace reads it); wait for it to finish")]
    Busy(PathBuf),
    /// The lock file could not be opened.
    #[error("cannot open the lock file of dataset {path}: {source}")]
    Io {
        /// The dataset.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
}

/// Take the dataset's lock in `mode`; it is released when the returned file is dropped.
pub fn lock(dir: &Path, mode: Mode) -> Result<File, LockError> {
    let io = |source| LockError::Io {
        path: dir.to_path_buf(),
        source,
    };
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(dir.join(LOCK_FILE))
        .map_err(io)?;
    let taken = match mode {
        Mode::Exclusive => file.try_lock(),
        Mode::Shared => file.try_lock_shared(),
    };
    match taken {
        Ok(()) => Ok(file),
        Err(TryLockError::WouldBlock) => Err(LockError::Busy(dir.to_path_buf())),
        Err(TryLockError::Error(e)) => Err(io(e)),
    }
}
