//! The `fundtrace` binary: parses flags, calls the library, prints.

use std::io::IsTerminal;

use anyhow::Context;
use clap::Parser;
use fundtrace::cli::{Cli, ClusterArgs, Command, GenerateArgs, IngestArgs, TraceArgs};
use fundtrace::generate::{generate as generate_chain, GenerateOptions};
use fundtrace::ingest::{ingest_blk, BlkIngest, IngestSummary};
use fundtrace::store::PartitionPolicy;
use indicatif::{ProgressBar, ProgressStyle};

fn main() {
    // Like other Unix tools, stop quietly when the reader of our output goes away
    // (`fundtrace … | head`) instead of panicking on a broken pipe.
    #[cfg(unix)]
    // SAFETY: restoring the default disposition of SIGPIPE before any thread starts.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = Cli::parse();
    init_logging();
    if let Err(err) = run(cli) {
        eprintln!("error: {}", describe(&err));
        std::process::exit(1);
    }
}

/// The error and its causes in one line; a cause already spelled out by the message before it
/// (library errors include their source in their text) is not repeated.
fn describe(err: &anyhow::Error) -> String {
    let mut msg = err.to_string();
    for cause in err.chain().skip(1) {
        let text = cause.to_string();
        if !msg.contains(&text) {
            msg.push_str(": ");
            msg.push_str(&text);
        }
    }
    msg
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("FUNDTRACE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Ingest(args) => {
            fundtrace::ingest::keep_freed_memory();
            ingest(args, cli.json)
        }
        Command::Inspect(args) => fundtrace::cli::inspect::run(&args, cli.json),
        Command::Generate(args) => generate(args, cli.json),
        Command::Trace(args) => trace(args, cli.json),
        Command::Cluster(args) => cluster(args, cli.json),
        Command::Report(args) => {
            let summary = std::fs::read(args.results.join("summary.json")).ok();
            let multi = summary
                .and_then(|b| serde_json::from_slice::<fundtrace::multi::MultiSummary>(&b).ok());
            match multi {
                Some(m) => fundtrace::multi::write_report(&args.results, &m)
                    .with_context(|| format!("report of {} failed", args.results.display()))?,
                None => {
                    use fundtrace::export::report::{write_report_as, ReportFormat};
                    let formats = if args.formats.is_empty() {
                        vec![ReportFormat::Html, ReportFormat::Md]
                    } else {
                        args.formats.clone()
                    };
                    write_report_as(&args.results, &formats, args.layout)
                        .with_context(|| format!("report of {} failed", args.results.display()))?;
                }
            }
            for f in ["report.html", "report.md", "flow.dot"] {
                let path = args.results.join(f);
                if path.exists() {
                    println!("{}", path.display());
                }
            }
            Ok(())
        }
        Command::Score(args) => score(args, cli.json),
    }
}

/// Set by SIGINT/SIGTERM while following a node.
static STOP: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

extern "C" fn on_stop_signal(_: libc::c_int) {
    // Only an atomic store: async-signal-safe.
    STOP.store(true, std::sync::atomic::Ordering::Relaxed);
}

/// Route SIGINT and SIGTERM to [`STOP`] instead of killing the process.
fn install_stop_handler() -> &'static std::sync::atomic::AtomicBool {
    #[cfg(unix)]
    // SAFETY: the handler only stores to an atomic.
    unsafe {
        let handler = on_stop_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
        libc::signal(libc::SIGINT, handler);
        libc::signal(libc::SIGTERM, handler);
    }
    &STOP
}

