--
-- Serving: recommend() reads the user's behaviours and attributes live (a
-- behaviour inserted a moment ago changes the very next call, in the same
-- transaction); every cold case returns exactly k well-formed rows; items
-- added after training; coldstart.default_model and coldstart.history_length;
-- relations dropped after training.  (NULL arguments, k out of range and
-- unknown models are in bad_input.sql.)
--
CREATE EXTENSION coldstart;
SET client_min_messages = warning;
CREATE SCHEMA sv;

-- two clusters: items 1..20 sci-fi, 21..40 romance; even users watch sci-fi,
-- odd users romance, 6 distinct items each, one purchase in three
CREATE TABLE sv.items (item_id bigint PRIMARY KEY, genre text NOT NULL, price numeric);
INSERT INTO sv.items SELECT i, CASE WHEN i <= 20 THEN 'scifi' ELSE 'romance' END, 5 + i % 7 FROM generate_series(1, 40) i;
CREATE TABLE sv.users (user_id bigint PRIMARY KEY, segment text);
INSERT INTO sv.users SELECT u, CASE WHEN u % 2 = 0 THEN 'a' ELSE 'b' END FROM generate_series(1, 120) u;
CREATE TABLE sv.behaviours (user_id bigint, item_id bigint, action text, ts timestamptz);
INSERT INTO sv.behaviours
SELECT u, (u % 2) * 20 + 1 + (u * 3 + j * 7) % 20,
       CASE WHEN (u + j) % 3 = 0 THEN 'buy' ELSE 'pv' END,
       '2026-05-01 00:00+00'::timestamptz + u * interval '1 day' + j * interval '1 hour'
FROM generate_series(1, 120) u, generate_series(0, 5) j;

\set opts '{"dim": 16, "epochs": 10, "learning_rate": 0.01, "seed": 5, "max_prefixes": 0, "target_balance": 0.5, "dropout": 0.1, "l2": 0.0001, "history_prior": 1, "patience": 3, "validation_fraction": 0.1, "half_life": "7 days"}'
SELECT s -> 'items' AS items, s -> 'users' AS users
FROM coldstart.train('sv', 'sv.behaviours', 'sv.items', 'sv.users', :'opts') s;

-- A result set, checked: its rows, ranks 1..n in order, distinct items,
-- probabilities in (0, 1], scores non-increasing with rank, and each
-- probability the softmax of its score (p_r / p_1 = exp(s_r - s_1)).
CREATE FUNCTION sv.check(q text) RETURNS TABLE (rows bigint, ranks_ok boolean, distinct_items boolean,
                                               probabilities_ok boolean, scores_ordered boolean,
                                               softmax_ok boolean)
LANGUAGE plpgsql AS $$
BEGIN
	RETURN QUERY EXECUTE format($f$
		WITH r AS (SELECT * FROM %s),
		     o AS (SELECT r.*, lag(score) OVER (ORDER BY rank) AS prev_score,
		                  row_number() OVER (ORDER BY rank) AS n,
		                  first_value(score) OVER (ORDER BY rank) AS s1,
		                  first_value(probability) OVER (ORDER BY rank) AS p1
		           FROM r)
		SELECT count(*),
		       coalesce(bool_and(rank = n), true),
		       count(DISTINCT item_id) = count(*),
		       coalesce(bool_and(probability > 0 AND probability <= 1), true),
		       coalesce(bool_and(prev_score IS NULL OR score <= prev_score), true),
		       coalesce(bool_and(abs(probability / p1 - exp(score - s1)) < 1e-5), true)
		FROM o$f$, q);
END
$$;
-- the items of a result, in rank order
CREATE FUNCTION sv.items_of(q text) RETURNS bigint[] LANGUAGE plpgsql AS $$
DECLARE
	r bigint[];
BEGIN
	EXECUTE format('SELECT array_agg(item_id ORDER BY rank) FROM %s', q) INTO r;
	RETURN r;
