//! Labels from the real GraphSense TagPacks and OFAC lists in ../shared/datasets/real/tags.

mod support;

use fundtrace::chain::Chain;
use fundtrace::labels::tagpack::{read_address_list, read_tagpack};
use support::*;

#[test]
fn every_real_tagpack_imports_and_zaif_comes_out_right() {
    let Some(dir) =
        real_data("tags/graphsense/hacks.yaml").map(|p| p.parent().unwrap().to_path_buf())
    else {
        return;
    };
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    assert!(files.len() >= 8, "{files:?}");
    let mut total = 0;
    for f in &files {
        let (labels, report) =
            read_tagpack(f, Chain::Bitcoin).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        assert!(!labels.is_empty(), "{}", f.display());
        for problem in &report.invalid {
            eprintln!("reported: {problem}");
        }
        total += labels.len();
        if f.ends_with("ofac.yaml") {
            // 572 tags, of which 385 are BTC (SOURCES.md): the rest are other currencies.
            assert_eq!(labels.len() + report.invalid.len(), 385);
            assert_eq!(report.other_currency, 572 - 385);
        }
    }
    assert!(total > 1_500);
    let (hacks, _) = read_tagpack(&dir.join("hacks.yaml"), Chain::Bitcoin).unwrap();
    for hack in [
        "1FmwHh6pgkf4meCMoqo8fHH3GNRF571f9w",
        "3AQUApGQrgmpkrdWbPJJfJusZQYin5q68Z",
    ] {
        let l = hacks
            .iter()
            .find(|l| l.address == hack)
            .expect("the Zaif hack address is tagged");
        assert_eq!(
            (l.category.as_str(), l.actor.as_deref(), l.abuse.as_deref()),
            ("perpetrator", Some("zaif"), Some("service_hack"))
        );
    }
    // GraphSense's `mixing_service` is fundtrace's `mixer` (walletexplorer.yaml tags mixers).
    let (we, _) = read_tagpack(&dir.join("walletexplorer.yaml"), Chain::Bitcoin).unwrap();
    assert!(we.iter().any(|l| l.category == "mixer"));
    assert!(we.iter().all(|l| l.category != "mixing_service"));
    let zaif: Vec<_> = hacks
        .iter()
        .filter(|l| l.entity == "zaif" && l.category == "exchange")
        .collect();
    assert_eq!(zaif.len(), 113, "SOURCES.md: 113 addresses labelled Zaif");
}

#[test]
fn broken_yaml_names_file_and_line() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("broken.yaml");
    std::fs::write(
        &path,
        "title: x\ntags:\n- address: 1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa\n  label: [unclosed\n",
    )
    .unwrap();
    let err = read_tagpack(&path, Chain::Bitcoin).unwrap_err().to_string();
    assert!(
        err.contains("broken.yaml:") && err.contains("not valid YAML"),
        "{err}"
    );
    let line: usize = err
        .split("broken.yaml:")
        .nth(1)
        .unwrap()
        .split(':')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!((4..=5).contains(&line), "{err}");
}

#[test]
fn ofac_lists_import_per_chain() {
    for (file, chain, count) in [
        ("sanctioned_addresses_XBT.txt", Chain::Bitcoin, 435),
        ("sanctioned_addresses_LTC.txt", Chain::Litecoin, 10),
        ("sanctioned_addresses_BCH.txt", Chain::BitcoinCash, 7),
    ] {
        let Some(path) = real_data(&format!("tags/ofac/{file}")) else {
            return;
        };
        let (labels, report) = read_address_list(&path, chain).unwrap();
        // Every line is an address; any not valid for the chain is reported, not dropped.
        assert_eq!(
            labels.len() + report.invalid.len(),
            count,
            "{file}: {:?}",
            report.invalid
        );
        assert!(labels.iter().all(|l| l.category == "sanctioned"));
    }
}
