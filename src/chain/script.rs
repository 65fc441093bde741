//! Recognising output-script templates (chain-independent).
//!
//! The matching rules follow Bitcoin Core's `Solver` (`script/solver.cpp`) so that a script
//! classified here as, say, P2PK is exactly one that Core (and explorers built on it) would
//! treat as P2PK. Patterns are recognised whatever the chain: whether a pattern *has* an address
//! on a given chain (segwit on Bitcoin Cash, P2SH32 outside it) is decided in `address.rs`.

/// `OP_0`.
const OP_0: u8 = 0x00;
/// `OP_PUSHDATA1`.
const OP_PUSHDATA1: u8 = 0x4c;
/// `OP_PUSHDATA2`.
const OP_PUSHDATA2: u8 = 0x4d;
/// `OP_PUSHDATA4`.
const OP_PUSHDATA4: u8 = 0x4e;
/// `OP_1`; `OP_n` is `OP_1 + n - 1` up to `OP_16`.
const OP_1: u8 = 0x51;
/// `OP_16`.
const OP_16: u8 = 0x60;
/// `OP_RETURN`.
pub(crate) const OP_RETURN: u8 = 0x6a;
/// `OP_DUP`.
const OP_DUP: u8 = 0x76;
/// `OP_EQUAL`.
const OP_EQUAL: u8 = 0x87;
/// `OP_EQUALVERIFY`.
const OP_EQUALVERIFY: u8 = 0x88;
/// `OP_HASH160`.
const OP_HASH160: u8 = 0xa9;
/// `OP_HASH256`.
const OP_HASH256: u8 = 0xaa;
/// `OP_CHECKSIG`.
const OP_CHECKSIG: u8 = 0xac;
/// `OP_CHECKMULTISIG`.
const OP_CHECKMULTISIG: u8 = 0xae;

/// Bitcoin Core's `MAX_SCRIPT_SIZE`: longer scripts can never be executed.
pub const MAX_SCRIPT_SIZE: usize = 10_000;
/// Bitcoin Core's `MAX_PUBKEYS_PER_MULTISIG`.
const MAX_PUBKEYS_PER_MULTISIG: u32 = 20;

/// The kind of an output script, as recognised by [`classify`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ScriptKind {
    /// Pay-to-pubkey: `<33- or 65-byte pubkey> OP_CHECKSIG`.
    P2pk,
    /// Pay-to-pubkey-hash: `OP_DUP OP_HASH160 <20> OP_EQUALVERIFY OP_CHECKSIG`.
    P2pkh,
    /// Pay-to-script-hash: `OP_HASH160 <20> OP_EQUAL`.
    P2sh,
    /// Bitcoin Cash's 32-byte pay-to-script-hash (May 2023): `OP_HASH256 <32> OP_EQUAL`.
    P2sh32,
    /// Segwit v0 pay-to-witness-pubkey-hash: `OP_0 <20>`.
    P2wpkh,
    /// Segwit v0 pay-to-witness-script-hash: `OP_0 <32>`.
    P2wsh,
    /// Segwit v1 pay-to-taproot: `OP_1 <32>`.
    P2tr,
    /// Any other witness program: `OP_1..OP_16 <2..40 bytes>` (including pay-to-anchor).
    WitnessUnknown,
    /// Anything starting with `OP_RETURN` (provably unspendable; not only standard nulldata).
    OpReturn,
    /// Bare multisig: `OP_m <pubkey>… OP_n OP_CHECKMULTISIG`.
    Multisig,
    /// Everything else, including the empty script and v0 witness programs of other lengths.
    NonStandard,
}

impl ScriptKind {
    /// Every kind, in declaration order.
    pub const ALL: [ScriptKind; 11] = [
        ScriptKind::P2pk,
        ScriptKind::P2pkh,
        ScriptKind::P2sh,
        ScriptKind::P2sh32,
        ScriptKind::P2wpkh,
        ScriptKind::P2wsh,
        ScriptKind::P2tr,
        ScriptKind::WitnessUnknown,
        ScriptKind::OpReturn,
        ScriptKind::Multisig,
        ScriptKind::NonStandard,
    ];

