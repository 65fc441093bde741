//! Rendering newly interned scripts into rows of the `scripts` table: address string and kind
//! for the dataset's chain. The scripts table's encoder thread calls it, so address rendering
//! overlaps parsing and interning instead of running on the writer's thread.

use arrow::array::RecordBatch;

use super::tables::ScriptsTable;
use crate::chain::Chain;

/// A run of consecutive newly interned scripts, not yet rendered.
#[derive(Debug)]
pub struct ScriptRun {
    /// The dataset's chain (it decides the address encoding).
    pub chain: Chain,
    /// Id of the run's first script.
    pub first_id: u32,
    /// Script bytes, concatenated.
    pub script_bytes: Vec<u8>,
    /// End offset of each script in `script_bytes`.
    pub script_ends: Vec<usize>,
    /// The first transaction paying to each script.
    pub first_tx: Vec<u32>,
}

impl ScriptRun {
    /// The run as rows of the scripts table.
    pub fn render(self) -> ScriptsTable {
        let n = self.script_ends.len();
        debug_assert_eq!(n, self.first_tx.len());
        let chain = self.chain;
        let mut table = ScriptsTable {
            script_id: (self.first_id..).take(n).collect(),
            script_offsets: Vec::with_capacity(n + 1),
            address_bytes: Vec::with_capacity(n * 44),
            address_offsets: Vec::with_capacity(n + 1),
            kind: Vec::with_capacity(n),
            first_tx: self.first_tx,
            script_bytes: Vec::new(),
        };
        table.script_offsets.push(0);
        table.address_offsets.push(0);
        let mut address = String::with_capacity(128);
        let mut start = 0;
        for &end in &self.script_ends {
            let script = &self.script_bytes[start..end];
            address.clear();
            chain.write_address(script, &mut address);
            table.address_bytes.extend_from_slice(address.as_bytes());
            table.address_offsets.push(table.address_bytes.len() as i64);
            table.script_offsets.push(end as i64);
            table.kind.push(crate::chain::classify(script).name());
            start = end;
        }
        table.script_bytes = self.script_bytes;
        table
    }

    /// The run as a record batch of the scripts table (what its encoder thread calls).
    pub fn into_batch(self) -> RecordBatch {
        self.render().into_batch()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_each_script_with_its_id_address_and_kind() {
        // Bitcoin's genesis output (P2PK) and an OP_RETURN.
        let p2pk = hex_bytes(
            "4104678afdb0fe5548271967f1a67130b7105cd6a828e03909a67962e0ea1f61deb649f6bc3f4cef38c4f35504e51ec112de5c384df7ba0b8d578a4c702b6bf11d5fac",
        );
        let op_return = vec![0x6a, 0x01, 0x00];
        let mut bytes = p2pk.clone();
        bytes.extend_from_slice(&op_return);
        let run = ScriptRun {
            chain: Chain::Bitcoin,
            first_id: 7,
            script_ends: vec![p2pk.len(), bytes.len()],
            script_bytes: bytes,
            first_tx: vec![0, 3],
        };
        let t = run.render();
        assert_eq!(t.script_id, vec![7, 8]);
        assert_eq!(t.first_tx, vec![0, 3]);
        let end = t.address_offsets[1] as usize;
        assert_eq!(
            std::str::from_utf8(&t.address_bytes[..end]).unwrap(),
            "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"
        );
        assert_eq!(t.kind, vec!["p2pk", "op_return"]);
        assert_eq!(t.script_offsets, vec![0, 67, 70]);
    }

    fn hex_bytes(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }
}
