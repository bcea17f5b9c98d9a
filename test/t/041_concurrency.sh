#!/usr/bin/env bash
# 041_concurrency: retraining never blocks or breaks serving.  pgbench runs
# recommend() and similar_items() with 2 clients for 20 s while a loop trains
# new versions and activates old and new ones: no call fails, every call returns
# k rows, and a reader that samples recommend() sees the version change, each
# sample being exactly what its version serves.  A second training of the same
# model while one is running fails at once with a clear message; the first one
# succeeds and the catalogue stays consistent.
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

fresh_db t041_concurrency
psql_ok "CREATE EXTENSION coldstart" "CREATE EXTENSION coldstart"
psql_ok "SELECT coldstart.create_demo('shop', 300, 500, 20000, 41)" "demo data: 300 users, 500 items, 20000 behaviours"

OPTS='"dim": 16, "epochs": 2, "keep_versions": 100'
train_sql() {		# train_sql SEED: a training with its own seed, so versions differ
	printf "SELECT (coldstart.train('shop', 'shop.behaviours', 'shop.items', 'shop.users', '{%s, \"seed\": %d}'))->>'version'" \
		"$OPTS" "$1"
}
is "$(q "$(train_sql 1)" 2>/dev/null)" 1 "version 1 trained"

# in_background NAME SQL: the SQL script in a session of its own, named NAME
# (application_name), its output in $T_TMP/NAME.out and .err; $bg is its pid
in_background() {
	PGAPPNAME=$1 "$PSQL" -X -q -A -t -v ON_ERROR_STOP=1 >"$T_TMP/$1.out" 2>"$T_TMP/$1.err" <<<"$2" &
	bg=$!
	pid_of[$1]=$bg
}
declare -A pid_of
# finishes_ok NAME DESCRIPTION: the background session NAME ends with status 0
finishes_ok() {
	wait "${pid_of[$1]}"
	is "$?" 0 "$2" || diag "$(grep -v NOTICE "$T_TMP/$1.err")"
}
# in_sleep NAME: the session NAME has reached its pg_sleep()
in_sleep() {
	wait_until 30 q_true "SELECT EXISTS (SELECT FROM pg_stat_activity WHERE application_name = '$1'
		AND query LIKE '%pg_sleep%' AND state = 'active')"
}
# in_lock_wait NAME: the session NAME waits for a lock
in_lock_wait() {
	wait_until 30 q_true "SELECT EXISTS (SELECT FROM pg_stat_activity WHERE application_name = '$1'
		AND wait_event_type = 'Lock')"
}

# ---------------------------------------------------------------------
# pgbench readers, a training loop, and a sampling reader, for 20 s
# ---------------------------------------------------------------------
K=10
SAMPLE_USER=7
cat >"$T_TMP/serve.sql" <<EOF
\\set uid random(1, 300)
\\set item random(1, 500)
SELECT 1/(count(*) = $K)::int FROM coldstart.recommend(:uid, $K, 'shop');
SELECT 1/(count(*) = $K)::int FROM coldstart.similar_items(:item, $K, 'shop');
EOF

# One long-lived session that samples, in one statement and so one snapshot,
# the active version and what recommend() serves.
SAMPLE_SQL="SELECT (SELECT version FROM coldstart.models WHERE name = 'shop' AND active)
	|| ' ' || string_agg(item_id::text, ',' ORDER BY rank)
	FROM coldstart.recommend($SAMPLE_USER, $K, 'shop');"
for _ in $(seq 1 90); do
	echo "$SAMPLE_SQL"
	echo "SELECT pg_sleep(0.2);"
done | grep -v '^$' >"$T_TMP/sample.sql"
"$PSQL" -X -q -A -t -v ON_ERROR_STOP=1 -f "$T_TMP/sample.sql" >"$T_TMP/samples.out" 2>"$T_TMP/samples.err" &
sampler=$!

pgbench -n -c 2 -j 2 -T 20 -f "$T_TMP/serve.sql" >"$T_TMP/pgbench.out" 2>&1 &
bench=$!

