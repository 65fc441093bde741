//! Rendering new scripts' addresses and kinds in the background while ingest goes on.
//!
//! The writer hands each run of newly interned scripts to a rayon task as soon as a batch of
//! blocks is stored; when a partition commits, its scripts table is the concatenation of the
//! finished runs, so address rendering overlaps parsing and interning instead of stalling the
//! commit.

use std::sync::mpsc::{channel, Receiver};
use std::sync::Mutex;

use crate::chain::Chain;

/// Rendered scripts of one run of consecutive script ids, in columnar form.
#[derive(Debug, Default)]
pub struct RenderedScripts {
    /// Script bytes, concatenated.
    pub script_bytes: Vec<u8>,
    /// End offset of each script in `script_bytes`.
    pub script_ends: Vec<usize>,
    /// Address strings, concatenated (UTF-8).
    pub address_bytes: Vec<u8>,
    /// End offset of each address in `address_bytes`.
    pub address_ends: Vec<usize>,
    /// Script kind names.
    pub kinds: Vec<&'static str>,
}

/// Runs of scripts being rendered, in id order.
#[derive(Debug, Default)]
pub struct Renderer {
    // A Mutex makes the receiver shareable, so the writer can be used from many threads.
    runs: Vec<Mutex<Receiver<RenderedScripts>>>,
}

impl Renderer {
    /// Start rendering `scripts` (concatenated bytes with their end offsets) for `chain`.
    pub fn spawn(&mut self, chain: Chain, script_bytes: Vec<u8>, script_ends: Vec<usize>) {
        let (tx, rx) = channel();
        rayon::spawn(move || {
            let mut out = RenderedScripts {
                address_bytes: Vec::with_capacity(script_ends.len() * 44),
                address_ends: Vec::with_capacity(script_ends.len()),
                kinds: Vec::with_capacity(script_ends.len()),
                ..RenderedScripts::default()
            };
            let mut address = String::with_capacity(128);
            let mut start = 0;
            for &end in &script_ends {
                let script = &script_bytes[start..end];
                address.clear();
                chain.write_address(script, &mut address);
                out.address_bytes.extend_from_slice(address.as_bytes());
                out.address_ends.push(out.address_bytes.len());
                out.kinds.push(crate::chain::classify(script).name());
                start = end;
            }
            out.script_bytes = script_bytes;
            out.script_ends = script_ends;
            // The receiver is only dropped when the writer itself is gone.
            let _ = tx.send(out);
        });
        self.runs.push(Mutex::new(rx));
    }

    /// Wait for every run started so far and concatenate them, in id order.
    pub fn collect(&mut self) -> RenderedScripts {
        let mut all = RenderedScripts::default();
        for rx in self.runs.drain(..) {
            let rx = rx
                .into_inner()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            let run = rx.recv().expect("a render task panicked");
            let (s0, a0) = (all.script_bytes.len(), all.address_bytes.len());
            all.script_bytes.extend_from_slice(&run.script_bytes);
            all.script_ends
                .extend(run.script_ends.iter().map(|e| e + s0));
            all.address_bytes.extend_from_slice(&run.address_bytes);
            all.address_ends
                .extend(run.address_ends.iter().map(|e| e + a0));
            all.kinds.extend(run.kinds);
        }
        all
    }
}
