//! Reading the Parquet tables of a dataset back (for resuming an ingest and for look-ups).

use std::fs::File;
use std::path::{Path, PathBuf};

use arrow::array::{ArrayRef, RecordBatch};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ProjectionMask;

use super::manifest::Manifest;

/// Errors reading a table.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The file could not be opened.
    #[error("cannot open {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The file is not readable Parquet or lacks the column.
    #[error("cannot read {path}: {message}; the dataset is damaged: ingest it again")]
    Parquet {
        /// The file.
        path: PathBuf,
        /// What failed.
        message: String,
    },
}

/// Read the named columns of every partition of `table`, in partition order.
pub fn read_table(
    dir: &Path,
    manifest: &Manifest,
    table: &str,
    columns: &[&str],
) -> Result<Vec<RecordBatch>, ReadError> {
    let mut batches = Vec::new();
    for partition in &manifest.partitions {
        for file in partition.files.iter().filter(|f| f.table == table) {
            let path = dir.join(&file.path);
            batches.extend(read_file(&path, columns)?);
        }
    }
    Ok(batches)
}

/// Read the named columns of one Parquet file, in the order named.
pub fn read_file(path: &Path, columns: &[&str]) -> Result<Vec<RecordBatch>, ReadError> {
    let bad = |message: String| ReadError::Parquet {
        path: path.to_path_buf(),
        message,
    };
    let file = File::open(path).map_err(|source| ReadError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| bad(e.to_string()))?;
    // Top-level columns by name (nested ones, like lists, included whole).
    let fields = builder.schema().fields().clone();
    let mut indices = Vec::new();
    for name in columns {
        let ix = fields
            .iter()
            .position(|f| f.name() == name)
            .ok_or_else(|| bad(format!("no column '{name}'")))?;
        indices.push(ix);
    }
    let mask = ProjectionMask::roots(builder.parquet_schema(), indices);
    let reader = builder
        .with_projection(mask)
        .build()
        .map_err(|e| bad(e.to_string()))?;
    // The reader yields projected columns in file order: put them in the order asked for.
    reader
        .map(|b| {
            let b = b.map_err(|e| bad(e.to_string()))?;
            let order = columns
                .iter()
                .map(|name| b.schema().index_of(name).map_err(|e| bad(e.to_string())))
                .collect::<Result<Vec<_>, _>>()?;
            b.project(&order).map_err(|e| bad(e.to_string()))
        })
        .collect()
}

/// One column of `table` across all partitions, as arrays.
pub fn read_column(
    dir: &Path,
    manifest: &Manifest,
    table: &str,
    column: &str,
) -> Result<Vec<ArrayRef>, ReadError> {
    Ok(read_table(dir, manifest, table, &[column])?
        .into_iter()
        .map(|b| b.column(0).clone())
        .collect())
}
