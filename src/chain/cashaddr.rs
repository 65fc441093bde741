//! CashAddr, Bitcoin Cash's address format (spec: `spec/cashaddr.md` in
//! github.com/bitcoincashorg/bitcoincash.org; reference code: `src/cashaddr.cpp` in BCHN/ABC).
//!
//! An address is `prefix:payload`, where the payload is base32 (the bech32 alphabet) of a
//! version byte and a hash, followed by a 40-bit BCH-code checksum over the prefix and payload.
//! The version byte is `type << 3 | size_code`, with bit 7 reserved (zero). Types in use:
//! 0 = P2PKH, 1 = P2SH, and since the 2023 CashTokens upgrade 2 / 3 for the token-aware forms of
//! the same two scripts. Implemented here from the spec, without a crate; no allocation beyond
//! the output.

/// The bech32/CashAddr base32 alphabet.
const CHARSET: &[u8; 32] = b"qpzry9x8gf2tvdw0s3jn54khce6mua7l";

/// Number of 5-bit checksum symbols.
const CHECKSUM_LEN: usize = 8;

/// Longest payload hash the version byte can describe (size code 7 = 512 bits).
const MAX_HASH_LEN: usize = 64;

/// Longest 5-bit payload: `ceil((1 + 64) * 8 / 5)` symbols plus the checksum.
const MAX_SYMBOLS: usize = (1 + MAX_HASH_LEN) * 8 / 5 + 1 + CHECKSUM_LEN;

/// CashAddr type of P2PKH.
pub const TYPE_P2PKH: u8 = 0;
/// CashAddr type of P2SH (20-byte hash) and P2SH32 (32-byte hash).
pub const TYPE_P2SH: u8 = 1;
/// CashAddr type of token-aware P2PKH (CashTokens; same output script as [`TYPE_P2PKH`]).
pub const TYPE_TOKEN_P2PKH: u8 = 2;
/// CashAddr type of token-aware P2SH (CashTokens; same output script as [`TYPE_P2SH`]).
pub const TYPE_TOKEN_P2SH: u8 = 3;

/// Why a string is not a valid CashAddr address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CashAddrError {
    /// The string mixes upper and lower case.
    #[error("mixed upper and lower case")]
    MixedCase,
    /// The prefix is empty or contains characters outside `[a-z0-9]`.
    #[error("invalid prefix")]
    InvalidPrefix,
    /// A payload character is not in the base32 alphabet.
    #[error("invalid character {0:?}")]
    InvalidChar(char),
    /// The payload is too short or too long.
    #[error("payload of {0} characters is not a valid length")]
    BadLength(usize),
    /// The checksum does not match (a typo, or a different prefix).
    #[error("checksum mismatch")]
    Checksum,
    /// The base32 payload has non-zero padding bits.
    #[error("non-zero padding")]
    Padding,
    /// The version byte has its reserved bit set.
    #[error("reserved version bit set")]
    ReservedBit,
    /// The hash length does not match the size encoded in the version byte.
    #[error("hash of {actual} bytes, version byte says {expected}")]
    SizeMismatch {
        /// Length the version byte declares.
        expected: usize,
        /// Actual length.
        actual: usize,
    },
}

/// A decoded CashAddr address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded {
    /// The prefix, lowercase (the default one if the address had none).
    pub prefix: String,
    /// The address type (bits 3..=6 of the version byte).
    pub kind: u8,
    /// The hash (20, 24, 28, 32, 40, 48, 56 or 64 bytes).
    pub hash: Vec<u8>,
}

/// Whether `b` is a (lowercase) character of the CashAddr payload alphabet.
pub fn is_charset(b: u8) -> bool {
    CHARSET.contains(&b)
}

/// Size code of a hash length, or `None` if CashAddr cannot carry it.
fn size_code(len: usize) -> Option<u8> {
    Some(match len {
        20 => 0,
        24 => 1,
        28 => 2,
        32 => 3,
        40 => 4,
        48 => 5,
        56 => 6,
        64 => 7,
        _ => return None,
    })
}