trainings=0 activations=0 loop_errors=0 seed=1 latest=1
while kill -0 "$bench" 2>/dev/null; do
	seed=$((seed + 1))
	if v=$(q "$(train_sql "$seed")" 2>>"$T_TMP/loop.err"); then
		trainings=$((trainings + 1))
		latest=$v
	else
		loop_errors=$((loop_errors + 1))
	fi
	sleep 0.5
	# roll back to the previous version, then forward again
	for target in $((latest - 1)) "$latest"; do
		kill -0 "$bench" 2>/dev/null || break
		if q "SELECT coldstart.activate('shop', $target)" >/dev/null 2>>"$T_TMP/loop.err"; then
			activations=$((activations + 1))
		else
			loop_errors=$((loop_errors + 1))
		fi
		sleep 0.5
	done
done
wait "$bench"
bench_rc=$?
wait "$sampler"
sampler_rc=$?

diag "pgbench: $(grep -E '^(number of transactions actually processed|number of failed|tps)' "$T_TMP/pgbench.out" | tr '\n' ';')"
diag "loop: $trainings trainings, $activations activations, $loop_errors errors"
is "$bench_rc" 0 "pgbench exits with status 0"
unlike "$(cat "$T_TMP/pgbench.out")" '(error|aborted|ERROR)' "pgbench reports no error and no aborted client" ||
	diag "$(grep -iE 'error|abort' "$T_TMP/pgbench.out" | head -5)"
like "$(cat "$T_TMP/pgbench.out")" 'number of failed transactions: 0 ' "pgbench: zero failed transactions"
processed=$(sed -nE 's/^number of transactions actually processed: ([0-9]+).*/\1/p' "$T_TMP/pgbench.out")
like "${processed:-0}" '^[1-9][0-9]{2,}$' "pgbench processed transactions while training ran (${processed:-0}), each checking k rows"
is "$loop_errors" 0 "every training and activation of the loop succeeded" || diag "$(head -5 "$T_TMP/loop.err")"
ok "the loop trained at least 3 new versions ($trainings)" test "$trainings" -ge 3

is "$sampler_rc" 0 "the sampling session ran without error" || diag "$(head -5 "$T_TMP/samples.err")"
sed -i '/^$/d' "$T_TMP/samples.out"		# (the empty lines of pg_sleep)
n_samples=$(grep -c . "$T_TMP/samples.out")
versions_seen=$(cut -d' ' -f1 "$T_TMP/samples.out" | sort -un | tr '\n' ' ')
diag "$n_samples samples, versions seen: $versions_seen"
ok "the served version changed during the run (seen: $versions_seen)" \
	test "$(cut -d' ' -f1 "$T_TMP/samples.out" | sort -u | grep -c .)" -ge 2

# Each sample must be exactly what its version serves: never a mix, never a
# version other than the one committed as active in the sample's snapshot.
mismatches=""
for v in $versions_seen; do
	q "SELECT coldstart.activate('shop', $v)" >/dev/null
	expected=$(q "SELECT string_agg(item_id::text, ',' ORDER BY rank) FROM coldstart.recommend($SAMPLE_USER, $K, 'shop')")
	while read -r sv list; do
		[ "$sv" = "$v" ] && [ "$list" != "$expected" ] && mismatches+="version $v served $list, expected $expected; "
	done <"$T_TMP/samples.out"
done
is "$mismatches" "" "every sample equals what the version active in its snapshot serves"
ok "the versions serve different lists, so the samples tell them apart" \
	test "$(cut -d' ' -f2 "$T_TMP/samples.out" | sort -u | grep -c .)" -ge 2
psql_ok "SELECT coldstart.activate('shop', $latest)" "(activate the latest version again)"
is "$(q "SELECT count(*) FROM coldstart.training_runs WHERE name = 'shop' AND status = 'succeeded'")" \
	"$((trainings + 1))" "training_runs has one succeeded run per training"

# ---------------------------------------------------------------------
# Two trainings of the same model at once
# ---------------------------------------------------------------------
SLOW_OPTS='{"dim": 64, "epochs": 400, "validation_fraction": 0, "keep_versions": 100}'	# a few seconds
before_max=$(q "SELECT max(version) FROM coldstart.models WHERE name = 'shop'")
q "SELECT (coldstart.train('shop', 'shop.behaviours', 'shop.items', 'shop.users', '$SLOW_OPTS'))->>'version'" \
	>"$T_TMP/first.out" 2>"$T_TMP/first.err" &
