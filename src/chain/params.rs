//! Per-chain constants: block-file magic, address encodings and genesis hash.
//!
//! Every value here was checked against the chain's own node source (`chainparams.cpp`) or a
//! published cross-reference; the comment on each constant says where. The tests at the bottom
//! re-derive what can be re-derived independently (rust-bitcoin's own Bitcoin constants, and the
//! genesis hashes from the genesis header fields in each `chainparams.cpp`).

use bitcoin::hashes::Hash;
use bitcoin::BlockHash;

use super::Chain;

/// The constants that distinguish one Bitcoin-family chain from another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChainParams {
    /// Magic bytes that start every block frame in the node's `blk*.dat` files.
    ///
    /// This is the node's *disk* magic. For every chain here it equals the network magic except
    /// Bitcoin Cash, where BCHN and Bitcoin ABC keep Bitcoin's `f9beb4d9` on disk (`diskMagic`)
    /// but speak `e3e1f3e8` on the wire (`netMagic`).
    pub disk_magic: [u8; 4],
    /// Magic bytes of the peer-to-peer protocol (informational; never used to read files).
    pub net_magic: [u8; 4],
    /// Base58check version byte of pay-to-pubkey-hash addresses.
    pub p2pkh_version: u8,
    /// Base58check version byte used when *rendering* pay-to-script-hash addresses.
    pub p2sh_version: u8,
    /// Every base58check version byte *accepted* for pay-to-script-hash when parsing, including
    /// [`p2sh_version`](Self::p2sh_version). Litecoin and MonaCoin still accept the
    /// Bitcoin-style version they used before switching to their own (`SCRIPT_ADDRESS` vs
    /// `SCRIPT_ADDRESS2` in their `chainparams.cpp`).
    pub p2sh_versions_accepted: &'static [u8],
    /// Human-readable part of bech32/bech32m segwit addresses, if the chain has segwit.
    pub bech32_hrp: Option<&'static str>,
    /// CashAddr prefix, if the chain renders addresses as CashAddr.
    pub cashaddr_prefix: Option<&'static str>,
    /// Genesis block hash in internal byte order (the reverse of the usual display hex).
    pub genesis_hash_bytes: [u8; 32],
}

impl ChainParams {
    /// The genesis block hash as a [`BlockHash`].
    pub fn genesis_hash(&self) -> BlockHash {
        BlockHash::from_byte_array(self.genesis_hash_bytes)
    }
}

/// Bitcoin mainnet (Bitcoin Core `CMainParams`).
pub const BITCOIN: ChainParams = ChainParams {
    disk_magic: [0xf9, 0xbe, 0xb4, 0xd9],
    net_magic: [0xf9, 0xbe, 0xb4, 0xd9],
    p2pkh_version: 0,
    p2sh_version: 5,
    p2sh_versions_accepted: &[5],
    bech32_hrp: Some("bc"),
    cashaddr_prefix: None,
    genesis_hash_bytes: display_hex_to_bytes(
        "000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f",
    ),
};

/// Bitcoin testnet3 (Bitcoin Core `CTestNetParams`).
pub const BITCOIN_TESTNET3: ChainParams = ChainParams {
    disk_magic: [0x0b, 0x11, 0x09, 0x07],
    net_magic: [0x0b, 0x11, 0x09, 0x07],
    p2pkh_version: 111,
    p2sh_version: 196,
    p2sh_versions_accepted: &[196],
    bech32_hrp: Some("tb"),
    cashaddr_prefix: None,
    genesis_hash_bytes: display_hex_to_bytes(
        "000000000933ea01ad0ee984209779baaec3ced90fa3f408719526f8d77f4943",
    ),
};

/// Bitcoin regtest (Bitcoin Core `CRegTestParams`).
pub const BITCOIN_REGTEST: ChainParams = ChainParams {
    disk_magic: [0xfa, 0xbf, 0xb5, 0xda],
    net_magic: [0xfa, 0xbf, 0xb5, 0xda],
    p2pkh_version: 111,
    p2sh_version: 196,
    p2sh_versions_accepted: &[196],
    bech32_hrp: Some("bcrt"),
    cashaddr_prefix: None,
    genesis_hash_bytes: display_hex_to_bytes(
        "0f9188f13cb7b2c71f2a335e3a4fc328bf5beb436012afca590b1a11466e2206",
    ),
};

/// Litecoin mainnet (litecoin-project/litecoin `CMainParams`: `pchMessageStart` fbc0b6db,
/// `PUBKEY_ADDRESS` 48 ('L'), `SCRIPT_ADDRESS` 5 (legacy '3'), `SCRIPT_ADDRESS2` 50 ('M'),
/// `bech32_hrp` "ltc").
pub const LITECOIN: ChainParams = ChainParams {
    disk_magic: [0xfb, 0xc0, 0xb6, 0xdb],
    net_magic: [0xfb, 0xc0, 0xb6, 0xdb],
    p2pkh_version: 48,
    p2sh_version: 50,
    p2sh_versions_accepted: &[50, 5],
    bech32_hrp: Some("ltc"),
    cashaddr_prefix: None,
    genesis_hash_bytes: display_hex_to_bytes(
        "12a765e31ffd4059bada1e25190f6e98c99d9714d334efa41a195a7e7e04bfe2",
    ),
};

