--
-- interest_vector(model, item_id, action, ts): the user vector of any rows,
-- checked against serving through item_vector() and item_bias(); NULLs and
-- unknown items; parallel and partitionwise plans; mixed models.
--
CREATE EXTENSION coldstart;
SET TimeZone = 'UTC';

-- Two small models of the demo shop, without a hidden layer and with one.
-- No users table: nobody has attributes.  Every user has fewer behaviours
-- than history_length, so recommend() reads all of them.
SELECT coldstart.create_demo('iv', users => 300, items => 200, behaviours => 6000, seed => 7);
SET client_min_messages = warning;	-- training reports its speed
SELECT coldstart.train('iv', 'iv.behaviours', options =>
         '{"dim": 8, "epochs": 2, "seed": 3, "learning_rate": 0.05, "history_length": 500, "half_life": 86400}')
       ->> 'version' AS version;
SELECT coldstart.train('ivh', 'iv.behaviours', options =>
         '{"dim": 8, "hidden": 6, "epochs": 2, "seed": 3, "learning_rate": 0.05, "history_length": 500, "half_life": 86400}')
       ->> 'version' AS version;
RESET client_min_messages;
SELECT max(n) < 500 AS all_histories_fit
FROM (SELECT count(*) AS n FROM iv.behaviours GROUP BY user_id) AS c;
SELECT m->'action_kinds' AS kinds, m->'history_prior' AS prior, m->'half_life_seconds' AS half_life
FROM (SELECT coldstart.model_info(model) AS m FROM coldstart.models WHERE name = 'iv') AS i;

CREATE FUNCTION model_of(name text) RETURNS coldstart.model LANGUAGE sql STABLE AS
$$ SELECT model FROM coldstart.models WHERE models.name = model_of.name AND active $$;
CREATE FUNCTION dot(a real[], b real[]) RETURNS float8 LANGUAGE sql IMMUTABLE AS
$$ SELECT sum(x::float8 * y) FROM unnest(a, b) AS t(x, y) $$;
CREATE FUNCTION max_diff(a real[], b real[]) RETURNS float8 LANGUAGE sql IMMUTABLE AS
$$ SELECT max(abs(x::float8 - y)) FROM unnest(a, b) AS t(x, y) $$;

-- Scores of u against every item the model knows, computed in SQL.
CREATE FUNCTION sql_scores(name text, u real[])
RETURNS TABLE (item_id bigint, dot float8, score float8) LANGUAGE sql STABLE AS $$
	SELECT i.item_id, d.dot, d.dot + coldstart.item_bias(m, i.item_id)
	FROM (SELECT model_of(name) AS m) AS mm,
	     (SELECT DISTINCT b.item_id FROM iv.behaviours AS b) AS i,
	     LATERAL (SELECT sum(x::float8 * y) AS dot
	              FROM unnest(u, coldstart.item_vector(m, i.item_id)) AS t(x, y)) AS d
	WHERE coldstart.item_vector(m, i.item_id) IS NOT NULL
$$;

-- How far serving's scores for a user are from u's: the largest difference
-- over the whole catalogue, whether both rank the same top 10, and the
-- spread of u . v (so that a wrong u would show).
CREATE FUNCTION compare_with_recommend(name text, u real[], uid bigint,
	OUT items bigint, OUT gap float8, OUT same_top10 boolean, OUT spread float8)
LANGUAGE sql STABLE AS $$
	WITH s AS MATERIALIZED (SELECT * FROM sql_scores(name, u))
	SELECT count(*), max(abs(r.score - s.score)),
	       (SELECT array_agg(item_id ORDER BY rank) FROM coldstart.recommend(uid, 10, name, false))
	       = (SELECT array_agg(item_id ORDER BY score DESC, item_id)
	          FROM (SELECT * FROM s ORDER BY score DESC, item_id LIMIT 10) AS t),
	       max(s.dot) - min(s.dot)
	FROM coldstart.recommend(uid, 10000, name, false) AS r
	FULL JOIN s USING (item_id)