/// `ingest --rpc --follow`: ingest what the node has, then poll for new blocks until stopped.
fn follow(
    job: &fundtrace::ingest::rpc::RpcIngest,
    poll_secs: u64,
    json: bool,
) -> anyhow::Result<()> {
    use fundtrace::ingest::rpc::follow_round;
    use std::sync::atomic::Ordering;
    // The writer stays open between rounds: its indexes are not rebuilt at every poll.
    let mut writer = None;
    loop {
        match follow_round(job, writer.take()) {
            Ok((summary, kept)) => {
                writer = kept;
                report_round(&summary, json)?;
            }
            // A node behind the dataset or a trace holding it: try again at the next poll.
            Err(e) if e.can_wait() => eprintln!("waiting: {e}"),
            Err(e) => {
                return Err(e).with_context(|| {
                    format!("ingest from {} into {} failed", job.url, job.out.display())
                })
            }
        }
        for _ in 0..poll_secs.max(1) * 10 {
            if STOP.load(Ordering::Relaxed) {
                eprintln!("stopped; the dataset {} is consistent", job.out.display());
                return Ok(());
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }
}

/// One `--follow` round's line: when it added blocks, or when a stop was asked for.
fn report_round(summary: &fundtrace::ingest::IngestSummary, json: bool) -> anyhow::Result<()> {
    use std::sync::atomic::Ordering;
    if summary.added.blocks > 0 || STOP.load(Ordering::Relaxed) {
        if json {
            println!("{}", serde_json::to_string(&summary)?);
        } else {
            println!(
                "tip {} ({} new blocks, {} txs)",
                summary.tip_height.map_or("-".into(), |h| h.to_string()),
                summary.added.blocks,
                summary.added.txs
            );
        }
    }
    Ok(())
}

fn score(args: fundtrace::cli::ScoreArgs, json: bool) -> anyhow::Result<()> {
    let score = fundtrace::score::score(&args.results, &args.truth)?;
    let mut text = serde_json::to_string_pretty(&score)?;
    text.push('\n');
    let path = args.results.join("score.json");
    fundtrace::store::atomic::write_atomic(&path, text.as_bytes())
        .with_context(|| format!("cannot write {}", path.display()))?;
    if json {
        print!("{text}");
    } else {
        print!("{}", fundtrace::score::render(&score));
    }
    Ok(())
}

fn ingest(args: IngestArgs, json: bool) -> anyhow::Result<()> {
    use fundtrace::ingest::rpc::{
        cookie_or_default, default_confirmations, ingest_rpc, Credentials, RpcIngest,
    };
    let policy = PartitionPolicy {
        max_txs: args.partition_txs,
        max_blocks: args.partition_blocks,
    };
    let bar = if std::io::stderr().is_terminal() {
        ProgressBar::new(0)
    } else {
        ProgressBar::hidden()
    };
    let summary = if let Some(url) = args.rpc {
        let credentials = match (args.rpc_user, args.rpc_password_env) {
            (Some(user), Some(var)) => {
                let password = std::env::var(&var).map_err(|_| {
                    anyhow::anyhow!(
                        "--rpc-password-env {var}: the environment variable {var} is not set"
                    )
                })?;
                Credentials::UserPass { user, password }
            }
            _ => Credentials::Cookie(cookie_or_default(args.cookie.as_deref(), args.chain)),
        };
        let job = RpcIngest {
            url: url.clone(),
            credentials,
            chain: args.chain,
            out: args.out,
            to_height: args.to,
            confirmations: args
                .confirmations
                .unwrap_or_else(|| default_confirmations(args.chain)),
            policy,
            timeout: std::time::Duration::from_secs(args.rpc_timeout.max(1)),
            stop: args.follow.then(install_stop_handler),
            rest: !args.no_rest,
        };
        bar.set_style(
            ProgressStyle::with_template("{spinner} ingest [{elapsed_precise}] {wide_bar} {pos}/{len} blocks ({per_sec}, eta {eta})")
                .expect("valid template"),
        );
        if args.follow {
            return follow(&job, args.poll_secs, json);
        }
        ingest_rpc(&job, |n| bar.set_length(n), |n| bar.inc(n))
            .with_context(|| format!("ingest from {url} into {} failed", job.out.display()))?
    } else {
        let blocks_dir = args
            .blocks_dir
            .expect("clap requires --blocks-dir or --rpc");
        let job = BlkIngest {
            blocks_dir,
            chain: args.chain,
            out: args.out,
            to_height: args.to,
            policy,
        };
        bar.set_style(
            ProgressStyle::with_template("{spinner} ingest [{elapsed_precise}] {wide_bar} {binary_bytes}/{binary_total_bytes} ({binary_bytes_per_sec}, eta {eta})")
                .expect("valid template"),
        );
        ingest_blk(&job, |total| bar.set_length(total), |bytes| bar.inc(bytes)).with_context(
            || {
                format!(
                    "ingest of {} into {} failed",
                    job.blocks_dir.display(),
                    job.out.display()
                )
            },
        )?
    };
    bar.finish_and_clear();
    print_summary(&summary, json)
}

fn print_summary(s: &IngestSummary, json: bool) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(s)?);
        return Ok(());
    }
    for note in &s.notes {
        println!("note: {note}");
    }
    match (s.from_height, s.tip_height) {
        (Some(from), Some(tip)) => println!(
            "ingested {} blocks ({}..={tip}) of {}: {} txs, {} inputs, {} outputs, {} new scripts in {} partition(s)",
            s.added.blocks, from, s.chain.name(), s.added.txs, s.added.inputs, s.added.outputs, s.added.scripts, s.partitions_written
        ),
        _ => println!("nothing new: the dataset is at the source's tip"),
    }
    let mb = s.block_bytes as f64 / 1e6;
    println!(
        "{:.1} MB of blocks in {:.2} s ({:.1} MB/s, {:.0} tx/s)",
        mb,
        s.seconds,
        mb / s.seconds.max(1e-9),
        s.added.txs as f64 / s.seconds.max(1e-9)
    );
    if let (Some(h), Some(hash)) = (s.tip_height, &s.tip_hash) {
        println!(
            "dataset {}: tip {h} {hash}; {} blocks, {} txs, {} inputs, {} outputs, {} scripts",
            s.dataset.display(),
            s.totals.blocks,
            s.totals.txs,
            s.totals.inputs,
            s.totals.outputs,
            s.totals.scripts
        );
    }
    Ok(())
}

