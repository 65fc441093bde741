//! Encoding one Parquet table of the open partition in the background, row group by row group,
//! while ingest goes on.
//!
//! The writer sends rows as it stores blocks; a thread per table converts them to Arrow, cuts
//! them into row groups of exactly [`ROW_GROUP_ROWS`] rows (so the file depends only on its
//! rows, never on how they were sent), encodes each into a temporary file and hashes the bytes
//! as they are written. [`TableStream::commit`] writes the last row group and the footer, syncs
//! and renames the file to its final name; a stream dropped without a commit removes its
//! temporary file, so an abandoned partition leaves nothing behind.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::thread::JoinHandle;

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use bitcoin::hashes::{sha256, Hash, HashEngine};
use parquet::arrow::ArrowWriter;
use parquet::errors::ParquetError;
use parquet::file::properties::WriterProperties;

use super::encode::{writer_properties, GroupWriter, ROW_GROUP_ROWS};

/// Messages queued per stream before the sender waits (back-pressure keeps memory flat).
const QUEUE: usize = 4;

/// A failure while encoding or writing a streamed table.
#[derive(Debug, thiserror::Error)]
pub enum StreamError {
    /// The file could not be written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// Parquet encoding failed.
    #[error(transparent)]
    Parquet(#[from] ParquetError),
    /// The encoder thread could not start, panicked, or stopped after an earlier error.
    #[error("{path}: the encoder {detail}")]
    Stopped {
        /// The file it was writing.
        path: PathBuf,
        /// What happened.
        detail: String,
    },
}

/// A finished table file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamedFile {
    /// Its size in bytes.
    pub bytes: u64,
    /// Lowercase hex SHA-256 of its bytes.
    pub sha256: String,
}

enum Message<M> {
    Rows(M),
    Commit(PathBuf),
}

/// A table being encoded in the background; `M` is what the writer sends (rows, or scripts
/// still to be rendered), turned into a record batch by the stream's thread.
pub struct TableStream<M: Send + 'static> {
    temp: PathBuf,
    sender: Option<SyncSender<Message<M>>>,
    thread: Option<JoinHandle<Result<Option<StreamedFile>, StreamError>>>,
    /// Why the thread could not start, reported by the first send or the commit.
    not_started: Option<std::io::Error>,
}

impl<M: Send + 'static> TableStream<M> {
    /// Start encoding a table of `schema` into `temp`; `convert` turns each message into rows.
    pub fn start(
        name: &str,
        temp: PathBuf,
        schema: SchemaRef,
        convert: fn(M) -> RecordBatch,
    ) -> TableStream<M> {
        let (sender, receiver) = sync_channel(QUEUE);
        let thread_temp = temp.clone();
        let spawned = std::thread::Builder::new()
            .name(format!("encode-{name}"))
            .spawn(move || encode(receiver, thread_temp, schema, convert));
        let (thread, not_started) = match spawned {
            Ok(thread) => (Some(thread), None),
            Err(e) => (None, Some(e)),
        };
        TableStream {
            temp,
            sender: thread.is_some().then_some(sender),
            thread,
            not_started,
        }
    }

    /// Queue rows; waits while the encoder is [`QUEUE`] messages behind. A failed encoder's
    /// error is returned here (or by [`Self::commit`]); once failed, a stream only fails.
    pub fn send(&mut self, rows: M) -> Result<(), StreamError> {
        match &self.sender {
            Some(sender) if sender.send(Message::Rows(rows)).is_ok() => Ok(()),
            // The thread ended early (only an error does that), or never started.
            _ => Err(self.failure()),
        }
    }

    /// Write the last rows and the footer, sync, and rename the file to `path`.
    pub fn commit(mut self, path: &Path) -> Result<StreamedFile, StreamError> {
        let Some(sender) = self.sender.take() else {
            return Err(self.failure());
        };
        // A send error means the thread already failed: join reports why.
        let _ = sender.send(Message::Commit(path.to_path_buf()));
        drop(sender);
        match self.join()? {
            Some(file) => Ok(file),
            None => Err(self.stopped("stopped without writing the file")),
        }
    }

    /// Why the stream cannot go on.
    fn failure(&mut self) -> StreamError {
        if let Some(e) = self.not_started.take() {
            return self.stopped(&format!("thread could not start: {e}"));
        }
        match self.join() {
            Err(e) => e,
            Ok(_) => self.stopped("stopped after an earlier error"),
        }
    }

    fn stopped(&self, detail: &str) -> StreamError {
        StreamError::Stopped {
            path: self.temp.clone(),
            detail: detail.to_string(),
        }
    }

    /// Wait for the thread; a panic in it becomes an error (its temporary file removed).
    fn join(&mut self) -> Result<Option<StreamedFile>, StreamError> {
        self.sender = None;
        let Some(thread) = self.thread.take() else {
            return Ok(None);
        };
        thread.join().unwrap_or_else(|panic| {
            let _ = std::fs::remove_file(&self.temp);
            let message = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            Err(self.stopped(&format!("panicked: {message}")))
        })
    }
}