/// Hash length of a size code (the low 3 bits of the version byte).
fn size_of_code(code: u8) -> usize {
    [20, 24, 28, 32, 40, 48, 56, 64][usize::from(code & 7)]
}

/// The CashAddr checksum polymod (a BCH code over GF(2^5), generator from the spec).
fn polymod_step(c: u64, d: u8) -> u64 {
    let c0 = (c >> 35) as u8;
    let mut c = ((c & 0x07_ffff_ffff) << 5) ^ u64::from(d);
    if c0 & 0x01 != 0 {
        c ^= 0x98_f2bc_8e61;
    }
    if c0 & 0x02 != 0 {
        c ^= 0x79_b76d_99e2;
    }
    if c0 & 0x04 != 0 {
        c ^= 0xf3_3e5f_b3c4;
    }
    if c0 & 0x08 != 0 {
        c ^= 0xae_2eab_e2a8;
    }
    if c0 & 0x10 != 0 {
        c ^= 0x1e_4f43_e470;
    }
    c
}

/// Polymod state after the prefix: its characters' low 5 bits, then a zero separator.
fn prefix_state(prefix: &[u8]) -> u64 {
    let c = prefix.iter().fold(1, |c, &b| polymod_step(c, b & 0x1f));
    polymod_step(c, 0)
}

/// Encode `hash` as a CashAddr address of type `kind` under `prefix` (lowercase, with the
/// `prefix:` part), appending to `out`. Returns `false` (writing nothing) if `kind > 15` or the
/// hash length has no size code.
pub fn encode_to(out: &mut String, prefix: &str, kind: u8, hash: &[u8]) -> bool {
    let Some(code) = size_code(hash.len()) else {
        return false;
    };
    if kind > 15 {
        return false;
    }
    let version = kind << 3 | code;

    // 8-bit → 5-bit, most significant first, zero-padded.
    let mut symbols = [0u8; MAX_SYMBOLS];
    let mut n = 0;
    let (mut acc, mut bits) = (0u32, 0u32);
    for &byte in std::iter::once(&version).chain(hash) {
        acc = (acc << 8 | u32::from(byte)) & 0xfff;
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            symbols[n] = ((acc >> bits) & 31) as u8;
            n += 1;
        }
    }
    if bits > 0 {
        symbols[n] = ((acc << (5 - bits)) & 31) as u8;
        n += 1;
    }

    let mut c = prefix_state(prefix.as_bytes());
    for &s in &symbols[..n] {
        c = polymod_step(c, s);
    }
    for _ in 0..CHECKSUM_LEN {
        c = polymod_step(c, 0);
    }
    let checksum = c ^ 1;
    for i in 0..CHECKSUM_LEN {
        symbols[n + i] = ((checksum >> (5 * (CHECKSUM_LEN - 1 - i))) & 31) as u8;
    }
    n += CHECKSUM_LEN;

    out.reserve(prefix.len() + 1 + n);
    out.push_str(prefix);
    out.push(':');
    out.extend(
        symbols[..n]
            .iter()
            .map(|&s| char::from(CHARSET[usize::from(s)])),
    );
    true
}

/// Encode `hash` as a CashAddr address of type `kind` under `prefix`; `None` if `kind > 15`
/// or the hash length has no size code.
pub fn encode(prefix: &str, kind: u8, hash: &[u8]) -> Option<String> {
    let mut out = String::new();
    encode_to(&mut out, prefix, kind, hash).then_some(out)
}

