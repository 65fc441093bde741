-- Poison reach by DuckDB's recursive SQL over a dataset's Parquet: every transaction downstream of
-- one transaction's outputs, with its hop (the fewest spends from the seed transaction: its
-- spenders are hop 1), which is what fundtrace's poison trace gives each reached output
-- (`fundtrace trace` with `policies = ["poison"]`, a txid seed and no stop rules). A
-- zero-value output carries no taint (poison taints an output with its value), so the
-- recursion does not follow it. A breadth-first recursion keyed by transaction (DuckDB 1.3+)
-- that skips transactions reached already. `benches/duckdb_poison.py` times it beside
-- `cargo bench --bench trace`.
-- SET VARIABLE ds = 'target/zaif-mini'; SET VARIABLE seed_tx = 1500; .read queries/sql/poison_reach.sql
CREATE OR REPLACE VIEW outputs AS
    SELECT tx_ix, spent_by, value FROM read_parquet(getvariable('ds') || '/outputs/*.parquet');
WITH RECURSIVE reach(tx, hop) USING KEY (tx) AS (
    SELECT DISTINCT spent_by, 1 FROM outputs
    WHERE tx_ix = getvariable('seed_tx') AND spent_by IS NOT NULL AND value > 0
    UNION
    SELECT o.spent_by, min(r.hop) + 1 FROM reach r JOIN outputs o ON o.tx_ix = r.tx
    WHERE o.spent_by IS NOT NULL AND o.value > 0 AND o.spent_by NOT IN (SELECT tx FROM recurring.reach)
    GROUP BY o.spent_by
)
SELECT tx AS tx_ix, hop FROM reach ORDER BY tx_ix;
