#!/usr/bin/env bash
# 040_pg_cron: scheduled retraining with pg_cron, preloaded in the suite's
# server with cron.database_name = 'coldstart'.  The models live in a database
# of their own, as in most installations: schedule_retrain() there says pg_cron
# is not installed and hints the exact cron.schedule_in_database() call, which
# the test runs in the cron database.  A job that runs every minute retrains
# model shop: a new active version and a training_runs row from pg_cron.  A job
# whose training fails (its behaviour table was dropped) leaves a failed run
# with its error, and the old version keeps serving.  In the cron database
# itself, schedule_retrain() and unschedule_retrain() make and remove the job,
# also as a trainer that is not a superuser (and may not read
# cron.database_name).
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

DB=t040_pg_cron
CRON_DB=$(q "SELECT current_setting('cron.database_name', true)" -d postgres)
if [ -z "$CRON_DB" ]; then
	skip "pg_cron is not preloaded in this server (shared_preload_libraries)"
	done_testing
fi
cron() { q "$1" -d "$CRON_DB"; }

fresh_db "$DB"
psql_ok "CREATE EXTENSION coldstart" "CREATE EXTENSION coldstart (pg_cron is not installed in this database)"
psql_ok "SELECT coldstart.create_demo('shop', 200, 300, 8000, 40)" "demo data: 200 users, 300 items, 8000 behaviours"
FAST='{"dim": 16, "epochs": 2}'
is "$(q "SELECT (coldstart.train('shop', 'shop.behaviours', 'shop.items', 'shop.users', '$FAST'))->>'version'" 2>/dev/null)" 1 \
	"model shop, version 1"
psql_ok "CREATE TABLE shop.gone_behaviours AS SELECT * FROM shop.behaviours WHERE user_id <= 150" "a behaviour table for model gone"
is "$(q "SELECT (coldstart.train('gone', 'shop.gone_behaviours', 'shop.items', NULL, '$FAST'))->>'version'" 2>/dev/null)" 1 \
	"model gone, version 1"
gone_items=$(q "SELECT string_agg(item_id::text, ',' ORDER BY rank) FROM coldstart.similar_items(5, 10, 'gone')")
psql_ok "DROP TABLE shop.gone_behaviours" "its behaviour table is dropped: retraining gone will fail"

# ---------------------------------------------------------------------
# schedule_retrain() where pg_cron is not installed: a clear error and a hint
# ---------------------------------------------------------------------
psql_fails_with "SELECT coldstart.schedule_retrain('shop', '* * * * *')" \
	"pg_cron is not installed in database \"$DB\"" "schedule_retrain() without pg_cron in this database: a clear error"
psql_fails_with "SELECT coldstart.schedule_retrain('nope', '* * * * *')" 'model "nope" does not exist' \
	"schedule_retrain() of an unknown model"
psql_fails_with "SELECT coldstart.unschedule_retrain('shop')" "pg_cron is not installed in database \"$DB\"" \
	"unschedule_retrain() without pg_cron in this database"
hinted() {		# the statement the error's hint gives, for model $1
	q "SELECT coldstart.schedule_retrain('$1', '* * * * *')" 2>&1 | sed -n 's/^HINT:  In database [^,]*, run: //p'
}
cmd_shop=$(hinted shop)
cmd_gone=$(hinted gone)
like "$cmd_shop" "^SELECT cron.schedule_in_database\('coldstart-retrain-shop', '\* \* \* \* \*', 'SELECT coldstart.retrain\(''shop''\)', '$DB'\);$" \
	"its hint is the exact cron.schedule_in_database() call to run in the cron database"

# ---------------------------------------------------------------------
# Two jobs, every minute, scheduled from the cron database
# ---------------------------------------------------------------------
cron "SET client_min_messages = warning; CREATE EXTENSION IF NOT EXISTS pg_cron" >/dev/null
is "$(cron "SELECT count(*) FROM pg_extension WHERE extname = 'pg_cron'")" 1 "pg_cron is installed in the cron database, $CRON_DB"
like "$(cron "$cmd_shop")" '^[0-9]+$' "the hinted call schedules job coldstart-retrain-shop"
like "$(cron "$cmd_gone")" '^[0-9]+$' "and job coldstart-retrain-gone"
unschedule_jobs() {
	cron "SELECT cron.unschedule(jobname) FROM cron.job
		WHERE jobname IN ('coldstart-retrain-shop', 'coldstart-retrain-gone') AND database = '$DB'" >/dev/null 2>&1
}
# Whatever happens next, the jobs must not outlive this test (test/lib.sh's
# exit handler runs after, with this script's exit status).
trap '_rc=$?; unschedule_jobs; (exit $_rc); _t_exit' EXIT