END
$$;
-- items and scores, to compare results exactly
CREATE FUNCTION sv.list(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	r text;
BEGIN
	EXECUTE format('SELECT string_agg(item_id || '':'' || round(score::numeric, 5), '' '' ORDER BY rank) FROM %s', q) INTO r;
	RETURN r;
END
$$;

-- ---------------------------------------------------------------------
-- Every cold case returns exactly k rows
-- ---------------------------------------------------------------------
-- users: 9999 has nothing; 1000 only a segment row; 1001 only behaviours on
-- an item nobody knows (in no table, not in the model); 1002 only a
-- behaviour on an item added to the items table after training
INSERT INTO sv.users VALUES (1000, 'a');
INSERT INTO sv.behaviours VALUES (1001, 999, 'buy', '2026-09-01 00:00+00'), (1001, 998, 'pv', '2026-09-01 01:00+00');
INSERT INTO sv.items VALUES (41, 'scifi', 6);
INSERT INTO sv.behaviours VALUES (1002, 41, 'pv', '2026-09-01 00:00+00');
SELECT q.n, q.what, c.*
FROM (VALUES
  (1, 'no behaviours, no attributes', $$coldstart.recommend(9999, 10, 'sv')$$),
  (2, 'attributes only', $$coldstart.recommend(1000, 10, 'sv')$$),
  (3, 'only items nobody knows', $$coldstart.recommend(1001, 10, 'sv')$$),
  (4, 'only an item added after training', $$coldstart.recommend(1002, 10, 'sv')$$),
  (5, 'a user with history', $$coldstart.recommend(2, 10, 'sv')$$),
  (6, 'k = 1', $$coldstart.recommend(2, 1, 'sv')$$),
  (7, 'k = 3, seen items kept', $$coldstart.recommend(2, 3, 'sv', exclude_seen => false)$$),
  (8, 'an empty session', $$coldstart.recommend_for_items('{}', k => 10, model => 'sv')$$),
  (9, 'a session', $$coldstart.recommend_for_items('{1,2,3}', k => 10, model => 'sv')$$),
  (10, 'a session with actions', $$coldstart.recommend_for_items('{1,2,3}', '{pv,cart,buy}', k => 10, model => 'sv')$$),
  (11, 'attributes as jsonb', $$coldstart.recommend_for_items('{}', k => 10, model => 'sv', user_attrs => '{"segment": "b"}')$$),
  (12, 'all of it, and unknown items', $$coldstart.recommend_for_items('{21,999,41}', '{pv,buy,fav}', 10, 'sv', '{"segment": "b"}')$$),
  (13, 'similar items', $$coldstart.similar_items(1, 10, 'sv')$$),
  (14, 'similar to an item added after training', $$coldstart.similar_items(41, 10, 'sv')$$),
  (15, 'the whole catalogue', $$coldstart.recommend_for_items('{}', k => 10000, model => 'sv')$$),
  (16, 'the whole catalogue but 3', $$coldstart.recommend_for_items('{1,2,3}', k => 10000, model => 'sv')$$)
) AS q(n, what, sql), LATERAL sv.check(q.sql) c
ORDER BY q.n;
-- the cold cases are told apart: no row, or unknown items only, is the
-- plain cold-start list; a segment, or an item known by its features, is not
SELECT sv.list($$coldstart.recommend(9999, 10, 'sv')$$) = sv.list($$coldstart.recommend_for_items('{}', k => 10, model => 'sv')$$) AS nothing_is_the_empty_session,
       sv.list($$coldstart.recommend(1001, 10, 'sv')$$) = sv.list($$coldstart.recommend(9999, 10, 'sv')$$) AS unknown_items_are_nothing,
       sv.list($$coldstart.recommend(1000, 10, 'sv')$$) = sv.list($$coldstart.recommend_for_items('{}', k => 10, model => 'sv', user_attrs => '{"segment": "a"}')$$) AS segment_row_is_jsonb_segment,
       sv.list($$coldstart.recommend(1000, 10, 'sv')$$) <> sv.list($$coldstart.recommend(9999, 10, 'sv')$$) AS segment_changes_it,
       sv.list($$coldstart.recommend(1002, 10, 'sv')$$) <> sv.list($$coldstart.recommend(9999, 10, 'sv')$$) AS new_item_changes_it;
-- probabilities are the softmax over the whole catalogue: they sum to 1
-- over it, and to less when a session's items are left out
SELECT round(sum(probability)::numeric, 5) AS whole_catalogue FROM coldstart.recommend_for_items('{}', k => 10000, model => 'sv');
SELECT round(sum(probability)::numeric, 5) < 1 AS without_the_session FROM coldstart.recommend_for_items('{1,2,3}', k => 10000, model => 'sv');

-- ---------------------------------------------------------------------
-- The live state: a behaviour inserted a moment ago changes the next call,
-- inside the same transaction, and rolls back with it
-- ---------------------------------------------------------------------
BEGIN;
CREATE TEMP TABLE before AS SELECT * FROM coldstart.recommend(2, 40, 'sv');
SELECT count(*) AS rows, count(*) FILTER (WHERE item_id = 35) AS has_35 FROM before;
-- user 2 (sci-fi) buys romance item 35, later than anything else
INSERT INTO sv.behaviours VALUES (2, 35, 'buy', '2026-09-01 00:00+00');
SELECT sv.list($$coldstart.recommend(2, 10, 'sv')$$) <> (SELECT string_agg(item_id || ':' || round(score::numeric, 5), ' ' ORDER BY rank) FROM before WHERE rank <= 10) AS changed,
       35 <> ALL (sv.items_of($$coldstart.recommend(2, 40, 'sv')$$)) AS bought_item_excluded,
       35 = ANY (sv.items_of($$coldstart.recommend(2, 40, 'sv', exclude_seen => false)$$)) AS kept_when_not_excluding,
       (SELECT count(*) FROM coldstart.recommend(2, 40, 'sv')) AS rows_now;
-- the romance items moved up
SELECT (SELECT avg(rank) FROM coldstart.recommend(2, 40, 'sv') WHERE item_id > 20)
       < (SELECT avg(rank) FROM before WHERE item_id > 20) AS romance_moved_up;
ROLLBACK;
SELECT 35 = ANY (sv.items_of($$coldstart.recommend(2, 40, 'sv')$$)) AS back_after_rollback,
       (SELECT count(*) FROM coldstart.recommend(2, 40, 'sv')) AS rows_again;
-- attributes are read live too
UPDATE sv.users SET segment = 'b' WHERE user_id = 1000;
SELECT sv.list($$coldstart.recommend(1000, 10, 'sv')$$) = sv.list($$coldstart.recommend_for_items('{}', k => 10, model => 'sv', user_attrs => '{"segment": "b"}')$$) AS new_segment_used;

-- ---------------------------------------------------------------------
-- coldstart.history_length: how many of the latest behaviours are read.
-- With 1, a user is the session of their latest behaviour: one item, whose
-- decay is 1, so recommend() equals recommend_for_items() on it exactly once
-- coldstart.seen_limit also leaves out that one item only (by default
-- exclude_seen leaves out the items of the latest 1000 behaviours).
-- ---------------------------------------------------------------------
SET coldstart.history_length = 1;
SET coldstart.seen_limit = 1;
SELECT sv.list($$coldstart.recommend(3, 10, 'sv')$$)
       = sv.list(format('coldstart.recommend_for_items(%L, %L, 10, %L, %L)', ARRAY[item_id], ARRAY[action], 'sv', '{"segment": "b"}')) AS latest_behaviour_only
FROM sv.behaviours WHERE user_id = 3 ORDER BY ts DESC LIMIT 1;
RESET coldstart.history_length;
RESET coldstart.seen_limit;
-- with the defaults, no item of the user's behaviours comes back
SELECT count(*) AS seen_items_recommended
FROM coldstart.recommend(3, 200, 'sv') r
WHERE r.item_id IN (SELECT item_id FROM sv.behaviours WHERE user_id = 3);
SELECT sv.list($$coldstart.recommend(3, 10, 'sv')$$)
       <> sv.list(format('coldstart.recommend_for_items(%L, %L, 10, %L, %L)', ARRAY[item_id], ARRAY[action], 'sv', '{"segment": "b"}')) AS whole_history
FROM sv.behaviours WHERE user_id = 3 ORDER BY ts DESC LIMIT 1;

-- ---------------------------------------------------------------------
-- coldstart.default_model: model => NULL
-- ---------------------------------------------------------------------
SET coldstart.default_model = 'sv';
SELECT sv.list($$coldstart.recommend(2)$$) = sv.list($$coldstart.recommend(2, 10, 'sv')$$) AS recommend,
       sv.list($$coldstart.recommend(2, 5, NULL)$$) = sv.list($$coldstart.recommend(2, 5, 'sv')$$) AS recommend_null,
       sv.list($$coldstart.recommend_for_items('{1}')$$) = sv.list($$coldstart.recommend_for_items('{1}', model => 'sv')$$) AS recommend_for_items,
       sv.list($$coldstart.similar_items(1)$$) = sv.list($$coldstart.similar_items(1, model => 'sv')$$) AS similar_items;
-- an explicit name wins over the setting
SET coldstart.default_model = 'nope';
SELECT count(*) AS explicit_name_wins FROM coldstart.recommend(2, 5, 'sv');
-- set to the empty string, it is not set
SET coldstart.default_model = '';
SELECT * FROM coldstart.recommend(2, 5);
RESET coldstart.default_model;

-- ---------------------------------------------------------------------
-- Items added after training: similar_items() and sessions see them at
-- once (from their features); recommend() can return them after
-- refresh_items(), which stores their vectors in coldstart.item_extras
-- ---------------------------------------------------------------------
INSERT INTO sv.items VALUES (42, 'scifi', 6), (43, 'romance', 6);
SELECT sv.check($$coldstart.similar_items(42, 10, 'sv')$$);
SELECT sv.list($$coldstart.similar_items(42, 10, 'sv')$$) AS similar_42_before
\gset
SELECT ARRAY[41, 42, 43]::bigint[] && sv.items_of($$coldstart.recommend(2, 40, 'sv')$$) AS before_refresh,
       (SELECT count(*) FROM coldstart.recommend(2, 10000, 'sv')) AS catalogue_before;
SELECT coldstart.refresh_items('sv') AS refreshed;
SELECT item_id, array_length(vector, 1) AS dim, bias IS NOT NULL AS has_bias
FROM coldstart.item_extras WHERE name = 'sv' ORDER BY item_id;
SELECT items_refreshed_at IS NOT NULL AS refreshed_at_set FROM coldstart.models WHERE name = 'sv';
SELECT (SELECT count(*) FROM coldstart.recommend(2, 10000, 'sv')) AS catalogue_after,
       ARRAY[41, 42, 43]::bigint[] <@ sv.items_of($$coldstart.recommend(2, 10000, 'sv')$$) AS all_new_items_returned;
-- they are ranked by their features: the new sci-fi items come before the
-- new romance item for a sci-fi fan, after it for a romance fan
SELECT array_position(l2, 42) < array_position(l2, 43) AS scifi_fan_prefers_42,
       array_position(l3, 43) < array_position(l3, 42) AS romance_fan_prefers_43
FROM sv.items_of($$coldstart.recommend(2, 10000, 'sv')$$) l2, sv.items_of($$coldstart.recommend(3, 10000, 'sv')$$) l3;
-- a refreshed item keeps the vector serving computed before the refresh
-- (the new items are now in the catalogue: compare the old items only)
SELECT :'similar_42_before' = sv.list($$(SELECT * FROM coldstart.similar_items(42, 13, 'sv') WHERE item_id <= 40 ORDER BY rank LIMIT 10) s$$) AS same_vector_after_refresh;
-- refresh again after a deletion: the deleted item is gone from the extras
-- and from recommendations
DELETE FROM sv.items WHERE item_id = 43;
SELECT coldstart.refresh_items('sv') AS refreshed;
SELECT array_agg(item_id ORDER BY item_id) AS extras FROM coldstart.item_extras WHERE name = 'sv';
SELECT 43 = ANY (sv.items_of($$coldstart.recommend(2, 10000, 'sv')$$)) AS deleted_item_returned;
-- extras belong to a version: a new version trained with the items table
-- knows 41 and 42 itself, and has no extras
SELECT s -> 'items' AS items FROM coldstart.train('sv', 'sv.behaviours', 'sv.items', 'sv.users', :'opts') s;
SELECT version, count(e.item_id) AS extras
FROM coldstart.models m LEFT JOIN coldstart.item_extras e USING (name, version)
WHERE m.name = 'sv' GROUP BY version ORDER BY version;
SELECT coldstart.refresh_items('sv') AS refreshed;
-- 42 is in the items table but no behaviour has it: the model scores it
-- from its features, exactly as an item with the same features added after
-- training and refreshed (44): before every romance item for the sci-fi fan,
-- after them for the romance fan (not below every item for everyone)
INSERT INTO sv.items VALUES (44, 'scifi', 6);
SELECT coldstart.refresh_items('sv') AS refreshed;
WITH r AS (SELECT u, l.* FROM generate_series(2, 3) u, LATERAL coldstart.recommend(u, 10000, 'sv') l)
SELECT u, abs(max(score) FILTER (WHERE item_id = 42) - max(score) FILTER (WHERE item_id = 44)) < 1e-5
         AS same_score_as_refreshed_twin,
       CASE WHEN u % 2 = 0
            THEN max(rank) FILTER (WHERE item_id = 42) < min(rank) FILTER (WHERE item_id BETWEEN 21 AND 40)
            ELSE max(rank) FILTER (WHERE item_id = 42) > max(rank) FILTER (WHERE item_id BETWEEN 21 AND 40)
       END AS ranked_by_its_genre
FROM r GROUP BY u ORDER BY u;
DELETE FROM sv.items WHERE item_id = 44;

-- ---------------------------------------------------------------------
-- Relations dropped after training: the calls that need them fail with an
-- error that names them; the others go on
-- ---------------------------------------------------------------------
CREATE TABLE sv.b2 AS SELECT * FROM sv.behaviours;
CREATE TABLE sv.i2 AS SELECT * FROM sv.items;
CREATE TABLE sv.u2 AS SELECT * FROM sv.users;
SELECT s -> 'items' AS items FROM coldstart.train('sv_drop', 'sv.b2', 'sv.i2', 'sv.u2', :'opts') s;
SELECT count(*) AS cached FROM coldstart.recommend(2, 5, 'sv_drop');
INSERT INTO sv.i2 VALUES (50, 'scifi', 1);
DROP TABLE sv.u2;
SELECT * FROM coldstart.recommend(2, 5, 'sv_drop');
SELECT count(*) AS session_without_users FROM coldstart.recommend_for_items('{1}', k => 5, model => 'sv_drop', user_attrs => '{"segment": "a"}');
DROP TABLE sv.i2;
SELECT count(*) AS similar_known_item FROM coldstart.similar_items(1, 5, 'sv_drop');
SELECT * FROM coldstart.similar_items(50, 5, 'sv_drop');
SELECT * FROM coldstart.recommend_for_items('{50}', k => 5, model => 'sv_drop');
SELECT coldstart.refresh_items('sv_drop');
DROP TABLE sv.b2;
SELECT * FROM coldstart.recommend(2, 5, 'sv_drop');
SELECT count(*) AS session_of_known_items FROM coldstart.recommend_for_items('{1,2}', k => 5, model => 'sv_drop');
SELECT coldstart.retrain('sv_drop');
-- a relation of the same name again: served from it
CREATE TABLE sv.b2 (user_id bigint, item_id bigint, action text, ts timestamptz);
CREATE TABLE sv.u2 (user_id bigint, segment text);
INSERT INTO sv.b2 VALUES (2, 1, 'pv', '2026-09-01');
SELECT sv.list($$coldstart.recommend(2, 5, 'sv_drop')$$) = sv.list($$coldstart.recommend_for_items('{1}', '{pv}', 5, 'sv_drop')$$) AS new_table_read;

-- ---------------------------------------------------------------------
-- Columns changed after training: a column of a type training would have
-- refused, or a column gone, fails with an error saying what coldstart
-- was reading; changed back, the model serves again
-- ---------------------------------------------------------------------
ALTER TABLE sv.b2 ALTER COLUMN ts TYPE text;
SELECT * FROM coldstart.recommend(2, 5, 'sv_drop');
ALTER TABLE sv.b2 ALTER COLUMN ts TYPE timestamptz USING ts::timestamptz;
ALTER TABLE sv.b2 ALTER COLUMN item_id TYPE text;
SELECT * FROM coldstart.recommend(2, 5, 'sv_drop');
ALTER TABLE sv.b2 ALTER COLUMN item_id TYPE bigint USING item_id::bigint;
ALTER TABLE sv.b2 RENAME COLUMN action TO kind;
SELECT * FROM coldstart.recommend(2, 5, 'sv_drop');
ALTER TABLE sv.b2 RENAME COLUMN kind TO action;
ALTER TABLE sv.u2 RENAME COLUMN segment TO seg;
SELECT * FROM coldstart.recommend(2, 5, 'sv_drop');
ALTER TABLE sv.u2 RENAME COLUMN seg TO segment;
SELECT sv.list($$coldstart.recommend(2, 5, 'sv_drop')$$) = sv.list($$coldstart.recommend_for_items('{1}', '{pv}', 5, 'sv_drop')$$) AS serves_again;

DELETE FROM coldstart.models WHERE name IN ('sv', 'sv_drop');
DROP SCHEMA sv CASCADE;
