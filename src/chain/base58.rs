//! Base58check of a 21-byte `version ‖ hash160` payload, the hot path of rendering legacy
//! addresses.
//!
//! `bitcoin::base58` converts byte by byte (≈ 25 × 34 small steps, about 1 µs per address);
//! this works on 32-bit words and limbs of 58⁵, about an order of magnitude fewer steps. The
//! output is identical — the tests compare it with `bitcoin::base58::encode_check`.

use bitcoin::hashes::{sha256, HashEngine};

/// The base58 alphabet.
const ALPHABET: &[u8; 58] = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

/// 58⁵, the largest power of 58 below 2³².
const LIMB: u64 = 58 * 58 * 58 * 58 * 58;

/// Limbs of 58⁵ needed for a 200-bit number (58⁵ > 2²⁹, 7 × 29 ≥ 200).
const LIMBS: usize = 7;

/// SHA-256 of a message that fits one block with its padding (at most 55 bytes): the block is
/// padded here and compressed once, and the state after it is the hash (the engine's own
/// padding feeds it in several pieces, and SHA-256d builds a second engine).
fn sha256_one_block(message: &[u8]) -> [u8; 32] {
    debug_assert!(
        message.len() <= 55,
        "one block holds at most 55 bytes and the padding"
    );
    let mut block = [0u8; 64];
    block[..message.len()].copy_from_slice(message);
    block[message.len()] = 0x80;
    block[56..].copy_from_slice(&(8 * message.len() as u64).to_be_bytes());
    let mut engine = sha256::HashEngine::default();
    engine.input(&block);
    engine.midstate().to_byte_array()
}

/// SHA-256d of a 21-byte payload, two one-block compressions.
fn sha256d_of_21(payload: &[u8; 21]) -> [u8; 32] {
    sha256_one_block(&sha256_one_block(payload))
}

/// Append base58check(`version ‖ hash`) to `out` (25 to 35 characters).
pub(crate) fn write_check(version: u8, hash: &[u8; 20], out: &mut String) {
    // 3 zero bytes of padding, then the 25 bytes (version, hash, checksum): 7 big-endian words.
    let mut bytes = [0u8; 28];
    bytes[3] = version;
    bytes[4..24].copy_from_slice(hash);
    let checksum = sha256d_of_21(bytes[3..24].try_into().expect("21 bytes"));
    bytes[24..].copy_from_slice(&checksum[..4]);

    // Base conversion: 2³² words (most significant first) → 58⁵ limbs (least significant first).
    let mut limbs = [0u64; LIMBS];
    let mut used = 0;
    for word in bytes.chunks_exact(4) {
        let mut carry = u64::from(u32::from_be_bytes([word[0], word[1], word[2], word[3]]));
        for limb in &mut limbs[..used] {
            let t = (*limb << 32) + carry; // limb < 2³⁰ and carry < 2³³: no overflow
            *limb = t % LIMB;
            carry = t / LIMB;
        }
        while carry > 0 && used < LIMBS {
            limbs[used] = carry % LIMB;
            carry /= LIMB;
            used += 1;
        }
    }

    // Limbs → digits, most significant first.
    let mut digits = [0u8; 5 * LIMBS];
    for (i, &limb) in limbs.iter().rev().enumerate() {
        let mut v = limb;
        for d in digits[5 * i..5 * i + 5].iter_mut().rev() {
            *d = (v % 58) as u8;
            v /= 58;
        }
    }
    let significant = digits.iter().position(|&d| d != 0).unwrap_or(digits.len());
    let leading_zero_bytes = bytes[3..].iter().take_while(|&&b| b == 0).count();

    out.reserve(leading_zero_bytes + digits.len() - significant);
    out.extend(std::iter::repeat_n('1', leading_zero_bytes));
    out.extend(
        digits[significant..]
            .iter()
            .map(|&d| char::from(ALPHABET[usize::from(d)])),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ours(version: u8, hash: &[u8; 20]) -> String {
        let mut s = String::new();
        write_check(version, hash, &mut s);
        s
    }

    fn reference(version: u8, hash: &[u8; 20]) -> String {
        let mut payload = vec![version];
        payload.extend_from_slice(hash);
        bitcoin::base58::encode_check(&payload)
    }

    #[test]
    fn matches_rust_bitcoin_on_edge_cases() {
        let edges: [[u8; 20]; 5] = [
            [0; 20],
            [0xff; 20],
            [1; 20],
            {
                let mut h = [0; 20];
                h[19] = 1;
                h
            },
            {
                let mut h = [0xff; 20];
                h[..10].fill(0);
                h
            },
        ];
        for version in [0u8, 1, 5, 48, 50, 55, 58, 111, 196, 255] {
            for hash in &edges {
                assert_eq!(
                    ours(version, hash),
                    reference(version, hash),
                    "{version} {hash:?}"
                );
            }
        }
    }

    #[test]
    fn matches_rust_bitcoin_on_pseudo_random_payloads() {
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        for i in 0..50_000 {
            let mut hash = [0u8; 20];
            for b in &mut hash {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                *b = x as u8;
            }
            // Exercise runs of leading zero bytes.
            hash[..(i % 6)].fill(0);
            let version = if i % 3 == 0 { 0 } else { x as u8 };
            assert_eq!(ours(version, &hash), reference(version, &hash));
        }
    }

    #[test]
    fn one_block_sha256_is_sha256() {
        use bitcoin::hashes::Hash;
        let message: Vec<u8> = (0u8..56).map(|i| i.wrapping_mul(37)).collect();
        for len in 0..=55 {
            let expected = sha256::Hash::hash(&message[..len]).to_byte_array();
            assert_eq!(sha256_one_block(&message[..len]), expected, "length {len}");
        }
        let payload: [u8; 21] = message[..21].try_into().unwrap();
        let expected = bitcoin::hashes::sha256d::Hash::hash(&payload).to_byte_array();
        assert_eq!(sha256d_of_21(&payload), expected);
    }

    #[test]
    fn known_address() {
        // rust-bitcoin's P2PKH test vector.
        let hash: [u8; 20] = [
            0x16, 0x2c, 0x5e, 0xa7, 0x1c, 0x0b, 0x23, 0xf5, 0xb9, 0x02, 0x2e, 0xf0, 0x47, 0xc4,
            0xa8, 0x64, 0x70, 0xa5, 0xb0, 0x70,
        ];
        assert_eq!(ours(0, &hash), "132F25rTsvBdp9JzLLBHP5mvGY66i1xdiM");
    }
}
