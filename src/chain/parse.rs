//! Address string → output script, for validating label and case files.
//!
//! Accepted per chain: base58check P2PKH / P2SH (with every accepted P2SH version, e.g.
//! Litecoin's legacy `3…`), bech32/bech32m segwit with the chain's HRP (either all-lowercase or
//! all-uppercase), CashAddr on Bitcoin Cash (with or without the `bitcoincash:` prefix, either
//! case; types 0–3, i.e. including the token-aware `z…`/`r…` forms, and 32-byte P2SH32), legacy
//! base58 on Bitcoin Cash, and the invertible non-address form `op_return:<hex>`. The input must
//! not carry surrounding whitespace.
//!
//! The chain is always explicit because one string can mean different scripts on different
//! chains: MonaCoin's P2PKH version byte (50) is Litecoin's P2SH version byte, so an `M…` string
//! is a pubkey hash on one and a script hash on the other.

use std::fmt;

use bitcoin::bech32::segwit;

use super::address::{
    MAX_INLINE_OP_RETURN, MULTISIG_PREFIX, NONSTANDARD_PREFIX, OP_RETURN_PREFIX,
    OP_RETURN_SHA256_PREFIX,
};
use super::cashaddr;
use super::script::OP_RETURN;
use super::Chain;

/// Longest input echoed back in an error message, in characters.
const MAX_SHOWN: usize = 100;

/// Why a string is not an address of the requested chain. The message names the chain, says
/// what is wrong and, when the string is valid on other supported chains, names them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddressError {
    /// A valid segwit address with another chain's human-readable part.
    #[error(
        "address '{addr}' is not a {chain} address (HRP '{found}', expected '{expected}'){also}"
    )]
    WrongHrp {
        /// The input (shortened if very long).
        addr: String,
        /// The chain it was parsed for.
        chain: Chain,
        /// The HRP found, lowercase.
        found: String,
        /// The chain's HRP.
        expected: &'static str,
        /// Other chains on which the string is valid.
        also: OtherChains,
    },
    /// A valid segwit address, but the chain has no segwit (Bitcoin Cash).
    #[error("address '{addr}' is a segwit address, but {chain} has no segwit addresses{also}")]
    NoSegwit {
        /// The input (shortened if very long).
        addr: String,
        /// The chain it was parsed for.
        chain: Chain,
        /// Other chains on which the string is valid.
        also: OtherChains,
    },
    /// Has the chain's segwit HRP but is not a valid segwit address.
    #[error("address '{addr}' is not a valid {chain} segwit address: {reason}")]
    InvalidSegwit {
        /// The input (shortened if very long).
        addr: String,
        /// The chain it was parsed for.
        chain: Chain,
        /// What the bech32 decoder objected to.
        reason: String,
    },
    /// A valid base58check string whose version byte is not one of the chain's.
    #[error("address '{addr}' is not a {chain} address (base58 version {found}, expected {expected}){also}")]
    WrongVersion {
        /// The input (shortened if very long).
        addr: String,
        /// The chain it was parsed for.
        chain: Chain,
        /// The version byte found.
        found: u8,
        /// The chain's version bytes, described.
        expected: String,
        /// Other chains on which the string is valid.
        also: OtherChains,
    },
    /// Looks like base58 but fails the checksum or has the wrong length.
    #[error("address '{addr}' is not a valid {chain} base58check address: {reason}")]
    InvalidBase58 {
        /// The input (shortened if very long).
        addr: String,
        /// The chain it was parsed for.
        chain: Chain,
        /// What is wrong.
        reason: String,
    },
    /// A valid CashAddr address with another prefix (e.g. `bchtest:`).
    #[error("address '{addr}' is not a {chain} address (CashAddr prefix '{found}', expected '{expected}'){also}")]
    WrongCashAddrPrefix {
        /// The input (shortened if very long).
        addr: String,
        /// The chain it was parsed for.
        chain: Chain,
        /// The prefix found, lowercase.
        found: String,
        /// The chain's prefix.
        expected: &'static str,
        /// Other chains on which the string is valid.
        also: OtherChains,
    },
    /// Contains a `:` like a CashAddr address, but the chain has no CashAddr.
    #[error("address '{addr}' looks like a CashAddr address, but {chain} has no CashAddr addresses{also}")]
    NoCashAddr {
        /// The input (shortened if very long).
        addr: String,
        /// The chain it was parsed for.
        chain: Chain,
        /// Other chains on which the string is valid.
        also: OtherChains,
    },
    /// Looks like CashAddr but is not a valid one.
    #[error("address '{addr}' is not a valid {chain} CashAddr address: {reason}")]
    InvalidCashAddr {
        /// The input (shortened if very long).
        addr: String,
        /// The chain it was parsed for.
        chain: Chain,
        /// What is wrong.
        reason: String,
    },
    /// One of the digest forms (`nonstandard:`, `multisig:`, `op_return_sha256:`), which name a
    /// script by its SHA-256 and cannot be inverted.
    #[error("'{addr}' names a script only by its SHA-256 ({form} form), so it cannot be turned back into a script")]
    DigestForm {
        /// The input (shortened if very long).
        addr: String,
        /// Which form (`"nonstandard"`, `"multisig"` or `"op_return_sha256"`).
        form: &'static str,
    },
    /// Starts with `op_return:` but is not the hex of an `OP_RETURN` script of at most
    /// [`MAX_INLINE_OP_RETURN`] bytes.
    #[error("'{addr}' is not a valid op_return form: {reason}")]
    InvalidOpReturn {
        /// The input (shortened if very long).
        addr: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// Not recognisable as any address format of the chain.
    #[error("'{addr}' is not a {chain} address: it is not valid as {formats}{also}")]
    Unrecognised {
        /// The input (shortened if very long).
        addr: String,
        /// The chain it was parsed for.
        chain: Chain,
        /// The formats the chain accepts, described.
        formats: &'static str,
        /// Other chains on which the string is valid.
        also: OtherChains,
    },
}

