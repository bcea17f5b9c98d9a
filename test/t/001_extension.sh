#!/usr/bin/env bash
# 001_extension: CREATE EXTENSION works in a fresh database, every object it
# creates is documented with a COMMENT and lives in schema coldstart, \dx+ lists
# them, the library links OpenBLAS, and DROP EXTENSION leaves nothing behind.
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

fresh_db t001_extension

# Members of the extension: what pg_depend records with deptype 'e'.
MEMBERS="
	SELECT d.classid, d.objid
	FROM pg_catalog.pg_depend d
	JOIN pg_catalog.pg_extension e ON e.oid = d.refobjid
	WHERE d.refclassid = 'pg_catalog.pg_extension'::regclass
	  AND e.extname = 'coldstart' AND d.deptype = 'e'"

# Everything in schema coldstart, by catalogue, whoever created it.
IN_SCHEMA="
	WITH s AS (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = 'coldstart'),
	o(classid, objid) AS (
		SELECT 'pg_class'::regclass, oid FROM pg_class WHERE relnamespace IN (SELECT oid FROM s)
		UNION ALL SELECT 'pg_proc'::regclass, oid FROM pg_proc WHERE pronamespace IN (SELECT oid FROM s)
		UNION ALL SELECT 'pg_type'::regclass, oid FROM pg_type WHERE typnamespace IN (SELECT oid FROM s)
		UNION ALL SELECT 'pg_operator'::regclass, oid FROM pg_operator WHERE oprnamespace IN (SELECT oid FROM s)
		UNION ALL SELECT 'pg_opclass'::regclass, oid FROM pg_opclass WHERE opcnamespace IN (SELECT oid FROM s)
		UNION ALL SELECT 'pg_opfamily'::regclass, oid FROM pg_opfamily WHERE opfnamespace IN (SELECT oid FROM s)
		UNION ALL SELECT 'pg_collation'::regclass, oid FROM pg_collation WHERE collnamespace IN (SELECT oid FROM s)
		UNION ALL SELECT 'pg_conversion'::regclass, oid FROM pg_conversion WHERE connamespace IN (SELECT oid FROM s)
		UNION ALL SELECT 'pg_statistic_ext'::regclass, oid FROM pg_statistic_ext WHERE stxnamespace IN (SELECT oid FROM s)
		UNION ALL SELECT 'pg_ts_config'::regclass, oid FROM pg_ts_config WHERE cfgnamespace IN (SELECT oid FROM s)
		UNION ALL SELECT 'pg_ts_dict'::regclass, oid FROM pg_ts_dict WHERE dictnamespace IN (SELECT oid FROM s)
		UNION ALL SELECT 'pg_ts_parser'::regclass, oid FROM pg_ts_parser WHERE prsnamespace IN (SELECT oid FROM s)
		UNION ALL SELECT 'pg_ts_template'::regclass, oid FROM pg_ts_template WHERE tmplnamespace IN (SELECT oid FROM s)
		UNION ALL SELECT classid, objid FROM pg_depend
			WHERE refclassid = 'pg_namespace'::regclass AND refobjid IN (SELECT oid FROM s)
	)
	SELECT DISTINCT pg_describe_object(classid, objid, 0) FROM o ORDER BY 1"

schema_count() { q "SELECT count(*) FROM pg_namespace WHERE nspname = 'coldstart'"; }

# ---------------------------------------------------------------------
# CREATE EXTENSION
# ---------------------------------------------------------------------
is "$(schema_count)" 0 "a fresh database has no schema coldstart"
psql_ok "CREATE EXTENSION coldstart" "CREATE EXTENSION coldstart"
psql_ok "CREATE EXTENSION IF NOT EXISTS coldstart" "CREATE EXTENSION IF NOT EXISTS is a no-op"

default_version=$(sed -nE "s/^default_version *= *'([^']*)'.*/\1/p" "$CS_ROOT/coldstart.control")
is "$(q "SELECT extversion FROM pg_extension WHERE extname = 'coldstart'")" "$default_version" \
	"installed version is the control file's default_version ($default_version)"
is "$(schema_count)" 1 "schema coldstart exists"
is "$(q "SELECT extnamespace::regnamespace FROM pg_extension WHERE extname = 'coldstart'")" coldstart \
	"the extension belongs to schema coldstart"
psql_fails_with "DROP EXTENSION coldstart; CREATE EXTENSION coldstart SCHEMA public" \
	'extension "coldstart" must be installed in schema "coldstart"' \
	"the extension cannot go to another schema"
psql_ok "CREATE EXTENSION IF NOT EXISTS coldstart" "(re-create after the failed attempt)"
psql_ok "LOAD 'coldstart'" "the server loads coldstart.so"

members=$(q "SELECT pg_describe_object(classid, objid, 0) FROM ($MEMBERS) m ORDER BY 1")
n_members=$(grep -c . <<<"$members")
like "$n_members" '^[1-9][0-9]*$' "the extension has member objects ($n_members)"

for object in 'type coldstart.model' 'table coldstart.models' \
	'function coldstart.model_info(coldstart.model)'; do
	ok "$object is a member" grep -qxF "$object" <<<"$members"
done

