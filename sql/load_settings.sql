--
-- The coldstart.* settings given before the library is loaded (SET,
-- ALTER ROLE/DATABASE, postgresql.conf) keep their values when a session's
-- first coldstart call runs in a parallel query: the planner loads the
-- library (through rows_support(), which also tells it the row count), so
-- that defining the settings never happens in parallel mode, where
-- PostgreSQL would drop the values.  A statement planned in parallel mode
-- gets a clear error instead, and works once the library is loaded.
--
CREATE EXTENSION coldstart;
SET client_min_messages = warning;
SELECT coldstart.create_demo('ls', 300, 100, 3000) IS NOT NULL AS demo;
SELECT (coldstart.train('ls', 'ls.behaviours', 'ls.items', 'ls.users',
        '{"dim": 8, "epochs": 1, "validation_fraction": 0}'))->>'version' AS version;
CREATE FUNCTION ls.estimated_rows(q text) RETURNS float8 LANGUAGE plpgsql AS $$
DECLARE
	plan json;
BEGIN
	EXECUTE 'EXPLAIN (FORMAT JSON) ' || q INTO plan;
	RETURN (plan -> 0 -> 'Plan' ->> 'Plan Rows')::float8;
END $$;
-- a parallel-safe PL/pgSQL function: its statement is planned when it runs
CREATE FUNCTION ls.list_size(u bigint) RETURNS bigint LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
BEGIN
	RETURN (SELECT count(*) FROM coldstart.recommend(u, 3));
END $$;

-- the planner knows k
SELECT ls.estimated_rows($$SELECT * FROM coldstart.recommend(1, 7, 'ls')$$) AS recommend_rows,
       ls.estimated_rows($$SELECT * FROM coldstart.recommend_for_items('{1,2}', k => 25, model => 'ls')$$) AS session_rows,
       ls.estimated_rows($$SELECT * FROM coldstart.similar_items(1, 3, 'ls')$$) AS similar_rows,
       ls.estimated_rows($$SELECT * FROM coldstart.demo_users(42)$$) AS demo_rows;

-- settings that make every plan below parallel
\set parallel 'SET max_parallel_workers_per_gather = 2; SET parallel_setup_cost = 0; SET parallel_tuple_cost = 0; SET min_parallel_table_scan_size = 0;'

-- a new session: the library is not loaded yet
\c
SET coldstart.default_model = 'ls';
SET coldstart.seen_limit = 7;
:parallel
EXPLAIN (COSTS OFF) SELECT count(*) FROM ls.users u, LATERAL coldstart.recommend(u.user_id, 5) r;
SELECT count(*) FROM ls.users u, LATERAL coldstart.recommend(u.user_id, 5) r;
SHOW coldstart.default_model;
SHOW coldstart.seen_limit;
SELECT count(*) AS without_a_model_name FROM coldstart.recommend(1, 5);

-- the same with explain() and explain_for_items() as the session's first call
\c
SET coldstart.default_model = 'ls';
:parallel
SET force_parallel_mode = on;
SELECT count(*) > 0 AS explained FROM coldstart.explain(2, 3);
RESET force_parallel_mode;
SHOW coldstart.default_model;
\c
SET coldstart.default_model = 'ls';
:parallel
SET force_parallel_mode = on;
SELECT count(*) > 0 AS explained FROM coldstart.explain_for_items('{3}', 4);
RESET force_parallel_mode;
SHOW coldstart.default_model;
-- their row estimate is the declared one, whatever the user id
SELECT ls.estimated_rows($$SELECT * FROM coldstart.explain(424242, 3, 'ls')$$) AS explain_rows;

-- another new session: the first load is in a statement planned in
-- parallel mode
\c
SET coldstart.default_model = 'ls';
:parallel
\set VERBOSITY default
SELECT sum(ls.list_size(u.user_id)) FROM ls.users u;
SHOW coldstart.default_model;
-- loaded as the hint says, it works
SELECT coldstart.model_info(NULL) IS NULL AS loaded;
SELECT sum(ls.list_size(u.user_id)) FROM ls.users u;
SHOW coldstart.default_model;

RESET max_parallel_workers_per_gather;
SET client_min_messages = warning;
DELETE FROM coldstart.models WHERE name = 'ls';
DELETE FROM coldstart.training_runs WHERE name = 'ls';
DROP SCHEMA ls CASCADE;
