#!/usr/bin/env bash
# bench/fuzz/make_seeds.sh: export a seed corpus of valid models for the fuzzer.
#
# Trains a few tiny models, each exercising a different part of the format
# (ids only; item features of every kind with a content vector; user
# attributes, numeric ones included, and a hidden layer; a one-item catalogue;
# custom and unknown action labels), in a scratch database of the server that
# PGHOST/PGPORT/PGUSER point at, and writes each model's bytes (after the
# varlena header: what the text form base64-encodes) to seeds/NAME.bin.
# The seeds are small on purpose: the fuzzer mutates them faster.
#
#   source /work/dev-pg/env && bash bench/fuzz/make_seeds.sh
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
db=coldstart_fuzz_seeds
psql() { command psql -X -q -v ON_ERROR_STOP=1 "$@"; }

PGOPTIONS="-c client_min_messages=warning" psql -d postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
psql -d "$db" >/dev/null <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION coldstart;
SELECT coldstart.create_demo('shop', 30, 12, 400, 7, 3);
CREATE TABLE shop.users2 AS SELECT user_id, age::float8 AS age, gender FROM shop.users;
CREATE TABLE one (user_id bigint, item_id bigint, action text, ts timestamptz);
INSERT INTO one SELECT u, 42, 'pv', '2026-01-01'::timestamptz + u * interval '1 hour'
  FROM generate_series(1, 5) u;
CREATE TABLE labels (user_id int, item_id int, action text, ts bigint);
INSERT INTO labels SELECT user_id, item_id,
  (ARRAY['click', 'like', 'order', 'share', '浏览'])[1 + (item_id % 5)], extract(epoch FROM ts)::bigint
  FROM shop.behaviours;
SELECT coldstart.train('ids', 'shop.behaviours', options => '{"dim": 4, "epochs": 1}');
SELECT coldstart.train('items', 'shop.behaviours', 'shop.items',
  options => '{"dim": 4, "epochs": 1, "buckets": 3}');
SELECT coldstart.train('users', 'shop.behaviours', 'shop.items', 'shop.users2',
  options => '{"dim": 4, "epochs": 1, "hidden": 3, "buckets": 3, "item_features": ["category", "price"]}');
SELECT coldstart.train('one', 'one', options => '{"dim": 2, "epochs": 1}');
SELECT coldstart.train('labels', 'labels',
  options => '{"dim": 3, "epochs": 1, "actions": {"share": "fav"}, "action_weights": {"fav": 2.5, "bonus": 7}}');
SQL
rm -f "$here"/seeds/*.bin
mkdir -p "$here/seeds"
for name in ids items users one labels; do
	psql -d "$db" -tA -c "SELECT model::text FROM coldstart.models WHERE name = '$name'" |
		base64 -d >"$here/seeds/$name.bin"
	echo "seeds/$name.bin: $(stat -c %s "$here/seeds/$name.bin") bytes"
done
psql -d postgres -c "DROP DATABASE $db"