run_of() {		# run_of NAME COLUMNS: the first run of NAME made by pg_cron
	q "SELECT $2 FROM coldstart.training_runs WHERE name = '$1' AND application_name = 'pg_cron' ORDER BY run_id LIMIT 1"
}
both_ran() {
	[ "$(q "SELECT count(DISTINCT name) FROM coldstart.training_runs
		WHERE application_name = 'pg_cron' AND status <> 'running'")" = 2 ]
}
diag "waiting for the next minute's jobs (at most 150 s)"
if ok "both jobs ran within 150 s" wait_until 150 both_ran; then
	:
else
	diag "cron.job_run_details: $(cron "SELECT string_agg(jobid || ' ' || status || ' ' || coalesce(return_message, ''), '; ') FROM cron.job_run_details")"
fi
unschedule_jobs

is "$(run_of shop "kind || ' ' || status || ' ' || version || ' ' || activated")" "retrain succeeded 2 true" \
	"the scheduled retrain of shop succeeded and stored version 2, active"
is "$(q "SELECT version FROM coldstart.models WHERE name = 'shop' AND active")" 2 "shop's active version is 2"
like "$(q "SELECT string_agg(item_id::text, ',') FROM coldstart.recommend(7, 10, 'shop')")" '^[0-9]+(,[0-9]+){9}$' \
	"recommend() serves it"
is "$(run_of gone "kind || ' ' || status || ' ' || sqlstate || ' ' || (finished IS NOT NULL)")" "retrain failed 42P01 true" \
	"the scheduled retrain of gone failed, and its run says so (42P01)"
is "$(run_of gone error)" 'relation shop.gone_behaviours used by model "gone" does not exist' \
	"with the training's error message"
is "$(q "SELECT string_agg(version || ':' || active, ' ') FROM coldstart.models WHERE name = 'gone'")" "1:true" \
	"gone still has only version 1, active"
is "$(q "SELECT string_agg(item_id::text, ',' ORDER BY rank) FROM coldstart.similar_items(5, 10, 'gone')")" "$gone_items" \
	"and serves it as before the failed run (similar_items)"
like "$(q "SELECT count(*) FROM coldstart.recommend_for_items(ARRAY[1, 2]::bigint[], k => 10, model => 'gone')")" '^10$' \
	"recommend_for_items() serves it too"
is "$(cron "SELECT count(*) FROM cron.job WHERE database = '$DB'")" 0 "both jobs are unscheduled"

# ---------------------------------------------------------------------
# In the cron database: schedule_retrain() and unschedule_retrain()
# ---------------------------------------------------------------------
had_coldstart=$(cron "SELECT count(*) FROM pg_extension WHERE extname = 'coldstart'")
cron "SET client_min_messages = warning; CREATE EXTENSION IF NOT EXISTS coldstart;
	DROP SCHEMA IF EXISTS t040 CASCADE; DELETE FROM coldstart.models WHERE name = 't040_shop'" >/dev/null
ok "a model t040_shop in the cron database" cron "SELECT coldstart.create_demo('t040', 50, 80, 1000, 40);
	SELECT coldstart.train('t040_shop', 't040.behaviours', options => '{\"dim\": 4, \"epochs\": 1}')"
psql_fails_with "SELECT coldstart.schedule_retrain('t040_shop', NULL)" "must not be NULL" "schedule_retrain() with a NULL schedule"
job=$(cron "SELECT coldstart.schedule_retrain('t040_shop', '0 3 * * *')")
like "$job" '^[0-9]+$' "schedule_retrain() makes a pg_cron job"
is "$(cron "SELECT jobname || '|' || schedule || '|' || command || '|' || database FROM cron.job WHERE jobid = ${job:-0}")" \
	"coldstart-retrain-t040_shop|0 3 * * *|SELECT coldstart.retrain('t040_shop')|$CRON_DB" \
	"the job: its name, schedule, command and database"
is "$(cron "SELECT coldstart.schedule_retrain('t040_shop', '30 4 * * *') = $job")" t \
	"scheduling again replaces the job (same job id)"
is "$(cron "SELECT schedule FROM cron.job WHERE jobname = 'coldstart-retrain-t040_shop'")" "30 4 * * *" "with the new schedule"
is "$(cron "SELECT coldstart.unschedule_retrain('t040_shop')")" t "unschedule_retrain() removes it"
is "$(cron "SELECT count(*) FROM cron.job WHERE jobname = 'coldstart-retrain-t040_shop'")" 0 "the job is gone"


