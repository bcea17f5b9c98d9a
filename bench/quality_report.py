"""Markdown table and plot of one coldstart.evaluate() run (bench/quality)."""
import csv
import sys

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt

name, path, outdir, seed, eval_seconds, train_seconds = sys.argv[1:7]
rows = list(csv.DictReader(open(path)))
methods = ["coldstart", "coldstart_live", "popularity", "item_knn", "content"]
ns = sorted({int(r["revealed"]) for r in rows})
get = {(r["method"], int(r["revealed"])): r for r in rows}

lines = [f"CS-1 on {name}, seed {seed}: {rows[0]['users']} test users; "
         f"evaluate() took {eval_seconds} s; one default training on all the data {float(train_seconds):.1f} s.",
         "",
         "| method | " + " | ".join(f"n={n} R@20 / NDCG@10" for n in ns) + " | coverage@10 (n=" + "/".join(map(str, ns)) + ") |",
         "|---|" + "---|" * (len(ns) + 1)]
for m in methods:
    if (m, ns[0]) not in get:
        continue
    cells = [f"{float(get[(m, n)]['recall_at_20']):.4f} / {float(get[(m, n)]['ndcg_at_10']):.4f}" for n in ns]
    cov = "/".join(f"{float(get[(m, n)]['coverage_at_10']):.3f}" for n in ns)
    lines.append(f"| {m} | " + " | ".join(cells) + f" | {cov} |")
open(f"{outdir}/quality-{name}.md", "w").write("\n".join(lines) + "\n")
print("\n".join(lines))

fig, axes = plt.subplots(1, 2, figsize=(10, 4))
for ax, metric, label in [(axes[0], "recall_at_20", "R@20"), (axes[1], "ndcg_at_10", "NDCG@10")]:
    for m in methods:
        if (m, ns[0]) not in get:
            continue
        ax.plot(ns, [float(get[(m, n)][metric]) for n in ns], marker="o", label=m)
    ax.set_xlabel("revealed items n")
    ax.set_ylabel(label)
    ax.set_xticks(ns)
    ax.grid(alpha=0.3)
axes[0].legend()
fig.suptitle(f"coldstart.evaluate() on {name} (protocol CS-1, seed {seed})")
fig.tight_layout()
fig.savefig(f"{outdir}/quality-{name}.png", dpi=110)