$$;

--
-- item_vector() and item_bias()
--
SELECT array_length(coldstart.item_vector(model_of('iv'), 1), 1) AS dim,
       coldstart.item_bias(model_of('iv'), 1) IS NOT NULL AS has_bias,
       coldstart.item_vector(model_of('iv'), 999999) IS NULL AS unknown_vector,
       coldstart.item_bias(model_of('iv'), 999999) IS NULL AS unknown_bias,
       coldstart.item_vector(NULL, 1) IS NULL AS null_model,
       coldstart.item_vector(model_of('iv'), NULL) IS NULL AS null_item;
SELECT count(*) = (coldstart.model_info(model_of('iv'))->>'items')::int AS every_model_item_has_a_vector
FROM (SELECT DISTINCT item_id FROM iv.behaviours) AS i
WHERE coldstart.item_vector(model_of('iv'), item_id) IS NOT NULL;

--
-- The vector of a user's rows is the one recommend() uses: the same score
-- for every item, within float rounding, and the same top 10.  Scoring with
-- the rows' vector but no time decay misses by far.
--
SELECT name, count(*) AS users,
       bool_and(items = (coldstart.model_info(model_of(name))->>'items')::int) AS every_item_scored,
       max(gap) < 1e-5 AS same_scores,
       bool_and(same_top10) AS same_top10, min(spread) > 1 AS spread_above_1,
       min(gap_nodecay) > 1e-5 AS nodecay_differs
FROM (SELECT name, user_id, c.*, n.gap AS gap_nodecay
      FROM (SELECT name, user_id,
                   coldstart.interest_vector(model_of(name), item_id, action, ts) AS u,
                   coldstart.interest_vector(model_of(name), item_id, action, '2026-10-01') AS u_nodecay
            FROM iv.behaviours, (VALUES ('iv'), ('ivh')) AS n(name)
            WHERE user_id IN (1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144, 233)
            GROUP BY name, user_id) AS g,
           LATERAL compare_with_recommend(name, u, user_id) AS c,
           LATERAL compare_with_recommend(name, u_nodecay, user_id) AS n) AS r
GROUP BY name ORDER BY name;

-- recommend() reads the latest history_length behaviours, the aggregate
-- every row it is given: pass it the same rows to get the same vector.
SET coldstart.history_length = 10;
SELECT name, (compare_with_recommend(name, u_all, 34)).gap > 1e-5 AS all_rows_differ,
       (compare_with_recommend(name, u_latest, 34)).gap < 1e-5 AS latest_rows_agree
FROM (SELECT name, coldstart.interest_vector(model_of(name), item_id, action, ts) AS u_all,
             (SELECT coldstart.interest_vector(model_of(name), item_id, action, ts)
              FROM (SELECT * FROM iv.behaviours WHERE user_id = 34
                    ORDER BY ts DESC, item_id DESC LIMIT 10) AS l) AS u_latest
      FROM iv.behaviours, (VALUES ('iv'), ('ivh')) AS n(name)
      WHERE user_id = 34 GROUP BY name) AS g
ORDER BY name;
RESET coldstart.history_length;

-- A user with no rows is served the no-history vector; so is a set of rows
-- none of which the model can use (unknown items, NULLs), while no rows at
-- all give NULL.
SELECT name, (compare_with_recommend(name, u, 1000000)).gap < 1e-5 AS no_history
FROM (SELECT name, coldstart.interest_vector(model_of(name), item, 'buy', now()) AS u
      FROM (VALUES (999999::bigint), (NULL)) AS r(item), (VALUES ('iv'), ('ivh')) AS n(name)
      GROUP BY name) AS g
ORDER BY name;
SELECT coldstart.interest_vector(model_of('iv'), item_id, action, ts) IS NULL AS no_rows_is_null
FROM iv.behaviours WHERE false;

--
-- By hand: weights and decay.  One day is one half-life.
--
CREATE FUNCTION iv_of(name text, rows_ text) RETURNS real[] LANGUAGE plpgsql AS $$
DECLARE
	u real[];
