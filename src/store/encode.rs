//! Parquet encoding of record batches: the settings every fundtrace table shares, and an
//! encoder that compresses all (row group, column) chunks of a batch in parallel on rayon.

use std::io::Write;

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use parquet::arrow::arrow_writer::{compute_leaves, ArrowColumnChunk, ArrowRowGroupWriterFactory};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, Encoding, ZstdLevel};
use parquet::errors::ParquetError;
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::types::ColumnPath;
use rayon::prelude::*;

/// Rows per row group in every table fundtrace writes.
pub const ROW_GROUP_ROWS: usize = 1 << 17;

/// The Parquet writer settings of the files fundtrace writes (store, clusters, truth; results
/// use [`export_properties`]): zstd, row groups of [`ROW_GROUP_ROWS`] rows, no dictionaries (but on `kind`), no
/// statistics on hash, script and address columns, delta encoding on ids, values and `prev_out`.
pub fn writer_properties() -> WriterProperties {
    let mut props = WriterProperties::builder()
        .set_compression(Compression::ZSTD(
            ZstdLevel::try_new(1).expect("level 1 exists"),
        ))
        .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
        // Ids, hashes, scripts and addresses are (nearly) unique: dictionaries only cost time.
        .set_dictionary_enabled(false)
        .set_statistics_enabled(EnabledStatistics::Chunk)
        .set_column_dictionary_enabled(ColumnPath::from("kind"), true)
        .set_created_by(format!("fundtrace {}", env!("CARGO_PKG_VERSION")));
    // Hashes are incompressible, and the store's addresses (each once, base58/bech32 of hashes)
    // gain only ~25% from zstd at twice the encoding time: store them plain. Their min/max say
    // nothing either. (In results, where they repeat, they are compressed.)
    for column in ["txid", "hash", "prev_hash", "script", "address"] {
        props = props
            .set_column_compression(ColumnPath::from(column), Compression::UNCOMPRESSED)
            .set_column_statistics_enabled(ColumnPath::from(column), EnabledStatistics::None);
    }
    // Ids in chain order: delta encoding stores them in a few bits each (out_ix in ~0.03 bits),
    // then zstd. Values and `prev_out`: deltas alone, as small as zstd makes them and 2-3x
    // faster to write.
    for column in [
        "out_ix",
        "in_ix",
        "tx_ix",
        "first_out",
        "first_in",
        "height",
        "script_id",
        "first_tx",
    ] {
        props = props.set_column_encoding(ColumnPath::from(column), Encoding::DELTA_BINARY_PACKED);
    }
    for column in ["value", "prev_out"] {
        props = props
            .set_column_encoding(ColumnPath::from(column), Encoding::DELTA_BINARY_PACKED)
            .set_column_compression(ColumnPath::from(column), Compression::UNCOMPRESSED);
    }
    props.build()
}

/// The settings of the result tables fundtrace exports: [`writer_properties`], but txids and
/// addresses compressed. There they are hex and base58/bech32 text that repeats (the outputs of
/// one transaction, the payments to one address), and zstd makes a large case's flows 2.4x
/// smaller (measured on the Zaif-like 10M chain's case: 351 MB to 149 MB).
pub fn export_properties() -> WriterProperties {
    let mut props = writer_properties().into_builder();
    for column in ["txid", "address"] {
        props = props.set_column_compression(
            ColumnPath::from(column),
            Compression::ZSTD(ZstdLevel::try_new(1).expect("level 1 exists")),
        );
    }
    props.build()
}

/// Encode `batch` as a Parquet file in memory ([`write_parquet`]).
pub fn to_parquet(batch: &RecordBatch) -> Result<Vec<u8>, ParquetError> {
    write_parquet(batch, Vec::new())
}

/// Encode `batch` as a Parquet file into `out` and return `out`: row groups of
/// [`ROW_GROUP_ROWS`] rows, every column chunk of every row group encoded in parallel, the
/// same bytes as [`ArrowWriter`] writes with [`writer_properties`].
pub fn write_parquet<W: Write + Send>(batch: &RecordBatch, out: W) -> Result<W, ParquetError> {
    let mut writer = GroupWriter::try_new(out, batch.schema())?;
    // All row groups at once, the last (partial) one too: one parallel round.
    writer.write_groups(batch)?;
    writer.finish()
}

/// A Parquet file written batch by batch, in row groups of [`ROW_GROUP_ROWS`] rows whose
/// column chunks are encoded in parallel on rayon: the same bytes as [`ArrowWriter`] writes
/// with the same properties for the same rows, however they were cut into batches. Rows
/// short of a whole row group wait for the next batch or [`GroupWriter::finish`].
pub struct GroupWriter<W: Write + Send> {
    file: SerializedFileWriter<W>,
    factory: ArrowRowGroupWriterFactory,
    schema: SchemaRef,
    /// Row groups written so far.
    groups: usize,
    /// Rows not yet written (fewer than a row group), in the pieces they came in: copied into
    /// one batch once, when they make a row group (concatenating at each arrival would copy a
    /// row group's first rows once per later piece).
    tail: Vec<RecordBatch>,
}

