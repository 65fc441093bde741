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

/// Take the dataset's lock in `mode`; it is released when the returned file is dropped. An
/// exclusive holder writes a new token into the lock file (see [`token`]).
pub fn lock(dir: &Path, mode: Mode) -> Result<File, LockError> {
    let file = take(dir, mode)?;
    if mode == Mode::Exclusive {
        use std::os::unix::fs::FileExt;
        static TAKEN: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let n = TAKEN.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let token = format!("{} {nanos} {n}\n", std::process::id());
        file.set_len(0)
            .and_then(|()| file.write_all_at(token.as_bytes(), 0))
            .map_err(|source| LockError::Io {
                path: dir.to_path_buf(),
                source,
            })?;
    }
    Ok(file)
}

/// Take the dataset's exclusive lock again, leaving the token as it is: a writer that let the
/// lock go compares the token with its own to learn whether another writer came meanwhile.
pub fn relock(dir: &Path) -> Result<File, LockError> {
    take(dir, Mode::Exclusive)
}

/// The token the last exclusive holder wrote into the lock file.
pub fn token(file: &File) -> std::io::Result<Vec<u8>> {
    use std::io::{Read, Seek};
    let mut file = file;
    let mut token = Vec::new();
    file.rewind()?;
    file.read_to_end(&mut token)?;
    Ok(token)
}

fn take(dir: &Path, mode: Mode) -> Result<File, LockError> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_writer_taking_the_lock_back_learns_whether_another_came_meanwhile() {
        let dir = tempfile::tempdir().unwrap();
        let mine = token(&lock(dir.path(), Mode::Exclusive).unwrap()).unwrap();
        assert!(!mine.is_empty());
        // Taken back with nobody in between: the same token.
        let again = relock(dir.path()).unwrap();
        assert_eq!(token(&again).unwrap(), mine);
        // While it is held, nobody else gets it.
        assert!(matches!(
            lock(dir.path(), Mode::Shared),
            Err(LockError::Busy(_))
        ));
        drop(again);
        // Readers leave the token alone; another writer replaces it.
        drop(lock(dir.path(), Mode::Shared).unwrap());
        assert_eq!(token(&relock(dir.path()).unwrap()).unwrap(), mine);
        drop(lock(dir.path(), Mode::Exclusive).unwrap());
        assert_ne!(token(&relock(dir.path()).unwrap()).unwrap(), mine);
    }
}
