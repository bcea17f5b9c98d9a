--
-- Bad input, function by function: NULL arguments, k out of range, missing
-- or unsuitable relations and columns, degenerate data, options of the
-- wrong type, unknown or out of range.  Each case is either an error with
-- its SQLSTATE, message, detail and hint, or a documented result.  The
-- server stays up throughout (the last statement proves it).
--
SET client_min_messages = error;
CREATE EXTENSION IF NOT EXISTS coldstart;
CREATE SCHEMA bi;
-- The matrices below are printed unaligned, one case per line (a message
-- may add a DETAIL or HINT line), so that a changed message changes its
-- own lines only.

-- Run a statement; 'ok', or its SQLSTATE, message, detail and hint.
CREATE FUNCTION bi.try(sql text) RETURNS text LANGUAGE plpgsql AS $$
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
CREATE TABLE bi.cases (fn text, n int, what text, sql text, PRIMARY KEY (fn, n));

-- Data: 10 users, 6 items with a category, a price and a content vector,
-- users with a city and an age.
CREATE TABLE bi.b (user_id bigint, item_id bigint, action text, ts timestamptz);
INSERT INTO bi.b
SELECT u, 1 + (u * 5 + j) % 6, (ARRAY['pv', 'fav', 'cart', 'buy'])[1 + (u + j) % 4],
       '2026-01-01 00:00+00'::timestamptz + (u * 10 + j) * interval '1 hour'
FROM generate_series(1, 10) u, generate_series(0, 3) j;
CREATE TABLE bi.items (item_id bigint, category text, price numeric, emb real[]);
INSERT INTO bi.items SELECT i, 'c' || i % 2, i, ARRAY[i, 1]::real[] FROM generate_series(1, 6) i;
CREATE TABLE bi.users (user_id bigint, city text, age int);
INSERT INTO bi.users SELECT u, 'city' || u % 3, 20 + u FROM generate_series(1, 10) u;
-- unsuitable relations
CREATE TABLE bi.empty (LIKE bi.b);
CREATE INDEX bi_b_user ON bi.b (user_id);
CREATE SEQUENCE bi.seq;
CREATE TYPE bi.composite AS (user_id bigint, item_id bigint);
CREATE TABLE bi.text_ids (user_id text, item_id bigint, action text, ts timestamptz);
CREATE TABLE bi.text_ts (user_id bigint, item_id bigint, action text, ts text);
CREATE TABLE bi.array_action (user_id bigint, item_id bigint, action text[], ts timestamptz);
CREATE TABLE bi.all_null (LIKE bi.b);
INSERT INTO bi.all_null VALUES (NULL, 1, 'pv', now()), (1, NULL, 'pv', now()), (1, 1, NULL, now()),
  (1, 1, 'pv', NULL), (1, 1, 'pv', 'infinity');
CREATE TABLE bi.other_items (item_id bigint, category text);
INSERT INTO bi.other_items VALUES (100, 'a'), (101, 'b');
CREATE TABLE bi.mixed_vectors (item_id bigint, emb real[]);
INSERT INTO bi.mixed_vectors VALUES (1, '{1,2}'), (2, '{1,2,3}');
CREATE TABLE bi.long_vectors (item_id bigint, emb real[]);
INSERT INTO bi.long_vectors VALUES (1, array_fill(1::real, ARRAY[5000]));
CREATE TABLE bi.two_vectors (item_id bigint, a real[], b float8[]);
INSERT INTO bi.two_vectors VALUES (1, '{1}', '{2}');
CREATE TABLE bi.vector_users (user_id bigint, v real[]);
INSERT INTO bi.vector_users VALUES (1, '{1}');
CREATE TABLE bi.text_key_items (item_id text, category text);

SELECT coldstart.train('bi', 'bi.b', 'bi.items', 'bi.users', '{"dim": 4, "epochs": 1}') ->> 'version' AS version;
SELECT coldstart.train('bi_ids', 'bi.b', options => '{"dim": 4, "epochs": 1}') ->> 'version' AS version;