/// The other supported chains on which an address is valid; displayed as
/// `"; it is a valid litecoin address"` (or nothing when empty).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OtherChains(pub Vec<Chain>);

impl fmt::Display for OtherChains {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Some((last, rest)) = self.0.split_last() else {
            return Ok(());
        };
        f.write_str("; it is a valid ")?;
        for (i, chain) in rest.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            f.write_str(chain.name())?;
        }
        if !rest.is_empty() {
            f.write_str(" or ")?;
        }
        write!(f, "{} address", last.name())
    }
}

impl Chain {
    /// Parse one of this chain's address forms back into the output script it pays to (see
    /// the [`chain` module docs](super) for the accepted forms). Never panics.
    pub fn address_to_script(self, addr: &str) -> Result<Vec<u8>, AddressError> {
        let mut result = parse(self, addr);
        if let Err(
            AddressError::WrongHrp { also, .. }
            | AddressError::NoSegwit { also, .. }
            | AddressError::WrongVersion { also, .. }
            | AddressError::WrongCashAddrPrefix { also, .. }
            | AddressError::NoCashAddr { also, .. }
            | AddressError::Unrecognised { also, .. },
        ) = &mut result
        {
            also.0 = Chain::ALL
                .into_iter()
                .filter(|&other| other != self && parse(other, addr).is_ok())
                .collect();
        }
        result
    }
}

/// The input as shown in messages: at most [`MAX_SHOWN`] characters.
fn shown(addr: &str) -> String {
    match addr.char_indices().nth(MAX_SHOWN) {
        Some((cut, _)) => format!("{}…", &addr[..cut]),
        None => addr.to_string(),
    }
}

