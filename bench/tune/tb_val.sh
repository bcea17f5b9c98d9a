#!/usr/bin/env bash
# Validation-split evaluation of coldstart on the Taobao sample (item feature:
# category), averaged over the seeds in $SEEDS; prints "method n R@20 NDCG@10"
# for coldstart and the content baseline (the one to beat on this data).
extra=${1:-}
[ -n "$extra" ] && extra=", $extra"
SEEDS=${SEEDS:-"20261127 1 2"}
for seed in $SEEDS; do
psql -X -q -tA -F' ' <<SQL 2>&1 | grep -v "^NOTICE"
SELECT method, revealed, recall_at_20, ndcg_at_10
FROM coldstart.evaluate('taobao.behaviours', 'taobao.items', NULL,
  '{"split": "validation", "seed": $seed, "methods": ["coldstart", "content"] $extra}');
SQL
done | awk '{k=$1" "$2; r[k]+=$3; n[k]+=$4; c[k]++} END {for (k in r) printf "%s %.4f %.4f\n", k, r[k]/c[k], n[k]/c[k]}' | sort
