--
-- train(): bad input that bad_input.sql does not list: options out of range
-- that it leaves out, the id columns of the items and users tables, user
-- features, columns of unusable types asked for by name, and the
-- behaviour columns named through "columns".  Each case is an error with
-- its SQLSTATE, message, detail and hint; nothing is stored.
--
CREATE EXTENSION coldstart;
SET client_min_messages = warning;
CREATE SCHEMA tb;
CREATE FUNCTION tb.try(sql text) RETURNS text LANGUAGE plpgsql AS $$
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
	RETURN state || ' ' || msg
		|| CASE WHEN detail <> '' THEN E'\nDETAIL: ' || detail ELSE '' END
		|| CASE WHEN hint <> '' THEN E'\nHINT: ' || hint ELSE '' END;
END
$$;

CREATE TABLE tb.b (user_id bigint, item_id bigint, action text, ts timestamptz,
                   score float8, flag boolean, code numeric, item_text text);
INSERT INTO tb.b
SELECT u, 1 + (u + j) % 5, 'pv', '2026-01-01'::timestamptz + (u * 10 + j) * interval '1 hour',
       j, j % 2 = 0, j, (1 + (u + j) % 5)::text
FROM generate_series(1, 8) u, generate_series(0, 3) j;
CREATE TYPE tb.mood AS ENUM ('calm', 'busy');
CREATE TABLE tb.items (item_id bigint, sku numeric, genre text, info jsonb, mood tb.mood, id uuid, flag boolean);
INSERT INTO tb.items
SELECT i, i, 'g' || i % 2, '{}', 'calm', md5(i::text)::uuid, i % 2 = 0 FROM generate_series(1, 5) i;
CREATE TABLE tb.users (user_id bigint, name text, city text, born date, info jsonb);
INSERT INTO tb.users SELECT u, 'u' || u, 'c' || u % 3, '2000-01-01'::date + u, '{}' FROM generate_series(1, 8) u;

\set o '{"dim": 4, "epochs": 1, "seed": 1}'
-- (the behaviour columns are tried without the items and users tables: with
-- them, a renamed item or user column is also their id column)
SELECT n, what, tb.try(format('SELECT coldstart.train(%L, %L, %L, %L, %L::jsonb || %L)', 'tb', 'tb.b',
                              CASE WHEN n NOT BETWEEN 30 AND 39 THEN 'tb.items' END,
                              CASE WHEN n NOT BETWEEN 30 AND 39 THEN 'tb.users' END, :'o', opts)) AS result
