"""Mean and spread over several CS-1 splits (bench/quality --seeds).

Reads the CSV files of coldstart.evaluate() runs, one per seed, and writes a
markdown table per data set: for each method and n, the mean R@20 and
NDCG@10 over the seeds with their standard deviation, and for coldstart how
many seeds it beats the best baseline of that seed on both metrics.
"""
import csv
import statistics
import sys

name, outdir = sys.argv[1], sys.argv[2]
paths = sys.argv[3:]
runs = []
for p in paths:
    seed = p.rsplit("-", 1)[1].split(".")[0]
    runs.append((seed, {(r["method"], int(r["revealed"])): r for r in csv.DictReader(open(p))}))
methods = ["coldstart", "coldstart_live", "popularity", "item_knn", "content"]
baselines = ["popularity", "item_knn", "content"]
ns = sorted({n for _, g in runs for (_, n) in g})


def cell(m, n, metric):
    xs = [float(g[(m, n)][metric]) for _, g in runs if (m, n) in g]
    if not xs:
        return None
    return statistics.mean(xs), (statistics.stdev(xs) if len(xs) > 1 else 0.0)


lines = [f"CS-1 on {name} over {len(runs)} test splits (seeds {', '.join(s for s, _ in runs)}): "
         "mean ± standard deviation.",
         "",
         "| method | " + " | ".join(f"n={n} R@20 / NDCG@10" for n in ns) + " | coverage@10 (n=" + "/".join(map(str, ns)) + ") |",
         "|---|" + "---|" * (len(ns) + 1)]
for m in methods:
    if cell(m, ns[0], "recall_at_20") is None:
        continue
    cells = []
    for n in ns:
        r, rs = cell(m, n, "recall_at_20")
        d, ds = cell(m, n, "ndcg_at_10")
        cells.append(f"{r:.4f} ± {rs:.4f} / {d:.4f} ± {ds:.4f}")
    cov = "/".join(f"{cell(m, n, 'coverage_at_10')[0]:.3f}" for n in ns)
    lines.append(f"| {m} | " + " | ".join(cells) + f" | {cov} |")
lines += ["", "Splits on which each method is ahead of every baseline of the same split on both R@20 and NDCG@10:", ""]
lines.append("| method | " + " | ".join(f"n={n}" for n in ns) + " |")
lines.append("|---|" + "---|" * len(ns))
for m in ["coldstart", "coldstart_live"]:
    if cell(m, ns[0], "recall_at_20") is None:
        continue
    wins = []
    for n in ns:
        w = 0
        for _, g in runs:
            ours = g[(m, n)]
            if all(float(ours[k]) > float(g[(b, n)][k]) for b in baselines if (b, n) in g
                   for k in ("recall_at_20", "ndcg_at_10")):
                w += 1
        wins.append(f"{w} of {len(runs)}")
    lines.append(f"| {m} | " + " | ".join(wins) + " |")
open(f"{outdir}/quality-{name}-seeds.md", "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
