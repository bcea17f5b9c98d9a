--
-- train(): the summary it returns, how it cleans the data (every skipped row
-- counted by reason), how action labels become kinds, the column types it
-- accepts (integer action codes; timestamptz, timestamp and epoch seconds),
-- renamed columns, and item features and user attributes of every kind.
--
-- Training NOTICEs carry timings, so they are hidden here; the NOTICE about
-- unknown action labels is checked in test/t/021_train_notices.sh.  Loss
-- values depend on tuning and are never printed: the data-side counts are
-- exact, and equal models are compared byte for byte.
--
CREATE EXTENSION coldstart;
SET client_min_messages = warning;
CREATE SCHEMA td;

-- explicit options, so that tuning the defaults does not change this test
\set opts '{"dim": 8, "epochs": 2, "learning_rate": 0.01, "seed": 7, "max_prefixes": 0, "target_balance": 1, "dropout": 0, "l2": 0.0001, "history_prior": 1, "patience": 2, "validation_fraction": 0, "buckets": 4, "half_life": "1 day"}'

-- the data-side counts of a summary (training figures depend on timing and
-- tuning, and new ones may come)
CREATE FUNCTION td.counts(s jsonb) RETURNS jsonb LANGUAGE sql AS $$
	SELECT jsonb_object_agg(key, value) FROM jsonb_each(s)
	WHERE key IN ('rows_read', 'rows_used', 'rows_skipped', 'unknown_labels', 'users', 'items',
	              'item_rows', 'user_rows', 'bad_feature_values', 'item_features', 'user_features',
	              'content_dimension', 'action_kinds')
$$;
-- the feature columns of a model, as model_info() describes them (without
-- trained figures)
CREATE FUNCTION td.columns(m coldstart.model, side text) RETURNS TABLE (name text, kind text, "values" int,
                                                                    buckets int, multi_valued boolean, dimension int)
LANGUAGE sql AS $$
	SELECT c ->> 'name', c ->> 'kind', (c ->> 'values')::int, (c ->> 'buckets')::int,
	       (c ->> 'multi_valued')::boolean, (c ->> 'dimension')::int
	FROM jsonb_array_elements(coldstart.model_info(m) -> (side || '_columns')) WITH ORDINALITY AS t(c, n)
	ORDER BY n
$$;

-- ---------------------------------------------------------------------
-- The fixture: 36 clean rows of 6 users on items 1..8 with label spellings
-- of every default kind, then dirty rows of each kind
-- ---------------------------------------------------------------------
CREATE TABLE td.b (user_id bigint, item_id bigint, action text, ts timestamptz);
INSERT INTO td.b
SELECT u, 1 + (u * 3 + j * 5) % 8,
       (ARRAY['pv', '浏览', 'click', '收藏', 'like', '加入购物车', 'Add-To-Cart', '购买', ' BUY ', '加购'])[1 + (u + j) % 10],
       '2026-03-01 00:00+00'::timestamptz + (u * 24 + j * 3) * interval '1 hour'
FROM generate_series(1, 6) u, generate_series(0, 5) j;
CREATE TABLE td.clean AS SELECT * FROM td.b;

INSERT INTO td.b VALUES
  -- NULL ids: 4 (a row with a NULL id and a NULL action counts as a NULL id)
  (NULL, 1, 'pv', '2026-03-10 00:00+00'), (NULL, 2, 'pv', '2026-03-10 00:00+00'),
  (1, NULL, 'pv', '2026-03-10 00:00+00'), (NULL, 2, NULL, '2026-03-10 00:00+00'),
  -- NULL timestamps: 2; infinite ones: 2
  (1, 1, 'pv', NULL), (2, 1, 'buy', NULL),
  (1, 1, 'pv', 'infinity'), (2, 2, 'pv', '-infinity'),
  -- NULL action: 1
  (1, 3, NULL, '2026-03-10 00:00+00'),
  -- items missing from the items table: 2
  (1, 99, 'pv', '2026-03-10 00:00+00'), (2, 98, 'buy', '2026-03-10 00:00+00'),
  -- unknown labels: used, with weight 1 (2 rows of "zap")
  (3, 4, 'zap', '2026-03-10 00:00+00'), (4, 5, 'zap', '2026-03-11 00:00+00'),
  -- a label padded with ideographic spaces (U+3000), and "wishlist"
  (5, 6, '　购买　', '2026-03-10 00:00+00'), (5, 7, 'wishlist', '2026-03-10 01:00+00');