-- ---------------------------------------------------------------------
-- train(): arguments, relations, columns, data
-- ---------------------------------------------------------------------
INSERT INTO bi.cases (fn, n, what, sql) VALUES
  ('train', 1, 'name NULL', $$SELECT coldstart.train(NULL, 'bi.b')$$),
  ('train', 2, 'name empty', $$SELECT coldstart.train('', 'bi.b')$$),
  ('train', 3, 'name of 201 bytes', $$SELECT coldstart.train(repeat('x', 201), 'bi.b')$$),
  ('train', 4, 'behaviours NULL', $$SELECT coldstart.train('x', NULL)$$),
  ('train', 5, 'behaviours missing', $$SELECT coldstart.train('x', 'bi.nope')$$),
  ('train', 6, 'behaviours OID 0', $$SELECT coldstart.train('x', 0::oid::regclass)$$),
  ('train', 7, 'behaviours OID of nothing', $$SELECT coldstart.train('x', 4000000000::oid::regclass)$$),
  ('train', 8, 'behaviours an index', $$SELECT coldstart.train('x', 'bi.bi_b_user')$$),
  ('train', 9, 'behaviours a sequence', $$SELECT coldstart.train('x', 'bi.seq')$$),
  ('train', 10, 'behaviours a composite type', $$SELECT coldstart.train('x', 'bi.composite')$$),
  ('train', 11, 'behaviours without the columns', $$SELECT coldstart.train('x', 'bi.items')$$),
  ('train', 12, 'user ids of type text', $$SELECT coldstart.train('x', 'bi.text_ids')$$),
  ('train', 13, 'timestamps of type text', $$SELECT coldstart.train('x', 'bi.text_ts')$$),
  ('train', 14, 'actions of type text[]', $$SELECT coldstart.train('x', 'bi.array_action')$$),
  ('train', 15, 'no behaviours', $$SELECT coldstart.train('x', 'bi.empty')$$),
  ('train', 16, 'no usable behaviours', $$SELECT coldstart.train('x', 'bi.all_null')$$),
  ('train', 17, 'empty items table', $$SELECT coldstart.train('x', 'bi.b', 'bi.empty')$$),
  ('train', 18, 'items that nobody touched', $$SELECT coldstart.train('x', 'bi.b', 'bi.other_items')$$),
  ('train', 19, 'item ids of type text', $$SELECT coldstart.train('x', 'bi.b', 'bi.text_key_items')$$),
  ('train', 20, 'vectors of two lengths', $$SELECT coldstart.train('x', 'bi.b', 'bi.mixed_vectors')$$),
  ('train', 21, 'vectors of 5000 elements', $$SELECT coldstart.train('x', 'bi.b', 'bi.long_vectors')$$),
  ('train', 22, 'two vector columns', $$SELECT coldstart.train('x', 'bi.b', 'bi.two_vectors')$$),
  ('train', 23, 'a vector named among user attributes', $$SELECT coldstart.train('x', 'bi.b', users => 'bi.vector_users', options => '{"user_features": ["v"]}')$$),
  ('train', 24, 'items table missing', $$SELECT coldstart.train('x', 'bi.b', 'bi.nope')$$);
\pset format unaligned
SELECT n, what, bi.try(sql) AS result FROM bi.cases WHERE fn = 'train' ORDER BY n;
\pset format aligned

