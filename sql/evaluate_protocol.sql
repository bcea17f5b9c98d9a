--
-- coldstart.evaluate(), protocol CS-1, on fixtures small enough that the
-- right answers of the baselines are computed by hand below; the seeded
-- split (same seed, same test users; another seed, others; validation users
-- never test users); coldstart and coldstart_live give sane figures and
-- leave nothing behind; the baselines against a second implementation in
-- plain SQL (fixture 3); what coldstart learns from attributes and from
-- revealed items reaches its figures (fixture 4); bad input.
--
-- Notation: IDCG(n) = sum over r = 1..n of 1/log2(r + 1):
--   1/log2(2) = 1, 1/log2(3) = 0.630930, 1/log2(4) = 0.5, 1/log2(5) = 0.430677,
--   1/log2(6) = 0.386853, 1/log2(7) = 0.356207, 1/log2(8) = 0.333333,
--   1/log2(9) = 0.315465, 1/log2(10) = 0.301030, 1/log2(11) = 0.289065;
--   IDCG(2) = 1.630930, IDCG(3) = 2.130930, IDCG(7) = 3.638000,
--   IDCG(9) = 4.254495, IDCG(10) = 4.543559.
-- (Ratios below are computed exactly, then rounded to 6 places.)
--
CREATE EXTENSION coldstart;
SET client_min_messages = notice;
CREATE SCHEMA ev;