# ---------------------------------------------------------------------
# A trainer that is not a superuser, with the README's grants (and USAGE on
# schema cron): cron.database_name is hidden from it, which must not matter
# ---------------------------------------------------------------------
drop_trainer() {
	q "DROP OWNED BY t040_trainer" -d "$DB" >/dev/null 2>&1
	cron "DROP OWNED BY t040_trainer" >/dev/null 2>&1
	q "DROP ROLE IF EXISTS t040_trainer" -d postgres >/dev/null 2>&1
}
drop_trainer
GRANTS="GRANT USAGE ON SCHEMA coldstart TO t040_trainer;
	GRANT SELECT, INSERT, UPDATE, DELETE ON coldstart.models, coldstart.item_extras TO t040_trainer;
	GRANT SELECT, INSERT, UPDATE ON coldstart.training_runs TO t040_trainer;"
ok "a trainer role t040_trainer, not a superuser" q "CREATE ROLE t040_trainer" -d postgres
ok "with the trainer grants in $DB" q "$GRANTS"
ok "and in $CRON_DB, with USAGE on schema cron" cron "$GRANTS GRANT USAGE ON SCHEMA cron, t040 TO t040_trainer;
	GRANT SELECT ON ALL TABLES IN SCHEMA t040 TO t040_trainer"
is "$(q "SET ROLE t040_trainer; SELECT current_setting('cron.database_name', true)" 2>&1 | grep -c 'must be superuser')" 1 \
	"the trainer may not read cron.database_name"
psql_fails_with "SET ROLE t040_trainer; SELECT coldstart.schedule_retrain('shop', '0 3 * * *')" \
	"pg_cron is not installed in database \"$DB\"" \
	"schedule_retrain() in $DB as the trainer: the same clear error"
like "$(q "SET ROLE t040_trainer; SELECT coldstart.schedule_retrain('shop', '0 3 * * *')" 2>&1 | sed -n 's/^HINT:  //p')" \
	"^In that database, run: SELECT cron.schedule_in_database\('coldstart-retrain-shop', '0 3 \* \* \*', 'SELECT coldstart.retrain\(''shop''\)', '$DB'\);$" \
	"whose hint is the call to run in pg_cron's database"
job=$(cron "SET ROLE t040_trainer; SELECT coldstart.schedule_retrain('t040_shop', '0 5 * * *')")
like "$job" '^[0-9]+$' "in the cron database, the trainer's schedule_retrain() makes a job"
is "$(cron "SELECT username || '|' || schedule FROM cron.job WHERE jobid = ${job:-0}")" "t040_trainer|0 5 * * *" \
	"owned by the trainer, who will run it"
is "$(cron "SET ROLE t040_trainer; SELECT coldstart.unschedule_retrain('t040_shop')")" t \
	"and the trainer's unschedule_retrain() removes it"
is "$(cron "SELECT count(*) FROM cron.job WHERE jobname = 'coldstart-retrain-t040_shop'")" 0 "the job is gone"
drop_trainer

# drop_model(): the job goes with the model's last version, in the same transaction
njobs() { cron "SELECT count(*) FROM cron.job WHERE jobname = 'coldstart-retrain-t040_shop'"; }
train_shop() { cron "SELECT coldstart.train('t040_shop', 't040.behaviours', options => '{\"dim\": 4, \"epochs\": 1}')"; }
ok "a second version of t040_shop" train_shop
like "$(cron "SELECT coldstart.schedule_retrain('t040_shop', '0 3 * * *')")" '^[0-9]+$' "t040_shop is scheduled again"
is "$(cron "SELECT coldstart.drop_model('t040_shop', 1)")" 1 "drop_model() of version 1 (version 2 remains)"
is "$(njobs)" 1 "leaves the job: the model is still there"
is "$(cron "BEGIN; SELECT coldstart.drop_model('t040_shop'); ROLLBACK" 2>&1)" \
	'NOTICE:  removed pg_cron job "coldstart-retrain-t040_shop", which retrained model "t040_shop"
1' "drop_model() of every version says it removes the job"
is "$(njobs)" 1 "a drop rolled back keeps the job"
is "$(cron "SELECT coldstart.drop_model('t040_shop', 2)" 2>&1)" \
	'NOTICE:  removed pg_cron job "coldstart-retrain-t040_shop", which retrained model "t040_shop"
1' "dropping the last version by number removes it too"
is "$(njobs)" 0 "the job is gone with the model"
is "$(cron "SELECT coldstart.retrain('t040_shop')" 2>&1 | sed -n 's/^\(ERROR\|HINT\):  //p')" \
	"model \"t040_shop\" does not exist
Train it first with coldstart.train('t040_shop', ...). If a pg_cron job runs this retrain() for a dropped model, remove it in pg_cron's database with cron.unschedule('coldstart-retrain-t040_shop')." \
	"retrain() of a dropped model fails, and its hint is the call that removes the job"

