//! Reading a node's `blk*.dat` files: framing, `xor.dat` obfuscation, and linking blocks into
//! the best chain by prev-hash.
//!
//! A blk file is a sequence of frames `magic (4) | length (u32 LE) | block`. Bitcoin Core writes
//! blocks in the order they arrive, so heights are out of order and stale blocks are present;
//! preallocated space at the end of a file is zero bytes. Since Bitcoin Core 28 the files may be
//! XOR-obfuscated with the 8-byte key in `xor.dat` (byte at file offset `o` is XORed with
//! `key[o % 8]`).
//!
//! [`BlkIndex::scan`] reads only frame headers (88 bytes per block) to build a header index and
//! choose the best chain from the chain's genesis; [`BlkIndex::read_block`] then reads one
//! block's bytes for parsing, so blocks can be parsed in parallel and in height order.

use std::collections::HashMap;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use bitcoin::block::Header;
use bitcoin::consensus::Decodable;
use bitcoin::BlockHash;

use crate::chain::Chain;

/// Frame header: 4 bytes of magic and a little-endian u32 length.
const FRAME_HEADER: u64 = 8;
/// A block header is 80 bytes.
const HEADER_LEN: u64 = 80;
/// No block on any supported chain is larger than this (BCH allows 32 MB, with margin).
const MAX_BLOCK_LEN: u32 = 256 * 1024 * 1024;

/// What went wrong while reading blk files; every variant names the file and, where it applies,
/// the byte offset of the frame.
#[derive(Debug, thiserror::Error)]
pub enum BlkError {
    /// A file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The directory holds no `blk*.dat` files.
    #[error("no blk*.dat files in {0}: point --blocks-dir at a node's blocks/ directory")]
    NoBlockFiles(PathBuf),
    /// `xor.dat` is not 8 bytes long.
    #[error("{path} is {len} bytes long, expected an 8-byte XOR key (Bitcoin Core 28+ xor.dat)")]
    BadXorKey {
        /// The key file.
        path: PathBuf,
        /// Its length.
        len: u64,
    },
    /// A frame does not start with the chain's magic.
    #[error(
        "{path} at byte {offset}: found magic {found} but {chain} blk files start frames with {expected}; \
         check --chain (or whether xor.dat belongs to this directory)"
    )]
    BadMagic {
        /// The file.
        path: PathBuf,
        /// Offset of the frame.
        offset: u64,
        /// The 4 bytes found, hex.
        found: String,
        /// The chain's magic, hex.
        expected: String,
        /// The chain asked for.
        chain: &'static str,
    },
    /// A frame claims more bytes than the file holds, in a file that is not the last one.
    #[error(
        "{path} at byte {offset}: frame claims {claimed} bytes but only {available} remain in the file; \
         the file is truncated or corrupt (only the last blk file may end in a partial block)"
    )]
    Truncated {
        /// The file.
        path: PathBuf,
        /// Offset of the frame.
        offset: u64,
        /// Bytes the frame claims.
        claimed: u64,
        /// Bytes left in the file after the frame header.
        available: u64,
    },
    /// A frame's length is impossible (shorter than a header or larger than any block).
    #[error("{path} at byte {offset}: frame length {len} is not a plausible block size")]
    BadLength {
        /// The file.
        path: PathBuf,
        /// Offset of the frame.
        offset: u64,
        /// The length read.
        len: u32,
    },
    /// A block header could not be decoded.
    #[error("{path} at byte {offset}: cannot decode block header: {source}")]
    Header {
        /// The file.
        path: PathBuf,
        /// Offset of the frame.
        offset: u64,
        /// The decoding error.
        source: bitcoin::consensus::encode::Error,
    },
    /// The chain's genesis block is not in the files.
    #[error(
        "the {chain} genesis block {genesis} is not in {dir} ({blocks} blocks scanned); \
         check --chain, or ingest from a directory that starts at the genesis"
    )]
    NoGenesis {
        /// The chain asked for.
        chain: &'static str,
        /// Its genesis hash.
        genesis: BlockHash,
        /// The directory scanned.
        dir: PathBuf,
        /// How many frames were found.
        blocks: usize,
    },
}

/// Where one block's bytes live.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockLocation {
    /// Index into [`BlkIndex::files`].
    pub file: u32,
    /// Offset of the block (after the frame header) in the file.
    pub offset: u64,
    /// Length of the block in bytes.
    pub len: u32,
}

/// A block of the best chain: its hash, header and location.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChainBlock {
    /// The block hash.
    pub hash: BlockHash,
    /// Where its bytes are.
    pub location: BlockLocation,
}

