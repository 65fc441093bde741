# %% [markdown]
# # The zaif-mini theft, from a notebook
#
# Loads the results of `queries/zaif-mini.toml` (README's main command writes them to
# `target/zaif-mini-results`) with pandas and polars, runs the example DuckDB SQL of `queries/sql`,
# and draws value by hop and cash-outs over time. Percent format: open it in Jupyter/VS Code as a
# notebook (jupytext), or run it as a script:
#
#     python3 queries/notebooks/zaif-mini.py [RESULTS_DIR [TRUTH_DIR [PLOTS_DIR]]]

# %%
import json
import sys
from pathlib import Path

import duckdb
import matplotlib

matplotlib.use("Agg")  # headless: plots go to files
import matplotlib.pyplot as plt
import pandas as pd
import polars as pl

REPO = Path(__file__).resolve().parents[2] if "__file__" in globals() else Path.cwd()
args = [a for a in sys.argv[1:] if not a.startswith("-")]
RESULTS = Path(args[0]) if len(args) > 0 else REPO / "target" / "zaif-mini-results"
TRUTH = Path(args[1]) if len(args) > 1 else REPO / "datasets" / "zaif-mini" / "truth"
PLOTS = Path(args[2]) if len(args) > 2 else RESULTS
SAT = 100_000_000

# %% [markdown]
# ## The summary: buckets per taint model (integer satoshis, exact)

# %%
summary = json.loads((RESULTS / "summary.json").read_text())
buckets = pd.DataFrame(
    {p["policy"]: p["buckets"] for p in summary["policies"]}
).T
buckets["seeded"] = [p["seeded_sat"] for p in summary["policies"]]
for p in summary["policies"]:
    if p["policy"] != "poison":
        # Conservation: the buckets sum to the seeded total exactly.
        assert sum(p["buckets"].values()) == p["seeded_sat"], p["policy"]
print((buckets / SAT).round(8).to_string())

# %% [markdown]
# ## Endpoints with pandas, cash-outs with polars

# %%
endpoints = pd.read_parquet(RESULTS / "endpoints.parquet")
print(endpoints.groupby(["policy", "bucket"])["tainted_value"].sum().unstack(fill_value=0))

cashouts = pl.read_parquet(RESULTS / "cashouts.parquet")
print(
    cashouts.filter(pl.col("category") == "exchange")
    .pivot(on="policy", index="entity", values="tainted_value")
    .sort("entity")
)

# %% [markdown]
# ## DuckDB: the example SQL of `queries/sql`

# %%
con = duckdb.connect()
con.execute(f"SET VARIABLE results = '{RESULTS}'")
con.execute(f"SET VARIABLE truth = '{TRUTH}'")
sql = REPO / "queries" / "sql"
top = con.execute((sql / "top_cashouts.sql").read_text()).df()
print(top.to_string())
if (TRUTH / "endpoints.parquet").exists():  # a generated chain's truth (zaif scenario)
    vs_truth = con.execute((sql / "trace_vs_truth.sql").read_text()).df()
    print(vs_truth.to_string())
else:
    print(f"no truth/endpoints.parquet in {TRUTH}: trace_vs_truth.sql skipped")

# %% [markdown]
# ## Value by hop: where each model's taint sits, hop by hop

# %%
flows = pl.read_parquet(RESULTS / "flows.parquet")
by_hop = (
    flows.group_by(["policy", "hop"])
    .agg(pl.col("tainted_value").sum().alias("sat"))
    .sort(["policy", "hop"])
)
fig, ax = plt.subplots(figsize=(8, 4))
for policy, part in by_hop.group_by("policy", maintain_order=True):
    ax.plot(part["hop"], part["sat"] / SAT, marker="o", label=policy[0])
ax.set_xlabel("hop from the theft")
ax.set_ylabel("tainted value (coins)")
ax.set_yscale("log")
ax.legend()
ax.set_title("Tainted value by hop")
fig.tight_layout()
fig.savefig(PLOTS / "value_by_hop.png", dpi=100)

# %% [markdown]
# ## Cash-outs over time: cumulative value deposited at services, per model

# %%
cashed = endpoints[endpoints["bucket"] == "cashed-out"].sort_values("height")
fig, ax = plt.subplots(figsize=(8, 4))
for policy, part in cashed.groupby("policy", sort=True):
    ax.step(part["height"], part["tainted_value"].cumsum() / SAT, where="post", label=policy)
ax.set_xlabel("block height")
ax.set_ylabel("cashed out (coins)")
ax.legend()
ax.set_title("Cumulative cash-outs")
fig.tight_layout()
fig.savefig(PLOTS / "cashouts_over_time.png", dpi=100)
print("plots:", PLOTS / "value_by_hop.png", PLOTS / "cashouts_over_time.png")
