#!/usr/bin/env bash
# 043_training_runs: every train() and retrain() is a row of
# coldstart.training_runs, also when it fails: an error, a statement_timeout,
# pg_cancel_backend.  A run whose backend is terminated, or whose transaction
# is rolled back, is recognisable and marked failed by the next training.
# Recording works in REPEATABLE READ and for a NOLOGIN role, warns (and never
# breaks the training) without privileges or without a free background worker
# slot, and a read-only transaction is refused with a clear message.
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

fresh_db t043_training_runs
psql_ok "CREATE EXTENSION coldstart" "CREATE EXTENSION coldstart"
psql_ok "SELECT coldstart.create_demo('shop', 200, 300, 8000, 43)" "demo data: 200 users, 300 items, 8000 behaviours"

FAST='{"dim": 16, "epochs": 2}'
SLOW='{"dim": 64, "epochs": 1000, "validation_fraction": 0}'	# seconds of work: cancelled long before its end
train_sql() { printf "SELECT (coldstart.train('shop', 'shop.behaviours', 'shop.items', 'shop.users', '%s'))->>'version'" "$1"; }
last_run() { q "SELECT $1 FROM coldstart.training_runs ORDER BY run_id DESC LIMIT 1"; }
active_version() { q "SELECT version FROM coldstart.models WHERE name = 'shop' AND active"; }
recommend_7() { q "SELECT string_agg(item_id::text, ',' ORDER BY rank) FROM coldstart.recommend(7, 10, 'shop')"; }

# ---------------------------------------------------------------------
# A successful run
# ---------------------------------------------------------------------
is "$(q "$(train_sql "$FAST")" 2>/dev/null)" 1 "train() stores version 1"
is "$(last_run "name || ' ' || kind || ' ' || status || ' ' || version || ' ' || activated || ' ' || rows_read")" \
	"shop train succeeded 1 true 8000" "its run: succeeded, version 1 activated, 8000 rows read"
is "$(last_run "finished >= started AND seconds > 0 AND metrics->>'version' = '1'
	AND (metrics->>'validation_recall_at_20')::float8 > 0 AND run_by = current_user
	AND application_name = 'psql' AND error IS NULL AND sqlstate IS NULL
	AND pid > 0 AND backend_start <= started")" t \
	"times, summary, role, application and backend of the run are recorded"
served=$(recommend_7)
like "$served" '^[0-9]+(,[0-9]+){9}$' "recommend() serves version 1"

# ---------------------------------------------------------------------
# Failed runs: an error, a timeout, a cancel
# ---------------------------------------------------------------------
psql_fails_with "SELECT coldstart.retrain('nope')" 'model "nope" does not exist' "retrain() of an unknown model fails"
is "$(last_run "name || ' ' || kind || ' ' || status || ' ' || sqlstate || ' ' || error")" \
	'nope retrain failed 42704 model "nope" does not exist' "the failed run is recorded with its SQLSTATE and error"
like "$(last_run "error_hint")" "Train it first" "and with the error's hint"

psql_fails_with "SET statement_timeout = '300ms'; $(train_sql "$SLOW")" \
	"canceling statement due to statement timeout" "a training that exceeds statement_timeout fails"
is "$(last_run "status || ' ' || sqlstate || ' ' || error || ' ' || (finished IS NOT NULL)")" \
	"failed 57014 canceling statement due to statement timeout true" "the timed-out run is recorded as failed (57014)"
is "$(active_version)" 1 "version 1 is still the active one"
is "$(recommend_7)" "$served" "and recommend() serves it as before"

q "$(train_sql "$SLOW")" >/dev/null 2>"$T_TMP/cancel.err" &
slow=$!
if wait_until 30 q_true "SELECT EXISTS (SELECT FROM coldstart.training_runs WHERE status = 'running')"; then
	pass "a running training shows as 'running'"
	is "$(q "SELECT r.pid = a.pid AND a.query LIKE '%coldstart.train(%'
		FROM coldstart.training_runs r JOIN pg_stat_activity a USING (pid) WHERE r.status = 'running'")" t \
		"its pid is the backend that trains (pg_stat_activity)"
	is "$(q "SELECT coldstart.training_in_progress('shop')")" t "training_in_progress('shop') is true meanwhile"
	psql_ok "SELECT pg_cancel_backend(pid) FROM coldstart.training_runs WHERE status = 'running'" "pg_cancel_backend() it"
else
	fail "a running training shows as 'running'" "$(cat "$T_TMP/cancel.err")"
fi
wait "$slow"
isnt "$?" 0 "the cancelled training fails"
like "$(cat "$T_TMP/cancel.err")" "canceling statement due to user request" "with the cancel's message"
is "$(last_run "status || ' ' || sqlstate || ' ' || error")" "failed 57014 canceling statement due to user request" \
	"the cancelled run is recorded as failed, in the same row that said 'running'"
is "$(q "SELECT count(*) FROM coldstart.training_runs WHERE status = 'running'")" 0 "no run is left 'running'"
is "$(active_version)" 1 "version 1 is still the active one"