fn generate(args: GenerateArgs, json: bool) -> anyhow::Result<()> {
    let opts = GenerateOptions {
        scenario: args.scenario,
        chain: args.chain,
        txs: args.txs,
        txs_per_block: args.txs_per_block,
        seed: args.seed,
        out: args.out,
        start_time: args.start_time,
        max_file_bytes: 128 << 20,
        theft_height: args.theft_height,
        theft_inputs: args.theft_inputs,
        tail_blocks: args.tail_blocks,
    };
    let made = generate_chain(&opts)
        .with_context(|| format!("generate into {} failed", opts.out.display()))?;
    if json {
        println!("{}", serde_json::to_string_pretty(&made)?);
    } else {
        println!(
            "generated {} blocks, {} transactions, {:.1} MB of blocks in {}",
            made.blocks,
            made.txs,
            made.block_bytes as f64 / 1e6,
            opts.out.join("blocks").display()
        );
    }
    Ok(())
}

fn trace(args: TraceArgs, json: bool) -> anyhow::Result<()> {
    let mut pool = rayon::ThreadPoolBuilder::new();
    if let Some(j) = args.jobs {
        pool = pool.num_threads(j);
    }
    trace_cases(args, json, &pool.build()?)
}

/// What `trace` did with one case file.
enum Traced {
    Single(Box<fundtrace::export::Summary>, std::path::PathBuf),
    Multi(Box<fundtrace::multi::MultiSummary>, std::path::PathBuf),
}

impl Traced {
    fn to_json(&self) -> anyhow::Result<serde_json::Value> {
        Ok(match self {
            Traced::Single(s, _) => serde_json::to_value(s)?,
            Traced::Multi(s, _) => serde_json::to_value(s)?,
        })
    }

    fn print(&self) {
        match self {
            Traced::Single(s, out) => print_single(s, out),
            Traced::Multi(s, out) => print_multi(s, out),
        }
    }
}

/// A case file, loaded and checked.
enum Loaded {
    Single(Box<fundtrace::case::Case>),
    Multi(Box<fundtrace::multi::MultiCase>, Vec<fundtrace::case::Case>),
}

impl Loaded {
    /// Load a single-chain or multi-asset case file; `--policy` models must be the case's.
    fn load(path: &std::path::Path, policies: &[String]) -> anyhow::Result<Loaded> {
        if fundtrace::multi::is_multi(path) {
            let (multi, cases) = fundtrace::multi::MultiCase::load(path)?;
            return Ok(Loaded::Multi(Box::new(multi), cases));
        }
        let case = fundtrace::case::Case::load(path)?;
        for p in policies {
            if !case.trace.policies.contains(p) {
                anyhow::bail!(
                    "--policy {p}: the models of {} are {}",
                    path.display(),
                    case.trace.policies.join(", ")
                );
            }
        }
        Ok(Loaded::Single(Box::new(case)))
    }

    /// Its `[case] name`.
    fn name(&self) -> &str {
        match self {
            Loaded::Single(case) => &case.case.name,
            Loaded::Multi(multi, _) => &multi.case.name,
        }
    }

