//! The node behind one type: every RPC call, retry and credential in this module (as electrs
//! does), and `ingest --rpc`, which fetches raw blocks with several requests in flight, parses
//! them with the same parser as the blk path and writes the same store.

mod feed;
mod transport;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use feed::Fed;

use bitcoin::hashes::Hash;
use bitcoincore_rpc::{Client, RpcApi};

use super::block::{parse_block_with, BlockParseError, ParsedBlock};
use super::http::{HttpClient, HttpError};
use super::IngestSummary;
use crate::chain::Chain;
use crate::store::{DatasetWriter, PartitionPolicy, StoreError};

/// Requests in flight while fetching blocks.
const FETCHERS: usize = 8;
/// Block hashes asked for in one REST `headers` request (Bitcoin Core answers up to 2,000).
const HASH_CHUNK: usize = 1000;
/// Bytes of stored blocks whose rows go to the encoders together.
const SEND_BYTES: u64 = 8 << 20;
/// Fewest bytes of stored blocks handed to the encoders while the writer waits for the next one.
const IDLE_SEND_BYTES: u64 = 1 << 20;
/// Attempts of a call that fails for a transient reason.
const ATTEMPTS: u32 = 5;

/// How to authenticate to the node.
#[derive(Debug, Clone)]
pub enum Credentials {
    /// The node's `.cookie` file.
    Cookie(PathBuf),
    /// A user and a password (taken from an environment variable, never printed).
    UserPass {
        /// The RPC user.
        user: String,
        /// The password.
        password: String,
    },
}

/// Errors talking to a node, each naming the cause and the fix.
#[derive(Debug, thiserror::Error)]
pub enum RpcError {
    /// Nothing answers at the URL.
    #[error("cannot reach a node at {url} ({detail}): is the node running with -server, and is the port its -rpcport?")]
    Unreachable {
        /// The URL.
        url: String,
        /// The transport's message.
        detail: String,
    },
    /// The node rejected the credentials.
    #[error("the node at {url} rejected the credentials: check --cookie (the node's datadir/.cookie) or --rpc-user and --rpc-password-env")]
    Unauthorized {
        /// The URL.
        url: String,
    },
    /// The cookie file could not be read.
    #[error("cannot read the cookie file {path} ({detail}): the node writes it while it runs, so is the node running? Otherwise pass --cookie with the node's .cookie, or --rpc-user/--rpc-password-env")]
    Cookie {
        /// The file.
        path: PathBuf,
        /// Why.
        detail: String,
    },
    /// The node serves another chain.
    #[error("the node at {url} serves {found}, not {asked}: use --chain {found_hint} or point --rpc at a {asked} node")]
    WrongChain {
        /// The URL.
        url: String,
        /// What the node says.
        found: String,
        /// What was asked.
        asked: &'static str,
        /// A likely --chain value.
        found_hint: String,
    },
    /// The node is still syncing.
    #[error("the node at {url} is still in initial block download (at height {height}); wait for it to sync, or pass --to {height} to ingest what it has")]
    Syncing {
        /// The URL.
        url: String,
        /// Its current height.
        height: u64,
    },
    /// The node accepted the connection but did not answer in time, on every attempt.
    #[error("the node at {url} did not answer {method} within {seconds} s ({attempts} attempts): it may be overloaded or stuck (check its log; raise its -rpcworkqueue/-rpcthreads), or raise --rpc-timeout")]
    Timeout {
        /// The URL.
        url: String,
        /// The method.
        method: String,
        /// The timeout per attempt.
        seconds: u64,
        /// Attempts made.
        attempts: u32,
    },
    /// A call failed for good.
    #[error("RPC {method} to {url} failed: {detail}")]
    Call {
        /// The URL.
        url: String,
        /// The method.
        method: String,
        /// The node's or transport's message.
        detail: String,
    },
    /// A block from the node does not parse.
    #[error("block {hash} at height {height} from {url}: {source}")]
    Block {
        /// The URL.
        url: String,
        /// Height.
        height: u32,
        /// Hash.
        hash: String,
        /// Why.
        source: Box<BlockParseError>,
    },
    /// Writing the store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A connection to a Bitcoin Core-compatible node (Bitcoin Core, Litecoin Core, …).
pub struct Node {
    client: Client,
    url: String,
    timeout: Duration,
}

impl Node {
    /// Connect (no request is sent yet); each request gives up after `timeout`.
    pub fn connect(
        url: &str,
        credentials: &Credentials,
        timeout: Duration,
    ) -> Result<Node, RpcError> {
        let (user, password) = match credentials {
            Credentials::Cookie(path) => {
                // Read it here to give a clear error (the client would only say "I/O error").
                let cookie = std::fs::read_to_string(path).map_err(|e| RpcError::Cookie {
                    path: path.clone(),
                    detail: e.to_string(),
                })?;
                let (user, password) =
                    cookie
                        .trim_end()
                        .split_once(':')
                        .ok_or_else(|| RpcError::Cookie {
                            path: path.clone(),
                            detail: "not of the form user:password".into(),
                        })?;
                (user.to_string(), password.to_string())
            }
            Credentials::UserPass { user, password } => (user.clone(), password.clone()),
        };
        use bitcoincore_rpc::jsonrpc;
        let transport = transport::QuickHttpTransport::new(url, &user, &password, timeout)
            .map_err(|detail| RpcError::Unreachable {
                url: url.to_string(),
                detail,
            })?;
        let client = Client::from_jsonrpc(jsonrpc::Client::with_transport(transport));
        Ok(Node {
            client,
            url: url.to_string(),
            timeout,
        })
    }