-- exact duplicates: one clean row twice more (2), another once more (1)
INSERT INTO td.b SELECT * FROM td.clean WHERE user_id = 1 AND ts = '2026-03-02 00:00+00';
INSERT INTO td.b SELECT * FROM td.clean WHERE user_id = 1 AND ts = '2026-03-02 00:00+00';
INSERT INTO td.b SELECT * FROM td.clean WHERE user_id = 2 AND ts = '2026-03-03 03:00+00';
-- the same user, item and time with another label is not a duplicate
INSERT INTO td.b SELECT user_id, item_id, 'order', ts FROM td.clean WHERE user_id = 3 AND ts = '2026-03-04 06:00+00';
SELECT count(*) AS rows FROM td.b;

-- items 1..9 (9 has no behaviours), with one duplicate row and one without an id
CREATE TABLE td.items (item_id bigint, genre text, year int, tags text[], price numeric, emb real[], note point);
INSERT INTO td.items
SELECT i, 'g' || i % 3, 2000 + i % 4,
       CASE i % 4 WHEN 0 THEN '{}' WHEN 1 THEN ARRAY['new', 'sale'] WHEN 2 THEN ARRAY['sale'] ELSE NULL END,
       i * 10, ARRAY[i, i % 2, 1]::real[], point(i, i)
FROM generate_series(1, 9) i;
INSERT INTO td.items VALUES (9, 'g1', 2002, '{sale}', 1, '{0,0,0}', NULL), (NULL, 'g0', 2000, '{}', 1, '{1,1,1}', NULL);
-- users 1..5 (6 has none) and 77 (no behaviours), one duplicate, one without an id
CREATE TABLE td.users (user_id bigint, city text, age int, score numeric);
INSERT INTO td.users SELECT u, 'c' || u % 2, 20 + u, u * 1.5 FROM generate_series(1, 5) u;
INSERT INTO td.users VALUES (77, 'c9', 99, 100), (5, 'c0', 21, 5), (NULL, 'c0', 0, 0);

-- ---------------------------------------------------------------------
-- The summary
-- ---------------------------------------------------------------------
CREATE TABLE td.summary AS
SELECT coldstart.train('td', 'td.b', 'td.items', 'td.users',
                       :'opts'::jsonb || '{"item_features": ["genre", "year", "tags", "price", "emb"]}') AS s;

-- the documented keys are all there, with the right JSON types
SELECT k AS missing_key
FROM unnest(ARRAY['model', 'version', 'active', 'versions_pruned', 'model_bytes', 'seconds',
                  'rows_read', 'rows_used', 'rows_skipped', 'unknown_labels', 'users', 'items',
                  'item_rows', 'user_rows', 'bad_feature_values', 'item_features', 'user_features',
                  'content_dimension', 'action_kinds', 'softmax', 'training_users',
                  'validation_users', 'epochs_run', 'examples', 'examples_per_second',
                  'validation_recall_at_20', 'epochs', 'options']) k
WHERE NOT (SELECT s ? k FROM td.summary)
ORDER BY k;
SELECT s ->> 'model' AS model, s -> 'version' AS version, s -> 'active' AS active,
       s -> 'versions_pruned' AS pruned, s ->> 'softmax' AS softmax,
       jsonb_typeof(s -> 'seconds') AS seconds, jsonb_typeof(s -> 'model_bytes') AS model_bytes,
       (s -> 'model_bytes')::int = (SELECT octet_length(coldstart.model_send(model)) FROM coldstart.models WHERE name = 'td') AS bytes_right,
       (s -> 'training_users')::int + (s -> 'validation_users')::int = (s -> 'users')::int AS users_split,
       (s -> 'epochs_run')::int AS epochs_run,
       jsonb_array_length(s -> 'epochs') AS epoch_rows,
       (SELECT array_agg(k ORDER BY k) FROM jsonb_object_keys(s -> 'epochs' -> 0) k) AS epoch_keys,
       s -> 'validation_recall_at_20' AS recall_without_validation
FROM td.summary;
-- every skipped row counted by its reason; rows_used = rows_read - total
SELECT jsonb_pretty(td.counts(s)) FROM td.summary;
SELECT (s -> 'rows_used')::int = (s -> 'rows_read')::int - (s -> 'rows_skipped' -> 'total')::int AS used_is_read_minus_skipped,
       (SELECT sum(value::int) FROM jsonb_each(s -> 'rows_skipped') WHERE key <> 'total')
         = (s -> 'rows_skipped' -> 'total')::int AS total_is_the_sum
