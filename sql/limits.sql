--
-- Limits: the training memory budget, the catalogue and model size limits,
-- and a training cancelled by statement_timeout.  Each fails early with the
-- figures, and leaves the served model as it was.
--
SET client_min_messages = error;
CREATE EXTENSION IF NOT EXISTS coldstart;
CREATE SCHEMA lim;

-- Run a statement; 'ok', or its SQLSTATE, message, detail and hint, with
-- the figures that depend on the memory allocator masked as N.
CREATE FUNCTION lim.try(sql text, mask boolean DEFAULT false) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	state text;
	msg text;
	detail text;
	hint text;
BEGIN
	EXECUTE sql;
	RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, msg = MESSAGE_TEXT,
		detail = PG_EXCEPTION_DETAIL, hint = PG_EXCEPTION_HINT;
	IF mask THEN
		msg := regexp_replace(msg, 'takes \d+ kB after \d+ rows', 'takes N kB after N rows');
		hint := regexp_replace(hint, '''\d+ kB''', '''N kB''');
	END IF;
	RETURN state || ' ' || msg
		|| CASE WHEN detail <> '' THEN E'\nDETAIL: ' || detail ELSE '' END
		|| CASE WHEN hint <> '' THEN E'\nHINT: ' || hint ELSE '' END;
END
$$;

CREATE TABLE lim.b (user_id bigint, item_id bigint, action text, ts timestamptz);
INSERT INTO lim.b
SELECT u, 1 + (u * 7 + j) % 40, (ARRAY['pv', 'fav', 'cart', 'buy'])[1 + (u + j) % 4],
       '2026-01-01 00:00+00'::timestamptz + (u * 20 + j) * interval '1 hour'
FROM generate_series(1, 100) u, generate_series(0, 9) j;
CREATE TABLE lim.items (item_id bigint, title text);
INSERT INTO lim.items SELECT i, repeat(md5(i::text), 4) FROM generate_series(1, 40000) i;

-- the served version
SELECT coldstart.train('lim', 'lim.b', options => '{"dim": 8, "epochs": 1}') ->> 'version' AS version;
CREATE TABLE lim.before AS
SELECT name, version, active, model::text AS model,
       (SELECT array_agg(item_id ORDER BY rank) FROM coldstart.recommend(1, 5, 'lim')) AS served
FROM coldstart.models WHERE name = 'lim';
SELECT cardinality(served) AS served FROM lim.before;

-- ---------------------------------------------------------------------
-- coldstart.train_memory: checked before each big allocation, and while
-- tables are read
-- ---------------------------------------------------------------------
SET coldstart.train_memory = '1MB';
-- the first block of behaviour rows does not fit
SELECT lim.try($$SELECT coldstart.train('lim', 'lim.b', options => '{"dim": 8, "epochs": 1}')$$) AS behaviour_rows;
-- the rows fit, the model and its training state do not
SET coldstart.train_memory = '3MB';
SELECT lim.try($$SELECT coldstart.train('lim', 'lim.b', options => '{"dim": 512, "epochs": 1}')$$) AS training_state;
-- an items table with a long text in each row: its vocabulary does not fit
SELECT lim.try($$SELECT coldstart.train('lim', 'lim.b', 'lim.items', options => '{"dim": 8, "epochs": 1}')$$, true) AS reading;
RESET coldstart.train_memory;

-- ---------------------------------------------------------------------
-- coldstart.max_items, and the size a coldstart.model can hold
-- ---------------------------------------------------------------------
SET coldstart.max_items = 39;
SELECT lim.try($$SELECT coldstart.train('lim', 'lim.b', options => '{"dim": 8, "epochs": 1}')$$) AS max_items;
SELECT lim.try($$SELECT coldstart.train('lim', 'lim.b', 'lim.items', options => '{"dim": 8, "epochs": 1, "item_features": []}')$$) AS max_items_table;
RESET coldstart.max_items;
-- 180000 items of dimension 1024 take 709 MB: refused before training starts
CREATE TABLE lim.many (user_id bigint, item_id bigint, action text, ts timestamptz);
INSERT INTO lim.many SELECT i, i, 'pv', '2026-01-01' FROM generate_series(1, 180000) i;
SELECT lim.try($$SELECT coldstart.train('lim', 'lim.many', options => '{"dim": 1024, "epochs": 1}')$$) AS model_size;
DROP TABLE lim.many;

-- ---------------------------------------------------------------------
-- A training cancelled by statement_timeout
-- ---------------------------------------------------------------------
-- a thousand epochs without validation (so no early stop): far longer than 300 ms
-- (terse: where the cancel lands, reading or training, does not matter)
SET statement_timeout = '300ms';
\set VERBOSITY terse
SELECT coldstart.train('lim', 'lim.b', options => '{"dim": 64, "epochs": 1000, "validation_fraction": 0}');
\set VERBOSITY default
RESET statement_timeout;
SELECT 1 AS server_up;

-- none of the failed trainings changed the catalogue: the same single
-- version, still active, still served
SELECT m.name, m.version, m.active, m.model::text = b.model AS same_model
FROM coldstart.models m JOIN lim.before b USING (name, version) WHERE m.name = 'lim';
SELECT count(*) AS versions FROM coldstart.models WHERE name = 'lim';
SELECT (SELECT array_agg(item_id ORDER BY rank) FROM coldstart.recommend(1, 5, 'lim')) = served AS same_served
FROM lim.before;
-- and each failed run is on record, with its SQLSTATE
SELECT status, sqlstate, count(*) FROM coldstart.training_runs WHERE name = 'lim'
GROUP BY status, sqlstate ORDER BY status, sqlstate;

DELETE FROM coldstart.models WHERE name = 'lim';
DELETE FROM coldstart.training_runs WHERE name = 'lim';
DROP SCHEMA lim CASCADE;