outside=$(q "
	SELECT pg_describe_object(m.classid, m.objid, 0)
	FROM ($MEMBERS) m, pg_identify_object(m.classid, m.objid, 0) i
	WHERE i.schema IS DISTINCT FROM 'coldstart' AND i.schema IS NOT NULL
	ORDER BY 1")
is "$outside" "" "every member object lives in schema coldstart"

is "$(q "SELECT count(*) FROM pg_depend
	WHERE classid = 'pg_namespace'::regclass AND objid = 'coldstart'::regnamespace AND deptype = 'e'")" 0 \
	"the schema itself is not a member (CREATE EXTENSION made it from the control file's schema)"

# ---------------------------------------------------------------------
# \dx+ lists the objects
# ---------------------------------------------------------------------
dx=$("$PSQL" -X -c '\dx+ coldstart' 2>&1)
like "$dx" 'Objects in extension "coldstart"' '\dx+ coldstart shows the extension'
unlisted=$(while IFS= read -r object; do
	grep -qxF " $object" <<<"$dx" || echo "$object"
done <<<"$members")
is "$unlisted" "" '\dx+ coldstart lists every member object'
like "$dx" "\(${n_members} rows?\)" "\\dx+ coldstart lists $n_members objects"

# ---------------------------------------------------------------------
# Every member object, and every column of a member table or type, has a COMMENT
# ---------------------------------------------------------------------
undocumented=$(q "
	WITH members AS ($MEMBERS),
	objects(classid, objid, objsubid) AS (
		SELECT classid, objid, 0 FROM members
		UNION ALL
		SELECT 'pg_class'::regclass, a.attrelid, a.attnum
		FROM members m
		JOIN pg_class c ON m.classid = 'pg_class'::regclass AND c.oid = m.objid
		JOIN pg_attribute a ON a.attrelid = c.oid
		WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') AND a.attnum > 0 AND NOT a.attisdropped
		UNION ALL
		SELECT 'pg_class'::regclass, a.attrelid, a.attnum
		FROM members m
		JOIN pg_type t ON m.classid = 'pg_type'::regclass AND t.oid = m.objid AND t.typtype = 'c'
		JOIN pg_attribute a ON a.attrelid = t.typrelid
		WHERE a.attnum > 0 AND NOT a.attisdropped
	)
	SELECT pg_describe_object(o.classid, o.objid, o.objsubid)
	FROM objects o
	LEFT JOIN pg_description d
		ON d.classoid = o.classid AND d.objoid = o.objid AND d.objsubid = o.objsubid
	WHERE coalesce(btrim(d.description), '') = ''
	ORDER BY 1")
if [ -z "$undocumented" ]; then
	pass "every member object and column has a COMMENT"
else
	fail "every member object and column has a COMMENT" \
		"missing COMMENT ON (add them to coldstart--*.sql):" "$undocumented"
fi
isnt "$(q "SELECT coalesce(obj_description(oid, 'pg_extension'), '') FROM pg_extension WHERE extname = 'coldstart'")" \
	"" "the extension itself has a comment"

# ---------------------------------------------------------------------
# The installed library links OpenBLAS
# ---------------------------------------------------------------------
so="$("$CS_PGBIN/pg_config" --pkglibdir)/coldstart.so"
ok "coldstart.so is installed in pkglibdir" test -f "$so"
deps=$(ldd "$so" 2>&1)
like "$deps" 'libopenblas' "ldd coldstart.so shows libopenblas"
unlike "$deps" 'not found' "ldd coldstart.so resolves every library"

# ---------------------------------------------------------------------
# DROP EXTENSION drops everything; the schema survives, empty
# ---------------------------------------------------------------------
# PostgreSQL creates the control file's schema when it is missing, before the
# extension exists, so the schema is not a member and DROP EXTENSION keeps it.
psql_ok "DROP EXTENSION coldstart" "DROP EXTENSION coldstart"
is "$(q "SELECT count(*) FROM pg_extension WHERE extname = 'coldstart'")" 0 "the extension is gone"
is "$(q "$IN_SCHEMA")" "" "no object is left in schema coldstart"
is "$(schema_count)" 1 "schema coldstart survives DROP EXTENSION (it is not a member)"

psql_ok "CREATE EXTENSION coldstart" "CREATE EXTENSION again, into the left-over schema"
is "$(q "SELECT count(*) FROM ($MEMBERS) m")" "$n_members" "the re-created extension has the same $n_members members"
psql_ok "DROP EXTENSION coldstart; DROP SCHEMA coldstart" \
	"after DROP EXTENSION the schema is empty: DROP SCHEMA without CASCADE works"
is "$(schema_count)" 0 "schema coldstart is gone"
psql_ok "CREATE EXTENSION coldstart" "CREATE EXTENSION after the schema was dropped"
is "$(schema_count)" 1 "CREATE EXTENSION made schema coldstart again"
is "$(q "SELECT count(*) FROM ($MEMBERS) m")" "$n_members" "with all $n_members members"

# In a database that already uses the schema for something else, DROP EXTENSION
# keeps the foreign object and drops only its own.
psql_ok "CREATE TABLE coldstart.not_ours (id int)" "a user table in schema coldstart"
psql_ok "DROP EXTENSION coldstart" "DROP EXTENSION with a user table in the schema"
is "$(q "$IN_SCHEMA" | grep -v '^type coldstart.not_ours' | grep -v '^type coldstart._not_ours')" \
	"table coldstart.not_ours" "only the user's table is left in schema coldstart"
psql_ok "CREATE EXTENSION coldstart; DROP TABLE coldstart.not_ours" "CREATE EXTENSION next to the user's table"

done_testing
