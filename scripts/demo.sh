#!/usr/bin/env bash
# scripts/demo.sh: the demo: coldstart's main job on its built-in demo shop, on a fresh Debian 12 machine.
#
# Installs the packages, builds and installs coldstart, starts (or reuses) a
# private server in .pg/demo, creates the extension in its database "coldstart",
# then runs each demo step the extension supports today: load the demo shop,
# train a model on it, recommend for a brand-new user, then again after three
# behaviours, and explain the first item's score.  A step whose function does not exist yet says so and is skipped.
#
#   bash scripts/demo.sh          run the demo; the server keeps running afterwards
#   bash scripts/demo.sh stop     stop the demo server
#   bash scripts/demo.sh reset    stop it and delete its data; the next run starts over
#   bash scripts/demo.sh psql     open psql on the demo database
#
# Sizes of the demo shop (environment): DEMO_USERS (2000), DEMO_ITEMS (5000),
# DEMO_BEHAVIOURS (100000), DEMO_SEED (1).  CS_DEMO_DIR moves the server's folder.
set -euo pipefail

source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"

DEMO_DIR=${CS_DEMO_DIR:-$(cs_pg_dir demo)}
DEMO_USERS=${DEMO_USERS:-2000}
DEMO_ITEMS=${DEMO_ITEMS:-5000}
DEMO_BEHAVIOURS=${DEMO_BEHAVIOURS:-100000}
DEMO_SEED=${DEMO_SEED:-1}

# The steps, in order: "what it does|what it needs|the function that does it".
# Needs are space-separated: fn:schema.function (a step of a feature not written
# yet), rel:schema.table and model:name (made by an earlier step).  To add a step,
# add a line here and its function below.
DEMO_STEPS=(
	"load the demo shop (schema shop: items, users, behaviours)|fn:coldstart.create_demo|step_load_data"
	"train the model 'shop' on it|fn:coldstart.train rel:shop.behaviours|step_train"
	"recommend for a brand-new user with no behaviours|fn:coldstart.recommend model:shop|step_recommend_cold"
	"recommend again after that user's first 3 behaviours|fn:coldstart.recommend rel:shop.behaviours model:shop|step_recommend_warm"
	"explain why the top item is first|fn:coldstart.explain model:shop|step_explain"
)

# ---------------------------------------------------------------------
# SQL helpers
# ---------------------------------------------------------------------
# Show the results of SQL as a human would see them in psql.
show() { "$CS_PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -P pager=off "$@"; }
# A single value.
value() { "$CS_PGBIN/psql" -X -q -A -t -v ON_ERROR_STOP=1 -c "$1"; }

has_function() {
	[ "$(value "SELECT EXISTS (SELECT FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
		WHERE n.nspname = '${1%%.*}' AND p.proname = '${1#*.}')")" = t ]
}
has_relation() { [ "$(value "SELECT to_regclass('$1') IS NOT NULL")" = t ]; }
has_model() {
	has_relation coldstart.models &&
		[ "$(value "SELECT EXISTS (SELECT FROM coldstart.models WHERE name = '$1' AND active)")" = t ]
}

# Why a step cannot run yet, or nothing if it can.
missing_need() {
	local need
	for need in $1; do
		case $need in
		fn:*) has_function "${need#fn:}" || { echo "not available yet (${need#fn:} does not exist)"; return; } ;;
		rel:*) has_relation "${need#rel:}" || { echo "skipped: it needs ${need#rel:}, which an earlier step makes"; return; } ;;
		model:*) has_model "${need#model:}" || { echo "skipped: it needs the model '${need#model:}', which an earlier step trains"; return; } ;;
		esac
	done
}

# ---------------------------------------------------------------------
# The steps
# ---------------------------------------------------------------------
step_load_data() {
	if has_relation shop.behaviours; then
		echo "already loaded (\`bash scripts/demo.sh reset\` starts over)"
	else
		show -c "SELECT coldstart.create_demo('shop', $DEMO_USERS, $DEMO_ITEMS, $DEMO_BEHAVIOURS, $DEMO_SEED)"
	fi
	show -c "SELECT 'shop.items' AS \"table\", count(*) AS rows FROM shop.items
		UNION ALL SELECT 'shop.users', count(*) FROM shop.users
		UNION ALL SELECT 'shop.behaviours', count(*) FROM shop.behaviours"
}

step_train() {
	local items=NULL users=NULL
	has_relation shop.items && items="'shop.items'"
	has_relation shop.users && users="'shop.users'"
	# The options and per-epoch figures are long (the NOTICEs show the epochs).
	show -c "SELECT jsonb_pretty(coldstart.train('shop', 'shop.behaviours', $items, $users)
		- 'options' - 'epochs') AS summary"
}

# A user id nobody has used: one past the largest in the demo tables.
new_user_id() {
	local sql="SELECT coalesce(max(user_id), 0) FROM shop.behaviours"
	has_relation shop.users && sql="$sql UNION ALL SELECT coalesce(max(user_id), 0) FROM shop.users"
	value "SELECT max(m) + 1 FROM ($sql) s(m)"
}

