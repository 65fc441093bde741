//! Command-line definitions (clap derive) and output printing. Nothing else lives here: the
//! engine is the library.

pub mod inspect;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::chain::Chain;

/// fundtrace: follow stolen funds on Bitcoin-family chains, exactly and reproducibly.
#[derive(Debug, Parser)]
#[command(name = "fundtrace", version, about, long_about = None)]
pub struct Cli {
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
    /// Print a machine-readable JSON summary on stdout instead of text.
    #[arg(long, global = true)]
    pub json: bool,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Build or extend a dataset (the columnar transaction graph) from a node's blk*.dat files.
    Ingest(IngestArgs),
    /// Look up one block, transaction or address in a dataset, for a spot check.
    Inspect(InspectArgs),
    /// Write a synthetic chain as blk*.dat files (demo story or benchmark load).
    Generate(GenerateArgs),
    /// Run a case file: trace the seeds forward under its taint models and write the results.
    Trace(TraceArgs),
    /// Write the human report of a results directory: report.html (self-contained), report.md,
    /// flow.dot.
    Report(ReportArgs),
    /// Cluster a dataset's addresses into entities (multi-input with CoinJoin filtering; optional change).
    Cluster(ClusterArgs),
    /// Score a results directory against a generated chain's ground truth: per model, precision
    /// and recall of the cash-out exchanges reached and the amount found at each entity.
    /// Writes score.json into the results directory.
    Score(ScoreArgs),
}

/// Arguments of `fundtrace score`.
#[derive(Debug, Args)]
pub struct ScoreArgs {
    /// The results directory written by `fundtrace trace`.
    pub results: PathBuf,
    /// The generated chain's truth directory (with endpoints.parquet).
    pub truth: PathBuf,
}

/// Arguments of `fundtrace report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The results directory written by `fundtrace trace`.
    pub results: PathBuf,
    /// Formats to write (repeatable; default both): html (self-contained page), md.
    #[arg(long = "format", value_enum)]
    pub formats: Vec<crate::export::report::ReportFormat>,
    /// Flow picture layout: auto (Graphviz `dot` if installed, else built-in), builtin
    /// (identical on every machine), graphviz.
    #[arg(long, value_enum, default_value = "auto")]
    pub layout: crate::export::report::Layout,
}

/// Arguments of `fundtrace cluster`.
#[derive(Debug, Args)]
pub struct ClusterArgs {
    /// The dataset directory (results are written into it).
    pub dataset: PathBuf,
    /// Heuristics, comma-separated: multi-input (default), change (weaker, off by default).
    #[arg(long, value_delimiter = ',', default_value = "multi-input")]
    pub heuristics: Vec<String>,
    /// Worker threads (default: all cores).
    #[arg(long)]
    pub jobs: Option<usize>,
}

/// Arguments of `fundtrace trace`.
#[derive(Debug, Args)]
pub struct TraceArgs {
    /// The case files (TOML; see queries/*.toml), single-chain or multi-asset. Several are
    /// traced concurrently, each into `OUT/<case name>/`.
    #[arg(required = true, value_name = "CASE")]
    pub cases: Vec<PathBuf>,
    /// Results directory (default: results/<case name> under the current directory); with
    /// several cases, the directory that holds one directory per case (default: results).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Run only these models of the cases (repeatable): poison, haircut, fifo, lifo, tiho.
    #[arg(long = "policy", value_name = "MODEL")]
    pub policies: Vec<String>,
    /// Worker threads (default: all cores), shared by the cases, their models and the export;
    /// the results are the same for any number.
    #[arg(long)]
    pub jobs: Option<usize>,
}

/// Arguments of `fundtrace generate`.
#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// The world: `zaif` (exchanges, a theft, its laundering and the full ground truth), `demo`
    /// (a small theft story) or `payments` (ordinary traffic, a benchmark load).
    #[arg(long, value_enum, default_value = "zaif")]
    pub scenario: crate::generate::Scenario,
    /// Chain whose genesis, magic, block spacing and address encodings are used.
    #[arg(long, default_value = "bitcoin-regtest")]
    pub chain: Chain,
    /// Transactions to generate (`payments`, `zaif`; `zaif` finishes its story first).
    #[arg(long, default_value_t = 100_000)]
    pub txs: u64,
    /// Transactions per block (`payments`, `zaif`).
    #[arg(long, default_value_t = 2_000)]
    pub txs_per_block: u32,
    /// Seed of every random choice: the same seed gives byte-identical files.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Time of block 1 (Unix seconds); blocks follow at the chain's spacing. Default 2018-09-01.
    #[arg(long, default_value_t = 1_535_760_000)]
    pub start_time: u32,
    /// Height of the theft (`zaif`; default: a third of the way into the chain).
    #[arg(long)]
    pub theft_height: Option<u32>,
    /// Hot-wallet outputs swept by the theft (`zaif`; Zaif's theft had 131).
    #[arg(long, default_value_t = 131)]
    pub theft_inputs: u32,
    /// Coinbase-only blocks to append at the end, so a node can import the chain with
    /// `-loadblock=FILE -assumevalid=TIP` (it skips script checks, which the generator's filler
    /// signatures would fail, only two weeks of blocks below the tip: use 8100 for Litecoin).
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub tail_blocks: u32,
    /// Output directory (blocks/ and truth/ are written inside).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
}

