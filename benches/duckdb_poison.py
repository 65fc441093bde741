"""The poison reach of one transaction's outputs, computed by DuckDB's recursive SQL over a
fundtrace dataset's Parquet: the peer measurement beside `cargo bench --bench trace`.

usage: python3 benches/duckdb_poison.py DATASET SEED_TX_IX [--views]
Prints the number of transactions reached (visited) and the seconds the query took. By default
the outputs table is first loaded into DuckDB's memory (not timed, as fundtrace's load is not):
each step of the recursion then scans memory. With --views the query reads the Parquet files
through a view, so each step re-reads them.
"""
import sys
import time

import duckdb

dataset, seed = sys.argv[1], int(sys.argv[2])
views = "--views" in sys.argv[3:]
con = duckdb.connect()
kind = "view" if views else "table"
con.execute(f"create {kind} outputs as select tx_ix, spent_by from read_parquet('{dataset}/outputs/*.parquet')")
start = time.perf_counter()
# Transactions reachable from the seed transaction by spending (poison: every descendant).
(reached,) = con.execute(
    f"""
    with recursive reach(tx) as (
        select distinct spent_by from outputs where tx_ix = {seed} and spent_by is not null
        union
        select o.spent_by from reach r join outputs o on o.tx_ix = r.tx where o.spent_by is not null
    )
    select count(*) from reach
    """
).fetchone()
elapsed = time.perf_counter() - start
print(f"duckdb recursive poison reach ({kind}): {reached} transactions in {elapsed:.3f} s")
