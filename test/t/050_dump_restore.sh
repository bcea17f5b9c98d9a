#!/usr/bin/env bash
# 050_dump_restore: models survive pg_dump and pg_restore bit for bit.  A
# database holding several models (item, user and content features, a hidden
# layer, several versions, vectors of items added after training) is dumped
# in custom and in plain format and restored into new databases: every
# model::text, spec, active flag and item_extras row is identical, and the
# restored models serve the same recommendations.  COPY in binary format
# round-trips the type; a corrupted model in a binary COPY file is refused
# with SQLSTATE 22P03, and the server stays up.
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

SRC=t050_dump_src
fresh_db $SRC
psql_ok "CREATE EXTENSION coldstart" "CREATE EXTENSION coldstart"
psql_ok "SELECT coldstart.create_demo('shop', 80, 60, 2400, 50, 4)" \
	"demo data: 80 users, 60 items with 4-dimensional content vectors, 2400 behaviours"
psql_ok "SET client_min_messages = warning;
	SELECT coldstart.train('full', 'shop.behaviours', 'shop.items', 'shop.users',
		'{\"dim\": 8, \"epochs\": 2, \"hidden\": 4}');
	SELECT coldstart.train('full', 'shop.behaviours', 'shop.items', 'shop.users',
		'{\"dim\": 8, \"epochs\": 1, \"seed\": 7}');
	SELECT coldstart.train('ids', 'shop.behaviours', options => '{\"dim\": 4, \"epochs\": 1}');
	SELECT coldstart.activate('full', 1)" \
	"three models: two versions of one with every kind of feature (version 1 active), one of ids only"
psql_ok "INSERT INTO shop.items (item_id, category, brand, price, rating, tags, embedding)
	SELECT 1000 + item_id, category, brand, price, rating, tags, embedding FROM shop.items WHERE item_id <= 3;
	SELECT coldstart.refresh_items('full')" "three items added after training, refreshed"
is "$(q "SELECT count(*) FROM coldstart.item_extras")" 3 "coldstart.item_extras holds their vectors"

# What must come back: every column of the catalogue (the model by the md5
# of its text form), the extras, and what the models serve.
CATALOGUE="SELECT name, version, active, md5(model::text), spec::text, metrics::text,
	trained_at, train_seconds, items_refreshed_at
	FROM coldstart.models ORDER BY name, version"
EXTRAS="SELECT name, version, item_id, vector::text, bias FROM coldstart.item_extras
	ORDER BY name, version, item_id"
SERVED="SELECT 'r', r.* FROM coldstart.recommend(7, 10, 'full') r
	UNION ALL SELECT 'f', f.* FROM coldstart.recommend_for_items('{1, 1001}', '{pv, buy}', 10, 'full') f
	UNION ALL SELECT 's', s.* FROM coldstart.similar_items(1002, 10, 'full') s
	UNION ALL SELECT 'i', i.* FROM coldstart.recommend(7, 10, 'ids') i
	ORDER BY 1, 5"
src_catalogue=$(q "$CATALOGUE")
src_extras=$(q "$EXTRAS")
src_served=$(q "$SERVED")
src_texts=$(q "SELECT md5(string_agg(model::text, '' ORDER BY name, version)) FROM coldstart.models")
is "$(grep -c . <<<"$src_catalogue")" 3 "the source database holds three model versions"
like "$(grep -c . <<<"$src_served")" '^[1-9][0-9]*$' "the source models serve"

check_restored() {
	local db=$1 how=$2
	is "$(q "$CATALOGUE" -d "$db")" "$src_catalogue" "$how: coldstart.models is identical (model::text, spec, metrics, flags, times)"
	is "$(q "SELECT md5(string_agg(model::text, '' ORDER BY name, version)) FROM coldstart.models" -d "$db")" \
		"$src_texts" "$how: every model::text is identical"
	is "$(q "SELECT bool_and(coldstart.model_info(model) IS NOT NULL) FROM coldstart.models" -d "$db")" t \
		"$how: every restored model decodes"
	is "$(q "$EXTRAS" -d "$db")" "$src_extras" "$how: coldstart.item_extras is identical"
	is "$(q "$SERVED" -d "$db")" "$src_served" "$how: the restored models serve the same recommendations"
}