# ---------------------------------------------------------------------
# Abandoned runs: a terminated backend, a rolled-back transaction
# ---------------------------------------------------------------------
q "$(train_sql "$SLOW")" >/dev/null 2>"$T_TMP/terminate.err" &
slow=$!
if wait_until 30 q_true "SELECT EXISTS (SELECT FROM coldstart.training_runs WHERE status = 'running')"; then
	terminated=$(q "SELECT run_id FROM coldstart.training_runs WHERE status = 'running'")
	psql_ok "SELECT pg_terminate_backend(pid, 10000) FROM coldstart.training_runs WHERE status = 'running'" \
		"pg_terminate_backend() a training"
else
	terminated=0
	fail "pg_terminate_backend() a training" "it never showed as running: $(cat "$T_TMP/terminate.err")"
fi
wait "$slow"
is "$(q "SELECT status FROM coldstart.training_runs WHERE run_id = $terminated")" running \
	"the terminated run still says 'running' (its backend wrote nothing more)"
is "$(q "SELECT string_agg(run_id::text, ',') FROM coldstart.training_runs
	WHERE status = 'running' AND NOT coldstart.training_in_progress(name)")" "$terminated" \
	"training_in_progress() tells it apart from a live run"

psql_ok "BEGIN; SELECT coldstart.retrain('shop'); ROLLBACK" "a retrain() in a transaction that is rolled back"
rolled_back=$(last_run run_id)
is "$(q "SELECT status FROM coldstart.training_runs WHERE run_id = $rolled_back")" running \
	"its run still says 'running': the success was rolled back with the version"
is "$(active_version)" 1 "no version was stored"

is "$(q "SELECT (coldstart.retrain('shop'))->>'version'" 2>/dev/null)" 2 "the next retrain() stores version 2"
is "$(q "SELECT string_agg(run_id || ':' || status || ':' || (finished IS NULL) || ':' || (error LIKE 'the run did not finish%'), ' ' ORDER BY run_id)
	FROM coldstart.training_runs WHERE run_id IN ($terminated, $rolled_back)")" \
	"$terminated:failed:true:true $rolled_back:failed:true:true" \
	"it marked both abandoned runs failed, with finished NULL and an explaining error"
is "$(q "SELECT count(*) FROM coldstart.training_runs WHERE status = 'running'")" 0 "no run is left 'running'"

# ---------------------------------------------------------------------
# Transactions: two runs in one, REPEATABLE READ, read-only
# ---------------------------------------------------------------------
before=$(last_run run_id)
psql_ok "BEGIN; SELECT coldstart.retrain('shop'); SELECT coldstart.retrain('shop'); COMMIT" \
	"two retrain() of one model in one transaction"
is "$(q "SELECT string_agg(status || ':' || version, ' ' ORDER BY run_id) FROM coldstart.training_runs WHERE run_id > $before")" \
	"succeeded:3 succeeded:4" "both runs are recorded as succeeded"

before=$(last_run run_id)
psql_ok "BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT coldstart.retrain('shop'); COMMIT" \
	"retrain() in a REPEATABLE READ transaction"
is "$(q "SELECT string_agg(status || ':' || version, ' ' ORDER BY run_id) FROM coldstart.training_runs WHERE run_id > $before")" \
	"succeeded:5" "it is recorded once, as succeeded"
psql_fails_with "BEGIN ISOLATION LEVEL SERIALIZABLE; SELECT coldstart.retrain('nope')" 'model "nope" does not exist' \
	"a failing retrain() in a SERIALIZABLE transaction"
is "$(last_run "status || ' ' || name")" "failed nope" "its failure is recorded all the same"

psql_fails_with "BEGIN READ ONLY; SELECT coldstart.retrain('shop')" \
	'cannot train model "shop" in a read-only transaction' "a read-only transaction refuses to train, clearly"
is "$(sqlstate_of "SET default_transaction_read_only = on; SELECT coldstart.retrain('shop')")" 25006 \
	"with SQLSTATE 25006 (read_only_sql_transaction)"

# ---------------------------------------------------------------------
# promote_if_better: the run says why its version is not active
# ---------------------------------------------------------------------
q "SELECT coldstart.train('shop', 'shop.behaviours', 'shop.items', 'shop.users',
	'{\"dim\": 4, \"epochs\": 1, \"learning_rate\": 0.000001, \"promote_if_better\": true}')" >/dev/null 2>&1
is "$(last_run "status || ' ' || activated || ' ' || (not_activated_because LIKE '%worse than%')")" "succeeded false true" \
	"a worse version kept inactive by promote_if_better: activated false, and why"
is "$(active_version)" 5 "version 5 stays active"

