-- Top cash-out entities of a trace, per taint model, with the band across models.
-- SET VARIABLE results = 'target/demo-results';  .read queries/sql/top_cashouts.sql
WITH c AS (
    SELECT policy, entity, category, tainted_value, deposits, min_hop, first_height, last_height
    FROM read_parquet(getvariable('results') || '/cashouts.parquet')
)
SELECT
    entity,
    category,
    min(tainted_value) FILTER (WHERE policy <> 'poison')  AS min_sat,
    max(tainted_value) FILTER (WHERE policy <> 'poison')  AS max_sat,
    max(tainted_value) FILTER (WHERE policy = 'poison')   AS poison_reach_sat,
    max(deposits)                                          AS deposits,
    min(min_hop)                                           AS min_hop,
    min(first_height)                                      AS first_height,
    max(last_height)                                       AS last_height
FROM c
GROUP BY entity, category
ORDER BY max_sat DESC NULLS LAST, entity;