first=$!; pid_of[first]=$first
if wait_until 30 q_true "SELECT coldstart.training_in_progress('shop')
		AND EXISTS (SELECT FROM coldstart.training_runs WHERE name = 'shop' AND status = 'running')"; then
	pass "the first training is under way"
	psql_fails_with "SELECT coldstart.retrain('shop')" \
		'model "shop" is being trained by another session' \
		"a second training of the same model fails at once with a clear message"
	is "$(sqlstate_of "SELECT coldstart.train('shop', 'shop.behaviours', options => '{\"dim\": 8}')")" 55P03 \
		"its SQLSTATE is 55P03 (lock_not_available)"
	first_running=$(kill -0 "$first" 2>/dev/null && echo yes || echo no)
	is "$first_running" yes "the first training was still running when the second ones failed"
else
	fail "the first training is under way" "$(cat "$T_TMP/first.err")"
fi
finishes_ok first "the first training succeeds"
is "$(cat "$T_TMP/first.out")" "$((before_max + 1))" "it stored the next version, $((before_max + 1))"
is "$(q "SELECT count(*) FILTER (WHERE active) || ' ' || (count(*) = max(version) - min(version) + 1)
	FROM coldstart.models WHERE name = 'shop'")" "1 true" \
	"the catalogue has one active version and no gap in the version numbers"
is "$(q "SELECT version FROM coldstart.models WHERE name = 'shop' AND active")" "$((before_max + 1))" \
	"the first training's version is the active one"
is "$(q "SELECT string_agg(status || ':' || coalesce(sqlstate, ''), ' ' ORDER BY status, run_id)
	FROM coldstart.training_runs WHERE run_id > (SELECT max(run_id) - 3 FROM coldstart.training_runs)")" \
	"failed:55P03 failed:55P03 succeeded:" \
	"training_runs: the first run succeeded, the two others failed with 55P03"
is "$(q "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'coldstart run writer'")" 0 \
	"no run-writer worker is left behind"

# ---------------------------------------------------------------------
# Two refresh_items() of a model at once: the second waits for the first
# and sees what it committed (no lost removal, no duplicate extras)
# ---------------------------------------------------------------------
q "INSERT INTO shop.items SELECT 501, category, brand, price, rating, tags FROM shop.items WHERE item_id = 1" >/dev/null
psql_ok "SELECT coldstart.refresh_items('shop')" "refresh_items() stores item 501, added after training"
GONE=$(q "SELECT item_id FROM coldstart.recommend(7, 1, 'shop')")
in_background refresh_a "BEGIN;
DELETE FROM shop.items WHERE item_id = $GONE;
INSERT INTO shop.items SELECT 502, category, brand, price, rating, tags FROM shop.items WHERE item_id = 2;
SELECT coldstart.refresh_items('shop');
SELECT pg_sleep(3);
COMMIT;"
if in_sleep refresh_a; then
	pass "a first refresh, in a transaction that deleted item $GONE and added 502, holds the model while it sleeps"
else
	fail "a first refresh, in a transaction that deleted item $GONE and added 502, holds the model while it sleeps" \
		"$(cat "$T_TMP/refresh_a.err")"
fi
in_background refresh_b "SELECT coldstart.refresh_items('shop')"
ok "a second refresh waits for the first one's lock" in_lock_wait refresh_b
finishes_ok refresh_a "the first refresh commits"
finishes_ok refresh_b "the second refresh then succeeds (no duplicate key in item_extras)"
is "$(cat "$T_TMP/refresh_b.out")" 2 "it stored items 501 and 502, the one the first refresh's transaction added"
is "$(q "SELECT string_agg(item_id::text, ',' ORDER BY item_id) FROM coldstart.item_extras e
	JOIN coldstart.models m USING (name, version) WHERE m.name = 'shop' AND m.active")" "501,502" \
	"item_extras holds 501 and 502"
