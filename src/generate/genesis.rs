//! The genesis block of every supported chain, built from the arguments of each project's
//! `CreateGenesisBlock()` (coinbase message, output key, time, nonce, bits), so generated chains
//! start where a real node of that chain starts. Tests check each hash against the published one.

use bitcoin::absolute::LockTime;
use bitcoin::block::{Header, Version as BlockVersion};
use bitcoin::hashes::Hash;
use bitcoin::transaction::Version;
use bitcoin::{
    Amount, Block, BlockHash, CompactTarget, OutPoint, ScriptBuf, Sequence, Transaction, TxIn,
    TxMerkleNode, TxOut, Witness,
};

use crate::chain::Chain;

/// The output key of Litecoin's and MonaCoin's genesis coinbase (uncompressed, 65 bytes).
const LITECOIN_GENESIS_KEY: &str = "040184710fa689ad5023690c80f3a49c8f13f8d45b8c857fbcbc8bc4a8e4d3eb4b10f4d4604fa08dce601aaf0f470216fe1b51850b4acf21b179c45070ac7b03a9";
/// Litecoin's genesis message (64 bytes of UTF-8, with a typographic apostrophe).
const LITECOIN_MESSAGE: &str =
    "NY Times 05/Oct/2011 Steve Jobs, Apple\u{2019}s Visionary, Dies at 56";
/// MonaCoin's genesis message.
const MONACOIN_MESSAGE: &str =
    "Dec. 31th 2013 Japan, The winning numbers of the 2013 Year-End Jumbo Lottery:23-130916";

/// The genesis block of `chain`.
pub fn genesis_block(chain: Chain) -> Block {
    use bitcoin::blockdata::constants::genesis_block as bitcoin_genesis;
    use bitcoin::Network;
    match chain {
        Chain::Bitcoin | Chain::BitcoinCash => bitcoin_genesis(Network::Bitcoin),
        Chain::BitcoinTestnet3 => bitcoin_genesis(Network::Testnet),
        Chain::BitcoinRegtest => bitcoin_genesis(Network::Regtest),
        Chain::Litecoin => {
            litecoin_family(LITECOIN_MESSAGE, 1_317_972_665, 2_084_524_493, 0x1e0f_fff0)
        }
        Chain::LitecoinRegtest => litecoin_family(LITECOIN_MESSAGE, 1_296_688_602, 0, 0x207f_ffff),
        Chain::Monacoin => litecoin_family(MONACOIN_MESSAGE, 1_388_479_472, 1_234_534, 0x1e0f_fff0),
    }
}

/// A genesis block as Litecoin's `CreateGenesisBlock` makes it: one coinbase of 50 coins paying
/// the fixed key, scriptSig `486604799 4 <message>`, block version 1.
fn litecoin_family(message: &str, time: u32, nonce: u32, bits: u32) -> Block {
    let push = bitcoin::script::PushBytesBuf::try_from(message.as_bytes().to_vec())
        .expect("a short message");
    let script_sig = ScriptBuf::builder()
        .push_int(486_604_799)
        .push_slice([4u8]) // CScriptNum(4), pushed as one byte
        .push_slice(push)
        .into_script();
    let key = hex_bytes(LITECOIN_GENESIS_KEY);
    let mut script_pubkey = vec![key.len() as u8];
    script_pubkey.extend_from_slice(&key);
    script_pubkey.push(0xac); // OP_CHECKSIG
    let coinbase = Transaction {
        version: Version::ONE,
        lock_time: LockTime::ZERO,
        input: vec![TxIn {
            previous_output: OutPoint::null(),
            script_sig,
            sequence: Sequence::MAX,
            witness: Witness::new(),
        }],
        output: vec![TxOut {
            value: Amount::from_sat(50 * 100_000_000),
            script_pubkey: ScriptBuf::from_bytes(script_pubkey),
        }],
    };
    let merkle_root = TxMerkleNode::from_byte_array(coinbase.compute_txid().to_byte_array());
    Block {
        header: Header {
            version: BlockVersion::ONE,
            prev_blockhash: BlockHash::all_zeros(),
            merkle_root,
            time,
            bits: CompactTarget::from_consensus(bits),
            nonce,
        },
        txdata: vec![coinbase],
    }
}

fn hex_bytes(hex: &str) -> Vec<u8> {
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex literal"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_chain_genesis_hashes_to_its_published_hash() {
        for chain in Chain::ALL {
            let block = genesis_block(chain);
            assert_eq!(block.block_hash(), chain.genesis_hash(), "{}", chain.name());
            assert!(block.check_merkle_root(), "{}", chain.name());
        }
    }

    #[test]
    fn monacoin_genesis_coinbase_is_the_published_one() {
        // scriptSig and txid as listed by MonaCoin explorers (block ff9f1c01…, tx 35e405a8…).
        let block = genesis_block(Chain::Monacoin);
        let script_sig = block.txdata[0].input[0].script_sig.as_bytes();
        assert_eq!(
            &script_sig[..8],
            &[0x04, 0xff, 0xff, 0x00, 0x1d, 0x01, 0x04, 0x4c]
        );
        assert_eq!(
            block.txdata[0].compute_txid().to_string(),
            "35e405a8a46f4dbc1941727aaf338939323c3b955232d0317f8731fe07ac4ba6"
        );
    }
}
