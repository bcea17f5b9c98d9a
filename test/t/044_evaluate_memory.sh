#!/usr/bin/env bash
# 044_evaluate_memory: evaluate() needs the memory of one training, whatever
# the number of revealed counts it scores (each pass trains a model: they
# used to be kept to the end, so eight passes took about six times the memory
# of one, a long "revealed" list with only the baselines grew by the
# catalogue's size per pass, and the live model's data set and training
# stayed to the end: the default call took three trainings' memory).  The peak is the backend's VmHWM, read from
# /proc after the call, in the same session.
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

fresh_db t044_evaluate_memory
psql_ok "CREATE EXTENSION coldstart" "CREATE EXTENSION coldstart"
psql_ok "SELECT coldstart.create_demo('shop', 300, 100, 8000, 44)" "demo data: 300 users, 100 items, 8000 behaviours"
# a large catalogue, so that a training's state (item tables, optimiser) is
# what the memory is made of
psql_ok "CREATE TABLE shop.big AS SELECT g::bigint AS item_id, (g % 10)::text AS cat FROM generate_series(1, 100000) g" \
	"a catalogue of 100,000 items"

# peak memory (kB) of a fresh backend that ran the given SQL
peak_kb() {
	psql -X -q -v ON_ERROR_STOP=1 -At <<SQL 2>/dev/null | tail -1
SET client_min_messages = warning;
SELECT pg_backend_pid() AS pid \gset
\setenv CS_BACKEND_PID :pid
$1;
\! awk '/^VmHWM/ {print \$2}' /proc/\$CS_BACKEND_PID/status
SQL
}
eval_sql() {
	printf "SELECT count(*) FROM coldstart.evaluate('shop.behaviours', 'shop.big', NULL, '{\"dim\": 8, \"epochs\": 1, \"methods\": %s, \"revealed\": %s}')" "$1" "$2"
}

one=$(peak_kb "$(eval_sql '["coldstart"]' '[0]')")
eight=$(peak_kb "$(eval_sql '["coldstart"]' '[0, 1, 2, 3, 4, 5, 6, 7]')")
like "$one" '^[0-9]+$' "the peak of one pass is read ($one kB)"
like "$eight" '^[0-9]+$' "the peak of eight passes is read ($eight kB)"
ok "eight trained passes need less than 1.5 times the memory of one ($eight kB against $one kB)" \
	test "$((eight * 2))" -lt "$((one * 3))"

base=$(peak_kb "$(eval_sql '["popularity"]' '[0]')")
many=$(peak_kb "$(eval_sql '["popularity", "item_knn", "content"]' "$(seq -s, 0 200 | sed 's/^/[/; s/$/]/')")")
ok "201 passes of the baselines need less than 1.5 times the memory of one pass of popularity ($many kB against $base kB)" \
	test "$((many * 2))" -lt "$((base * 3))"

# every method, the live one included, against one train() of the same data
train=$(peak_kb "SELECT count(*) FROM coldstart.train('mem', 'shop.behaviours', 'shop.big', NULL, '{\"dim\": 8, \"epochs\": 1}')")
all=$(peak_kb "SELECT count(*) FROM coldstart.evaluate('shop.behaviours', 'shop.big', NULL, '{\"dim\": 8, \"epochs\": 1}')")
ok "evaluate() with every method and four revealed counts needs less than 1.5 times the memory of one train() ($all kB against $train kB)" \
	test "$((all * 2))" -lt "$((train * 3))"

done_testing
