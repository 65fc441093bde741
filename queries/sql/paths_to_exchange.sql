-- The widest paths from the seeds to one exchange's deposits, for a compliance desk.
-- SET VARIABLE results = 'target/demo-results'; SET VARIABLE entity = 'Kraken';
-- .read queries/sql/paths_to_exchange.sql
SELECT p.policy, p.endpoint, p.rank, p.tainted_value, p.hops, p.path
FROM read_parquet(getvariable('results') || '/paths.parquet') p
JOIN read_parquet(getvariable('results') || '/endpoints.parquet') e
  ON e.policy = p.policy AND e.txid || ':' || e.vout = p.endpoint
WHERE e.entity = getvariable('entity')
ORDER BY p.policy, p.endpoint, p.rank;
