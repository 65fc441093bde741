//! Chain parameters (network magic, address encodings, genesis) and script → address rendering.
//!
//! The store keys on scripts, so one engine serves every chain; a `Chain` only decides how blocks
//! are framed on disk and how a script is written as an address.
//!
//! Files: [`params`] (per-chain constants), `script.rs` (template matching: [`classify`],
//! [`is_unspendable`]), `address.rs` ([`Chain::script_to_address`]), `parse.rs`
//! ([`Chain::address_to_script`], [`AddressError`]), `base58.rs` (fast base58check for the
//! rendering hot path) and [`cashaddr`] (Bitcoin Cash's format).
//!
//! # Rendering
//!
//! [`Chain::script_to_address`] never fails and never panics:
//!
//! | script | string |
//! |---|---|
//! | P2PKH | base58check(P2PKH version ‖ hash160); Bitcoin Cash: CashAddr `bitcoincash:q…` |
//! | P2PK (33/65-byte key) | the P2PKH address of HASH160(key), as explorers show it |
//! | P2SH | base58check(P2SH version ‖ hash); Bitcoin Cash: CashAddr `bitcoincash:p…` |
//! | P2SH32 (`OP_HASH256 <32> OP_EQUAL`) | Bitcoin Cash: CashAddr type 1 with a 32-byte hash; elsewhere the `nonstandard:` form |
//! | witness v0 (20/32 bytes), v1–16 (2–40 bytes) | bech32 (v0) / bech32m (v1+), lowercase, with the chain's HRP; Bitcoin Cash: the `nonstandard:` form |
//! | starts with `OP_RETURN`, ≤ 83 bytes | `op_return:<lowercase hex of the whole script>` |
//! | starts with `OP_RETURN`, longer | `op_return_sha256:<lowercase hex SHA-256 of the script>` |
//! | bare multisig | `multisig:<lowercase hex SHA-256 of the script>` |
//! | anything else, including the empty script | `nonstandard:<lowercase hex SHA-256 of the script>` |
//!
//! The strings are deterministic, at most 176 characters, and distinct scripts give distinct
//! strings with one deliberate exception: P2PK and P2PKH of the same key render identically
//! (that is what an address *is*; parsing gives the P2PKH script back). The 83-byte cut-off for
//! inline `OP_RETURN` data is Bitcoin Core's long-standing default `-datacarriersize`: ordinary
//! data carriers stay readable, while the much larger ones consensus allows cannot bloat the
//! store. Template rules follow Bitcoin Core's `Solver`.
//!
//! # Parsing
//!
//! [`Chain::address_to_script`] accepts the chain's base58check P2PKH/P2SH (every accepted P2SH
//! version, e.g. Litecoin's and MonaCoin's legacy `3…`), bech32/bech32m segwit with the chain's
//! HRP, CashAddr on Bitcoin Cash (with or without prefix, types 0–3, P2SH32) plus legacy base58
//! there, and the invertible `op_return:<hex>` form. The digest forms cannot be inverted.

use std::fmt;
use std::str::FromStr;

use bitcoin::BlockHash;

mod address;
mod base58;
pub mod cashaddr;
pub mod params;
mod parse;
mod script;
pub mod scrypt;

pub use address::{
    push_hex, MAX_INLINE_OP_RETURN, MULTISIG_PREFIX, NONSTANDARD_PREFIX, OP_RETURN_PREFIX,
    OP_RETURN_SHA256_PREFIX,
};
pub use params::ChainParams;
pub use parse::{AddressError, OtherChains};
pub use script::{classify, is_unspendable, ScriptKind, MAX_SCRIPT_SIZE};

/// A Bitcoin-family chain that fundtrace can ingest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Chain {
    /// Bitcoin mainnet.
    Bitcoin,
    /// Bitcoin testnet3.
    BitcoinTestnet3,
    /// Bitcoin regtest.
    BitcoinRegtest,
    /// Litecoin mainnet.
    Litecoin,
    /// Litecoin regtest.
    LitecoinRegtest,
    /// MonaCoin mainnet.
    Monacoin,
    /// Bitcoin Cash mainnet.
    BitcoinCash,
}

impl Chain {
    /// Every supported chain, in a fixed order.
    pub const ALL: [Chain; 7] = [
        Chain::Bitcoin,
        Chain::BitcoinTestnet3,
        Chain::BitcoinRegtest,
        Chain::Litecoin,
        Chain::LitecoinRegtest,
        Chain::Monacoin,
        Chain::BitcoinCash,
    ];

    /// The chain's target time between blocks in seconds (Bitcoin and BCH 600, Litecoin 150,
    /// MonaCoin 90).
    pub fn block_spacing_secs(self) -> u32 {
        match self {
            Chain::Litecoin | Chain::LitecoinRegtest => 150,
            Chain::Monacoin => 90,
            _ => 600,
        }
    }