# ---------------------------------------------------------------------
# Roles: a NOLOGIN trainer (through SET ROLE), a role without the grants
# ---------------------------------------------------------------------
psql_ok "DROP ROLE IF EXISTS t043_trainer; DROP ROLE IF EXISTS t043_nogrant;
	CREATE ROLE t043_trainer NOLOGIN; CREATE ROLE t043_nogrant NOLOGIN;
	GRANT USAGE ON SCHEMA coldstart, shop TO t043_trainer, t043_nogrant;
	GRANT SELECT ON ALL TABLES IN SCHEMA shop TO t043_trainer, t043_nogrant;
	GRANT SELECT, INSERT, UPDATE, DELETE ON coldstart.models, coldstart.item_extras TO t043_trainer, t043_nogrant;
	GRANT SELECT, INSERT, UPDATE ON coldstart.training_runs TO t043_trainer" "roles t043_trainer and t043_nogrant"
is "$(q "SET ROLE t043_trainer; SELECT (coldstart.retrain('shop'))->>'version'" 2>/dev/null)" 7 \
	"a NOLOGIN trainer role retrains (SET ROLE)"
is "$(last_run "run_by || ' ' || status || ' ' || version")" "t043_trainer succeeded 7" "its run is recorded under its name"
psql_fails_with "SET ROLE t043_trainer; SELECT coldstart.retrain('nope')" 'model "nope" does not exist' \
	"a failing retrain() by that role"
is "$(last_run "run_by || ' ' || status")" "t043_trainer failed" "its failure is recorded, written with its privileges"
out=$(q "SET ROLE t043_nogrant; SELECT (coldstart.retrain('shop'))->>'version'" 2>&1)
like "$out" 'WARNING:  training run of model "shop" is not recorded: permission denied for table coldstart.training_runs' \
	"a role without privileges on training_runs gets a WARNING"
like "$out" '(^|[[:space:]])8$' "and its training succeeds all the same (version 8)"
psql_fails_with "SET ROLE t043_nogrant; SELECT count(*) FROM coldstart.training_runs" \
	"permission denied for table training_runs" "training_runs is not readable without a grant"

# The application role of the README: serves, cannot train, cannot read runs.
psql_ok "DROP ROLE IF EXISTS t043_app; CREATE ROLE t043_app NOLOGIN;
	GRANT USAGE ON SCHEMA coldstart, shop TO t043_app;
	GRANT SELECT ON coldstart.models, coldstart.item_extras TO t043_app;
	GRANT SELECT ON shop.behaviours, shop.items, shop.users TO t043_app" "role t043_app with the README's application grants"
is "$(q "SET ROLE t043_app;
	SELECT (SELECT count(*) FROM coldstart.recommend(7, 10, 'shop'))
		|| ' ' || (SELECT count(*) FROM coldstart.recommend_for_items(ARRAY[1, 2]::bigint[], k => 10, model => 'shop'))
		|| ' ' || (SELECT count(*) FROM coldstart.similar_items(5, 10, 'shop'))
		|| ' ' || (SELECT coldstart.model_info(model) IS NOT NULL FROM coldstart.models WHERE name = 'shop' AND active)")" \
	"10 10 10 true" "the application role serves: recommend, recommend_for_items, similar_items, model_info"
psql_fails_with "SET ROLE t043_app; SELECT coldstart.retrain('shop')" 'permission denied to train model "shop"' \
	"the application role cannot train: refused before any work"
psql_fails_with "SET ROLE t043_app; SELECT coldstart.activate('shop', 1)" "permission denied for table models" \
	"nor activate a version"
psql_ok "DROP OWNED BY t043_trainer; DROP OWNED BY t043_nogrant; DROP OWNED BY t043_app;
	DROP ROLE t043_trainer; DROP ROLE t043_nogrant; DROP ROLE t043_app" "(drop the roles)"

# ---------------------------------------------------------------------
# No free background worker slot: a WARNING, and training goes on
# ---------------------------------------------------------------------
# pg_cron's launcher takes the only slot of this server.
start_server noslot "max_worker_processes = 1"
on noslot psql_ok "CREATE EXTENSION coldstart; SELECT coldstart.create_demo('shop', 100, 200, 3000, 43)" \
	"a server with no free worker slot, and demo data there"
out=$(on noslot q "$(train_sql "$FAST")" 2>&1)
like "$out" 'WARNING:  the start of the training run of model "shop" is not recorded: no background worker slot is free' \
	"without a free slot, the run's start is not recorded, with a WARNING"
like "$out" 'HINT:  Raise max_worker_processes' "whose hint says what to raise"
like "$out" '(^|[[:space:]])1$' "the training succeeds all the same"
is "$(on noslot q "SELECT string_agg(status || ':' || version, ' ') FROM coldstart.training_runs")" "succeeded:1" \
	"its success is recorded, in the training's own transaction"
out=$(on noslot q "SELECT coldstart.retrain('nope')" 2>&1)
like "$out" 'WARNING:  the failure of the training run of model "nope" is not recorded: no background worker slot is free' \
	"a failure that cannot be recorded says so"
like "$out" 'ERROR:  model "nope" does not exist' "and the training's own error follows, unchanged"
stop_server noslot

done_testing