FROM (VALUES
  -- numbers out of range, of the wrong type
  (1, 'target_balance 1.5', '{"target_balance": 1.5}'),
  (2, 'target_balance -0.1', '{"target_balance": -0.1}'),
  (3, 'learning_rate 0', '{"learning_rate": 0}'),
  (4, 'learning_rate 11', '{"learning_rate": 11}'),
  (5, 'l2 -1', '{"l2": -1}'),
  (6, 'dropout 0.95', '{"dropout": 0.95}'),
  (7, 'max_prefixes -1', '{"max_prefixes": -1}'),
  (8, 'patience 1001', '{"patience": 1001}'),
  (9, 'full_softmax_items 0', '{"full_softmax_items": 0}'),
  (10, 'history_prior -1', '{"history_prior": -1}'),
  (11, 'epochs 1001', '{"epochs": 1001}'),
  (12, 'batch_size 65537', '{"batch_size": 65537}'),
  (13, 'seed a fraction', '{"seed": 1.5}'),
  (14, 'seed 1e19', '{"seed": 1e19}'),
  (15, 'hidden -1', '{"hidden": -1}'),
  (16, 'buckets 1001', '{"buckets": 1001}'),
  (17, 'history_length 10001', '{"history_length": 10001}'),
  (18, 'half_life 0', '{"half_life": 0}'),
  (19, 'half_life "0 days"', '{"half_life": "0 days"}'),
  (20, 'epochs a boolean', '{"epochs": true}'),
  (21, 'dropout an array', '{"dropout": [0.1]}'),
  (22, 'keep_versions an object', '{"keep_versions": {"n": 1}}'),
  (23, 'validation_fraction a string', '{"validation_fraction": "0.1"}'),
  (24, 'refit "sometimes"', '{"refit": "sometimes"}'),
  (25, 'refit a number', '{"refit": 1}'),
  (26, 'tolerance 0.6', '{"tolerance": 0.6}'),
  -- behaviour columns named through "columns"
  (30, 'columns.ts missing', '{"columns": {"ts": "when"}}'),
  (31, 'columns.item_id of type text', '{"columns": {"item_id": "item_text"}}'),
  (32, 'columns.item_id of type numeric', '{"columns": {"item_id": "code"}}'),
  (33, 'columns.action of type double precision', '{"columns": {"action": "score"}}'),
  (34, 'columns.ts of type boolean', '{"columns": {"ts": "flag"}}'),
  (35, 'columns.action empty', '{"columns": {"action": ""}}'),
  (36, 'columns a string', '{"columns": "user_id"}'),
  (37, 'columns.user_id of type boolean', '{"columns": {"user_id": "flag"}}'),
  -- the id columns of the items and users tables
  (40, 'item_id_column of type numeric', '{"item_id_column": "sku"}'),
  (41, 'item_id_column a number', '{"item_id_column": 1}'),
  (42, 'user_id_column missing', '{"user_id_column": "customer"}'),
  (43, 'user_id_column of type text', '{"user_id_column": "name"}'),
  (44, 'user_id_column empty', '{"user_id_column": ""}'),
  -- feature columns asked for by name
  (50, 'item_features: a jsonb column', '{"item_features": ["genre", "info"]}'),
  (51, 'item_features: a numeric column as a vector', '{"item_features": {"sku": "dense"}}'),
  (52, 'user_features: a missing column', '{"user_features": ["city", "zip"]}'),
  (53, 'user_features: the id column', '{"user_features": ["user_id"]}'),
  (54, 'user_features: an unknown kind', '{"user_features": {"city": "text"}}'),
  (55, 'user_features: a number', '{"user_features": 3}'),
  (56, 'user_features: a jsonb column', '{"user_features": ["info"]}'),
  (57, 'user_features: a text column as numeric', '{"user_features": {"name": "numeric"}}'),
  (58, 'item_features with a NULL element', '{"item_features": ["genre", null]}'),
  (59, 'item_features naming a column twice', '{"item_features": ["genre", "mood", "genre"]}'),
  (64, 'user_features naming a column twice', '{"user_features": ["city", "city"]}'),
  -- mappings of actions
  (60, 'actions an array', '{"actions": ["pv"]}'),
  (61, 'actions to an empty kind', '{"actions": {"pv": ""}}'),
  (62, 'action_weights -1', '{"action_weights": {"buy": -1}}'),
  (63, 'action_weights null', '{"action_weights": {"buy": null}}'),
  (65, 'action_weights 1e-300', '{"action_weights": {"pv": 1e-300}}'),
  (66, 'refit "AUTO"', '{"refit": "AUTO"}'),
  (67, 'bias_scale -1', '{"bias_scale": -1}'),
  (68, 'bias_scale 11', '{"bias_scale": 11}'),
  (69, 'bias_scale "maybe"', '{"bias_scale": "maybe"}'),
  (70, 'bias_scale true', '{"bias_scale": true}')
) AS t(n, what, opts)
ORDER BY n;

-- the same columns are fine where their types fit: an enum, a uuid, a
-- boolean and a date are features; auto mode leaves the jsonb ones out
SELECT s -> 'item_features' AS item_values, s -> 'user_features' AS user_values
FROM coldstart.train('tb', 'tb.b', 'tb.items', 'tb.users',
                     :'o'::jsonb || '{"item_features": ["genre", "mood", "id", "flag"], "user_features": {"city": "auto", "born": "numeric"}}') s;
SELECT c ->> 'name' AS item_column, c ->> 'kind' AS kind, c -> 'values' AS values
FROM coldstart.models m, jsonb_array_elements(coldstart.model_info(m.model) -> 'item_columns') c
WHERE m.name = 'tb' ORDER BY 1;
SELECT c ->> 'name' AS user_column, c ->> 'kind' AS kind
FROM coldstart.models m, jsonb_array_elements(coldstart.model_info(m.model) -> 'user_columns') c
WHERE m.name = 'tb' ORDER BY 1;
SELECT s -> 'item_features' AS item_values, s -> 'user_features' AS user_values
FROM coldstart.train('tb_auto', 'tb.b', 'tb.items', 'tb.users', :'o') s;

-- only the two successful calls stored a version
SELECT name, version FROM coldstart.models ORDER BY name, version;
SELECT status, count(*) FROM coldstart.training_runs GROUP BY status ORDER BY status;

DELETE FROM coldstart.models;
DELETE FROM coldstart.training_runs;
DROP SCHEMA tb CASCADE;
