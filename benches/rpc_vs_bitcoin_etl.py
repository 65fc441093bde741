#!/usr/bin/env python3
"""RPC export side by side: `fundtrace ingest --rpc` and bitcoin-etl's
`export_blocks_and_transactions`, from the same litecoind -regtest node holding a few thousand
wallet transactions. Prints blocks/s and tx/s of each, the ratio, and the node's CPU share while
each ran (the node's CPU seconds over the wall time: near one core means the node is the
bottleneck).

    python3 benches/rpc_vs_bitcoin_etl.py [--txs 3000] [--etl PATH_TO_bitcoinetl]

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
    def __init__(self, datadir: Path):
        datadir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        binary = shutil.which("litecoind") or "/usr/lib/litecoin/litecoind"
        self.proc = subprocess.Popen([
            binary, "-regtest", "-server", "-listen=0", "-txindex=1", "-fallbackfee=0.0002",
            "-printtoconsole=0", "-rpcbind=127.0.0.1", "-rpcallowip=127.0.0.1",
            "-vbparams=mweb:-2:0", f"-datadir={datadir}", f"-rpcport={self.port}",
            f"-port={free_port()}", f"-rpcuser={USER}", f"-rpcpassword={PASSWORD}",
            "-rpcthreads=16", "-rpcworkqueue=256",
        ], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.url = f"http://127.0.0.1:{self.port}"
        for _ in range(600):
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


def timed(node: Node, argv, env=None):
    cpu0, t0 = node.cpu_seconds(), time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    return time.perf_counter() - t0, node.cpu_seconds() - cpu0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--txs", type=int, default=3000)
    ap.add_argument("--etl", default=shutil.which("bitcoinetl") or "/tmp/etl-venv/bin/bitcoinetl")
    args = ap.parse_args()
    fundtrace = REPO / "target" / "release" / "fundtrace"
    if not fundtrace.exists():
        raise SystemExit("build the release binary first: cargo build --release")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        node = Node(tmp / "node")
        try:
            node.call("createwallet", "w")
            miner = node.call("getnewaddress", "", "bech32", wallet="w")
            node.call("generatetoaddress", 300, miner)
            kinds = ["legacy", "p2sh-segwit", "bech32"]
            addresses = node.batch([("getnewaddress", ["", kinds[i % 3]]) for i in range(300)], "w")
            made, t0 = 0, time.perf_counter()
            while made < args.txs:
                n = min(100, args.txs - made)
                node.batch([("sendtoaddress", [addresses[(made + i) % 300], round(0.01 + (made + i) % 7 * 0.003, 8)])
                            for i in range(n)], "w")
                made += n
                node.call("generatetoaddress", 1, miner)
            height = node.call("getblockcount")
            txs = sum(node.call("getblock", node.call("getblockhash", h))["nTx"] for h in range(height + 1))
            print(f"node: {height + 1} blocks, {txs} transactions ({made} wallet payments made in "
                  f"{time.perf_counter() - t0:.1f} s)")

            env = dict(os.environ, FT_PW=PASSWORD)
            ft_wall, ft_node = timed(node, [
                str(fundtrace), "ingest", "--rpc", node.url, "--chain", "litecoin-regtest",
                "--rpc-user", USER, "--rpc-password-env", "FT_PW", "--confirmations", "0",
                "--out", str(tmp / "ds")], env)
            etl_wall, etl_node = timed(node, [
                args.etl, "export_blocks_and_transactions", "--start-block", "0",
                "--end-block", str(height), "--provider-uri",
                f"http://{USER}:{PASSWORD}@127.0.0.1:{node.port}", "--chain", "litecoin",
                "--blocks-output", str(tmp / "blocks.json"),
                "--transactions-output", str(tmp / "txs.json")])
            etl_txs = sum(1 for _ in open(tmp / "txs.json"))
            assert etl_txs == txs, f"bitcoin-etl exported {etl_txs} of {txs} transactions"
            for name, wall, cpu in [("fundtrace ingest --rpc", ft_wall, ft_node),
                                    ("bitcoin-etl export_blocks_and_transactions", etl_wall, etl_node)]:
                print(f"{name:45} {wall:7.2f} s  {(height + 1) / wall:9.0f} blocks/s  "
                      f"{txs / wall:9.0f} tx/s  node CPU {cpu / wall:5.0%} of one core")
            print(f"ratio: fundtrace is {etl_wall / ft_wall:.1f}x bitcoin-etl's throughput")
        finally:
            node.stop()


if __name__ == "__main__":
    main()