is "$(q "SELECT items_removed = ARRAY[$GONE]::bigint[] FROM coldstart.models WHERE name = 'shop' AND active")" t \
	"items_removed holds item $GONE, which the first refresh's transaction deleted"
is "$(q "SELECT count(*) FROM coldstart.recommend(7, 10, 'shop', exclude_seen => false, candidates => ARRAY[$GONE, 501]::bigint[])")" 1 \
	"of items $GONE and 501 only 501 is served"

# ---------------------------------------------------------------------
# A refresh under REPEATABLE READ whose snapshot predates another refresh:
# a serialization error (40001), to be retried, not a duplicate key
# ---------------------------------------------------------------------
q "INSERT INTO shop.items SELECT 503, category, brand, price, rating, tags FROM shop.items WHERE item_id = 3" >/dev/null
in_background refresh_rr "BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT count(*) FROM coldstart.item_extras;
SELECT pg_sleep(3);
SELECT coldstart.refresh_items('shop');
COMMIT;"
refresh_rr=$bg
ok "a REPEATABLE READ transaction has taken its snapshot" in_sleep refresh_rr
is "$(q "SELECT coldstart.refresh_items('shop')" 2>/dev/null)" 3 "another session refreshes meanwhile: items 501, 502 and 503"
wait "$refresh_rr"
isnt "$?" 0 "the REPEATABLE READ refresh fails"
like "$(cat "$T_TMP/refresh_rr.err")" 'ERROR:  could not serialize access due to a concurrent refresh_items\(\) of model "shop"' \
	"with a serialization error that names the concurrent refresh"
is "$(q "SELECT count(*) FROM coldstart.item_extras e JOIN coldstart.models m USING (name, version)
	WHERE m.name = 'shop' AND m.active")" 3 "the other refresh's extras are intact"

# ---------------------------------------------------------------------
# A training that stores its version while activate() (which refreshes
# the items, and may take a while) has not committed: it waits, then
# deactivates the version activate() made active and stores its own
# ---------------------------------------------------------------------
before_max=$(q "SELECT max(version) FROM coldstart.models WHERE name = 'shop'")
in_background slow_activate "BEGIN;
SELECT coldstart.activate('shop', 1);
SELECT pg_sleep(4);
COMMIT;"
ok "an activate() of version 1 is under way, not committed" in_sleep slow_activate
in_background train_meanwhile "$(train_sql 77)"
ok "the training waits for the activation to commit" in_lock_wait train_meanwhile
finishes_ok slow_activate "the activation commits"
finishes_ok train_meanwhile "the training then succeeds"
is "$(q "SELECT string_agg(version::text, ',') FROM coldstart.models WHERE name = 'shop' AND active")" "$((before_max + 1))" \
	"its version, $((before_max + 1)), is the one active version"

# ---------------------------------------------------------------------
# activate() of a version that another transaction deletes (pruning)
# meanwhile: an error, and the active version stays
# ---------------------------------------------------------------------
active_now=$(q "SELECT version FROM coldstart.models WHERE name = 'shop' AND active")
in_background delete_v2 "BEGIN;
DELETE FROM coldstart.models WHERE name = 'shop' AND version = 2;
SELECT pg_sleep(3);
COMMIT;"
delete_v2=$bg
ok "a transaction has deleted version 2, not committed" in_sleep delete_v2
psql_fails_with "SELECT coldstart.activate('shop', 2, refresh => false)" 'model "shop" has no version 2' \
	"activate() of it waits, then fails: the version is gone"
wait "$delete_v2"
is "$(q "SELECT string_agg(version::text, ',') FROM coldstart.models WHERE name = 'shop' AND active")" "$active_now" \
	"the active version is still $active_now (it used to be left with none)"

