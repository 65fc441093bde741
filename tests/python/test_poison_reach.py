"""DuckDB's recursive poison query (queries/sql/poison_reach.sql, the one benches/duckdb_poison.py
times) finds exactly the transactions and hops of fundtrace's poison trace: the two sides of the
benchmark compute the same reach."""
import subprocess

from conftest import REPO, import_or_need

MINI = REPO / "datasets" / "zaif-mini"
THEFT_TXID = "b81922669df89a8e2272ebec11ad14654f88e03b6245dfaef80166d4978874b5"


def test_duckdb_poison_query_finds_fundtraces_reach_and_hops(fundtrace_bin, tmp_path):
    duckdb = import_or_need("duckdb")
    ds = tmp_path / "ds"
    subprocess.run([str(fundtrace_bin), "ingest", "--blocks-dir", str(MINI / "blocks"),
                    "--chain", "bitcoin-regtest", "--out", str(ds)], check=True,
                   stdout=subprocess.DEVNULL)
    # The theft traced under poison with no stop rule: its whole reach.
    (tmp_path / "case.toml").write_text(f"""
[case]
name = "reach"
dataset = "{ds}"
chain = "bitcoin-regtest"
[seeds]
txids = ["{THEFT_TXID}"]
[trace]
direction = "forward"
policies = ["poison"]
max_hops = 1000000
min_value = 0
""")
    results = tmp_path / "results"
    subprocess.run([str(fundtrace_bin), "trace", str(tmp_path / "case.toml"), "--out",
                    str(results)], check=True, stdout=subprocess.DEVNULL)
    con = duckdb.connect()
    con.execute(f"SET VARIABLE ds = '{ds}'")
    (seed_tx,) = con.execute(
        f"SELECT tx_ix FROM read_parquet('{ds}/txs/*.parquet') "
        f"WHERE lower(hex(txid)) = '{THEFT_TXID}'").fetchone()
    con.execute(f"SET VARIABLE seed_tx = {seed_tx}")
    duck = dict(con.execute((REPO / "queries" / "sql" / "poison_reach.sql").read_text()).fetchall())
    # fundtrace: each tainted output's transaction and hop; the seed transaction is hop 0.
    ours = dict(con.execute(
        f"SELECT t.tx_ix, min(f.hop) FROM read_parquet('{results}/flows.parquet') f "
        f"JOIN read_parquet('{ds}/txs/*.parquet') t ON lower(hex(t.txid)) = f.txid "
        "WHERE f.hop > 0 GROUP BY t.tx_ix").fetchall())
    assert len(duck) > 1000, "the theft's reach covers most of the chain after it"
    assert duck == ours
