#!/usr/bin/env bash
# 042_standby: a streaming-replication hot standby (pg_basebackup of the
# suite's server, on a port of its own) serves recommend(),
# recommend_for_items(), similar_items() and model_info() exactly as the
# primary does, including behaviours and items added on the primary after
# training; a version trained on the primary is served by the standby once
# replayed, also by a standby session that was already serving the old one;
# training there fails with a clear message.  The standby is stopped at the end,
# whatever happens (test/lib.sh stops every server of the test).
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

DB=t042_standby
fresh_db "$DB"
psql_ok "CREATE EXTENSION coldstart" "CREATE EXTENSION coldstart"
psql_ok "SELECT coldstart.create_demo('shop', 200, 300, 8000, 42)" "demo data: 200 users, 300 items, 8000 behaviours"
train_sql() {
	printf "SELECT (coldstart.train('shop', 'shop.behaviours', 'shop.items', 'shop.users', '{\"dim\": 16, \"epochs\": 2, \"seed\": %d}'))->>'version'" "$1"
}
is "$(q "$(train_sql 1)" 2>/dev/null)" 1 "version 1 trained on the primary"
# An item added after training, served through refresh_items(), and a brand-new
# user with two behaviours: both replicate like any row.
psql_ok "INSERT INTO shop.items SELECT 100001, category, brand, price, rating, tags FROM shop.items WHERE item_id = 5;
	SELECT coldstart.refresh_items('shop');
	INSERT INTO shop.behaviours VALUES (900001, 5, 'pv', now() - interval '1 hour'), (900001, 100001, 'cart', now())" \
	"a new item (refresh_items) and a new user's first behaviours on the primary"

# q on the standby, in this test's database
sb() { on standby q "$1" -d "$DB"; }
primary_lsn() { q "SELECT pg_current_wal_lsn()"; }
replayed() { [ "$(on standby q "SELECT pg_last_wal_replay_lsn() >= '$1'::pg_lsn" -d postgres 2>/dev/null)" = t ]; }

start_standby standby main
is "$(on standby q "SELECT pg_is_in_recovery()" -d postgres)" t "the standby runs, in recovery (hot standby)"
lsn=$(primary_lsn)
ok "the standby replays up to the primary's current WAL position" wait_until 60 replayed "$lsn"

