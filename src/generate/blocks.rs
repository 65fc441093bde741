//! Building valid blocks and writing them as `blk*.dat` files: real serialization from the
//! `bitcoin` crate, correct txids, merkle roots and witness commitments, headers linked by
//! prev-hash and mined to the chain's regtest target.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use bitcoin::absolute::LockTime;
use bitcoin::block::{Header, Version as BlockVersion};
use bitcoin::consensus::Encodable;
use bitcoin::hashes::Hash;
use bitcoin::script::PushBytesBuf;
use bitcoin::transaction::Version;
use bitcoin::{
    Amount, Block, BlockHash, CompactTarget, OutPoint, ScriptBuf, Sequence, Transaction, TxIn,
    TxMerkleNode, TxOut, Txid, Witness, Wtxid,
};

use crate::chain::Chain;
use crate::store::atomic::temp_path;

/// Regtest's proof-of-work limit: about half of all hashes meet it.
pub const REGTEST_BITS: u32 = 0x207f_ffff;

/// Writes framed blocks into `blk00000.dat`, `blk00001.dat`, … rolling over at a size limit.
pub struct BlkWriter {
    dir: PathBuf,
    magic: [u8; 4],
    max_file_bytes: u64,
    file_no: u32,
    written: u64,
    out: BufWriter<File>,
}

impl BlkWriter {
    /// Start writing blk files for `chain` into `dir` (created if needed). Each file is written
    /// under a temporary name and renamed when it is complete (at roll-over or [`finish`]).
    ///
    /// [`finish`]: BlkWriter::finish
    pub fn create(dir: &Path, chain: Chain, max_file_bytes: u64) -> std::io::Result<BlkWriter> {
        std::fs::create_dir_all(dir)?;
        let out = BufWriter::with_capacity(1 << 20, File::create(temp_path(&blk_path(dir, 0)))?);
        Ok(BlkWriter {
            dir: dir.to_path_buf(),
            magic: chain.disk_magic(),
            max_file_bytes,
            file_no: 0,
            written: 0,
            out,
        })
    }

    /// Append one block as a frame; returns the block's serialized size.
    pub fn write_block(&mut self, block: &Block) -> std::io::Result<u64> {
        let mut bytes = Vec::with_capacity(1024);
        block.consensus_encode(&mut bytes)?;
        self.write_raw(&bytes)?;
        Ok(bytes.len() as u64)
    }

    /// Append one already serialized block as a frame.
    pub fn write_raw(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        let frame = 8 + bytes.len() as u64;
        if self.written > 0 && self.written + frame > self.max_file_bytes {
            self.close_file()?;
            self.file_no += 1;
            let path = temp_path(&blk_path(&self.dir, self.file_no));
            self.out = BufWriter::with_capacity(1 << 20, File::create(path)?);
            self.written = 0;
        }
        self.out.write_all(&self.magic)?;
        self.out.write_all(&(bytes.len() as u32).to_le_bytes())?;
        self.out.write_all(bytes)?;
        self.written += frame;
        Ok(())
    }

    /// Flush, sync and rename the current file to its final name.
    fn close_file(&mut self) -> std::io::Result<()> {
        self.out.flush()?;
        self.out.get_ref().sync_all()?;
        let path = blk_path(&self.dir, self.file_no);
        std::fs::rename(temp_path(&path), &path)
    }

    /// Flush and close the current file.
    pub fn finish(mut self) -> std::io::Result<()> {
        self.close_file()
    }
}

/// `DIR/blkNNNNN.dat`.
fn blk_path(dir: &Path, file_no: u32) -> PathBuf {
    dir.join(format!("blk{file_no:05}.dat"))
}

/// A coinbase transaction for `height` (BIP34 height push) paying `outputs`; with witness
/// transactions in the block the caller adds the commitment via [`finish_block`].
pub fn coinbase(height: u32, outputs: Vec<TxOut>) -> Transaction {
    let mut script_sig = ScriptBuf::builder().push_int(height as i64);
    // Coinbase scriptSigs must be at least 2 bytes.
    script_sig = script_sig.push_slice(b"fundtrace");
    Transaction {
        version: Version::TWO,
        lock_time: LockTime::ZERO,
        input: vec![TxIn {
            previous_output: OutPoint::null(),
            script_sig: script_sig.into_script(),
            sequence: Sequence::MAX,
            witness: Witness::new(),
        }],
        output: outputs,
    }
}

