#!/usr/bin/env python3
"""RPC export side by side: `fundtrace ingest --rpc` and bitcoin-etl's
`export_blocks_and_transactions`, from the same litecoind -regtest node. Prints blocks/s and tx/s
of each, the ratio, and the node's CPU share while each ran (the node's CPU seconds over the wall
time), and, over REST, the node's floor: the same blocks downloaded by 8 keep-alive connections
that do nothing with them; fundtrace's time over that floor says how far the node alone sets
the pace.

Two ways to fill the node:

    python3 benches/rpc_vs_bitcoin_etl.py [--txs 3000] [--etl PATH_TO_bitcoinetl]

makes `--txs` payments with the node's wallet (realistic, but the wallet slows as it grows: 3,000
take about 10 minutes; `--node-dir DIR` keeps the node's datadir there, and a later run with the
same DIR reuses its chain instead of paying again);

    python3 benches/rpc_vs_bitcoin_etl.py --generated 200000 [--etl ...]

generates a payments chain of that many transactions with `fundtrace generate --chain
litecoin-regtest --tail-blocks 8100` and has litecoind import it (`-loadblock`, with
`-assumevalid` at its tip: the generator's signatures are fillers, and the node skips script
checks only for blocks two weeks of work below the tip, hence the 8,100 coinbase-only blocks at
the end). Both tools then export the blocks that hold the transactions (not the empty tail; with
--whole-chain, every block), best of `--runs` runs each (default 2), and the script checks that
the RPC dataset equals the blk ingest of the generated files.

Needs litecoind (apt-get install -y litecoind), the release binary (cargo build --release) and
bitcoin-etl (it pins old `requests`, so give it its own venv:
`python3 -m venv /tmp/etl && /tmp/etl/bin/pip install bitcoin-etl`, then --etl /tmp/etl/bin/bitcoinetl).
"""
import argparse
import base64
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
USER, PASSWORD = "bench", "bench-password"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Node:
    def __init__(self, datadir: Path, extra=()):
        datadir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        binary = shutil.which("litecoind") or "/usr/lib/litecoin/litecoind"
        self.proc = subprocess.Popen([
            binary, "-regtest", "-server", "-listen=0", "-txindex=1", "-fallbackfee=0.0002",
            "-printtoconsole=0", "-rpcbind=127.0.0.1", "-rpcallowip=127.0.0.1",
            "-vbparams=mweb:-2:0", f"-datadir={datadir}", f"-rpcport={self.port}",
            f"-port={free_port()}", f"-rpcuser={USER}", f"-rpcpassword={PASSWORD}",
            "-rpcthreads=16", "-rpcworkqueue=256", "-rest=1", *extra,
        ], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.url = f"http://127.0.0.1:{self.port}"
        for _ in range(6000):
            try:
                self.call("getblockchaininfo")
                return
            except Exception:
                time.sleep(0.1)
        raise SystemExit("litecoind did not answer")

    def batch(self, calls, wallet=None):
        body = json.dumps([{"jsonrpc": "1.0", "id": i, "method": m, "params": p}
                           for i, (m, p) in enumerate(calls)]).encode()
        url = self.url + (f"/wallet/{wallet}" if wallet else "")
        req = urllib.request.Request(url, body, {"Content-Type": "application/json"})
        token = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
        req.add_header("Authorization", f"Basic {token}")
        with urllib.request.urlopen(req, timeout=300) as r:
            out = json.loads(r.read())
        errors = [o["error"] for o in out if o.get("error")]
        if errors:
            raise RuntimeError(errors[0])
        return [o["result"] for o in sorted(out, key=lambda o: o["id"])]

    def call(self, method, *params, wallet=None):
        return self.batch([(method, list(params))], wallet)[0]

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self):
        try:
            self.call("stop")
        except Exception:
            pass
        self.proc.wait(timeout=60)


def children_cpu() -> float:
    import resource
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def timed(node: Node, argv, env=None):
    """(wall seconds, node CPU seconds, the tool's own CPU seconds) of one run of `argv`."""
    cpu0, own0, t0 = node.cpu_seconds(), children_cpu(), time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    return time.perf_counter() - t0, node.cpu_seconds() - cpu0, children_cpu() - own0


def best_of(runs: int, node: Node, argv, env=None, before=None):
    """The fastest of `runs` timed runs: (wall seconds, node CPU seconds, own CPU seconds)."""
    best = None
    for _ in range(runs):
        if before:
            before()
        run = timed(node, argv, env)
        if best is None or run[0] < best[0]:
            best = run
    return best


