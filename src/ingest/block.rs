//! The source-independent parsed block, and the zero-copy parser that makes it from a block's
//! serialized bytes.
//!
//! Every ingest path (blk files, RPC) yields a [`ParsedBlock`] to the store builder: the
//! transaction graph only (txids, spent outpoints, output values and scripts; no signatures or
//! witnesses), in flat columns so one block is a handful of allocations, not several per
//! transaction.
//!
//! The parser walks the bytes once and hashes each transaction's non-witness serialization in
//! place for its txid. It departs from decoding with the `bitcoin` crate (which builds every
//! input, script and witness as its own allocation) for speed; it keeps that decoder's
//! guarantees: any byte string gives a typed error, never a panic; CompactSize integers must be
//! minimal; a witness flag other than 1, or a witness flag with no witness, is rejected; and the
//! merkle root must match. Tests compare it with [`parse_block_reference`], the same
//! reduction done through the `bitcoin` crate, on real and generated blocks and on mutations.

use bitcoin::consensus::Decodable;
use bitcoin::hashes::{sha256d, Hash, HashEngine};
use bitcoin::{BlockHash, TxMerkleNode, Txid};

use crate::store::intern::script_hash;

/// A spent outpoint: funding txid and output index.
pub type Prevout = (Txid, u32);

/// A block reduced to its transaction graph, with txids computed and the merkle root checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedBlock {
    /// The block's hash.
    pub hash: BlockHash,
    /// Hash of the previous block.
    pub prev_hash: BlockHash,
    /// Header timestamp (seconds since the Unix epoch).
    pub time: u32,
    /// Serialized size of the block in bytes.
    pub size: u32,
    /// Txid of each transaction, in block order.
    pub txids: Vec<Txid>,
    /// Whether each transaction carries witness data.
    pub segwit: Vec<bool>,
    /// End (exclusive) of each transaction's inputs in `prevouts`.
    pub input_ends: Vec<u32>,
    /// Spent outpoints of all inputs; `None` for a coinbase input.
    pub prevouts: Vec<Option<Prevout>>,
    /// End (exclusive) of each transaction's outputs in `values`.
    pub output_ends: Vec<u32>,
    /// Output values in base units.
    pub values: Vec<u64>,
    /// End (exclusive) of each output's script in `script_bytes`.
    pub script_ends: Vec<u32>,
    /// Output scripts, concatenated.
    pub script_bytes: Vec<u8>,
    /// [`script_hash`] of each output script (computed here, in parallel, for the interner).
    pub script_hashes: Vec<u32>,
    /// Litecoin MWEB: index of the HogEx (the integrating transaction that moves value between
    /// the canonical chain and the MimbleWimble extension block), if the block has one.
    pub hogex: Option<usize>,
    /// Litecoin MWEB: bytes of the extension block after the transactions (opaque here).
    pub mweb_bytes: u32,
}

/// One transaction of a [`ParsedBlock`].
#[derive(Debug, Clone, Copy)]
pub struct TxView<'a> {
    block: &'a ParsedBlock,
    index: usize,
}

/// One output of a [`ParsedBlock`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutputView<'a> {
    /// Value in base units.
    pub value: u64,
    /// The output script.
    pub script: &'a [u8],
    /// Its interning hash.
    pub script_hash: u32,
}

impl ParsedBlock {
    /// An empty block with these header fields, to be filled with transactions.
    pub fn new(hash: BlockHash, prev_hash: BlockHash, time: u32, size: u32) -> ParsedBlock {
        ParsedBlock {
            hash,
            prev_hash,
            time,
            size,
            txids: Vec::new(),
            segwit: Vec::new(),
            input_ends: Vec::new(),
            prevouts: Vec::new(),
            output_ends: Vec::new(),
            values: Vec::new(),
            script_ends: Vec::new(),
            script_bytes: Vec::new(),
            script_hashes: Vec::new(),
            hogex: None,
            mweb_bytes: 0,
        }
    }

    /// Number of transactions.
    pub fn tx_count(&self) -> usize {
        self.txids.len()
    }

    /// The transactions in block order.
    pub fn txs(&self) -> impl ExactSizeIterator<Item = TxView<'_>> + '_ {
        (0..self.txids.len()).map(move |index| TxView { block: self, index })
    }

