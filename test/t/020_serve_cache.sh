#!/usr/bin/env bash
# 020_serve_cache: a long-lived session's model cache follows what other
# sessions commit.  Session A keeps one backend (and so one cache) all along;
# other sessions train, activate, roll back, replace and refresh the model.
# A serves exactly what the other sessions see, from its next statement on:
# never a version that is no longer active, never one not yet committed, the
# version of its own snapshot inside a REPEATABLE READ transaction, a new
# model that reuses an old version number, and items refreshed elsewhere.
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

fresh_db t020_serve_cache
export PGOPTIONS="-c client_min_messages=warning"		# no training progress in the outputs
psql_ok "CREATE EXTENSION coldstart" "CREATE EXTENSION coldstart"
psql_ok "SELECT coldstart.create_demo('shop', 200, 120, 4000, 20)" "demo data: 200 users, 120 items, 4000 behaviours"

# ---------------------------------------------------------------------
# Persistent sessions: a psql reading statements from a fifo, its output in
# a file; `sess NAME SQL` runs SQL there and prints its output (errors too).
# ---------------------------------------------------------------------
# (The statement count is kept in a file: `$(sess ...)` runs in a subshell.)
declare -A S_FD S_PID
sess_start() {
	local n=$1 fd
	mkfifo "$T_TMP/$n.in"
	"$PSQL" -X -q -A -t -v ON_ERROR_STOP=0 <"$T_TMP/$n.in" >"$T_TMP/$n.out" 2>&1 &
	S_PID[$n]=$!
	exec {fd}>"$T_TMP/$n.in"
	S_FD[$n]=$fd
	echo 0 >"$T_TMP/$n.count"
}
sess() {
	local n=$1 sql=$2 k prev cur
	k=$(cat "$T_TMP/$n.count")
	prev="__end_${k}__"
	cur="__end_$((k + 1))__"
	echo $((k + 1)) >"$T_TMP/$n.count"
	printf '%s;\n\\echo %s\n' "$sql" "$cur" >&"${S_FD[$n]}"
	if ! wait_until 120 grep -qx -- "$cur" "$T_TMP/$n.out"; then
		echo "session $n did not answer: $sql"
		return 1
	fi
	if [ "$k" -eq 0 ]; then
		sed -n "/^$cur\$/q;p" "$T_TMP/$n.out"
	else
		sed -n "/^$prev\$/,/^$cur\$/{/^__end_[0-9]*__\$/d;p}" "$T_TMP/$n.out"
	fi
}
sess_stop() {
	local n=$1 fd=${S_FD[$1]}
	printf '\\q\n' >&"$fd"	# (EOF alone is not enough: the other session's psql holds this fifo open too)
	exec {fd}>&-
	# a session that got out of step must not hang the suite: give it a minute
	# (polled here: a background watcher is a subshell, which would run
	# lib.sh's exit trap if it were killed before it got going)
	for _ in $(seq 300); do
		kill -0 "${S_PID[$n]}" 2>/dev/null || break
		sleep 0.2
	done
	kill "${S_PID[$n]}" 2>/dev/null || true
	wait "${S_PID[$n]}" 2>/dev/null || true
}

OPTS='"dim": 8, "epochs": 2, "learning_rate": 0.01, "max_prefixes": 5, "target_balance": 0.5, "dropout": 0, "l2": 0.0001, "history_prior": 1, "patience": 3, "validation_fraction": 0.1, "keep_versions": 0'
train_sql() {		# train_sql SEED: a version of its own (another seed, another model)
	printf "SELECT (coldstart.train('m', 'shop.behaviours', 'shop.items', 'shop.users', '{%s, \"seed\": %d}'))->>'version'" \
		"$OPTS" "$1"
}
# what the model serves: a session's list and a user's, with scores
PROBE="SELECT (SELECT string_agg(item_id || ':' || round(score::numeric, 6), ' ' ORDER BY rank)
               FROM coldstart.recommend_for_items('{1,2,3}', k => 5, model => 'm'))
       || ' / ' || (SELECT string_agg(item_id || ':' || round(score::numeric, 6), ' ' ORDER BY rank)
                    FROM coldstart.recommend(7, 5, 'm'))"

sess_start A
sess_start B
a_pid=$(sess A "SELECT pg_backend_pid()")
like "$a_pid" '^[0-9]+$' "session A is up (backend $a_pid)"

# ---------------------------------------------------------------------
# A new version, committed by another session, is served at A's next call
# ---------------------------------------------------------------------
is "$(q "$(train_sql 1)")" 1 "version 1 trained"
v1=$(q "$PROBE")
is "$(sess A "$PROBE")" "$v1" "A serves version 1 (and caches it)"
is "$(q "$(train_sql 2)")" 2 "version 2 trained by another session"
v2=$(q "$PROBE")
isnt "$v2" "$v1" "versions 1 and 2 serve different lists, so A's answers tell them apart"
is "$(sess A "$PROBE")" "$v2" "A's next call serves version 2"

# ---------------------------------------------------------------------
# activate(): rolling back and forward elsewhere
# ---------------------------------------------------------------------
psql_ok "SELECT coldstart.activate('m', 1)" "another session activates version 1"
is "$(sess A "$PROBE")" "$v1" "A serves version 1 again"
psql_ok "SELECT coldstart.activate('m', 2)" "another session activates version 2"
is "$(sess A "$PROBE")" "$v2" "A serves version 2 again"