-- ---------------------------------------------------------------------
-- Fixture 1: two test users, the baselines computed by hand
-- ---------------------------------------------------------------------
-- Background users 101..109: user 100 + k has items 1..k (fewer than 10
-- items: never eligible).  Popularity from them alone: item i (1..9) has
-- 10 - i users; every other item 0.
-- Test user 1 (A): items 2, 4, ..., 24 in this order (12 items), and item 2
-- viewed again at the end (a pair's time is its first behaviour).
-- Test user 2 (B): items 1 and 30 at the same time (so 1 comes first: ties
-- in time go to the lower id), then 29, 28, 3, 5, 27, 26, 25, 11 (10 items).
-- Catalogue: 1..12, 14, 16, 18, 20, 22, 24, 25..30: 24 items.
CREATE TABLE ev.b (user_id bigint, item_id bigint, action text, ts timestamptz);
INSERT INTO ev.b
SELECT 100 + k, i, 'pv', '2026-01-01 00:00+00'::timestamptz + (k * 20 + i) * interval '1 hour'
FROM generate_series(1, 9) k, generate_series(1, 9) i WHERE i <= k;
INSERT INTO ev.b
SELECT 1, 2 * j, CASE WHEN j % 3 = 0 THEN 'buy' ELSE 'pv' END,
       '2026-02-01 00:00+00'::timestamptz + j * interval '1 hour'
FROM generate_series(1, 12) j;
INSERT INTO ev.b VALUES (1, 2, 'pv', '2026-03-01 00:00+00');
INSERT INTO ev.b
SELECT 2, item, 'pv', '2026-02-01 00:00+00'::timestamptz + greatest(n - 1, 1) * interval '1 hour'
FROM unnest(ARRAY[1, 30, 29, 28, 3, 5, 27, 26, 25, 11]) WITH ORDINALITY AS t(item, n);
-- items: genre even or odd, for the content baseline
CREATE TABLE ev.items (item_id bigint PRIMARY KEY, genre text NOT NULL);
INSERT INTO ev.items SELECT DISTINCT item_id, CASE WHEN item_id % 2 = 0 THEN 'even' ELSE 'odd' END FROM ev.b;
SELECT count(*) AS catalogue, count(*) FILTER (WHERE genre = 'even') AS even FROM ev.items;
-- users 1 and 2 are the only eligible ones; test_fraction 0.9 makes both
-- test users (ceil(0.9 * 2) = 2), whatever the seed
SELECT user_id, count(DISTINCT item_id) AS items FROM ev.b GROUP BY user_id HAVING count(DISTINCT item_id) >= 10 ORDER BY 1;

-- Popularity, by hand.  Scores are distinct training users; ties go to the
-- lower item id; every item but the revealed ones is ranked.
--
-- n = 0 (nothing revealed; training = background only)
--   ranking: 1..9 (popularity 9..1), then 10, 11, 12, 14, 16, 18, 20, 22,
--   24, 25, 26 (popularity 0): top 10 = 1..10.
--   A: targets all 12; hits at ranks 2, 4, 6, 8, 10: P = 0.5; top 20 holds
--      all 12: R = 1; DCG = 0.630930 + 0.430677 + 0.356207 + 0.315465 +
--      0.289065 = 2.022344, NDCG = 2.022344 / IDCG(10) = 0.445101.
--   B: targets all 10; hits 1, 3, 5 at ranks 1, 3, 5: P = 0.3; top 20 holds
--      1, 3, 5, 11, 25, 26: R = 6/10 = 0.6; DCG = 1 + 0.5 + 0.386853,
--      NDCG = 1.886853 / IDCG(10) = 0.415281.
--   P = 0.4, R = 0.8, NDCG = 0.430191; coverage: {1..10} = 10/24 = 0.416667.
-- n = 1 (A reveals 2, B reveals 1): popularity 1:10, 2:9, 3:7, 4:6, 5:5,
--   6:4, 7:3, 8:2, 9:1.
--   A (without 2): 1, 3, 4, 5, 6, 7, 8, 9, 10, 11 | 12, 14, ..., 24, 25, 26,
--      27; targets 4, 6, ..., 24 (11): hits 4, 6, 8, 10 at 3, 5, 7, 9:
--      P = 0.4; R = 11/11 = 1; DCG = 0.5 + 0.386853 + 0.333333 + 0.301030
--      = 1.521216, NDCG = 1.521216 / IDCG(10) = 0.334807.
--   B (without 1): 2, 3, ..., 11 | 12, 14, ..., 24, 25, 26, 27; targets 30,
--      29, 28, 3, 5, 27, 26, 25, 11 (9): hits 3, 5, 11 at 2, 4, 10: P = 0.3;
--      top 20 adds 25, 26, 27: R = 6/9; DCG = 0.630930 + 0.430677 +
--      0.289065 = 1.350672, NDCG = 1.350672 / IDCG(9) = 0.317469.
--   P = 0.35, R = 0.833333, NDCG = 0.326138; coverage {1..11} = 11/24 = 0.458333.
--   (Had B revealed 30 instead of 1, item 1 would be a hit at rank 1.)
-- n = 3 (A reveals 2, 4, 6; B reveals 1, 30, 29): popularity 1:10, 2:9,
--   3:7, 4:7, 5:5, 6:5, 7:3, 8:2, 9:1, 29:1, 30:1.
--   A: 1, 3, 5, 7, 8, 9, 29, 30, 10, 11 | 12, ..., 27; targets 8, 10, ...,
--      24 (9): hits 8, 10 at 5, 9: P = 0.2; R = 9/9 = 1; DCG = 0.386853 +
--      0.301030 = 0.687883, NDCG = 0.687883 / IDCG(9) = 0.161684.
--   B: 2, 3, ..., 11 | 12, ..., 27; targets 28, 3, 5, 27, 26, 25, 11 (7):
--      hits 3, 5, 11 at 2, 4, 10: P = 0.3; R = 6/7; DCG = 1.350672,
--      NDCG = 1.350672 / IDCG(7) = 0.371268.
--   P = 0.25, R = 0.928571, NDCG = 0.266476; coverage {1..11, 29, 30} =
--   13/24 = 0.541667.
--
-- Content (overlap of the genre with the revealed items, ties by popularity
-- then id) is popularity at n = 0.
-- n = 1: A revealed 2 (even): the even items first, by popularity: 4, 6, 8,
--   10, 12, ..., 22 | 24, 26, 28, 30, then the odd ones: all 10 are hits:
--   P = 1, R = 1, NDCG = 1.
--   B revealed 1 (odd): 3, 5, 7, 9, 11, 25, 27, 29, then 2, 4 | 6, 8, ...,
--   24: hits 3, 5, 11, 25, 27, 29 at 1, 2, 5, 6, 7, 8: P = 0.6, R = 6/9;
--   DCG = 1 + 0.630930 + 0.386853 + 0.356207 + 0.333333 + 0.315465 =
--   3.022788, NDCG = 3.022788 / IDCG(9) = 0.710493.
--   P = 0.8, R = 0.833333, NDCG = 0.855246; coverage: {4, ..., 22} and
--   {3, 5, 7, 9, 11, 25, 27, 29, 2, 4}: 19/24 = 0.791667.
-- n = 3: A (2, 4, 6 revealed): 8, 30, 10, 12, ..., 24 | 26, 28, then odd:
--   hits at 1, 3..10: P = 0.9, R = 1; DCG = 1 + (IDCG(10) - 1 - 0.630930)
--   = 3.912630, NDCG = 3.912630 / IDCG(9) = 0.919646.
--   B (1, 30, 29 revealed: odd twice, even once): 3, 5, 7, 9, 11, 25, 27,
--   then 2, 4, 6 | 8, 10, ..., 24, 26: hits 3, 5, 11, 25, 27 at 1, 2, 5, 6,
--   7: P = 0.5; 26 at 20: R = 6/7; DCG = 1 + 0.630930 + 0.386853 + 0.356207
--   + 0.333333 = 2.707323, NDCG = 2.707323 / IDCG(7) = 0.744179.
--   P = 0.7, R = 0.928571, NDCG = 0.831913; coverage 20/24 = 0.833333.
--
-- Item-kNN (sum over the revealed items i of co(i, x) / sqrt(pop(i) pop(x)))
-- ranks like popularity on this fixture.  n = 1: for A (2 revealed),
-- 3: 7/sqrt(63) = 0.882, 1: 8/sqrt(90) = 0.843, 4: 6/sqrt(54) = 0.816,
-- 5: 0.745, 6: 0.667, 7: 0.577, 8: 0.471, 9: 0.333, then 10, 11, ...: the
-- same hits at the same ranks; for B (1 revealed) 2, 3, ..., 9 in order,
-- then 10, 11.  n = 3: for A, 3 (2.415), 5 (2.391), 1 (2.126), 7 (2.007),
-- 8 (1.638), 9 (1.159), 29, 30, 10, 11; for B, 2, 3, ..., 11.  So its rows
-- equal popularity's.
SELECT method, revealed, users, round(precision_at_10::numeric, 6) AS p10, round(recall_at_20::numeric, 6) AS r20,
       round(ndcg_at_10::numeric, 6) AS ndcg10, round(coverage_at_10::numeric, 6) AS cov10
FROM coldstart.evaluate('ev.b', 'ev.items', options => '{"methods": ["popularity", "content", "item_knn"],
                                                         "revealed": [3, 0, 1], "test_fraction": 0.9, "seed": 1}')
ORDER BY method, revealed;
-- the same without the items table: the catalogue is every item with
-- behaviours (the same 24), and content without features is popularity
SELECT method, revealed, users, round(precision_at_10::numeric, 6) AS p10, round(recall_at_20::numeric, 6) AS r20,
       round(ndcg_at_10::numeric, 6) AS ndcg10, round(coverage_at_10::numeric, 6) AS cov10
FROM coldstart.evaluate('ev.b', options => '{"methods": ["content", "popularity"], "revealed": [1], "test_fraction": 0.9, "seed": 2}')
ORDER BY method, revealed;

-- With "catalogue": "trained", only the items some training user has (1..9
-- here: the others only test users touched) are ranked or count as
-- targets.  IDCG(4) = 2.561606.
-- n = 0: A: ranking 1..9; targets in the catalogue 2, 4, 6, 8, hits at 2,
--   4, 6, 8: P = 0.4, R = 4/4 = 1, NDCG = (0.630930 + 0.430677 + 0.356207
--   + 0.315465) / IDCG(4) = 1.733278 / 2.561606 = 0.676637.
--   B: targets 1, 3, 5 at 1, 3, 5: P = 0.3, R = 1, NDCG = 1.886853 /
--   IDCG(3) = 0.885460.
--   P = 0.35, R = 1, NDCG = 0.781049; coverage {1..9} / 9 items = 1.
-- n = 1: A (2 revealed): 1, 3, 4, ..., 9; targets 4, 6, 8 at 3, 5, 7:
--   P = 0.3, R = 1, NDCG = (0.5 + 0.386853 + 0.333333) / IDCG(3) =
--   0.572607.  B (1 revealed): 2, ..., 9; targets 3, 5 at 2, 4: P = 0.2,
--   R = 1, NDCG = (0.630930 + 0.430677) / IDCG(2) = 0.650921.
--   P = 0.25, R = 1, NDCG = 0.611764; coverage 9/9 = 1.
SELECT method, revealed, users, round(precision_at_10::numeric, 6) AS p10, round(recall_at_20::numeric, 6) AS r20,
       round(ndcg_at_10::numeric, 6) AS ndcg10, round(coverage_at_10::numeric, 6) AS cov10
FROM coldstart.evaluate('ev.b', 'ev.items', options => '{"methods": ["popularity"], "catalogue": "trained",
                                                         "revealed": [0, 1], "test_fraction": 0.9, "seed": 1}')
ORDER BY method, revealed;
-- a test user none of whose later items any training user has is left out
-- ("users" counts who was evaluated): with 3 items revealed, A's targets
-- hold 8 and B's hold 3 and 5; with 9 revealed, A has 20, 22, 24 left and
-- B has 11, which only test users have: nobody is evaluated
SELECT revealed, users FROM coldstart.evaluate('ev.b', 'ev.items', options => '{"methods": ["popularity"],
    "catalogue": "trained", "revealed": [3, 9], "test_fraction": 0.9, "seed": 1}') ORDER BY revealed;

-- ---------------------------------------------------------------------
-- Fixture 2: item-kNN and content differ from popularity
-- ---------------------------------------------------------------------
-- Items 1..6; users 10..15 (2 items each, never eligible with min_items 3):
-- {1,2} twice, {3,4}, {3,5}, {3,6} twice; test user 1: 1, 2, 5 in order.
-- Genres: 1, 2, 5 are "a", 3, 4, 6 "b".
-- n = 0: popularity 3:4, 1:2, 2:2, 6:2, 4:1, 5:1: ranking 3, 1, 2, 6, 4, 5;
--   targets 1, 2, 5 at 2, 3, 6: P = 3/10 = 0.3, R = 3/3 = 1, NDCG =
--   (0.630930 + 0.5 + 0.356207) / IDCG(3) = 1.487137 / 2.130930 = 0.697882;
--   coverage 6/6 = 1 (all three methods).
-- n = 1 (1 revealed; popularity 3:4, 1:3, 2:2, 6:2, 4:1, 5:1), targets 2, 5:
--   popularity: 3, 2, 6, 4, 5: hits at 2, 5: P = 0.2, R = 1, NDCG =
--     (0.630930 + 0.386853) / IDCG(2) = 1.017783 / 1.630930 = 0.624051.
--   item_knn: 2 (2/sqrt(3 * 2)), then popularity: 3, 6, 4, 5: hits at 1,
--     5: NDCG = (1 + 0.386853) / 1.630930 = 0.850345.
--   content: the "a" items 2, 5 first: hits at 1, 2: NDCG = 1.
--   coverage 5/6 = 0.833333.
CREATE TABLE ev.b2 (user_id bigint, item_id bigint, action text, ts timestamptz);
INSERT INTO ev.b2 VALUES
  (10, 1, 'pv', '2026-01-01 00:00+00'), (10, 2, 'pv', '2026-01-01 01:00+00'),
  (11, 1, 'pv', '2026-01-01 00:00+00'), (11, 2, 'pv', '2026-01-01 01:00+00'),
  (12, 3, 'pv', '2026-01-01 00:00+00'), (12, 4, 'pv', '2026-01-01 01:00+00'),
  (13, 3, 'pv', '2026-01-01 00:00+00'), (13, 5, 'pv', '2026-01-01 01:00+00'),
  (14, 3, 'pv', '2026-01-01 00:00+00'), (14, 6, 'pv', '2026-01-01 01:00+00'),
  (15, 3, 'pv', '2026-01-01 00:00+00'), (15, 6, 'pv', '2026-01-01 01:00+00'),
  (1, 1, 'pv', '2026-01-02 00:00+00'), (1, 2, 'pv', '2026-01-02 01:00+00'), (1, 5, 'buy', '2026-01-02 02:00+00');
CREATE TABLE ev.items2 (item_id bigint, genre text);
INSERT INTO ev.items2 VALUES (1, 'a'), (2, 'a'), (3, 'b'), (4, 'b'), (5, 'a'), (6, 'b');
SELECT method, revealed, users, round(precision_at_10::numeric, 6) AS p10, round(recall_at_20::numeric, 6) AS r20,
       round(ndcg_at_10::numeric, 6) AS ndcg10, round(coverage_at_10::numeric, 6) AS cov10
FROM coldstart.evaluate('ev.b2', 'ev.items2', options => '{"methods": ["popularity", "content", "item_knn"],
                                                           "revealed": [0, 1], "min_items": 3, "seed": 9}')
ORDER BY method, revealed;
-- n at least a user's item count: nobody is left to evaluate
SELECT method, revealed, users, precision_at_10, coverage_at_10
FROM coldstart.evaluate('ev.b2', 'ev.items2', options => '{"methods": ["popularity"], "revealed": [3, 2], "min_items": 3}')
ORDER BY revealed;

-- ---------------------------------------------------------------------
-- The split is seeded
-- ---------------------------------------------------------------------
-- 50 background users with items 1..10 (10 items: not eligible with
-- min_items 12) make items 1..10 the top 10 for every split.  Eligible user
-- j (1..10) has items 1..j and 12 - j items of its own: at n = 0 its P@10
-- is j/10, so P@10 * 10 names the one test user (ceil(0.1 * 10) = 1).
CREATE TABLE ev.b3 (user_id bigint, item_id bigint, action text, ts timestamptz);
INSERT INTO ev.b3
SELECT 1000 + b, i, 'pv', '2026-01-01 00:00+00'::timestamptz + (b * 20 + i) * interval '1 minute'
FROM generate_series(1, 50) b, generate_series(1, 10) i;
INSERT INTO ev.b3
SELECT j, CASE WHEN n <= j THEN n ELSE 100 + 20 * j + n END, 'pv',
       '2026-02-01 00:00+00'::timestamptz + (j * 20 + n) * interval '1 minute'
FROM generate_series(1, 10) j, generate_series(1, 12) n;
CREATE FUNCTION ev.test_user(seed int, split text DEFAULT 'test') RETURNS int LANGUAGE sql AS $$
	SELECT (round(precision_at_10 * 10))::int
	FROM coldstart.evaluate('ev.b3', options => jsonb_build_object('methods', '["popularity"]'::jsonb,
	                        'revealed', '[0]'::jsonb, 'min_items', 12, 'test_fraction', 0.1,
	                        'seed', seed, 'split', split))
$$;
SET client_min_messages = warning;
SELECT seed, ev.test_user(seed) AS test_user, ev.test_user(seed) = ev.test_user(seed) AS same_again,
       ev.test_user(seed, 'validation') AS validation_user
FROM generate_series(1, 6) seed ORDER BY seed;
SELECT count(DISTINCT ev.test_user(seed)) >= 3 AS seeds_pick_different_users,
       bool_and(ev.test_user(seed) <> ev.test_user(seed, 'validation')) AS validation_user_never_the_test_user
FROM generate_series(1, 6) seed;
SET client_min_messages = notice;

-- ---------------------------------------------------------------------
-- coldstart and coldstart_live on fixture 1: sane figures, and nothing
-- left behind.  At n = 0 both are trained on the background users alone,
-- with the same options and seed, and serve an empty history: the same
-- figures.
-- ---------------------------------------------------------------------
CREATE TABLE ev.cs AS
SELECT * FROM coldstart.evaluate('ev.b', 'ev.items', options => '{"methods": ["coldstart", "coldstart_live", "popularity"],
    "revealed": [0, 1, 3], "test_fraction": 0.9, "seed": 1, "dim": 8, "epochs": 3, "learning_rate": 0.01,
    "max_prefixes": 0, "target_balance": 0.5, "dropout": 0, "l2": 0.0001, "history_prior": 1, "patience": 3,
    "validation_fraction": 0.1}');
SELECT method, revealed, users,
       precision_at_10 BETWEEN 0 AND 1 AND recall_at_20 BETWEEN 0 AND 1 AND ndcg_at_10 BETWEEN 0 AND 1 AS in_range,
       coverage_at_10 BETWEEN 10.0 / 24 AND 20.0 / 24 AS coverage_of_2_lists,
       abs(precision_at_10 * 20 - round(precision_at_10 * 20)) < 1e-9 AS p10_in_twentieths
FROM ev.cs ORDER BY method, revealed;
SELECT a.revealed, (a.precision_at_10, a.recall_at_20, a.ndcg_at_10, a.coverage_at_10)
                   = (b.precision_at_10, b.recall_at_20, b.ndcg_at_10, b.coverage_at_10) AS live_equals_retrained
FROM ev.cs a JOIN ev.cs b USING (revealed)
WHERE a.method = 'coldstart' AND b.method = 'coldstart_live' AND a.revealed = 0;
SELECT count(*) AS models_left FROM coldstart.models;
SELECT count(*) AS temp_tables_left FROM pg_class WHERE relname LIKE 'coldstart_evaluate%';

-- ---------------------------------------------------------------------
-- Bad input
-- ---------------------------------------------------------------------
SET client_min_messages = warning;
CREATE TABLE ev.one AS
SELECT 1::bigint AS user_id, g::bigint AS item_id, 'pv'::text AS action,
       '2024-01-01'::timestamptz + g * interval '1 minute' AS ts
FROM generate_series(1, 12) g;
CREATE FUNCTION ev.try(sql text) RETURNS text LANGUAGE plpgsql AS $$
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
	-- the list of valid options grows with tuning: say only whether it
	-- includes evaluate()'s own, which it lists last
	IF detail LIKE 'Valid options are: columns, %' THEN
		detail := 'Valid options are: ... '
			|| CASE WHEN detail LIKE '%, promote_if_better, test_fraction, min_items, revealed, methods, catalogue.'
			        THEN '(train()''s, then test_fraction, min_items, revealed, methods, catalogue)'
			        WHEN detail LIKE '%, promote_if_better.' THEN '(train()''s only)'
			        ELSE detail END;
	END IF;
	RETURN state || ' ' || msg
		|| CASE WHEN detail <> '' THEN E'\nDETAIL: ' || detail ELSE '' END
		|| CASE WHEN hint <> '' THEN E'\nHINT: ' || hint ELSE '' END;
END
$$;
SELECT n, what, ev.try(format('SELECT * FROM coldstart.evaluate(%s)', args)) AS result
FROM (VALUES
  (1, 'behaviours NULL', $$NULL$$),
  (2, 'behaviours missing', $$'ev.nope'$$),
  (3, 'options not an object', $$'ev.b2', options => '[1]'$$),
  (4, 'an unknown option, with the valid ones', $$'ev.b2', options => '{"metods": ["popularity"]}'$$),
  (5, 'split unknown', $$'ev.b2', options => '{"split": "train"}'$$),
  (6, 'split a number', $$'ev.b2', options => '{"split": 1}'$$),
  (7, 'test_fraction 0.95', $$'ev.b2', options => '{"test_fraction": 0.95}'$$),
  (8, 'test_fraction 0', $$'ev.b2', options => '{"test_fraction": 0}'$$),
  (9, 'min_items 1', $$'ev.b2', options => '{"min_items": 1}'$$),
  (10, 'min_items a fraction', $$'ev.b2', options => '{"min_items": 2.5}'$$),
  (11, 'revealed empty', $$'ev.b2', options => '{"revealed": []}'$$),
  (12, 'revealed -1', $$'ev.b2', options => '{"revealed": [-1]}'$$),
  (13, 'revealed 1.5', $$'ev.b2', options => '{"revealed": [1.5]}'$$),
  (14, 'revealed 1001', $$'ev.b2', options => '{"revealed": [1001]}'$$),
  (15, 'revealed a string', $$'ev.b2', options => '{"revealed": ["1"]}'$$),
  (16, 'revealed a number', $$'ev.b2', options => '{"revealed": 1}'$$),
  (17, 'methods empty', $$'ev.b2', options => '{"methods": []}'$$),
  (18, 'methods unknown', $$'ev.b2', options => '{"methods": ["popularity", "random"]}'$$),
  (19, 'methods a string', $$'ev.b2', options => '{"methods": "popularity"}'$$),
  (20, 'methods with a number', $$'ev.b2', options => '{"methods": [1]}'$$),
  (21, 'a training option out of range', $$'ev.b2', options => '{"dim": 0}'$$),
  (22, 'no eligible user', $$'ev.b2', options => '{"methods": ["popularity"]}'$$),
  (23, 'no eligible user for validation', $$'ev.b2', options => '{"methods": ["popularity"], "min_items": 3, "split": "validation"}'$$),
  (24, 'catalogue unknown', $$'ev.b', options => '{"catalogue": "everything"}'$$),
  (25, 'catalogue a number', $$'ev.b', options => '{"catalogue": 1}'$$),
  (26, 'every user held out, none to train on', $$'ev.one', options => '{"methods": ["popularity"]}'$$)
) AS t(n, what, args)
ORDER BY n;

-- the names evaluate() works under are its own: train() refuses the
-- prefix, and a temporary table of the name it would take is left alone
SELECT ev.try($$SELECT coldstart.train('coldstart_evaluate_7', 'ev.b')$$) AS train_reserved_name;
DO $$ BEGIN
	EXECUTE format('CREATE TEMP TABLE coldstart_evaluate_%s AS SELECT 42 AS mine', pg_backend_pid());
END $$;
SELECT method, revealed, users FROM coldstart.evaluate('ev.b', 'ev.items', options => '{"methods": ["coldstart_live"],
    "revealed": [1], "test_fraction": 0.9, "seed": 1, "dim": 8, "epochs": 2, "max_prefixes": 0}');
SELECT count(*) AS models_left FROM coldstart.models;
-- a model stored under that name before train() refused it (here: by hand)
-- is left alone, and the live method refused before any work
SELECT coldstart.train('ev_keep', 'ev.b', options => '{"dim": 4, "epochs": 1}') IS NOT NULL AS trained;
UPDATE coldstart.models SET name = 'coldstart_evaluate_' || pg_backend_pid() WHERE name = 'ev_keep';
SELECT regexp_replace(ev.try($$SELECT * FROM coldstart.evaluate('ev.b', options => '{"methods": ["coldstart_live"], "test_fraction": 0.9}')$$),
                      '_[0-9]+"', '_<pid>"') AS live_refused;
SELECT count(*) AS still_there FROM coldstart.models WHERE name = 'coldstart_evaluate_' || pg_backend_pid();
DELETE FROM coldstart.models WHERE name = 'coldstart_evaluate_' || pg_backend_pid();
DELETE FROM coldstart.training_runs WHERE name = 'ev_keep';
SELECT relname = 'coldstart_evaluate_' || pg_backend_pid() AS only_mine_is_left
FROM pg_class WHERE relname LIKE 'coldstart_evaluate%';
DO $$
DECLARE
	v int;
BEGIN
	EXECUTE format('SELECT mine FROM coldstart_evaluate_%s', pg_backend_pid()) INTO v;
	RAISE WARNING 'my temporary table still holds %', v;
END $$;
-- in a read-only transaction: the live method cannot run, the others can
BEGIN READ ONLY;
SELECT ev.try($$SELECT * FROM coldstart.evaluate('ev.b', options => '{"methods": ["coldstart_live"], "test_fraction": 0.9}')$$) AS live_read_only;
SELECT count(*) AS popularity_rows FROM coldstart.evaluate('ev.b', options => '{"methods": ["popularity"], "test_fraction": 0.9}');
ROLLBACK;
-- evaluate()'s own options are not train()'s
SELECT ev.try($$SELECT coldstart.train('x', 'ev.b2', options => '{"methods": ["popularity"]}')$$) AS train_with_methods;
SELECT ev.try($$SELECT coldstart.train('x', 'ev.b2', options => '{"split": "test"}')$$) AS train_with_split;
SELECT ev.try($$SELECT coldstart.train('x', 'ev.b2', options => '{"catalogue": "trained"}')$$) ~ '^22023 unknown option "catalogue"' AS train_with_catalogue_refused;

-- ---------------------------------------------------------------------
-- Fixture 3, checked against a second implementation of the baselines
-- written here in plain SQL: 9 test users with 16 to 33 distinct items
-- (so more than 20 targets), repeated behaviours, 25 background users with
-- fewer than 10 items (the training users), and an items table with 10
-- items nobody touched (ranked, and counted in coverage).  With
-- test_fraction 0.9, ceil(0.9 * 9) = 9: every eligible user is a test user.
-- ---------------------------------------------------------------------
CREATE TABLE ev.r (user_id bigint, item_id bigint, action text, ts timestamptz);
INSERT INTO ev.r
SELECT u, 1 + abs(hashint4(u * 1000 + j)) % 60, CASE WHEN j % 5 = 0 THEN 'cart' ELSE 'pv' END,
       '2026-03-01'::timestamptz + (u * 100 + j / 2) * interval '1 minute'   -- pairs of equal times
FROM generate_series(1, 9) u, generate_series(1, 12 + u * 4) j;
INSERT INTO ev.r
SELECT 100 + b, 1 + abs(hashint4(b * 77 + j)) % 60, 'pv', '2026-02-01'::timestamptz + (b * 10 + j) * interval '1 minute'
FROM generate_series(1, 25) b, generate_series(1, 2 + b % 7) j;
CREATE TABLE ev.r_items AS SELECT i AS item_id FROM generate_series(1, 70) i;
-- the test users' distinct items in order (first time, then item id)
CREATE TABLE ev.r_seq AS
SELECT user_id, item_id, row_number() OVER (PARTITION BY user_id ORDER BY min(ts), item_id) AS pos
FROM ev.r WHERE user_id < 100 GROUP BY user_id, item_id;
SELECT count(*) AS test_users, min(c) AS fewest_items, max(c) AS most_items
FROM (SELECT user_id, count(*) AS c FROM ev.r_seq GROUP BY user_id) s;
SELECT count(DISTINCT user_id) FILTER (WHERE c >= 10) AS eligible_background_users
FROM (SELECT user_id, count(DISTINCT item_id) AS c FROM ev.r WHERE user_id >= 100 GROUP BY user_id) s;
-- training data at n: the background users, and the first n items of every test user
CREATE FUNCTION ev.r_train(n int) RETURNS TABLE (user_id bigint, item_id bigint) LANGUAGE sql AS $$
	SELECT DISTINCT user_id, item_id FROM ev.r WHERE user_id >= 100
	UNION SELECT user_id, item_id FROM ev.r_seq WHERE pos <= n
$$;
-- scores of every catalogue item for every test user at n, by method
CREATE FUNCTION ev.r_scores(n int) RETURNS TABLE (method text, user_id bigint, item_id bigint, score float8, pop bigint)
LANGUAGE sql AS $$
	WITH t AS (SELECT * FROM ev.r_train(n)),
	pop AS (SELECT i.item_id, count(t.user_id) AS pop FROM ev.r_items i LEFT JOIN t USING (item_id) GROUP BY i.item_id),
	rev AS (SELECT user_id, item_id FROM ev.r_seq WHERE pos <= n),
	co AS (SELECT a.item_id AS i, b.item_id AS x, count(*) AS co FROM t a JOIN t b USING (user_id) GROUP BY 1, 2),
	knn AS (SELECT r.user_id, co.x AS item_id,
	               sum(co.co / sqrt(pi.pop::float8 * px.pop))::real::float8 AS score
	        FROM rev r JOIN co ON co.i = r.item_id JOIN pop pi ON pi.item_id = co.i JOIN pop px ON px.item_id = co.x
	        GROUP BY 1, 2),
	users AS (SELECT DISTINCT user_id FROM ev.r_seq)
	SELECT 'popularity', u.user_id, p.item_id, p.pop::float8, p.pop FROM users u CROSS JOIN pop p
	UNION ALL
	SELECT 'item_knn', u.user_id, p.item_id, CASE WHEN n = 0 THEN p.pop ELSE coalesce(k.score, 0) END, p.pop
	FROM users u CROSS JOIN pop p LEFT JOIN knn k ON k.user_id = u.user_id AND k.item_id = p.item_id
$$;
-- the metrics, as CS-1 defines them
CREATE FUNCTION ev.r_metrics(n int) RETURNS TABLE (method text, revealed int, users bigint, p10 float8, r20 float8, ndcg10 float8, cov10 float8)
LANGUAGE sql AS $$
	WITH ranked AS (
		SELECT s.method, s.user_id, s.item_id,
		       row_number() OVER (PARTITION BY s.method, s.user_id ORDER BY s.score DESC, s.pop DESC, s.item_id) AS rank
		FROM ev.r_scores(n) s
		WHERE NOT EXISTS (SELECT FROM ev.r_seq q WHERE q.user_id = s.user_id AND q.item_id = s.item_id AND q.pos <= n)),
	targets AS (SELECT user_id, item_id FROM ev.r_seq WHERE pos > n),
	nt AS (SELECT user_id, count(*) AS nt FROM targets GROUP BY user_id),
	per_user AS (
		SELECT r.method, r.user_id, nt.nt,
		       count(*) FILTER (WHERE r.rank <= 10 AND t.item_id IS NOT NULL) AS h10,
		       count(*) FILTER (WHERE r.rank <= 20 AND t.item_id IS NOT NULL) AS h20,
		       coalesce(sum(1 / log(2, r.rank + 1.0)) FILTER (WHERE r.rank <= 10 AND t.item_id IS NOT NULL), 0) AS dcg,
		       (SELECT sum(1 / log(2, g + 1.0)) FROM generate_series(1, least(10, nt.nt)) g) AS idcg
		FROM ranked r JOIN nt USING (user_id) LEFT JOIN targets t ON t.user_id = r.user_id AND t.item_id = r.item_id
		GROUP BY r.method, r.user_id, nt.nt)
	SELECT p.method, n, count(*), avg(h10 / 10.0), avg(h20::float8 / least(20, nt)), avg(dcg / idcg),
	       (SELECT count(DISTINCT item_id) / 70.0 FROM ranked r WHERE r.method = p.method AND r.rank <= 10
	          AND r.user_id IN (SELECT user_id FROM nt))
	FROM per_user p GROUP BY p.method
$$;
CREATE TABLE ev.r_ref AS
SELECT m.* FROM generate_series(0, 5) n, LATERAL ev.r_metrics(n) m WHERE n IN (0, 1, 3, 5);
CREATE TABLE ev.r_got AS
SELECT * FROM coldstart.evaluate('ev.r', 'ev.r_items', options => '{"methods": ["popularity", "item_knn"], "test_fraction": 0.9}');
SELECT g.method, g.revealed, g.users = f.users AS same_users,
       abs(g.precision_at_10 - f.p10) < 1e-9 AS p10, abs(g.recall_at_20 - f.r20) < 1e-9 AS r20,
       abs(g.ndcg_at_10 - f.ndcg10) < 1e-9 AS ndcg10, abs(g.coverage_at_10 - f.cov10) < 1e-9 AS cov10,
       round(g.recall_at_20::numeric, 4) AS recall_at_20
FROM ev.r_got g JOIN ev.r_ref f ON f.method = g.method AND f.revealed = g.revealed
ORDER BY g.method, g.revealed;
-- more than 20 targets: recall is over 20, not over every target
SELECT count(*) FILTER (WHERE c - 5 > 20) AS users_with_over_20_targets_at_5 FROM (SELECT user_id, count(*) AS c FROM ev.r_seq GROUP BY user_id) s;

-- ---------------------------------------------------------------------
-- Fixture 4: what coldstart learns reaches its figures.  Three clusters of
-- 15 items; every user takes 12 items of one cluster, and has the cluster
-- as an attribute.  Popularity cannot tell the clusters apart; coldstart
-- can, from the attribute at n = 0 (with the users table) and from the
-- revealed item at n >= 1, trained with the revealed behaviours or live.
-- ---------------------------------------------------------------------
CREATE TABLE ev.c (user_id bigint, item_id bigint, action text, ts timestamptz);
INSERT INTO ev.c
SELECT u, (u % 3) * 15 + 1 + (abs(hashint4(u * 31 + j)) % 15), 'pv',
       '2026-04-01'::timestamptz + (u * 100 + j) * interval '1 minute'
FROM generate_series(1, 150) u, generate_series(1, 30) j;
CREATE TABLE ev.c_users AS SELECT DISTINCT user_id, 'cluster' || user_id % 3 AS cluster FROM ev.c;
CREATE TABLE ev.c_items AS SELECT i AS item_id FROM generate_series(1, 45) i;
CREATE TABLE ev.c_res AS
SELECT * FROM coldstart.evaluate('ev.c', 'ev.c_items', 'ev.c_users',
    '{"methods": ["coldstart", "coldstart_live", "popularity"], "revealed": [0, 1, 3], "seed": 2,
      "dim": 8, "epochs": 15, "learning_rate": 0.02, "validation_fraction": 0}');
SELECT c.revealed, c.method, p.recall_at_20 < 0.6 AS popularity_below_0_6,
       c.recall_at_20 > p.recall_at_20 + 0.25 AS coldstart_ahead_by_0_25
FROM ev.c_res c JOIN ev.c_res p ON p.revealed = c.revealed AND p.method = 'popularity'
WHERE c.method <> 'popularity' ORDER BY c.revealed, c.method;
-- without the users table, n = 0 has nothing to tell the clusters apart:
-- the gain at n = 1 is the revealed item's
CREATE TABLE ev.c_res2 AS
SELECT * FROM coldstart.evaluate('ev.c', 'ev.c_items', NULL,
    '{"methods": ["coldstart", "coldstart_live", "popularity"], "revealed": [0, 1], "seed": 2,
      "dim": 8, "epochs": 15, "learning_rate": 0.02, "validation_fraction": 0}');
SELECT c1.method, c0.recall_at_20 < 0.6 AS n0_below_0_6, c1.recall_at_20 > c0.recall_at_20 + 0.25 AS n1_ahead_of_n0_by_0_25,
       c1.recall_at_20 > p1.recall_at_20 + 0.25 AS n1_ahead_of_popularity_by_0_25
FROM ev.c_res2 c1 JOIN ev.c_res2 c0 ON c0.method = c1.method AND c0.revealed = 0
     JOIN ev.c_res2 p1 ON p1.method = 'popularity' AND p1.revealed = 1
WHERE c1.revealed = 1 AND c1.method <> 'popularity' ORDER BY 1;

-- ---------------------------------------------------------------------
-- Lists made elsewhere: evaluation_split() gives the split, option
-- "lists" scores lists made for it with the same metric code
-- ---------------------------------------------------------------------
-- fixture 1 (seed 1, test_fraction 0.9): users 1 and 2, their items in
-- CS-1 order (B's 1 and 30 at the same time: the lower id first)
SELECT user_id, role, string_agg(item_id::text, ',' ORDER BY ordinal) AS items, max(ordinal) = count(*) AS ordinals_1_to_n
FROM coldstart.evaluation_split('ev.b', 'ev.items', options => '{"test_fraction": 0.9, "seed": 1}')
GROUP BY user_id, role ORDER BY user_id;
-- fixture 3: exactly ev.r_seq, computed above in SQL
SELECT count(*) AS rows, count(*) FILTER (WHERE s.item_id IS DISTINCT FROM q.item_id OR s.role IS DISTINCT FROM 'evaluated') AS different
FROM coldstart.evaluation_split('ev.r', 'ev.r_items', options => '{"test_fraction": 0.9}') s
FULL JOIN ev.r_seq q ON q.user_id = s.user_id AND q.pos = s.ordinal;
-- the seeded split of fixture "b3": evaluate()'s test user (ev.test_user)
-- is the one evaluation_split() gives, and in a validation split it is
-- left out while the validation user is evaluated
SET client_min_messages = warning;
SELECT seed,
       (SELECT min(user_id) FROM coldstart.evaluation_split('ev.b3', options => jsonb_build_object('min_items', 12,
            'test_fraction', 0.1, 'seed', seed))) = ev.test_user(seed) AS test_user_agrees,
       (SELECT string_agg(role || ' ' || (user_id = CASE role WHEN 'evaluated' THEN ev.test_user(seed, 'validation')
                                                             ELSE ev.test_user(seed) END), ', ' ORDER BY role)
        FROM (SELECT DISTINCT user_id, role FROM coldstart.evaluation_split('ev.b3', options => jsonb_build_object('min_items', 12,
            'test_fraction', 0.1, 'seed', seed, 'split', 'validation'))) v) AS validation_roles_agree
FROM generate_series(1, 3) seed ORDER BY seed;
SET client_min_messages = notice;

-- fixture 3: lists made in SQL from the second implementation's scores
-- (ev.r_scores), revealed items left in (evaluate() passes them over), are
-- scored exactly as the built-in methods they copy
CREATE TABLE ev.r_lists AS
SELECT n AS revealed, s.method, s.user_id, s.item_id,
       row_number() OVER (PARTITION BY n, s.method, s.user_id ORDER BY s.score DESC, s.pop DESC, s.item_id) AS rank
FROM unnest(ARRAY[0, 1, 3, 5]) n, LATERAL ev.r_scores(n) s;
CREATE VIEW ev.r_lists_pop AS SELECT user_id, item_id, rank, revealed FROM ev.r_lists WHERE method = 'popularity' AND rank <= 30;
CREATE VIEW ev.r_lists_knn AS SELECT user_id, item_id, rank, revealed FROM ev.r_lists WHERE method = 'item_knn' AND rank <= 30;
CREATE TABLE ev.r_got2 AS
SELECT * FROM coldstart.evaluate('ev.r', 'ev.r_items', options => '{"methods": ["popularity", "item_knn"], "test_fraction": 0.9,
    "lists": {"sql_popularity": "ev.r_lists_pop", "sql_item_knn": "ev.r_lists_knn"}}');
SELECT g.method, g.revealed, (g.users, g.precision_at_10, g.recall_at_20, g.ndcg_at_10, g.coverage_at_10)
                             = (b.users, b.precision_at_10, b.recall_at_20, b.ndcg_at_10, b.coverage_at_10) AS same_figures
FROM ev.r_got2 g JOIN ev.r_got2 b ON b.method = substr(g.method, 5) AND b.revealed = g.revealed
WHERE g.method LIKE 'sql_%' ORDER BY g.method, g.revealed;

-- by hand, fixture 1 at n = 1 (A = user 1 reveals 2, B = user 2 reveals 1).
-- A's list: 2 (revealed: passed over), 4, 4 again (passed over), 999 (not
-- in the data), 1, 6, and a row without a rank: in effect 4, 1, 6.  A's
-- targets are 4, 6, ..., 24 (11): hits 4 and 6 at 1 and 3: P = 0.2,
-- R = 2/11, NDCG = (1 + 0.5) / IDCG(10) = 0.330137.  B has no list: 0, 0,
-- 0.  Means: P = 0.1, R = 0.090909, NDCG = 0.165069; coverage {4, 1, 6}
-- = 3/24 = 0.125.  User 101 (a training user) has a list: ignored.
CREATE TABLE ev.hand (user_id int, item_id int, rank numeric, revealed int);
INSERT INTO ev.hand VALUES (1, 2, 1, 1), (1, 4, 2, 1), (1, 4, 3, 1), (1, 999, 4, 1), (1, 1, 5.5, 1), (1, 6, 7, 1),
  (1, 8, NULL, 1), (101, 3, 1, 1), (1, 3, 1, 0);
SELECT method, revealed, users, round(precision_at_10::numeric, 6) AS p10, round(recall_at_20::numeric, 6) AS r20,
       round(ndcg_at_10::numeric, 6) AS ndcg10, round(coverage_at_10::numeric, 6) AS cov10
FROM coldstart.evaluate('ev.b', 'ev.items', options => '{"methods": ["popularity"], "revealed": [1],
                                                         "test_fraction": 0.9, "seed": 1, "lists": {"hand": "ev.hand"}}')
ORDER BY method, revealed;
-- without a revealed column a list serves every revealed count: items 1..10
-- for both users is popularity's top 10 at n = 0 (P = 0.4, NDCG = 0.430191,
-- coverage 10/24 = 0.416667).  At n = 1 the revealed item is passed over:
-- A gets 1, 3, ..., 10 (hits 4, 6, 8, 10 at 3, 5, 7, 9, as popularity:
-- P = 0.4, NDCG = 0.334807), B gets 2, ..., 10 (hits 3, 5 at 2, 4: P = 0.2,
-- NDCG = 1.061607 / IDCG(9) = 0.249526): P = 0.3, NDCG = 0.292166,
-- coverage 10/24.
CREATE TABLE ev.top10 AS SELECT u AS user_id, i AS item_id, i AS rank FROM generate_series(1, 2) u, generate_series(1, 10) i;
SELECT method, revealed, round(precision_at_10::numeric, 6) AS p10, round(ndcg_at_10::numeric, 6) AS ndcg10,
       round(coverage_at_10::numeric, 6) AS cov10