    /// Output `o` (block-wide index).
    pub fn output(&self, o: usize) -> OutputView<'_> {
        let start = if o == 0 {
            0
        } else {
            self.script_ends[o - 1] as usize
        };
        OutputView {
            value: self.values[o],
            script: &self.script_bytes[start..self.script_ends[o] as usize],
            script_hash: self.script_hashes[o],
        }
    }
}

impl<'a> TxView<'a> {
    /// The txid.
    pub fn txid(&self) -> Txid {
        self.block.txids[self.index]
    }

    /// True when the transaction carries witness data.
    pub fn segwit(&self) -> bool {
        self.block.segwit[self.index]
    }

    /// Spent outpoints in input order (`None` for a coinbase input).
    pub fn inputs(&self) -> &'a [Option<Prevout>] {
        let start = if self.index == 0 {
            0
        } else {
            self.block.input_ends[self.index - 1] as usize
        };
        &self.block.prevouts[start..self.block.input_ends[self.index] as usize]
    }

    /// Outputs in order.
    pub fn outputs(&self) -> impl ExactSizeIterator<Item = OutputView<'a>> + 'a {
        let start = if self.index == 0 {
            0
        } else {
            self.block.output_ends[self.index - 1] as usize
        };
        let block = self.block;
        (start..block.output_ends[self.index] as usize).map(move |o| block.output(o))
    }

    /// True for a coinbase transaction (its only input spends nothing).
    pub fn is_coinbase(&self) -> bool {
        matches!(self.inputs(), [None])
    }
}

/// Why a block's bytes could not be turned into a [`ParsedBlock`].
#[derive(Debug, thiserror::Error)]
pub enum BlockParseError {
    /// The bytes end inside a field.
    #[error("block ends inside {field} of transaction {tx} (byte {offset} of {len})")]
    Truncated {
        /// What was being read.
        field: &'static str,
        /// Index of the transaction (or 0 for the header).
        tx: usize,
        /// Offset in the block.
        offset: usize,
        /// Length of the block.
        len: usize,
    },
    /// A CompactSize integer is not minimally encoded.
    #[error("non-minimal CompactSize integer at byte {offset} (transaction {tx})")]
    NonMinimalVarInt {
        /// Offset in the block.
        offset: usize,
        /// Index of the transaction.
        tx: usize,
    },
    /// A segwit flag other than 1 (or, on Litecoin, 8 and 9).
    #[error(
        "transaction {tx} has unsupported serialization flags {flag:#04x} (Litecoin's MWEB flag 0x08 is only read with --chain litecoin or litecoin-regtest)"
    )]
    UnsupportedSegwitFlag {
        /// Index of the transaction.
        tx: usize,
        /// The flag byte.
        flag: u8,
    },
    /// A segwit flag with only empty witnesses.
    #[error("transaction {tx} sets the witness flag but has no witness data")]
    EmptyWitness {
        /// Index of the transaction.
        tx: usize,
    },
    /// Bytes remain after the last transaction.
    #[error("{0} bytes left over after the block's last transaction")]
    TrailingBytes(usize),
    /// The transactions do not hash to the header's merkle root.
    #[error(
        "merkle root mismatch in block {hash}: header says {header}, transactions give {computed}"
    )]
    MerkleMismatch {
        /// The block's hash.
        hash: BlockHash,
        /// Merkle root in the header.
        header: String,
        /// Merkle root of the decoded transactions.
        computed: String,
    },
    /// A transaction carries MWEB data inside the canonical block (only the HogEx may be marked).
    #[error("transaction {tx} carries MWEB transaction data, which blocks do not hold outside the extension block")]
    MwebTxInBlock {
        /// Index of the transaction.
        tx: usize,
    },
    /// A HogEx without outputs, or not the last transaction.
    #[error("transaction {tx} is marked as the HogEx but {why}")]
    BadHogEx {
        /// Index of the transaction.
        tx: usize,
        /// What is wrong.
        why: &'static str,
    },
    /// A block without transactions (not valid on any chain).
    #[error("block {0} has no transactions")]
    Empty(BlockHash),
}

