--
-- Top-k selection in its worst case: scores that rise with the item id (as
-- when ids follow popularity), so that nearly every item displaces the
-- current k-th best.  Every top k must be the first k of the whole ranked
-- catalogue, which must itself be the catalogue ordered by score, ties to
-- the lower item id.
--
CREATE EXTENSION coldstart;
SET client_min_messages = warning;
CREATE SCHEMA tk;

-- item i (1..120) is viewed by users 1..i: popularity rises with the id,
-- and user u has seen items u..120
CREATE TABLE tk.items (item_id bigint PRIMARY KEY, kind text NOT NULL);
INSERT INTO tk.items SELECT i, 'k' || i % 3 FROM generate_series(1, 120) i;
CREATE TABLE tk.behaviours (user_id bigint, item_id bigint, action text, ts timestamptz);
INSERT INTO tk.behaviours
SELECT u, i, 'pv', '2026-01-01 00:00+00'::timestamptz + (u * 200 + i) * interval '1 minute'
FROM generate_series(1, 120) i, generate_series(1, 120) u WHERE u <= i;
SELECT count(*) AS behaviours FROM tk.behaviours;

SELECT s -> 'items' AS items
FROM coldstart.train('tk', 'tk.behaviours', 'tk.items',
                     options => '{"dim": 8, "epochs": 5, "learning_rate": 0.02, "seed": 3, "max_prefixes": 20,
                                  "target_balance": 0, "dropout": 0, "l2": 0.0001, "history_prior": 1,
                                  "patience": 5, "validation_fraction": 0}') s;

-- the whole catalogue, ranked, for an empty session, a user and an item
CREATE TABLE tk.full (what text, item_id bigint, score float8, probability float8, rank int);
INSERT INTO tk.full SELECT 'session', * FROM coldstart.recommend_for_items('{}', k => 10000, model => 'tk');
INSERT INTO tk.full SELECT 'user', * FROM coldstart.recommend(100, 10000, 'tk');
INSERT INTO tk.full SELECT 'item', * FROM coldstart.similar_items(7, 10000, 'tk');
SELECT what, count(*) AS items FROM tk.full GROUP BY what ORDER BY what;
-- the worst case it is meant to be: user 100 has seen items 100..120 and
-- goes on to like the items that co-occur most with them, the highest ids
-- of 1..99: scores rise with the id, so most items enter the heap
SELECT round(corr(item_id, score)::numeric, 2) >= 0.9 AS scores_rise_with_id,
       avg((score > prev_score)::int) >= 0.75 AS mostly_above_the_previous_id
FROM (SELECT item_id, score, lag(score) OVER (ORDER BY item_id) AS prev_score
      FROM tk.full WHERE what = 'user') s
WHERE prev_score IS NOT NULL;
-- the ranks are the order by score, ties to the lower id
SELECT what, bool_and(rank = n) AS ranked_by_score
FROM (SELECT what, rank, row_number() OVER (PARTITION BY what ORDER BY score DESC, item_id) AS n FROM tk.full) s
GROUP BY what ORDER BY what;

-- every top k is the first k of the whole list, items and scores
CREATE FUNCTION tk.prefix_ok(what text, k int) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
	got text;
	want text;
BEGIN
	EXECUTE format('SELECT string_agg(item_id || '':'' || score || '':'' || probability, '' '' ORDER BY rank) FROM %s',
	               CASE what
	                   WHEN 'session' THEN format('coldstart.recommend_for_items(%L, k => %s, model => %L)', '{}', k, 'tk')
	                   WHEN 'user' THEN format('coldstart.recommend(100, %s, %L)', k, 'tk')
	                   ELSE format('coldstart.similar_items(7, %s, %L)', k, 'tk') END)
	INTO got;
	SELECT string_agg(item_id || ':' || score || ':' || probability, ' ' ORDER BY rank) INTO want
	FROM tk.full f WHERE f.what = prefix_ok.what AND f.rank <= k;
	RETURN got = want;
END
$$;
SELECT w AS what, array_agg(k ORDER BY k) FILTER (WHERE NOT tk.prefix_ok(w, k)) AS wrong_k,
       count(*) AS k_tried
FROM unnest(ARRAY['item', 'session', 'user']) w, unnest(ARRAY[1, 2, 3, 5, 10, 17, 32, 64, 98, 99, 100, 118, 119, 120]) k
GROUP BY w ORDER BY w;

-- ties: items added after training with the same features get the same
-- vector, so the same score; among them the lower id wins, also when k
-- cuts through them (8 of them: OpenBLAS's sgemv works on blocks of rows,
-- and may round a last partial block differently)
INSERT INTO tk.items SELECT i, 'k1' FROM generate_series(2001, 2008) i;
SELECT coldstart.refresh_items('tk') AS refreshed;
CREATE TABLE tk.ties AS
SELECT * FROM coldstart.recommend_for_items('{}', k => 10000, model => 'tk') WHERE item_id > 2000;
SELECT count(DISTINCT score) AS distinct_scores, array_agg(item_id ORDER BY rank) AS in_rank_order,
       max(rank) - min(rank) AS consecutive
FROM tk.ties;
SELECT n AS tied_in_top_k, array_agg(item_id ORDER BY rank) FILTER (WHERE item_id > 2000) AS tied_items
FROM generate_series(1, 7, 3) n,
     LATERAL coldstart.recommend_for_items('{}', k => (SELECT min(rank) - 1 + n FROM tk.ties), model => 'tk')
GROUP BY n ORDER BY n;
DELETE FROM tk.full WHERE what = 'session';
INSERT INTO tk.full SELECT 'session', * FROM coldstart.recommend_for_items('{}', k => 10000, model => 'tk');
SELECT count(*) AS items, count(*) FILTER (WHERE NOT tk.prefix_ok('session', k)) AS wrong_prefixes_with_ties
FROM tk.full, generate_series(1, 128) k WHERE what = 'session' AND rank = k;

DELETE FROM coldstart.models WHERE name = 'tk';
DROP SCHEMA tk CASCADE;