-- ---------------------------------------------------------------------
-- train(): options
-- ---------------------------------------------------------------------
INSERT INTO bi.cases (fn, n, what, sql)
SELECT 'options', n, what, format('SELECT coldstart.train(%L, %L, %L, options => %L)', 'x', 'bi.b', 'bi.items', o)
FROM (VALUES
  (1, 'an array', '[1]'),
  (2, 'a number', '1'),
  (3, 'a string', '"dim=4"'),
  (4, 'an unknown key, with the valid ones', '{"dimm": 4}'),
  (5, 'a key of evaluate() only', '{"test_fraction": 0.2}'),
  (6, 'a null value', '{"dim": null}'),
  (7, 'dim a string', '{"dim": "4"}'),
  (8, 'dim a fraction', '{"dim": 4.5}'),
  (9, 'dim 0', '{"dim": 0}'),
  (10, 'dim 1025', '{"dim": 1025}'),
  (11, 'dim beyond a double', '{"dim": 1e400}'),
  (12, 'learning_rate below a double', '{"learning_rate": 1e-400}'),
  (13, 'learning_rate a string "NaN"', '{"learning_rate": "NaN"}'),
  (14, 'epochs -1', '{"epochs": -1}'),
  (15, 'batch_size 0', '{"batch_size": 0}'),
  (16, 'seed -1', '{"seed": -1}'),
  (17, 'validation_fraction 0.9', '{"validation_fraction": 0.9}'),
  (18, 'hidden 5000', '{"hidden": 5000}'),
  (19, 'history_length 0', '{"history_length": 0}'),
  (20, 'buckets 1', '{"buckets": 1}'),
  (21, 'negatives 0', '{"negatives": 0}'),
  (22, 'keep_versions -1', '{"keep_versions": -1}'),
  (23, 'half_life not an interval', '{"half_life": "3 parsecs"}'),
  (24, 'half_life a negative interval', '{"half_life": "-1 day"}'),
  (25, 'half_life -1', '{"half_life": -1}'),
  (26, 'half_life a boolean', '{"half_life": true}'),
  (27, 'target unknown', '{"target": "first"}'),
  (28, 'target a number', '{"target": 1}'),
  (29, 'promote_if_better a string', '{"promote_if_better": "yes"}'),
  (30, 'columns an array', '{"columns": ["user_id"]}'),
  (31, 'columns with an unknown key', '{"columns": {"user": "u"}}'),
  (32, 'columns.user_id a number', '{"columns": {"user_id": 3}}'),
  (33, 'columns.user_id empty', '{"columns": {"user_id": ""}}'),
  (34, 'columns.user_id missing', '{"columns": {"user_id": "nope"}}'),
  (35, 'columns.user_id of type text', '{"columns": {"user_id": "action"}}'),
  (36, 'columns.action a timestamp', '{"columns": {"action": "ts"}}'),
  (37, 'item_features a string', '{"item_features": "category"}'),
  (38, 'item_features with a number', '{"item_features": [1]}'),
  (39, 'item_features with a missing column', '{"item_features": ["nope"]}'),
  (40, 'item_features with the id column', '{"item_features": ["item_id"]}'),
  (41, 'item_features with an unknown kind', '{"item_features": {"category": "vector"}}'),
  (42, 'item_features with a kind of a number', '{"item_features": {"category": 3}}'),
  (43, 'a text column as a dense feature', '{"item_features": {"category": "dense"}}'),
  (44, 'a text column as a numeric feature', '{"item_features": {"category": "numeric"}}'),
  (45, 'item_id_column missing', '{"item_id_column": "nope"}'),
  (46, 'actions mapping to an unknown kind', '{"actions": {"pv": "look"}}'),
  (47, 'actions with a number', '{"actions": {"pv": 1}}'),
  (48, 'action_weights 0', '{"action_weights": {"view": 0}}'),
  (49, 'action_weights a string', '{"action_weights": {"view": "big"}}'),
  (50, 'action_weights 10000000', '{"action_weights": {"view": 1e7}}'),
  (51, 'action_weights an array', '{"action_weights": [1, 2]}')
) AS t(n, what, o);
-- (the list of valid options is shown once, for the first unknown key)
\pset format unaligned
SELECT n, what, CASE WHEN n = 5 THEN split_part(bi.try(sql), E'\n', 1) ELSE bi.try(sql) END AS result
FROM bi.cases WHERE fn = 'options' ORDER BY n;
\pset format aligned

-- documented: NULL options mean the defaults; a repeated key keeps its last value
SELECT coldstart.train('x', 'bi.b', options => NULL) -> 'options' -> 'dim' AS default_dim;
SELECT coldstart.train('x', 'bi.b', options => '{"dim": 5, "epochs": 1, "dim": 3}') -> 'options' -> 'dim' AS dim;

-- ---------------------------------------------------------------------
-- train(): degenerate data, with documented results
-- ---------------------------------------------------------------------
CREATE FUNCTION bi.summary(s jsonb) RETURNS jsonb LANGUAGE sql AS $$
	SELECT jsonb_build_object('rows_read', s -> 'rows_read', 'rows_used', s -> 'rows_used',
	                          'rows_skipped', s -> 'rows_skipped', 'users', s -> 'users',
	                          'items', s -> 'items', 'item_rows', s -> 'item_rows',
	                          'bad_feature_values', s -> 'bad_feature_values')