    /// The chain's command-line and manifest name (`bitcoin`, `bitcoin-testnet3`, …).
    pub fn name(self) -> &'static str {
        match self {
            Chain::Bitcoin => "bitcoin",
            Chain::BitcoinTestnet3 => "bitcoin-testnet3",
            Chain::BitcoinRegtest => "bitcoin-regtest",
            Chain::Litecoin => "litecoin",
            Chain::LitecoinRegtest => "litecoin-regtest",
            Chain::Monacoin => "monacoin",
            Chain::BitcoinCash => "bitcoin-cash",
        }
    }

    /// Short aliases also accepted by [`FromStr`] (ticker-style; never written out).
    fn aliases(self) -> &'static [&'static str] {
        match self {
            Chain::Bitcoin => &["btc"],
            Chain::BitcoinTestnet3 => &["btc-testnet3"],
            Chain::BitcoinRegtest => &["btc-regtest"],
            Chain::Litecoin => &["ltc"],
            Chain::LitecoinRegtest => &["ltc-regtest"],
            Chain::Monacoin => &["mona"],
            Chain::BitcoinCash => &["bch"],
        }
    }

    /// True when blocks may carry Litecoin's MimbleWimble extension block (MWEB).
    pub fn has_mweb(self) -> bool {
        matches!(self, Chain::Litecoin | Chain::LitecoinRegtest)
    }

    /// True when the chain's proof of work is the block hash (double SHA-256): Bitcoin and
    /// Bitcoin Cash. Litecoin uses scrypt and MonaCoin Lyra2REv2 over the header instead.
    pub fn pow_is_sha256d(self) -> bool {
        matches!(
            self,
            Chain::Bitcoin | Chain::BitcoinTestnet3 | Chain::BitcoinRegtest | Chain::BitcoinCash
        )
    }

    /// The magic bytes that start every block frame in this chain's `blk*.dat` files.
    ///
    /// This is the node's *disk* magic; for Bitcoin Cash it is Bitcoin's `f9beb4d9`, not the
    /// `e3e1f3e8` network magic (see [`ChainParams::disk_magic`]).
    pub fn disk_magic(self) -> [u8; 4] {
        self.params().disk_magic
    }

    /// Hash of the chain's genesis block, where prev-hash linking starts.
    pub fn genesis_hash(self) -> BlockHash {
        self.params().genesis_hash()
    }
}

impl fmt::Display for Chain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Error from parsing a [`Chain`] name; its message lists the valid names.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown chain '{given}'; valid chains are: {}", valid_names())]
pub struct ParseChainError {
    /// The name that was given.
    pub given: String,
}

/// `bitcoin, bitcoin-testnet3, …` for error messages.
fn valid_names() -> String {
    let names: Vec<&str> = Chain::ALL.iter().map(|c| c.name()).collect();
    names.join(", ")
}

impl FromStr for Chain {
    type Err = ParseChainError;

    /// Parse a chain name as written by [`Chain::name`], case-insensitively; the ticker-style
    /// aliases `btc`, `btc-testnet3`, `btc-regtest`, `ltc`, `ltc-regtest`, `mona` and `bch` are
    /// accepted too.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Chain::ALL
            .into_iter()
            .find(|c| {
                c.name().eq_ignore_ascii_case(s)
                    || c.aliases().iter().any(|a| a.eq_ignore_ascii_case(s))
            })
            .ok_or_else(|| ParseChainError {
                given: s.to_string(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_from_str_display_and_serde() {
        for chain in Chain::ALL {
            assert_eq!(chain.name().parse::<Chain>(), Ok(chain));
            assert_eq!(chain.to_string(), chain.name());
            assert_eq!(chain.name().to_uppercase().parse::<Chain>(), Ok(chain));
            let json = serde_json::to_string(&chain).unwrap();
            assert_eq!(json, format!("\"{}\"", chain.name()));
            assert_eq!(serde_json::from_str::<Chain>(&json).unwrap(), chain);
        }
    }

    #[test]
    fn aliases_parse() {
        assert_eq!("BTC".parse::<Chain>(), Ok(Chain::Bitcoin));
        assert_eq!("ltc".parse::<Chain>(), Ok(Chain::Litecoin));
        assert_eq!("mona".parse::<Chain>(), Ok(Chain::Monacoin));
        assert_eq!("bch".parse::<Chain>(), Ok(Chain::BitcoinCash));
        assert_eq!("ltc-regtest".parse::<Chain>(), Ok(Chain::LitecoinRegtest));
    }

    #[test]
    fn unknown_name_lists_valid_names() {
        let err = "dogecoin".parse::<Chain>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown chain 'dogecoin'; valid chains are: bitcoin, bitcoin-testnet3, \
             bitcoin-regtest, litecoin, litecoin-regtest, monacoin, bitcoin-cash"
        );
        assert!("".parse::<Chain>().is_err());
        assert!("bitcoin-testnet".parse::<Chain>().is_err());
    }
}