impl<M: Send + 'static> Drop for TableStream<M> {
    fn drop(&mut self) {
        // Without a commit the thread removes its temporary file; an error is moot then.
        let _ = self.join();
    }
}

/// The encoder thread: returns the finished file after a commit, `None` when abandoned.
fn encode<M>(
    receiver: Receiver<Message<M>>,
    temp: PathBuf,
    schema: SchemaRef,
    convert: fn(M) -> RecordBatch,
) -> Result<Option<StreamedFile>, StreamError> {
    let file = create_temp(&temp)?;
    match encode_into(&receiver, file, &temp, schema, convert) {
        Ok(Some((path, streamed))) => match publish(&temp, &path) {
            Ok(()) => Ok(Some(streamed)),
            Err(e) => {
                let _ = std::fs::remove_file(&temp);
                Err(e)
            }
        },
        other => {
            let _ = std::fs::remove_file(&temp);
            other.map(|_| None)
        }
    }
}

/// Create the temporary file `temp` (and its directory).
fn create_temp(temp: &Path) -> Result<File, StreamError> {
    let io = |source| StreamError::Io {
        path: temp.to_path_buf(),
        source,
    };
    if let Some(dir) = temp.parent() {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    File::create(temp).map_err(io)
}

/// Rename a synced temporary file to its final name and make the rename durable.
fn publish(temp: &Path, path: &Path) -> Result<(), StreamError> {
    let io = |source| StreamError::Io {
        path: path.to_path_buf(),
        source,
    };
    std::fs::rename(temp, path).map_err(io)?;
    if let Some(dir) = path.parent() {
        File::open(dir).and_then(|d| d.sync_all()).map_err(io)?;
    }
    Ok(())
}

/// Encode `batch` ([`GroupWriter`], columns in parallel) straight into a temporary file beside
/// `path`, hashing the bytes as they are written, then sync it and rename it to `path`.
pub fn write_parquet_atomic(path: &Path, batch: &RecordBatch) -> Result<StreamedFile, StreamError> {
    let mut file = AtomicParquet::create(path, batch.schema())?;
    file.write(batch)?;
    file.commit()
}

/// A Parquet file written batch by batch ([`GroupWriter`]: row groups encoded as they fill,
/// columns in parallel) into a temporary file beside its path, hashed as it is written.
/// [`AtomicParquet::commit`] syncs it and renames it to its path; dropped uncommitted (an
/// error on the way), it removes the temporary file, so the path holds the old file or the
/// whole new one, never a part.
pub struct AtomicParquet {
    path: PathBuf,
    temp: PathBuf,
    writer: Option<GroupWriter<HashingWriter>>,
}

impl AtomicParquet {
    /// Start the file of `schema` that will be `path`, with [`writer_properties`].
    pub fn create(path: &Path, schema: SchemaRef) -> Result<AtomicParquet, StreamError> {
        AtomicParquet::with_properties(path, schema, writer_properties())
    }

    /// Start the file of `schema` that will be `path`, with `props` (row groups of
    /// [`ROW_GROUP_ROWS`] rows).
    pub fn with_properties(
        path: &Path,
        schema: SchemaRef,
        props: WriterProperties,
    ) -> Result<AtomicParquet, StreamError> {
        let temp = super::atomic::temp_path(path);
        let file = create_temp(&temp)?;
        let mut atomic = AtomicParquet {
            path: path.to_path_buf(),
            temp,
            writer: None,
        };
        let out = HashingWriter::new(BufWriter::with_capacity(1 << 20, file));
        atomic.writer = Some(GroupWriter::with_properties(out, schema, props)?);
        Ok(atomic)
    }

    /// Add rows (whole row groups are encoded and written now).
    pub fn write(&mut self, batch: &RecordBatch) -> Result<(), StreamError> {
        let writer = self.writer.as_mut().expect("only commit takes the writer");
        Ok(writer.write(batch)?)
    }

    /// Write the last rows and the footer, sync, and rename the file to its path.
    pub fn commit(mut self) -> Result<StreamedFile, StreamError> {
        let writer = self.writer.take().expect("only commit takes the writer");
        let io = |source| StreamError::Io {
            path: self.temp.clone(),
            source,
        };
        let (file, streamed) = writer.finish()?.finish().map_err(io)?;
        file.sync_data().map_err(io)?;
        drop(file);
        publish(&self.temp, &self.path)?;
        // Renamed: nothing left for drop to remove.
        self.temp = PathBuf::new();
        Ok(streamed)
    }
}

impl Drop for AtomicParquet {
    fn drop(&mut self) {
        if !self.temp.as_os_str().is_empty() {
            self.writer = None;
            let _ = std::fs::remove_file(&self.temp);
        }
    }
}

fn encode_into<M>(
    receiver: &Receiver<Message<M>>,
    file: File,
    temp: &Path,
    schema: SchemaRef,
    convert: fn(M) -> RecordBatch,
) -> Result<Option<(PathBuf, StreamedFile)>, StreamError> {
    let io = |source| StreamError::Io {
        path: temp.to_path_buf(),
        source,
    };
    let out = HashingWriter::new(BufWriter::with_capacity(1 << 20, file));
    let mut writer = ArrowWriter::try_new(out, schema.clone(), Some(writer_properties()))?;
    let mut queued: Vec<RecordBatch> = Vec::new();
    let mut queued_rows = 0;
    let mut written_back = 0;
    for message in receiver {
        match message {
            Message::Rows(rows) => {
                let batch = convert(rows);
                queued_rows += batch.num_rows();
                queued.push(batch);
                if queued_rows >= ROW_GROUP_ROWS {
                    // One concatenation, then whole row groups off the front; the tail waits.
                    let all = arrow::compute::concat_batches(&schema, &queued)
                        .map_err(|e| ParquetError::ArrowError(e.to_string()))?;
                    let mut at = 0;
                    while queued_rows - at >= ROW_GROUP_ROWS {
                        writer.write(&all.slice(at, ROW_GROUP_ROWS))?;
                        writer.flush()?;
                        at += ROW_GROUP_ROWS;
                    }
                    // Let the OS write the finished row groups out now, not all at the commit.
                    let out = writer.inner();
                    let in_file = out.bytes - out.inner.buffer().len() as u64;
                    super::cache::start_writeback(out.inner.get_ref(), written_back, in_file);
                    written_back = in_file;
                    queued_rows -= at;
                    queued = vec![all.slice(at, queued_rows)];
                }
            }
            Message::Commit(path) => {
                if queued_rows > 0 {
                    let rest = arrow::compute::concat_batches(&schema, &queued)
                        .map_err(|e| ParquetError::ArrowError(e.to_string()))?;
                    writer.write(&rest)?;
                }
                let out = writer.into_inner()?;
                let (file, streamed) = out.finish().map_err(io)?;
                file.sync_data().map_err(io)?;
                return Ok(Some((path, streamed)));
            }
        }
    }
    Ok(None)
}

/// A writer that hashes and counts what passes through it.
struct HashingWriter {
    inner: BufWriter<File>,
    engine: sha256::HashEngine,
    bytes: u64,
}

impl HashingWriter {
    fn new(inner: BufWriter<File>) -> HashingWriter {
        HashingWriter {
            inner,
            engine: sha256::HashEngine::default(),
            bytes: 0,
        }
    }

    fn finish(self) -> std::io::Result<(File, StreamedFile)> {
        let file = self.inner.into_inner().map_err(|e| e.into_error())?;
        let sha256 = sha256::Hash::from_engine(self.engine).to_string();
        Ok((
            file,
            StreamedFile {
                bytes: self.bytes,
                sha256,
            },
        ))
    }
}

impl Write for HashingWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.engine.input(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::atomic::sha256_hex;
    use crate::store::encode::to_parquet;
    use crate::store::tables::InputsTable;

    fn inputs(range: std::ops::Range<u64>) -> InputsTable {
        InputsTable {
            in_ix: range.clone().collect(),
            tx_ix: range.clone().map(|i| (i / 3) as u32).collect(),
            pos: range.clone().map(|i| (i % 3) as u32).collect(),
            prev_out: range.map(|i| (i % 5 != 0).then_some(i * 7)).collect(),
        }
    }

    fn stream_in_chunks(dir: &Path, name: &str, chunks: &[u64]) -> (Vec<u8>, StreamedFile) {
        let mut stream = TableStream::start(
            "inputs",
            dir.join(format!(".{name}.tmp")),
            InputsTable::schema(),
            InputsTable::into_batch,
        );
        let mut start = 0;
        for &end in chunks {
            stream.send(inputs(start..end)).unwrap();
            start = end;
        }
        let path = dir.join(name);
        let file = stream.commit(&path).unwrap();
        (std::fs::read(&path).unwrap(), file)
    }

    #[test]
    fn an_atomic_parquet_file_appears_whole_at_commit_or_not_at_all() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.parquet");
        let total = ROW_GROUP_ROWS as u64 + 10;
        let mut file = AtomicParquet::create(&path, InputsTable::schema()).unwrap();
        file.write(&inputs(0..7).into_batch()).unwrap();
        file.write(&inputs(7..total).into_batch()).unwrap();
        assert!(!path.exists(), "nothing at the path before the commit");
        let streamed = file.commit().unwrap();
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(bytes, to_parquet(&inputs(0..total).into_batch()).unwrap());
        assert_eq!(streamed.sha256, sha256_hex(&bytes));
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no temp left"
        );

        // Abandoned (an error on the way): the old file stays, the temporary one goes.
        let mut file = AtomicParquet::create(&path, InputsTable::schema()).unwrap();
        file.write(&inputs(0..3).into_batch()).unwrap();
        drop(file);
        assert_eq!(std::fs::read(&path).unwrap(), bytes);
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no temp left"
        );
    }

    #[test]
    fn the_file_depends_on_the_rows_not_on_how_they_were_sent() {
        let dir = tempfile::tempdir().unwrap();
        let total = ROW_GROUP_ROWS as u64 * 2 + 12_345;
        let (one, f1) = stream_in_chunks(dir.path(), "one.parquet", &[total]);
        let (many, f2) = stream_in_chunks(
            dir.path(),
            "many.parquet",
            &[1, 70_000, ROW_GROUP_ROWS as u64 + 3, 200_000, total],
        );
        assert_eq!(one, many);
        assert_eq!(f1, f2);
        assert_eq!(f1.bytes, one.len() as u64);
        assert_eq!(f1.sha256, sha256_hex(&one));
        // The same bytes as encoding the whole table at once.
        let whole = to_parquet(&inputs(0..total).into_batch()).unwrap();
        assert_eq!(one, whole);
        let file = File::open(dir.path().join("one.parquet")).unwrap();
        let reader = parquet::file::reader::SerializedFileReader::new(file).unwrap();
        let meta = parquet::file::reader::FileReader::metadata(&reader).clone();
        let rows: Vec<i64> = meta.row_groups().iter().map(|g| g.num_rows()).collect();
        assert_eq!(
            rows,
            vec![ROW_GROUP_ROWS as i64, ROW_GROUP_ROWS as i64, 12_345]
        );
        assert!(!dir.path().join(".one.parquet.tmp").exists());
    }

    #[test]
    fn a_stream_dropped_without_commit_leaves_no_file() {
        let dir = tempfile::tempdir().unwrap();
        let temp = dir.path().join(".t.tmp");
        let mut stream = TableStream::start(
            "inputs",
            temp.clone(),
            InputsTable::schema(),
            InputsTable::into_batch,
        );
        stream.send(inputs(0..1000)).unwrap();
        drop(stream);
        assert!(std::fs::read_dir(dir.path()).unwrap().next().is_none());
    }

    #[test]
    fn an_unwritable_directory_is_an_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let blocker = dir.path().join("file");
        std::fs::write(&blocker, b"x").unwrap();
        let mut stream = TableStream::start(
            "inputs",
            blocker.join("sub/.t.tmp"),
            InputsTable::schema(),
            InputsTable::into_batch,
        );
        let sent = (0..10).try_for_each(|_| stream.send(inputs(0..10)));
        let err = match sent {
            Err(e) => e,
            Ok(()) => stream.commit(&dir.path().join("t")).unwrap_err(),
        };
        assert!(err.to_string().contains("sub"), "{err}");
    }

    #[test]
    fn scripts_cross_row_groups_as_one_table_would() {
        use crate::chain::Chain;
        use crate::store::render::ScriptRun;
        let n = ROW_GROUP_ROWS + 1000;
        // P2WPKH, P2PKH and OP_RETURN scripts, so `kind` (dictionary) varies within groups.
        let script = |i: usize| -> Vec<u8> {
            let h = (i as u32).to_le_bytes().repeat(5);
            match i % 3 {
                0 => [vec![0x00, 0x14], h].concat(),
                1 => [vec![0x76, 0xa9, 0x14], h, vec![0x88, 0xac]].concat(),
                _ => vec![0x6a, 0x04, h[0], h[1], h[2], h[3]],
            }
        };
        let run = |ids: std::ops::Range<usize>| {
            let mut script_bytes = Vec::new();
            let mut script_ends = Vec::new();
            for i in ids.clone() {
                script_bytes.extend(script(i));
                script_ends.push(script_bytes.len());
            }
            ScriptRun {
                chain: Chain::Bitcoin,
                first_id: ids.start as u32,
                script_bytes,
                script_ends,
                first_tx: ids.map(|i| i as u32 / 2).collect(),
            }
        };
        let dir = tempfile::tempdir().unwrap();
        let mut stream = TableStream::start(
            "scripts",
            dir.path().join(".s.tmp"),
            crate::store::tables::ScriptsTable::schema(),
            ScriptRun::into_batch,
        );
        for chunk in [0..50_000, 50_000..ROW_GROUP_ROWS - 1, ROW_GROUP_ROWS - 1..n] {
            stream.send(run(chunk)).unwrap();
        }
        let path = dir.path().join("s.parquet");
        stream.commit(&path).unwrap();
        let whole = to_parquet(&run(0..n).into_batch()).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), whole);
    }

    #[test]
    fn a_panicking_encoder_is_an_error_and_leaves_no_file() {
        fn boom(_: u32) -> RecordBatch {
            panic!("converter failed")
        }
        let dir = tempfile::tempdir().unwrap();
        let mut stream =
            TableStream::start("t", dir.path().join(".t.tmp"), InputsTable::schema(), boom);
        // The first send is queued; the thread panics on it, and later calls report that.
        let sent = (0..8).try_for_each(|i| stream.send(i));
        let err = match sent {
            Err(e) => e,
            Ok(()) => stream.commit(&dir.path().join("t")).unwrap_err(),
        };
        assert!(
            err.to_string().contains("panicked: converter failed"),
            "{err}"
        );
        assert!(std::fs::read_dir(dir.path()).unwrap().next().is_none());
    }
}
