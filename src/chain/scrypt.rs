//! scrypt (RFC 7914), the proof-of-work hash of Litecoin: `scrypt(header, header, N=1024, r=1,
//! p=1, 32 bytes)` of the 80-byte header, compared as a little-endian 256-bit number with the
//! target. Block *hashes* stay sha256d; only the work is proven with scrypt.
//!
//! The generator mines Litecoin blocks with it, so a real `litecoind` accepts generated chains
//! (`-loadblock`). Ingest does not check it: at ~0.1 ms a header it would cost minutes on the
//! full chain, and the blk reader's chain choice does not need it (see `ingest/blkfile.rs`).

use bitcoin::hashes::{hmac, sha256, Hash, HashEngine};

/// PBKDF2-HMAC-SHA256 with `iterations` rounds, filling `out`.
fn pbkdf2_sha256(password: &[u8], salt: &[u8], iterations: u32, out: &mut [u8]) {
    for (block, chunk) in out.chunks_mut(32).enumerate() {
        let mut engine = hmac::HmacEngine::<sha256::Hash>::new(password);
        engine.input(salt);
        engine.input(&(block as u32 + 1).to_be_bytes());
        let mut u = hmac::Hmac::<sha256::Hash>::from_engine(engine).to_byte_array();
        let mut t = u;
        for _ in 1..iterations {
            let mut engine = hmac::HmacEngine::<sha256::Hash>::new(password);
            engine.input(&u);
            u = hmac::Hmac::<sha256::Hash>::from_engine(engine).to_byte_array();
            for (a, b) in t.iter_mut().zip(u) {
                *a ^= b;
            }
        }
        chunk.copy_from_slice(&t[..chunk.len()]);
    }
}

/// The Salsa20/8 core on 16 little-endian words, in place.
fn salsa20_8(b: &mut [u32; 16]) {
    let mut x = *b;
    for _ in 0..4 {
        macro_rules! qr {
            ($a:expr, $b:expr, $c:expr, $d:expr) => {
                x[$b] ^= x[$a].wrapping_add(x[$d]).rotate_left(7);
                x[$c] ^= x[$b].wrapping_add(x[$a]).rotate_left(9);
                x[$d] ^= x[$c].wrapping_add(x[$b]).rotate_left(13);
                x[$a] ^= x[$d].wrapping_add(x[$c]).rotate_left(18);
            };
        }
        // Columns, then rows.
        qr!(0, 4, 8, 12);
        qr!(5, 9, 13, 1);
        qr!(10, 14, 2, 6);
        qr!(15, 3, 7, 11);
        qr!(0, 1, 2, 3);
        qr!(5, 6, 7, 4);
        qr!(10, 11, 8, 9);
        qr!(15, 12, 13, 14);
    }
    for (a, x) in b.iter_mut().zip(x) {
        *a = a.wrapping_add(x);
    }
}

/// scryptBlockMix on `2r` blocks of 16 words.
fn block_mix(b: &[u32], out: &mut [u32], r: usize) {
    let mut x: [u32; 16] = b[(2 * r - 1) * 16..].try_into().expect("16 words");
    for i in 0..2 * r {
        for (xk, bk) in x.iter_mut().zip(&b[i * 16..(i + 1) * 16]) {
            *xk ^= bk;
        }
        salsa20_8(&mut x);
        // Even blocks first, then odd ones.
        let at = (i / 2 + (i % 2) * r) * 16;
        out[at..at + 16].copy_from_slice(&x);
    }
}

