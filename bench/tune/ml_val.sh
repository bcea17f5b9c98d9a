#!/usr/bin/env bash
# Validation-split evaluation of coldstart on MovieLens 100k with the given
# extra options (JSON members), averaged over the seeds in $SEEDS; prints
# "coldstart n R@20 NDCG@10" and the popularity baseline.  Hyperparameters are
# chosen on these validation users only, never on test users.
#   bench/tune/ml_val.sh '"dim": 32, "epochs": 10'
extra=${1:-}
[ -n "$extra" ] && extra=", $extra"
SEEDS=${SEEDS:-"20261127 1 2"}
METHODS=${METHODS:-'["coldstart", "popularity"]'}
for seed in $SEEDS; do
psql -X -q -tA -F' ' <<SQL 2>&1 | grep -v "^NOTICE"
SELECT method, revealed, recall_at_20, ndcg_at_10, coverage_at_10
FROM coldstart.evaluate('movielens.behaviours', 'movielens.items', ${USERS:-'movielens.users'},
  '{"split": "validation", "seed": $seed, "methods": $METHODS, "item_features": ["genres","year_bucket"] $extra}');
SQL
done | awk '{k=$1" "$2; r[k]+=$3; n[k]+=$4; v[k]+=$5; c[k]++} END {for (k in r) printf "%s %.4f %.4f %.4f\n", k, r[k]/c[k], n[k]/c[k], v[k]/c[k]}' | sort
