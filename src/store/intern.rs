//! Script interning: each distinct output script gets a dense [`ScriptId`] in order of first
//! appearance. A hash table of ids finds them; the scripts themselves are read from the
//! dataset's cache (committed) or one byte arena (since the last commit), never one allocation
//! per script. The hash is computed by the caller, so ingest computes it in parallel while
//! parsing and the sequential writer only probes.

use std::hash::Hasher;

use std::path::Path;

use hashbrown::HashTable;

use super::cache::{CacheColumn, CacheError, MappedColumn};
use super::ids::ScriptId;

/// The hash the interner uses for a script: FxHash of its bytes, folded to 32 bits (the
/// interner keeps it per script, so 4 bytes rather than 8; equality is always checked on the
/// bytes, so a shared hash only costs a comparison).
pub fn script_hash(script: &[u8]) -> u32 {
    let mut h = rustc_hash::FxHasher::default();
    h.write(script);
    h.write_usize(script.len());
    let h = h.finish();
    (h ^ (h >> 32)) as u32
}

/// The 64-bit hash the table probes with, spread from a [`script_hash`] by an odd multiplier:
/// the bucket (low bits) is a permutation of the hash's low bits, the tag (top 7 bits) depends
/// on all of them.
fn table_hash(hash: u32) -> u64 {
    (hash as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15)
}

/// Distinct scripts with their ids. Scripts of committed partitions are read from the dataset's
/// cache (`script_end.u64`, `script_bytes.bin`, memory-mapped: page cache, not the process's
/// memory); those interned since the last commit live in one byte arena. In memory per script:
/// its 4-byte hash and its slot in the table.
#[derive(Debug)]
pub struct ScriptInterner {
    committed_ends: MappedColumn<u64>,
    committed_bytes: MappedColumn<u8>,
    /// Scripts interned since the last commit, concatenated.
    arena: Vec<u8>,
    /// End of each of them in the arena.
    ends: Vec<usize>,
    /// [`script_hash`] of every script, for growing the table without reading the scripts.
    hashes: Vec<u32>,
    table: HashTable<u32>,
}

impl Default for ScriptInterner {
    fn default() -> Self {
        ScriptInterner {
            committed_ends: MappedColumn::empty(),
            committed_bytes: MappedColumn::empty(),
            arena: Vec::new(),
            ends: Vec::new(),
            hashes: Vec::new(),
            table: HashTable::new(),
        }
    }
}

impl ScriptInterner {
    /// The interner of dataset `dir` holding `scripts` committed scripts (read from its cache).
    pub fn open(dir: &Path, scripts: u64) -> Result<ScriptInterner, CacheError> {
        let mut s = ScriptInterner::default();
        s.map_committed(dir, scripts)?;
        // Ends must rise and stay within the bytes: a damaged file is an error, not a panic.
        let ends = s.committed_ends.as_slice();
        let total = ends.last().copied().unwrap_or(0);
        let mut previous = 0;
        for (row, &end) in ends.iter().enumerate() {
            if end < previous || end > total {
                return Err(CacheError::Corrupt {
                    path: CacheColumn::ScriptEnd.path(dir),
                    row: row as u64,
                });
            }
            previous = end;
        }
        use rayon::prelude::*;
        let hashes: Vec<u32> = (0..scripts as u32)
            .into_par_iter()
            .map(|id| script_hash(s.get(ScriptId(id))))
            .collect();
        s.table.reserve(hashes.len(), |_| 0);
        for (id, &hash) in hashes.iter().enumerate() {
            s.table.insert_unique(table_hash(hash), id as u32, |&i| {
                table_hash(hashes[i as usize])
            });
        }
        s.hashes = hashes;
        Ok(s)
    }

    /// Where script `id` ends in the concatenation of all scripts (the cache's script bytes).
    pub fn end_of(&self, id: ScriptId) -> u64 {
        let i = id.index();
        let ends = self.committed_ends.as_slice();
        match i.checked_sub(ends.len()) {
            None => ends[i],
            Some(j) => ends.last().copied().unwrap_or(0) + self.ends[j] as u64,
        }
    }

    /// The uncommitted scripts are now in the cache of dataset `dir` (`scripts` in all): read
    /// them from there and free the arena.
    pub fn committed(&mut self, dir: &Path, scripts: u64) -> Result<(), CacheError> {
        self.map_committed(dir, scripts)?;
        self.arena = Vec::new();
        self.ends = Vec::new();
        Ok(())
    }

    fn map_committed(&mut self, dir: &Path, scripts: u64) -> Result<(), CacheError> {
        self.committed_ends
            .grow(dir, CacheColumn::ScriptEnd, scripts)?;
        let bytes = self.committed_ends.as_slice().last().copied().unwrap_or(0);
        self.committed_bytes
            .grow(dir, CacheColumn::ScriptBytes, bytes)?;
        Ok(())
    }

    /// Make room for `additional` more scripts at once, so the table is not rehashed every time
    /// it doubles while they arrive.
    pub fn reserve(&mut self, additional: usize) {
        let hashes = &self.hashes;
        self.table
            .reserve(additional, |&i| table_hash(hashes[i as usize]));
        self.hashes.reserve(additional);
    }

    /// Number of scripts.
    pub fn len(&self) -> usize {
        self.hashes.len()
    }

