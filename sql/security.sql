--
-- Privileges: every function runs with the caller's rights and a pinned
-- search_path; coldstart.models is not writable by PUBLIC; the grants the
-- README gives an application role and a trainer role are enough and no
-- more; row-level security applies to training and serving; a hostile
-- search_path or a table named like an SQL fragment cannot hijack anything.
--
SET client_min_messages = error;
CREATE EXTENSION IF NOT EXISTS coldstart;

-- ---------------------------------------------------------------------
-- The functions: none is SECURITY DEFINER; every one that runs SQL or
-- resolves names pins search_path to pg_catalog, pg_temp.  The others are C
-- functions that do neither, reading only their arguments (type I/O,
-- aggregate support, the demo generators, functions of a model value),
-- where a SET clause would only slow every call: they are listed by name
-- here, so that a new function must be put in one group or the other.
-- ---------------------------------------------------------------------
CREATE TEMP VIEW ext_functions AS
SELECT p.oid::regprocedure AS function, p.proname, p.prosecdef, p.proconfig
FROM pg_proc p
JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'coldstart';
SELECT function AS security_definer FROM ext_functions WHERE prosecdef ORDER BY 1;
SELECT function AS pinned_elsewhere FROM ext_functions
WHERE proconfig IS NOT NULL AND proconfig <> '{"search_path=pg_catalog, pg_temp"}' ORDER BY 1;
SELECT function AS not_pinned FROM ext_functions
WHERE proconfig IS NULL
  AND proname !~ '^(model_(in|out|recv|send|info)|activity_summary(_\w+fn)?|interest_vector(_\w+fn)?|demo_(items|users|behaviours)|rows_support|item_(vector|bias)|training_in_progress)$'
ORDER BY 1;
SELECT proname AS pinned FROM ext_functions
WHERE proconfig = '{"search_path=pg_catalog, pg_temp"}'
  AND proname IN ('train', 'retrain', 'activate', 'recommend', 'recommend_for_items', 'similar_items',
                  'explain', 'explain_for_items', 'refresh_items', 'drop_model', 'evaluate', 'evaluation_split', 'create_demo')
ORDER BY 1;

-- PUBLIC may not touch the catalogue tables
SELECT c.oid::regclass AS "table",
       coalesce((SELECT string_agg(a.privilege_type, ', ' ORDER BY a.privilege_type)
                 FROM aclexplode(c.relacl) a WHERE a.grantee = 0), '') AS public_privileges
FROM pg_class c
WHERE c.relnamespace = 'coldstart'::regnamespace AND c.relkind IN ('r', 'S')
ORDER BY 1;

-- ---------------------------------------------------------------------
-- Roles, and the grants of the README's "Security" section
-- ---------------------------------------------------------------------
DROP ROLE IF EXISTS regress_cs_sec_app, regress_cs_sec_trainer, regress_cs_sec_nobody,
  regress_cs_sec_tenant_a, regress_cs_sec_tenant_b;
CREATE ROLE regress_cs_sec_app;
CREATE ROLE regress_cs_sec_trainer;
CREATE ROLE regress_cs_sec_nobody;
CREATE ROLE regress_cs_sec_tenant_a IN ROLE regress_cs_sec_trainer;
CREATE ROLE regress_cs_sec_tenant_b IN ROLE regress_cs_sec_trainer;

CREATE SCHEMA sec;
CREATE TABLE sec.behaviours (tenant text NOT NULL, user_id bigint, item_id bigint, action text, ts timestamptz);
-- tenant a: items 1-6; tenant b: items 101-106; user 1 has behaviours in both
INSERT INTO sec.behaviours
SELECT t, u, CASE t WHEN 'regress_cs_sec_tenant_a' THEN 0 ELSE 100 END + 1 + (u * 5 + j) % 6,
       (ARRAY['pv', 'fav', 'cart', 'buy'])[1 + (u + j) % 4],
       '2026-01-01 00:00+00'::timestamptz + (u * 10 + j) * interval '1 hour'