BEGIN
	EXECUTE format('SELECT coldstart.interest_vector(model_of(%L), item, action, ts) FROM (VALUES %s) AS r(item, action, ts)',
				   name, rows_) INTO u;
	RETURN u;
END $$;
-- (The vector also depends on how many behaviours there are, by buckets
-- 0, 1, 2, 3-4, 5-8, ...: four more views on both sides keep each pair in the
-- bucket 5-8, so that only the weights differ.)
SELECT name,
       -- fav weighs 2 = pv now + pv a day ago + pv a day ago (1 + 1/2 + 1/2)
       max_diff(iv_of(name, $$(7::bigint, 'fav', '2026-10-05'::timestamptz), (21, 'pv', '2026-10-05'), (22, 'pv', '2026-10-05'), (23, 'pv', '2026-10-05'), (24, 'pv', '2026-10-05')$$),
                iv_of(name, $$(7::bigint, 'pv', '2026-10-05'::timestamptz), (7, 'pv', '2026-10-04'), (7, 'pv', '2026-10-04'), (21, 'pv', '2026-10-05'), (22, 'pv', '2026-10-05'), (23, 'pv', '2026-10-05'), (24, 'pv', '2026-10-05')$$))
         < 1e-6 AS fav_is_three_decayed_views,
       -- buy weighs 4 = fav + fav now (2 + 2), and also = cart + pv (3 + 1)
       max_diff(iv_of(name, $$(7::bigint, 'buy', '2026-10-05'::timestamptz), (21, 'pv', '2026-10-05'), (22, 'pv', '2026-10-05'), (23, 'pv', '2026-10-05'), (24, 'pv', '2026-10-05')$$),
                iv_of(name, $$(7::bigint, 'fav', '2026-10-05'::timestamptz), (7, 'fav', '2026-10-05'), (21, 'pv', '2026-10-05'), (22, 'pv', '2026-10-05'), (23, 'pv', '2026-10-05'), (24, 'pv', '2026-10-05')$$))
         < 1e-6 AS buy_is_two_favs,
       -- the weights, not the order or the absolute time, matter
       max_diff(iv_of(name, $$(7::bigint, 'pv', '2026-10-05'::timestamptz), (9, 'buy', '2026-10-02'), (11, 'cart', '2026-10-03')$$),
                iv_of(name, $$(11::bigint, 'cart', '2025-01-03'::timestamptz), (7, 'pv', '2025-01-05'), (9, 'buy', '2025-01-02')$$))
         < 1e-6 AS shift_and_order_invariant,
       -- a different weight gives a different vector
       max_diff(iv_of(name, $$(7::bigint, 'buy', '2026-10-05'::timestamptz), (9, 'pv', '2026-10-05')$$),
                iv_of(name, $$(7::bigint, 'pv', '2026-10-05'::timestamptz), (9, 'pv', '2026-10-05')$$))
         > 1e-4 AS weights_matter
FROM (VALUES ('iv'), ('ivh')) AS n(name) ORDER BY name;