# ---------------------------------------------------------------------
# Transactions that change a model's versions in two steps, while another
# session activates a version: every path takes the name's change lock
# before any row of coldstart.models, so the other waits and both succeed
# (refresh_items() then activate() was a deadlock, one of them cancelled)
# ---------------------------------------------------------------------
# two_steps LABEL FIRST SECOND OTHER [ERROR]: a transaction runs FIRST,
# sleeps, then SECOND, while another session runs OTHER, which waits for it
# and then succeeds, or fails with ERROR when one is given
two_steps() {
	in_background steps "BEGIN;
$2;
SELECT pg_sleep(2);
$3;
COMMIT;"
	if in_sleep steps; then
		in_background other "$4"
		ok "$1: the other session waits" in_lock_wait other
	else
		fail "$1: the other session waits" "$(cat "$T_TMP/steps.err")"
	fi
	finishes_ok steps "$1: the transaction commits"
	if [ -z "${5:-}" ]; then
		finishes_ok other "$1: the other session then succeeds"
	else
		wait "${pid_of[other]}"
		isnt "$?" 0 "$1: the other session then fails"
		like "$(cat "$T_TMP/other.err")" "ERROR:  $5" "$1: with $5"
	fi
	unlike "$(cat "$T_TMP/steps.err" "$T_TMP/other.err")" 'deadlock' "$1: no deadlock"
}
active_now=$(q "SELECT version FROM coldstart.models WHERE name = 'shop' AND active")
two_steps "refresh_items() then activate()" "SELECT coldstart.refresh_items('shop')" \
	"SELECT coldstart.activate('shop', $active_now)" "SELECT coldstart.activate('shop', $active_now)"
two_steps "activate(refresh => false) then refresh_items()" "SELECT coldstart.activate('shop', 1, refresh => false)" \
	"SELECT coldstart.refresh_items('shop')" "SELECT coldstart.activate('shop', 1)"
two_steps "two activations in one transaction" "SELECT coldstart.activate('shop', 1)" \
	"SELECT coldstart.activate('shop', $active_now)" "SELECT coldstart.activate('shop', $active_now)"
two_steps "train() then activate()" "$(train_sql 80)" \
	"SELECT coldstart.activate('shop', $active_now)" "SELECT coldstart.activate('shop', 1)"
is "$(q "SELECT version FROM coldstart.models WHERE name = 'shop' AND active")" 1 \
	"the last activation to commit decides the active version"

# ---------------------------------------------------------------------
# A training in a REPEATABLE READ transaction whose snapshot predates
# another training's version, or another active version: a serialization
# error at once, before the training runs (it used to train, then fail on
# a duplicate version number or on the active row)
# ---------------------------------------------------------------------
# rr_train LABEL SQL: a REPEATABLE READ transaction takes its snapshot,
# waits while this session runs SQL, then trains; its status in $rr_rc,
# its messages in $T_TMP/train_rr.err, SQL's output in $rr_out
rr_train() {
	rm -f "$T_TMP/go"
	in_background train_rr "BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT count(*) AS snapshot_taken FROM coldstart.models;
\\! for i in \$(seq 600); do [ -f '$T_TMP/go' ] && break; sleep 0.1; done
$(train_sql 78);
COMMIT;"
	ok "$1: a REPEATABLE READ transaction has taken its snapshot" wait_until 30 q_true "SELECT EXISTS (SELECT FROM pg_stat_activity
		WHERE application_name = 'train_rr' AND state = 'idle in transaction' AND query LIKE '%snapshot_taken%')"
	rr_out=$(q "$2" 2>/dev/null)
	touch "$T_TMP/go"
	wait "${pid_of[train_rr]}"
	rr_rc=$?
}
before_max=$(q "SELECT max(version) FROM coldstart.models WHERE name = 'shop'")
rr_train "another training" "$(train_sql 79)"
stored=$rr_out
is "$stored" "$((before_max + 1))" "another session trains and stores version $stored meanwhile"
isnt "$rr_rc" 0 "the REPEATABLE READ training fails"
like "$(cat "$T_TMP/train_rr.err")" 'ERROR:  could not serialize access due to a concurrent change of model "shop"' \
	"with a serialization error that names the model"
like "$(cat "$T_TMP/train_rr.err")" "DETAIL:  Version $stored was stored after this transaction's snapshot was taken, which sees $before_max as the newest." \
	"its detail names the version stored meanwhile and the newest the snapshot sees"