    /// Short lowercase name (`"p2pkh"`, `"op_return"`, …), stable for use in files.
    pub fn name(self) -> &'static str {
        match self {
            ScriptKind::P2pk => "p2pk",
            ScriptKind::P2pkh => "p2pkh",
            ScriptKind::P2sh => "p2sh",
            ScriptKind::P2sh32 => "p2sh32",
            ScriptKind::P2wpkh => "p2wpkh",
            ScriptKind::P2wsh => "p2wsh",
            ScriptKind::P2tr => "p2tr",
            ScriptKind::WitnessUnknown => "witness_unknown",
            ScriptKind::OpReturn => "op_return",
            ScriptKind::Multisig => "multisig",
            ScriptKind::NonStandard => "nonstandard",
        }
    }
}

impl std::fmt::Display for ScriptKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Classify an output script. Never panics, whatever the bytes.
pub fn classify(script: &[u8]) -> ScriptKind {
    match Template::of(script) {
        Template::P2pk(_) => ScriptKind::P2pk,
        Template::P2pkh(_) => ScriptKind::P2pkh,
        Template::P2sh(_) => ScriptKind::P2sh,
        Template::P2sh32(_) => ScriptKind::P2sh32,
        Template::Witness {
            version: 0,
            program,
        } if program.len() == 20 => ScriptKind::P2wpkh,
        Template::Witness {
            version: 0,
            program,
        } if program.len() == 32 => ScriptKind::P2wsh,
        Template::Witness {
            version: 1,
            program,
        } if program.len() == 32 => ScriptKind::P2tr,
        Template::Witness { .. } => ScriptKind::WitnessUnknown,
        Template::OpReturn => ScriptKind::OpReturn,
        Template::Multisig => ScriptKind::Multisig,
        Template::NonStandard => ScriptKind::NonStandard,
    }
}

/// Whether an output script can never be spent, per Bitcoin Core's `CScript::IsUnspendable`:
/// it starts with `OP_RETURN` or is longer than [`MAX_SCRIPT_SIZE`] bytes.
pub fn is_unspendable(script: &[u8]) -> bool {
    script.first() == Some(&OP_RETURN) || script.len() > MAX_SCRIPT_SIZE
}

