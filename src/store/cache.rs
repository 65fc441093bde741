//! The compact binary analysis cache: fixed-width little-endian column files under
//! `DATASET/cache/`, appended by ingest and memory-mapped by analysis.
//!
//! The Parquet tables are the public format; this cache holds the columns a trace needs, in a
//! form the OS pages in on demand, so a trace's resident memory grows with what it touches.
//! Budget: 20 bytes per transaction (`tx_first_out`, `tx_first_in`, `tx_height`) and 16 per
//! output (`out_value`, `out_script`, `out_spent_by`) plus 8 per input (`in_prev_out`).
//! Txids and block hashes are kept in their own files, outside that budget, for look-ups, and
//! so are the distinct scripts (`script_end.u64`, `script_bytes.bin`), which ingest's script
//! index reads instead of keeping every script in memory, and from which exports render
//! addresses.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use memmap2::Mmap;

use super::manifest::Counts;

/// Name of the cache directory inside a dataset.
pub const CACHE_DIR: &str = "cache";

/// One column file of the cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheColumn {
    /// Block hash, 32 bytes, display order.
    BlockHash,
    /// Block header time, u32.
    BlockTime,
    /// First transaction of the block, u32.
    BlockFirstTx,
    /// Transaction id, 32 bytes, display order.
    Txid,
    /// First output of the transaction, u64.
    TxFirstOut,
    /// First input of the transaction, u64.
    TxFirstIn,
    /// Height of the transaction's block, u32.
    TxHeight,
    /// Output value in base units, u64.
    OutValue,
    /// Output script id, u32.
    OutScript,
    /// Spending transaction, u32 (`u32::MAX` when unspent).
    OutSpentBy,
    /// Output spent by the input, u64 (`u64::MAX` for a coinbase input).
    InPrevOut,
    /// Flags of each script, u8: bit 0 = unspendable (OP_RETURN or oversized).
    ScriptFlags,
    /// End offset of each script in [`CacheColumn::ScriptBytes`], u64.
    ScriptEnd,
    /// The scripts' bytes, concatenated in id order (its length is the last script's end).
    ScriptBytes,
}

impl CacheColumn {
    /// Every column, in a fixed order.
    pub const ALL: [CacheColumn; 14] = [
        CacheColumn::BlockHash,
        CacheColumn::BlockTime,
        CacheColumn::BlockFirstTx,
        CacheColumn::Txid,
        CacheColumn::TxFirstOut,
        CacheColumn::TxFirstIn,
        CacheColumn::TxHeight,
        CacheColumn::OutValue,
        CacheColumn::OutScript,
        CacheColumn::OutSpentBy,
        CacheColumn::InPrevOut,
        CacheColumn::ScriptFlags,
        CacheColumn::ScriptEnd,
        CacheColumn::ScriptBytes,
    ];

