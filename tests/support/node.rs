//! A real `litecoind -regtest` for tests: started on free loopback ports in a temp datadir,
//! driven over RPC, stopped by RPC or by its pid when dropped (even when a test fails).

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

/// A running regtest node.
pub struct LitecoinNode {
    child: Child,
    bin: PathBuf,
    args: Vec<String>,
    /// The temp datadir (removed on drop).
    pub datadir: tempfile::TempDir,
    /// RPC URL.
    pub url: String,
    /// RPC port.
    pub rpc_port: u16,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The litecoind binary, or `None` (reason printed) when absent; under `CI` absence fails.
pub fn litecoind() -> Option<PathBuf> {
    let found = ["/usr/bin/litecoind", "/usr/lib/litecoin/litecoind"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists());
    if found.is_none() {
        let reason = "litecoind is absent (apt-get install -y litecoind)";
        if std::env::var_os("CI").is_some() {
            panic!("{reason}; CI requires it");
        }
        eprintln!("SKIPPED: {reason}");
    }
    found
}

fn spawn(bin: &Path, args: &[String]) -> Child {
    Command::new(bin)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("litecoind starts")
}

impl LitecoinNode {
    /// Start a node with MWEB kept off; `None` when litecoind is not installed (outside CI).
    pub fn start() -> Option<LitecoinNode> {
        Self::start_with(false)
    }

    /// Start a node; with `mweb` the extension block activates on regtest's schedule (height
    /// 432), otherwise it is kept off.
    pub fn start_with(mweb: bool) -> Option<LitecoinNode> {
        Self::start_with_args(mweb, &[])
    }

    /// [`Self::start_with`] with more command-line arguments (e.g. `-loadblock=FILE`).
    pub fn start_with_args(mweb: bool, extra: &[String]) -> Option<LitecoinNode> {
        let bin = litecoind()?;
        let vbparams = if mweb {
            "-vbparams=mweb:0:999999999999"
        } else {
            "-vbparams=mweb:-2:0"
        };
        let datadir = tempfile::tempdir().unwrap();
        let (rpc_port, p2p_port) = (free_port(), free_port());
        let args: Vec<String> = [
            "-regtest",
            "-server",
            "-listen=0",
            "-txindex=0",
            "-fallbackfee=0.0002",
            "-printtoconsole=0",
            "-rpcbind=127.0.0.1",
            "-rpcallowip=127.0.0.1",
            // Blocks and headers as binary (ingest falls back to RPC without it; a test asks for
            // that path with --no-rest).
            "-rest=1",
            vbparams,
            &format!("-datadir={}", datadir.path().display()),
            &format!("-rpcport={rpc_port}"),
            &format!("-port={p2p_port}"),
        ]
        .iter()
        .map(|s| s.to_string())
        .chain(extra.iter().cloned())
        .collect();
        let child = spawn(&bin, &args);
        let node = LitecoinNode {
            child,
            bin,
            args,
            datadir,
            url: format!("http://127.0.0.1:{rpc_port}"),
            rpc_port,
        };
        node.wait_ready();
        Some(node)
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while !(self.cookie().exists() && self.try_call("getblockchaininfo", &[]).is_ok()) {
            assert!(
                Instant::now() < deadline,
                "litecoind did not answer RPC within 60 s"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Start the node again on the same datadir and ports (after [`Self::stop`]).
    pub fn restart(&mut self) {
        self.child = spawn(&self.bin, &self.args);
        self.wait_ready();
        let _ = self.try_call("loadwallet", &[json!("w")]);
    }

    /// The node's cookie file.
    pub fn cookie(&self) -> PathBuf {
        self.datadir.path().join("regtest/.cookie")
    }

    /// The node's blocks directory.
    pub fn blocks_dir(&self) -> PathBuf {
        self.datadir.path().join("regtest/blocks")
    }

    fn try_call(&self, method: &str, params: &[Value]) -> Result<Value, String> {
        let cookie = std::fs::read_to_string(self.cookie()).map_err(|e| e.to_string())?;
        let (user, pass) = cookie.trim().split_once(':').ok_or("bad cookie")?;
        let client = bitcoincore_rpc::Client::new(
            &format!("{}/wallet/w", self.url),
            bitcoincore_rpc::Auth::UserPass(user.into(), pass.into()),
        )
        .map_err(|e| e.to_string())?;
        bitcoincore_rpc::RpcApi::call::<Value>(&client, method, params).map_err(|e| e.to_string())
    }

    /// Call an RPC method (on wallet `w` for wallet calls), panicking with the node's message.
    pub fn call(&self, method: &str, params: &[Value]) -> Value {
        self.try_call(method, params)
            .unwrap_or_else(|e| panic!("{method} {params:?}: {e}"))
    }

    /// Stop the node and wait for it to exit (its blk files are then complete).
    pub fn stop(&mut self) {
        let _ = self.try_call("stop", &[]);
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if self.child.try_wait().unwrap().is_some() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Mine `n` blocks to `address`.
    pub fn mine(&self, n: u32, address: &str) -> Vec<String> {
        serde_json::from_value(self.call("generatetoaddress", &[json!(n), json!(address)])).unwrap()
    }

    /// A new wallet address of `kind` (legacy, p2sh-segwit, bech32).
    pub fn address(&self, kind: &str) -> String {
        self.call("getnewaddress", &[json!(""), json!(kind)])
            .as_str()
            .unwrap()
            .to_string()
    }

    /// Spend exactly these outpoints to these outputs (satoshis), signed by the wallet; returns the txid.
    pub fn spend(&self, inputs: &[(String, u32)], outputs: &[(String, u64)]) -> String {
        let ins: Vec<Value> = inputs
            .iter()
            .map(|(t, v)| json!({"txid": t, "vout": v}))
            .collect();
        let mut outs = serde_json::Map::new();
        for (a, sat) in outputs {
            let btc: Value =
                serde_json::from_str(&format!("{}.{:08}", sat / 100_000_000, sat % 100_000_000))
                    .unwrap();
            outs.insert(a.clone(), btc);
        }
        let raw = self.call("createrawtransaction", &[json!(ins), Value::Object(outs)]);
        let signed = self.call("signrawtransactionwithwallet", &[raw]);
        assert_eq!(signed["complete"], true, "signing failed: {signed}");
        self.call("sendrawtransaction", &[signed["hex"].clone()])
            .as_str()
            .unwrap()
            .to_string()
    }

    /// The value (satoshis) and script-address of `txid:vout`, via the wallet's raw transaction.
    pub fn output_value(&self, txid: &str, vout: u32) -> u64 {
        let tx = self.call("getrawtransaction", &[json!(txid), json!(true)]);
        let v = tx["vout"][vout as usize]["value"].as_f64().unwrap();
        (v * 1e8).round() as u64
    }

    /// The datadir path.
    pub fn path(&self) -> &Path {
        self.datadir.path()
    }
}

impl Drop for LitecoinNode {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.try_call("stop", &[]);
            std::thread::sleep(Duration::from_millis(300));
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