    /// The node's URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Call `method`, retrying transient failures (timeouts, a node still warming up) with backoff.
    pub fn call<T: serde::de::DeserializeOwned>(
        &self,
        method: &str,
        args: &[serde_json::Value],
    ) -> Result<T, RpcError> {
        let mut delay = Duration::from_millis(200);
        for attempt in 1..=ATTEMPTS {
            match self.client.call::<T>(method, args) {
                Ok(v) => return Ok(v),
                Err(e) => {
                    let detail = e.to_string();
                    let kind = classify(&detail);
                    match kind {
                        Failure::Unauthorized => {
                            return Err(RpcError::Unauthorized {
                                url: self.url.clone(),
                            })
                        }
                        Failure::Timeout if attempt == ATTEMPTS => {
                            return Err(RpcError::Timeout {
                                url: self.url.clone(),
                                method: method.into(),
                                seconds: self.timeout.as_secs(),
                                attempts: ATTEMPTS,
                            });
                        }
                        Failure::Transient | Failure::Timeout if attempt < ATTEMPTS => {
                            tracing::warn!(method, attempt, %detail, "RPC call failed, retrying");
                            std::thread::sleep(delay);
                            delay *= 2;
                        }
                        Failure::Unreachable => {
                            return Err(RpcError::Unreachable {
                                url: self.url.clone(),
                                detail,
                            });
                        }
                        _ => {
                            return Err(RpcError::Call {
                                url: self.url.clone(),
                                method: method.into(),
                                detail,
                            });
                        }
                    }
                }
            }
        }
        unreachable!("the last attempt returns")
    }

    /// `getblockchaininfo`: (chain name, blocks, initial block download).
    pub fn chain_info(&self) -> Result<(String, u64, bool), RpcError> {
        let v: serde_json::Value = self.call("getblockchaininfo", &[])?;
        let chain = v["chain"].as_str().unwrap_or_default().to_string();
        let blocks = v["blocks"].as_u64().unwrap_or_default();
        let ibd = v["initialblockdownload"].as_bool().unwrap_or(false);
        Ok((chain, blocks, ibd))
    }

    /// The hash of the block at `height` (display hex).
    pub fn block_hash(&self, height: u32) -> Result<String, RpcError> {
        self.call("getblockhash", &[height.into()])
    }