/// Litecoin regtest (litecoin-project/litecoin `CRegTestParams`: `pchMessageStart` fabfb5da,
/// `PUBKEY_ADDRESS` 111, `SCRIPT_ADDRESS` 196 (legacy '2'), `SCRIPT_ADDRESS2` 58 ('Q'),
/// `bech32_hrp` "rltc").
pub const LITECOIN_REGTEST: ChainParams = ChainParams {
    disk_magic: [0xfa, 0xbf, 0xb5, 0xda],
    net_magic: [0xfa, 0xbf, 0xb5, 0xda],
    p2pkh_version: 111,
    p2sh_version: 58,
    p2sh_versions_accepted: &[58, 196],
    bech32_hrp: Some("rltc"),
    cashaddr_prefix: None,
    genesis_hash_bytes: display_hex_to_bytes(
        "530827f38f93b43ed12af0b3ad25a288dc02ed74d6d7857862df51fc56c416f9",
    ),
};

/// MonaCoin mainnet (monacoinproject/monacoin `CMainParams`: `pchMessageStart` fbc0b6db — the
/// same as Litecoin's — `PUBKEY_ADDRESS` 50 ('M'), `SCRIPT_ADDRESS` 5 (legacy '3'),
/// `SCRIPT_ADDRESS2` 55 ('P'), `bech32_hrp` "mona"; as also listed by pycoin and Electrum-MONA).
pub const MONACOIN: ChainParams = ChainParams {
    disk_magic: [0xfb, 0xc0, 0xb6, 0xdb],
    net_magic: [0xfb, 0xc0, 0xb6, 0xdb],
    p2pkh_version: 50,
    p2sh_version: 55,
    p2sh_versions_accepted: &[55, 5],
    bech32_hrp: Some("mona"),
    cashaddr_prefix: None,
    genesis_hash_bytes: display_hex_to_bytes(
        "ff9f1c0116d19de7c9963845e129f9ed1bfc0b376eb54fd7afa42e0d418c8bb6",
    ),
};

/// Bitcoin Cash mainnet (bitcoin-cash-node `CMainParams`: `diskMagic` f9beb4d9, `netMagic`
/// e3e1f3e8, `PUBKEY_ADDRESS` 0, `SCRIPT_ADDRESS` 5, `cashaddrPrefix` "bitcoincash"; the
/// genesis block is Bitcoin's). Legacy base58 addresses are accepted when parsing, CashAddr is
/// what gets rendered.
pub const BITCOIN_CASH: ChainParams = ChainParams {
    disk_magic: [0xf9, 0xbe, 0xb4, 0xd9],
    net_magic: [0xe3, 0xe1, 0xf3, 0xe8],
    p2pkh_version: 0,
    p2sh_version: 5,
    p2sh_versions_accepted: &[5],
    bech32_hrp: None,
    cashaddr_prefix: Some("bitcoincash"),
    genesis_hash_bytes: BITCOIN.genesis_hash_bytes,
};

impl Chain {
    /// This chain's constants.
    pub fn params(self) -> &'static ChainParams {
        match self {
            Chain::Bitcoin => &BITCOIN,
            Chain::BitcoinTestnet3 => &BITCOIN_TESTNET3,
            Chain::BitcoinRegtest => &BITCOIN_REGTEST,
            Chain::Litecoin => &LITECOIN,
            Chain::LitecoinRegtest => &LITECOIN_REGTEST,
            Chain::Monacoin => &MONACOIN,
            Chain::BitcoinCash => &BITCOIN_CASH,
        }
    }
}

