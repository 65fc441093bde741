"""The poison reach of one transaction's outputs, computed by DuckDB's recursive SQL over a
fundtrace dataset's Parquet: the peer measurement beside `cargo bench --bench trace`.

usage: python3 benches/duckdb_poison.py DATASET SEED_TX_IX [--views] [--hops] [--repeat N]
Prints the number of transactions reached (visited) and the seconds the query took, one line per
run (`--repeat N` runs it N times; `cargo bench --bench trace_pairs` does, between its own runs). By default
the outputs table is first loaded into DuckDB's memory (not timed, as fundtrace's load is not):
each step of the recursion then scans memory. With --views the query reads the Parquet files
through a view, so each step re-reads them. With --hops the query also finds each reached
transaction's hop (its distance from the seed, as fundtrace's flows give it): the query of
queries/sql/poison_reach.sql, a breadth-first recursion keyed by transaction (`USING KEY`,
DuckDB 1.3+) that skips transactions already reached; tests/python/test_poison_reach.py checks
that it finds exactly fundtrace's poison reach and hops.
"""
import sys
import time
from pathlib import Path

import duckdb

dataset, seed = sys.argv[1], int(sys.argv[2])
views = "--views" in sys.argv[3:]
hops = "--hops" in sys.argv[3:]
repeat = int(sys.argv[sys.argv.index("--repeat") + 1]) if "--repeat" in sys.argv else 1
con = duckdb.connect()
kind = "view" if views else "table"
con.execute(f"create {kind} outputs as select tx_ix, spent_by, value from read_parquet('{dataset}/outputs/*.parquet')")
for _ in range(repeat):
    start = time.perf_counter()
    if hops:
        # The query of queries/sql/poison_reach.sql (its first statement makes the view `outputs`,
        # made here as a table or a view above), counted.
        sql = (Path(__file__).resolve().parents[1] / "queries" / "sql" / "poison_reach.sql").read_text()
        query = sql[sql.index("WITH RECURSIVE"):].rstrip().rstrip(";")
        query = query.replace("getvariable('seed_tx')", str(seed))
        (reached, deepest) = con.execute(f"select count(*), max(hop) from ({query})").fetchone()
        what = f"{reached} transactions, deepest hop {deepest}"
    else:
        # Transactions reachable from the seed transaction by spending (poison: every descendant
        # through outputs of some value; a zero-value output carries no taint).
        (reached,) = con.execute(
            f"""
            with recursive reach(tx) as (
                select distinct spent_by from outputs where tx_ix = {seed} and spent_by is not null and value > 0
                union
                select o.spent_by from reach r join outputs o on o.tx_ix = r.tx
                where o.spent_by is not null and o.value > 0
            )
            select count(*) from reach
            """
        ).fetchone()
        what = f"{reached} transactions"
    elapsed = time.perf_counter() - start
    print(f"duckdb recursive poison reach ({kind}{', hops' if hops else ''}): {what} in {elapsed:.3f} s")