/// [`Chain::address_to_script`] without the other-chains hint.
fn parse(chain: Chain, addr: &str) -> Result<Vec<u8>, AddressError> {
    let p = chain.params();

    if let Some(hex) = addr.strip_prefix(OP_RETURN_PREFIX) {
        return parse_op_return(addr, hex);
    }
    for (prefix, form) in [
        (OP_RETURN_SHA256_PREFIX, "op_return_sha256"),
        (MULTISIG_PREFIX, "multisig"),
        (NONSTANDARD_PREFIX, "nonstandard"),
    ] {
        if addr.starts_with(prefix) {
            return Err(AddressError::DigestForm {
                addr: shown(addr),
                form,
            });
        }
    }

    // CashAddr: anything with a ':' (the prefix-less form is tried after segwit, below).
    if addr.contains(':') {
        return match p.cashaddr_prefix {
            Some(prefix) => parse_cashaddr(chain, addr, prefix),
            None => Err(AddressError::NoCashAddr {
                addr: shown(addr),
                chain,
                also: OtherChains::default(),
            }),
        };
    }
    match segwit::decode(addr) {
        Ok((hrp, version, program)) => {
            let Some(expected) = p.bech32_hrp else {
                return Err(AddressError::NoSegwit {
                    addr: shown(addr),
                    chain,
                    also: OtherChains::default(),
                });
            };
            if !hrp.as_str().eq_ignore_ascii_case(expected) {
                return Err(AddressError::WrongHrp {
                    addr: shown(addr),
                    chain,
                    found: hrp.to_lowercase(),
                    expected,
                    also: OtherChains::default(),
                });
            }
            // The decoder guarantees version <= 16 and a 2..=40-byte program.
            let version = version.to_u8();
            let mut script = Vec::with_capacity(2 + program.len());
            script.push(if version == 0 { 0 } else { 0x50 + version });
            script.push(program.len() as u8);
            script.extend_from_slice(&program);
            return Ok(script);
        }
        Err(e) => {
            if let Some(hrp) = p.bech32_hrp {
                let looks_ours = addr
                    .get(..hrp.len() + 1)
                    .is_some_and(|head| head.eq_ignore_ascii_case(&format!("{hrp}1")));
                if looks_ours {
                    return Err(AddressError::InvalidSegwit {
                        addr: shown(addr),
                        chain,
                        reason: e.to_string(),
                    });
                }
            }
        }
    }

    // Prefix-less CashAddr on Bitcoin Cash: only its alphabet (which has no '1', so no segwit
    // string gets here), and at least 42 symbols — longer than any base58 address (≤ 35).
    if let Some(prefix) = p.cashaddr_prefix {
        if addr.len() >= 42
            && addr
                .bytes()
                .all(|b| cashaddr::is_charset(b.to_ascii_lowercase()))
        {
            return parse_cashaddr(chain, addr, prefix);
        }
    }

    if (25..=35).contains(&addr.len()) && addr.bytes().all(is_base58_char) {
        return parse_base58(chain, addr);
    }

    Err(AddressError::Unrecognised {
        addr: shown(addr),
        chain,
        formats: match (p.bech32_hrp, p.cashaddr_prefix) {
            (Some(_), _) => "base58check or bech32 segwit",
            (None, Some(_)) => "CashAddr or legacy base58check",
            (None, None) => "base58check",
        },
        also: OtherChains::default(),
    })
}

/// The base58 alphabet (no `0`, `O`, `I`, `l`).
fn is_base58_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() && !matches!(b, b'0' | b'O' | b'I' | b'l')
}

/// Base58check P2PKH / P2SH.
fn parse_base58(chain: Chain, addr: &str) -> Result<Vec<u8>, AddressError> {
    let p = chain.params();
    let invalid = |reason: String| AddressError::InvalidBase58 {
        addr: shown(addr),
        chain,
        reason,
    };
    let data = bitcoin::base58::decode_check(addr).map_err(|e| invalid(e.to_string()))?;
    let Some((&version, hash)) = data.split_first().filter(|(_, hash)| hash.len() == 20) else {
        return Err(invalid(format!(
            "{} payload bytes, expected 21",
            data.len()
        )));
    };
    if version == p.p2pkh_version {
        return Ok(p2pkh_script(hash));
    }
    if p.p2sh_versions_accepted.contains(&version) {
        return Ok(p2sh_script(hash));
    }
    let p2sh: Vec<String> = p.p2sh_versions_accepted.iter().map(u8::to_string).collect();
    Err(AddressError::WrongVersion {
        addr: shown(addr),
        chain,
        found: version,
        expected: format!("{} (P2PKH) or {} (P2SH)", p.p2pkh_version, p2sh.join("/")),
        also: OtherChains::default(),
    })
}

