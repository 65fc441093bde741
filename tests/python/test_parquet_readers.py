"""The dataset's Parquet tables open in pyarrow, polars and DuckDB with the documented schema,
and hold the counts published for mainnet heights 0-4312 (../shared/datasets/real/SOURCES.md)."""
import json

import pytest

from conftest import import_or_need

BLOCKS, TXS, INPUTS, NON_COINBASE_INPUTS, OUTPUTS = 4313, 4371, 4560, 247, 4397
TIP = "00000000a9da635727dce622d78361b153ce3334e6a60d4377fad529abfc7863"
HAL_TX = "f4184fc596403b9d638783cf57adfe4c75c605f6356fbc91338530e9831e9e16"


def glob(ds, table):
    return str(ds / table / "*.parquet")


def test_manifest_lists_two_partitions_with_checksums(mainnet_dataset):
    import hashlib

    manifest = json.loads((mainnet_dataset / "manifest.json").read_text())
    assert manifest["chain"] == "bitcoin"
    assert manifest["tip"] == {"height": 4312, "hash": TIP}
    assert [(p["start_height"], p["end_height"]) for p in manifest["partitions"]] == [(0, 2999), (3000, 4312)]
    for part in manifest["partitions"]:
        for f in part["files"]:
            data = (mainnet_dataset / f["path"]).read_bytes()
            assert hashlib.sha256(data).hexdigest() == f["sha256"]
            assert len(data) == f["bytes"]


def test_pyarrow_schema_and_counts(mainnet_dataset):
    pa = import_or_need("pyarrow")
    import pyarrow.dataset as pads

    def table(name):
        return pads.dataset(str(mainnet_dataset / name), format="parquet").to_table()

    blocks, txs, outputs, inputs = table("blocks"), table("txs"), table("outputs"), table("inputs")
    assert (blocks.num_rows, txs.num_rows, outputs.num_rows, inputs.num_rows) == (BLOCKS, TXS, OUTPUTS, INPUTS)
    assert outputs.schema.field("value").type == pa.uint64()
    assert txs.schema.field("txid").type == pa.binary(32)
    assert blocks.schema.field("height").type == pa.uint32()
    assert blocks.schema.field("time").type == pa.timestamp("ms", tz="UTC")
    assert inputs.column("prev_out").null_count == INPUTS - NON_COINBASE_INPUTS
    # Block 0 is the genesis of 2009-01-03.
    assert str(blocks.column("time")[0].as_py().date()) == "2009-01-03"


def test_polars_reads_and_joins(mainnet_dataset):
    pl = import_or_need("polars")
    outputs = pl.read_parquet(glob(mainnet_dataset, "outputs"))
    txs = pl.read_parquet(glob(mainnet_dataset, "txs"))
    assert outputs.height == OUTPUTS and txs.height == TXS
    assert outputs.schema["value"] == pl.UInt64
    # Every spent output's spender exists and comes later in chain order.
    spent = outputs.filter(pl.col("spent_by").is_not_null())
    assert spent.height == NON_COINBASE_INPUTS
    assert (spent["spent_by"] > spent["tx_ix"]).all()
    # 4313 coinbases of 50 BTC each were created; nothing else creates value.
    coinbase = txs.filter(pl.col("coinbase"))
    assert coinbase.height == BLOCKS


def test_duckdb_sql_finds_hal_finney_payment(mainnet_dataset):
    duckdb = import_or_need("duckdb")
    con = duckdb.connect()
    ds = mainnet_dataset
    row = con.execute(
        f"""
        select t.height, o.value, s.address
        from read_parquet('{glob(ds, "txs")}') t
        join read_parquet('{glob(ds, "outputs")}') o on o.tx_ix = t.tx_ix
        join read_parquet('{glob(ds, "scripts")}') s on s.script_id = o.script_id
        where lower(hex(t.txid)) = '{HAL_TX}' and o.vout = 0
        """
    ).fetchone()
    assert row == (170, 1_000_000_000, "1Q2TWHE3GMdB6BZKafqwxXtWAWgFt5Jvm3")
    counts = con.execute(
        f"""select (select count(*) from read_parquet('{glob(ds, "blocks")}')),
                   (select count(*) from read_parquet('{glob(ds, "inputs")}') where prev_out is not null),
                   (select sum(value) from read_parquet('{glob(ds, "outputs")}') where spent_by is null)"""
    ).fetchone()
    assert counts[0] == BLOCKS and counts[1] == NON_COINBASE_INPUTS
    # Fees flow back into coinbases, so the unspent value is the subsidy claimed: every one of
    # these 4313 blocks claims its full 50 BTC.
    assert counts[2] == BLOCKS * 50 * 100_000_000
    column_types = {r[0]: r[1] for r in con.execute(f"describe select * from read_parquet('{glob(ds, 'outputs')}')").fetchall()}
    assert column_types["value"] == "UBIGINT"