FROM td.summary;
-- the options echoed are the options used
SELECT s -> 'options' @> :'opts'::jsonb - 'half_life' AS options_echoed,
       s -> 'options' -> 'half_life' AS half_life_seconds
FROM td.summary;
-- the catalogue row: the metrics are the summary but for the model's name,
-- version and options; the spec holds the relations and the options given
SELECT name, version, active, s @> metrics AS metrics_in_summary,
       metrics @> td.counts(s) AS counts_in_metrics, metrics ?| ARRAY['model', 'version', 'options'] AS names_model_version_or_options,
       spec, train_seconds >= 0 AS timed
FROM coldstart.models, td.summary WHERE name = 'td';

-- ---------------------------------------------------------------------
-- Action labels and kinds
-- ---------------------------------------------------------------------
-- defaults: every spelling finds its kind; "zap" is other, weight 1
SELECT coldstart.model_info(model) -> 'action_kinds' AS kinds,
       jsonb_pretty(coldstart.model_info(model) -> 'action_labels') AS labels
FROM coldstart.models WHERE name = 'td';
-- options override labels (also a default alias) and weights, and add a kind
SELECT s -> 'action_kinds' AS kinds, s -> 'unknown_labels' AS unknown
FROM coldstart.train('td_actions', 'td.b', 'td.items', 'td.users',
                     :'opts'::jsonb || '{"actions": {"zap": "cart", "click": "buy", "浏览": "fav", "加购": "share", "unseen": "view"},
                                         "action_weights": {"view": 0.5, "buy": 8, "share": 2.5}}') s;
SELECT coldstart.model_info(model) -> 'action_kinds' AS kinds,
       jsonb_pretty(coldstart.model_info(model) -> 'action_labels') AS labels
FROM coldstart.models WHERE name = 'td_actions';
-- the weight of unmapped labels is set through the kind "other"
SELECT s -> 'action_kinds' AS kinds, s -> 'unknown_labels' AS unknown
FROM coldstart.train('td_other', 'td.b', options => :'opts'::jsonb || '{"action_weights": {"other": 0.25}}') s;

-- integer action codes, integer ids and epoch seconds of type bigint
CREATE TABLE td.codes (user_id int, item_id smallint, action smallint, ts bigint);
INSERT INTO td.codes
SELECT user_id, item_id, 1 + (user_id + item_id) % 4, extract(epoch FROM ts)::bigint FROM td.clean;
SELECT s -> 'unknown_labels' AS unknown, s -> 'action_kinds' AS kinds,
       s -> 'unknown_labels' = (SELECT jsonb_object_agg(action, n) FROM (SELECT action, count(*) AS n FROM td.codes GROUP BY action) c) AS counts_right
FROM coldstart.train('td_codes', 'td.codes', options => :'opts') s;
SELECT s -> 'unknown_labels' AS unknown, s -> 'action_kinds' AS kinds, s -> 'rows_used' AS used
FROM coldstart.train('td_codes', 'td.codes',
                     options => :'opts'::jsonb || '{"actions": {"1": "view", "2": "fav", "3": "cart", "4": "buy"}}') s;
SELECT version, coldstart.model_info(model) -> 'action_labels' AS labels
FROM coldstart.models WHERE name = 'td_codes' ORDER BY version;
-- serving reads the codes back as labels
SELECT count(*) AS rows, min(rank) AS first, max(rank) AS last
FROM coldstart.recommend(1, 3, 'td_codes', exclude_seen => false);

-- ---------------------------------------------------------------------
-- Timestamps: timestamptz, timestamp (UTC wall time), and epoch seconds as
-- bigint, integer and double precision are the same instants, so they give
-- byte-identical models (with a half-life of a day, a wrong unit would
-- change the decay, and so the model)
-- ---------------------------------------------------------------------
CREATE TABLE td.b_ts AS SELECT user_id, item_id, action, (ts AT TIME ZONE 'UTC') AS ts FROM td.clean;
CREATE TABLE td.b_bigint AS SELECT user_id, item_id, action, extract(epoch FROM ts)::bigint AS ts FROM td.clean;
CREATE TABLE td.b_int AS SELECT user_id, item_id, action, extract(epoch FROM ts)::int AS ts FROM td.clean;
CREATE TABLE td.b_float AS SELECT user_id, item_id, action, extract(epoch FROM ts)::float8 AS ts FROM td.clean;
CREATE TABLE td.b_ms AS SELECT user_id, item_id, action, extract(epoch FROM ts)::bigint * 1000 AS ts FROM td.clean;
SELECT t.rel, (s -> 'rows_used')::int AS used
FROM unnest(ARRAY['td.clean', 'td.b_ts', 'td.b_bigint', 'td.b_int', 'td.b_float', 'td.b_ms']) WITH ORDINALITY AS t(rel, n),
     LATERAL coldstart.train('td_time_' || n, t.rel::regclass, options => :'opts') s