FROM unnest(ARRAY['regress_cs_sec_tenant_a', 'regress_cs_sec_tenant_b']) t,
     generate_series(1, 8) u, generate_series(0, 3) j;
CREATE TABLE sec.items (item_id bigint PRIMARY KEY, category text);
INSERT INTO sec.items SELECT i, 'c' || i % 3 FROM generate_series(1, 6) i;
INSERT INTO sec.items SELECT i, 'c' || i % 3 FROM generate_series(101, 106) i;
CREATE TABLE sec.victim (x int);

-- the application: serves recommendations, reads the live behaviours
GRANT USAGE ON SCHEMA coldstart TO regress_cs_sec_app;
GRANT SELECT ON coldstart.models, coldstart.item_extras TO regress_cs_sec_app;
-- the trainer: trains, activates, refreshes and prunes versions
GRANT USAGE ON SCHEMA coldstart TO regress_cs_sec_trainer;
GRANT SELECT, INSERT, UPDATE, DELETE ON coldstart.models, coldstart.item_extras TO regress_cs_sec_trainer;
GRANT SELECT, INSERT, UPDATE ON coldstart.training_runs TO regress_cs_sec_trainer;
-- both read the shop's tables
GRANT USAGE ON SCHEMA sec TO regress_cs_sec_app, regress_cs_sec_trainer, regress_cs_sec_nobody;
GRANT SELECT ON sec.behaviours, sec.items TO regress_cs_sec_app, regress_cs_sec_trainer;
-- a role that may use the schema, and nothing in it
GRANT USAGE ON SCHEMA coldstart TO regress_cs_sec_nobody;

-- a model of all tenants' rows, trained by the owner of the table (no RLS yet)
SELECT coldstart.train('sec_all', 'sec.behaviours', 'sec.items', options => '{"dim": 4, "epochs": 1}') ->> 'items' AS items;