# only the job schedule_retrain() makes goes: one of the same name that
# retrains a model of that name in another database stays
ok "t040_shop again" train_shop
like "$(cron "SELECT cron.schedule_in_database('coldstart-retrain-t040_shop', '0 3 * * *', 'SELECT coldstart.retrain(''t040_shop'')', '$DB')")" \
	'^[0-9]+$' "a job coldstart-retrain-t040_shop that retrains in $DB"
is "$(cron "SELECT coldstart.drop_model('t040_shop')" 2>&1)" 1 "drop_model() in $CRON_DB: no NOTICE"
is "$(njobs)" 1 "and the job for $DB stays"
cron "SELECT cron.unschedule('coldstart-retrain-t040_shop')" >/dev/null

# another role's job stays, and a NOTICE says how to remove it
drop_trainer
ok "a trainer role again, with its grants" cron "CREATE ROLE t040_trainer; $GRANTS GRANT USAGE ON SCHEMA cron, t040 TO t040_trainer"
ok "t040_shop again" train_shop
like "$(cron "SET ROLE t040_trainer; SELECT coldstart.schedule_retrain('t040_shop', '0 3 * * *')")" '^[0-9]+$' \
	"the trainer schedules it"
is "$(cron "SELECT coldstart.drop_model('t040_shop')" 2>&1)" \
	'NOTICE:  pg_cron job "coldstart-retrain-t040_shop" of role t040_trainer, which retrained model "t040_shop", is left
HINT:  Its owner removes it with cron.unschedule('"'coldstart-retrain-t040_shop'"'), a superuser with cron.unschedule(jobid).
1' "drop_model() by another role leaves the trainer's job, and says so"
is "$(njobs)" 1 "the trainer's job is there"
cron "SELECT cron.unschedule(jobid) FROM cron.job WHERE jobname = 'coldstart-retrain-t040_shop'" >/dev/null
drop_trainer

# pg_cron failing does not stop the drop: another session holds the job's row
ok "t040_shop again" train_shop
like "$(cron "SELECT coldstart.schedule_retrain('t040_shop', '0 3 * * *')")" '^[0-9]+$' "scheduled again"
cron "BEGIN; SELECT jobid FROM cron.job WHERE jobname = 'coldstart-retrain-t040_shop' FOR UPDATE; SELECT pg_sleep(6); COMMIT" \
	>/dev/null 2>&1 &
locker=$!
row_locked() {
	[ "$(cron "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(6)%' AND state = 'active' AND pid <> pg_backend_pid()")" = 1 ]
}
ok "another session holds the job's row" wait_until 10 row_locked
out=$(cron "SET lock_timeout = '300ms'; SELECT coldstart.drop_model('t040_shop')" 2>&1)
like "$out" '^WARNING:  could not remove pg_cron job "coldstart-retrain-t040_shop", which retrained model "t040_shop": .*lock' \
	"drop_model() warns that it could not remove the job"
like "$out" "HINT:  Remove it with cron.unschedule\('coldstart-retrain-t040_shop'\)." "with the call that does"
like "$out" '1$' "and drops the model all the same"
is "$(cron "SELECT count(*) FROM coldstart.models WHERE name = 't040_shop'")" 0 "t040_shop is gone"
wait "$locker"
is "$(njobs)" 1 "its job is left"
cron "SELECT cron.unschedule('coldstart-retrain-t040_shop')" >/dev/null

# a schema named cron that is not pg_cron's: its functions are never called
# ($DB has no pg_cron)
ok "in $DB, a schema cron of somebody's, whose unschedule() records calls" q "CREATE SCHEMA cron;
	CREATE TABLE cron.calls (n int);
	CREATE VIEW cron.job AS SELECT 'coldstart-retrain-gone'::name AS jobname, current_user::name AS username,
		'SELECT coldstart.retrain(''gone'')'::text AS command, current_database()::text AS database;
	CREATE FUNCTION cron.unschedule(name) RETURNS boolean LANGUAGE sql AS 'INSERT INTO cron.calls VALUES (1) RETURNING true'"
is "$(q "SELECT coldstart.drop_model('gone')" 2>&1)" 1 "drop_model('gone') in $DB: no NOTICE"
is "$(q "SELECT count(*) FROM cron.calls")" 0 "and that unschedule() was not called"
q "DROP SCHEMA cron CASCADE" >/dev/null 2>&1

# leave the shared cron database as it was
cron "DROP SCHEMA t040 CASCADE; DELETE FROM coldstart.models WHERE name = 't040_shop';
	DELETE FROM coldstart.training_runs WHERE name = 't040_shop'" >/dev/null 2>&1
[ "$had_coldstart" != 0 ] || cron "DROP EXTENSION coldstart" >/dev/null 2>&1

done_testing