/// scryptROMix on one `128·r`-byte block, in place.
fn ro_mix(block: &mut [u8], n: usize, r: usize) {
    let words = 32 * r;
    let mut x: Vec<u32> = block
        .chunks_exact(4)
        .map(|c| u32::from_le_bytes(c.try_into().expect("4 bytes")))
        .collect();
    let mut v = vec![0u32; n * words];
    let mut tmp = vec![0u32; words];
    for i in 0..n {
        v[i * words..(i + 1) * words].copy_from_slice(&x);
        block_mix(&x, &mut tmp, r);
        std::mem::swap(&mut x, &mut tmp);
    }
    for _ in 0..n {
        // Integerify: the first word of the last 64-byte block, modulo N (a power of two).
        let j = x[(2 * r - 1) * 16] as usize & (n - 1);
        for (xk, vk) in x.iter_mut().zip(&v[j * words..(j + 1) * words]) {
            *xk ^= vk;
        }
        block_mix(&x, &mut tmp, r);
        std::mem::swap(&mut x, &mut tmp);
    }
    for (c, w) in block.chunks_exact_mut(4).zip(x) {
        c.copy_from_slice(&w.to_le_bytes());
    }
}

/// scrypt of `password` and `salt` with cost `n` (a power of two), block size `r` and
/// parallelism `p`, filling `out`.
pub fn scrypt(password: &[u8], salt: &[u8], n: usize, r: usize, p: usize, out: &mut [u8]) {
    assert!(
        n.is_power_of_two() && n > 1,
        "scrypt N must be a power of two above 1"
    );
    let mut b = vec![0u8; 128 * r * p];
    pbkdf2_sha256(password, salt, 1, &mut b);
    for block in b.chunks_exact_mut(128 * r) {
        ro_mix(block, n, r);
    }
    pbkdf2_sha256(password, &b, 1, out);
}

/// Litecoin's proof-of-work hash of an 80-byte header, in the byte order of a block hash
/// (compare with `Target::is_met_by` after wrapping it as one).
pub fn litecoin_pow_hash(header: &[u8; 80]) -> [u8; 32] {
    let mut out = [0u8; 32];
    scrypt(header, header, 1024, 1, 1, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use bitcoin::block::Header;
    use bitcoin::consensus::encode::serialize;
    use bitcoin::hex::DisplayHex;
    use bitcoin::BlockHash;

    fn run(p: &[u8], s: &[u8], n: usize, r: usize, par: usize) -> String {
        let mut out = [0u8; 64];
        scrypt(p, s, n, r, par, &mut out);
        out.to_lower_hex_string()
    }

    /// RFC 7914 section 12, the first two vectors.
    #[test]
    fn rfc7914_vectors() {
        assert_eq!(
            run(b"", b"", 16, 1, 1),
            "77d6576238657b203b19ca42c18a0497f16b4844e3074ae8dfdffa3fede21442\
             fcd0069ded0948f8326a753a0fc81f17e8d3e0fb2e0d3628cf35e20c38d18906"
        );
        assert_eq!(
            run(b"password", b"NaCl", 1024, 8, 16),
            "fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b373162\
             2eaf30d92e22a3886ff109279d9830dac727afb94a83ee6d8360cbdfa2cc0640"
        );
    }

    /// RFC 7914 section 11: PBKDF2-HMAC-SHA256 of "passwd"/"salt", 1 iteration, 64 bytes.
    #[test]
    fn rfc7914_pbkdf2_vector() {
        let mut out = [0u8; 64];
        pbkdf2_sha256(b"passwd", b"salt", 1, &mut out);
        assert_eq!(
            out.to_lower_hex_string(),
            "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc\
             49ca9cccf179b645991664b39d77ef317c71b845b1e30bd509112041d3a19783"
        );
    }

    /// Litecoin's mainnet genesis header (bits 0x1e0ffff0) meets its target under scrypt but not
    /// by its sha256d hash: the work is proven with scrypt. A wrong scrypt would pass by chance
    /// with probability about 2^-20.
    #[test]
    fn litecoin_genesis_work_is_proven_by_scrypt() {
        let block = crate::generate::genesis::genesis_block(crate::chain::Chain::Litecoin);
        let header: Header = block.header;
        let bytes: [u8; 80] = serialize(&header).try_into().unwrap();
        let pow = BlockHash::from_byte_array(litecoin_pow_hash(&bytes));
        assert!(header.target().is_met_by(pow), "scrypt hash {pow}");
        assert!(!header.target().is_met_by(header.block_hash()));
    }
}