/// Decode a 64-digit display-order hash (as printed by nodes and explorers) into internal byte
/// order. Only ever evaluated in `const` items, so a malformed literal is a compile error.
const fn display_hex_to_bytes(hex: &str) -> [u8; 32] {
    const fn nibble(c: u8) -> u8 {
        match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            _ => panic!("genesis hash literal must be lowercase hex"),
        }
    }
    let hex = hex.as_bytes();
    assert!(
        hex.len() == 64,
        "genesis hash literal must have 64 hex digits"
    );
    let mut out = [0u8; 32];
    let mut i = 0;
    while i < 32 {
        // Display order is the reverse of the internal (serialised) byte order.
        out[31 - i] = nibble(hex[2 * i]) << 4 | nibble(hex[2 * i + 1]);
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use bitcoin::block::{Header, Version};
    use bitcoin::blockdata::constants::genesis_block;
    use bitcoin::{CompactTarget, Network, TxMerkleNode};

    use super::*;

    #[test]
    fn bitcoin_constants_agree_with_rust_bitcoin() {
        for (chain, network) in [
            (Chain::Bitcoin, Network::Bitcoin),
            (Chain::BitcoinTestnet3, Network::Testnet),
            (Chain::BitcoinRegtest, Network::Regtest),
        ] {
            let p = chain.params();
            assert_eq!(p.disk_magic, network.magic().to_bytes(), "{chain}");
            assert_eq!(p.net_magic, network.magic().to_bytes(), "{chain}");
            assert_eq!(
                p.genesis_hash(),
                genesis_block(network).block_hash(),
                "{chain}"
            );
        }
        assert_eq!(
            BITCOIN_CASH.genesis_hash(),
            genesis_block(Network::Bitcoin).block_hash()
        );
    }

    #[test]
    fn disk_magic_of_every_chain() {
        let expected: [(Chain, [u8; 4]); 7] = [
            (Chain::Bitcoin, [0xf9, 0xbe, 0xb4, 0xd9]),
            (Chain::BitcoinTestnet3, [0x0b, 0x11, 0x09, 0x07]),
            (Chain::BitcoinRegtest, [0xfa, 0xbf, 0xb5, 0xda]),
            (Chain::Litecoin, [0xfb, 0xc0, 0xb6, 0xdb]),
            (Chain::LitecoinRegtest, [0xfa, 0xbf, 0xb5, 0xda]),
            (Chain::Monacoin, [0xfb, 0xc0, 0xb6, 0xdb]),
            // BCHN/ABC write blocks with diskMagic, which stayed Bitcoin's after the fork.
            (Chain::BitcoinCash, [0xf9, 0xbe, 0xb4, 0xd9]),
        ];
        for (chain, magic) in expected {
            assert_eq!(chain.disk_magic(), magic, "{chain}");
            assert_eq!(chain.params().disk_magic, magic, "{chain}");
        }
        assert_eq!(BITCOIN_CASH.net_magic, [0xe3, 0xe1, 0xf3, 0xe8]);
    }

    #[test]
    fn genesis_hashes_display_as_published() {
        let expected = [
            (
                Chain::Bitcoin,
                "000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f",
            ),
            (
                Chain::BitcoinTestnet3,
                "000000000933ea01ad0ee984209779baaec3ced90fa3f408719526f8d77f4943",
            ),
            (
                Chain::BitcoinRegtest,
                "0f9188f13cb7b2c71f2a335e3a4fc328bf5beb436012afca590b1a11466e2206",
            ),
            (
                Chain::Litecoin,
                "12a765e31ffd4059bada1e25190f6e98c99d9714d334efa41a195a7e7e04bfe2",
            ),
            (
                Chain::LitecoinRegtest,
                "530827f38f93b43ed12af0b3ad25a288dc02ed74d6d7857862df51fc56c416f9",
            ),
            (
                Chain::Monacoin,
                "ff9f1c0116d19de7c9963845e129f9ed1bfc0b376eb54fd7afa42e0d418c8bb6",
            ),
            (
                Chain::BitcoinCash,
                "000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f",
            ),
        ];
        for (chain, hex) in expected {
            assert_eq!(chain.genesis_hash().to_string(), hex, "{chain}");
            assert_eq!(
                chain.genesis_hash(),
                BlockHash::from_str(hex).unwrap(),
                "{chain}"
            );
        }
    }

    /// Block hashes are sha256d of the 80-byte header on every chain here (scrypt is only the
    /// proof of work on Litecoin and the Lyra2REv2 family on MonaCoin), so the genesis hash can be
    /// re-derived from the `CreateGenesisBlock(nTime, nNonce, nBits, nVersion, …)` arguments and
    /// the merkle root asserted in each `chainparams.cpp`.
    #[test]
    fn genesis_hashes_rederived_from_genesis_headers() {
        let header = |merkle: &str, time: u32, bits: u32, nonce: u32| Header {
            version: Version::ONE,
            prev_blockhash: BlockHash::all_zeros(),
            merkle_root: TxMerkleNode::from_str(merkle).unwrap(),
            time,
            bits: CompactTarget::from_consensus(bits),
            nonce,
        };
        // Litecoin: same coinbase (hence merkle root) on main and regtest.
        let ltc_merkle = "97ddfbbae6be97fd6cdf3e7ca13232a3afff2353e29badfab7f73011edd4ced9";
        assert_eq!(
            header(ltc_merkle, 1317972665, 0x1e0ffff0, 2084524493).block_hash(),
            LITECOIN.genesis_hash()
        );
        assert_eq!(
            header(ltc_merkle, 1296688602, 0x207fffff, 0).block_hash(),
            LITECOIN_REGTEST.genesis_hash()
        );
        let mona_merkle = "35e405a8a46f4dbc1941727aaf338939323c3b955232d0317f8731fe07ac4ba6";
        assert_eq!(
            header(mona_merkle, 1388479472, 0x1e0ffff0, 1234534).block_hash(),
            MONACOIN.genesis_hash()
        );
    }

    #[test]
    fn accepted_p2sh_versions_include_the_rendered_one() {
        for chain in Chain::ALL {
            let p = chain.params();
            assert!(
                p.p2sh_versions_accepted.contains(&p.p2sh_version),
                "{chain}"
            );
            assert!(
                !p.p2sh_versions_accepted.contains(&p.p2pkh_version),
                "{chain}"
            );
            assert!(
                p.bech32_hrp.is_some() != p.cashaddr_prefix.is_some(),
                "{chain}"
            );
        }
    }
}