/// A bounds-checked reader over a block's bytes.
struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
    tx: usize,
    mweb: bool,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize, field: &'static str) -> Result<&'a [u8], BlockParseError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.bytes.len())
            .ok_or(BlockParseError::Truncated {
                field,
                tx: self.tx,
                offset: self.pos,
                len: self.bytes.len(),
            })?;
        let slice = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(slice)
    }

    fn u8(&mut self, field: &'static str) -> Result<u8, BlockParseError> {
        Ok(self.take(1, field)?[0])
    }

    fn u32(&mut self, field: &'static str) -> Result<u32, BlockParseError> {
        let b = self.take(4, field)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn u64(&mut self, field: &'static str) -> Result<u64, BlockParseError> {
        let b = self.take(8, field)?;
        Ok(u64::from_le_bytes([
            b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7],
        ]))
    }

    /// A CompactSize integer, minimal encoding required (as Bitcoin Core and rust-bitcoin do).
    fn varint(&mut self, field: &'static str) -> Result<u64, BlockParseError> {
        let at = self.pos;
        let non_minimal = BlockParseError::NonMinimalVarInt {
            offset: at,
            tx: self.tx,
        };
        match self.u8(field)? {
            0xff => {
                let v = self.u64(field)?;
                if v < 0x1_0000_0000 {
                    Err(non_minimal)
                } else {
                    Ok(v)
                }
            }
            0xfe => {
                let v = self.u32(field)? as u64;
                if v < 0x1_0000 {
                    Err(non_minimal)
                } else {
                    Ok(v)
                }
            }
            0xfd => {
                let b = self.take(2, field)?;
                let v = u16::from_le_bytes([b[0], b[1]]) as u64;
                if v < 0xfd {
                    Err(non_minimal)
                } else {
                    Ok(v)
                }
            }
            n => Ok(n as u64),
        }
    }

    /// A length that must fit in what is left (so no absurd count can drive an allocation).
    fn len(&mut self, field: &'static str, min_item: usize) -> Result<usize, BlockParseError> {
        let at = self.pos;
        let n = self.varint(field)?;
        let left = (self.bytes.len() - self.pos) as u64;
        if n.saturating_mul(min_item as u64) > left {
            return Err(BlockParseError::Truncated {
                field,
                tx: self.tx,
                offset: at,
                len: self.bytes.len(),
            });
        }
        Ok(n as usize)
    }
}

/// Parse one serialized block: every transaction's graph edges, txids, and the merkle check.
pub fn parse_block(bytes: &[u8]) -> Result<ParsedBlock, BlockParseError> {
    parse_block_with(bytes, false)
}

/// Parse one serialized block: every transaction's graph edges, txids, and the merkle check.
/// With `mweb` (Litecoin), the HogEx's MWEB flag is read and the MimbleWimble extension block
/// after the transactions is kept opaque: its internals are not part of the canonical graph;
/// value enters and leaves it through the HogEx, which is an ordinary transaction of the graph.
pub fn parse_block_with(bytes: &[u8], mweb: bool) -> Result<ParsedBlock, BlockParseError> {
    let mut c = Cursor {
        bytes,
        pos: 0,
        tx: 0,
        mweb,
    };
    let header = c.take(80, "the block header")?;
    let hash = BlockHash::from_byte_array(sha256d::Hash::hash(header).to_byte_array());
    let prev_hash = BlockHash::from_slice(&header[4..36]).expect("32 bytes");
    let merkle_root = TxMerkleNode::from_slice(&header[36..68]).expect("32 bytes");
    let time = u32::from_le_bytes(header[68..72].try_into().expect("4 bytes"));
    // The smallest transaction is 60 bytes; 10 bounds the reservation safely.
    let n_tx = c.len("the transaction count", 10)?;
    if n_tx == 0 {
        return Err(BlockParseError::Empty(hash));
    }
    let mut b = ParsedBlock {
        hash,
        prev_hash,
        time,
        size: bytes.len() as u32,
        txids: Vec::with_capacity(n_tx),
        segwit: Vec::with_capacity(n_tx),
        input_ends: Vec::with_capacity(n_tx),
        prevouts: Vec::with_capacity(n_tx * 2),
        output_ends: Vec::with_capacity(n_tx),
        values: Vec::with_capacity(n_tx * 2),
        script_ends: Vec::with_capacity(n_tx * 2),
        script_bytes: Vec::with_capacity(n_tx * 50),
        script_hashes: Vec::with_capacity(n_tx * 2),
        hogex: None,
        mweb_bytes: 0,
    };
    for tx in 0..n_tx {
        c.tx = tx;
        if parse_tx(&mut c, &mut b)? {
            if tx + 1 != n_tx || n_tx < 2 {
                return Err(BlockParseError::BadHogEx {
                    tx,
                    why: "it is not the last transaction after the coinbase",
                });
            }
            b.hogex = Some(tx);
        }
    }
    // After a HogEx comes the optional extension block: a presence byte, then its bytes.
    if b.hogex.is_some() && c.pos < bytes.len() && c.u8("the MWEB block marker")? == 1 {
        b.mweb_bytes = (bytes.len() - c.pos) as u32;
        c.pos = bytes.len();
    }
    if c.pos != bytes.len() {
        return Err(BlockParseError::TrailingBytes(bytes.len() - c.pos));
    }
    let computed = bitcoin::merkle_tree::calculate_root(b.txids.iter().map(|t| t.to_raw_hash()))
        .map(TxMerkleNode::from_raw_hash);
    if computed != Some(merkle_root) {
        return Err(BlockParseError::MerkleMismatch {
            hash,
            header: merkle_root.to_string(),
            computed: computed.map(|c| c.to_string()).unwrap_or_default(),
        });
    }
    Ok(b)
}

