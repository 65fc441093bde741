-- A trace of a generated chain against its ground truth: per cash-out entity, what the thief
-- really deposited (truth/endpoints.parquet) beside what each taint model found there.
-- SET VARIABLE results = 'target/zaif-mini-results';
-- SET VARIABLE truth = 'datasets/zaif-mini/truth';  .read queries/sql/trace_vs_truth.sql
WITH truth AS (
    SELECT entity, category, sum(value)::BIGINT AS truth_sat, count(*) AS truth_deposits
    FROM read_parquet(getvariable('truth') || '/endpoints.parquet')
    WHERE kind = 'cashout'
    GROUP BY entity, category
),
found AS (
    SELECT entity, category, policy, tainted_value::BIGINT AS found_sat
    FROM read_parquet(getvariable('results') || '/cashouts.parquet')
)
SELECT
    t.entity,
    t.category,
    t.truth_sat,
    t.truth_deposits,
    coalesce(max(f.found_sat) FILTER (WHERE f.policy = 'haircut'), 0) AS haircut_sat,
    coalesce(max(f.found_sat) FILTER (WHERE f.policy = 'fifo'), 0)    AS fifo_sat,
    coalesce(max(f.found_sat) FILTER (WHERE f.policy = 'lifo'), 0)    AS lifo_sat,
    coalesce(max(f.found_sat) FILTER (WHERE f.policy = 'tiho'), 0)    AS tiho_sat,
    coalesce(max(f.found_sat) FILTER (WHERE f.policy = 'poison'), 0)  AS poison_sat
FROM truth t
LEFT JOIN found f USING (entity, category)
GROUP BY t.entity, t.category, t.truth_sat, t.truth_deposits
ORDER BY t.truth_sat DESC, t.entity;