/// Decode a CashAddr address, with or without its prefix (`default_prefix` is assumed when the
/// string has no `:`). Upper or lower case is accepted, not a mix. The caller checks the
/// returned prefix against the one it expects.
pub fn decode(addr: &str, default_prefix: &str) -> Result<Decoded, CashAddrError> {
    let has_lower = addr.bytes().any(|b| b.is_ascii_lowercase());
    let has_upper = addr.bytes().any(|b| b.is_ascii_uppercase());
    if has_lower && has_upper {
        return Err(CashAddrError::MixedCase);
    }
    let (prefix, payload) = match addr.rfind(':') {
        Some(i) => (&addr[..i], &addr[i + 1..]),
        None => (default_prefix, addr),
    };
    if prefix.is_empty() || !prefix.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(CashAddrError::InvalidPrefix);
    }
    let prefix = prefix.to_ascii_lowercase();

    // Smallest payload: 20-byte hash = 34 symbols + checksum.
    if !(34 + CHECKSUM_LEN..=MAX_SYMBOLS).contains(&payload.len()) {
        return Err(CashAddrError::BadLength(payload.chars().count()));
    }
    let mut symbols = [0u8; MAX_SYMBOLS];
    for (slot, ch) in symbols.iter_mut().zip(payload.chars()) {
        let lower = ch.to_ascii_lowercase();
        let pos = u8::try_from(lower)
            .ok()
            .and_then(|b| CHARSET.iter().position(|&c| c == b))
            .ok_or(CashAddrError::InvalidChar(ch))?;
        *slot = pos as u8;
    }
    let symbols = &symbols[..payload.len()];

    let c = symbols
        .iter()
        .fold(prefix_state(prefix.as_bytes()), |c, &s| polymod_step(c, s));
    if c ^ 1 != 0 {
        return Err(CashAddrError::Checksum);
    }

    // 5-bit → 8-bit without padding.
    let data = &symbols[..symbols.len() - CHECKSUM_LEN];
    let mut bytes = Vec::with_capacity(data.len() * 5 / 8);
    let (mut acc, mut bits) = (0u32, 0u32);
    for &s in data {
        acc = (acc << 5 | u32::from(s)) & 0xfff;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            bytes.push((acc >> bits) as u8);
        }
    }
    if bits >= 5 || (acc << (8 - bits)) & 0xff != 0 {
        return Err(CashAddrError::Padding);
    }

    let Some((&version, hash)) = bytes.split_first() else {
        return Err(CashAddrError::BadLength(payload.len()));
    };
    if version & 0x80 != 0 {
        return Err(CashAddrError::ReservedBit);
    }
    let expected = size_of_code(version);
    if hash.len() != expected {
        return Err(CashAddrError::SizeMismatch {
            expected,
            actual: hash.len(),
        });
    }
    Ok(Decoded {
        prefix,
        kind: version >> 3,
        hash: hash.to_vec(),
    })
}