/// Arguments of `fundtrace ingest`.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("source").required(true).args(["blocks_dir", "rpc"])))]
pub struct IngestArgs {
    /// Directory of blk*.dat files: a node's `blocks/` directory (with its xor.dat, if any) or
    /// any directory of such files.
    #[arg(long, value_name = "DIR")]
    pub blocks_dir: Option<PathBuf>,
    /// A node's RPC URL (e.g. http://127.0.0.1:9332): fetch blocks over RPC instead of files.
    #[arg(long, value_name = "URL")]
    pub rpc: Option<String>,
    /// The node's cookie file (default: the chain's default datadir, e.g. ~/.litecoin/.cookie).
    #[arg(long, value_name = "FILE", help_heading = "RPC")]
    pub cookie: Option<PathBuf>,
    /// RPC user (with --rpc-password-env) instead of the cookie.
    #[arg(
        long,
        value_name = "USER",
        requires = "rpc_password_env",
        help_heading = "RPC"
    )]
    pub rpc_user: Option<String>,
    /// Name of the environment variable holding the RPC password (never printed or logged).
    #[arg(long, value_name = "VAR", requires = "rpc_user", help_heading = "RPC")]
    pub rpc_password_env: Option<String>,
    /// Stay this many blocks behind the node's tip (default by chain: 6 for Bitcoin, 12 for
    /// Litecoin, 24 for MonaCoin, 0 on regtest).
    #[arg(long, value_name = "N", help_heading = "RPC")]
    pub confirmations: Option<u32>,
    /// Keep ingesting new blocks as the node gets them, polling every --poll-secs, until
    /// interrupted (Ctrl-C or SIGTERM: requests in flight finish, what was stored is committed,
    /// and the store stays consistent).
    #[arg(long, requires = "rpc", help_heading = "RPC")]
    pub follow: bool,
    /// Seconds between polls of the node with --follow.
    #[arg(long, value_name = "SECS", default_value_t = 10, help_heading = "RPC")]
    pub poll_secs: u64,
    /// Seconds one RPC request may take before it is retried (5 attempts, then an error).
    #[arg(long, value_name = "SECS", default_value_t = 60, help_heading = "RPC")]
    pub rpc_timeout: u64,
    /// Fetch blocks as hex over RPC even when the node serves its REST interface (by default
    /// blocks come as binary from `/rest/block/` when the node runs with -rest, which halves the
    /// node's work per block).
    #[arg(long, help_heading = "RPC")]
    pub no_rest: bool,
    /// The chain the blocks belong to: bitcoin, bitcoin-testnet3, bitcoin-regtest, litecoin,
    /// litecoin-regtest, monacoin, bitcoin-cash.
    #[arg(long, value_name = "CHAIN")]
    pub chain: Chain,
    /// Dataset directory to create or extend (an existing dataset continues from its tip).
    #[arg(long, value_name = "DATASET")]
    pub out: PathBuf,
    /// Stop after this height (default: the tip of the best chain in the files).
    #[arg(long, value_name = "HEIGHT")]
    pub to: Option<u32>,
    /// Close a Parquet partition once it holds this many transactions.
    #[arg(
        long,
        value_name = "N",
        default_value_t = 1_000_000,
        help_heading = "Partitioning"
    )]
    pub partition_txs: u64,
    /// Close a Parquet partition once it holds this many blocks.
    #[arg(
        long,
        value_name = "N",
        default_value_t = 50_000,
        help_heading = "Partitioning"
    )]
    pub partition_blocks: u32,
}

/// Arguments of `fundtrace inspect`.
#[derive(Debug, Args)]
pub struct InspectArgs {
    /// The dataset directory.
    pub dataset: PathBuf,
    /// What to look up.
    #[command(subcommand)]
    pub what: InspectWhat,
}

/// Things `inspect` can look up.
#[derive(Debug, Subcommand)]
pub enum InspectWhat {
    /// A transaction: its inputs with the outputs they spend, its outputs with where they went.
    Tx {
        /// The txid (64 hex characters).
        txid: String,
    },
    /// An address: the outputs paying it, what was spent, and the balance at the tip.
    Address {
        /// The address as the dataset's chain writes it (or a `nonstandard:`/`op_return:` form).
        address: String,
    },
    /// A block: its hash, time and transactions.
    Block {
        /// The block height.
        height: u32,
    },
    /// Why two addresses are in one cluster: the chain of transactions (and heuristics) that
    /// merged them.
    Why {
        /// One address.
        a: String,
        /// The other.
        b: String,
    },
}
