--
-- The "Star Wars property": with two clear taste clusters in the data, a new
-- session of three sci-fi items gets mostly sci-fi recommendations, and three
-- romance items mostly romance.  The same holds for a session of an item
-- added after training (from its genre alone) and for a new user known only
-- by a segment attribute.  Thresholds (at least 6 of 10), not exact lists:
-- the property must survive tuning; the fixture is large enough that the
-- seeded model gets 9 or 10 right.
--
CREATE EXTENSION coldstart;
SET client_min_messages = warning;
CREATE SCHEMA sw;

-- items 1..40 are sci-fi, 41..80 romance
CREATE TABLE sw.items (item_id bigint PRIMARY KEY, genre text NOT NULL);
INSERT INTO sw.items SELECT i, CASE WHEN i <= 40 THEN 'scifi' ELSE 'romance' END FROM generate_series(1, 80) i;
-- 300 users: even ones watch sci-fi, odd ones romance, 8 distinct items each
-- (11 * j mod 40 is distinct for j = 0..7); a purchase now and then
CREATE TABLE sw.users (user_id bigint PRIMARY KEY, segment text NOT NULL);
INSERT INTO sw.users SELECT u, CASE WHEN u % 2 = 0 THEN 'a' ELSE 'b' END FROM generate_series(1, 300) u;
CREATE TABLE sw.behaviours (user_id bigint, item_id bigint, action text, ts timestamptz);
INSERT INTO sw.behaviours
SELECT u, (u % 2) * 40 + 1 + (u * 7 + j * 11) % 40,
       CASE WHEN (u + j) % 5 = 0 THEN 'buy' ELSE 'pv' END,
       '2026-05-01 00:00+00'::timestamptz + u * interval '1 day' + j * interval '1 hour'
FROM generate_series(1, 300) u, generate_series(0, 7) j;
SELECT count(*) AS behaviours, count(DISTINCT (user_id, item_id)) AS pairs,
       count(*) FILTER (WHERE (user_id % 2 = 0) <> (item_id <= 40)) AS across_clusters
FROM sw.behaviours;

\set opts '{"dim": 16, "epochs": 10, "learning_rate": 0.01, "seed": 5, "max_prefixes": 0, "target_balance": 0.5, "dropout": 0.1, "l2": 0.0001, "history_prior": 1, "patience": 3, "validation_fraction": 0.1}'
SELECT s -> 'items' AS items, s -> 'users' AS users
FROM coldstart.train('sw', 'sw.behaviours', 'sw.items', 'sw.users', :'opts') s;

-- share of sci-fi (ids 1..40) in a top 10
CREATE FUNCTION sw.scifi(q text) RETURNS int LANGUAGE plpgsql AS $$
DECLARE
	n int;
BEGIN
	EXECUTE format('SELECT count(*) FILTER (WHERE item_id <= 40) FROM %s', q) INTO n;
	RETURN n;
END
$$;
CREATE FUNCTION sw.rows(q text) RETURNS int LANGUAGE plpgsql AS $$
DECLARE
	n int;
BEGIN
	EXECUTE format('SELECT count(*) FROM %s', q) INTO n;
	RETURN n;
END
$$;

-- three sci-fi items (one bought), three romance items
SELECT sw.rows($$coldstart.recommend_for_items('{1,2,3}', k => 10, model => 'sw')$$) AS rows,
       sw.scifi($$coldstart.recommend_for_items('{1,2,3}', k => 10, model => 'sw')$$) >= 6 AS scifi_session_gets_scifi,
       sw.scifi($$coldstart.recommend_for_items('{1,2,3}', '{pv,pv,buy}', k => 10, model => 'sw')$$) >= 6 AS with_actions_too,
       10 - sw.scifi($$coldstart.recommend_for_items('{41,42,43}', k => 10, model => 'sw')$$) >= 6 AS romance_session_gets_romance;
-- a single behaviour is enough, for any item of either cluster
SELECT count(*) AS sessions,
       count(*) FILTER (WHERE CASE WHEN i <= 40 THEN n ELSE 10 - n END >= 6) AS mostly_own_cluster
FROM generate_series(1, 80) i,
     LATERAL sw.scifi(format('coldstart.recommend_for_items(%L, k => 10, model => %L)', ARRAY[i], 'sw')) n;
-- similar_items stays in the cluster too
SELECT count(*) FILTER (WHERE sw.scifi(format('coldstart.similar_items(%s, 10, %L)', i, 'sw')) >= 6) AS scifi_items_ok,
       count(*) FILTER (WHERE 10 - sw.scifi(format('coldstart.similar_items(%s, 10, %L)', i + 40, 'sw')) >= 6) AS romance_items_ok
FROM generate_series(1, 40) i;

-- a new user known only by the segment of sci-fi fans, and one of romance
-- fans; a user with a segment row but no behaviours gets the same
INSERT INTO sw.users VALUES (1000, 'a'), (1001, 'b');
SELECT sw.scifi($$coldstart.recommend_for_items('{}', k => 10, model => 'sw', user_attrs => '{"segment": "a"}')$$) >= 6 AS segment_a_gets_scifi,
       10 - sw.scifi($$coldstart.recommend_for_items('{}', k => 10, model => 'sw', user_attrs => '{"segment": "b"}')$$) >= 6 AS segment_b_gets_romance,
       sw.scifi($$coldstart.recommend(1000, 10, 'sw')$$) >= 6 AS user_1000_gets_scifi,
       10 - sw.scifi($$coldstart.recommend(1001, 10, 'sw')$$) >= 6 AS user_1001_gets_romance;

-- an item added after training is known by its genre: a session of the new
-- sci-fi item 81 gets sci-fi, of the new romance item 82 romance
INSERT INTO sw.items VALUES (81, 'scifi'), (82, 'romance');
SELECT sw.scifi($$coldstart.recommend_for_items('{81}', k => 10, model => 'sw')$$) >= 6 AS new_scifi_item_session,
       10 - sw.scifi($$coldstart.recommend_for_items('{82}', k => 10, model => 'sw')$$) >= 6 AS new_romance_item_session,
       sw.scifi($$coldstart.similar_items(81, 10, 'sw')$$) >= 6 AS similar_to_new_scifi,
       10 - sw.scifi($$coldstart.similar_items(82, 10, 'sw')$$) >= 6 AS similar_to_new_romance;

-- the same data without features: the clusters come from co-occurrence alone
SELECT s -> 'items' AS items FROM coldstart.train('sw_ids', 'sw.behaviours', options => :'opts') s;
SELECT sw.scifi($$coldstart.recommend_for_items('{1,2,3}', k => 10, model => 'sw_ids')$$) >= 6 AS scifi_session_gets_scifi,
       10 - sw.scifi($$coldstart.recommend_for_items('{41,42,43}', k => 10, model => 'sw_ids')$$) >= 6 AS romance_session_gets_romance;

DELETE FROM coldstart.models WHERE name IN ('sw', 'sw_ids');
DROP SCHEMA sw CASCADE;