    /// Trace it into `out`.
    fn run(self, out: std::path::PathBuf, policies: &[String]) -> anyhow::Result<Traced> {
        match self {
            Loaded::Single(case) => {
                let run = fundtrace::trace::run::run_case(*case, policies)?;
                let summary = fundtrace::export::write_results(&run, &out)
                    .with_context(|| format!("writing results to {} failed", out.display()))?;
                Ok(Traced::Single(Box::new(summary), out))
            }
            Loaded::Multi(multi, cases) => trace_multi(&multi, cases, out, policies),
        }
    }
}

/// One case file into `out` (default `results/<case name>`), or several concurrently, each
/// into `OUT/<case name>/`. Every file is loaded and checked before any is traced; when cases
/// fail, the first failing one in the order given is reported.
fn trace_cases(args: TraceArgs, json: bool, pool: &rayon::ThreadPool) -> anyhow::Result<()> {
    let loaded = args
        .cases
        .iter()
        .map(|path| Ok((path, Loaded::load(path, &args.policies)?)))
        .collect::<anyhow::Result<Vec<_>>>()?;
    if let [(_, _)] = loaded.as_slice() {
        let (_, case) = loaded.into_iter().next().expect("one case");
        let out = args
            .out
            .unwrap_or_else(|| std::path::PathBuf::from("results").join(case.name()));
        let traced = pool.install(|| case.run(out, &args.policies))?;
        if json {
            println!("{}", serde_json::to_string_pretty(&traced.to_json()?)?);
        } else {
            traced.print();
        }
        return Ok(());
    }
    let parent = args
        .out
        .unwrap_or_else(|| std::path::PathBuf::from("results"));
    for (i, (path, case)) in loaded.iter().enumerate() {
        let name = case.name();
        if !fundtrace::multi::is_plain_name(name) {
            anyhow::bail!(
                "{}: its [case] name '{name}' names its results directory under {}: use a \
                 plain name (letters, digits, '-', '_')",
                path.display(),
                parent.display()
            );
        }
        if let Some((other, _)) = loaded[..i]
            .iter()
            .find(|(_, c)| c.name().eq_ignore_ascii_case(name))
        {
            anyhow::bail!(
                "{} and {} are both named '{name}': their results would share {}; give each \
                 case its own [case] name",
                other.display(),
                path.display(),
                parent.join(name).display()
            );
        }
    }
    let results = run_bounded(loaded, pool, |(path, case)| {
        let out = parent.join(case.name());
        case.run(out, &args.policies)
            .with_context(|| format!("tracing {} failed", path.display()))
    });
    let traced = results.into_iter().collect::<anyhow::Result<Vec<_>>>()?;
    if json {
        let all = traced
            .iter()
            .map(Traced::to_json)
            .collect::<anyhow::Result<Vec<_>>>()?;
        println!("{}", serde_json::to_string_pretty(&all)?);
    } else {
        for (i, t) in traced.iter().enumerate() {
            if i > 0 {
                println!();
            }
            t.print();
        }
    }
    Ok(())
}

/// `run` over `items` on `pool`, at most as many items at once as the pool has threads (one
/// caller thread per slot hands its item to the pool and waits), the results in the items'
/// order. Each item's own parallel work shares the pool; a pool thread waiting inside one item
/// only helps the items already started, so a run of many large cases holds at most that many
/// cases' results in memory, where a parallel iterator would start them all.
fn run_bounded<T: Send, R: Send>(
    items: Vec<T>,
    pool: &rayon::ThreadPool,
    run: impl Fn(T) -> R + Sync,
) -> Vec<R> {
    use std::sync::Mutex;
    let n = items.len();
    let queue = Mutex::new(items.into_iter().enumerate());
    let results: Vec<Mutex<Option<R>>> = (0..n).map(|_| Mutex::new(None)).collect();
    std::thread::scope(|scope| {
        for _ in 0..pool.current_num_threads().min(n) {
            scope.spawn(|| loop {
                let next = queue.lock().unwrap_or_else(|e| e.into_inner()).next();
                let Some((i, item)) = next else { break };
                let result = pool.install(|| run(item));
                *results[i].lock().unwrap_or_else(|e| e.into_inner()) = Some(result);
            });
        }
    });
    results
        .into_iter()
        .map(|r| {
            r.into_inner()
                .unwrap_or_else(|e| e.into_inner())
                .expect("every item ran")
        })
        .collect()
}

