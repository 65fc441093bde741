-- Overview of a fundtrace dataset: blocks, transactions, value created and still unspent.
-- Run from the dataset directory:  duckdb -c ".read queries/sql/dataset_overview.sql"
-- (or set the `ds` path below). Values are satoshis (UBIGINT); hashes are 32-byte BLOB in
-- display order, so lower(hex(txid)) prints what explorers print.
SET VARIABLE ds = coalesce(getvariable('ds'), '.');

SELECT
    (SELECT count(*) FROM read_parquet(getvariable('ds') || '/blocks/*.parquet'))  AS blocks,
    (SELECT max(height) FROM read_parquet(getvariable('ds') || '/blocks/*.parquet')) AS tip_height,
    (SELECT count(*) FROM read_parquet(getvariable('ds') || '/txs/*.parquet'))     AS txs,
    (SELECT count(*) FROM read_parquet(getvariable('ds') || '/outputs/*.parquet')) AS outputs,
    (SELECT count(*) FROM read_parquet(getvariable('ds') || '/inputs/*.parquet')
        WHERE prev_out IS NOT NULL)                                                 AS spending_inputs,
    (SELECT sum(value) FROM read_parquet(getvariable('ds') || '/outputs/*.parquet')
        WHERE spent_by IS NULL)                                                     AS unspent_sat,
    (SELECT coalesce(sum(fee), 0) FROM read_parquet(getvariable('ds') || '/txs/*.parquet')) AS fees_sat;
