"""A trace's results open in pyarrow, polars and DuckDB, and the endpoint rows account for every
seeded satoshi exactly under the conserving models (summary.json states the same)."""
import json

from conftest import REPO, import_or_need


def test_results_schema_in_pyarrow(demo_results):
    pa = import_or_need("pyarrow")
    import pyarrow.parquet as pq

    flows = pq.read_table(demo_results / "flows.parquet")
    assert flows.schema.field("tainted_value").type == pa.uint64()
    assert flows.schema.field("time").type == pa.timestamp("ms", tz="UTC")
    endpoints = pq.read_table(demo_results / "endpoints.parquet")
    assert set(endpoints.column("bucket").to_pylist()) <= {
        "cashed-out", "unspent", "fees", "dust-cut", "hop-cut", "degree-cut", "burned", "beyond-window"}


def test_endpoints_sum_to_the_stolen_amount_in_duckdb(demo_results):
    duckdb = import_or_need("duckdb")
    theft = json.loads((REPO / "datasets" / "demo" / "truth" / "theft.json").read_text())
    summary = json.loads((demo_results / "summary.json").read_text())
    rows = duckdb.connect().execute(
        f"select policy, sum(tainted_value)::HUGEINT from read_parquet('{demo_results}/endpoints.parquet') "
        "group by policy order by policy"
    ).fetchall()
    conserving = {p["policy"] for p in summary["policies"] if p["conserves"]}
    assert conserving == {"haircut", "fifo", "lifo", "tiho"}
    for policy, total in rows:
        if policy in conserving:
            assert total == theft["stolen_sat"], policy
    for p in summary["policies"]:
        if p["conserves"]:
            assert p["conservation_holds"] is True
            assert p["seeded_sat"] == theft["stolen_sat"]


def test_cashouts_in_polars_match_the_exchange_deposits(demo_results):
    pl = import_or_need("polars")
    cash = pl.read_parquet(demo_results / "cashouts.parquet").filter(pl.col("policy") == "fifo")
    # Four exchanges were paid: 8 peels round-robin plus 2 split deposits.
    assert sorted(cash["entity"].to_list()) == ["Bitbank", "Huobi", "Kraken", "Poloniex"]
    assert cash["deposits"].sum() == 10
    flows = pl.read_parquet(demo_results / "flows.parquet")
    # Hop 0 is the single seed output: the sweep into the thief address.
    seeds = flows.filter((pl.col("policy") == "fifo") & (pl.col("hop") == 0))
    assert seeds.height == 1


def test_results_in_pandas(demo_results):
    pd = import_or_need("pandas")
    flows = pd.read_parquet(demo_results / "flows.parquet")
    endpoints = pd.read_parquet(demo_results / "endpoints.parquet")
    assert str(flows["tainted_value"].dtype) == "uint64"
    fifo = endpoints[endpoints["policy"] == "fifo"]
    theft = __import__("json").loads((REPO / "datasets" / "demo" / "truth" / "theft.json").read_text())
    # Integer sums in Python: exact.
    assert int(fifo["tainted_value"].astype("object").sum()) == theft["stolen_sat"]


def test_loss_band_is_min_and_max_of_the_models(demo_results):
    duckdb = import_or_need("duckdb")
    con = duckdb.connect()
    band = con.execute(
        f"select kind, key, min_value, max_value from read_parquet('{demo_results}/loss_band.parquet')"
    ).fetchall()
    assert band and all(lo <= hi for _, _, lo, hi in band)
    # Cash-out rows are the min and max over the conserving models' cashouts.parquet rows.
    per_model = con.execute(
        f"""select entity, min(tainted_value), max(tainted_value)
            from read_parquet('{demo_results}/cashouts.parquet') where policy <> 'poison' group by entity"""
    ).fetchall()
    cash = {k: (lo, hi) for kind, k, lo, hi in band if kind == "cashout"}
    assert cash == {e: (lo, hi) for e, lo, hi in per_model}


def test_loss_band_summary_lines_are_min_and_max_of_the_models_buckets(demo_results):
    duckdb = import_or_need("duckdb")
    band = duckdb.connect().execute(
        f"select key, min_value, max_value from read_parquet('{demo_results}/loss_band.parquet') "
        "where kind = 'summary'").fetchall()
    lines = {k: (lo, hi) for k, lo, hi in band}
    summary = json.loads((demo_results / "summary.json").read_text())
    models = [p for p in summary["policies"] if p["conserves"]]

    def span(values):
        return (min(values), max(values))

    assert lines["1 stolen (seeded)"] == span([p["seeded_sat"] for p in models])
    for line, bucket in [("2 cashed out", "cashed-out"), ("4 unspent", "unspent"), ("5 fees", "fees")]:
        assert lines[line] == span([p["buckets"][bucket] for p in models]), line
    cut = ["hop-cut", "dust-cut", "degree-cut", "beyond-window"]
    assert lines["6 cut by stop conditions"] == span([sum(p["buckets"][b] for b in cut) for p in models])