def rest_download(node: Node, height: int, connections: int = 8, runs: int = 2):
    """The node's floor: blocks 0..=height fetched from its REST interface by `connections`
    keep-alive HTTP connections, bodies read and dropped (nothing parsed or stored); the fastest
    of `runs`: (wall seconds, node CPU seconds). Needs the node's -rest. Like fundtrace's client,
    it asks for immediate ACKs (TCP_QUICKACK) before every read: without that, Linux's delayed
    ACK and the node's Nagle stall a kept-alive connection 40 ms on every block of tens of KB."""
    import threading
    hashes = node.batch([("getblockhash", [h]) for h in range(height + 1)])
    quickack = getattr(socket, "TCP_QUICKACK", None)
    best = None
    for _ in range(runs):
        todo = list(reversed(hashes))
        lock = threading.Lock()

        def work():
            s = socket.create_connection(("127.0.0.1", node.port), timeout=120)
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            while True:
                with lock:
                    if not todo:
                        s.close()
                        return
                    h = todo.pop()
                s.sendall(f"GET /rest/block/{h}.bin HTTP/1.1\r\nHost: x\r\n\r\n".encode())
                # One request at a time on a connection: each reply is read whole, nothing after it.
                buf, need = bytearray(), None
                while need is None or len(buf) < need:
                    if quickack is not None:
                        s.setsockopt(socket.IPPROTO_TCP, quickack, 1)
                    chunk = s.recv(1 << 20)
                    assert chunk, "the node closed the connection"
                    buf += chunk
                    if need is None and b"\r\n\r\n" in buf:
                        head = bytes(buf[:buf.index(b"\r\n\r\n")])
                        assert head.startswith(b"HTTP/1.1 200"), head[:40]
                        length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n")
                                      if line.lower().startswith(b"content-length:"))
                        need = len(head) + 4 + length
                assert len(buf) == need, "bytes after the reply"

        errors = []

        def guarded():
            try:
                work()
            except Exception as e:  # a failed download must fail the bench, not look fast
                errors.append(e)

        cpu0, t0 = node.cpu_seconds(), time.perf_counter()
        threads = [threading.Thread(target=guarded) for _ in range(connections)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall, cpu = time.perf_counter() - t0, node.cpu_seconds() - cpu0
        if errors:
            raise SystemExit(f"the REST download failed: {errors[0]!r}")
        if best is None or wall < best[0]:
            best = (wall, cpu)
    return best


def compare(node: Node, fundtrace: Path, etl: str, tmp: Path, height: int, txs: int,
            rest: bool = True, runs: int = 2):
    """Export blocks 0..=height with both tools, best of `runs` each (the first run also warms
    the node's caches), and the REST floor, best of as many; print and return (fundtrace s,
    bitcoin-etl s)."""
    env = dict(os.environ, FT_PW=PASSWORD)
    ft_wall, ft_node, ft_own = best_of(runs, node, [
        str(fundtrace), "ingest", "--rpc", node.url, "--chain", "litecoin-regtest",
        "--rpc-user", USER, "--rpc-password-env", "FT_PW", "--confirmations", "0",
        "--to", str(height), "--out", str(tmp / "ds"), *([] if rest else ["--no-rest"])], env,
        before=lambda: shutil.rmtree(tmp / "ds", ignore_errors=True))
    etl_wall, etl_node, etl_own = best_of(runs, node, [
        etl, "export_blocks_and_transactions", "--start-block", "0",
        "--end-block", str(height), "--provider-uri",
        f"http://{USER}:{PASSWORD}@127.0.0.1:{node.port}", "--chain", "litecoin",
        "--blocks-output", str(tmp / "blocks.json"),
        "--transactions-output", str(tmp / "txs.json")])
    etl_txs = sum(1 for _ in open(tmp / "txs.json"))
    assert etl_txs == txs, f"bitcoin-etl exported {etl_txs} of {txs} transactions"
    manifest = json.loads((tmp / "ds" / "manifest.json").read_text())
    assert manifest["counts"]["txs"] == txs, manifest["counts"]
    via = "REST" if rest else "RPC hex"
    rows = [(f"fundtrace ingest --rpc ({via})", ft_wall, ft_node, ft_own),
            ("bitcoin-etl export_blocks_and_transactions", etl_wall, etl_node, etl_own)]
    if rest:
        dl_wall, dl_node = rest_download(node, height, runs=runs)
        rows.append(("REST download only (8 connections, no work)", dl_wall, dl_node, None))
    for name, wall, cpu, own in rows:
        own = "" if own is None else f", its own CPU {own:.2f} s"
        print(f"{name:45} {wall:7.2f} s  {(height + 1) / wall:9.0f} blocks/s  "
              f"{txs / wall:9.0f} tx/s  node CPU {cpu:.2f} s = {cpu / wall:4.0%} of one core{own}")
    print(f"ratio: fundtrace is {etl_wall / ft_wall:.1f}x bitcoin-etl's throughput")
    if rest:
        print(f"fundtrace takes {ft_wall / dl_wall:.2f}x the time of downloading the same blocks "
              "from the node and nothing else (1.00x would mean the node alone sets the pace)")
    return ft_wall, etl_wall


def generated(args, fundtrace: Path, tmp: Path):
    """A generated chain imported by the node; both tools export its transaction blocks."""
    gen = tmp / "gen"
    subprocess.run([str(fundtrace), "generate", "--scenario", "payments", "--chain",
                    "litecoin-regtest", "--txs", str(args.generated), "--tail-blocks", "8100",
                    "--out", str(gen)], check=True, stdout=subprocess.DEVNULL)
    subprocess.run([str(fundtrace), "ingest", "--blocks-dir", str(gen / "blocks"), "--chain",
                    "litecoin-regtest", "--out", str(tmp / "blk")], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    full = json.loads((tmp / "blk" / "manifest.json").read_text())
    tip, tip_hash = full["tip"]["height"], full["tip"]["hash"]
    last = tip - 8100  # the last block holding payments
    files = sorted((gen / "blocks").glob("blk*.dat"))
    t0 = time.perf_counter()
    node = Node(tmp / "node", [f"-loadblock={f}" for f in files] + [
        f"-assumevalid={tip_hash}", "-maxtipage=4000000000", "-disablewallet"])
    try:
        while node.call("getblockcount") < tip:
            time.sleep(1)
        print(f"node imported {tip + 1} generated blocks in {time.perf_counter() - t0:.0f} s")
        if args.whole_chain:
            last = tip
        subprocess.run([str(fundtrace), "ingest", "--blocks-dir", str(gen / "blocks"), "--chain",
                        "litecoin-regtest", "--to", str(last), "--out", str(tmp / "blk-to")],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        txs = json.loads((tmp / "blk-to" / "manifest.json").read_text())["counts"]["txs"]
        print(f"exporting blocks 0..={last}: {txs} transactions")
        compare(node, fundtrace, args.etl, tmp, last, txs, rest=not args.no_rest, runs=args.runs)
        a = json.loads((tmp / "ds" / "manifest.json").read_text())
        b = json.loads((tmp / "blk-to" / "manifest.json").read_text())
        assert a == b, "the RPC dataset differs from the blk ingest of the generated files"
        print("the RPC dataset equals the blk ingest of the generated files (manifest, sha256 of every file)")
    finally:
        node.stop()


def make_payments(node: Node, count: int) -> int:
    """Mine 300 blocks to the node's wallet, then make `count` payments to 300 addresses of three
    kinds, 100 a block; the number made."""
    node.call("createwallet", "w")
    miner = node.call("getnewaddress", "", "bech32", wallet="w")
    node.call("generatetoaddress", 300, miner)
    kinds = ["legacy", "p2sh-segwit", "bech32"]
    addresses = node.batch([("getnewaddress", ["", kinds[i % 3]]) for i in range(300)], "w")
    made, t0 = 0, time.perf_counter()
    while made < count:
        n = min(100, count - made)
        node.batch([("sendtoaddress", [addresses[(made + i) % 300], round(0.01 + (made + i) % 7 * 0.003, 8)])
                    for i in range(n)], "w")
        made += n
        node.call("generatetoaddress", 1, miner)
    print(f"{made} wallet payments made in {time.perf_counter() - t0:.1f} s")
    return made


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--txs", type=int, default=3000)
    ap.add_argument("--generated", type=int, metavar="N",
                    help="import a generated chain of N payments instead of using the wallet")
    ap.add_argument("--no-rest", action="store_true", help="fundtrace fetches hex over RPC")
    ap.add_argument("--whole-chain", action="store_true",
                    help="with --generated: export the 8,100 empty tail blocks too")
    ap.add_argument("--runs", type=int, default=2,
                    help="each side's time is the best of this many runs (default 2)")
    ap.add_argument("--node-dir", type=Path,
                    help="wallet case: keep the node's datadir here and reuse the chain it holds")
    ap.add_argument("--etl", default=shutil.which("bitcoinetl") or "/tmp/etl-venv/bin/bitcoinetl")
    args = ap.parse_args()
    fundtrace = REPO / "target" / "release" / "fundtrace"
    if not fundtrace.exists():
        raise SystemExit("build the release binary first: cargo build --release")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        if args.generated:
            if args.node_dir:
                raise SystemExit("--node-dir keeps the wallet case's chain; --generated makes a new one")
            generated(args, fundtrace, tmp)
            return
        node_dir = args.node_dir or tmp / "node"
        made_file = node_dir / "fundtrace-bench-payments"
        reuse = made_file.exists()
        if not reuse and (node_dir / "regtest").exists():
            raise SystemExit(f"{node_dir} holds a node that no finished run of this bench made: "
                             "remove it, or give another --node-dir")
        node = Node(node_dir)
        try:
            if reuse:
                made = int(made_file.read_text())
                print(f"reusing the chain in {node_dir} ({made} wallet payments)")
                if made != args.txs:
                    print(f"note: --txs {args.txs} is ignored; the chain holds {made} payments")
            else:
                made = make_payments(node, args.txs)
                made_file.write_text(str(made))
            height = node.call("getblockcount")
            txs = sum(node.call("getblock", node.call("getblockhash", h))["nTx"] for h in range(height + 1))
            print(f"node: {height + 1} blocks, {txs} transactions ({made} wallet payments)")

            compare(node, fundtrace, args.etl, tmp, height, txs, rest=not args.no_rest,
                    runs=args.runs)
        finally:
            node.stop()


if __name__ == "__main__":
    main()