-- Rows at one time have no decay: the vector recommend_for_items() uses for
-- the same items and actions (it scores everything but the session's items).
CREATE FUNCTION compare_with_session(name text, items bigint[], actions text[]) RETURNS float8
LANGUAGE sql AS $$
	SELECT max(abs(r.score - s.score))
	FROM coldstart.recommend_for_items(items, actions, 10000, name) AS r
	JOIN sql_scores(name, (SELECT coldstart.interest_vector(model_of(name), i, a, '2026-10-05')
	                       FROM unnest(items, actions) AS t(i, a))) AS s USING (item_id)
$$;
SELECT name,
       compare_with_session(name, '{7}', '{pv}') < 1e-5 AS one_view,
       compare_with_session(name, '{7, 9, 11, 13}', '{pv, buy, fav, Add-To-Cart}') < 1e-5 AS four_actions,
       compare_with_session(name, '{7, 9, 11}', '{NULL, NULL, NULL}') < 1e-5 AS null_actions
FROM (VALUES ('iv'), ('ivh')) AS n(name) ORDER BY name;

--
-- NULLs, unknown labels and unknown items
--
SELECT name,
       -- rows without item or time are skipped
       max_diff(iv_of(name, $$(7::bigint, 'pv', '2026-10-05'::timestamptz), (NULL, 'buy', '2026-10-06'), (9, 'buy', NULL),
                                (9, 'buy', 'infinity'), (9, 'buy', '-infinity')$$),
                iv_of(name, $$(7::bigint, 'pv', '2026-10-05'::timestamptz)$$)) = 0 AS null_rows_skipped,
       -- a NULL action, an unknown label and a view weigh 1; labels map like training's
       max_diff(iv_of(name, $$(7::bigint, NULL::text, '2026-10-05'::timestamptz), (9, 'share', '2026-10-05')$$),
                iv_of(name, $$(7::bigint, 'pv', '2026-10-05'::timestamptz), (9, 'view', '2026-10-05')$$)) = 0 AS null_action_is_a_view,
       max_diff(iv_of(name, $$(7::bigint, ' Buy', '2026-10-05'::timestamptz), (9, 'PV', '2026-10-05')$$),
                iv_of(name, $$(7::bigint, 'buy', '2026-10-05'::timestamptz), (9, 'pv', '2026-10-05')$$)) = 0 AS default_mapping,
       -- an unknown item at the latest time changes nothing...
       max_diff(iv_of(name, $$(7::bigint, 'pv', '2026-10-05'::timestamptz), (999999, 'buy', '2026-10-05')$$),
                iv_of(name, $$(7::bigint, 'pv', '2026-10-05'::timestamptz)$$)) = 0 AS unknown_item_adds_nothing,
       -- ...but a later one dates the history: the view is a day old
       max_diff(iv_of(name, $$(7::bigint, 'pv', '2026-10-05'::timestamptz), (999999, 'buy', '2026-10-06')$$),
                iv_of(name, $$(7::bigint, 'pv', '2026-10-05'::timestamptz)$$)) > 1e-4 AS unknown_item_dates_history
FROM (VALUES ('iv'), ('ivh')) AS n(name) ORDER BY name;

-- ...as in serving: user 1 does something to an item nobody knows, a day
-- after everything else.
INSERT INTO iv.behaviours
SELECT 1, 999999, 'pv', max(ts) + interval '1 day' FROM iv.behaviours WHERE user_id = 1;
SELECT name, (compare_with_recommend(name, u, 1)).gap < 1e-5 AS same_scores_as_serving
FROM (SELECT name, coldstart.interest_vector(model_of(name), item_id, action, ts) AS u
      FROM iv.behaviours, (VALUES ('iv'), ('ivh')) AS n(name)
      WHERE user_id = 1 GROUP BY name) AS g
ORDER BY name;
DELETE FROM iv.behaviours WHERE item_id = 999999;

-- A model from a literal (a value in memory, not a stored TOAST pointer)
-- gives the same vector; so does a running window at its last row.
SELECT model::text AS m FROM coldstart.models WHERE name = 'ivh' \gset
SELECT max_diff(coldstart.interest_vector(model_of('ivh'), item_id, action, ts),
                coldstart.interest_vector(:'m'::coldstart.model, item_id, action, ts)) = 0 AS same_from_literal
FROM iv.behaviours WHERE user_id = 2;
SELECT max_diff(w.u, g.u) = 0 AS window_ends_at_whole
FROM (SELECT coldstart.interest_vector(model_of('ivh'), item_id, action, ts) OVER (ORDER BY ts, item_id) AS u
      FROM iv.behaviours WHERE user_id = 2 ORDER BY ts DESC, item_id DESC LIMIT 1) AS w,
     (SELECT coldstart.interest_vector(model_of('ivh'), item_id, action, ts) AS u
      FROM iv.behaviours WHERE user_id = 2) AS g;

-- The model must not be NULL.
SELECT coldstart.interest_vector(NULL, 1, 'pv', now());
SELECT coldstart.interest_vector(model_of('nope'), item_id, action, ts) FROM iv.behaviours;

--
-- Parallel aggregation: the plan splits the work, the result is the same.
--
CREATE TABLE serial_result AS
  SELECT name, user_id, coldstart.interest_vector(model_of(name), item_id, action, ts) AS u
  FROM iv.behaviours, (VALUES ('iv'), ('ivh')) AS n(name) GROUP BY name, user_id;
CREATE TABLE serial_whole AS
  SELECT name, coldstart.interest_vector(model_of(name), item_id, action, ts) AS u
  FROM iv.behaviours, (VALUES ('iv'), ('ivh')) AS n(name) GROUP BY name;

-- Plans without the InitPlan's scan of coldstart.models: the planner picks
-- it by the catalogue's statistics.
CREATE FUNCTION plan_of(query text) RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE
	line text;
BEGIN
	FOR line IN EXECUTE 'EXPLAIN (COSTS OFF) ' || query LOOP
		CONTINUE WHEN line ~ 'models|Cond: |Filter: ';
		RETURN NEXT line;
	END LOOP;
END $$;

SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
SET parallel_leader_participation = off;

SELECT plan_of($$SELECT user_id, coldstart.interest_vector((SELECT model FROM coldstart.models
                                                            WHERE name = 'ivh' AND active),
                                                           item_id, action, ts)
                 FROM iv.behaviours GROUP BY user_id$$);

SELECT count(*) AS users, max(max_diff(p.u, s.u)) < 1e-6 AS same
FROM (SELECT user_id, coldstart.interest_vector((SELECT model FROM coldstart.models WHERE name = 'iv' AND active),
                                                item_id, action, ts) AS u
      FROM iv.behaviours GROUP BY user_id) AS p
JOIN serial_result AS s ON s.name = 'iv' AND s.user_id = p.user_id;
SELECT count(*) AS users, max(max_diff(p.u, s.u)) < 1e-6 AS same
FROM (SELECT user_id, coldstart.interest_vector((SELECT model FROM coldstart.models WHERE name = 'ivh' AND active),
                                                item_id, action, ts) AS u
      FROM iv.behaviours GROUP BY user_id) AS p
JOIN serial_result AS s ON s.name = 'ivh' AND s.user_id = p.user_id;

SELECT plan_of($$SELECT coldstart.interest_vector((SELECT model FROM coldstart.models
                                                   WHERE name = 'iv' AND active),
                                                  item_id, action, ts)
                 FROM iv.behaviours$$);
SELECT max_diff(coldstart.interest_vector((SELECT model FROM coldstart.models WHERE name = 'iv' AND active),
                                          item_id, action, ts),
                (SELECT u FROM serial_whole WHERE name = 'iv')) < 1e-6 AS same
FROM iv.behaviours;
SELECT max_diff(coldstart.interest_vector((SELECT model FROM coldstart.models WHERE name = 'ivh' AND active),
                                          item_id, action, ts),
                (SELECT u FROM serial_whole WHERE name = 'ivh')) < 1e-6 AS same
FROM iv.behaviours;

-- A model given in memory (a literal) travels with each state rather than
-- by its TOAST pointer; states of the two forms of one model combine.
EXPLAIN (COSTS OFF)
SELECT user_id, coldstart.interest_vector(:'m'::coldstart.model, item_id, action, ts)
FROM iv.behaviours GROUP BY user_id;
SELECT count(*) AS users, max(max_diff(p.u, s.u)) < 1e-6 AS same
FROM (SELECT user_id, coldstart.interest_vector(:'m'::coldstart.model, item_id, action, ts) AS u
      FROM iv.behaviours GROUP BY user_id) AS p
JOIN serial_result AS s ON s.name = 'ivh' AND s.user_id = p.user_id;
SELECT count(*) AS users, max(max_diff(p.u, s.u)) < 1e-6 AS same
FROM (SELECT user_id,
             coldstart.interest_vector(CASE WHEN item_id % 2 = 0 THEN :'m'::coldstart.model
                                            ELSE (SELECT model FROM coldstart.models
                                                  WHERE name = 'ivh' AND active) END,
                                       item_id, action, ts) AS u
      FROM iv.behaviours GROUP BY user_id) AS p
JOIN serial_result AS s ON s.name = 'ivh' AND s.user_id = p.user_id;

-- Hash aggregation spilling to disk, in the workers and in the leader.
SET work_mem = '64kB';
SET enable_sort = off;
SELECT count(*) AS users, max(max_diff(p.u, s.u)) < 1e-6 AS same
FROM (SELECT user_id, coldstart.interest_vector((SELECT model FROM coldstart.models WHERE name = 'ivh' AND active),
                                                item_id, action, ts) AS u
      FROM iv.behaviours GROUP BY user_id) AS p
JOIN serial_result AS s ON s.name = 'ivh' AND s.user_id = p.user_id;
RESET work_mem;
RESET enable_sort;

-- The workers really run: wait for free worker slots if other sessions hold them.
CREATE FUNCTION workers_launched(query text) RETURNS int LANGUAGE plpgsql AS $$
DECLARE
	plan jsonb;
	launched int;
BEGIN
	FOR attempt IN 1..60 LOOP
		EXECUTE 'EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF, FORMAT JSON) ' || query
			INTO plan;
		launched := jsonb_path_query_first(plan, 'strict $.**."Workers Launched"')::int;
		EXIT WHEN launched = 2;
		PERFORM pg_sleep(0.5);
	END LOOP;
	RETURN launched;
END $$;
SELECT workers_launched($$SELECT user_id, coldstart.interest_vector((SELECT model FROM coldstart.models
                                                                     WHERE name = 'ivh' AND active),
                                                                    item_id, action, ts)
                          FROM iv.behaviours GROUP BY user_id$$);

-- Rows of two models in one group: an error, wherever it is found.
\set VERBOSITY terse
SELECT coldstart.interest_vector(CASE WHEN user_id % 2 = 0 THEN (SELECT model FROM coldstart.models WHERE name = 'iv' AND active)
                                      ELSE (SELECT model FROM coldstart.models WHERE name = 'ivh' AND active) END,
                                 item_id, action, ts)
FROM iv.behaviours;
\set VERBOSITY default
RESET ALL;
SET TimeZone = 'UTC';

-- Serial: the transition function sees the second model.
SELECT coldstart.interest_vector(CASE WHEN user_id % 2 = 0 THEN model_of('iv') ELSE model_of('ivh') END,
                                 item_id, action, ts)
FROM iv.behaviours;
-- The same model from a literal and from the table is one model.
SELECT max_diff(coldstart.interest_vector(CASE WHEN user_id % 2 = 0 THEN model_of('ivh') ELSE :'m'::coldstart.model END,
                                          item_id, action, ts),
                (SELECT u FROM serial_whole WHERE name = 'ivh')) < 1e-6 AS same
FROM iv.behaviours;
-- Different models in different groups are fine.
SELECT name, max_diff(u, (SELECT s.u FROM serial_result AS s WHERE s.name = g.name AND s.user_id = 5)) = 0 AS same
FROM (SELECT name, coldstart.interest_vector(m, item_id, action, ts) AS u
      FROM iv.behaviours, (SELECT name, model AS m FROM coldstart.models) AS n
      WHERE user_id = 5 GROUP BY name) AS g
ORDER BY name;

-- Partitionwise aggregation: each partition's partial state has one model,
-- the combine function finds two (deterministically, in this backend).
CREATE TABLE parted (user_id bigint, item_id bigint, action text, ts timestamptz)
  PARTITION BY LIST ((user_id % 2));
CREATE TABLE parted0 PARTITION OF parted FOR VALUES IN (0);
CREATE TABLE parted1 PARTITION OF parted FOR VALUES IN (1);
INSERT INTO parted SELECT * FROM iv.behaviours;
ANALYZE parted;
SET enable_partitionwise_aggregate = on;
SET max_parallel_workers_per_gather = 0;
SELECT plan_of($$SELECT user_id / 100, coldstart.interest_vector((SELECT model FROM coldstart.models
                                                                   WHERE name = 'iv' AND active),
                                                                  item_id, action, ts)
                 FROM parted GROUP BY 1$$);
-- one model: combined partial states equal the serial result
SELECT count(*) AS groups,
       max(max_diff(p.u, (SELECT coldstart.interest_vector(model_of('ivh'), item_id, action, ts)
                          FROM iv.behaviours AS b WHERE b.user_id / 100 = p.g))) < 1e-6 AS same
FROM (SELECT user_id / 100 AS g,
             coldstart.interest_vector((SELECT model FROM coldstart.models WHERE name = 'ivh' AND active),
                                       item_id, action, ts) AS u
      FROM parted GROUP BY 1) AS p;
-- two models
SELECT user_id / 100, coldstart.interest_vector(CASE WHEN user_id % 2 = 0 THEN model_of('iv') ELSE model_of('ivh') END,
                                                item_id, action, ts)
FROM parted GROUP BY 1;
RESET ALL;

-- bias_scale: the served score is u . v + bias_scale * b.  Without
-- validation users the training is the same whatever the scale (nothing is
-- chosen), so the model of bias_scale 2 holds exactly twice the biases of
-- the model of 1, the same vectors, and recommend() ranks by the scaled
-- score; "auto" has no validation users to choose with, so it keeps 1.
SET client_min_messages = warning;
SELECT s ->> 'bias_scale' AS scale, s -> 'options' ->> 'bias_scale' AS option
FROM (VALUES ('bs1', '1'), ('bs2', '2'), ('bsa', '"auto"')) AS v(name, scale),
     LATERAL coldstart.train(name, 'iv.behaviours', options => ('{"dim": 8, "epochs": 2, "seed": 3, "learning_rate": 0.05,
         "validation_fraction": 0, "bias_scale": ' || scale || '}')::jsonb) AS s
ORDER BY name;
RESET client_min_messages;
SELECT count(*) AS items,
       bool_and(coldstart.item_bias(model_of('bs2'), i) = 2 * coldstart.item_bias(model_of('bs1'), i)) AS biases_doubled,
       bool_and(coldstart.item_vector(model_of('bs2'), i) = coldstart.item_vector(model_of('bs1'), i)) AS same_vectors,
       bool_and(coldstart.item_bias(model_of('bsa'), i) = coldstart.item_bias(model_of('bs1'), i)) AS auto_kept_1,
       count(DISTINCT coldstart.item_bias(model_of('bs1'), i)) > 10 AS biases_differ
FROM (SELECT DISTINCT item_id AS i FROM iv.behaviours) AS t;
SELECT u.items, u.gap < 1e-4 AS scores_match, u.same_top10
FROM (SELECT coldstart.interest_vector(model_of('bs2'), item_id, action, ts) AS v
      FROM iv.behaviours WHERE user_id = 7) AS x,
     LATERAL compare_with_recommend('bs2', x.v, 7) AS u;
-- with validation users, "auto" picks one of its four scales, and the
-- summary says which
SET client_min_messages = warning;
SELECT s ->> 'bias_scale' IN ('1', '1.3', '1.6', '2') AS scale_chosen, s -> 'options' ->> 'bias_scale' AS option,
       (s ->> 'validation_users')::int > 0 AS had_validation_users
FROM coldstart.train('bsv', 'iv.behaviours', options => '{"dim": 8, "epochs": 2, "seed": 3, "learning_rate": 0.05,
         "validation_fraction": 0.2, "bias_scale": "auto"}') AS s;
RESET client_min_messages;