unlike "$(cat "$T_TMP/train_rr.err")" 'NOTICE:  .*epoch' "it fails before training (no epoch NOTICE)"
is "$(q "SELECT status || ':' || sqlstate FROM coldstart.training_runs ORDER BY run_id DESC LIMIT 1")" "failed:40001" \
	"training_runs records the run as failed with 40001"
is "$(q "SELECT max(version) || ' ' || count(*) FILTER (WHERE active) FROM coldstart.models WHERE name = 'shop'")" "$stored 1" \
	"the other session's version is the newest and the one active"

rr_train "an activation" "SELECT coldstart.activate('shop', 1)"
isnt "$rr_rc" 0 "a REPEATABLE READ training fails after another session activates version 1"
like "$(cat "$T_TMP/train_rr.err")" "DETAIL:  A version of it was activated, refreshed, changed or deleted after this transaction's snapshot was taken." \
	"its detail says the active version changed"
rr_train "a refresh" "SELECT coldstart.refresh_items('shop')"
isnt "$rr_rc" 0 "a REPEATABLE READ training fails after another session refreshes the active version"
like "$(cat "$T_TMP/train_rr.err")" "DETAIL:  A version of it was activated, refreshed, changed or deleted after this transaction's snapshot was taken." \
	"with the same detail"
unlike "$(cat "$T_TMP/train_rr.err")" 'NOTICE:  .*epoch' "before training (it used to fail on the active row after it)"

q "SELECT coldstart.activate('shop', $stored)" >/dev/null
rr_train "a deleted version" "DELETE FROM coldstart.models WHERE name = 'shop' AND version = $before_max"
isnt "$rr_rc" 0 "a REPEATABLE READ training fails after another session deletes an inactive version (the pruning would fail on it)"
like "$(cat "$T_TMP/train_rr.err")" "DETAIL:  A version of it was activated, refreshed, changed or deleted after this transaction's snapshot was taken." \
	"with the same detail"
unlike "$(cat "$T_TMP/train_rr.err")" 'NOTICE:  .*epoch' "before training"

# a change still uncommitted when the training starts: caught when the
# training stores its version, once the change lock is its
in_background hold_refresh "BEGIN;
SELECT coldstart.refresh_items('shop');
SELECT pg_sleep(3);
COMMIT;"
ok "a refresh_items() holds the change lock, not committed" in_sleep hold_refresh
q "BEGIN ISOLATION LEVEL REPEATABLE READ; $(train_sql 84); COMMIT;" >/dev/null 2>"$T_TMP/rr_late.err"
isnt "$?" 0 "a REPEATABLE READ training meanwhile fails"
like "$(cat "$T_TMP/rr_late.err")" 'NOTICE:  .*epoch' "after training (the refresh was not committed when it started)"
like "$(cat "$T_TMP/rr_late.err")" "ERROR:  could not serialize access due to a concurrent change of model \"shop\"" \
	"with the same serialization error, not a failed update of the active row"
finishes_ok hold_refresh "the refresh commits"

# its own versions are no concurrent training: two in one statement
is "$(q "BEGIN ISOLATION LEVEL REPEATABLE READ;
	SELECT string_agg(t ->> 'version', ',' ORDER BY i) FROM generate_series(81, 82) i,
		LATERAL coldstart.train('shop', 'shop.behaviours', 'shop.items', 'shop.users',
			('{$OPTS}'::jsonb || jsonb_build_object('seed', i))) t;
	COMMIT;" 2>&1 | grep -v NOTICE)" "$((stored + 1)),$((stored + 2))" \
	"a REPEATABLE READ statement that trains twice stores both versions"

# ---------------------------------------------------------------------
# A training that stores an inactive version and prunes, then activates in
# the same transaction, while another session activates a version it
# prunes: the store takes the change lock before it deletes rows, so the
# other waits and finds the version gone (it was a deadlock)
# ---------------------------------------------------------------------
active_now=$(q "SELECT version FROM coldstart.models WHERE name = 'shop' AND active")
q "UPDATE coldstart.models SET metrics = metrics || '{\"validation_recall_at_20\": 0.99}'
	WHERE name = 'shop' AND active" >/dev/null