    /// True when no script is interned.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The bytes of script `id`.
    pub fn get(&self, id: ScriptId) -> &[u8] {
        let i = id.index();
        let ends = self.committed_ends.as_slice();
        match i.checked_sub(ends.len()) {
            None => {
                let start = if i == 0 { 0 } else { ends[i - 1] as usize };
                &self.committed_bytes.as_slice()[start..ends[i] as usize]
            }
            Some(j) => {
                let start = if j == 0 { 0 } else { self.ends[j - 1] };
                &self.arena[start..self.ends[j]]
            }
        }
    }

    /// The id of `script` (whose [`script_hash`] is `hash`), interning it if new; the flag is
    /// true when it was new. `None` when the id space (u32) is exhausted.
    pub fn intern(&mut self, script: &[u8], hash: u32) -> Option<(ScriptId, bool)> {
        let found = self
            .table
            .find(table_hash(hash), |&id| self.get(ScriptId(id)) == script);
        if let Some(&id) = found {
            return Some((ScriptId(id), false));
        }
        let id = u32::try_from(self.len())
            .ok()
            .filter(|&id| id != u32::MAX)?;
        self.arena.extend_from_slice(script);
        self.ends.push(self.arena.len());
        self.hashes.push(hash);
        let hashes = &self.hashes;
        self.table
            .insert_unique(table_hash(hash), id, |&i| table_hash(hashes[i as usize]));
        Some((ScriptId(id), true))
    }

    /// Look `script` up without interning it, only so that the memory [`Self::intern`] will
    /// read is in cache: a caller warms a run of scripts ahead, and their cache misses overlap.
    pub fn warm(&self, script: &[u8], hash: u32) {
        let found = self
            .table
            .find(table_hash(hash), |&id| self.get(ScriptId(id)) == script);
        std::hint::black_box(found);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_dense_in_first_seen_order_and_stable() {
        let mut s = ScriptInterner::default();
        let scripts: [&[u8]; 4] = [b"a", b"bc", b"", b"a"];
        let ids: Vec<(u32, bool)> = scripts
            .iter()
            .map(|x| s.intern(x, script_hash(x)).map(|(i, n)| (i.0, n)).unwrap())
            .collect();
        assert_eq!(ids, vec![(0, true), (1, true), (2, true), (0, false)]);
        assert_eq!(s.get(ScriptId(1)), b"bc");
        assert_eq!(s.get(ScriptId(2)), b"");
        assert_eq!(s.len(), 3);
    }

    #[test]
    fn colliding_hashes_still_distinguish_scripts() {
        let mut s = ScriptInterner::default();
        let (a, new_a) = s.intern(b"one", 7).unwrap();
        let (b, new_b) = s.intern(b"two", 7).unwrap();
        assert!(new_a && new_b && a != b);
        assert_eq!(s.intern(b"two", 7).unwrap(), (b, false));
    }

    #[test]
    fn committed_scripts_are_found_in_the_cache_and_reopen_with_their_ids() {
        use crate::store::cache::{as_bytes, CacheWriter};
        use crate::store::manifest::Counts;
        let dir = tempfile::tempdir().unwrap();
        let mut cache = CacheWriter::open(dir.path(), &Counts::default()).unwrap();
        let mut s = ScriptInterner::default();
        let first: [&[u8]; 3] = [b"alpha", b"", b"gamma"];
        for x in first {
            s.intern(x, script_hash(x)).unwrap();
        }
        // Commit: the scripts go to the cache (as the writer does), the arena is freed.
        let ends: Vec<u64> = (0..3).map(|id| s.end_of(ScriptId(id))).collect();
        assert_eq!(ends, vec![5, 5, 10]);
        cache
            .append(CacheColumn::ScriptEnd, as_bytes(&ends))
            .unwrap();
        cache
            .append(CacheColumn::ScriptBytes, b"alphagamma")
            .unwrap();
        s.committed(dir.path(), 3).unwrap();
        assert_eq!(s.end_of(ScriptId(2)), 10);
        // Old scripts keep their ids (read from the cache), new ones continue.
        assert_eq!(
            s.intern(b"gamma", script_hash(b"gamma")),
            Some((ScriptId(2), false))
        );
        assert_eq!(
            s.intern(b"delta", script_hash(b"delta")),
            Some((ScriptId(3), true))
        );
        assert_eq!(s.get(ScriptId(0)), b"alpha");
        assert_eq!(s.get(ScriptId(1)), b"");
        assert_eq!(s.get(ScriptId(3)), b"delta");
        assert_eq!(s.end_of(ScriptId(3)), 15);
        // A writer reopening the dataset finds the same ids.
        let mut reopened = ScriptInterner::open(dir.path(), 3).unwrap();
        assert_eq!(reopened.len(), 3);
        assert_eq!(
            reopened.intern(b"alpha", script_hash(b"alpha")),
            Some((ScriptId(0), false))
        );
        assert_eq!(
            reopened.intern(b"delta", script_hash(b"delta")),
            Some((ScriptId(3), true))
        );
    }

    #[test]
    fn damaged_script_ends_are_an_error_naming_the_file() {
        use crate::store::cache::{as_bytes, CacheWriter};
        use crate::store::manifest::Counts;
        let dir = tempfile::tempdir().unwrap();
        let mut cache = CacheWriter::open(dir.path(), &Counts::default()).unwrap();
        // Three scripts whose second end goes back.
        let ends: [u64; 3] = [4, 2, 6];
        cache
            .append(CacheColumn::ScriptEnd, as_bytes(&ends))
            .unwrap();
        cache.append(CacheColumn::ScriptBytes, b"abcdef").unwrap();
        let err = ScriptInterner::open(dir.path(), 3).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("script_end.u64") && text.contains("row 1"),
            "{text}"
        );
    }
}