    /// The file name under `cache/`.
    pub fn file_name(self) -> &'static str {
        match self {
            CacheColumn::BlockHash => "block_hash.h256",
            CacheColumn::BlockTime => "block_time.u32",
            CacheColumn::BlockFirstTx => "block_first_tx.u32",
            CacheColumn::Txid => "txid.h256",
            CacheColumn::TxFirstOut => "tx_first_out.u64",
            CacheColumn::TxFirstIn => "tx_first_in.u64",
            CacheColumn::TxHeight => "tx_height.u32",
            CacheColumn::OutValue => "out_value.u64",
            CacheColumn::OutScript => "out_script.u32",
            CacheColumn::OutSpentBy => "out_spent_by.u32",
            CacheColumn::InPrevOut => "in_prev_out.u64",
            CacheColumn::ScriptFlags => "script_flags.u8",
            CacheColumn::ScriptEnd => "script_end.u64",
            CacheColumn::ScriptBytes => "script_bytes.bin",
        }
    }

    /// Bytes per row.
    pub fn width(self) -> u64 {
        match self {
            CacheColumn::BlockHash | CacheColumn::Txid => 32,
            CacheColumn::ScriptFlags | CacheColumn::ScriptBytes => 1,
            CacheColumn::BlockTime | CacheColumn::BlockFirstTx | CacheColumn::TxHeight => 4,
            CacheColumn::OutScript | CacheColumn::OutSpentBy => 4,
            CacheColumn::TxFirstOut
            | CacheColumn::TxFirstIn
            | CacheColumn::OutValue
            | CacheColumn::InPrevOut
            | CacheColumn::ScriptEnd => 8,
        }
    }

    /// Rows this column has in a dataset with `counts`; `None` for [`CacheColumn::ScriptBytes`],
    /// whose length is the last [`CacheColumn::ScriptEnd`].
    pub fn rows(self, counts: &Counts) -> Option<u64> {
        Some(match self {
            CacheColumn::BlockHash | CacheColumn::BlockTime | CacheColumn::BlockFirstTx => {
                counts.blocks
            }
            CacheColumn::Txid
            | CacheColumn::TxFirstOut
            | CacheColumn::TxFirstIn
            | CacheColumn::TxHeight => counts.txs,
            CacheColumn::OutValue | CacheColumn::OutScript | CacheColumn::OutSpentBy => {
                counts.outputs
            }
            CacheColumn::InPrevOut => counts.inputs,
            CacheColumn::ScriptFlags | CacheColumn::ScriptEnd => counts.scripts,
            CacheColumn::ScriptBytes => return None,
        })
    }

    /// The column's path in dataset `dir`.
    pub fn path(self, dir: &Path) -> PathBuf {
        dir.join(CACHE_DIR).join(self.file_name())
    }
}

/// Errors of the cache files.
#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    /// An OS error on a cache file.
    #[error("cache file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A cache file is shorter than the manifest says.
    #[error(
        "cache file {path} holds {found} bytes but the manifest needs {needed}; \
         the dataset's cache is damaged: delete the dataset directory and ingest again"
    )]
    Short {
        /// The file.
        path: PathBuf,
        /// Bytes present.
        found: u64,
        /// Bytes needed.
        needed: u64,
    },
    /// A cache file holds values that cannot be right (an offset going backwards).
    #[error(
        "cache file {path} is damaged at row {row}; delete the dataset directory and ingest again"
    )]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// The first bad row.
        row: u64,
    },
}

/// Values that can be viewed in place from a little-endian column file.
///
/// # Safety
/// Implementors must be plain data: every bit pattern valid, no padding, alignment ≤ 8.
pub unsafe trait FixedWidth: Copy + 'static {}
// SAFETY: plain integers and byte arrays.
unsafe impl FixedWidth for u8 {}
// SAFETY: plain integers and byte arrays.
unsafe impl FixedWidth for u32 {}
// SAFETY: plain integers and byte arrays.
unsafe impl FixedWidth for u64 {}
// SAFETY: plain integers and byte arrays.
unsafe impl FixedWidth for [u8; 32] {}

#[cfg(not(target_endian = "little"))]
compile_error!("the fundtrace cache is little-endian; big-endian targets are not supported");

/// Appends rows to the cache files and patches rows in place, for ingest.
#[derive(Debug)]
pub struct CacheWriter {
    dir: PathBuf,
    files: Vec<File>,
    lens: Vec<u64>,
    /// Bytes of each file whose write-out was already asked for.
    written_back: Vec<u64>,
}

