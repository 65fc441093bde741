"""fundtrace's multi-input clustering gives the same partition as graphsense-clustering (GraphSense's
Rust union-find, from PyPI) fed the same transactions: mainnet blocks 0-4312."""
import subprocess

from conftest import import_or_need


def partition(pairs):
    """Canonical form of a partition: the set of frozensets of members (singletons dropped)."""
    groups = {}
    for member, cluster in pairs:
        groups.setdefault(cluster, set()).add(member)
    return {frozenset(g) for g in groups.values() if len(g) > 1}


def test_same_partition_as_graphsense(fundtrace_bin, mainnet_dataset):
    gs = import_or_need("gs_clustering")
    duckdb = import_or_need("duckdb")
    subprocess.run([str(fundtrace_bin), "cluster", str(mainnet_dataset)], check=True)
    con = duckdb.connect()
    ds = mainnet_dataset
    # The input scripts of every multi-input transaction, straight from the public tables.
    rows = con.execute(
        f"""
        select i.tx_ix, list(o.script_id order by i.pos)
        from read_parquet('{ds}/inputs/*.parquet') i
        join read_parquet('{ds}/outputs/*.parquet') o on o.out_ix = i.prev_out
        group by i.tx_ix having count(*) >= 2
        order by i.tx_ix
        """
    ).fetchall()
    assert rows, "blocks 0-4312 have multi-input transactions"
    n_scripts = con.execute(f"select count(*) from read_parquet('{ds}/scripts/*.parquet')").fetchone()[0]
    c = gs.Clustering(max_address_id=n_scripts)
    c.process_transactions([list(r[1]) for r in rows])
    mapping = c.get_mapping().to_pydict()
    theirs = partition(zip(mapping["address_id"], mapping["cluster_id"]))
    ours_rows = con.execute(f"select script_id, cluster_id from read_parquet('{ds}/clusters.parquet')").fetchall()
    ours = partition(ours_rows)
    assert ours == theirs
    assert ours, "some clusters have more than one script"