#[cfg(test)]
mod tests {
    use bitcoin::hex::FromHex;

    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        Vec::from_hex(s).unwrap()
    }

    /// The spec's "Larger Test Vectors" table: (address, type, hash). Types 0/1 under
    /// bitcoincash/bchtest/pref, and the spec's type 15 under `prefix`.
    const LARGER: &[(&str, u8, &str)] = &[
        ("bitcoincash:qr6m7j9njldwwzlg9v7v53unlr4jkmx6eylep8ekg2", 0, "F5BF48B397DAE70BE82B3CCA4793F8EB2B6CDAC9"),
        ("bchtest:pr6m7j9njldwwzlg9v7v53unlr4jkmx6eyvwc0uz5t", 1, "F5BF48B397DAE70BE82B3CCA4793F8EB2B6CDAC9"),
        ("pref:pr6m7j9njldwwzlg9v7v53unlr4jkmx6ey65nvtks5", 1, "F5BF48B397DAE70BE82B3CCA4793F8EB2B6CDAC9"),
        ("prefix:0r6m7j9njldwwzlg9v7v53unlr4jkmx6ey3qnjwsrf", 15, "F5BF48B397DAE70BE82B3CCA4793F8EB2B6CDAC9"),
        ("bitcoincash:q9adhakpwzztepkpwp5z0dq62m6u5v5xtyj7j3h2ws4mr9g0", 0, "7ADBF6C17084BC86C1706827B41A56F5CA32865925E946EA"),
        ("bchtest:p9adhakpwzztepkpwp5z0dq62m6u5v5xtyj7j3h2u94tsynr", 1, "7ADBF6C17084BC86C1706827B41A56F5CA32865925E946EA"),
        ("pref:p9adhakpwzztepkpwp5z0dq62m6u5v5xtyj7j3h2khlwwk5v", 1, "7ADBF6C17084BC86C1706827B41A56F5CA32865925E946EA"),
        ("prefix:09adhakpwzztepkpwp5z0dq62m6u5v5xtyj7j3h2p29kc2lp", 15, "7ADBF6C17084BC86C1706827B41A56F5CA32865925E946EA"),
        ("bitcoincash:qgagf7w02x4wnz3mkwnchut2vxphjzccwxgjvvjmlsxqwkcw59jxxuz", 0, "3A84F9CF51AAE98A3BB3A78BF16A6183790B18719126325BFC0C075B"),
        ("bchtest:pgagf7w02x4wnz3mkwnchut2vxphjzccwxgjvvjmlsxqwkcvs7md7wt", 1, "3A84F9CF51AAE98A3BB3A78BF16A6183790B18719126325BFC0C075B"),
        ("pref:pgagf7w02x4wnz3mkwnchut2vxphjzccwxgjvvjmlsxqwkcrsr6gzkn", 1, "3A84F9CF51AAE98A3BB3A78BF16A6183790B18719126325BFC0C075B"),
        ("prefix:0gagf7w02x4wnz3mkwnchut2vxphjzccwxgjvvjmlsxqwkc5djw8s9g", 15, "3A84F9CF51AAE98A3BB3A78BF16A6183790B18719126325BFC0C075B"),
        ("bitcoincash:qvch8mmxy0rtfrlarg7ucrxxfzds5pamg73h7370aa87d80gyhqxq5nlegake", 0, "3173EF6623C6B48FFD1A3DCC0CC6489B0A07BB47A37F47CFEF4FE69DE825C060"),
        ("bchtest:pvch8mmxy0rtfrlarg7ucrxxfzds5pamg73h7370aa87d80gyhqxq7fqng6m6", 1, "3173EF6623C6B48FFD1A3DCC0CC6489B0A07BB47A37F47CFEF4FE69DE825C060"),
        ("pref:pvch8mmxy0rtfrlarg7ucrxxfzds5pamg73h7370aa87d80gyhqxq4k9m7qf9", 1, "3173EF6623C6B48FFD1A3DCC0CC6489B0A07BB47A37F47CFEF4FE69DE825C060"),
        ("prefix:0vch8mmxy0rtfrlarg7ucrxxfzds5pamg73h7370aa87d80gyhqxqsh6jgp6w", 15, "3173EF6623C6B48FFD1A3DCC0CC6489B0A07BB47A37F47CFEF4FE69DE825C060"),
        ("bitcoincash:qnq8zwpj8cq05n7pytfmskuk9r4gzzel8qtsvwz79zdskftrzxtar994cgutavfklv39gr3uvz", 0, "C07138323E00FA4FC122D3B85B9628EA810B3F381706385E289B0B25631197D194B5C238BEB136FB"),
        ("bchtest:pnq8zwpj8cq05n7pytfmskuk9r4gzzel8qtsvwz79zdskftrzxtar994cgutavfklvmgm6ynej", 1, "C07138323E00FA4FC122D3B85B9628EA810B3F381706385E289B0B25631197D194B5C238BEB136FB"),
        ("pref:pnq8zwpj8cq05n7pytfmskuk9r4gzzel8qtsvwz79zdskftrzxtar994cgutavfklv0vx5z0w3", 1, "C07138323E00FA4FC122D3B85B9628EA810B3F381706385E289B0B25631197D194B5C238BEB136FB"),
        ("prefix:0nq8zwpj8cq05n7pytfmskuk9r4gzzel8qtsvwz79zdskftrzxtar994cgutavfklvwsvctzqy", 15, "C07138323E00FA4FC122D3B85B9628EA810B3F381706385E289B0B25631197D194B5C238BEB136FB"),
        ("bitcoincash:qh3krj5607v3qlqh5c3wq3lrw3wnuxw0sp8dv0zugrrt5a3kj6ucysfz8kxwv2k53krr7n933jfsunqex2w82sl", 0, "E361CA9A7F99107C17A622E047E3745D3E19CF804ED63C5C40C6BA763696B98241223D8CE62AD48D863F4CB18C930E4C"),
        ("bchtest:ph3krj5607v3qlqh5c3wq3lrw3wnuxw0sp8dv0zugrrt5a3kj6ucysfz8kxwv2k53krr7n933jfsunqnzf7mt6x", 1, "E361CA9A7F99107C17A622E047E3745D3E19CF804ED63C5C40C6BA763696B98241223D8CE62AD48D863F4CB18C930E4C"),
        ("pref:ph3krj5607v3qlqh5c3wq3lrw3wnuxw0sp8dv0zugrrt5a3kj6ucysfz8kxwv2k53krr7n933jfsunqjntdfcwg", 1, "E361CA9A7F99107C17A622E047E3745D3E19CF804ED63C5C40C6BA763696B98241223D8CE62AD48D863F4CB18C930E4C"),
        ("prefix:0h3krj5607v3qlqh5c3wq3lrw3wnuxw0sp8dv0zugrrt5a3kj6ucysfz8kxwv2k53krr7n933jfsunqakcssnmn", 15, "E361CA9A7F99107C17A622E047E3745D3E19CF804ED63C5C40C6BA763696B98241223D8CE62AD48D863F4CB18C930E4C"),
        ("bitcoincash:qmvl5lzvdm6km38lgga64ek5jhdl7e3aqd9895wu04fvhlnare5937w4ywkq57juxsrhvw8ym5d8qx7sz7zz0zvcypqscw8jd03f", 0, "D9FA7C4C6EF56DC4FF423BAAE6D495DBFF663D034A72D1DC7D52CBFE7D1E6858F9D523AC0A7A5C34077638E4DD1A701BD017842789982041"),
        ("bchtest:pmvl5lzvdm6km38lgga64ek5jhdl7e3aqd9895wu04fvhlnare5937w4ywkq57juxsrhvw8ym5d8qx7sz7zz0zvcypqs6kgdsg2g", 1, "D9FA7C4C6EF56DC4FF423BAAE6D495DBFF663D034A72D1DC7D52CBFE7D1E6858F9D523AC0A7A5C34077638E4DD1A701BD017842789982041"),
        ("pref:pmvl5lzvdm6km38lgga64ek5jhdl7e3aqd9895wu04fvhlnare5937w4ywkq57juxsrhvw8ym5d8qx7sz7zz0zvcypqsammyqffl", 1, "D9FA7C4C6EF56DC4FF423BAAE6D495DBFF663D034A72D1DC7D52CBFE7D1E6858F9D523AC0A7A5C34077638E4DD1A701BD017842789982041"),
        ("prefix:0mvl5lzvdm6km38lgga64ek5jhdl7e3aqd9895wu04fvhlnare5937w4ywkq57juxsrhvw8ym5d8qx7sz7zz0zvcypqsgjrqpnw8", 15, "D9FA7C4C6EF56DC4FF423BAAE6D495DBFF663D034A72D1DC7D52CBFE7D1E6858F9D523AC0A7A5C34077638E4DD1A701BD017842789982041"),
        ("bitcoincash:qlg0x333p4238k0qrc5ej7rzfw5g8e4a4r6vvzyrcy8j3s5k0en7calvclhw46hudk5flttj6ydvjc0pv3nchp52amk97tqa5zygg96mtky5sv5w", 0, "D0F346310D5513D9E01E299978624BA883E6BDA8F4C60883C10F28C2967E67EC77ECC7EEEAEAFC6DA89FAD72D11AC961E164678B868AEEEC5F2C1DA08884175B"),
        ("bchtest:plg0x333p4238k0qrc5ej7rzfw5g8e4a4r6vvzyrcy8j3s5k0en7calvclhw46hudk5flttj6ydvjc0pv3nchp52amk97tqa5zygg96mc773cwez", 1, "D0F346310D5513D9E01E299978624BA883E6BDA8F4C60883C10F28C2967E67EC77ECC7EEEAEAFC6DA89FAD72D11AC961E164678B868AEEEC5F2C1DA08884175B"),
        ("pref:plg0x333p4238k0qrc5ej7rzfw5g8e4a4r6vvzyrcy8j3s5k0en7calvclhw46hudk5flttj6ydvjc0pv3nchp52amk97tqa5zygg96mg7pj3lh8", 1, "D0F346310D5513D9E01E299978624BA883E6BDA8F4C60883C10F28C2967E67EC77ECC7EEEAEAFC6DA89FAD72D11AC961E164678B868AEEEC5F2C1DA08884175B"),
        ("prefix:0lg0x333p4238k0qrc5ej7rzfw5g8e4a4r6vvzyrcy8j3s5k0en7calvclhw46hudk5flttj6ydvjc0pv3nchp52amk97tqa5zygg96ms92w6845", 15, "D0F346310D5513D9E01E299978624BA883E6BDA8F4C60883C10F28C2967E67EC77ECC7EEEAEAFC6DA89FAD72D11AC961E164678B868AEEEC5F2C1DA08884175B"),
    ];

    #[test]
    fn spec_larger_vectors_both_directions() {
        for &(addr, kind, hash_hex) in LARGER {
            let hash = hex(hash_hex);
            let (prefix, _) = addr.split_once(':').unwrap();
            assert_eq!(encode(prefix, kind, &hash).as_deref(), Some(addr));
            let mut appended = String::from("x");
            assert!(encode_to(&mut appended, prefix, kind, &hash));
            assert_eq!(appended, format!("x{addr}"));
            let decoded = decode(addr, "bitcoincash").unwrap();
            assert_eq!(
                decoded,
                Decoded {
                    prefix: prefix.to_string(),
                    kind,
                    hash: hash.clone()
                }
            );
            // Upper case is fine, and the prefix may be left out if it is the default.
            assert_eq!(
                decode(&addr.to_uppercase(), "bitcoincash").unwrap().hash,
                hash
            );
            let bare = addr.split_once(':').unwrap().1;
            assert_eq!(decode(bare, prefix).unwrap().hash, hash);
        }
    }

    #[test]
    fn rejects_corruptions() {
        let good = "bitcoincash:qpm2qsznhks23z7629mms6s4cwef74vcwvy22gdx6a";
        assert!(decode(good, "bitcoincash").is_ok());
        // Every single-character substitution is caught (BCH code distance).
        for i in "bitcoincash:".len()..good.len() {
            let mut bytes = good.as_bytes().to_vec();
            bytes[i] = if bytes[i] == b'q' { b'p' } else { b'q' };
            let bad = String::from_utf8(bytes).unwrap();
            assert_eq!(
                decode(&bad, "bitcoincash"),
                Err(CashAddrError::Checksum),
                "{bad}"
            );
        }
        // Same payload under another prefix fails the checksum.
        assert_eq!(
            decode("bchtest:qpm2qsznhks23z7629mms6s4cwef74vcwvy22gdx6a", "x"),
            Err(CashAddrError::Checksum)
        );
        assert_eq!(
            decode(
                "bitcoincash:qpm2qsznhks23z7629mms6s4cwef74vcwvy22gdx6A",
                "x"
            ),
            Err(CashAddrError::MixedCase)
        );
        assert_eq!(
            decode(
                "bitcoincash:qpm2qsznhks23z7629mms6s4cwef74vcwvy22gdx6b",
                "x"
            ),
            Err(CashAddrError::InvalidChar('b'))
        );
        assert!(matches!(
            decode("bitcoincash:qpm2", "x"),
            Err(CashAddrError::BadLength(_))
        ));
        assert_eq!(
            decode(":qpm2qsznhks23z7629mms6s4cwef74vcwvy22gdx6a", "x"),
            Err(CashAddrError::InvalidPrefix)
        );
    }

    #[test]
    fn never_panics_on_junk() {
        for s in [
            "",
            ":",
            "bitcoincash:",
            "bitcoincash:ä",
            "ä:qpm2qsznhks23z7629mms6s4cwef74vcwvy22gdx6a",
            "bitcoincash:qpm2qsznhks23z7629mms6s4cwef74vcwvy22gdx6a:",
            "qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq",
            "ääääääääääääääääääääääääääääääääääääääääääää",
        ] {
            let _ = decode(s, "bitcoincash");
        }
        assert_eq!(encode("bitcoincash", 0, &[0; 21]), None);
        assert_eq!(encode("bitcoincash", 16, &[0; 20]), None);
    }
}