two_steps "an inactive training's pruning" "SELECT coldstart.train('shop', 'shop.behaviours', 'shop.items', 'shop.users',
	'{\"dim\": 16, \"epochs\": 2, \"seed\": 83, \"promote_if_better\": true, \"keep_versions\": 2}') ->> 'version'" \
	"SELECT coldstart.activate('shop', $active_now, refresh => false)" "SELECT coldstart.activate('shop', 1)" \
	'model "shop" has no version 1'
like "$(cat "$T_TMP/steps.err")" 'is stored but not activated' "the training stored its version inactive"
is "$(q "SELECT count(*) FROM coldstart.models WHERE name = 'shop' AND version = 1")" 0 "version 1 was pruned"

# ---------------------------------------------------------------------
# refresh_items() under READ COMMITTED waiting for an activate(): it
# refreshes the version active after the wait (it failed with 40001)
# ---------------------------------------------------------------------
other=$(q "SELECT max(version) FROM coldstart.models WHERE name = 'shop' AND NOT active")
two_steps "refresh_items() waiting for an activate()" "SELECT coldstart.activate('shop', $other, refresh => false)" \
	"SELECT 'activated'" "SELECT coldstart.refresh_items('shop')"
is "$(q "SELECT version FROM coldstart.models WHERE name = 'shop' ORDER BY items_refreshed_at DESC NULLS LAST LIMIT 1")" "$other" \
	"it refreshed version $other, the one active after the wait"

# ---------------------------------------------------------------------
# drop_model() then activate() in one transaction, while another session
# activates the dropped version: it waits and finds the version gone (a
# DELETE by hand in its place deadlocks)
# ---------------------------------------------------------------------
active_now=$(q "SELECT version FROM coldstart.models WHERE name = 'shop' AND active")
gone=$(q "SELECT min(version) FROM coldstart.models WHERE name = 'shop' AND NOT active")
two_steps "drop_model() then activate()" "SELECT coldstart.drop_model('shop', $gone)" \
	"SELECT coldstart.activate('shop', $active_now, refresh => false)" \
	"SELECT coldstart.activate('shop', $gone, refresh => false)" "model \"shop\" has no version $gone"

# ---------------------------------------------------------------------
# Two model names whose 32-bit hashes collide do not share locks
# ---------------------------------------------------------------------
pair=$(q "SELECT min(n) || ' ' || max(n) FROM (SELECT 'm' || i AS n FROM generate_series(1, 300000) i) s
	GROUP BY hashtext(n) HAVING count(*) = 2 ORDER BY 1 LIMIT 1")
read -r NAME_A NAME_B <<<"$pair"
is "$(q "SELECT hashtext('$NAME_A') = hashtext('$NAME_B') AND '$NAME_A' <> '$NAME_B'")" t \
	"names $NAME_A and $NAME_B have the same 32-bit hash (the one the lock keys began with)"
in_background hold_a "BEGIN;
SELECT (coldstart.train('$NAME_A', 'shop.behaviours', 'shop.items', 'shop.users', '{$OPTS}'))->>'version';
SELECT pg_sleep(3);
COMMIT;"
ok "a training of $NAME_A has finished and holds its lock until commit" in_sleep hold_a
is "$(q "SELECT coldstart.training_in_progress('$NAME_A')::text || ' ' || coldstart.training_in_progress('$NAME_B')::text")" "true false" \
	"training_in_progress() is true for $NAME_A and false for $NAME_B"
is "$(q "SELECT (coldstart.train('$NAME_B', 'shop.behaviours', 'shop.items', 'shop.users', '{$OPTS}'))->>'version'" 2>&1 | grep -v NOTICE)" 1 \
	"a training of $NAME_B meanwhile succeeds (it was refused as being trained by another session)"
psql_fails_with "SELECT coldstart.drop_model('$NAME_A')" "model \"$NAME_A\" is being trained by another session" \
	"drop_model() of every version of $NAME_A meanwhile is refused"
finishes_ok hold_a "the training of $NAME_A commits"

is "$(q "SELECT coldstart.drop_model('$NAME_A') + coldstart.drop_model('$NAME_B')")" 2 "then drop_model() drops both models"

done_testing