# custom format, pg_restore into a new database
ok "pg_dump -Fc" "$CS_PGBIN/pg_dump" -Fc -f "$T_TMP/src.dump" "$SRC"
fresh_db t050_dump_custom
ok "pg_restore into a new database" "$CS_PGBIN/pg_restore" --exit-on-error -d t050_dump_custom "$T_TMP/src.dump"
check_restored t050_dump_custom "custom format"

# plain format, through psql
ok "pg_dump -Fp" "$CS_PGBIN/pg_dump" -Fp -f "$T_TMP/src.sql" "$SRC"
like "$(grep -c 'COPY coldstart.models ' "$T_TMP/src.sql")" '^1$' "the plain dump holds the models as COPY data"
fresh_db t050_dump_plain
ok "psql -f the plain dump" "$PSQL" -X -q -v ON_ERROR_STOP=1 -d t050_dump_plain -f "$T_TMP/src.sql"
check_restored t050_dump_plain "plain format"

# ---------------------------------------------------------------------
# COPY in binary format: model_send and model_recv
# ---------------------------------------------------------------------
export PGDATABASE=$SRC
psql_ok "\\copy (SELECT name, version, model FROM coldstart.models ORDER BY name, version) TO '$T_TMP/models.bin' WITH (FORMAT binary)" \
	"COPY TO in binary format"
psql_ok "CREATE TABLE public.copied (name text, version int, model coldstart.model);
	\\copy public.copied FROM '$T_TMP/models.bin' WITH (FORMAT binary)" "COPY FROM in binary format"
is "$(q "SELECT count(*) FROM public.copied c JOIN coldstart.models m USING (name, version)
	WHERE c.model::text = m.model::text AND coldstart.model_send(c.model) = coldstart.model_send(m.model)")" 3 \
	"every model comes back with the same text and binary forms"

# A binary COPY file: 19 bytes of header, then per row a 2-byte field count
# and, per field, a 4-byte length and the bytes.  A single-column file of the
# first model puts the model's first byte (its magic number) at offset 25.
psql_ok "\\copy (SELECT model FROM coldstart.models WHERE name = 'ids') TO '$T_TMP/one.bin' WITH (FORMAT binary)" \
	"COPY one model TO a binary file"
psql_ok "CREATE TABLE public.one (model coldstart.model)" "(a table to load it into)"
corrupt() {	# corrupt FILE OFFSET HEXBYTES: a copy of one.bin with bytes replaced
	cp "$T_TMP/one.bin" "$1"
	printf "$(sed 's/../\\x&/g' <<<"$3")" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}
copy_one() { q "\\copy public.one FROM '$1' WITH (FORMAT binary)"; }
ok "the unchanged file loads" copy_one "$T_TMP/one.bin"
corrupt "$T_TMP/bad_magic.bin" 25 00000000
psql_fails_with "\\copy public.one FROM '$T_TMP/bad_magic.bin' WITH (FORMAT binary)" \
	"invalid coldstart model: bad magic number 00000000" "a bad magic number is refused"
is "$(sqlstate_of "\\copy public.one FROM '$T_TMP/bad_magic.bin' WITH (FORMAT binary)")" 22P03 \
	"... with SQLSTATE 22P03 (invalid_binary_representation)"
corrupt "$T_TMP/bad_version.bin" 29 0900
psql_fails_with "\\copy public.one FROM '$T_TMP/bad_version.bin' WITH (FORMAT binary)" \
	"invalid coldstart model: unsupported format version 9 (this build reads version 1)" \
	"an unknown format version is refused"
corrupt "$T_TMP/bad_dim.bin" 41 00000000
psql_fails_with "\\copy public.one FROM '$T_TMP/bad_dim.bin' WITH (FORMAT binary)" \
	"invalid coldstart model: dimension 0 is out of range [1, 1024]" "a dimension of 0 is refused"
# a length field of 300 bytes: the model is cut short
corrupt "$T_TMP/short.bin" 21 0000012c
psql_fails_with "\\copy public.one FROM '$T_TMP/short.bin' WITH (FORMAT binary)" \
	"invalid coldstart model: truncated" "a model cut short is refused"
is "$(q "SELECT count(*) FROM public.one")" 1 "only the valid row was loaded"
is "$(q "SELECT 1")" 1 "the server is still up"

q "DROP DATABASE t050_dump_custom" -d postgres >/dev/null
q "DROP DATABASE t050_dump_plain" -d postgres >/dev/null
done_testing