$$;

-- rows with NULL ids, actions or timestamps, or infinite timestamps, are skipped and counted
INSERT INTO bi.all_null VALUES (2, 2, 'pv', '2026-01-01');
SELECT bi.summary(coldstart.train('nulls', 'bi.all_null', options => '{"dim": 4, "epochs": 1}'));
-- epoch-second timestamps of type double precision: NaN and infinities are invalid
CREATE TABLE bi.epochs (user_id int, item_id int, action int, ts float8);
INSERT INTO bi.epochs VALUES (1, 1, 1, 'NaN'), (1, 2, 2, 'Infinity'), (1, 3, 3, '-Infinity'),
  (2, 1, 1, 1e9), (2, 2, 4, 1e9 + 60);
SELECT bi.summary(coldstart.train('epochs', 'bi.epochs', options => '{"dim": 4, "epochs": 1}'));

-- a catalogue of one item: a user who has seen it gets nothing new
CREATE TABLE bi.one (user_id bigint, item_id bigint, action text, ts timestamptz);
INSERT INTO bi.one SELECT u, 7, 'pv', '2026-01-01' FROM generate_series(1, 3) u;
SELECT bi.summary(coldstart.train('one', 'bi.one', options => '{"dim": 4, "epochs": 1}'));
SELECT item_id, probability, rank FROM coldstart.recommend(1, 5, 'one');
SELECT item_id, probability, rank FROM coldstart.recommend(1, 5, 'one', exclude_seen => false);
SELECT item_id, probability, rank FROM coldstart.recommend_for_items('{}', k => 5, model => 'one');
SELECT item_id, probability, rank FROM coldstart.similar_items(7, 5, 'one');

-- every behaviour at the same time, one user
CREATE TABLE bi.same_time AS
SELECT 1::bigint AS user_id, i::bigint AS item_id, 'pv'::text AS action,
       '2026-01-01'::timestamptz AS ts
FROM generate_series(1, 5) i;
SELECT bi.summary(coldstart.train('same_time', 'bi.same_time', options => '{"dim": 4, "epochs": 1}'));
SELECT count(*) AS recommended FROM coldstart.recommend(1, 10, 'same_time', exclude_seen => false);

-- ids at the limits of bigint
CREATE TABLE bi.extreme (user_id bigint, item_id bigint, action text, ts timestamptz);
INSERT INTO bi.extreme VALUES
  (-9223372036854775808, 9223372036854775807, 'pv', '2026-01-01'),
  (-9223372036854775808, -9223372036854775808, 'buy', '2026-01-02'),
  (9223372036854775807, 0, 'pv', '2026-01-01'),
  (9223372036854775807, 9223372036854775807, 'pv', '2026-01-03');
SELECT bi.summary(coldstart.train('extreme', 'bi.extreme', options => '{"dim": 4, "epochs": 1}'));
SELECT item_id FROM coldstart.recommend(-9223372036854775808, 5, 'extreme', false) ORDER BY item_id;
SELECT item_id FROM coldstart.recommend(9223372036854775807, 5, 'extreme') ORDER BY item_id;
SELECT item_id FROM coldstart.similar_items(-9223372036854775808, 5, 'extreme') ORDER BY item_id;
SELECT item_id FROM coldstart.recommend_for_items(ARRAY[9223372036854775807, NULL], k => 5,
                                                  model => 'extreme') ORDER BY item_id;

-- item features: NaN, infinite and negative prices; empty, NaN, NULL-holding
-- and 2-D vectors; a duplicate item row (the first one read is kept)
CREATE TABLE bi.odd_items (item_id bigint, price float8, emb real[]);
INSERT INTO bi.odd_items VALUES (1, 'NaN', '{1,2}'), (2, 'Infinity', '{}'), (3, '-Infinity', '{NaN,1}'),
  (4, -5, '{{1,2},{3,4}}'), (5, 0, '{1,NULL}'), (6, 1e300, '{3,4}');