/// Something the scan noticed that is not an error but that the user should hear about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScanNote {
    /// The last file ends in a partial frame; the complete blocks before it were kept.
    TruncatedTail {
        /// The file.
        path: PathBuf,
        /// Offset of the partial frame.
        offset: u64,
        /// Bytes the frame claims.
        claimed: u64,
        /// Bytes present.
        available: u64,
    },
    /// Blocks not on the best chain (stale forks, or not connected to the genesis) were dropped.
    DroppedBlocks(usize),
    /// The same block appeared more than once; later copies were ignored.
    DuplicateBlocks(usize),
}

impl std::fmt::Display for ScanNote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ScanNote::TruncatedTail { path, offset, claimed, available } => write!(
                f,
                "{} at byte {offset}: the last frame claims {claimed} bytes but only {available} are present; \
                 kept the complete blocks before it",
                path.display()
            ),
            ScanNote::DroppedBlocks(n) => write!(f, "dropped {n} blocks that are not on the best chain"),
            ScanNote::DuplicateBlocks(n) => write!(f, "ignored {n} duplicate copies of blocks"),
        }
    }
}

/// The header index of a directory of blk files and its best chain.
#[derive(Debug)]
pub struct BlkIndex {
    files: Vec<PathBuf>,
    handles: Vec<File>,
    xor_key: Option<[u8; 8]>,
    chain: Vec<ChainBlock>,
    notes: Vec<ScanNote>,
    chain_kind: Chain,
}

struct ScannedHeader {
    header: Header,
    location: BlockLocation,
}