    /// A REST request that failed, as an error naming the node.
    fn rest_error(&self, what: &str, e: HttpError, attempts: u32) -> RpcError {
        match e {
            HttpError::Io(io) if io.kind() == std::io::ErrorKind::ConnectionRefused => {
                RpcError::Unreachable {
                    url: self.url.clone(),
                    detail: io.to_string(),
                }
            }
            HttpError::Io(io)
                if matches!(
                    io.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                RpcError::Timeout {
                    url: self.url.clone(),
                    method: format!("REST {what}"),
                    seconds: self.timeout.as_secs(),
                    attempts,
                }
            }
            HttpError::Status { status, body } if dropped_by_the_node(status, &body) => {
                RpcError::Call {
                    url: self.url.clone(),
                    method: format!("REST {what}"),
                    detail: format!(
                        "the node dropped the request ({attempts} attempts; HTTP {status} \
                         Unhandled request), as it does while shutting down: check that it \
                         runs, then run ingest again, which resumes from what was committed"
                    ),
                }
            }
            e => RpcError::Call {
                url: self.url.clone(),
                method: format!("REST {what}"),
                detail: e.to_string(),
            },
        }
    }

    /// The serialized block with this hash (`getblock HASH 0`).
    pub fn block_bytes(&self, hash: &str) -> Result<Vec<u8>, RpcError> {
        let hex: String = self.call("getblock", &[hash.into(), 0.into()])?;
        <Vec<u8> as bitcoin::hex::FromHex>::from_hex(hex.trim()).map_err(|_| RpcError::Call {
            url: self.url.clone(),
            method: "getblock".into(),
            detail: "the node returned a block that is not hex".into(),
        })
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Failure {
    Unreachable,
    Unauthorized,
    /// Connected, but no answer within the timeout (the read timed out).
    Timeout,
    Transient,
    Fatal,
}

fn classify(detail: &str) -> Failure {
    let d = detail.to_ascii_lowercase();
    // The transport says "unexpected HTTP code: N"; node errors say "code: -N". Match those
    // forms, not bare numbers, which also occur inside hashes.
    if d.contains("http code: 401") || d.contains("http code: 403") || d.contains("unauthorized") {
        Failure::Unauthorized
    } else if d.contains("(os error 11)")
        || d.contains("resource temporarily unavailable")
        || d.contains("would block")
        || d.contains("timed out")
        || d.contains("(os error 110)")
    {
        // A read that timed out (EAGAIN on a socket with a read timeout, or ETIMEDOUT): the
        // transport words it "Couldn't connect to host: …", but the node did connect.
        Failure::Timeout
    } else if d.contains("connection refused")
        || d.contains("no route")
        || d.contains("couldn't connect")
    {
        Failure::Unreachable
    } else if d.contains("timeout")
        || d.contains("http code: 503")
        || d.contains("work queue depth")
        || d.contains("code: -28")
        || d.contains("loading")
    {
        Failure::Transient
    } else {
        Failure::Fatal
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fetcher(url: &str) -> Fetcher {
        let credentials = Credentials::UserPass {
            user: "u".into(),
            password: "p".into(),
        };
        Fetcher {
            node: Node::connect(url, &credentials, Duration::from_secs(5)).unwrap(),
            rest: HttpClient::new(url, Duration::from_secs(5)),
        }
    }

    /// A full work queue (HTTP 503) and a request dropped by a node shutting down (HTTP 500
    /// "Unhandled request") are retried like an RPC call; a 404 is not.
    #[test]
    fn rest_requests_retry_transient_failures_only() {
        let url = super::super::http::tests::serve(vec![
            b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 4\r\n\r\nbusy",
            b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 17\r\n\r\nUnhandled request",
            b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nblock",
            b"HTTP/1.1 404 Not Found\r\nContent-Length: 4\r\n\r\nnone",
        ]);
        let mut f = fetcher(&url);
        assert_eq!(f.block_bytes("00").unwrap(), b"block");
        match f.block_bytes("01") {
            Err(RpcError::Call { method, detail, .. }) => {
                assert_eq!(method, "REST block");
                assert!(detail.contains("404"), "{detail}");
            }
            other => panic!("{other:?}"),
        }
    }

    /// Through the real transport, each failure comes out as the error that names its fix.
    #[test]
    fn node_calls_give_each_failure_its_own_error() {
        use super::super::http::tests::{reply, serve_connections};
        let (url, _) = serve_connections(vec![
            vec![reply("401 Unauthorized", "")],
            vec![b"HTTP/1.1 200 OK\r\nContent-Le".to_vec()],
            vec![reply(
                "500 Internal Server Error",
                r#"{"result":null,"error":{"code":-8,"message":"Block height out of range"},"id":1}"#,
            )],
        ]);
        let node = fetcher(&url).node;
        let height = || node.call::<u64>("getblockcount", &[]);
        assert!(matches!(height(), Err(RpcError::Unauthorized { .. })));
        match height() {
            Err(RpcError::Unreachable { detail, .. }) => {
                assert!(detail.contains("closed the connection"), "{detail}")
            }
            other => panic!("{other:?}"),
        }
        match node.block_hash(9999) {
            Err(RpcError::Call { method, detail, .. }) => {
                assert_eq!(method, "getblockhash");
                assert!(detail.contains("out of range"), "{detail}");
            }
            other => panic!("{other:?}"),
        }
        let credentials = Credentials::UserPass {
            user: "u".into(),
            password: "p".into(),
        };
        match Node::connect("http://127.0.0.1/wallet/x", &credentials, Duration::ZERO) {
            Err(RpcError::Unreachable { detail, .. }) => {
                assert!(detail.contains("names no port"), "{detail}")
            }
            Err(e) => panic!("{e}"),
            Ok(_) => panic!("a URL without a port was taken"),
        }
    }

    #[test]
    fn failures_are_classified_by_their_form_not_by_digits() {
        assert_eq!(classify("unexpected HTTP code: 401"), Failure::Unauthorized);
        assert_eq!(classify("unexpected HTTP code: 503"), Failure::Transient);
        assert_eq!(
            classify("RpcError { code: -28, message: \"Loading block index…\" }"),
            Failure::Transient
        );
        assert_eq!(
            classify("Connection refused (os error 111)"),
            Failure::Unreachable
        );
        assert_eq!(
            classify("Couldn't connect to host: Resource temporarily unavailable (os error 11)"),
            Failure::Timeout
        );
        // os error 111 is not os error 11.
        assert_eq!(
            classify("Couldn't connect to host: Connection refused (os error 111)"),
            Failure::Unreachable
        );
        // A hash that happens to hold "401" or "-28" is not a credential or warm-up error.
        assert_eq!(
            classify("Block 0000401a-28ff not found (code: -5)"),
            Failure::Fatal
        );
    }
}

/// The name `getblockchaininfo` reports for a chain.
fn rpc_chain_name(chain: Chain) -> &'static str {
    match chain {
        Chain::Bitcoin | Chain::Litecoin | Chain::Monacoin | Chain::BitcoinCash => "main",
        Chain::BitcoinTestnet3 => "test",
        Chain::BitcoinRegtest | Chain::LitecoinRegtest => "regtest",
    }
}

/// Blocks kept between the stored tip and the node's tip by default, so an ordinary reorg never
/// touches the store.
pub fn default_confirmations(chain: Chain) -> u32 {
    match chain {
        Chain::BitcoinRegtest | Chain::LitecoinRegtest => 0,
        Chain::Bitcoin | Chain::BitcoinTestnet3 | Chain::BitcoinCash => 6,
        Chain::Litecoin => 12,
        Chain::Monacoin => 24,
    }
}

/// The cookie file of a node with the default datadir for `chain` (`~/.bitcoin/.cookie`,
/// `~/.litecoin/regtest/.cookie`, …).
pub fn default_cookie(chain: Chain) -> PathBuf {
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_default();
    let (dir, sub) = match chain {
        Chain::Bitcoin => (".bitcoin", ""),
        Chain::BitcoinTestnet3 => (".bitcoin", "testnet3"),
        Chain::BitcoinRegtest => (".bitcoin", "regtest"),
        Chain::Litecoin => (".litecoin", ""),
        Chain::LitecoinRegtest => (".litecoin", "regtest"),
        Chain::Monacoin => (".monacoin", ""),
        Chain::BitcoinCash => (".bitcoin", ""),
    };
    home.join(dir).join(sub).join(".cookie")
}

/// What to ingest from a node.
#[derive(Debug, Clone)]
pub struct RpcIngest {
    /// The node's RPC URL (`http://127.0.0.1:8332`).
    pub url: String,
    /// Credentials.
    pub credentials: Credentials,
    /// The chain the node must serve.
    pub chain: Chain,
    /// The dataset directory to build or extend.
    pub out: PathBuf,
    /// Stop after this height.
    pub to_height: Option<u32>,
    /// Stay this many blocks behind the node's tip.
    pub confirmations: u32,
    /// When partitions are closed.
    pub policy: PartitionPolicy,
    /// How long one request may take before it is retried.
    pub timeout: Duration,
    /// Set (by a signal handler) to stop: requests in flight finish and are dropped, what was
    /// stored before is committed, and the run returns normally.
    pub stop: Option<&'static std::sync::atomic::AtomicBool>,
    /// Use the node's REST interface for blocks and headers when it answers (`-rest`).
    pub rest: bool,
}

/// Check the node serves `chain` (its chain name and its genesis block).
pub fn check_chain(node: &Node, chain: Chain) -> Result<(u64, bool), RpcError> {
    let (name, blocks, ibd) = node.chain_info()?;
    let genesis = node.block_hash(0)?;
    if name != rpc_chain_name(chain) || genesis != chain.genesis_hash().to_string() {
        let hint = Chain::ALL
            .iter()
            .find(|c| rpc_chain_name(**c) == name && c.genesis_hash().to_string() == genesis)
            .map_or("<none of the supported chains>".to_string(), |c| {
                c.name().to_string()
            });
        return Err(RpcError::WrongChain {
            url: node.url().to_string(),
            found: format!("'{name}' with genesis {genesis}"),
            asked: chain.name(),
            found_hint: hint,
        });
    }
    Ok((blocks, ibd))
}

/// Ingest blocks from a node into `job.out`, continuing from its tip.
pub fn ingest_rpc(
    job: &RpcIngest,
    on_start: impl FnOnce(u64),
    on_block: impl Fn(u64) + Sync,
) -> Result<IngestSummary, RpcError> {
    ingest_rpc_with(job, None, false, on_start, on_block).map(|(summary, _)| summary)
}

/// One round of `ingest --rpc --follow`: as [`ingest_rpc`], but it keeps the dataset's writer
/// open and returns it, and takes the previous round's writer back, so its spend index, UTXO map
/// and script index are not rebuilt from the cache every round. A writer whose tip the node's
/// chain no longer holds (a reorg), or whose dataset another writer held meanwhile, is closed,
/// and the dataset rolled back and reopened as usual. A round that filled whole partitions (a
/// catch-up) finishes its writer instead, which frees its indexes before the outputs tables are
/// rewritten: the next round reopens the dataset.
pub fn follow_round(
    job: &RpcIngest,
    writer: Option<DatasetWriter>,
) -> Result<(IngestSummary, Option<DatasetWriter>), RpcError> {
    ingest_rpc_with(job, writer, true, |_| {}, |_| {})
}

impl RpcError {
    /// True for what `--follow` waits out instead of stopping: the node is behind the dataset
    /// (syncing, or half-way through a reorg), or another process (a trace) holds the dataset.
    pub fn can_wait(&self) -> bool {
        matches!(
            self,
            RpcError::Store(StoreError::SourceBehind { .. })
                | RpcError::Store(StoreError::Lock(crate::store::lock::LockError::Busy(_)))
        )
    }
}

fn ingest_rpc_with(
    job: &RpcIngest,
    kept: Option<DatasetWriter>,
    keep: bool,
    on_start: impl FnOnce(u64),
    on_block: impl Fn(u64) + Sync,
) -> Result<(IngestSummary, Option<DatasetWriter>), RpcError> {
    let started = Instant::now();
    let node = Node::connect(&job.url, &job.credentials, job.timeout)?;
    let (node_height, ibd) = check_chain(&node, job.chain)?;
    if ibd && job.to_height.is_none() {
        return Err(RpcError::Syncing {
            url: job.url.clone(),
            height: node_height,
        });
    }
    let mut notes = Vec::new();
    // A kept writer goes on when the dataset did not change since its last round and the
    // node's chain still holds its tip.
    let kept = match kept {
        Some(mut w) => w.retake_lock()?.then_some(w),
        None => None,
    };
    let kept = kept.filter(|w| match w.tip() {
        None => true,
        Some((height, hash)) => node.block_hash(height).is_ok_and(|h| h == hash.to_string()),
    });
    tracing::debug!(reused = kept.is_some(), "dataset writer");
    let mut writer = match kept {
        Some(writer) => writer,
        None => {
            notes.extend(crate::store::rollback::roll_back_if_diverged(
                &job.out,
                "the node's chain",
                |h| match node.block_hash(h) {
                    Ok(hash) => Ok(crate::store::rollback::SourceBlock::Hash(hash)),
                    // Bitcoin Core answers -8 "Block height out of range" above its tip.
                    Err(RpcError::Call { detail, .. }) if detail.contains("out of range") => {
                        Ok(crate::store::rollback::SourceBlock::Missing)
                    }
                    Err(e) => Err(e),
                },
            )?);
            DatasetWriter::open(&job.out, job.chain, job.policy)?
        }
    };
    let from = writer.next_height();
    let safe = node_height.saturating_sub(job.confirmations as u64) as u32;
    let to = job.to_height.map_or(safe, |t| t.min(safe));
    let heights: Vec<u32> = if from <= to && node_height >= job.confirmations as u64 {
        (from..=to).collect()
    } else {
        Vec::new()
    };
    on_start(heights.len() as u64);
    if let (Some(&first), Some(&last)) = (heights.first(), heights.last()) {
        if let Some(txs) = txs_between(&node, first, last) {
            writer.expect_txs(txs);
        }
    }
    let mut fetchers: Vec<Fetcher> = (0..FETCHERS)
        .map(|_| {
            Ok(Fetcher {
                node: Node::connect(&job.url, &job.credentials, job.timeout)?,
                rest: HttpClient::new(&job.url, job.timeout),
            })
        })
        .collect::<Result<_, RpcError>>()?;
    let rest = job.rest && rest_available(&mut fetchers[0]);
    if rest {
        tracing::info!("the node serves REST: blocks are fetched as binary");
    } else {
        for f in &mut fetchers {
            f.rest = None;
        }
        tracing::info!("blocks are fetched over RPC as hex (a node started with -rest=1 serves them as binary, with half the work)");
    }
    let mut block_bytes = 0u64;
    let mweb = job.chain.has_mweb();
    // Each fetcher takes the next block nobody took; the writer stores each block as soon as it
    // and every block below it are there.
    let hashes: Vec<OnceLock<Option<Vec<String>>>> = (0..heights.len().div_ceil(HASH_CHUNK))
        .map(|_| OnceLock::new())
        .collect();
    let url = node.url();
    let fetch = |fetcher: &mut Fetcher, i: usize| -> Result<ParsedBlock, RpcError> {
        let chunk = i / HASH_CHUNK;
        let chunk_hashes = hashes[chunk].get_or_init(|| {
            let first = chunk * HASH_CHUNK;
            hashes_of(
                fetcher,
                &heights[first..(first + HASH_CHUNK).min(heights.len())],
            )
        });
        fetch_block(
            fetcher,
            url,
            heights[i],
            chunk_hashes.as_ref().map(|h| h[i % HASH_CHUNK].as_str()),
            mweb,
        )
    };
    let (mut unsent, mut unsent_bytes) = (Vec::new(), 0u64);
    let mut stored = Duration::ZERO;
    let fetch_started = Instant::now();
    let consumed = feed::fetch_in_order(
        &mut fetchers,
        heights.len(),
        fetch,
        |block| block.size as u64,
        job.stop,
        |fed| {
            let t = Instant::now();
            // Rows go to the encoders every SEND_BYTES, and while blocks are on their way
            // (but not in slivers).
            let send_at = match fed {
                Fed::Item(i, block) => {
                    block_bytes += block.size as u64;
                    unsent_bytes += block.size as u64;
                    writer.push_block(heights[i], &block)?;
                    on_block(1);
                    unsent.push(block);
                    SEND_BYTES
                }
                Fed::Idle => IDLE_SEND_BYTES,
            };
            if unsent_bytes >= send_at {
                writer.send_to_encoders()?;
                // Freeing blocks' many small allocations is work too: not on the writer's thread.
                let blocks = std::mem::take(&mut unsent);
                rayon::spawn(move || drop(blocks));
                unsent_bytes = 0;
            }
            stored += t.elapsed();
            Ok(())
        },
    )?;
    if consumed < heights.len() {
        notes.push("stopped on request; the next run continues from here".into());
    }
    writer.send_to_encoders()?;
    tracing::debug!(elapsed = ?fetch_started.elapsed(), ?stored, "blocks fetched and stored");
    let t = Instant::now();
    let (manifest, added, writer) = if keep && writer.added().partitions == 0 {
        let (manifest, added) = writer.checkpoint()?;
        // Between rounds, a trace may read the dataset.
        writer.release_lock();
        (manifest, added, Some(writer))
    } else {
        let (manifest, added) = writer.finish()?;
        (manifest, added, None)
    };
    tracing::debug!(elapsed = ?t.elapsed(), "final commit");
    let summary = IngestSummary::finished(
        job.chain,
        &job.out,
        (!heights.is_empty()).then_some(from),
        &manifest,
        added,
        block_bytes,
        notes,
        started,
    );
    Ok((summary, writer))
}

/// About how many transactions the node's blocks `first..=last` hold, from `getchaintxstats`:
/// a hint for sizing the writer's tables (`None` when the node cannot say; nothing depends on
/// it but speed).
fn txs_between(node: &Node, first: u32, last: u32) -> Option<u64> {
    // The window is the `nblocks` blocks ending at `last`, at most `last - 1` of them (so
    // from height 0 or 1 it leaves out a block or two: a hint).
    let nblocks = (last - first + 1).min(last.checked_sub(1)?);
    if nblocks == 0 {
        return None;
    }
    let hash = node.block_hash(last).ok()?;
    let stats: serde_json::Value = node
        .call("getchaintxstats", &[nblocks.into(), hash.into()])
        .ok()?;
    let txs = stats["window_tx_count"].as_u64();
    tracing::debug!(?txs, nblocks, "transactions expected");
    txs
}

/// One connection for fetching blocks: RPC, and REST when the node serves it.
struct Fetcher {
    node: Node,
    rest: Option<HttpClient>,
}

impl Fetcher {
    /// The serialized block with this hash: REST's binary when available, else RPC's hex.
    fn block_bytes(&mut self, hash: &str) -> Result<Vec<u8>, RpcError> {
        if self.rest.is_some() {
            self.rest_get("block", &format!("/rest/block/{hash}.bin"))
        } else {
            self.node.block_bytes(hash)
        }
    }

    /// A REST request, retried like an RPC call when it fails for a transient reason (a timeout,
    /// a broken connection, HTTP 503 from a full work queue, a request the node dropped while
    /// shutting down): `ATTEMPTS` tries with backoff.
    fn rest_get(&mut self, what: &str, path: &str) -> Result<Vec<u8>, RpcError> {
        let rest = self.rest.as_mut().expect("REST is on");
        let mut delay = Duration::from_millis(200);
        for attempt in 1..=ATTEMPTS {
            match rest.get(path) {
                Ok(body) => return Ok(body),
                Err(e) => {
                    let transient = match &e {
                        HttpError::Io(io) => io.kind() != std::io::ErrorKind::ConnectionRefused,
                        HttpError::Status { status, body } => {
                            *status == 503 || dropped_by_the_node(*status, body)
                        }
                        HttpError::Malformed(_) => false,
                    };
                    if !transient || attempt == ATTEMPTS {
                        return Err(self.node.rest_error(what, e, attempt));
                    }
                    tracing::warn!(what, attempt, error = %e, "REST request failed, retrying");
                    std::thread::sleep(delay);
                    delay *= 2;
                }
            }
        }
        unreachable!("the last attempt returns")
    }
}

/// A request the node's HTTP server dropped without an answer: Bitcoin Core replies 500
/// "Unhandled request" then, as it does for requests in flight while it shuts down.
fn dropped_by_the_node(status: u16, body: &str) -> bool {
    status == 500 && body.contains("Unhandled request")
}

/// Whether the node answers REST requests (it runs with `-rest`).
fn rest_available(fetcher: &mut Fetcher) -> bool {
    fetcher
        .rest
        .as_mut()
        .is_some_and(|r| r.get("/rest/chaininfo.json").is_ok())
}

/// The hashes of the blocks at `heights` (consecutive) from one REST `headers` request after
/// the first hash (Bitcoin Core's `/rest/headers/N/HASH.bin`, or the `?count=N` form of Core
/// 24+); `None` without REST, when a request fails, or when the node's chain moved meanwhile:
/// the fetchers then ask `getblockhash` for each height, which names any error.
fn hashes_of(fetcher: &mut Fetcher, heights: &[u32]) -> Option<Vec<String>> {
    let &first = heights.first()?;
    fetcher.rest.as_ref()?;
    let first_hash = match fetcher.node.block_hash(first) {
        Ok(hash) => hash,
        Err(e) => {
            tracing::debug!(error = %e, "getblockhash for REST headers failed");
            return None;
        }
    };
    let rest = fetcher.rest.as_mut()?;
    let n = heights.len();
    let paths = [
        format!("/rest/headers/{n}/{first_hash}.bin"),
        format!("/rest/headers/{first_hash}.bin?count={n}"),
    ];
    for path in &paths {
        match rest.get(path) {
            Ok(bytes) if bytes.len() == 80 * n => {
                return Some(
                    bytes
                        .chunks_exact(80)
                        .map(|h| {
                            bitcoin::BlockHash::from_byte_array(
                                bitcoin::hashes::sha256d::Hash::hash(h).to_byte_array(),
                            )
                            .to_string()
                        })
                        .collect(),
                );
            }
            Ok(_) => return None,
            Err(e) => tracing::debug!(path, error = %e, "REST headers unavailable"),
        }
    }
    None
}

/// Fetch and parse the block at `height` (its hash asked of the node unless known); the block
/// must hash to the hash asked for.
fn fetch_block(
    fetcher: &mut Fetcher,
    url: &str,
    height: u32,
    hash: Option<&str>,
    mweb: bool,
) -> Result<ParsedBlock, RpcError> {
    let hash = match hash {
        Some(hash) => hash.to_string(),
        None => fetcher.node.block_hash(height)?,
    };
    let bytes = fetcher.block_bytes(&hash)?;
    let block = parse_block_with(&bytes, mweb).map_err(|source| RpcError::Block {
        url: url.to_string(),
        height,
        hash: hash.clone(),
        source: Box::new(source),
    })?;
    if block.hash.to_string() != hash {
        return Err(RpcError::Call {
            url: url.to_string(),
            method: "getblock".into(),
            detail: format!(
                "asked for block {hash} at height {height}, got {}",
                block.hash
            ),
        });
    }
    Ok(block)
}

/// A cookie path given, or the chain's default one.
pub fn cookie_or_default(cookie: Option<&Path>, chain: Chain) -> PathBuf {
    cookie.map_or_else(|| default_cookie(chain), Path::to_path_buf)
}