# ---------------------------------------------------------------------
# Inside a REPEATABLE READ transaction, A serves the version of its snapshot
# ---------------------------------------------------------------------
sess A "BEGIN ISOLATION LEVEL REPEATABLE READ" >/dev/null
is "$(sess A "$PROBE")" "$v2" "A, in a repeatable-read transaction, serves version 2"
psql_ok "SELECT coldstart.activate('m', 1)" "another session activates version 1 meanwhile"
is "$(sess A "$PROBE")" "$v2" "A's transaction still serves version 2, the active one in its snapshot"
is "$(sess A "SELECT version FROM coldstart.models WHERE name = 'm' AND active")" 2 "... which says version 2 is active"
sess A "COMMIT" >/dev/null
is "$(sess A "$PROBE")" "$v1" "after COMMIT, A serves version 1"

# ---------------------------------------------------------------------
# A training not yet committed is not served; once committed, it is
# ---------------------------------------------------------------------
sess B "BEGIN" >/dev/null
is "$(sess B "$(train_sql 3)")" 3 "session B trains version 3 in an open transaction"
v3=$(sess B "$PROBE")
isnt "$v3" "$v1" "B serves its own uncommitted version 3"
is "$(sess A "$PROBE")" "$v1" "A does not see version 3 before B commits"
is "$(q "SELECT count(*) FROM coldstart.recommend(7, 5, 'm')")" 5 "a third session is served meanwhile"
sess B "COMMIT" >/dev/null
is "$(sess A "$PROBE")" "$v3" "A serves version 3 once B has committed"

# a training rolled back leaves nothing behind
sess B "BEGIN" >/dev/null
is "$(sess B "$(train_sql 9)")" 4 "session B trains version 4 in an open transaction"
sess B "ROLLBACK" >/dev/null
is "$(sess A "$PROBE")" "$v3" "B rolled back: A still serves version 3"
is "$(q "SELECT max(version) FROM coldstart.models WHERE name = 'm'")" 3 "no version 4 in the catalogue"

# ---------------------------------------------------------------------
# A model replaced under the same version number (deleted and trained
# again): A's cache is keyed by the training time too
# ---------------------------------------------------------------------
psql_ok "DELETE FROM coldstart.models WHERE name = 'm'" "another session deletes every version of m"
like "$(sess A "$PROBE")" 'model "m" does not exist' "A: the deleted model is not served from the cache"
is "$(q "$(train_sql 4)")" 1 "m trained again: version 1, with seed 4"
v1b=$(q "$PROBE")
is "$(sess A "$PROBE")" "$v1b" "A serves the new version 1"
psql_ok "DELETE FROM coldstart.models WHERE name = 'm'" "deleted again"
is "$(q "$(train_sql 5)")" 1 "m trained again: version 1, with seed 5"
v1c=$(q "$PROBE")
isnt "$v1c" "$v1b" "the two models numbered 1 serve different lists"
is "$(sess A "$PROBE")" "$v1c" "A serves the newest version 1, not the one it cached under that number"

# ---------------------------------------------------------------------
# The model value of the active row replaced in place (a repair or a
# restore): the version and training time stay, A serves the new value
# ---------------------------------------------------------------------
is "$(q "$(train_sql 6)")" 2 "version 2 trained, with seed 6"
psql_ok "SELECT coldstart.activate('m', 1)" "version 1 active again"
is "$(sess A "$PROBE")" "$v1c" "A serves version 1"
psql_ok "UPDATE coldstart.models SET model = (SELECT model FROM coldstart.models WHERE name = 'm' AND version = 2)
	WHERE name = 'm' AND version = 1" "another session copies version 2's model value into version 1"
v1d=$(q "$PROBE")
isnt "$v1d" "$v1c" "a new session serves the new value"
is "$(sess A "$PROBE")" "$v1d" "and so does A, at its next call"
psql_ok "UPDATE coldstart.models SET metrics = metrics WHERE name = 'm' AND version = 1" \
	"an update of the row's other columns"
is "$(sess A "$PROBE")" "$v1d" "A serves the same value"
psql_ok "DELETE FROM coldstart.models WHERE name = 'm' AND version = 2" "version 2 deleted"

# ---------------------------------------------------------------------
# Items refreshed by another session
# ---------------------------------------------------------------------
COUNT_ALL="SELECT count(*) FROM coldstart.recommend_for_items('{}', k => 10000, model => 'm')"
is "$(sess A "$COUNT_ALL")" 120 "A serves 120 items"
psql_ok "INSERT INTO shop.items (item_id, category, brand, price, tags) SELECT 121, category, brand, price, tags FROM shop.items WHERE item_id = 1" \
	"a new item 121 in shop.items"
is "$(sess A "$COUNT_ALL")" 120 "A does not serve it before refresh_items()"
is "$(q "SELECT coldstart.refresh_items('m')")" 1 "another session refreshes the items"
is "$(sess A "$COUNT_ALL")" 121 "A serves 121 items at its next call"
is "$(sess A "SELECT count(*) FROM coldstart.recommend_for_items('{}', k => 10000, model => 'm') WHERE item_id = 121")" 1 \
	"... item 121 among them"
psql_ok "DELETE FROM shop.items WHERE item_id = 121; SELECT coldstart.refresh_items('m')" "item 121 deleted and the items refreshed"
is "$(sess A "$COUNT_ALL")" 120 "A serves 120 items again"

# the same backend all along, and it never failed otherwise
is "$(sess A "SELECT pg_backend_pid()")" "$a_pid" "session A kept its backend ($a_pid) throughout"
sess_stop A
sess_stop B
unlike "$(grep -v 'model "m" does not exist' "$T_TMP/A.out")" 'ERROR' "session A had no other error" ||
	diag "$(grep ERROR "$T_TMP/A.out")"
unlike "$(cat "$T_TMP/B.out")" 'ERROR' "session B had no error"

done_testing
