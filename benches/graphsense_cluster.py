"""graphsense-clustering (GraphSense's Rust union-find) on a fundtrace dataset's multi-input
transactions: the peer measurement beside `cargo bench --bench cluster`.

usage: python3 benches/graphsense_cluster.py DATASET
"""
import sys
import time

import duckdb
from gs_clustering import Clustering

ds = sys.argv[1]
con = duckdb.connect()
rows = con.execute(
    f"""select list(o.script_id order by i.pos)
        from read_parquet('{ds}/inputs/*.parquet') i
        join read_parquet('{ds}/outputs/*.parquet') o on o.out_ix = i.prev_out
        group by i.tx_ix having count(*) >= 2"""
).fetchall()
txs = [list(r[0]) for r in rows]
n = con.execute(f"select count(*) from read_parquet('{ds}/scripts/*.parquet')").fetchone()[0]
start = time.perf_counter()
c = Clustering(max_address_id=n)
c.process_transactions(txs)
mapping = c.get_mapping()
elapsed = time.perf_counter() - start
print(f"graphsense-clustering: {len(txs)} multi-input txs, {n} addresses in {elapsed:.3f} s (union + mapping, inputs prepared)")
