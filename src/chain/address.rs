//! Output script → address string, and the non-address forms for scripts without one.
//!
//! The forms are specified in the [`chain` module docs](super); this file implements them.

use bitcoin::hashes::{hash160, sha256, Hash};

use super::params::ChainParams;
use super::script::Template;
use super::Chain;
use super::{base58, cashaddr};

/// Prefix of the inline form of `OP_RETURN` scripts (followed by the script's hex).
pub const OP_RETURN_PREFIX: &str = "op_return:";
/// Prefix of the digest form of `OP_RETURN` scripts longer than [`MAX_INLINE_OP_RETURN`].
pub const OP_RETURN_SHA256_PREFIX: &str = "op_return_sha256:";
/// Prefix of the digest form of bare multisig scripts.
pub const MULTISIG_PREFIX: &str = "multisig:";
/// Prefix of the digest form of every other script without an address.
pub const NONSTANDARD_PREFIX: &str = "nonstandard:";
/// Longest `OP_RETURN` script (in bytes) rendered inline as `op_return:<hex>`.
pub const MAX_INLINE_OP_RETURN: usize = 83;

impl Chain {
    /// Render an output script as this chain's address string, or as one of the stable
    /// non-address forms described in the [`chain` module docs](super). Never panics.
    pub fn script_to_address(self, script: &[u8]) -> String {
        let mut out = String::new();
        self.write_address(script, &mut out);
        out
    }

    /// Like [`script_to_address`](Self::script_to_address), but appends to `out` (so a caller
    /// can reuse one buffer). Never panics. Ingest writes its output into the `scripts` table
    /// (what seeds and labels are matched against) and exports call it again on the cached
    /// script bytes, so a change of any rendering needs a new store `FORMAT_VERSION`.
    pub fn write_address(self, script: &[u8], out: &mut String) {
        let p = self.params();
        match Template::of(script) {
            Template::P2pkh(hash) => write_pkh(p, hash, out),
            Template::P2pk(key) => write_pkh(p, &hash160::Hash::hash(key).to_byte_array(), out),
            Template::P2sh(hash) => match p.cashaddr_prefix {
                Some(prefix) => write_cashaddr(prefix, cashaddr::TYPE_P2SH, hash, script, out),
                None => write_base58(p.p2sh_version, hash, out),
            },
            Template::P2sh32(hash) => match p.cashaddr_prefix {
                Some(prefix) => write_cashaddr(prefix, cashaddr::TYPE_P2SH, hash, script, out),
                None => write_digest(NONSTANDARD_PREFIX, script, out),
            },
            Template::Witness { version, program } => match p.bech32_hrp {
                Some(hrp) => write_segwit(hrp, version, program, script, out),
                None => write_digest(NONSTANDARD_PREFIX, script, out),
            },
            Template::OpReturn if script.len() <= MAX_INLINE_OP_RETURN => {
                out.reserve(OP_RETURN_PREFIX.len() + 2 * script.len());
                out.push_str(OP_RETURN_PREFIX);
                push_hex(out, script);
            }
            Template::OpReturn => write_digest(OP_RETURN_SHA256_PREFIX, script, out),
            Template::Multisig => write_digest(MULTISIG_PREFIX, script, out),
            Template::NonStandard => write_digest(NONSTANDARD_PREFIX, script, out),
        }
    }
}

/// A pubkey-hash address: CashAddr type 0 on Bitcoin Cash, base58check elsewhere.
fn write_pkh(p: &ChainParams, hash: &[u8; 20], out: &mut String) {
    match p.cashaddr_prefix {
        Some(prefix) => {
            // A 20-byte hash always has a size code, so this cannot fail.
            cashaddr::encode_to(out, prefix, cashaddr::TYPE_P2PKH, hash);
        }
        None => write_base58(p.p2pkh_version, hash, out),
    }
}

/// Base58check of `version ‖ hash`.
fn write_base58(version: u8, hash: &[u8; 20], out: &mut String) {
    base58::write_check(version, hash, out);
}

/// CashAddr of `hash`, or the non-standard form if CashAddr cannot carry it (never happens
/// for the 20- and 32-byte hashes passed here).
fn write_cashaddr(prefix: &str, kind: u8, hash: &[u8], script: &[u8], out: &mut String) {
    if !cashaddr::encode_to(out, prefix, kind, hash) {
        write_digest(NONSTANDARD_PREFIX, script, out);
    }
}

/// Bech32 (v0) / bech32m (v1+) segwit address, or the non-standard form if the program is not
/// encodable (the template matcher already guarantees it is).
fn write_segwit(hrp: &str, version: u8, program: &[u8], script: &[u8], out: &mut String) {
    let valid_len = match version {
        0 => program.len() == 20 || program.len() == 32,
        1..=16 => (2..=40).contains(&program.len()),
        _ => false,
    };
    // BIP-173's 90-character limit (HRP, separator, version, program, checksum), and the
    // writer's own limit of 16-character HRPs (the chains' HRPs are shorter); beyond either, the
    // non-standard form.
    let symbols = 1 + (8 * program.len()).div_ceil(5);
    let fits = hrp.len() <= 16 && hrp.len() + 1 + symbols + 6 <= 90;
    if valid_len && fits && version <= 16 {
        write_bech32_segwit(hrp, version, program, out);
    } else {
        write_digest(NONSTANDARD_PREFIX, script, out);
    }
}