ORDER BY n;
-- (td_time_6 holds milliseconds: another model, so the comparison can fail)
SELECT m.name, md5(m.model::text) = md5(ref.model::text) AS same_model_as_timestamptz
FROM coldstart.models m, coldstart.models ref
WHERE m.name LIKE 'td_time_%' AND ref.name = 'td_time_1'
ORDER BY m.name;
-- and serving reads each kind of timestamp the same way
SELECT n, (SELECT array_agg(item_id ORDER BY rank) || array_agg(round(score::numeric, 5) ORDER BY rank)
           FROM coldstart.recommend(1, 4, 'td_time_' || n, exclude_seen => false))
         = (SELECT array_agg(item_id ORDER BY rank) || array_agg(round(score::numeric, 5) ORDER BY rank)
            FROM coldstart.recommend(1, 4, 'td_time_1', exclude_seen => false)) AS same_as_timestamptz
FROM generate_series(2, 5) n ORDER BY n;

-- ---------------------------------------------------------------------
-- Renamed columns: behaviour columns, the items' and the users' id columns.
-- Trained on the same rows, the model scores exactly like one with the
-- default names, in training and in serving (which reads the renamed
-- columns live).
-- ---------------------------------------------------------------------
CREATE TABLE td.events (who bigint, what bigint, did text, at timestamptz);
INSERT INTO td.events SELECT * FROM td.clean;
CREATE TABLE td.products AS SELECT item_id AS sku, genre, year, tags, price, emb FROM td.items WHERE item_id IS NOT NULL;
CREATE TABLE td.customers AS SELECT user_id AS customer, city, age, score FROM td.users WHERE user_id IS NOT NULL;
CREATE TABLE td.items2 AS SELECT item_id, genre, year, tags, price, emb FROM td.items WHERE item_id IS NOT NULL;
CREATE TABLE td.users2 AS SELECT * FROM td.users WHERE user_id IS NOT NULL;
SELECT td.counts(coldstart.train('td_named', 'td.clean', 'td.items2', 'td.users2', :'opts')) =
       td.counts(coldstart.train('td_renamed', 'td.events', 'td.products', 'td.customers',
                                 :'opts'::jsonb || '{"columns": {"user_id": "who", "item_id": "what", "action": "did", "ts": "at"},
                                                     "item_id_column": "sku", "user_id_column": "customer"}')) AS same_counts;
SELECT coldstart.model_info(model) -> 'options' -> 'columns' AS columns,
       coldstart.model_info(model) -> 'options' ->> 'item_id_column' AS item_key,
       coldstart.model_info(model) -> 'options' ->> 'user_id_column' AS user_key
FROM coldstart.models WHERE name = 'td_renamed';
CREATE FUNCTION td.served(model text) RETURNS text LANGUAGE sql AS $$
	SELECT concat_ws(' | ',
		(SELECT string_agg(item_id || ':' || round(score::numeric, 5), ' ' ORDER BY rank)
		 FROM coldstart.recommend(u, 5, model)),
		(SELECT string_agg(item_id || ':' || round(score::numeric, 5), ' ' ORDER BY rank)
		 FROM coldstart.recommend_for_items('{2,3}', '{pv,buy}', 5, model, '{"city": "c1", "age": 22}')),
		(SELECT string_agg(item_id || ':' || round(score::numeric, 5), ' ' ORDER BY rank)
		 FROM coldstart.similar_items(9, 5, model)))
	FROM (VALUES (2::bigint)) v(u)
$$;
SELECT td.served('td_named') = td.served('td_renamed') AS same_serving,
       td.served('td_renamed') <> '' AS served;

-- ---------------------------------------------------------------------
-- Item features of every kind, and user attributes
-- ---------------------------------------------------------------------
-- text, integer and text[] are categorical (arrays multi-valued), numeric
-- is bucketed at quantiles (prices 10..90 in 4 buckets: edges 30, 50, 70),
-- real[] is the content vector
SELECT c.* FROM coldstart.models m, td.columns(m.model, 'item') c WHERE m.name = 'td';
SELECT c.* FROM coldstart.models m, td.columns(m.model, 'user') c WHERE m.name = 'td';
SELECT coldstart.model_info(model) -> 'content_dimension' AS content_dimension,
       coldstart.model_info(model) -> 'item_vocabulary' AS item_vocabulary,
       coldstart.model_info(model) -> 'user_vocabulary' AS user_vocabulary,
       coldstart.model_info(model) -> 'items' AS items
FROM coldstart.models WHERE name = 'td';
-- the features make the vector of an item added after training: one priced
-- in the same bucket as item 1 (10 <= price < 30) with the same tags in
-- another order gets the same vector; one in another bucket does not
INSERT INTO td.items VALUES (101, 'g1', 2001, ARRAY['new', 'sale'], 25, '{1,1,1}', NULL),
                            (102, 'g1', 2001, ARRAY['new', 'sale'], 85, '{1,1,1}', NULL),
                            (103, 'g1', 2001, ARRAY['sale', 'new'], 29.99, '{1,1,1}', NULL);
CREATE FUNCTION td.similar(item bigint) RETURNS text LANGUAGE sql AS $$
	SELECT string_agg(item_id || ':' || round(score::numeric, 5), ' ' ORDER BY rank)
	FROM coldstart.similar_items(item, 9, 'td')
$$;
SELECT td.similar(101) = td.similar(103) AS same_bucket_same_vector,
       td.similar(101) <> td.similar(102) AS other_bucket_other_vector;
-- auto mode takes every usable column and leaves the others out with a NOTICE
SELECT s -> 'item_features' AS item_values, s -> 'user_features' AS user_values, s -> 'content_dimension' AS content
FROM coldstart.train('td_auto', 'td.b', 'td.items', 'td.users', :'opts') s;
SELECT c.name, c.kind FROM coldstart.models m, td.columns(m.model, 'item') c WHERE m.name = 'td_auto';
-- kinds forced through the option: the integer year as buckets, tags left out
SELECT s -> 'item_features' AS item_values, s -> 'user_features' AS user_values
FROM coldstart.train('td_kinds', 'td.b', 'td.items', 'td.users',
                     :'opts'::jsonb || '{"item_features": {"year": "numeric", "genre": "categorical"},
                                         "user_features": {"age": "numeric"}}') s;
SELECT c.name, c.kind, c.buckets FROM coldstart.models m, td.columns(m.model, 'item') c WHERE m.name = 'td_kinds';
SELECT c.name, c.kind, c.buckets FROM coldstart.models m, td.columns(m.model, 'user') c WHERE m.name = 'td_kinds';
-- user attributes make the cold-start list: a user with attributes and no
-- behaviours is scored from them, differently from a user without a row,
-- and exactly like a session given the same values as jsonb
CREATE FUNCTION td.list(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	r text;
BEGIN
	EXECUTE format('SELECT string_agg(item_id || '':'' || round(score::numeric, 5), '' '' ORDER BY rank) FROM %s', q) INTO r;
	RETURN r;
END
$$;
SELECT td.list($$coldstart.recommend(77, 5, 'td')$$) <> td.list($$coldstart.recommend(4242, 5, 'td')$$) AS attributes_used,
       td.list($$coldstart.recommend(77, 5, 'td')$$)
         = td.list($$coldstart.recommend_for_items('{}', k => 5, model => 'td', user_attrs => '{"city": "c9", "age": 99, "score": 100}')$$) AS same_as_jsonb,
       td.list($$coldstart.recommend(4242, 5, 'td')$$)
         = td.list($$coldstart.recommend_for_items('{}', k => 5, model => 'td')$$) AS no_row_is_no_attributes;

-- half_life as an interval: seconds as extract(epoch FROM interval) counts
-- them (a year is 365.25 days, a month 30)
SELECT h, (coldstart.train('td_h', 'td.clean', options => jsonb_build_object('dim', 2, 'epochs', 1, 'half_life', h))
           -> 'options' ->> 'half_life')::float8 = extract(epoch FROM h::interval) AS as_extract_epoch
FROM (VALUES ('90 min'), ('1 day 02:00:00'), ('1 month'), ('1 year 1 month'), ('2 years'), ('P1DT2H'), ('1 week 0.5 seconds')) v(h);

DROP SCHEMA td CASCADE;
DELETE FROM coldstart.models WHERE name LIKE 'td%';