impl BlkIndex {
    /// Scan every `blk*.dat` in `dir` (in file-number order) and link the blocks from `chain`'s
    /// genesis into the best chain (most cumulative work; ties go to the block seen first).
    pub fn scan(dir: &Path, chain: Chain) -> Result<BlkIndex, BlkError> {
        let files = list_blk_files(dir)?;
        let xor_key = read_xor_key(dir)?;
        let handles = files
            .iter()
            .map(|p| {
                File::open(p).map_err(|source| BlkError::Io {
                    path: p.clone(),
                    source,
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let magic = chain.disk_magic();
        let mut notes = Vec::new();
        let per_file = {
            use rayon::prelude::*;
            (0..files.len())
                .into_par_iter()
                .map(|i| {
                    scan_file(
                        &files[i],
                        &handles[i],
                        i as u32,
                        i + 1 == files.len(),
                        magic,
                        xor_key,
                        chain,
                    )
                })
                .collect::<Vec<_>>()
        };
        let mut headers = Vec::new();
        // Results in file order, so the error reported is always the first file's.
        for scanned in per_file {
            let (file_headers, note) = scanned?;
            headers.extend(file_headers);
            notes.extend(note);
        }
        let scanned = headers.len();
        let (best, duplicates) = best_chain(&headers, chain.genesis_hash(), chain.pow_is_sha256d())
            .ok_or_else(|| BlkError::NoGenesis {
                chain: chain.name(),
                genesis: chain.genesis_hash(),
                dir: dir.to_path_buf(),
                blocks: scanned,
            })?;
        if duplicates > 0 {
            notes.push(ScanNote::DuplicateBlocks(duplicates));
        }
        let dropped = scanned - duplicates - best.len();
        if dropped > 0 {
            notes.push(ScanNote::DroppedBlocks(dropped));
        }
        Ok(BlkIndex {
            files,
            handles,
            xor_key,
            chain: best,
            notes,
            chain_kind: chain,
        })
    }

    /// True when the chain's blocks may carry an MWEB extension block.
    pub fn chain_params_mweb(&self) -> bool {
        self.chain_kind.has_mweb()
    }

    /// The best chain, indexed by height (index 0 is the genesis).
    pub fn chain(&self) -> &[ChainBlock] {
        &self.chain
    }

    /// The blk files, in the order scanned.
    pub fn files(&self) -> &[PathBuf] {
        &self.files
    }

    /// Things the scan noticed (truncated tail, dropped stale blocks).
    pub fn notes(&self) -> &[ScanNote] {
        &self.notes
    }

    /// Total bytes of block data on the best chain (without frame headers).
    pub fn chain_bytes(&self) -> u64 {
        self.chain.iter().map(|b| b.location.len as u64).sum()
    }

    /// Read one block's bytes, de-obfuscated. Safe to call from many threads at once.
    pub fn read_block(&self, location: BlockLocation) -> Result<Vec<u8>, BlkError> {
        let mut buf = vec![0u8; location.len as usize];
        let file = location.file as usize;
        self.handles[file]
            .read_exact_at(&mut buf, location.offset)
            .map_err(|source| BlkError::Io {
                path: self.files[file].clone(),
                source,
            })?;
        if let Some(key) = self.xor_key {
            xor_in_place(&mut buf, location.offset, &key);
        }
        Ok(buf)
    }

    /// The path of a block's file, for error messages.
    pub fn path_of(&self, location: BlockLocation) -> &Path {
        &self.files[location.file as usize]
    }
}

/// XOR `buf`, which starts at `offset` in its file, with the 8-byte key.
pub fn xor_in_place(buf: &mut [u8], offset: u64, key: &[u8; 8]) {
    for (i, b) in buf.iter_mut().enumerate() {
        *b ^= key[((offset + i as u64) % 8) as usize];
    }
}

/// The `blk*.dat` files of a directory, ordered by their number (`blk00000.dat`, `blk00001.dat`,
/// …) and then by name for files outside the node's naming scheme.
pub fn list_blk_files(dir: &Path) -> Result<Vec<PathBuf>, BlkError> {
    let entries = std::fs::read_dir(dir).map_err(|source| BlkError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|source| BlkError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with("blk") && name.ends_with(".dat") && entry.path().is_file() {
            let number: Option<u64> = name[3..name.len() - 4].parse().ok();
            files.push((number.unwrap_or(u64::MAX), name, entry.path()));
        }
    }
    if files.is_empty() {
        return Err(BlkError::NoBlockFiles(dir.to_path_buf()));
    }
    files.sort();
    Ok(files.into_iter().map(|(_, _, p)| p).collect())
}

fn read_xor_key(dir: &Path) -> Result<Option<[u8; 8]>, BlkError> {
    let path = dir.join("xor.dat");
    match std::fs::read(&path) {
        Ok(bytes) => {
            let key: [u8; 8] = bytes
                .as_slice()
                .try_into()
                .map_err(|_| BlkError::BadXorKey {
                    path: path.clone(),
                    len: bytes.len() as u64,
                })?;
            Ok((key != [0; 8]).then_some(key))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(BlkError::Io { path, source }),
    }
}

fn read_at(
    file: &File,
    path: &Path,
    buf: &mut [u8],
    offset: u64,
    key: Option<[u8; 8]>,
) -> Result<(), BlkError> {
    file.read_exact_at(buf, offset)
        .map_err(|source| BlkError::Io {
            path: path.to_path_buf(),
            source,
        })?;
    if let Some(key) = key {
        xor_in_place(buf, offset, &key);
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn scan_file(
    path: &Path,
    file: &File,
    file_ix: u32,
    is_last: bool,
    magic: [u8; 4],
    key: Option<[u8; 8]>,
    chain: Chain,
) -> Result<(Vec<ScannedHeader>, Option<ScanNote>), BlkError> {
    let file_len = file
        .metadata()
        .map_err(|source| BlkError::Io {
            path: path.to_path_buf(),
            source,
        })?
        .len();
    let mut headers = Vec::new();
    let mut offset = 0u64;
    let mut frame = [0u8; (FRAME_HEADER + HEADER_LEN) as usize];
    while offset + FRAME_HEADER <= file_len {
        // Frame and header in one read (a frame that fits no header is caught as truncated
        // below). Preallocated space is raw zero bytes, never obfuscated: test before de-XOR.
        let n = (file_len - offset).min(frame.len() as u64) as usize;
        read_at(file, path, &mut frame[..n], offset, None)?;
        if frame[..4] == [0; 4] {
            break; // preallocated zero space: the file's blocks end here
        }
        if let Some(key) = key {
            xor_in_place(&mut frame[..n], offset, &key);
        }
        let found: [u8; 4] = frame[..4].try_into().expect("4 bytes");
        if found != magic {
            return Err(BlkError::BadMagic {
                path: path.to_path_buf(),
                offset,
                found: hex(&found),
                expected: hex(&magic),
                chain: chain.name(),
            });
        }
        let len = u32::from_le_bytes(frame[4..8].try_into().expect("4 bytes"));
        let available = file_len - offset - FRAME_HEADER;
        if (len as u64) > available {
            let claimed = len as u64;
            if is_last {
                let note = ScanNote::TruncatedTail {
                    path: path.to_path_buf(),
                    offset,
                    claimed,
                    available,
                };
                return Ok((headers, Some(note)));
            }
            return Err(BlkError::Truncated {
                path: path.to_path_buf(),
                offset,
                claimed,
                available,
            });
        }
        if (len as u64) < HEADER_LEN + 1 || len > MAX_BLOCK_LEN {
            return Err(BlkError::BadLength {
                path: path.to_path_buf(),
                offset,
                len,
            });
        }
        debug_assert_eq!(
            n,
            frame.len(),
            "a frame of HEADER_LEN + 1 bytes or more was read whole"
        );
        let header =
            Header::consensus_decode(&mut &frame[FRAME_HEADER as usize..]).map_err(|source| {
                BlkError::Header {
                    path: path.to_path_buf(),
                    offset,
                    source,
                }
            })?;
        headers.push(ScannedHeader {
            header,
            location: BlockLocation {
                file: file_ix,
                offset: offset + FRAME_HEADER,
                len,
            },
        });
        offset += FRAME_HEADER + len as u64;
    }
    Ok((headers, None))
}

/// Link headers from the genesis and return the best chain and how many duplicates were seen.
fn best_chain(
    headers: &[ScannedHeader],
    genesis: BlockHash,
    check_pow: bool,
) -> Option<(Vec<ChainBlock>, usize)> {
    // Hash → index of the first copy seen; children by parent hash.
    let mut by_hash: HashMap<BlockHash, usize> = HashMap::with_capacity(headers.len());
    let mut duplicates = 0;
    let (hashes, pow_ok): (Vec<BlockHash>, Vec<bool>) = {
        use rayon::prelude::*;
        headers
            .par_iter()
            .map(|h| {
                let hash = h.header.block_hash();
                // Litecoin (scrypt) and MonaCoin (Lyra2REv2) prove work with another hash: the
                // check applies to chains whose proof of work is the block hash itself.
                (hash, !check_pow || h.header.target().is_met_by(hash))
            })
            .unzip()
    };
    let mut children: HashMap<BlockHash, Vec<usize>> = HashMap::with_capacity(headers.len());
    for (i, hash) in hashes.iter().enumerate() {
        // A header that fails its own proof of work is no block a node would store: it stays out
        // of the tree (and is counted among the dropped).
        if !pow_ok[i] {
            continue;
        }
        if by_hash.contains_key(hash) {
            duplicates += 1;
            continue;
        }
        by_hash.insert(*hash, i);
        children
            .entry(headers[i].header.prev_blockhash)
            .or_default()
            .push(i);
    }
    let root = *by_hash.get(&genesis)?;
    // Walk the tree from the genesis (iteratively: chains are long), keeping cumulative work.
    let mut parent = vec![usize::MAX; headers.len()];
    let mut work: Vec<Option<u128>> = vec![None; headers.len()];
    work[root] = Some(block_work(&headers[root].header));
    let mut best = root;
    let mut stack = vec![root];
    while let Some(node) = stack.pop() {
        let node_work = work[node].expect("set before push");
        let better = match work[best] {
            Some(w) => node_work > w || (node_work == w && node < best),
            None => true,
        };
        if better {
            best = node;
        }
        if let Some(kids) = children.get(&hashes[node]) {
            for &kid in kids {
                if kid == root {
                    continue;
                }
                parent[kid] = node;
                work[kid] = Some(node_work.saturating_add(block_work(&headers[kid].header)));
                stack.push(kid);
            }
        }
    }
    let mut chain = Vec::new();
    let mut node = best;
    loop {
        chain.push(ChainBlock {
            hash: hashes[node],
            location: headers[node].location,
        });
        if node == root {
            break;
        }
        node = parent[node];
    }
    chain.reverse();
    Some((chain, duplicates))
}

/// The expected number of hashes behind a header, saturated to u128: real chains stay far
/// below 2^96 in total, and a forged minimum-difficulty header cannot overflow the sum.
fn block_work(header: &Header) -> u128 {
    let bytes = header.work().to_be_bytes();
    if bytes[..16].iter().any(|&b| b != 0) {
        return u128::MAX;
    }
    u128::from_be_bytes(bytes[16..].try_into().expect("16 bytes"))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xor_is_an_involution_at_any_offset() {
        let key = [1, 2, 3, 4, 5, 6, 7, 8];
        let original: Vec<u8> = (0..=255).collect();
        let mut buf = original.clone();
        xor_in_place(&mut buf, 13, &key);
        assert_ne!(buf, original);
        assert_eq!(buf[0], original[0] ^ key[13 % 8]);
        xor_in_place(&mut buf, 13, &key);
        assert_eq!(buf, original);
    }
}
