//! Deterministic keys, output scripts and spending inputs of realistic size for the generator.
//!
//! No private keys exist: a "key" is a number from which a 20-byte hash (or 32-byte x-only
//! key) is derived, and inputs carry filler signatures of the real sizes. fundtrace checks
//! structure, txids and merkle roots, not signatures.

use bitcoin::hashes::{sha256, Hash};
use bitcoin::{OutPoint, ScriptBuf, Sequence, TxIn, Witness};

use super::blocks::filler_push;
use super::rng::Rng;

/// Script types the generator pays to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScriptType {
    /// Pay to public key hash.
    P2pkh,
    /// P2WPKH nested in P2SH.
    P2shP2wpkh,
    /// Native segwit v0 key hash.
    P2wpkh,
    /// Taproot key path.
    P2tr,
}

impl ScriptType {
    /// A type drawn with roughly the shares seen on mainnet around 2023: 25% P2PKH, 15%
    /// P2SH-P2WPKH, 45% P2WPKH, 15% P2TR.
    pub fn draw(rng: &mut Rng) -> ScriptType {
        match rng.below(100) {
            0..=24 => ScriptType::P2pkh,
            25..=39 => ScriptType::P2shP2wpkh,
            40..=84 => ScriptType::P2wpkh,
            _ => ScriptType::P2tr,
        }
    }
}

/// A deterministic key: the script type and the number its hashes derive from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Key {
    /// The script type of outputs paying this key.
    pub kind: ScriptType,
    /// The number the hash derives from (unique per key in a world).
    pub id: u64,
}

impl Key {
    fn digest(self) -> [u8; 32] {
        let mut data = [0u8; 9];
        data[..8].copy_from_slice(&self.id.to_le_bytes());
        data[8] = self.kind as u8;
        sha256::Hash::hash(&data).to_byte_array()
    }

    /// The output script paying this key.
    pub fn script(self) -> ScriptBuf {
        let d = self.digest();
        let mut s = Vec::with_capacity(34);
        match self.kind {
            ScriptType::P2pkh => {
                s.extend_from_slice(&[0x76, 0xa9, 0x14]);
                s.extend_from_slice(&d[..20]);
                s.extend_from_slice(&[0x88, 0xac]);
            }
            ScriptType::P2shP2wpkh => {
                s.extend_from_slice(&[0xa9, 0x14]);
                s.extend_from_slice(&d[..20]);
                s.push(0x87);
            }
            ScriptType::P2wpkh => {
                s.extend_from_slice(&[0x00, 0x14]);
                s.extend_from_slice(&d[..20]);
            }
            ScriptType::P2tr => {
                s.extend_from_slice(&[0x51, 0x20]);
                s.extend_from_slice(&d);
            }
        }
        ScriptBuf::from_bytes(s)
    }

    /// An input spending `outpoint` (paid to this key) with filler signature data of real size.
    pub fn spend(self, outpoint: OutPoint) -> TxIn {
        let seed = self.id
            ^ ((outpoint.vout as u64) << 48)
            ^ u64::from_le_bytes(outpoint.txid[..8].try_into().expect("8"));
        let sig = filler_push(72, seed).as_bytes().to_vec();
        let pubkey = {
            let mut k = filler_push(33, seed ^ 1).as_bytes().to_vec();
            k[0] = 0x02;
            k
        };
        let (script_sig, witness) = match self.kind {
            ScriptType::P2pkh => (
                ScriptBuf::builder()
                    .push_slice(filler_push(72, seed))
                    .push_slice(bitcoin::script::PushBytesBuf::try_from(pubkey).expect("33 bytes"))
                    .into_script(),
                Witness::new(),
            ),
            ScriptType::P2shP2wpkh => {
                let d = self.digest();
                let mut redeem = vec![0x00, 0x14];
                redeem.extend_from_slice(&d[..20]);
                let push = bitcoin::script::PushBytesBuf::try_from(redeem).expect("22 bytes");
                (
                    ScriptBuf::builder().push_slice(push).into_script(),
                    Witness::from_slice(&[sig, pubkey]),
                )
            }
            ScriptType::P2wpkh => (ScriptBuf::new(), Witness::from_slice(&[sig, pubkey])),
            ScriptType::P2tr => (
                ScriptBuf::new(),
                Witness::from_slice(&[filler_push(64, seed).as_bytes()]),
            ),
        };
        TxIn {
            previous_output: outpoint,
            script_sig,
            sequence: Sequence::ENABLE_RBF_NO_LOCKTIME,
            witness,
        }
    }

    /// Virtual size in bytes that an input of this type adds (for fee estimates).
    pub fn input_vbytes(self) -> u64 {
        match self.kind {
            ScriptType::P2pkh => 148,
            ScriptType::P2shP2wpkh => 91,
            ScriptType::P2wpkh => 68,
            ScriptType::P2tr => 58,
        }
    }
}