/// Parse one transaction; returns true when it is a Litecoin HogEx.
fn parse_tx(c: &mut Cursor<'_>, b: &mut ParsedBlock) -> Result<bool, BlockParseError> {
    let start = c.pos;
    c.take(4, "the version")?;
    let mut segwit = false;
    let mut mweb_flag = false;
    let mut body_start = c.pos;
    // Extended serialization: a zero input count followed by a flag byte (BIP 144); Litecoin
    // adds bit 0x08 for MWEB data.
    if c.bytes.get(c.pos) == Some(&0) {
        c.take(1, "the segwit marker")?;
        let flag = c.u8("the segwit flag")?;
        let known = if c.mweb { 0x01 | 0x08 } else { 0x01 };
        if flag == 0 || flag & !known != 0 {
            return Err(BlockParseError::UnsupportedSegwitFlag { tx: c.tx, flag });
        }
        segwit = flag & 0x01 != 0;
        mweb_flag = flag & 0x08 != 0;
        body_start = c.pos;
    }
    let n_in = c.len("the input count", 41)?;
    let coinbase_candidate = n_in == 1;
    let first_input = b.prevouts.len();
    for _ in 0..n_in {
        let prev = c.take(36, "an input's outpoint")?;
        let txid = Txid::from_slice(&prev[..32]).expect("32 bytes");
        let vout = u32::from_le_bytes(prev[32..36].try_into().expect("4 bytes"));
        let script_len = c.len("an input script length", 1)?;
        c.take(script_len, "an input script")?;
        c.take(4, "an input sequence")?;
        b.prevouts.push(Some((txid, vout)));
    }
    // A coinbase spends the null outpoint (all-zero txid, index 0xffffffff) as its only input.
    if coinbase_candidate {
        if let Some(Some((txid, u32::MAX))) = b.prevouts.last() {
            if *txid == Txid::all_zeros() {
                b.prevouts[first_input] = None;
            }
        }
    }
    let n_out = c.len("the output count", 9)?;
    for _ in 0..n_out {
        let value = c.u64("an output value")?;
        let script_len = c.len("an output script length", 1)?;
        let script = c.take(script_len, "an output script")?;
        b.values.push(value);
        b.script_bytes.extend_from_slice(script);
        b.script_ends.push(b.script_bytes.len() as u32);
        b.script_hashes.push(script_hash(script));
    }
    let body_end = c.pos;
    if segwit {
        let mut any = false;
        for _ in 0..n_in {
            let items = c.len("a witness item count", 1)?;
            any |= items > 0;
            for _ in 0..items {
                let len = c.len("a witness item length", 1)?;
                c.take(len, "a witness item")?;
            }
        }
        if !any {
            return Err(BlockParseError::EmptyWitness { tx: c.tx });
        }
    }
    // MWEB data of a transaction: absent (0) marks the HogEx; present is not valid in a block.
    if mweb_flag {
        if c.u8("the MWEB transaction marker")? != 0 {
            return Err(BlockParseError::MwebTxInBlock { tx: c.tx });
        }
        if n_out == 0 {
            return Err(BlockParseError::BadHogEx {
                tx: c.tx,
                why: "it has no outputs",
            });
        }
    }
    let lock_time = c.take(4, "the lock time")?;
    // txid = sha256d(version | inputs | outputs | lock time), without marker, flag and witnesses.
    let mut engine = sha256d::Hash::engine();
    engine.input(&c.bytes[start..start + 4]);
    engine.input(&c.bytes[body_start..body_end]);
    engine.input(lock_time);
    b.txids
        .push(Txid::from_raw_hash(sha256d::Hash::from_engine(engine)));
    b.segwit.push(segwit);
    b.input_ends.push(b.prevouts.len() as u32);
    b.output_ends.push(b.values.len() as u32);
    Ok(mweb_flag)
}

