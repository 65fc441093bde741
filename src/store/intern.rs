//! Script interning: each distinct output script gets a dense [`ScriptId`] in order of first
//! appearance. Scripts live in one byte arena (no allocation per script) and a hash table of
//! ids finds them; the hash is computed by the caller, so ingest computes it in parallel while
//! parsing and the sequential writer only probes.

use std::hash::Hasher;

use hashbrown::HashTable;

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

/// The 64-bit hash the table probes with, spread from a [`script_hash`] (odd multiplier: the
/// table's bucket bits and tag bits both depend on every bit of it).
fn table_hash(hash: u32) -> u64 {
    (hash as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15)
}

/// Distinct scripts with their ids.
#[derive(Debug)]
pub struct ScriptInterner {
    arena: Vec<u8>,
    /// `offsets[id]..offsets[id + 1]` is the script of `id`.
    offsets: Vec<u64>,
    /// [`script_hash`] of each script, for growing the table without reading the arena.
    hashes: Vec<u32>,
    table: HashTable<u32>,
}

impl Default for ScriptInterner {
    fn default() -> Self {
        ScriptInterner::with_capacity(0, 0)
    }
}

impl ScriptInterner {
    /// An empty interner with room for about `scripts` scripts of `bytes` bytes in all.
    pub fn with_capacity(scripts: usize, bytes: usize) -> ScriptInterner {
        let mut offsets = Vec::with_capacity(scripts + 1);
        offsets.push(0);
        ScriptInterner {
            arena: Vec::with_capacity(bytes),
            offsets,
            hashes: Vec::with_capacity(scripts),
            table: HashTable::with_capacity(scripts),
        }
    }

    /// Number of scripts.
    pub fn len(&self) -> usize {
        self.offsets.len() - 1
    }

    /// True when no script is interned.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The bytes of script `id`.
    pub fn get(&self, id: ScriptId) -> &[u8] {
        let i = id.index();
        &self.arena[self.offsets[i] as usize..self.offsets[i + 1] as usize]
    }

    /// The id of `script` (whose [`script_hash`] is `hash`), interning it if new; the flag is
    /// true when it was new. `None` when the id space (u32) is exhausted.
    pub fn intern(&mut self, script: &[u8], hash: u32) -> Option<(ScriptId, bool)> {
        let (arena, offsets) = (&self.arena, &self.offsets);
        let found = self.table.find(table_hash(hash), |&id| {
            let i = id as usize;
            &arena[offsets[i] as usize..offsets[i + 1] as usize] == script
        });
        if let Some(&id) = found {
            return Some((ScriptId(id), false));
        }
        let id = u32::try_from(self.len())
            .ok()
            .filter(|&id| id != u32::MAX)?;
        self.arena.extend_from_slice(script);
        self.offsets.push(self.arena.len() as u64);
        self.hashes.push(hash);
        let hashes = &self.hashes;
        self.table
            .insert_unique(table_hash(hash), id, |&i| table_hash(hashes[i as usize]));
        Some((ScriptId(id), true))
    }

    /// Look `script` up without interning it, only so that the memory [`Self::intern`] will
    /// read is in cache: a caller warms a run of scripts ahead, and their cache misses overlap.
    pub fn warm(&self, script: &[u8], hash: u32) {
        let (arena, offsets) = (&self.arena, &self.offsets);
        let found = self.table.find(table_hash(hash), |&id| {
            let i = id as usize;
            &arena[offsets[i] as usize..offsets[i + 1] as usize] == script
        });
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
        let mut s = ScriptInterner::with_capacity(4, 16);
        let (a, new_a) = s.intern(b"one", 7).unwrap();
        let (b, new_b) = s.intern(b"two", 7).unwrap();
        assert!(new_a && new_b && a != b);
        assert_eq!(s.intern(b"two", 7).unwrap(), (b, false));
    }
}