# ---------------------------------------------------------------------
# Same answers on both servers
# ---------------------------------------------------------------------
fmt="string_agg(format('%s:%s:%s', item_id, round(score::numeric, 6), rank), ',' ORDER BY rank)"
CALLS=(
	"SELECT $fmt FROM coldstart.recommend(1, 10, 'shop')"
	"SELECT $fmt FROM coldstart.recommend(2, 10, 'shop')"
	"SELECT $fmt FROM coldstart.recommend(57, 10, 'shop')"
	"SELECT $fmt FROM coldstart.recommend(199, 10, 'shop', exclude_seen => false)"
	"SELECT $fmt FROM coldstart.recommend(900001, 10, 'shop')"
	"SELECT $fmt FROM coldstart.recommend_for_items(ARRAY[3, 1, 2]::bigint[], ARRAY['pv', 'cart', 'buy'], 10, 'shop')"
	"SELECT $fmt FROM coldstart.recommend_for_items(ARRAY[100001]::bigint[], k => 10, model => 'shop')"
	"SELECT $fmt FROM coldstart.similar_items(5, 10, 'shop')"
	"SELECT $fmt FROM coldstart.similar_items(100001, 10, 'shop')"
	"SELECT $fmt FROM coldstart.recommend(2, 10, 'shop', candidates => '{1,2,3,4,5,6,7,8,9,10,11,12}', exclude => '{3}')"
	"SELECT string_agg(format('%s:%s:%s', part, detail, round(contribution::numeric, 6)), ',') FROM coldstart.explain(2, 5, 'shop')"
	"SELECT string_agg(format('%s:%s:%s', part, detail, round(contribution::numeric, 6)), ',') FROM coldstart.explain_for_items(ARRAY[3, 1]::bigint[], 5, ARRAY['pv', 'buy'], 'shop')"
	"SELECT coldstart.model_info(model) FROM coldstart.models WHERE name = 'shop' AND active"
)
compare_all() {		# compare_all LABEL: every call gives the same non-empty output on both
	local sql p s
	for sql in "${CALLS[@]}"; do
		p=$(q "$sql" 2>&1)
		s=$(sb "$sql" 2>&1)
		if [ -z "$p" ] || [[ $p == *ERROR* ]]; then
			fail "$1: primary answers $(_t_sql_name "${sql#SELECT * FROM }")" "$p"
		else
			is "$s" "$p" "$1: standby = primary for $(_t_sql_name "${sql#SELECT *FROM }")"
		fi
	done
}
compare_all "version 1"
is "$(sb "SELECT version FROM coldstart.models WHERE name = 'shop' AND active")" 1 "the standby's active version is 1"
v1_user7=$(sb "SELECT $fmt FROM coldstart.recommend(7, 10, 'shop')")

# ---------------------------------------------------------------------
# Nothing but training writes, and training says why it cannot run here
# ---------------------------------------------------------------------
out=$(sb "SELECT coldstart.retrain('shop')" 2>&1)
like "$out" 'ERROR:  cannot train model "shop" on a hot standby' "retrain() on the standby fails with a clear message"
like "$out" 'HINT:  Train on the primary' "whose hint says where to train"
out=$(sb "\\set VERBOSITY sqlstate
SELECT coldstart.train('shop', 'shop.behaviours')" 2>&1)
like "$out" 'ERROR:  25006' "train() on the standby: SQLSTATE 25006 (read_only_sql_transaction)"
like "$(sb "SELECT coldstart.activate('shop', 1)" 2>&1)" 'read-only transaction' "activate() on the standby is refused as read-only"
like "$(sb "SELECT coldstart.drop_model('shop', 1)" 2>&1)" 'read-only transaction' "drop_model() on the standby is refused as read-only"
is "$(sb "SELECT count(*) FROM coldstart.training_runs WHERE name = 'shop' AND status = 'succeeded'")" 1 \
	"training_runs replicates: the standby shows the primary's run"

# ---------------------------------------------------------------------
# A new version, trained on the primary, served by the standby once replayed
# ---------------------------------------------------------------------
# A standby session that keeps serving while the primary trains: it must move
# from version 1 to version 2 by itself.
SAMPLE="SELECT (SELECT version FROM coldstart.models WHERE name = 'shop' AND active) || ' ' || $fmt
	FROM coldstart.recommend(7, 10, 'shop');"
for _ in $(seq 1 60); do
	echo "$SAMPLE"
	echo "SELECT pg_sleep(0.2);"
done >"$T_TMP/sample.sql"
on standby "$PSQL" -X -q -A -t -v ON_ERROR_STOP=1 -d "$DB" -f "$T_TMP/sample.sql" \
	>"$T_TMP/samples.out" 2>"$T_TMP/samples.err" &
sampler=$!
sleep 2
is "$(q "$(train_sql 2)" 2>/dev/null)" 2 "version 2 trained on the primary"
lsn=$(primary_lsn)
ok "the standby replays the new version" wait_until 60 replayed "$lsn"
is "$(sb "SELECT version FROM coldstart.models WHERE name = 'shop' AND active")" 2 "the standby's active version is 2"
compare_all "version 2"
v2_user7=$(q "SELECT $fmt FROM coldstart.recommend(7, 10, 'shop')")
isnt "$v2_user7" "$v1_user7" "versions 1 and 2 recommend differently (so the comparison tells them apart)"

wait "$sampler"
is "$?" 0 "the standby session served throughout without error" || diag "$(head -5 "$T_TMP/samples.err")"
sed -i '/^$/d' "$T_TMP/samples.out"		# (the empty lines of pg_sleep)
is "$(cut -d' ' -f1 "$T_TMP/samples.out" | uniq | tr '\n' ' ')" "1 2 " \
	"that session served version 1, then version 2, and never went back"
bad=$(awk -v v1="1 $v1_user7" -v v2="2 $v2_user7" '$0 != v1 && $0 != v2' "$T_TMP/samples.out" | head -3)
is "$bad" "" "each of its answers is exactly what its version serves on the primary"

stop_server standby
ok "the standby is stopped" test ! -f "$(server_dir standby)/data/postmaster.pid"

done_testing
