"""The generated Zaif-like chain's ground truth opens in pyarrow, polars and DuckDB, sums to the
stolen amount, and the example SQL puts a trace of it beside the truth."""
import json
import subprocess

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


@pytest.fixture(scope="module")
def zaif_results(fundtrace_bin, tmp_path_factory):
    root = tmp_path_factory.mktemp("zaif")
    ds = root / "ds"
    subprocess.run([str(fundtrace_bin), "ingest", "--blocks-dir", str(MINI / "blocks"),
                    "--chain", "bitcoin-regtest", "--out", str(ds)], check=True)
    case = (REPO / "queries" / "zaif-mini.toml").read_text()
    case = case.replace('dataset = "../target/zaif-mini"', f'dataset = "{ds}"')
    case = case.replace('"../datasets/zaif-mini/truth/labels.csv"',
                        f'"{MINI / "truth" / "labels.csv"}"')
    (root / "case.toml").write_text(case)
    out = root / "results"
    subprocess.run([str(fundtrace_bin), "trace", str(root / "case.toml"), "--out", str(out)],
                   check=True, stdout=subprocess.DEVNULL)
    return out


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