impl<W: Write + Send> GroupWriter<W> {
    /// Start a file of `schema` in `out`, with [`writer_properties`].
    pub fn try_new(out: W, schema: SchemaRef) -> Result<GroupWriter<W>, ParquetError> {
        GroupWriter::with_properties(out, schema, writer_properties())
    }

    /// Start a file of `schema` in `out`, with `props` (whose row groups must hold
    /// [`ROW_GROUP_ROWS`] rows, as [`writer_properties`]' do).
    pub fn with_properties(
        out: W,
        schema: SchemaRef,
        props: WriterProperties,
    ) -> Result<GroupWriter<W>, ParquetError> {
        debug_assert_eq!(props.max_row_group_row_count(), Some(ROW_GROUP_ROWS));
        let writer = ArrowWriter::try_new(out, schema.clone(), Some(props))?;
        let (file, factory) = writer.into_serialized_writer()?;
        Ok(GroupWriter {
            file,
            factory,
            schema,
            groups: 0,
            tail: Vec::new(),
        })
    }

    /// Add rows: every whole row group they complete is encoded and written now.
    pub fn write(&mut self, batch: &RecordBatch) -> Result<(), ParquetError> {
        let mut batch = batch.clone();
        let waiting = self.tail_rows();
        if waiting > 0 && batch.num_rows() > 0 {
            let needed = (ROW_GROUP_ROWS - waiting).min(batch.num_rows());
            self.tail.push(batch.slice(0, needed));
            batch = batch.slice(needed, batch.num_rows() - needed);
            if waiting + needed < ROW_GROUP_ROWS {
                return Ok(());
            }
            let group = self.take_tail()?;
            self.write_groups(&group)?;
        }
        let whole = batch.num_rows() / ROW_GROUP_ROWS * ROW_GROUP_ROWS;
        if whole > 0 {
            self.write_groups(&batch.slice(0, whole))?;
        }
        if whole < batch.num_rows() {
            self.tail.push(batch.slice(whole, batch.num_rows() - whole));
        }
        Ok(())
    }

    /// Write the last rows and the footer; returns `out`.
    pub fn finish(mut self) -> Result<W, ParquetError> {
        if !self.tail.is_empty() {
            let group = self.take_tail()?;
            self.write_groups(&group)?;
        }
        self.file.into_inner()
    }

    /// Rows waiting in `tail`.
    fn tail_rows(&self) -> usize {
        self.tail.iter().map(RecordBatch::num_rows).sum()
    }

    /// The waiting rows as one batch (copied only when they came in several pieces).
    fn take_tail(&mut self) -> Result<RecordBatch, ParquetError> {
        let pieces = std::mem::take(&mut self.tail);
        match <[RecordBatch; 1]>::try_from(pieces) {
            Ok([one]) => Ok(one),
            Err(pieces) => arrow::compute::concat_batches(&self.schema, &pieces)
                .map_err(|e| ParquetError::ArrowError(e.to_string())),
        }
    }

    /// Encode `batch` as row groups (all whole but maybe the last), columns in parallel.
    fn write_groups(&mut self, batch: &RecordBatch) -> Result<(), ParquetError> {
        let groups: Vec<RecordBatch> = (0..batch.num_rows())
            .step_by(ROW_GROUP_ROWS)
            .map(|start| batch.slice(start, ROW_GROUP_ROWS.min(batch.num_rows() - start)))
            .collect();
        // Pair every leaf column of every row group with its column writer, then encode them
        // all.
        let mut tasks = Vec::new();
        for (offset, group) in groups.iter().enumerate() {
            let index = self.groups + offset;
            let mut writers = self.factory.create_column_writers(index)?.into_iter();
            for (field, column) in self.schema.fields().iter().zip(group.columns()) {
                for leaf in compute_leaves(field, column)? {
                    let writer = writers.next().ok_or_else(|| {
                        ParquetError::General("fewer column writers than leaves".into())
                    })?;
                    tasks.push((offset, writer, leaf));
                }
            }
        }
        let chunks: Vec<(usize, ArrowColumnChunk)> = tasks
            .into_par_iter()
            .map(|(offset, mut writer, leaf)| {
                writer.write(&leaf)?;
                Ok((offset, writer.close()?))
            })
            .collect::<Result<_, ParquetError>>()?;
        let mut chunks = chunks.into_iter().peekable();
        for offset in 0..groups.len() {
            let mut group = self.file.next_row_group()?;
            while let Some((_, chunk)) = chunks.next_if(|(i, _)| *i == offset) {
                chunk.append_to_row_group(&mut group)?;
            }
            group.close()?;
        }
        self.groups += groups.len();
        Ok(())
    }
}