fn print_single(summary: &fundtrace::export::Summary, out: &std::path::Path) {
    use fundtrace::export::coins;
    println!(
        "case {}: {} seed outputs, {} coins seeded; results in {}",
        summary.case,
        summary.seeds.outputs,
        coins(summary.seeds.total_sat),
        out.display()
    );
    for p in &summary.policies {
        let check = match p.conservation_holds {
            Some(true) => "buckets sum to the seeded total exactly".to_string(),
            Some(false) => format!(
                "CONSERVATION FAILED: buckets {} vs seeded {}",
                p.bucket_total_sat, p.seeded_sat
            ),
            None => "reach (not conserved)".to_string(),
        };
        println!("\n{} ({check}; {} txs visited)", p.policy, p.txs_visited);
        for (bucket, sat) in &p.buckets {
            if *sat > 0 {
                println!("  {bucket:<14} {:>22}", coins(*sat));
            }
        }
        for c in &p.cashouts {
            println!(
                "  cashed out at {} ({}): {} in {} deposit(s), from {} hop(s), heights {}..={}",
                c.entity,
                c.category,
                coins(c.amount_sat),
                c.deposits,
                c.min_hop,
                c.first_height,
                c.last_height
            );
        }
    }
}

/// A multi-asset case: each asset's case into `OUT/<name>/` (concurrently), then the totals
/// across them; when assets fail, the first failing one in the file's order is reported.
fn trace_multi(
    multi: &fundtrace::multi::MultiCase,
    cases: Vec<fundtrace::case::Case>,
    out: std::path::PathBuf,
    policies: &[String],
) -> anyhow::Result<Traced> {
    use fundtrace::multi::{combine, write_summary, MultiError};
    use rayon::prelude::*;
    let runs: Vec<anyhow::Result<_>> = cases
        .into_par_iter()
        .map(|case| {
            let name = case.case.name.clone();
            let dir = out.join(&name);
            let run =
                fundtrace::trace::run::run_case(case, policies).map_err(|e| MultiError::Run {
                    asset: name.clone(),
                    source: Box::new(e),
                })?;
            let summary = fundtrace::export::write_results(&run, &dir)
                .with_context(|| format!("writing results to {} failed", dir.display()))?;
            Ok((summary, dir))
        })
        .collect();
    let runs = runs.into_iter().collect::<anyhow::Result<Vec<_>>>()?;
    let summary = combine(multi, &runs)?;
    write_summary(&out, &summary)?;
    Ok(Traced::Multi(Box::new(summary), out))
}

fn print_multi(summary: &fundtrace::multi::MultiSummary, out: &std::path::Path) {
    println!(
        "multi-asset case {}: {} assets; results in {}",
        summary.case,
        summary.assets.len(),
        out.display()
    );
    for a in &summary.assets {
        println!(
            "  {} ({}): {} coins seeded; results in {}",
            a.name,
            a.chain,
            fundtrace::export::coins(a.seeded_sat),
            out.join(&a.name).display()
        );
    }
    let cur = summary.fiat_currency.as_deref().unwrap_or("fiat");
    for t in &summary.totals {
        println!("\n{} across {} ({cur}):", t.policy, t.assets.join(", "));
        for (bucket, v) in &t.buckets_fiat {
            if v != "0.00" {
                println!("  {bucket:<14} {v:>22}");
            }
        }
        for (entity, v) in &t.cashouts_fiat {
            println!("  cashed out at {entity}: {v} {cur}");
        }
    }
}

fn cluster(args: ClusterArgs, json: bool) -> anyhow::Result<()> {
    let mut pool = rayon::ThreadPoolBuilder::new();
    if let Some(j) = args.jobs {
        pool = pool.num_threads(j);
    }
    let pool = pool.build()?;
    let started = std::time::Instant::now();
    let (clusters, multi) = pool
        .install(|| fundtrace::cluster::run(&args.dataset, &args.heuristics))
        .map_err(|e| anyhow::anyhow!("clustering {} failed: {e}", args.dataset.display()))?;
    let seconds = started.elapsed().as_secs_f64();
    if json {
        println!(
            "{}",
            serde_json::json!({"clusters": clusters, "multi_script_clusters": multi, "seconds": seconds})
        );
    } else {
        println!(
            "{} clusters ({} with more than one script) in {:.2} s; written to {}/clusters.parquet",
            clusters,
            multi,
            seconds,
            args.dataset.display()
        );
    }
    Ok(())
}
