//! Property tests: the block parser and the blk reader return an error, never panic, on random
//! garbage and on mutated real blocks; a successful parse always has a matching merkle root.

mod support;

use bitcoin::hashes::Hash;
use fundtrace::chain::Chain;
use fundtrace::ingest::blkfile::BlkIndex;
use fundtrace::ingest::block::{parse_block, parse_block_reference};
use fundtrace::ingest::{ingest_blk, BlkIngest};
use fundtrace::store::PartitionPolicy;
use proptest::prelude::*;
use support::*;

/// Frames of the first blocks of the real mainnet file (or none, with the reason printed).
fn real_blocks() -> &'static [Vec<u8>] {
    static BLOCKS: std::sync::OnceLock<Vec<Vec<u8>>> = std::sync::OnceLock::new();
    BLOCKS.get_or_init(load_real_blocks)
}

fn load_real_blocks() -> Vec<Vec<u8>> {
    let Some(path) = real_data("btc-mainnet/blk_0-4312.dat") else {
        return Vec::new();
    };
    let bytes = std::fs::read(path).unwrap();
    let mut blocks: Vec<Vec<u8>> = frames(&bytes)
        .into_iter()
        .take(300)
        .map(|b| b.to_vec())
        .collect();
    if let Some(p) = real_data("btc-mainnet/single/block482683.raw") {
        blocks.push(std::fs::read(p).unwrap()); // has segwit transactions
    }
    blocks
}

#[derive(Debug, Clone)]
enum Mutation {
    Flip { at: usize, mask: u8 },
    Truncate { len: usize },
    Insert { at: usize, bytes: Vec<u8> },
    Delete { at: usize, len: usize },
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), 1..=255u8).prop_map(|(at, mask)| Mutation::Flip { at, mask }),
        any::<usize>().prop_map(|len| Mutation::Truncate { len }),
        (
            any::<usize>(),
            proptest::collection::vec(any::<u8>(), 1..16)
        )
            .prop_map(|(at, bytes)| Mutation::Insert { at, bytes }),
        (any::<usize>(), 1..64usize).prop_map(|(at, len)| Mutation::Delete { at, len }),
    ]
}

fn apply(data: &mut Vec<u8>, m: &Mutation) {
    if data.is_empty() {
        return;
    }
    match m {
        Mutation::Flip { at, mask } => {
            let i = at % data.len();
            data[i] ^= mask;
        }
        Mutation::Truncate { len } => data.truncate(len % data.len()),
        Mutation::Insert { at, bytes } => {
            let i = at % data.len();
            data.splice(i..i, bytes.iter().copied());
        }
        Mutation::Delete { at, len } => {
            let i = at % data.len();
            let end = (i + len).min(data.len());
            data.drain(i..end);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn garbage_never_panics_the_block_parser(bytes in proptest::collection::vec(any::<u8>(), 0..4096)) {
        let _ = parse_block(&bytes);
    }

    #[test]
    fn mutated_real_blocks_never_panic_and_a_parse_implies_a_valid_merkle_root(
        pick in any::<usize>(),
        mutations in proptest::collection::vec(mutation(), 1..4),
    ) {
        let blocks = real_blocks();
        if blocks.is_empty() { return Ok(()); }
        let original = &blocks[pick % blocks.len()];
        let mut data = original.clone();
        for m in &mutations { apply(&mut data, m); }
        // The zero-copy parser agrees with decoding through the `bitcoin` crate: whatever it
        // accepts the crate decodes identically, and whatever the crate decodes (with a matching
        // merkle root) it accepts.
        let ours = parse_block(&data);
        let reference = parse_block_reference(&data);
        if let Ok(block) = &ours {
            prop_assert_eq!(Some(block), reference.as_ref().ok());
        }
        if let Ok(block) = &reference {
            let root = bitcoin::merkle_tree::calculate_root(block.txids.iter().map(|t| t.to_raw_hash()));
            if root.map(|r| r.to_byte_array().to_vec()) == Some(data[36..68].to_vec()) {
                prop_assert!(ours.is_ok(), "reference accepts but ours says {:?}", ours.err());
            }
        }
        if let Ok(block) = ours {
            // With the header's merkle root unchanged, a successful parse must have found the very
            // same transactions (a different set with the same root is a second preimage).
            if data.len() >= 68 && data[36..68] == original[36..68] {
                prop_assert_eq!(parse_block(original).unwrap().txids, block.txids);
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// A whole blk file with garbage or a mutation: scanning and ingest give Ok or Err, never a panic.
    #[test]
    fn mutated_blk_files_never_panic_the_reader(
        garbage in proptest::collection::vec(any::<u8>(), 0..512),
        mutations in proptest::collection::vec(mutation(), 0..4),
        use_real in any::<bool>(),
    ) {
        let blocks = real_blocks();
        let mut file = Vec::new();
        if use_real && !blocks.is_empty() {
            for b in blocks.iter().take(60) {
                file.extend_from_slice(&[0xf9, 0xbe, 0xb4, 0xd9]);
                file.extend_from_slice(&(b.len() as u32).to_le_bytes());
                file.extend_from_slice(b);
            }
            for m in &mutations { apply(&mut file, m); }
        } else {
            file = garbage;
        }
        let tmp = tempfile::tempdir().unwrap();
        let blocks_dir = tmp.path().join("blocks");
        std::fs::create_dir(&blocks_dir).unwrap();
        std::fs::write(blocks_dir.join("blk00000.dat"), &file).unwrap();
        let _ = BlkIndex::scan(&blocks_dir, Chain::Bitcoin);
        let job = BlkIngest {
            blocks_dir,
            chain: Chain::Bitcoin,
            out: tmp.path().join("ds"),
            to_height: None,
            policy: PartitionPolicy::default(),
        };
        let _ = ingest_blk(&job, |_| {}, |_| {});
    }
}
