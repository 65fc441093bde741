"""The generated Zaif-like chain's ground truth opens in pyarrow, polars and DuckDB, sums to the
stolen amount, and the example SQL puts a trace of it beside the truth."""
import json
import subprocess
import sys

import pytest

from conftest import REPO, import_or_need

MINI = REPO / "datasets" / "zaif-mini"
THEFT = json.loads((MINI / "truth" / "theft.json").read_text())
ENDPOINTS = MINI / "truth" / "endpoints.parquet"


def test_truth_opens_in_every_reader_and_sums_to_the_stolen_amount():
    import_or_need("pyarrow")
    import pyarrow.parquet as pq
    pl = import_or_need("polars")
    duckdb = import_or_need("duckdb")
    table = pq.read_table(ENDPOINTS)
    assert str(table.schema.field("value").type) == "uint64"
    assert sum(table.column("value").to_pylist()) == THEFT["stolen_sat"]
    df = pl.read_parquet(ENDPOINTS)
    by_kind = {k: v for k, v in df.group_by("kind").agg(pl.col("value").sum()).iter_rows()}
    assert by_kind == THEFT["totals_by_kind"]
    con = duckdb.connect()
    rows = con.execute(
        f"SELECT entity, sum(value)::BIGINT FROM read_parquet('{ENDPOINTS}') "
        "WHERE kind = 'cashout' GROUP BY entity ORDER BY entity").fetchall()
    assert dict(rows) == THEFT["cashed_out_by_entity"]


def test_trace_vs_truth_sql(zaif_results):
    duckdb = import_or_need("duckdb")
    con = duckdb.connect()
    con.execute(f"SET VARIABLE results = '{zaif_results}'")
    con.execute(f"SET VARIABLE truth = '{MINI / 'truth'}'")
    sql = (REPO / "queries" / "sql" / "trace_vs_truth.sql").read_text()
    rows = con.execute(sql).fetchall()
    # One row per cash-out entity of the truth, with its amount as theft.json states it.
    assert {r[0]: r[2] for r in rows} == THEFT["cashed_out_by_entity"]
    # Poison reaches every satoshi the thief deposited (it over-reaches, never under).
    assert all(r[8] >= r[2] for r in rows)
    # Conserving models find at most what was seeded, never more than poison's reach.
    assert all(max(r[4:8]) <= r[8] for r in rows)


@pytest.mark.parametrize("results_fixture,truth", [
    ("zaif_results", MINI / "truth"),
    ("demo_results", REPO / "datasets" / "demo" / "truth"),
])
def test_the_notebook_runs_headless_and_draws_its_plots(results_fixture, truth, request, tmp_path):
    import_or_need("matplotlib")
    results = request.getfixturevalue(results_fixture)
    notebook = REPO / "queries" / "notebooks" / "zaif-mini.py"
    run = subprocess.run([sys.executable, str(notebook), str(results), str(truth), str(tmp_path)],
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    for plot in ["value_by_hop.png", "cashouts_over_time.png"]:
        png = (tmp_path / plot).read_bytes()
        assert png.startswith(b"\x89PNG") and len(png) > 10_000, plot
    if results_fixture == "zaif_results":
        # It printed the trace-vs-truth table with every cash-out entity of the truth.
        assert all(entity in run.stdout for entity in THEFT["cashed_out_by_entity"])
    else:
        assert "trace_vs_truth.sql skipped" in run.stdout