/// CashAddr, checked against the chain's prefix.
fn parse_cashaddr(
    chain: Chain,
    addr: &str,
    expected: &'static str,
) -> Result<Vec<u8>, AddressError> {
    let invalid = |reason: String| AddressError::InvalidCashAddr {
        addr: shown(addr),
        chain,
        reason,
    };
    let decoded = cashaddr::decode(addr, expected).map_err(|e| invalid(e.to_string()))?;
    if decoded.prefix != expected {
        return Err(AddressError::WrongCashAddrPrefix {
            addr: shown(addr),
            chain,
            found: decoded.prefix,
            expected,
            also: OtherChains::default(),
        });
    }
    let hash = &decoded.hash[..];
    match (decoded.kind, hash.len()) {
        (cashaddr::TYPE_P2PKH | cashaddr::TYPE_TOKEN_P2PKH, 20) => Ok(p2pkh_script(hash)),
        (cashaddr::TYPE_P2SH | cashaddr::TYPE_TOKEN_P2SH, 20) => Ok(p2sh_script(hash)),
        (cashaddr::TYPE_P2SH | cashaddr::TYPE_TOKEN_P2SH, 32) => {
            let mut script = Vec::with_capacity(35);
            script.extend_from_slice(&[0xaa, 32]);
            script.extend_from_slice(hash);
            script.push(0x87);
            Ok(script)
        }
        (kind, len) => Err(invalid(format!(
            "unsupported type {kind} with a {len}-byte hash"
        ))),
    }
}

/// The inline `op_return:<hex>` form.
fn parse_op_return(addr: &str, hex: &str) -> Result<Vec<u8>, AddressError> {
    let invalid = |reason| AddressError::InvalidOpReturn {
        addr: shown(addr),
        reason,
    };
    let script = bitcoin::hex::FromHex::from_hex(hex).map_err(|_| invalid("not hex"))?;
    let script: Vec<u8> = script;
    if script.first() != Some(&OP_RETURN) {
        return Err(invalid("the script does not start with OP_RETURN (6a)"));
    }
    if script.len() > MAX_INLINE_OP_RETURN {
        return Err(invalid(
            "scripts over 83 bytes are written as op_return_sha256:",
        ));
    }
    Ok(script)
}

/// `OP_DUP OP_HASH160 <hash> OP_EQUALVERIFY OP_CHECKSIG`.
fn p2pkh_script(hash: &[u8]) -> Vec<u8> {
    let mut script = Vec::with_capacity(25);
    script.extend_from_slice(&[0x76, 0xa9, 20]);
    script.extend_from_slice(hash);
    script.extend_from_slice(&[0x88, 0xac]);
    script
}

/// `OP_HASH160 <hash> OP_EQUAL`.
fn p2sh_script(hash: &[u8]) -> Vec<u8> {
    let mut script = Vec::with_capacity(23);
    script.extend_from_slice(&[0xa9, 20]);
    script.extend_from_slice(hash);
    script.push(0x87);
    script
}

