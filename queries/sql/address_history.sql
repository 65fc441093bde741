-- Every output paid to one address, where it was spent, and the running balance.
-- Set `ds` (dataset directory) and `address` first, e.g. in DuckDB:
--   SET VARIABLE ds = 'target/demo'; SET VARIABLE address = 'bcrt1q…';
--   .read queries/sql/address_history.sql
WITH s AS (
    SELECT script_id FROM read_parquet(getvariable('ds') || '/scripts/*.parquet')
    WHERE address = getvariable('address')
),
o AS (
    SELECT o.*, t.txid, t.height
    FROM read_parquet(getvariable('ds') || '/outputs/*.parquet') o
    JOIN s USING (script_id)
    JOIN read_parquet(getvariable('ds') || '/txs/*.parquet') t ON t.tx_ix = o.tx_ix
)
SELECT
    lower(hex(o.txid)) || ':' || o.vout          AS outpoint,
    o.height,
    o.value,
    lower(hex(sp.txid))                          AS spent_by_txid,
    sp.height                                    AS spent_at_height,
    sum(o.value) OVER (ORDER BY o.out_ix)        AS received_so_far
FROM o
LEFT JOIN read_parquet(getvariable('ds') || '/txs/*.parquet') sp ON sp.tx_ix = o.spent_by
ORDER BY o.out_ix;
