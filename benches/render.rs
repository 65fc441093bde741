//! Address rendering, the scripts encoder's hot path during ingest (every new script gets its
//! address): 100,000 pseudo-random scripts of each common template, rendered into one reused
//! buffer, per chain form (base58check, bech32/bech32m segwit, CashAddr).
//!
//! Run: `cargo bench --bench render`.

use divan::counter::ItemsCount;
use divan::Bencher;
use fundtrace::chain::Chain;

fn main() {
    divan::main();
}

/// Scripts per template.
const SCRIPTS: usize = 100_000;

/// `SCRIPTS` scripts made by `make` from pseudo-random bytes (xorshift, fixed seed).
fn scripts(make: fn(&[u8; 32]) -> Vec<u8>) -> Vec<Vec<u8>> {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    (0..SCRIPTS)
        .map(|_| {
            let mut bytes = [0u8; 32];
            for b in &mut bytes {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                *b = x as u8;
            }
            make(&bytes)
        })
        .collect()
}

fn p2pkh(b: &[u8; 32]) -> Vec<u8> {
    [&[0x76, 0xa9, 0x14][..], &b[..20], &[0x88, 0xac]].concat()
}

fn p2sh(b: &[u8; 32]) -> Vec<u8> {
    [&[0xa9, 0x14][..], &b[..20], &[0x87]].concat()
}

fn p2wpkh(b: &[u8; 32]) -> Vec<u8> {
    [&[0x00, 0x14][..], &b[..20]].concat()
}

fn p2wsh(b: &[u8; 32]) -> Vec<u8> {
    [&[0x00, 0x20][..], &b[..]].concat()
}

fn p2tr(b: &[u8; 32]) -> Vec<u8> {
    [&[0x51, 0x20][..], &b[..]].concat()
}

fn render(bencher: Bencher, chain: Chain, make: fn(&[u8; 32]) -> Vec<u8>) {
    let scripts = scripts(make);
    let mut out = String::with_capacity(SCRIPTS * 64);
    bencher.counter(ItemsCount::new(SCRIPTS)).bench_local(|| {
        out.clear();
        for script in &scripts {
            chain.write_address(script, &mut out);
        }
        out.len()
    });
}

#[divan::bench]
fn p2pkh_base58(bencher: Bencher) {
    render(bencher, Chain::Bitcoin, p2pkh);
}

#[divan::bench]
fn p2sh_base58(bencher: Bencher) {
    render(bencher, Chain::Bitcoin, p2sh);
}

#[divan::bench]
fn p2wpkh_bech32(bencher: Bencher) {
    render(bencher, Chain::Bitcoin, p2wpkh);
}

#[divan::bench]
fn p2wpkh_bech32_regtest(bencher: Bencher) {
    render(bencher, Chain::BitcoinRegtest, p2wpkh);
}

#[divan::bench]
fn p2wsh_bech32(bencher: Bencher) {
    render(bencher, Chain::Bitcoin, p2wsh);
}

#[divan::bench]
fn p2tr_bech32m(bencher: Bencher) {
    render(bencher, Chain::Bitcoin, p2tr);
}

#[divan::bench]
fn p2pkh_cashaddr(bencher: Bencher) {
    render(bencher, Chain::BitcoinCash, p2pkh);
}