FROM coldstart.evaluate('ev.b', 'ev.items', options => '{"methods": ["popularity"], "revealed": [0, 1],
                                                         "test_fraction": 0.9, "seed": 1, "lists": {"top10": "ev.top10"}}')
ORDER BY method, revealed;

SET client_min_messages = warning;
CREATE VIEW ev.hand_text AS SELECT user_id, item_id, rank::text AS rank FROM ev.hand;
CREATE VIEW ev.hand_numeric AS SELECT user_id::numeric AS user_id, item_id, rank FROM ev.hand;
CREATE VIEW ev.hand_revealed AS SELECT user_id, item_id, rank, revealed::text AS revealed FROM ev.hand;
SELECT n, what, ev.try(sql) AS result
FROM (VALUES
  (1, 'lists not an object', $$SELECT * FROM coldstart.evaluate('ev.b', options => '{"lists": "ev.hand"}')$$),
  (2, 'lists of a number', $$SELECT * FROM coldstart.evaluate('ev.b', options => '{"lists": {"mine": 1}}')$$),
  (3, 'lists named as a built-in method', $$SELECT * FROM coldstart.evaluate('ev.b', options => '{"lists": {"popularity": "ev.hand"}}')$$),
  (4, 'lists with an empty name', $$SELECT * FROM coldstart.evaluate('ev.b', options => '{"lists": {"": "ev.hand"}}')$$),
  (5, 'lists of a missing relation', $$SELECT * FROM coldstart.evaluate('ev.b', options => '{"lists": {"mine": "ev.nope"}}')$$),
  (6, 'lists without a rank', $$SELECT * FROM coldstart.evaluate('ev.b', options => '{"lists": {"mine": "ev.b"}}')$$),
  (7, 'lists named without their schema', $$SELECT * FROM coldstart.evaluate('ev.b', options => '{"lists": {"mine": "hand"}}')$$),
  (8, 'evaluation_split() takes evaluate()''s options, lists ignored', $$SELECT * FROM coldstart.evaluation_split('ev.b', options => '{"test_fraction": 0.9, "lists": {"x": 1}}')$$),
  (9, 'evaluation_split() of NULL', $$SELECT * FROM coldstart.evaluation_split(NULL)$$),
  (10, 'evaluation_split() with a bad split', $$SELECT * FROM coldstart.evaluation_split('ev.b', options => '{"split": "all"}')$$),
  (11, 'evaluation_split() with no eligible user', $$SELECT * FROM coldstart.evaluation_split('ev.b2')$$),
  (12, 'lists with a text rank', $$SELECT * FROM coldstart.evaluate('ev.b', options => '{"lists": {"mine": "ev.hand_text"}}')$$),
  (13, 'lists with numeric user ids', $$SELECT * FROM coldstart.evaluate('ev.b', options => '{"lists": {"mine": "ev.hand_numeric"}}')$$),
  (14, 'lists with a text revealed count', $$SELECT * FROM coldstart.evaluate('ev.b', options => '{"lists": {"mine": "ev.hand_revealed"}}')$$)
) AS t(n, what, sql)
ORDER BY n;
-- lists the caller may not read: refused before any work
CREATE ROLE regress_ev_reader;
GRANT USAGE ON SCHEMA ev, coldstart TO regress_ev_reader;
GRANT SELECT ON ev.b, ev.top10 TO regress_ev_reader;
SET ROLE regress_ev_reader;
SELECT ev.try($$SELECT * FROM coldstart.evaluate('ev.b', options => '{"methods": ["popularity"], "lists": {"mine": "ev.hand"}}')$$) AS lists_not_readable;
SELECT method, revealed, users FROM coldstart.evaluate('ev.b', options => '{"methods": ["popularity"], "revealed": [0], "test_fraction": 0.9,
    "lists": {"top10": "ev.top10"}}') ORDER BY method;
RESET ROLE;
DROP OWNED BY regress_ev_reader;
DROP ROLE regress_ev_reader;

DROP SCHEMA ev CASCADE;
