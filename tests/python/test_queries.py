"""The example SQL under queries/sql runs in DuckDB on a real dataset and gives the figures that
SOURCES.md publishes for mainnet heights 0-4312."""
from conftest import REPO, import_or_need

HAL = "1Q2TWHE3GMdB6BZKafqwxXtWAWgFt5Jvm3"


def run_sql(con, name):
    """Run a query file as DuckDB's CLI would (every statement; the last one's result)."""
    return con.execute((REPO / "queries" / "sql" / name).read_text())


def test_dataset_overview(mainnet_dataset):
    duckdb = import_or_need("duckdb")
    con = duckdb.connect()
    con.execute(f"SET VARIABLE ds = '{mainnet_dataset}'")
    row = run_sql(con, "dataset_overview.sql").fetchone()
    blocks, tip, txs, outputs, spending, unspent, fees = row
    assert (blocks, tip, txs, outputs, spending) == (4313, 4312, 4371, 4397, 247)
    # Fees return to miners through coinbases: what is unspent is the subsidy, 50 BTC a block.
    assert unspent == 4313 * 50 * 100_000_000


def test_address_history_of_hal_finney(mainnet_dataset):
    duckdb = import_or_need("duckdb")
    con = duckdb.connect()
    con.execute(f"SET VARIABLE ds = '{mainnet_dataset}'")
    con.execute(f"SET VARIABLE address = '{HAL}'")
    rows = run_sql(con, "address_history.sql").fetchall()
    # The first row is the 10 BTC from Satoshi in block 170.
    first = rows[0]
    assert first[0] == "f4184fc596403b9d638783cf57adfe4c75c605f6356fbc91338530e9831e9e16:0"
    assert (first[1], first[2]) == (170, 1_000_000_000)
    assert all(r[5] == sum(x[2] for x in rows[: i + 1]) for i, r in enumerate(rows))


def test_top_cashouts_on_the_demo_trace(demo_results):
    duckdb = import_or_need("duckdb")
    con = duckdb.connect()
    con.execute(f"SET VARIABLE results = '{demo_results}'")
    rows = run_sql(con, "top_cashouts.sql").fetchall()
    # Every demo transaction after the sweep has one fully tainted input: every model agrees,
    # so the band is a point and poison's reach equals it.
    assert [r[0] for r in rows] == ["Kraken", "Bitbank", "Poloniex", "Huobi"]
    for entity, category, lo, hi, poison, deposits, min_hop, first, last in rows:
        assert category == "exchange" and lo == hi == poison
    assert sum(r[5] for r in rows) == 10


def test_value_by_hop_on_the_demo_trace(demo_results):
    duckdb = import_or_need("duckdb")
    con = duckdb.connect()
    con.execute(f"SET VARIABLE results = '{demo_results}'")
    rows = run_sql(con, "value_by_hop.sql").fetchall()
    fifo = {hop: (n, sat) for policy, hop, n, sat in rows if policy == "fifo"}
    theft = __import__("json").loads((REPO / "datasets" / "demo" / "truth" / "theft.json").read_text())
    # Hop 0 is the sweep output: the whole stolen amount.
    assert fifo[0] == (1, theft["stolen_sat"])
    # Hops 1..8: each peel makes a deposit and a change output.
    assert all(fifo[h][0] == 2 for h in range(1, 9))


def test_paths_to_one_exchange(demo_results):
    duckdb = import_or_need("duckdb")
    con = duckdb.connect()
    con.execute(f"SET VARIABLE results = '{demo_results}'")
    con.execute("SET VARIABLE entity = 'Bitbank'")
    rows = [r for r in run_sql(con, "paths_to_exchange.sql").fetchall() if r[0] == "fifo"]
    # Bitbank got peels 0 and 4 (hops 1 and 5) and the first split deposit (hop 10); the peel
    # chain is a single line, so each deposit has exactly one path, starting at the sweep output.
    assert sorted(r[4] for r in rows) == [1, 5, 10]
    assert all(r[2] == 1 for r in rows)
    assert len({r[5][0] for r in rows}) == 1
    assert all(len(r[5]) == r[4] + 1 and r[5][-1] == r[1] for r in rows)