INSERT INTO bi.odd_items VALUES (6, 7, '{5,6}');
SELECT bi.summary(coldstart.train('odd_items', 'bi.b', 'bi.odd_items', options => '{"dim": 4, "epochs": 1}'));
-- (without the trained match weights, which vary with the CPU's float rounding)
SELECT (SELECT jsonb_agg(c - 'match_weight' ORDER BY i) FROM jsonb_array_elements(coldstart.model_info(model) -> 'item_columns') WITH ORDINALITY AS e(c, i)) AS item_columns
FROM coldstart.models WHERE name = 'odd_items';

-- behaviours on items missing from the items table are skipped and counted
DELETE FROM bi.odd_items WHERE item_id > 3;
SELECT bi.summary(coldstart.train('fewer_items', 'bi.b', 'bi.odd_items', options => '{"dim": 4, "epochs": 1}'));

-- ---------------------------------------------------------------------
-- retrain(), activate()
-- ---------------------------------------------------------------------
CREATE TABLE bi.b_renamed AS SELECT * FROM bi.b;
SELECT coldstart.train('renamed', 'bi.b_renamed', options => '{"dim": 4, "epochs": 1}') ->> 'version' AS version;
ALTER TABLE bi.b_renamed RENAME TO b_gone;
-- specs edited by hand
SELECT coldstart.train('badspec', 'bi.b', options => '{"dim": 4, "epochs": 1}') ->> 'version' AS version;
SELECT coldstart.train('badname', 'bi.b', options => '{"dim": 4, "epochs": 1}') ->> 'version' AS version;
UPDATE coldstart.models SET spec = jsonb_set(spec, '{options}', '"notanobject"') WHERE name = 'badspec';
UPDATE coldstart.models SET spec = jsonb_set(spec, '{behaviours}', '"a b; c"') WHERE name = 'badname';
INSERT INTO bi.cases (fn, n, what, sql) VALUES
  ('retrain', 1, 'name NULL', $$SELECT coldstart.retrain(NULL)$$),
  ('retrain', 2, 'name empty', $$SELECT coldstart.retrain('')$$),
  ('retrain', 3, 'unknown model', $$SELECT coldstart.retrain('nope')$$),
  ('retrain', 4, 'its behaviours renamed', $$SELECT coldstart.retrain('renamed')$$),
  ('retrain', 5, 'options in its spec not an object', $$SELECT coldstart.retrain('badspec')$$),
  ('retrain', 6, 'behaviours in its spec not a name', $$SELECT coldstart.retrain('badname')$$),
  ('activate', 1, 'name NULL', $$SELECT coldstart.activate(NULL, 1)$$),
  ('activate', 2, 'version NULL', $$SELECT coldstart.activate('bi', NULL)$$),
  ('activate', 3, 'name empty', $$SELECT coldstart.activate('', 1)$$),
  ('activate', 4, 'unknown model', $$SELECT coldstart.activate('nope', 1)$$),
  ('activate', 5, 'version 99', $$SELECT coldstart.activate('bi', 99)$$),
  ('activate', 6, 'version 0', $$SELECT coldstart.activate('bi', 0)$$),
  ('activate', 7, 'version -2147483648', $$SELECT coldstart.activate('bi', -2147483648)$$),
  ('activate', 8, 'refresh NULL', $$SELECT coldstart.activate('bi', 1, NULL)$$);
\pset format unaligned
SELECT fn, n, what, bi.try(sql) AS result FROM bi.cases WHERE fn IN ('retrain', 'activate') ORDER BY fn DESC, n;
\pset format aligned
-- the failed calls changed nothing
SELECT name, version, active FROM coldstart.models WHERE name IN ('bi', 'renamed') ORDER BY name, version;

-- ---------------------------------------------------------------------
-- recommend(), recommend_for_items(), similar_items(), refresh_items()
-- ---------------------------------------------------------------------
INSERT INTO bi.cases (fn, n, what, sql) VALUES
  ('recommend', 1, 'user_id NULL', $$SELECT * FROM coldstart.recommend(NULL, 5, 'bi')$$),
  ('recommend', 2, 'k NULL', $$SELECT * FROM coldstart.recommend(1, NULL, 'bi')$$),
  ('recommend', 3, 'k 0', $$SELECT * FROM coldstart.recommend(1, 0, 'bi')$$),
  ('recommend', 4, 'k -1', $$SELECT * FROM coldstart.recommend(1, -1, 'bi')$$),
  ('recommend', 5, 'k 10001', $$SELECT * FROM coldstart.recommend(1, 10001, 'bi')$$),
  ('recommend', 6, 'k 2147483647', $$SELECT * FROM coldstart.recommend(1, 2147483647, 'bi')$$),
  ('recommend', 7, 'k 2^31', $$SELECT * FROM coldstart.recommend(1, 2147483648, 'bi')$$),
  ('recommend', 8, 'model NULL, no default', $$SELECT * FROM coldstart.recommend(1, 5, NULL)$$),
  ('recommend', 9, 'model empty', $$SELECT * FROM coldstart.recommend(1, 5, '')$$),
  ('recommend', 10, 'unknown model', $$SELECT * FROM coldstart.recommend(1, 5, 'nope')$$),
  ('recommend', 11, 'exclude_seen NULL', $$SELECT * FROM coldstart.recommend(1, 5, 'bi', NULL)$$),
  ('recommend', 12, 'default model unknown', $$SET LOCAL coldstart.default_model = 'nope'; SELECT * FROM coldstart.recommend(1)$$),
  ('recommend', 13, 'its behaviours renamed', $$SELECT * FROM coldstart.recommend(1, 5, 'renamed')$$),
  ('recommend_for_items', 1, 'items NULL', $$SELECT * FROM coldstart.recommend_for_items(NULL, model => 'bi')$$),
  ('recommend_for_items', 2, 'items 2-D', $$SELECT * FROM coldstart.recommend_for_items('{{1,2},{3,4}}', model => 'bi')$$),
  ('recommend_for_items', 3, 'one action for two items', $$SELECT * FROM coldstart.recommend_for_items('{1,2}', '{pv}', model => 'bi')$$),
  ('recommend_for_items', 4, 'actions 2-D', $$SELECT * FROM coldstart.recommend_for_items('{1,2}', '{{pv,pv}}', model => 'bi')$$),
  ('recommend_for_items', 5, '10001 items', $$SELECT * FROM coldstart.recommend_for_items(array_fill(1::bigint, ARRAY[10001]), model => 'bi')$$),
  ('recommend_for_items', 6, 'k 0', $$SELECT * FROM coldstart.recommend_for_items('{1}', k => 0, model => 'bi')$$),
  ('recommend_for_items', 7, 'k NULL', $$SELECT * FROM coldstart.recommend_for_items('{1}', k => NULL, model => 'bi')$$),
  ('recommend_for_items', 8, 'user_attrs an array', $$SELECT * FROM coldstart.recommend_for_items('{1}', model => 'bi', user_attrs => '[1]')$$),
  ('recommend_for_items', 9, 'user_attrs a string', $$SELECT * FROM coldstart.recommend_for_items('{1}', model => 'bi', user_attrs => '"Lyon"')$$),
  ('recommend_for_items', 10, 'user_attrs value an object', $$SELECT * FROM coldstart.recommend_for_items('{1}', model => 'bi', user_attrs => '{"city": {"name": "x"}}')$$),
  ('recommend_for_items', 11, 'unknown model', $$SELECT * FROM coldstart.recommend_for_items('{1}', model => 'nope')$$),
  ('similar_items', 1, 'item_id NULL', $$SELECT * FROM coldstart.similar_items(NULL, 5, 'bi')$$),
  ('similar_items', 2, 'unknown item', $$SELECT * FROM coldstart.similar_items(12345, 5, 'bi')$$),
  ('similar_items', 3, 'unknown item, no items table', $$SELECT * FROM coldstart.similar_items(12345, 5, 'bi_ids')$$),
  ('similar_items', 4, 'k 0', $$SELECT * FROM coldstart.similar_items(1, 0, 'bi')$$),
  ('similar_items', 5, 'k NULL', $$SELECT * FROM coldstart.similar_items(1, NULL, 'bi')$$),
  ('similar_items', 6, 'model empty', $$SELECT * FROM coldstart.similar_items(1, 5, '')$$),
  ('refresh_items', 1, 'model NULL, no default', $$SELECT coldstart.refresh_items(NULL)$$),
  ('refresh_items', 2, 'unknown model', $$SELECT coldstart.refresh_items('nope')$$),
  ('refresh_items', 3, 'model trained without items', $$SELECT coldstart.refresh_items('bi_ids')$$),
  ('model_info', 1, 'NULL (strict: NULL)', $$SELECT coldstart.model_info(NULL)$$),
  ('settings', 1, 'history_length -1', $$SET coldstart.history_length = -1$$),
  ('settings', 2, 'train_memory 1kB', $$SET coldstart.train_memory = '1kB'$$),
  ('settings', 3, 'blas_threads 0', $$SET coldstart.blas_threads = 0$$),
  ('settings', 4, 'an unknown coldstart setting', $$SET coldstart.no_such_setting = 1$$),
  ('settings', 5, 'max_items by a non-superuser', $$SET LOCAL ROLE pg_monitor; SET coldstart.max_items = 5$$);
\pset format unaligned
SELECT fn, n, what, bi.try(sql) AS result
FROM bi.cases WHERE fn IN ('recommend', 'recommend_for_items', 'similar_items', 'refresh_items', 'model_info', 'settings')
ORDER BY fn, n;
\pset format aligned

-- documented: a user with no behaviours and no attributes gets the model's
-- cold-start list; unknown items and NULL elements in a session are ignored;
-- arrays may start at any index; k above the catalogue returns the catalogue
SELECT count(*) AS cold_user FROM coldstart.recommend(424242, 5, 'bi');
SELECT count(*) AS bigint_min_user FROM coldstart.recommend(-9223372036854775808, 5, 'bi');
SELECT count(*) AS whole_catalogue FROM coldstart.recommend(424242, 10000, 'bi');
SELECT count(*) AS unknown_items FROM coldstart.recommend_for_items('{1,2,999,NULL}', '{zap,"购买",NULL,pv}', k => 10, model => 'bi');
SELECT count(*) AS lower_bound_5 FROM coldstart.recommend_for_items('[5:6]={1,2}', k => 10, model => 'bi');
SELECT count(*) AS unknown_attrs FROM coldstart.recommend_for_items('{}', k => 10, model => 'bi',
                                                                     user_attrs => '{"zz": [1], "city": null, "age": "NaN"}');
-- a number in user_attrs matches the column value it equals: 21.0 and 2.1e1 are age 21
CREATE FUNCTION bi.attrs_list(attrs jsonb) RETURNS text LANGUAGE sql AS $$
	SELECT string_agg(item_id || ':' || round(score::numeric, 6), ' ' ORDER BY rank)
	FROM coldstart.recommend_for_items('{}', k => 5, model => 'bi', user_attrs => attrs)
$$;
SELECT bi.attrs_list('{"age": 21}') <> bi.attrs_list('{}') AS age_21_counts,
       bi.attrs_list('{"age": 21.0}') = bi.attrs_list('{"age": 21}') AS age_21_0_is_21,
       bi.attrs_list('{"age": 2.1e1}') = bi.attrs_list('{"age": 21}') AS age_2_1e1_is_21,
       bi.attrs_list('{"age": "21"}') = bi.attrs_list('{"age": 21}') AS age_text_21_is_21;
SELECT coldstart.refresh_items('bi') AS refreshed;
BEGIN READ ONLY;
SELECT bi.try($$SELECT coldstart.refresh_items('bi')$$) AS refresh_read_only;
ROLLBACK;

-- the server is still up, and no failed call left a model behind: "x" has
-- the two versions of the calls that succeeded
SELECT name, count(*) AS versions FROM coldstart.models
WHERE name IN ('bi', 'bi_ids', 'x', 'renamed') GROUP BY name ORDER BY name;

DELETE FROM coldstart.models WHERE name IN ('bi', 'bi_ids', 'x', 'nulls', 'epochs', 'one', 'same_time',
                                            'extreme', 'odd_items', 'fewer_items', 'renamed', 'badspec', 'badname');
DROP SCHEMA bi CASCADE;