/// The bech32 alphabet.
const BECH32_CHARSET: &[u8; 32] = b"qpzry9x8gf2tvdw0s3jn54khce6mua7l";

/// BIP-173's generator terms for each value of the checksum's top 5 bits, combined.
const BECH32_GEN_TABLE: [u32; 32] = {
    const GEN: [u32; 5] = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3];
    let mut table = [0u32; 32];
    let mut top = 0;
    while top < 32 {
        let mut i = 0;
        while i < 5 {
            if (top >> i) & 1 != 0 {
                table[top] ^= GEN[i];
            }
            i += 1;
        }
        top += 1;
    }
    table
};

/// BIP-173's checksum step with a zero value: the linear map `A` of the checksum state (over
/// GF(2)) that each step applies before XORing in the next value.
const fn bech32_shift(chk: u32) -> u32 {
    ((chk & 0x1ffffff) << 5) ^ BECH32_GEN_TABLE[(chk >> 25) as usize]
}

/// Longest symbol sequence the checksum covers here: the expanded HRP of the longest HRP the
/// writer takes (16 characters: 2 × 16 + 1 symbols), the version and a 40-byte program (1 + 64),
/// and the six zeros.
const BECH32_MAX_SYMBOLS: usize = 2 * 16 + 1 + (1 + 64) + 6;

/// `BECH32_SHIFTED[k][v]` is `A^k(v)`: what a value `v` with `k` steps after it contributes to
/// the final checksum.
///
/// Each step is linear in the state and the value (`step(c, v) = A(c) ^ v`), so the checksum of
/// a sequence `s_0..s_{n-1}` from the initial state 1 is `A^n(1) ^ XOR_i A^(n-1-i)(s_i)`: a
/// lookup per symbol, all independent of each other, instead of a chain of dependent steps.
static BECH32_SHIFTED: [[u32; 32]; BECH32_MAX_SYMBOLS + 1] = {
    let mut table = [[0u32; 32]; BECH32_MAX_SYMBOLS + 1];
    let mut v = 0;
    while v < 32 {
        table[0][v] = v as u32;
        v += 1;
    }
    let mut k = 1;
    while k <= BECH32_MAX_SYMBOLS {
        let mut v = 0;
        while v < 32 {
            table[k][v] = bech32_shift(table[k - 1][v]);
            v += 1;
        }
        k += 1;
    }
    table
};

/// The BIP-173 checksum state after `symbols` (5-bit values) and six zeros, from the initial
/// state 1 (the checksum before the bech32/bech32m constant is XORed in).
fn bech32_polymod(symbols: &[u8]) -> u32 {
    let n = symbols.len() + 6;
    assert!(
        n <= BECH32_MAX_SYMBOLS,
        "the bech32 length limit bounds the symbols"
    );
    let mut chk = BECH32_SHIFTED[n][1];
    for (i, &v) in symbols.iter().enumerate() {
        chk ^= BECH32_SHIFTED[n - 1 - i][usize::from(v & 31)];
    }
    chk
}

/// A segwit address in lowercase: bech32 for version 0 (BIP-173), bech32m above (BIP-350).
/// The caller has checked the version and program length. Written here rather than through the
/// `bech32` crate's formatter, which is several times slower on ingest's rendering hot path;
/// the tests compare the two on random programs.
fn write_bech32_segwit(hrp: &str, version: u8, program: &[u8], out: &mut String) {
    // The program in 5-bit values, 5 bytes (8 values) at a time without a data-dependent
    // branch; zero padding past the program gives the last value's low bits, as BIP-173 pads.
    let mut padded = [0u8; 40];
    let len = program.len().min(padded.len());
    padded[..len].copy_from_slice(&program[..len]);
    let mut data = [0u8; 1 + 64];
    data[0] = version;
    for (chunk, values) in padded[..len.div_ceil(5) * 5]
        .chunks_exact(5)
        .zip(data[1..].chunks_exact_mut(8))
    {
        let bits = chunk.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b));
        for (j, v) in values.iter_mut().enumerate() {
            *v = ((bits >> (35 - 5 * j)) & 31) as u8;
        }
    }
    let n = 1 + (8 * len).div_ceil(5);
    let data = &data[..n];
    // The expanded HRP (high bits, a zero, low bits), then the data (`bech32_polymod` adds the
    // six zeros).
    debug_assert!(hrp.len() <= 16, "chain HRPs are short");
    let h = hrp.len().min(16);
    let mut symbols = [0u8; 2 * 16 + 1 + 1 + 64];
    for (i, c) in hrp.bytes().take(h).enumerate() {
        let c = c.to_ascii_lowercase();
        symbols[i] = c >> 5;
        symbols[h + 1 + i] = c & 31;
    }
    symbols[2 * h + 1..2 * h + 1 + n].copy_from_slice(data);
    let mut chk = bech32_polymod(&symbols[..2 * h + 1 + n]);
    chk ^= if version == 0 { 1 } else { 0x2bc8_30a3 };
    let mut buf = [0u8; 90];
    let mut len = 0;
    for &c in hrp.as_bytes() {
        buf[len] = c.to_ascii_lowercase();
        len += 1;
    }
    buf[len] = b'1';
    len += 1;
    for &v in data {
        buf[len] = BECH32_CHARSET[v as usize];
        len += 1;
    }
    for i in 0..6 {
        buf[len] = BECH32_CHARSET[((chk >> (5 * (5 - i))) & 31) as usize];
        len += 1;
    }
    out.push_str(std::str::from_utf8(&buf[..len]).expect("ASCII"));
}