/// The same reduction done by decoding with the `bitcoin` crate: the reference the parser is
/// tested against (and the baseline of the ingest benchmark).
pub fn parse_block_reference(
    bytes: &[u8],
) -> Result<ParsedBlock, bitcoin::consensus::encode::Error> {
    let mut cursor = bytes;
    let block = bitcoin::Block::consensus_decode_from_finite_reader(&mut cursor)?;
    if !cursor.is_empty() {
        return Err(bitcoin::consensus::encode::Error::ParseFailed(
            "trailing bytes after the last transaction",
        ));
    }
    let mut b = ParsedBlock::new(
        block.block_hash(),
        block.header.prev_blockhash,
        block.header.time,
        bytes.len() as u32,
    );
    for tx in &block.txdata {
        b.txids.push(tx.compute_txid());
        b.segwit
            .push(tx.input.iter().any(|i| !i.witness.is_empty()));
        let coinbase = tx.is_coinbase();
        for i in &tx.input {
            b.prevouts
                .push((!coinbase).then_some((i.previous_output.txid, i.previous_output.vout)));
        }
        b.input_ends.push(b.prevouts.len() as u32);
        for o in &tx.output {
            let script = o.script_pubkey.as_bytes();
            b.values.push(o.value.to_sat());
            b.script_bytes.extend_from_slice(script);
            b.script_ends.push(b.script_bytes.len() as u32);
            b.script_hashes.push(script_hash(script));
        }
        b.output_ends.push(b.values.len() as u32);
    }
    Ok(b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bitcoin::consensus::serialize;

    fn genesis() -> bitcoin::Block {
        bitcoin::blockdata::constants::genesis_block(bitcoin::Network::Bitcoin)
    }

    #[test]
    fn genesis_block_parses_with_its_published_txid() {
        let parsed = parse_block(&serialize(&genesis())).unwrap();
        assert_eq!(
            parsed.hash.to_string(),
            "000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f"
        );
        assert_eq!(parsed.tx_count(), 1);
        let tx = parsed.txs().next().unwrap();
        assert!(tx.is_coinbase());
        assert_eq!(
            tx.txid().to_string(),
            "4a5e1e4baab89f3a32518a88c31bc87f618f76673e2cc77ab2127b7afdeda33b"
        );
        assert_eq!(tx.outputs().next().unwrap().value, 50 * 100_000_000);
        assert_eq!(
            parsed,
            parse_block_reference(&serialize(&genesis())).unwrap()
        );
    }

    #[test]
    fn tampered_transaction_fails_the_merkle_check() {
        let mut block = genesis();
        block.txdata[0].output[0].value = bitcoin::Amount::from_sat(1);
        let err = parse_block(&serialize(&block)).unwrap_err();
        assert!(
            matches!(err, BlockParseError::MerkleMismatch { .. }),
            "{err}"
        );
    }

    #[test]
    fn trailing_bytes_are_an_error() {
        let mut bytes = serialize(&genesis());
        bytes.push(0);
        assert!(matches!(
            parse_block(&bytes),
            Err(BlockParseError::TrailingBytes(1))
        ));
    }

    #[test]
    fn non_minimal_varint_is_rejected() {
        let bytes = serialize(&genesis());
        // Re-encode the transaction count 1 as 0xfd 0x01 0x00.
        let mut bad = bytes[..80].to_vec();
        bad.extend_from_slice(&[0xfd, 0x01, 0x00]);
        bad.extend_from_slice(&bytes[81..]);
        assert!(matches!(
            parse_block(&bad),
            Err(BlockParseError::NonMinimalVarInt { offset: 80, .. })
        ));
    }

    #[test]
    fn truncation_anywhere_is_an_error_not_a_panic() {
        let bytes = serialize(&genesis());
        for len in 0..bytes.len() {
            assert!(
                parse_block(&bytes[..len]).is_err(),
                "prefix of {len} bytes parsed"
            );
        }
    }
}
