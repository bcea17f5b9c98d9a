#!/usr/bin/env bash
# Run ml_val.sh (or the script in $TUNE) for each line of options on stdin; print a
# table: mean R@20 and NDCG@10 over n, then per n.  Validation split only.
TUNE=${TUNE:-$(dirname "$0")/ml_val.sh}
while IFS= read -r opts; do
	[ -z "$opts" ] && continue
	out=$("$TUNE" "$opts" | grep '^coldstart ')
	if ! echo "$out" | grep -q .; then echo "FAILED $opts"; continue; fi
	echo "$out" | awk -v o="$opts" '{r+=$3; n+=$4; s=s sprintf(" n%s=%s/%s", $2, $3, $4)} END {printf "%.4f %.4f |%s | %s\n", r/NR, n/NR, s, o}'
done