impl CacheWriter {
    /// Open (creating) every column file of dataset `dir`, cut to the rows of `counts`: anything
    /// past them was written by an interrupted run and is not committed.
    pub fn open(dir: &Path, counts: &Counts) -> Result<CacheWriter, CacheError> {
        let cache_dir = dir.join(CACHE_DIR);
        std::fs::create_dir_all(&cache_dir).map_err(|source| CacheError::Io {
            path: cache_dir.clone(),
            source,
        })?;
        let mut files = Vec::new();
        let mut lens = Vec::new();
        for col in CacheColumn::ALL {
            let path = col.path(dir);
            let io = |source| CacheError::Io {
                path: path.clone(),
                source,
            };
            let file = OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(&path)
                .map_err(io)?;
            let needed = match col.rows(counts) {
                Some(rows) => rows * col.width(),
                // Opened after ScriptEnd (ALL's order): its last end is the length.
                None => script_bytes_len(&files[Self::slot(CacheColumn::ScriptEnd)], counts)
                    .map_err(|source| CacheError::Io {
                        path: CacheColumn::ScriptEnd.path(dir),
                        source,
                    })?,
            };
            let found = file.metadata().map_err(io)?.len();
            if found < needed {
                return Err(CacheError::Short {
                    path,
                    found,
                    needed,
                });
            }
            file.set_len(needed).map_err(io)?;
            files.push(file);
            lens.push(needed);
        }
        Ok(CacheWriter {
            dir: dir.to_path_buf(),
            files,
            written_back: lens.clone(),
            lens,
        })
    }

    fn slot(col: CacheColumn) -> usize {
        CacheColumn::ALL
            .iter()
            .position(|&c| c == col)
            .expect("every column is in ALL")
    }

    /// Append raw rows to a column.
    pub fn append(&mut self, col: CacheColumn, bytes: &[u8]) -> Result<(), CacheError> {
        let slot = Self::slot(col);
        self.files[slot]
            .write_all_at(bytes, self.lens[slot])
            .map_err(|source| CacheError::Io {
                path: col.path(&self.dir),
                source,
            })?;
        self.lens[slot] += bytes.len() as u64;
        Ok(())
    }

    /// Overwrite rows of a column starting at `row`.
    pub fn write_rows_at(
        &mut self,
        col: CacheColumn,
        row: u64,
        bytes: &[u8],
    ) -> Result<(), CacheError> {
        let slot = Self::slot(col);
        self.files[slot]
            .write_all_at(bytes, row * col.width())
            .map_err(|source| CacheError::Io {
                path: col.path(&self.dir),
                source,
            })
    }

    /// Ask the OS to start writing what was appended so far to disk, without waiting, so the
    /// commit's [`Self::sync`] finds little left to write (Linux; elsewhere a no-op).
    pub fn start_writeback(&mut self) {
        for ((file, &len), from) in self
            .files
            .iter()
            .zip(&self.lens)
            .zip(&mut self.written_back)
        {
            if len > *from {
                start_writeback(file, *from, len);
                *from = len;
            }
        }
    }

    /// Flush every column to stable storage.
    pub fn sync(&self) -> Result<(), CacheError> {
        for (col, file) in CacheColumn::ALL.iter().zip(&self.files) {
            file.sync_data().map_err(|source| CacheError::Io {
                path: col.path(&self.dir),
                source,
            })?;
        }
        Ok(())
    }
}

