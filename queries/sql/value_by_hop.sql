-- Tainted value by hop from the seeds, per taint model.
-- SET VARIABLE results = 'target/demo-results';  .read queries/sql/value_by_hop.sql
SELECT policy, hop, count(*) AS outputs, sum(tainted_value)::HUGEINT AS tainted_sat
FROM read_parquet(getvariable('results') || '/flows.parquet')
GROUP BY policy, hop
ORDER BY policy, hop;