# Recommendations, with a few readable item columns when shop.items has them.
show_recommendations() {
	local cols
	cols=$(value "SELECT string_agg(format('i.%I', attname), ', ' ORDER BY attnum)
		FROM pg_attribute WHERE attrelid = to_regclass('shop.items')
		AND attname IN ('title', 'name', 'category', 'brand', 'price') AND NOT attisdropped")
	if [ -n "$cols" ]; then
		show -c "SELECT r.*, $cols FROM coldstart.recommend($1, 10, 'shop') r
			LEFT JOIN shop.items i ON i.item_id = r.item_id ORDER BY r.rank"
	else
		show -c "SELECT * FROM coldstart.recommend($1, 10, 'shop') ORDER BY rank"
	fi
}

DEMO_USER=""

step_recommend_cold() {
	DEMO_USER=$(new_user_id)
	echo "user $DEMO_USER has no behaviours and no attributes: the model's popularity prior"
	show_recommendations "$DEMO_USER"
	if has_relation shop.users; then
		echo "user $DEMO_USER signs up, still without behaviours: attribute-aware"
		show -c "INSERT INTO shop.users SELECT $DEMO_USER, age, gender, city, channel
			FROM shop.users WHERE gender = 'female' AND age BETWEEN 25 AND 34 ORDER BY user_id LIMIT 1
			RETURNING *"
		show_recommendations "$DEMO_USER"
	fi
}

step_recommend_warm() {
	local ts_type now
	[ -n "$DEMO_USER" ] || DEMO_USER=$(new_user_id)
	# Copy the three latest items, with their actions, of the most active user,
	# stamped now: whatever the types of the demo's action and ts columns.
	ts_type=$(value "SELECT atttypid::regtype FROM pg_attribute
		WHERE attrelid = 'shop.behaviours'::regclass AND attname = 'ts'")
	case $ts_type in
	timestamp*) now="now() - n * interval '1 minute'" ;;
	*) now="extract(epoch FROM now())::bigint - 60 * n" ;;
	esac
	echo "user $DEMO_USER views, likes or buys 3 items:"
	show -c "
		WITH fan AS (SELECT user_id FROM shop.behaviours GROUP BY user_id
			ORDER BY count(*) DESC, user_id LIMIT 1),
		latest AS (SELECT DISTINCT ON (b.item_id) b.item_id, b.action, b.ts
			FROM shop.behaviours b JOIN fan USING (user_id) ORDER BY b.item_id, b.ts DESC),
		picked AS (SELECT item_id, action, row_number() OVER (ORDER BY ts DESC, item_id) AS n
			FROM latest ORDER BY ts DESC, item_id LIMIT 3)
		INSERT INTO shop.behaviours (user_id, item_id, action, ts)
		SELECT $DEMO_USER, item_id, action, $now FROM picked
		RETURNING user_id, item_id, action, ts"
	echo "recommendations for user $DEMO_USER now, without retraining:"
	show_recommendations "$DEMO_USER"
}

step_explain() {
	[ -n "$DEMO_USER" ] || DEMO_USER=$(new_user_id)
	echo "the score of user $DEMO_USER's first item, term by term (the terms above 0.05 in size):"
	show -c "
		SELECT e.part, e.detail, round(e.contribution::numeric, 3) AS contribution
		FROM coldstart.recommend($DEMO_USER, 1, 'shop') r,
		     LATERAL coldstart.explain($DEMO_USER, r.item_id, 'shop') e
		WHERE abs(e.contribution) > 0.05
		ORDER BY abs(e.contribution) DESC"
}

# ---------------------------------------------------------------------
# Subcommands
# ---------------------------------------------------------------------
case ${1:-run} in
stop)
	if cs_server_running "$DEMO_DIR"; then cs_server_stop "$DEMO_DIR"; else cs_say "no demo server running in $DEMO_DIR"; fi
	exit 0 ;;
reset)
	cs_server_stop "$DEMO_DIR"
	cs_say "deleting $DEMO_DIR"
	rm -rf "$DEMO_DIR"
	exit 0 ;;
psql)
	cs_server_running "$DEMO_DIR" || { cs_say "the demo server is not running: bash scripts/demo.sh"; exit 1; }
	cs_server_env "$DEMO_DIR"
	exec "$CS_PGBIN/psql" -d coldstart ;;
run) ;;
-h | --help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
*) echo "demo.sh: unknown command $1 (run, stop, reset, psql)" >&2; exit 2 ;;
esac

cs_install_packages
# (again: the postgres account that decides where the folder goes exists now)
DEMO_DIR=${CS_DEMO_DIR:-$(cs_pg_dir demo)}
cs_build_install
cs_server_start "$DEMO_DIR"
cs_say "CREATE EXTENSION IF NOT EXISTS coldstart (database $PGDATABASE)"
show -c "SET client_min_messages = warning" -c "CREATE EXTENSION IF NOT EXISTS coldstart"

i=0
for step in "${DEMO_STEPS[@]}"; do
	IFS='|' read -r what needs fn <<<"$step"
	i=$((i + 1))
	why=$(missing_need "$needs")
	if [ -n "$why" ]; then
		echo "-- step $i, $what: $why"
		continue
	fi
	echo
	echo "-- step $i: $what"
	"$fn"
done

cat <<EOF

The demo server is running, with its data in $DEMO_DIR.
  connect:  psql -h $PGHOST -p $PGPORT -U postgres coldstart
      or:   bash $CS_ROOT/scripts/demo.sh psql
      or:   source $DEMO_DIR/env && psql
  stop:     bash $CS_ROOT/scripts/demo.sh stop
  start over: bash $CS_ROOT/scripts/demo.sh reset && bash $CS_ROOT/scripts/demo.sh
EOF