/// Ask the OS to start writing bytes `from..to` of `file` to disk, without waiting (a hint:
/// the data is made durable only by a later sync). Linux only; elsewhere a no-op.
pub fn start_writeback(file: &File, from: u64, to: u64) {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        // SAFETY: a valid open descriptor and a byte range; SYNC_FILE_RANGE_WRITE only starts
        // write-out. An error changes nothing: the commit's fsync still writes everything.
        unsafe {
            libc::sync_file_range(
                file.as_raw_fd(),
                from as libc::off64_t,
                (to - from) as libc::off64_t,
                libc::SYNC_FILE_RANGE_WRITE,
            );
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (file, from, to);
}

/// The length of the script bytes of a dataset with `counts`: the last script's end, read from
/// the open `script_end.u64`.
fn script_bytes_len(script_end: &File, counts: &Counts) -> std::io::Result<u64> {
    if counts.scripts == 0 {
        return Ok(0);
    }
    let mut last = [0u8; 8];
    script_end.read_exact_at(&mut last, (counts.scripts - 1) * 8)?;
    Ok(u64::from_le_bytes(last))
}

/// Open a cache file for reading, checking it holds at least `needed` bytes.
fn open_holding(path: &Path, needed: u64) -> Result<File, CacheError> {
    let io = |source| CacheError::Io {
        path: path.to_path_buf(),
        source,
    };
    let file = File::open(path).map_err(io)?;
    let found = file.metadata().map_err(io)?.len();
    if found < needed {
        return Err(CacheError::Short {
            path: path.to_path_buf(),
            found,
            needed,
        });
    }
    Ok(file)
}

/// A read-only memory-mapped column of `T`.
#[derive(Debug)]
pub struct MappedColumn<T: FixedWidth> {
    map: Option<Mmap>,
    len: usize,
    _marker: std::marker::PhantomData<T>,
}

impl<T: FixedWidth> MappedColumn<T> {
    /// A column of no rows.
    pub fn empty() -> MappedColumn<T> {
        MappedColumn {
            map: None,
            len: 0,
            _marker: std::marker::PhantomData,
        }
    }

    /// Map the first `rows` rows of `col` in dataset `dir`.
    pub fn open(dir: &Path, col: CacheColumn, rows: u64) -> Result<MappedColumn<T>, CacheError> {
        assert_eq!(
            std::mem::size_of::<T>() as u64,
            col.width(),
            "column {col:?} read with the wrong width"
        );
        let path = col.path(dir);
        let io = |source| CacheError::Io {
            path: path.clone(),
            source,
        };
        let needed = rows * col.width();
        if needed == 0 {
            return Ok(MappedColumn::empty());
        }
        let file = open_holding(&path, needed)?;
        // SAFETY: the file is only appended to or patched by fundtrace's own ingest, which the
        // user does not run on a dataset while analysing it; rows past `rows` are never read.
        let map =
            unsafe { memmap2::MmapOptions::new().len(needed as usize).map(&file) }.map_err(io)?;
        Ok(MappedColumn {
            map: Some(map),
            len: rows as usize,
            _marker: std::marker::PhantomData,
        })
    }

    /// Extend the view to the first `rows` rows of `col` in dataset `dir`, which ingest has
    /// appended since it was mapped. The mapping keeps room past the file's end (never read:
    /// only rows within the file are exposed), so most calls only move the end and the pages
    /// already touched stay mapped; ingest calls this after every commit.
    pub fn grow(&mut self, dir: &Path, col: CacheColumn, rows: u64) -> Result<(), CacheError> {
        let needed = rows * col.width();
        if needed == 0 {
            self.len = 0;
            return Ok(());
        }
        let path = col.path(dir);
        let io = |source| CacheError::Io {
            path: path.clone(),
            source,
        };
        let file = open_holding(&path, needed)?;
        let room = self.map.as_ref().map_or(0, |m| m.len() as u64);
        if needed > room {
            let reserve = (needed * 2).max(64 << 20);
            // SAFETY: only `as_ptr` of the map is used (never a slice of its whole length, which
            // reaches past the file's end), and `as_slice` exposes only rows the file holds. The
            // caller is ingest, which holds the dataset's exclusive lock: the file is cut only by
            // `CacheWriter::open`, before any mapping, and rows below `len` are only appended,
            // never rewritten (the one column patched in place, `out_spent_by`, is not mapped by
            // the writer). As with any mapping, an I/O error while reading a page is a SIGBUS.
            let map = unsafe { memmap2::MmapOptions::new().len(reserve as usize).map(&file) }
                .map_err(io)?;
            self.map = Some(map);
        }
        self.len = rows as usize;
        Ok(())
    }

    /// The rows as a slice.
    pub fn as_slice(&self) -> &[T] {
        match &self.map {
            // SAFETY: the map is page-aligned, holds at least `len * size_of::<T>()` bytes of the
            // file, and `T: FixedWidth` accepts any bit pattern.
            Some(map) => unsafe { std::slice::from_raw_parts(map.as_ptr().cast::<T>(), self.len) },
            None => &[],
        }
    }
}

/// View a slice of plain values as their little-endian bytes.
pub fn as_bytes<T: FixedWidth>(values: &[T]) -> &[u8] {
    // SAFETY: `T: FixedWidth` has no padding; u8 has alignment 1.
    unsafe {
        std::slice::from_raw_parts(values.as_ptr().cast::<u8>(), std::mem::size_of_val(values))
    }
}