/// The bytes parquet's own [`ArrowWriter`] writes for `batch` with [`writer_properties`]: what
/// the parallel encoders must reproduce.
#[cfg(test)]
pub(crate) fn with_arrow_writer(batch: &RecordBatch) -> Vec<u8> {
    with_arrow_writer_and(batch, writer_properties())
}

/// [`with_arrow_writer`] with `props`.
#[cfg(test)]
pub(crate) fn with_arrow_writer_and(batch: &RecordBatch, props: WriterProperties) -> Vec<u8> {
    let mut out = Vec::new();
    let mut w = ArrowWriter::try_new(&mut out, batch.schema(), Some(props)).unwrap();
    w.write(batch).unwrap();
    w.close().unwrap();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::tables::{InputsTable, ScriptsTable};

    fn inputs(n: u64) -> RecordBatch {
        InputsTable {
            in_ix: (0..n).collect(),
            tx_ix: (0..n).map(|i| (i / 3) as u32).collect(),
            pos: (0..n).map(|i| (i % 3) as u32).collect(),
            prev_out: (0..n).map(|i| (i % 5 != 0).then_some(i * 7)).collect(),
        }
        .into_batch()
    }

    #[test]
    fn parallel_encoding_writes_the_bytes_the_arrow_writer_writes() {
        for n in [0, 1, ROW_GROUP_ROWS as u64, ROW_GROUP_ROWS as u64 * 2 + 777] {
            let batch = inputs(n);
            assert_eq!(
                to_parquet(&batch).unwrap(),
                with_arrow_writer(&batch),
                "{n} rows"
            );
        }
        let scripts = ScriptsTable {
            script_id: vec![0, 1],
            script_bytes: vec![0x51, 0x6a, 0x00],
            script_offsets: vec![0, 1, 3],
            address_bytes: b"ab".to_vec(),
            address_offsets: vec![0, 1, 2],
            kind: vec!["nonstandard", "op_return"],
            first_tx: vec![0, 0],
        }
        .into_batch();
        assert_eq!(to_parquet(&scripts).unwrap(), with_arrow_writer(&scripts));
    }

    #[test]
    fn rows_written_in_pieces_give_the_bytes_of_one_batch() {
        let n = ROW_GROUP_ROWS * 3 + 5;
        let batch = inputs(n as u64);
        let whole = with_arrow_writer(&batch);
        // Many small pieces too: a row group completed by several waiting pieces.
        let small: Vec<usize> = (1..n / 9_999).map(|i| i * 9_999).collect();
        let cuts: [&[usize]; 6] = [
            &[1, ROW_GROUP_ROWS, 2 * ROW_GROUP_ROWS + 4],
            &[ROW_GROUP_ROWS - 1, ROW_GROUP_ROWS + 1, 3 * ROW_GROUP_ROWS],
            &[0, 0, n],
            &[17, 2 * ROW_GROUP_ROWS + 17, n - 1],
            // Empty batches while rows wait.
            &[5, 5, 5, ROW_GROUP_ROWS + 3, ROW_GROUP_ROWS + 3],
            &small,
        ];
        for cut in cuts {
            let mut w = GroupWriter::try_new(Vec::new(), batch.schema()).unwrap();
            let mut at = 0;
            for &end in cut.iter().chain([&n]) {
                w.write(&batch.slice(at, end - at)).unwrap();
                at = end;
            }
            assert!(w.finish().unwrap() == whole, "cut at {cut:?}");
        }
    }

    #[test]
    fn outputs_with_nulls_encode_as_the_arrow_writer_does() {
        let n = ROW_GROUP_ROWS as u64 + 99;
        let outputs = crate::store::tables::OutputsTable {
            out_ix: (0..n).collect(),
            tx_ix: (0..n).map(|i| (i / 2) as u32).collect(),
            vout: (0..n).map(|i| (i % 2) as u32).collect(),
            value: (0..n).map(|i| i * 1_000 + 7).collect(),
            script_id: (0..n).map(|i| (i * 7 % 1000) as u32).collect(),
            spent_by: (0..n)
                .map(|i| (i % 3 != 0).then_some(i as u32 + 5))
                .collect(),
            spent_in_pos: (0..n).map(|i| (i % 3 != 0).then_some(0)).collect(),
        }
        .into_batch();
        assert_eq!(to_parquet(&outputs).unwrap(), with_arrow_writer(&outputs));
    }

    #[test]
    fn row_groups_hold_row_group_rows() {
        let bytes = to_parquet(&inputs(ROW_GROUP_ROWS as u64 + 5)).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.parquet");
        std::fs::write(&path, bytes).unwrap();
        let reader =
            parquet::file::reader::SerializedFileReader::new(std::fs::File::open(&path).unwrap())
                .unwrap();
        let meta = parquet::file::reader::FileReader::metadata(&reader);
        let rows: Vec<i64> = meta.row_groups().iter().map(|g| g.num_rows()).collect();
        assert_eq!(rows, vec![ROW_GROUP_ROWS as i64, 5]);
    }
}