/// `prefix` followed by the lowercase hex SHA-256 of `script`.
fn write_digest(prefix: &str, script: &[u8], out: &mut String) {
    let digest = sha256::Hash::hash(script).to_byte_array();
    out.reserve(prefix.len() + 64);
    out.push_str(prefix);
    push_hex(out, &digest);
}

/// Append lowercase hex (to a `String`, or to an Arrow string builder's current value).
pub fn push_hex(out: &mut impl std::fmt::Write, bytes: &[u8]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    // A txid's 64 digits at a time, written as one string (not a call per character).
    let mut digits = [0u8; 64];
    for chunk in bytes.chunks(digits.len() / 2) {
        for (pair, &b) in digits.chunks_exact_mut(2).zip(chunk) {
            pair[0] = DIGITS[usize::from(b >> 4)];
            pair[1] = DIGITS[usize::from(b & 0x0f)];
        }
        let text = std::str::from_utf8(&digits[..2 * chunk.len()]).expect("hex digits are ASCII");
        // Writing to memory cannot fail.
        let _ = out.write_str(text);
    }
}

#[cfg(test)]
mod tests {
    use bitcoin::blockdata::constants::genesis_block;
    use bitcoin::hex::FromHex;
    use bitcoin::{Address, Network, ScriptBuf};

    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        Vec::from_hex(s).unwrap()
    }

    /// The table-driven checksum equals BIP-173's step-by-step polymod on random sequences of
    /// every length the table serves.
    #[test]
    fn table_checksum_equals_the_step_by_step_polymod() {
        let mut rng = crate::generate::rng::Rng::new(11);
        for len in 0..=BECH32_MAX_SYMBOLS - 6 {
            let mut symbols = vec![0u8; len];
            rng.fill(&mut symbols);
            symbols.iter_mut().for_each(|v| *v &= 31);
            let mut chk = 1u32;
            for &v in symbols.iter().chain(&[0; 6]) {
                chk = bech32_shift(chk) ^ u32::from(v);
            }
            assert_eq!(bech32_polymod(&symbols), chk, "length {len}");
        }
    }

    /// The hand-written bech32/bech32m writer agrees with the `bech32` crate on every version,
    /// every valid program length and the HRPs of every chain.
    #[test]
    fn bech32_writer_matches_the_bech32_crate() {
        let mut rng = crate::generate::rng::Rng::new(7);
        // The chains' HRPs, and one of 16 characters (the longest the writer takes).
        let longest = "abcdefghijklmnop";
        for hrp in [
            "bc", "tb", "bcrt", "ltc", "tltc", "rltc", "mona", "tmona", longest,
        ] {
            for version in 0u8..=16 {
                for len in 2..=40usize {
                    if version == 0 && len != 20 && len != 32 {
                        continue;
                    }
                    let mut program = vec![0u8; len];
                    rng.fill(&mut program);
                    let mut ours = String::new();
                    write_bech32_segwit(hrp, version, &program, &mut ours);
                    let mut theirs = String::new();
                    bitcoin::bech32::segwit::encode_lower_to_fmt_unchecked(
                        &mut theirs,
                        bitcoin::bech32::Hrp::parse_unchecked(hrp),
                        bitcoin::bech32::Fe32::try_from(version).unwrap(),
                        &program,
                    )
                    .unwrap();
                    assert_eq!(ours, theirs, "{hrp} v{version} len {len}");
                }
            }
        }
    }

    /// An HRP longer than the writer takes gives the non-standard form, not a wrong checksum.
    #[test]
    fn an_overlong_hrp_gives_the_nonstandard_form() {
        let script = hex("0014751e76e8199196d454941c45d1b3a323f1433bd6");
        let mut out = String::new();
        write_segwit("abcdefghijklmnopq", 0, &script[2..], &script, &mut out);
        assert!(out.starts_with(NONSTANDARD_PREFIX), "{out}");
    }

    #[test]
    fn bitcoin_genesis_output_is_satoshis_address() {
        let genesis = genesis_block(Network::Bitcoin);
        let script = genesis.txdata[0].output[0].script_pubkey.as_bytes();
        assert_eq!(classify_name(script), "p2pk");
        assert_eq!(
            Chain::Bitcoin.script_to_address(script),
            "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"
        );
        // Same key on Bitcoin Cash, shown as CashAddr (the published translation of 1A1zP1…).
        assert_eq!(
            Chain::BitcoinCash.script_to_address(script),
            "bitcoincash:qp3wjpa3tjlj042z2wv7hahsldgwhwy0rq9sywjpyy"
        );
    }

    fn classify_name(script: &[u8]) -> &'static str {
        super::super::classify(script).name()
    }

    /// (chain, script hex, address) from published sources:
    /// * Bitcoin Core `src/test/data/key_io_valid.json` (the "testnet4" entries use testnet3's
    ///   version bytes and HRP, so they are valid testnet3 vectors) and rust-bitcoin's address
    ///   tests;
    /// * BIP-173 / BIP-350 (segwit vectors; scripts as given in the BIPs);
    /// * litecoin-project/litecoin `src/test/data/key_io_valid.json` (base58);
    /// * Electrum-MONA's test suite (`address_to_script` vectors from Electrum-MONA 4.2.1);
    /// * the CashAddr spec's translation table.
    const VECTORS: &[(Chain, &str, &str)] = &[
        // Bitcoin mainnet.
        (
            Chain::Bitcoin,
            "76a914a31c06bd463e3923bc1aadbde48b16976c08071788ac",
            "1FsSia9rv4NeEwvJ2GvXrX7LyxYspbN2mo",
        ),
        (
            Chain::Bitcoin,
            "76a914162c5ea71c0b23f5b9022ef047c4a86470a5b07088ac",
            "132F25rTsvBdp9JzLLBHP5mvGY66i1xdiM",
        ),
        (
            Chain::Bitcoin,
            "a914373b819a068f32b7a6b38b6b38729647cfde01c287",
            "36j4NfKv6Akva9amjWrLG6MuSQym1GuEmm",
        ),
        (
            Chain::Bitcoin,
            "a914162c5ea71c0b23f5b9022ef047c4a86470a5b07087",
            "33iFwdLuRpW1uK1RTRqsoi8rR4NpDzk66k",
        ),
        (
            Chain::Bitcoin,
            "0014751e76e8199196d454941c45d1b3a323f1433bd6",
            "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4",
        ),
        (
            Chain::Bitcoin,
            "00146100fc6343edc8c874496cb2f5bbfec88ea9b77c",
            "bc1qvyq0cc6rahyvsazfdje0twl7ez82ndmuac2lhv",
        ),
        (
            Chain::Bitcoin,
            "002027304b37f70e94bc8a0fbf500e0c957a80ebda87280ef58214d92f119811acdc",
            "bc1qyucykdlhp62tezs0hagqury402qwhk589q80tqs5myh3rxq34nwqhkdhv7",
        ),
        (
            Chain::Bitcoin,
            "512079be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798",
            "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0",
        ),
        (
            Chain::Bitcoin,
            "51203c671ef1e3913f94980a9e146ba895908550ef4234abb7503d436521aba54c75",
            "bc1p83n3au0rjylefxq2nc2xh2y4jzz4pm6zxj4mw5pagdjjr2a9f36s6jjnnu",
        ),
        (
            Chain::Bitcoin,
            "5128751e76e8199196d454941c45d1b3a323f1433bd6751e76e8199196d454941c45d1b3a323f1433bd6",
            "bc1pw508d6qejxtdg4y5r3zarvary0c5xw7kw508d6qejxtdg4y5r3zarvary0c5xw7kt5nd6y",
        ),
        (Chain::Bitcoin, "6002751e", "bc1sw50qgdz25j"),
        (
            Chain::Bitcoin,
            "5210751e76e8199196d454941c45d1b3a323",
            "bc1zw508d6qejxtdg4y5r3zarvaryvaxxpcs",
        ),
        (Chain::Bitcoin, "520250ed", "bc1z2rksukkjr8"),
        // Bitcoin testnet3.
        (
            Chain::BitcoinTestnet3,
            "76a914ce28b26c57472737f5c3561a1761185bd8589a4388ac",
            "mzK2FFDEhxqHcmrJw1ysqFkVyhUULo45hZ",
        ),
        (
            Chain::BitcoinTestnet3,
            "76a914fc8f9851f3c1e4719cd0b8e4816dd4e88c72e52888ac",
            "n4YNbYuFdPwFrxSP8sjHFbAhUbLMUiY9jE",
        ),
        (
            Chain::BitcoinTestnet3,
            "a914ce0bba75891ff9ec60148d4bd4a09ee2dc5c933187",
            "2NC2hEhe28ULKAJkW5MjZ3jtTMJdvXmByvK",
        ),
        (
            Chain::BitcoinTestnet3,
            "00201863143c14c5166804bd19203356da136c985678cd4d27a1b8c6329604903262",
            "tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q0sl5k7",
        ),
        (
            Chain::BitcoinTestnet3,
            "0020000000c4a5cad46221b2a187905e5266362b99d5e91c6ce24d165dab93e86433",
            "tb1qqqqqp399et2xygdj5xreqhjjvcmzhxw4aywxecjdzew6hylgvsesrxh6hy",
        ),
        (
            Chain::BitcoinTestnet3,
            "5120000000c4a5cad46221b2a187905e5266362b99d5e91c6ce24d165dab93e86433",
            "tb1pqqqqp399et2xygdj5xreqhjjvcmzhxw4aywxecjdzew6hylgvsesf3hn0c",
        ),
        (
            Chain::BitcoinTestnet3,
            "0014c0ef1202759fff90ff19128936814321ee59e111",
            "tb1qcrh3yqn4nlleplcez2yndq2ry8h9ncg3qh7n54",
        ),
        (
            Chain::BitcoinTestnet3,
            "53104329bd718db46d8f021c13f1e2b0e726",
            "tb1rgv5m6uvdk3kc7qsuz0c79v88ycr5w4wa",
        ),
        // Bitcoin regtest.
        (
            Chain::BitcoinRegtest,
            "76a914fdeca3b08e38af53d7c4c60e3ad208ce5066441088ac",
            "n4fajahJrAuKbN7uNsKjLjQkz9Qn5ewJXQ",
        ),
        (
            Chain::BitcoinRegtest,
            "a91436e9f191e0b75036a77f65e2eaa4752443233fbe87",
            "2MxFajLApXpYk4VodBSZSt7rw8y4ryABkfA",
        ),
        (
            Chain::BitcoinRegtest,
            "00146f58bac9506f9bfb821d62e69330410bb56f0085",
            "bcrt1qdavt4j2sd7dlhqsavtnfxvzppw6k7qy97tmnu9",
        ),
        (
            Chain::BitcoinRegtest,
            "51204b8d20316baaf061adbfe72c9d914d678cd5004d49356ec9949ba752777171ac",
            "bcrt1pfwxjqvtt4tcxrtdluukfmy2dv7xd2qzdfy6kajv5nwn4yam3wxkq3553uh",
        ),
        (
            Chain::BitcoinRegtest,
            "6028368279cbe6f5cbbc2ba8154883a9a29e5517d1f3c03cac4f39ce3225060b3efb799cd9c412746ae2",
            "bcrt1sx6p8njlx7h9mc2agz4yg82dzne23050ncq72cneeecez2pst8mahn8xecsf8g6hzx94420",
        ),
        // Litecoin mainnet: base58 from Litecoin's key_io_valid.json.
        (
            Chain::Litecoin,
            "76a914558dbca7118cd5894502767c7b2ffc21a22f54db88ac",
            "LT2KVaAy1ppRuxRgrS5RNU3vBsy7RibPeA",
        ),
        (
            Chain::Litecoin,
            "76a914b4565f467408e9e1c1d2a3b0ccdeff84db3a3b9388ac",
            "LbfVMz974gbbGFqXF7FZUpSBWSbwBHDwR5",
        ),
        (
            Chain::Litecoin,
            "a9146d328a5b2a20d943a641c8d29b6cc3c2d2df85d387",
            "MHrYRxAiMNBTku3eoDHwhA1LQGDjUStZW2",
        ),
        (
            Chain::Litecoin,
            "a914130ef8742ad7492b389509252c6721775fb1127387",
            "M9dw1FAoWpHC6PcMzoCHhqQ9McvTyG5Ywj",
        ),
        // Litecoin segwit: BIP-173's P2WPKH / P2WSH programs under the "ltc" HRP, as published
        // in several independent Litecoin libraries' tests.
        (
            Chain::Litecoin,
            "0014751e76e8199196d454941c45d1b3a323f1433bd6",
            "ltc1qw508d6qejxtdg4y5r3zarvary0c5xw7kgmn4n9",
        ),
        (
            Chain::Litecoin,
            "00201863143c14c5166804bd19203356da136c985678cd4d27a1b8c6329604903262",
            "ltc1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3qmu8tk5",
        ),
        // Litecoin regtest: base58 from Litecoin's key_io_valid.json (P2SH with version 58).
        (
            Chain::LitecoinRegtest,
            "76a91462b790654f809d32202587c6a43456ffc1965d8388ac",
            "mpWvR79tSrA5xeziB6mjNYWdaVRwBpgnUP",
        ),
        (
            Chain::LitecoinRegtest,
            "a914d71bee7a1395c10c9ca9a7f53ac086b53e74369d87",
            "QgDNrG4nJpE4VV7PcFMFhkTgwAHWxWS7pj",
        ),
        (
            Chain::LitecoinRegtest,
            "a914ce88c090d0ee540cab7e2d2286f686434d33d61987",
            "QfS38XTvXmuNFeyS8orinxHkDkonMDS1ih",
        ),
        (
            Chain::LitecoinRegtest,
            "0014751e76e8199196d454941c45d1b3a323f1433bd6",
            "rltc1qw508d6qejxtdg4y5r3zarvary0c5xw7k693xs3",
        ),
        // MonaCoin: Electrum-MONA's address_to_script vectors.
        (
            Chain::Monacoin,
            "76a91428662c67561b95c79d2257d2a93d9d151c977e9188ac",
            "MBamfEqEFDy5dsLWwu48BCizM1zpCoKw3U",
        ),
        (
            Chain::Monacoin,
            "76a914e9fb298e72e29ebc2b89864a5e4ae10e0b84726088ac",
            "MVELZC3ks1Xk59kvKWuSN3mpByNwaxeaBJ",
        ),
        (
            Chain::Monacoin,
            "a9142a84cf00d47f699ee7bbc1dea5ec1bdecb4ac15487",
            "PCTzdjWauNipkYtToRZEHDMXb2adj9Evp8",
        ),
        (
            Chain::Monacoin,
            "a9146449f568c9cd2378138f2636e1567112a184a9e887",
            "PHjTKtgYLTJ9D2Bzw2f6xBB41KBm2HeGfg",
        ),
        (
            Chain::Monacoin,
            "0014751e76e8199196d454941c45d1b3a323f1433bd6",
            "mona1qw508d6qejxtdg4y5r3zarvary0c5xw7kg5lnx5",
        ),
        (
            Chain::Monacoin,
            "00201863143c14c5166804bd19203356da136c985678cd4d27a1b8c6329604903262",
            "mona1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q37swge",
        ),
        (
            Chain::Monacoin,
            "512079be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798",
            "mona1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqtsd8k8",
        ),
        // Bitcoin Cash: the CashAddr spec's translation table (legacy ↔ CashAddr of one hash).
        (
            Chain::BitcoinCash,
            "76a91476a04053bda0a88bda5177b86a15c3b29f55987388ac",
            "bitcoincash:qpm2qsznhks23z7629mms6s4cwef74vcwvy22gdx6a",
        ),
        (
            Chain::BitcoinCash,
            "a91476a04053bda0a88bda5177b86a15c3b29f55987387",
            "bitcoincash:ppm2qsznhks23z7629mms6s4cwef74vcwvn0h829pq",
        ),
        (
            Chain::BitcoinCash,
            "76a914f5bf48b397dae70be82b3cca4793f8eb2b6cdac988ac",
            "bitcoincash:qr6m7j9njldwwzlg9v7v53unlr4jkmx6eylep8ekg2",
        ),
    ];

    #[test]
    fn published_vectors_render() {
        for &(chain, script, addr) in VECTORS {
            assert_eq!(
                chain.script_to_address(&hex(script)),
                addr,
                "{chain} {script}"
            );
        }
    }

    #[test]
    fn published_vectors_parse_back() {
        for &(chain, script, addr) in VECTORS {
            assert_eq!(
                chain.address_to_script(addr).as_deref(),
                Ok(&hex(script)[..]),
                "{chain} {addr}"
            );
        }
    }

    /// The CashAddr spec pairs every CashAddr example with the legacy address of the same hash.
    #[test]
    fn cashaddr_spec_translation_table() {
        let table = [
            (
                "1BpEi6DfDAUFd7GtittLSdBeYJvcoaVggu",
                "bitcoincash:qpm2qsznhks23z7629mms6s4cwef74vcwvy22gdx6a",
            ),
            (
                "1KXrWXciRDZUpQwQmuM1DbwsKDLYAYsVLR",
                "bitcoincash:qr95sy3j9xwd2ap32xkykttr4cvcu7as4y0qverfuy",
            ),
            (
                "16w1D5WRVKJuZUsSRzdLp9w3YGcgoxDXb",
                "bitcoincash:qqq3728yw0y47sqn6l2na30mcw6zm78dzqre909m2r",
            ),
            (
                "3CWFddi6m4ndiGyKqzYvsFYagqDLPVMTzC",
                "bitcoincash:ppm2qsznhks23z7629mms6s4cwef74vcwvn0h829pq",
            ),
            (
                "3LDsS579y7sruadqu11beEJoTjdFiFCdX4",
                "bitcoincash:pr95sy3j9xwd2ap32xkykttr4cvcu7as4yc93ky28e",
            ),
            (
                "31nwvkZwyPdgzjBJZXfDmSWsC4ZLKpYyUw",
                "bitcoincash:pqq3728yw0y47sqn6l2na30mcw6zm78dzq5ucqzc37",
            ),
        ];
        for (legacy, cash) in table {
            // Legacy → script (BCH accepts legacy) → CashAddr.
            let script = Chain::BitcoinCash.address_to_script(legacy).unwrap();
            assert_eq!(Chain::BitcoinCash.script_to_address(&script), cash);
            // CashAddr (with and without prefix, either case) → the same script.
            for form in [
                cash.to_string(),
                cash[12..].to_string(),
                cash.to_uppercase(),
            ] {
                assert_eq!(
                    Chain::BitcoinCash.address_to_script(&form).unwrap(),
                    script,
                    "{form}"
                );
            }
            // And the legacy string is the Bitcoin address of the same script.
            assert_eq!(Chain::Bitcoin.script_to_address(&script), legacy);
        }
    }

    #[test]
    fn bitcoin_cash_p2sh32_and_token_aware_forms() {
        // P2SH32 is rendered as a type-1 CashAddr with a 32-byte hash. The spec has no
        // "bitcoincash" type-1 vector of that size, so the expected string comes from the codec
        // (itself checked against every spec vector in `cashaddr.rs`).
        let hash = "3173ef6623c6b48ffd1a3dcc0cc6489b0a07bb47a37f47cfef4fe69de825c060";
        let script = hex(&format!("aa20{hash}87"));
        let addr = Chain::BitcoinCash.script_to_address(&script);
        assert_eq!(
            Some(addr.clone()),
            cashaddr::encode("bitcoincash", 1, &hex(hash))
        );
        assert!(addr.starts_with("bitcoincash:p"));
        assert_eq!(Chain::BitcoinCash.address_to_script(&addr).unwrap(), script);
        // Elsewhere the same script has no address.
        assert!(Chain::Bitcoin
            .script_to_address(&script)
            .starts_with(NONSTANDARD_PREFIX));
        // Token-aware (type 2/3) addresses name the plain P2PKH/P2SH scripts.
        let h = hex("76a04053bda0a88bda5177b86a15c3b29f559873");
        let z = cashaddr::encode("bitcoincash", 2, &h).unwrap();
        let r = cashaddr::encode("bitcoincash", 3, &h).unwrap();
        assert!(z.starts_with("bitcoincash:z") && r.starts_with("bitcoincash:r"));
        assert_eq!(
            Chain::BitcoinCash.address_to_script(&z).unwrap(),
            hex("76a91476a04053bda0a88bda5177b86a15c3b29f55987388ac")
        );
        assert_eq!(
            Chain::BitcoinCash.address_to_script(&r).unwrap(),
            hex("a91476a04053bda0a88bda5177b86a15c3b29f55987387")
        );
    }

    /// Electrum-MONA publishes one key's addresses on several chains; the hash160 (and so the
    /// script) must agree across all of them.
    #[test]
    fn one_key_across_chains() {
        let p2pkh = [
            (Chain::Bitcoin, "1PS5N2G6azESkBKZNbqBENCEpMVa6QLvE9"),
            (Chain::BitcoinTestnet3, "n3x2f5M5Q1fhXHoB6AoZ4HQZgM6Gx6SrwP"),
            (Chain::Litecoin, "Lhf2dEZvfeUVzz1iYjpUWPG12ZrrCKLuUW"),
            (Chain::Monacoin, "MWLEbTAW61QFdrHtbaV7UdoaHaNjdPUtTj"),
        ];
        let p2wpkh = [
            (Chain::Bitcoin, "bc1q7cgva59egg6l4eg64c285rfutmdjfw6nagl848"),
            (
                Chain::BitcoinTestnet3,
                "tb1q7cgva59egg6l4eg64c285rfutmdjfw6nhwy5w5",
            ),
            (
                Chain::BitcoinRegtest,
                "bcrt1q7cgva59egg6l4eg64c285rfutmdjfw6n48aeea",
            ),
            (
                Chain::Litecoin,
                "ltc1q7cgva59egg6l4eg64c285rfutmdjfw6ne59rdh",
            ),
            (
                Chain::Monacoin,
                "mona1q7cgva59egg6l4eg64c285rfutmdjfw6nemf9cx",
            ),
        ];
        let reference = Chain::Bitcoin.address_to_script(p2wpkh[0].1).unwrap();
        let hash = &reference[2..];
        for (chain, addr) in p2pkh {
            let script = chain.address_to_script(addr).unwrap();
            assert_eq!(&script[3..23], hash, "{chain} {addr}");
            assert_eq!(chain.script_to_address(&script), addr);
        }
        for (chain, addr) in p2wpkh {
            let script = chain.address_to_script(addr).unwrap();
            assert_eq!(script, reference, "{chain} {addr}");
            assert_eq!(chain.script_to_address(&script), addr);
        }
    }

    /// rust-bitcoin is an independent implementation: on the Bitcoin networks every script it
    /// gives an address must render identically here.
    #[test]
    fn agrees_with_rust_bitcoin_on_bitcoin_networks() {
        let scripts = [
            "76a914a31c06bd463e3923bc1aadbde48b16976c08071788ac",
            "a914373b819a068f32b7a6b38b6b38729647cfde01c287",
            "0014751e76e8199196d454941c45d1b3a323f1433bd6",
            "00201863143c14c5166804bd19203356da136c985678cd4d27a1b8c6329604903262",
            "512079be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798",
            "5128751e76e8199196d454941c45d1b3a323f1433bd6751e76e8199196d454941c45d1b3a323f1433bd6",
            "6002751e",
            "51024e73",
        ];
        for (chain, network) in [
            (Chain::Bitcoin, Network::Bitcoin),
            (Chain::BitcoinTestnet3, Network::Testnet),
            (Chain::BitcoinRegtest, Network::Regtest),
        ] {
            for script in scripts {
                let script = ScriptBuf::from_bytes(hex(script));
                let theirs = Address::from_script(&script, network).unwrap().to_string();
                assert_eq!(
                    chain.script_to_address(script.as_bytes()),
                    theirs,
                    "{chain}"
                );
            }
        }
    }

    #[test]
    fn non_address_forms() {
        let sha = |s: &[u8]| sha256::Hash::hash(s).to_string();
        for chain in Chain::ALL {
            // OP_RETURN, inline up to 83 bytes.
            assert_eq!(chain.script_to_address(&[0x6a]), "op_return:6a");
            let data = hex("6a0b68656c6c6f20776f726c64");
            assert_eq!(
                chain.script_to_address(&data),
                "op_return:6a0b68656c6c6f20776f726c64"
            );
            let mut max = vec![0x6a, 0x4c, 80];
            max.extend([0xab; 80]);
            assert_eq!(max.len(), MAX_INLINE_OP_RETURN);
            assert_eq!(
                chain.script_to_address(&max),
                format!(
                    "op_return:{}",
                    bitcoin::hex::DisplayHex::to_lower_hex_string(&max[..])
                )
            );
            let mut long = max.clone();
            long.push(0xab);
            assert_eq!(
                chain.script_to_address(&long),
                format!("op_return_sha256:{}", sha(&long))
            );
            // Empty and other non-standard scripts.
            assert_eq!(
                chain.script_to_address(&[]),
                "nonstandard:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
            );
            assert_eq!(
                chain.script_to_address(&[0x51]),
                format!("nonstandard:{}", sha(&[0x51]))
            );
            // Bare multisig (1-of-1).
            let ms =
                hex("51210279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f8179851ae");
            assert_eq!(
                chain.script_to_address(&ms),
                format!("multisig:{}", sha(&ms))
            );
        }
        // No segwit on Bitcoin Cash: witness programs get the digest form.
        let wpkh = hex("0014751e76e8199196d454941c45d1b3a323f1433bd6");
        assert_eq!(
            Chain::BitcoinCash.script_to_address(&wpkh),
            format!("nonstandard:{}", sha(&wpkh))
        );
    }

    #[test]
    fn write_address_appends() {
        let mut buf = String::from(">");
        Chain::Bitcoin.write_address(
            &hex("0014751e76e8199196d454941c45d1b3a323f1433bd6"),
            &mut buf,
        );
        assert_eq!(buf, ">bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4");
    }

    #[test]
    fn standard_kinds_round_trip_on_every_chain() {
        let h20 = "751e76e8199196d454941c45d1b3a323f1433bd6";
        let h32 = "1863143c14c5166804bd19203356da136c985678cd4d27a1b8c6329604903262";
        for chain in Chain::ALL {
            let p = chain.params();
            let mut scripts = vec![
                format!("76a914{h20}88ac"),
                format!("a914{h20}87"),
                "6a".to_string(),
                format!("6a14{h20}"),
            ];
            if p.bech32_hrp.is_some() {
                scripts.push(format!("0014{h20}"));
                scripts.push(format!("0020{h32}"));
                scripts.push(format!("5120{h32}"));
                scripts.push("51024e73".to_string());
                for v in 1..=16u8 {
                    scripts.push(format!("{:02x}28{h20}{h20}", 0x50 + v));
                    scripts.push(format!("{:02x}02abcd", 0x50 + v));
                }
            }
            if p.cashaddr_prefix.is_some() {
                scripts.push(format!("aa20{h32}87"));
            }
            for script in scripts {
                let script = hex(&script);
                let addr = chain.script_to_address(&script);
                assert_eq!(chain.address_to_script(&addr), Ok(script), "{chain} {addr}");
            }
        }
    }

    #[test]
    fn p2pk_renders_as_p2pkh_of_the_key() {
        let key = "0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798";
        let h = hash160::Hash::hash(&hex(key)).to_string();
        for chain in Chain::ALL {
            let p2pk = chain.script_to_address(&hex(&format!("21{key}ac")));
            let p2pkh = chain.script_to_address(&hex(&format!("76a914{h}88ac")));
            assert_eq!(p2pk, p2pkh, "{chain}");
        }
    }

    #[test]
    fn never_panics_on_odd_scripts() {
        let mut cases: Vec<Vec<u8>> = vec![
            vec![],
            vec![0x00],
            vec![0x6a],
            hex("76a914a31c06bd463e3923bc1aadbde48b16976c080717"), // truncated P2PKH
            hex("76a914a31c06bd463e3923bc1aadbde48b16976c08071788"),
            hex("76a915a31c06bd463e3923bc1aadbde48b16976c0807171788ac"), // wrong push length
            vec![0x76, 0xa9, 0x14],
            vec![0xa9, 0x14, 0x87],
            vec![0x00, 0x14],
            vec![0x51, 0x01, 0x00],
            vec![0x4e, 0xff, 0xff, 0xff, 0xff], // oversized PUSHDATA4
            vec![0x4d, 0xff, 0xff],
            vec![0x4c],
            vec![0x21, 0x02, 0xac],
            vec![0x51, 0x21, 0x02, 0x51, 0xae],
            vec![0x51, 0x4e, 0xff, 0xff, 0xff, 0xff, 0x51, 0xae],
            vec![0xae],
            vec![0x60, 0x28],
            vec![0x51; 10_001],
            vec![0x6a; 100_000],
        ];
        // Plus a deterministic pseudo-random sweep biased towards script-like prefixes.
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let starts = [
            0x00, 0x51, 0x60, 0x76, 0xa9, 0xaa, 0x21, 0x41, 0x6a, 0x4c, 0x4d, 0x4e,
        ];
        for _ in 0..20_000 {
            let len = (next() % 80) as usize;
            let mut s: Vec<u8> = (0..len).map(|_| next() as u8).collect();
            if let Some(first) = s.first_mut() {
                *first = starts[(next() % starts.len() as u64) as usize];
            }
            if s.len() > 1 && next() % 2 == 0 {
                s[1] = (s.len() - 2) as u8;
            }
            cases.push(s);
        }
        for script in &cases {
            for chain in Chain::ALL {
                let addr = chain.script_to_address(script);
                assert!(!addr.is_empty() && addr.len() <= 176);
            }
        }
    }

    #[test]
    fn push_hex_writes_every_byte_as_two_lowercase_digits() {
        for len in [0, 1, 31, 32, 33, 64, 65, 300] {
            let bytes: Vec<u8> = (0..len).map(|i| (i * 37 % 256) as u8).collect();
            let mut out = String::from("x");
            push_hex(&mut out, &bytes);
            let expected: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
            assert_eq!(out, format!("x{expected}"), "{len} bytes");
        }
    }
}