/// A recognised script template, borrowing the interesting bytes from the script.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Template<'a> {
    /// P2PK with the serialized public key (33 or 65 bytes, header byte already checked).
    P2pk(&'a [u8]),
    /// P2PKH with the pubkey hash.
    P2pkh(&'a [u8; 20]),
    /// P2SH with the script hash.
    P2sh(&'a [u8; 20]),
    /// P2SH32 with the 32-byte (double-SHA256) script hash.
    P2sh32(&'a [u8; 32]),
    /// A witness program: version 0..=16 and a 2..=40-byte program; v0 only with 20 or 32 bytes
    /// (other v0 lengths are non-standard per Core and have no address per BIP-173).
    Witness {
        /// Witness version, 0..=16.
        version: u8,
        /// Witness program.
        program: &'a [u8],
    },
    /// Starts with `OP_RETURN`.
    OpReturn,
    /// Bare multisig.
    Multisig,
    /// Anything else.
    NonStandard,
}

impl<'a> Template<'a> {
    /// Match `script` against the known templates.
    pub(crate) fn of(script: &'a [u8]) -> Template<'a> {
        // Fixed-layout templates first: cheap length + byte checks, no parsing.
        match script {
            [OP_DUP, OP_HASH160, 20, hash @ .., OP_EQUALVERIFY, OP_CHECKSIG] => {
                if let Ok(hash) = <&[u8; 20]>::try_from(hash) {
                    return Template::P2pkh(hash);
                }
            }
            [OP_HASH160, 20, hash @ .., OP_EQUAL] => {
                if let Ok(hash) = <&[u8; 20]>::try_from(hash) {
                    return Template::P2sh(hash);
                }
            }
            [OP_HASH256, 32, hash @ .., OP_EQUAL] => {
                if let Ok(hash) = <&[u8; 32]>::try_from(hash) {
                    return Template::P2sh32(hash);
                }
            }
            [OP_RETURN, ..] => return Template::OpReturn,
            _ => {}
        }
        if let Some((version, program)) = witness_program(script) {
            // Core's Solver: v0 programs of other lengths are NONSTANDARD.
            if version != 0 || program.len() == 20 || program.len() == 32 {
                return Template::Witness { version, program };
            }
            return Template::NonStandard;
        }
        if let [push, key @ .., OP_CHECKSIG] = script {
            if usize::from(*push) == key.len() && pubkey_valid_size(key) {
                return Template::P2pk(key);
            }
        }
        if is_multisig(script) {
            return Template::Multisig;
        }
        Template::NonStandard
    }
}

/// Core's `CScript::IsWitnessProgram`: a version opcode followed by one direct push of 2..=40
/// bytes and nothing else.
fn witness_program(script: &[u8]) -> Option<(u8, &[u8])> {
    let [op, len, program @ ..] = script else {
        return None;
    };
    if !(4..=42).contains(&script.len()) || usize::from(*len) != program.len() {
        return None;
    }
    let version = match *op {
        OP_0 => 0,
        OP_1..=OP_16 => op - OP_1 + 1,
        _ => return None,
    };
    Some((version, program))
}

/// Core's `CPubKey::ValidSize`: the length the header byte implies (02/03 compressed, 04/06/07
/// uncompressed or hybrid).
fn pubkey_valid_size(key: &[u8]) -> bool {
    match key.first() {
        Some(2 | 3) => key.len() == 33,
        Some(4 | 6 | 7) => key.len() == 65,
        _ => false,
    }
}

/// One parsed script operation: the opcode and, for pushes, the pushed bytes.
struct Op<'a> {
    opcode: u8,
    data: &'a [u8],
}

/// Core's `GetScriptOp`: read the operation at `*pos`, advancing past it. `None` when the
/// script ends or a push runs past its end.
fn next_op<'a>(script: &'a [u8], pos: &mut usize) -> Option<Op<'a>> {
    let rest = script.get(*pos..)?;
    let (&opcode, rest) = rest.split_first()?;
    let (len, header): (usize, usize) = match opcode {
        0x01..=0x4b => (usize::from(opcode), 0),
        OP_PUSHDATA1 => (usize::from(*rest.first()?), 1),
        OP_PUSHDATA2 => {
            let b = rest.get(..2)?;
            (usize::from(u16::from_le_bytes([b[0], b[1]])), 2)
        }
        OP_PUSHDATA4 => {
            let b = rest.get(..4)?;
            (
                usize::try_from(u32::from_le_bytes([b[0], b[1], b[2], b[3]])).ok()?,
                4,
            )
        }
        _ => (0, 0),
    };
    let data = rest.get(header..header.checked_add(len)?)?;
    *pos += 1 + header + len;
    Some(Op { opcode, data })
}

/// Core's `GetScriptNumber(opcode, data, min, max)` for the range used by multisig
/// (1..=20): `OP_1..OP_16`, or a minimal one-byte push of 17..=20.
fn multisig_number(op: &Op<'_>, min: u32, max: u32) -> Option<u32> {
    let n = match op.opcode {
        OP_1..=OP_16 => u32::from(op.opcode - OP_1 + 1),
        // A one-byte push is the minimal encoding only for values with no OP_n opcode, i.e.
        // not 1..=16 and not 0x81 (-1); values 0x80.. are negative or non-minimal anyway.
        0x01 => match op.data {
            [v @ 17..=0x7f] => u32::from(*v),
            _ => return None,
        },
        _ => return None,
    };
    (min..=max).contains(&n).then_some(n)
}

/// Core's `MatchMultisig`: `<m> <pubkey>… <n> OP_CHECKMULTISIG` with `1 <= m <= n <= 20` and
/// exactly `n` validly sized keys.
fn is_multisig(script: &[u8]) -> bool {
    if script.last() != Some(&OP_CHECKMULTISIG) {
        return false;
    }
    let mut pos = 0;
    let Some(first) = next_op(script, &mut pos) else {
        return false;
    };
    let Some(required) = multisig_number(&first, 1, MAX_PUBKEYS_PER_MULTISIG) else {
        return false;
    };
    let mut keys = 0u32;
    let last = loop {
        match next_op(script, &mut pos) {
            Some(op) if op.opcode <= OP_PUSHDATA4 && pubkey_valid_size(op.data) => keys += 1,
            other => break other,
        }
    };
    let Some(last) = last else {
        return false;
    };
    let Some(count) = multisig_number(&last, required, MAX_PUBKEYS_PER_MULTISIG) else {
        return false;
    };
    count == keys && pos + 1 == script.len()
}

#[cfg(test)]
mod tests {
    use bitcoin::hex::FromHex;

    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        Vec::from_hex(s).unwrap()
    }

    const KEY33: &str = "0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798";
    const KEY65: &str = "0479be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798\
                         483ada7726a3c4655da4fbfc0e1108a8fd17b448a68554199c47d08ffb10d4b8";

    #[test]
    fn classifies_standard_templates() {
        let cases = [
            (
                "76a914162c5ea71c0b23f5b9022ef047c4a86470a5b07088ac",
                ScriptKind::P2pkh,
            ),
            (
                "a914162c5ea71c0b23f5b9022ef047c4a86470a5b07087",
                ScriptKind::P2sh,
            ),
            (
                "aa20000000c4a5cad46221b2a187905e5266362b99d5e91c6ce24d165dab93e8643387",
                ScriptKind::P2sh32,
            ),
            (
                "0014751e76e8199196d454941c45d1b3a323f1433bd6",
                ScriptKind::P2wpkh,
            ),
            (
                "00201863143c14c5166804bd19203356da136c985678cd4d27a1b8c6329604903262",
                ScriptKind::P2wsh,
            ),
            (
                "512079be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798",
                ScriptKind::P2tr,
            ),
            ("6002751e", ScriptKind::WitnessUnknown),
            ("51024e73", ScriptKind::WitnessUnknown), // pay-to-anchor
            (
                "5210751e76e8199196d454941c45d1b3a323",
                ScriptKind::WitnessUnknown,
            ),
            ("6a", ScriptKind::OpReturn),
            ("6a0b68656c6c6f20776f726c64", ScriptKind::OpReturn),
            ("", ScriptKind::NonStandard),
            ("00", ScriptKind::NonStandard),
            ("51", ScriptKind::NonStandard),
            // v0 program of a length other than 20/32: non-standard (Core) and no address.
            (
                "0010751e76e8199196d454941c45d1b3a323",
                ScriptKind::NonStandard,
            ),
            // witness program with a trailing byte / wrong push length.
            (
                "0014751e76e8199196d454941c45d1b3a323f1433bd600",
                ScriptKind::NonStandard,
            ),
            (
                "0015751e76e8199196d454941c45d1b3a323f1433bd6",
                ScriptKind::NonStandard,
            ),
            // 1-byte and 41-byte programs are not witness programs.
            ("510100", ScriptKind::NonStandard),
        ];
        for (script, kind) in cases {
            assert_eq!(classify(&hex(script)), kind, "{script}");
        }
    }

    #[test]
    fn classifies_p2pk_like_core() {
        assert_eq!(classify(&hex(&format!("21{KEY33}ac"))), ScriptKind::P2pk);
        assert_eq!(classify(&hex(&format!("41{KEY65}ac"))), ScriptKind::P2pk);
        // Hybrid keys (06/07) have a valid size too.
        assert_eq!(
            classify(&hex(&format!("4106{}ac", &KEY65[2..]))),
            ScriptKind::P2pk
        );
        // Header byte that does not match the length.
        assert_eq!(
            classify(&hex(&format!("2104{}ac", &KEY33[2..]))),
            ScriptKind::NonStandard
        );
        assert_eq!(
            classify(&hex(&format!("4102{}ac", &KEY65[2..]))),
            ScriptKind::NonStandard
        );
        assert_eq!(
            classify(&hex(&format!("2105{}ac", &KEY33[2..]))),
            ScriptKind::NonStandard
        );
        // PUSHDATA1 instead of a direct push is not P2PK.
        assert_eq!(
            classify(&hex(&format!("4c21{KEY33}ac"))),
            ScriptKind::NonStandard
        );
    }

    #[test]
    fn classifies_bare_multisig_like_core() {
        let one_of_two = format!("5121{KEY33}41{KEY65}52ae");
        assert_eq!(classify(&hex(&one_of_two)), ScriptKind::Multisig);
        // m > n, n != number of keys, trailing garbage, missing OP_CHECKMULTISIG.
        for bad in [
            format!("5321{KEY33}41{KEY65}52ae"),
            format!("5121{KEY33}41{KEY65}53ae"),
            format!("5121{KEY33}41{KEY65}5200ae"),
            format!("5121{KEY33}41{KEY65}52"),
            format!("0021{KEY33}51ae"), // m = 0
            format!("21{KEY33}51ae"),   // no m at all
            "51ae".to_string(),         // 1-of-0
        ] {
            assert_eq!(classify(&hex(&bad)), ScriptKind::NonStandard, "{bad}");
        }
        // Keys may be pushed with PUSHDATA1 (Core only checks their size).
        assert_eq!(
            classify(&hex(&format!("514c21{KEY33}51ae"))),
            ScriptKind::Multisig
        );
        // n = 17..20 is pushed as a one-byte number.
        let keys17: String = (0..17).map(|_| format!("21{KEY33}")).collect();
        assert_eq!(
            classify(&hex(&format!("51{keys17}0111ae"))),
            ScriptKind::Multisig
        );
        // ...but 16 pushed that way is not minimal.
        let keys16: String = (0..16).map(|_| format!("21{KEY33}")).collect();
        assert_eq!(
            classify(&hex(&format!("51{keys16}0110ae"))),
            ScriptKind::NonStandard
        );
        assert_eq!(
            classify(&hex(&format!("51{keys16}60ae"))),
            ScriptKind::Multisig
        );
    }

    #[test]
    fn unspendable_like_core() {
        assert!(is_unspendable(&[OP_RETURN]));
        assert!(is_unspendable(&hex("6a0401020304")));
        assert!(is_unspendable(&vec![0x51; MAX_SCRIPT_SIZE + 1]));
        assert!(!is_unspendable(&vec![0x51; MAX_SCRIPT_SIZE]));
        assert!(!is_unspendable(&[]));
        assert!(!is_unspendable(&hex(
            "76a914162c5ea71c0b23f5b9022ef047c4a86470a5b07088ac"
        )));
    }

    #[test]
    fn kind_names_are_distinct_lowercase() {
        let names: std::collections::HashSet<_> =
            ScriptKind::ALL.iter().map(|k| k.name()).collect();
        assert_eq!(names.len(), ScriptKind::ALL.len());
        for k in ScriptKind::ALL {
            assert_eq!(k.name(), k.name().to_lowercase());
            assert_eq!(k.to_string(), k.name());
        }
    }

    #[test]
    fn op_parser_never_reads_past_the_end() {
        for script in [
            &[0x4c][..],
            &[0x4c, 0x05, 0x01],
            &[0x4d, 0xff],
            &[0x4d, 0xff, 0xff, 0x00],
            &[0x4e, 0xff, 0xff, 0xff, 0xff],
            &[0x4b],
            &[0x01],
        ] {
            let mut pos = 0;
            assert!(next_op(script, &mut pos).is_none(), "{script:?}");
        }
        let mut pos = 0;
        let op = next_op(&[0x4d, 0x02, 0x00, 0xaa, 0xbb, 0xcc], &mut pos).unwrap();
        assert_eq!((op.opcode, op.data, pos), (0x4d, &[0xaa, 0xbb][..], 5));
    }
}