/// Assemble a block on `prev`: adds the witness commitment when any transaction has a witness,
/// computes the merkle root and mines the nonce to the regtest target with sha256d (Bitcoin's
/// proof of work; [`assemble_block`] mines for any chain).
pub fn finish_block(prev: BlockHash, time: u32, txdata: Vec<Transaction>) -> Block {
    let txids: Vec<Txid> = txdata.iter().skip(1).map(|tx| tx.compute_txid()).collect();
    assemble_block(Chain::BitcoinRegtest, prev, time, txdata, &txids)
}

/// [`finish_block`] for callers that already know the txids of `txdata[1..]`: wtxids are hashed
/// in parallel (rayon) and no txid is hashed twice.
pub fn assemble_block(
    chain: Chain,
    prev: BlockHash,
    time: u32,
    mut txdata: Vec<Transaction>,
    txids: &[Txid],
) -> Block {
    use rayon::prelude::*;
    debug_assert_eq!(txids.len() + 1, txdata.len());
    let segwit = txdata
        .iter()
        .skip(1)
        .any(|tx| tx.input.iter().any(|i| !i.witness.is_empty()));
    if segwit {
        let reserved = [0u8; 32];
        txdata[0].input[0].witness = Witness::from_slice(&[reserved]);
        let mut wtxids: Vec<Wtxid> = Vec::with_capacity(txdata.len());
        wtxids.push(Wtxid::all_zeros()); // the coinbase's wtxid counts as zero
        wtxids.par_extend(txdata[1..].par_iter().map(|tx| tx.compute_wtxid()));
        let root =
            bitcoin::merkle_tree::calculate_root(wtxids.into_iter().map(|w| w.to_raw_hash()))
                .expect("a block has a coinbase");
        let root = bitcoin::WitnessMerkleNode::from_raw_hash(root);
        let commitment = Block::compute_witness_commitment(&root, &reserved);
        let mut script = vec![0x6a, 0x24, 0xaa, 0x21, 0xa9, 0xed];
        script.extend_from_slice(commitment.as_byte_array());
        txdata[0].output.push(TxOut {
            value: Amount::ZERO,
            script_pubkey: ScriptBuf::from_bytes(script),
        });
    }
    let cb_txid = txdata[0].compute_txid();
    let root = bitcoin::merkle_tree::calculate_root(
        std::iter::once(cb_txid)
            .chain(txids.iter().copied())
            .map(|t| t.to_raw_hash()),
    )
    .expect("a block has a coinbase");
    let mut block = Block {
        header: header(prev, time, TxMerkleNode::from_raw_hash(root)),
        txdata,
    };
    let target = block.header.target();
    while !target.is_met_by(pow_hash(chain, &block.header)) {
        block.header.nonce += 1;
    }
    block
}

/// The hash whose value proves a header's work, as the generator mines it: scrypt on Litecoin
/// (so `litecoind` accepts the blocks), sha256d elsewhere. MonaCoin's Lyra2REv2 is not implemented: its generated blocks
/// carry sha256d work, which fundtrace does not check on that chain.
pub fn pow_hash(chain: Chain, header: &Header) -> BlockHash {
    match chain {
        Chain::Litecoin | Chain::LitecoinRegtest => {
            let bytes: [u8; 80] = bitcoin::consensus::encode::serialize(header)
                .try_into()
                .expect("an 80-byte header");
            BlockHash::from_byte_array(crate::chain::scrypt::litecoin_pow_hash(&bytes))
        }
        _ => header.block_hash(),
    }
}

fn header(prev: BlockHash, time: u32, merkle_root: TxMerkleNode) -> Header {
    Header {
        version: BlockVersion::from_consensus(0x2000_0000),
        prev_blockhash: prev,
        merkle_root,
        time,
        bits: CompactTarget::from_consensus(REGTEST_BITS),
        nonce: 0,
    }
}

/// A push of `len` deterministic filler bytes (stands in for a signature or public key).
pub fn filler_push(len: usize, seed: u64) -> PushBytesBuf {
    let mut bytes = vec![0u8; len];
    super::rng::Rng::new(seed).fill(&mut bytes);
    PushBytesBuf::try_from(bytes).expect("short push")
}