#[cfg(test)]
mod tests {
    use bitcoin::hex::FromHex;

    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        Vec::from_hex(s).unwrap()
    }

    fn err(chain: Chain, addr: &str) -> String {
        chain.address_to_script(addr).unwrap_err().to_string()
    }

    #[test]
    fn wrong_chain_messages_name_both_chains() {
        assert_eq!(
            err(
                Chain::Bitcoin,
                "ltc1qw508d6qejxtdg4y5r3zarvary0c5xw7kgmn4n9"
            ),
            "address 'ltc1qw508d6qejxtdg4y5r3zarvary0c5xw7kgmn4n9' is not a bitcoin address \
             (HRP 'ltc', expected 'bc'); it is a valid litecoin address"
        );
        assert_eq!(
            err(Chain::Litecoin, "1FsSia9rv4NeEwvJ2GvXrX7LyxYspbN2mo"),
            "address '1FsSia9rv4NeEwvJ2GvXrX7LyxYspbN2mo' is not a litecoin address \
             (base58 version 0, expected 48 (P2PKH) or 50/5 (P2SH)); it is a valid bitcoin or \
             bitcoin-cash address"
        );
        assert_eq!(
            err(
                Chain::Bitcoin,
                "bitcoincash:qpm2qsznhks23z7629mms6s4cwef74vcwvy22gdx6a"
            ),
            "address 'bitcoincash:qpm2qsznhks23z7629mms6s4cwef74vcwvy22gdx6a' looks like a \
             CashAddr address, but bitcoin has no CashAddr addresses; it is a valid bitcoin-cash \
             address"
        );
        assert_eq!(
            err(
                Chain::BitcoinCash,
                "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"
            ),
            "address 'bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4' is a segwit address, but \
             bitcoin-cash has no segwit addresses; it is a valid bitcoin address"
        );
        assert_eq!(
            err(
                Chain::BitcoinCash,
                "bchtest:pr6m7j9njldwwzlg9v7v53unlr4jkmx6eyvwc0uz5t"
            ),
            "address 'bchtest:pr6m7j9njldwwzlg9v7v53unlr4jkmx6eyvwc0uz5t' is not a bitcoin-cash \
             address (CashAddr prefix 'bchtest', expected 'bitcoincash')"
        );
        // A testnet address is valid on the chains sharing its version bytes.
        assert_eq!(
            err(Chain::Bitcoin, "mzK2FFDEhxqHcmrJw1ysqFkVyhUULo45hZ"),
            "address 'mzK2FFDEhxqHcmrJw1ysqFkVyhUULo45hZ' is not a bitcoin address \
             (base58 version 111, expected 0 (P2PKH) or 5 (P2SH)); it is a valid \
             bitcoin-testnet3, bitcoin-regtest or litecoin-regtest address"
        );
    }

    #[test]
    fn legacy_p2sh_versions_are_accepted_but_not_rendered() {
        // Electrum-MONA: the same script hash with MonaCoin's old (5) and new (55) versions.
        let script = hex("a9146449f568c9cd2378138f2636e1567112a184a9e887");
        let legacy = "3AqJ6Tn8qS8LKMDfi41AhuZiY6JbR6mt6E";
        assert_eq!(Chain::Monacoin.address_to_script(legacy).unwrap(), script);
        assert_eq!(
            Chain::Monacoin.script_to_address(&script),
            "PHjTKtgYLTJ9D2Bzw2f6xBB41KBm2HeGfg"
        );
        // Litecoin: a Bitcoin-style 3… address names the same script as its M… form.
        let script = hex("a914373b819a068f32b7a6b38b6b38729647cfde01c287");
        let btc_style = "36j4NfKv6Akva9amjWrLG6MuSQym1GuEmm"; // Bitcoin Core key_io_valid.json
        assert_eq!(
            Chain::Litecoin.address_to_script(btc_style).unwrap(),
            script
        );
        assert!(Chain::Litecoin.script_to_address(&script).starts_with('M'));
        // Litecoin regtest: 196 (2…) accepted, 58 (Q…) rendered.
        let script = hex("a91436e9f191e0b75036a77f65e2eaa4752443233fbe87");
        assert_eq!(
            Chain::LitecoinRegtest
                .address_to_script("2MxFajLApXpYk4VodBSZSt7rw8y4ryABkfA")
                .unwrap(),
            script
        );
        assert!(Chain::LitecoinRegtest
            .script_to_address(&script)
            .starts_with('Q'));
    }

    #[test]
    fn same_string_different_script_on_litecoin_and_monacoin() {
        // Version 50 is MonaCoin's P2PKH and Litecoin's P2SH.
        let addr = "MBamfEqEFDy5dsLWwu48BCizM1zpCoKw3U";
        let mona = Chain::Monacoin.address_to_script(addr).unwrap();
        let ltc = Chain::Litecoin.address_to_script(addr).unwrap();
        assert_eq!(
            mona,
            hex("76a91428662c67561b95c79d2257d2a93d9d151c977e9188ac")
        );
        assert_eq!(ltc, hex("a91428662c67561b95c79d2257d2a93d9d151c977e9187"));
    }

    #[test]
    fn segwit_case_and_checksum_rules() {
        let upper = "BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4"; // BIP-173
        let script = hex("0014751e76e8199196d454941c45d1b3a323f1433bd6");
        assert_eq!(Chain::Bitcoin.address_to_script(upper).unwrap(), script);
        // BIP-350's invalid addresses with the "bc" HRP, plus a corrupted checksum and mixed case.
        for bad in [
            "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t5",
            "bC1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4",
            "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqh2y7hd",
            "BC1S0XLXVLHEMJA6C4DQV22UAPCTQUPFHLXM9H8Z3K2E72Q4K9HCZ7VQ54WELL",
            "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kemeawh",
            "bc1p38j9r5y49hruaue7wxjce0updqjuyyx0kh56v8s25huc6995vvpql3jow4",
            "BC130XLXVLHEMJA6C4DQV22UAPCTQUPFHLXM9H8Z3K2E72Q4K9HCZ7VQ7ZWS8R",
            "bc1pw5dgrnzv",
            "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7v8n0nx0muaewav253zgeav",
            "BC1QR508D6QEJXTDG4Y5R3ZARVARYV98GJ9P",
            "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7v07qwwzcrf",
            "bc1gmk9yu",
        ] {
            assert!(
                matches!(
                    Chain::Bitcoin.address_to_script(bad),
                    Err(AddressError::InvalidSegwit { .. })
                ),
                "{bad}: {:?}",
                Chain::Bitcoin.address_to_script(bad)
            );
        }
    }

    #[test]
    fn base58_errors() {
        assert!(matches!(
            Chain::Bitcoin.address_to_script("1FsSia9rv4NeEwvJ2GvXrX7LyxYspbN2mp"),
            Err(AddressError::InvalidBase58 { .. })
        ));
        assert!(matches!(
            Chain::Bitcoin.address_to_script("hello"),
            Err(AddressError::Unrecognised { .. })
        ));
        assert_eq!(
            err(Chain::Bitcoin, ""),
            "'' is not a bitcoin address: it is not valid as base58check or bech32 segwit"
        );
    }

    #[test]
    fn op_return_and_digest_forms() {
        assert_eq!(
            Chain::Bitcoin.address_to_script("op_return:6a").unwrap(),
            vec![0x6a]
        );
        assert_eq!(
            Chain::Litecoin
                .address_to_script("op_return:6A0101")
                .unwrap(),
            vec![0x6a, 1, 1]
        );
        for bad in ["op_return:", "op_return:6", "op_return:51", "op_return:zz"] {
            assert!(
                matches!(
                    Chain::Bitcoin.address_to_script(bad),
                    Err(AddressError::InvalidOpReturn { .. })
                ),
                "{bad}"
            );
        }
        let long = format!("op_return:6a{}", "00".repeat(MAX_INLINE_OP_RETURN));
        assert!(Chain::Bitcoin.address_to_script(&long).is_err());
        for (s, form) in [
            (
                "nonstandard:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
                "nonstandard",
            ),
            ("multisig:00", "multisig"),
            ("op_return_sha256:00", "op_return_sha256"),
        ] {
            assert_eq!(
                Chain::BitcoinCash.address_to_script(s),
                Err(AddressError::DigestForm {
                    addr: s.to_string(),
                    form
                })
            );
        }
    }

    #[test]
    fn long_inputs_are_shortened_in_messages() {
        let long = "x".repeat(10_000);
        let msg = err(Chain::Bitcoin, &long);
        assert!(msg.len() < 300, "{msg}");
        assert!(msg.contains('…'));
    }

    #[test]
    fn never_panics_on_odd_strings() {
        let long_cash = format!("bitcoincash:{}", "q".repeat(500));
        let odd = [
            "",
            " ",
            ":",
            "::",
            "1",
            "3",
            "bc1",
            "bc1q",
            "ltc1",
            "tb1",
            "bitcoincash:",
            "BITCOINCASH:",
            ":qpm2qsznhks23z7629mms6s4cwef74vcwvy22gdx6a",
            "ä",
            "ääääääääääääääääääääääääääääääääääääääääääää",
            "1ä",
            "bc1ä",
            "op_return:ä",
            "op_return:6aä",
            "nonstandard:",
            "\0",
            "11111111111111111111111111",
            "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz",
            &long_cash,
            "qpm2qsznhks23z7629mms6s4cwef74vcwvy22gdx6a ",
        ];
        for chain in Chain::ALL {
            for s in odd {
                let _ = chain.address_to_script(s);
            }
            for script in [&b""[..], b"\x00", b"\x6a\x01"] {
                let _ = chain.address_to_script(&chain.script_to_address(script));
            }
        }
    }
}