-- ---------------------------------------------------------------------
-- What each role may do
-- ---------------------------------------------------------------------
CREATE FUNCTION sec.try(sql text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	state text;
	msg text;
BEGIN
	EXECUTE sql;
	RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
	RETURN state || ' ' || msg;
END
$$;
GRANT EXECUTE ON FUNCTION sec.try(text) TO PUBLIC;
CREATE TABLE sec.cases (n int PRIMARY KEY, what text, sql text);
INSERT INTO sec.cases VALUES
  (1, 'recommend', $$SELECT count(*) FROM coldstart.recommend(1, 3, 'sec_all')$$),
  (2, 'recommend_for_items', $$SELECT count(*) FROM coldstart.recommend_for_items('{1}', k => 3, model => 'sec_all')$$),
  (3, 'similar_items', $$SELECT count(*) FROM coldstart.similar_items(1, 3, 'sec_all')$$),
  (4, 'model_info', $$SELECT coldstart.model_info(model) FROM coldstart.models WHERE name = 'sec_all'$$),
  (5, 'train', $$SELECT coldstart.train('sec_role', 'sec.behaviours', options => '{"dim": 4, "epochs": 1}')$$),
  (6, 'retrain', $$SELECT coldstart.retrain('sec_all')$$),
  (7, 'activate', $$SELECT coldstart.activate('sec_all', 1)$$),
  (8, 'refresh_items', $$SELECT coldstart.refresh_items('sec_all')$$),
  (9, 'write coldstart.models', $$UPDATE coldstart.models SET active = active WHERE name = 'sec_all'$$),
  (10, 'delete coldstart.models', $$DELETE FROM coldstart.models WHERE name = 'no such model'$$),
  (11, 'write coldstart.item_extras', $$DELETE FROM coldstart.item_extras WHERE name = 'no such model'$$),
  (12, 'read the behaviours', $$SELECT count(*) FROM sec.behaviours$$),
  (13, 'drop_model', $$SELECT coldstart.drop_model('no such model')$$);
GRANT SELECT ON sec.cases TO PUBLIC;
SET ROLE regress_cs_sec_app;
SELECT n, what, sec.try(sql) AS app FROM sec.cases ORDER BY n;
SET ROLE regress_cs_sec_trainer;
SELECT n, what, sec.try(sql) AS trainer FROM sec.cases ORDER BY n;
-- a role with USAGE on the schema and no grant in it: the per-backend model
-- cache, loaded above, does not let it in
SET ROLE regress_cs_sec_nobody;
SELECT n, what, sec.try(sql) AS nobody FROM sec.cases ORDER BY n;
RESET ROLE;
DELETE FROM coldstart.models WHERE name = 'sec_role';
-- the README's way to keep the writing functions from other roles: the
-- application may no longer call them at all, the trainer still may
\set writers 'coldstart.train(text, regclass, regclass, regclass, jsonb), coldstart.retrain(text), coldstart.activate(text, integer, boolean), coldstart.refresh_items(text), coldstart.drop_model(text, integer)'
REVOKE EXECUTE ON FUNCTION :writers
  FROM PUBLIC;
GRANT EXECUTE ON FUNCTION :writers
  TO regress_cs_sec_trainer;
SET ROLE regress_cs_sec_app;
SELECT n, what, sec.try(sql) AS app_after_revoke FROM sec.cases WHERE n IN (1, 5, 6, 7, 8, 13) ORDER BY n;
SET ROLE regress_cs_sec_trainer;
SELECT n, what, sec.try(sql) AS trainer_after_revoke FROM sec.cases WHERE n IN (1, 5, 7, 8, 13) ORDER BY n;
RESET ROLE;
DELETE FROM coldstart.models WHERE name = 'sec_role';
GRANT EXECUTE ON FUNCTION :writers
  TO PUBLIC;
REVOKE EXECUTE ON FUNCTION :writers
  FROM regress_cs_sec_trainer;

-- ---------------------------------------------------------------------
-- Row-level security: each tenant sees only its own rows, trains on them
-- and gets recommendations computed from them
-- ---------------------------------------------------------------------
ALTER TABLE sec.behaviours ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_rows ON sec.behaviours USING (tenant = current_user);

SET ROLE regress_cs_sec_tenant_a;
SELECT count(*) AS visible_rows, min(item_id), max(item_id) FROM sec.behaviours;
SELECT s ->> 'rows_read' AS rows_read, s ->> 'items' AS items, s ->> 'users' AS users
FROM coldstart.train('sec_a', 'sec.behaviours', options => '{"dim": 4, "epochs": 1}') AS s;
-- the model holds tenant a's items only
SELECT coldstart.model_info(model) -> 'items' AS items FROM coldstart.models WHERE name = 'sec_a';
SELECT item_id FROM coldstart.recommend(1, 10, 'sec_a', exclude_seen => false) ORDER BY item_id;
-- the model of all tenants: user 1's history, and so what is excluded, is
-- tenant a's only (items 1, 2, 3, 6); tenant b's items stay recommendable
SELECT array_agg(item_id ORDER BY item_id) AS recommended FROM coldstart.recommend(1, 100, 'sec_all');
RESET ROLE;

SET ROLE regress_cs_sec_tenant_b;
SELECT s ->> 'rows_read' AS rows_read, s ->> 'items' AS items
FROM coldstart.train('sec_b', 'sec.behaviours', options => '{"dim": 4, "epochs": 1}') AS s;
SELECT coldstart.model_info(model) -> 'items' AS items FROM coldstart.models WHERE name = 'sec_b';
-- same session, same cached model and prepared statement, another role:
-- user 1's history is now tenant b's (items 101, 102, 103, 106)
SELECT array_agg(item_id ORDER BY item_id) AS recommended FROM coldstart.recommend(1, 100, 'sec_all');
-- tenant a's model served to tenant b: b's history means nothing to it (no
-- item in common), so b gets a's cold-start list, all six items
SELECT count(*) AS recommended FROM coldstart.recommend(1, 100, 'sec_a');
RESET ROLE;

-- the table's owner (here a superuser) bypasses RLS: both tenants' rows
SELECT array_agg(item_id ORDER BY item_id) AS recommended FROM coldstart.recommend(1, 100, 'sec_all');
-- a role the policy gives no row trains on nothing
SET ROLE regress_cs_sec_trainer;
SELECT sec.try($$SELECT coldstart.train('sec_none', 'sec.behaviours')$$) AS no_rows;
RESET ROLE;

-- ---------------------------------------------------------------------
-- A hostile search_path: an operator and functions that shadow the
-- built-in ones the extension's SQL uses, and tables that shadow its own.
-- ---------------------------------------------------------------------
CREATE SCHEMA evil;
CREATE TABLE evil.calls (what text);
GRANT ALL ON SCHEMA evil TO PUBLIC;
GRANT ALL ON evil.calls TO PUBLIC;
CREATE FUNCTION evil.int8eq(bigint, bigint) RETURNS boolean LANGUAGE plpgsql AS
$$ BEGIN INSERT INTO evil.calls VALUES ('='); RETURN true; END $$;
CREATE OPERATOR evil.= (LEFTARG = bigint, RIGHTARG = bigint, FUNCTION = evil.int8eq);
CREATE FUNCTION evil.texteq(text, text) RETURNS boolean LANGUAGE plpgsql AS
$$ BEGIN INSERT INTO evil.calls VALUES ('text ='); RETURN true; END $$;
CREATE OPERATOR evil.= (LEFTARG = text, RIGHTARG = text, FUNCTION = evil.texteq);
CREATE FUNCTION evil.clock_timestamp() RETURNS timestamptz LANGUAGE plpgsql AS
$$ BEGIN INSERT INTO evil.calls VALUES ('clock_timestamp'); RETURN now(); END $$;
CREATE FUNCTION evil.max_sfunc(integer, integer) RETURNS integer LANGUAGE plpgsql AS
$$ BEGIN INSERT INTO evil.calls VALUES ('max'); RETURN 1000; END $$;
CREATE AGGREGATE evil.max(integer) (SFUNC = evil.max_sfunc, STYPE = integer);
CREATE TABLE evil.models (LIKE coldstart.models);
-- the control: under this search_path a plain query uses the evil operator
SET search_path = evil, pg_catalog, public;
SELECT 1::bigint = 2::bigint AS one_is_two;
SELECT what FROM evil.calls;
DELETE FROM evil.calls;
-- the extension's functions do not
SELECT s ->> 'version' AS version FROM coldstart.train('sec_all', 'sec.behaviours', options => '{"dim": 4, "epochs": 1}') AS s;
SELECT count(*) AS recommended FROM coldstart.recommend(1, 3, 'sec_all');
SELECT count(*) AS recommended FROM coldstart.recommend_for_items('{1, 2}', '{pv, buy}', k => 3, model => 'sec_all');
SELECT count(*) AS similar FROM coldstart.similar_items(1, 3, 'sec_all');
SELECT coldstart.activate('sec_all', 1);
SELECT s ->> 'version' AS version FROM coldstart.retrain('sec_all') AS s;
SELECT count(*) AS hijacked_calls FROM evil.calls;
SELECT count(*) AS evil_models FROM evil.models;
RESET search_path;
-- a temporary table named like the catalogue does not shadow it either
CREATE TEMP TABLE models (LIKE coldstart.models);
SET search_path = pg_temp, public;
SELECT count(*) AS recommended FROM coldstart.recommend(1, 3, 'sec_all');
SELECT count(*) AS temp_models FROM pg_temp.models;
RESET search_path;
DROP TABLE pg_temp.models;

-- ---------------------------------------------------------------------
-- Names like SQL fragments: schema, table and columns are quoted
-- everywhere, in training, serving and retraining
-- ---------------------------------------------------------------------
CREATE SCHEMA "we""ird; DROP TABLE sec.victim; --";
CREATE TABLE "we""ird; DROP TABLE sec.victim; --"."b; DROP TABLE sec.victim; --" (
  "user"")); DROP TABLE sec.victim; --" bigint,
  "it'em" bigint,
  "act ion" text,
  "select" timestamptz);
INSERT INTO "we""ird; DROP TABLE sec.victim; --"."b; DROP TABLE sec.victim; --"
SELECT user_id, item_id, action, ts FROM sec.behaviours;
CREATE TABLE "we""ird; DROP TABLE sec.victim; --"."items'; DROP TABLE sec.victim; --" (
  "it'em" bigint, "cat""egory" text, "price)" numeric);
INSERT INTO "we""ird; DROP TABLE sec.victim; --"."items'; DROP TABLE sec.victim; --"
SELECT DISTINCT item_id, 'c' || item_id % 2, item_id FROM sec.behaviours;
SELECT s ->> 'items' AS items, s ->> 'rows_used' AS rows_used
FROM coldstart.train('sec weird',
  '"we""ird; DROP TABLE sec.victim; --"."b; DROP TABLE sec.victim; --"',
  '"we""ird; DROP TABLE sec.victim; --"."items''; DROP TABLE sec.victim; --"',
  options => '{"dim": 4, "epochs": 1, "item_id_column": "it''em",
               "columns": {"user_id": "user\")); DROP TABLE sec.victim; --", "item_id": "it''em",
                           "action": "act ion", "ts": "select"}}') AS s;
SELECT spec -> 'behaviours' AS behaviours, spec -> 'items' AS items
FROM coldstart.models WHERE name = 'sec weird';
-- (without the trained match weights, which vary with the CPU's float rounding)
SELECT (SELECT jsonb_agg(c - 'match_weight' ORDER BY i) FROM jsonb_array_elements(coldstart.model_info(model) -> 'item_columns') WITH ORDINALITY AS e(c, i)) AS item_columns
FROM coldstart.models WHERE name = 'sec weird';
SELECT count(*) AS recommended FROM coldstart.recommend(1, 3, 'sec weird');
SELECT count(*) AS similar FROM coldstart.similar_items(1, 3, 'sec weird');
-- an item added after training is scored from its features read through the quoted names
INSERT INTO "we""ird; DROP TABLE sec.victim; --"."items'; DROP TABLE sec.victim; --" VALUES (999, 'c1', 5);
SELECT count(*) AS similar_to_new FROM coldstart.similar_items(999, 3, 'sec weird');
SELECT coldstart.refresh_items('sec weird') AS refreshed;
SELECT s ->> 'version' AS version FROM coldstart.retrain('sec weird') AS s;
SELECT count(*) AS victim_still_there FROM sec.victim;

-- a model name is data, never SQL
SELECT s ->> 'model' AS model FROM coldstart.train(
  $$x'); DROP TABLE sec.victim; --$$, 'sec.behaviours', options => '{"dim": 4, "epochs": 1}') AS s;
SELECT count(*) AS recommended FROM coldstart.recommend(1, 3, $$x'); DROP TABLE sec.victim; --$$);
SELECT count(*) AS victim_still_there FROM sec.victim;

-- ---------------------------------------------------------------------
-- Clean up
-- ---------------------------------------------------------------------
DELETE FROM coldstart.models WHERE name IN ('sec_all', 'sec_a', 'sec_b', 'sec weird',
                                            $$x'); DROP TABLE sec.victim; --$$);
DELETE FROM coldstart.training_runs WHERE name IN ('sec_all', 'sec_a', 'sec_b', 'sec weird', 'sec_role',
                                                   $$x'); DROP TABLE sec.victim; --$$);
DROP SCHEMA sec, evil, "we""ird; DROP TABLE sec.victim; --" CASCADE;
REVOKE ALL ON coldstart.models, coldstart.item_extras, coldstart.training_runs
  FROM regress_cs_sec_app, regress_cs_sec_trainer;
REVOKE ALL ON SCHEMA coldstart FROM regress_cs_sec_app, regress_cs_sec_trainer, regress_cs_sec_nobody;
DROP ROLE regress_cs_sec_app, regress_cs_sec_trainer, regress_cs_sec_nobody,
  regress_cs_sec_tenant_a, regress_cs_sec_tenant_b;
