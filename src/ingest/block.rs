//! The source-independent parsed block: what every ingest path (blk files, RPC) yields to the
//! store builder. Only what the transaction graph needs is kept (no signatures, no witnesses).

use bitcoin::consensus::Decodable;
use bitcoin::{BlockHash, Txid};

use crate::store::intern::script_hash;

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
    /// Transactions in block order.
    pub txs: Vec<ParsedTx>,
}

/// A transaction reduced to its graph edges.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedTx {
    /// The transaction id.
    pub txid: Txid,
    /// True when the transaction carries witness data.
    pub segwit: bool,
    /// Spent outpoints in input order; `None` for a coinbase input.
    pub inputs: Vec<Option<(Txid, u32)>>,
    /// Outputs in order.
    pub outputs: Vec<ParsedOutput>,
}

/// One output: value, script, and the script's interning hash (computed here, in parallel).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedOutput {
    /// Value in base units.
    pub value: u64,
    /// The output script.
    pub script: Vec<u8>,
    /// [`crate::store::intern::script_hash`] of the script.
    pub script_hash: u64,
}

impl ParsedTx {
    /// True for a coinbase transaction (its only input spends nothing).
    pub fn is_coinbase(&self) -> bool {
        self.inputs.len() == 1 && self.inputs[0].is_none()
    }
}

/// Why a block's bytes could not be turned into a [`ParsedBlock`].
#[derive(Debug, thiserror::Error)]
pub enum BlockParseError {
    /// The bytes are not a consensus-valid block serialization.
    #[error("cannot decode block: {0}")]
    Decode(#[from] bitcoin::consensus::encode::Error),
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
    /// A block without transactions (not valid on any chain).
    #[error("block {0} has no transactions")]
    Empty(BlockHash),
}

/// Decode one serialized block, compute its txids and check its merkle root.
pub fn parse_block(bytes: &[u8]) -> Result<ParsedBlock, BlockParseError> {
    let mut cursor = bytes;
    let block = bitcoin::Block::consensus_decode_from_finite_reader(&mut cursor)?;
    if !cursor.is_empty() {
        return Err(BlockParseError::TrailingBytes(cursor.len()));
    }
    let hash = block.block_hash();
    if block.txdata.is_empty() {
        return Err(BlockParseError::Empty(hash));
    }
    let txids: Vec<Txid> = block.txdata.iter().map(|tx| tx.compute_txid()).collect();
    let computed = bitcoin::merkle_tree::calculate_root(txids.iter().map(|t| t.to_raw_hash()))
        .map(bitcoin::TxMerkleNode::from_raw_hash);
    if computed != Some(block.header.merkle_root) {
        return Err(BlockParseError::MerkleMismatch {
            hash,
            header: block.header.merkle_root.to_string(),
            computed: computed.map(|c| c.to_string()).unwrap_or_default(),
        });
    }
    let txs = block
        .txdata
        .into_iter()
        .zip(txids)
        .map(|(tx, txid)| {
            let coinbase = tx.is_coinbase();
            ParsedTx {
                txid,
                segwit: tx.input.iter().any(|i| !i.witness.is_empty()),
                inputs: tx
                    .input
                    .iter()
                    .map(|i| {
                        (!coinbase).then_some((i.previous_output.txid, i.previous_output.vout))
                    })
                    .collect(),
                outputs: tx
                    .output
                    .into_iter()
                    .map(|o| {
                        let script = o.script_pubkey.into_bytes();
                        ParsedOutput {
                            value: o.value.to_sat(),
                            script_hash: script_hash(&script),
                            script,
                        }
                    })
                    .collect(),
            }
        })
        .collect();
    Ok(ParsedBlock {
        hash,
        prev_hash: block.header.prev_blockhash,
        time: block.header.time,
        size: bytes.len() as u32,
        txs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use bitcoin::consensus::serialize;

    #[test]
    fn genesis_block_parses_with_its_published_txid() {
        let genesis = bitcoin::blockdata::constants::genesis_block(bitcoin::Network::Bitcoin);
        let parsed = parse_block(&serialize(&genesis)).unwrap();
        assert_eq!(
            parsed.hash.to_string(),
            "000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f"
        );
        assert_eq!(parsed.txs.len(), 1);
        assert!(parsed.txs[0].is_coinbase());
        assert_eq!(
            parsed.txs[0].txid.to_string(),
            "4a5e1e4baab89f3a32518a88c31bc87f618f76673e2cc77ab2127b7afdeda33b"
        );
        assert_eq!(parsed.txs[0].outputs[0].value, 50 * 100_000_000);
    }

    #[test]
    fn tampered_transaction_fails_the_merkle_check() {
        let mut genesis = bitcoin::blockdata::constants::genesis_block(bitcoin::Network::Bitcoin);
        genesis.txdata[0].output[0].value = bitcoin::Amount::from_sat(1);
        let err = parse_block(&serialize(&genesis)).unwrap_err();
        assert!(
            matches!(err, BlockParseError::MerkleMismatch { .. }),
            "{err}"
        );
    }

    #[test]
    fn trailing_bytes_are_an_error() {
        let genesis = bitcoin::blockdata::constants::genesis_block(bitcoin::Network::Bitcoin);
        let mut bytes = serialize(&genesis);
        bytes.push(0);
        assert!(matches!(
            parse_block(&bytes),
            Err(BlockParseError::TrailingBytes(1))
        ));
    }
}
