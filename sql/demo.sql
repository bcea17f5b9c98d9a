--
-- Demo data generators: demo_items, demo_users, demo_behaviours, create_demo.
-- Sizes are small; checks of the data's shape are booleans, not fragile
-- numbers.
--
CREATE EXTENSION coldstart;
SET timezone = 'UTC';
SET datestyle = 'ISO, YMD';

--
-- Row counts are exact
--
SELECT (SELECT count(*) FROM coldstart.demo_items(300)) AS items,
	   (SELECT count(*) FROM coldstart.demo_users(200)) AS users,
	   (SELECT count(*) FROM coldstart.demo_behaviours(200, 300, 5000)) AS behaviours,
	   (SELECT count(*) FROM coldstart.demo_behaviours(200, 300, 150)) AS fewer_than_users,
	   (SELECT count(*) FROM coldstart.demo_behaviours(200, 300, 0)) AS none,
	   (SELECT count(*) FROM coldstart.demo_behaviours(1, 1, 1000)) AS one_user_one_item,
	   (SELECT count(*) FROM coldstart.demo_behaviours(1000000, 10, 5)) AS many_users;

-- ids are 1..n
SELECT min(item_id), max(item_id), count(DISTINCT item_id) FROM coldstart.demo_items(300);
SELECT min(user_id), max(user_id), count(DISTINCT user_id) FROM coldstart.demo_users(200);

-- with at least one behaviour per user, every user appears
SELECT count(DISTINCT user_id) FROM coldstart.demo_behaviours(200, 300, 5000);

-- the planner knows the sizes
CREATE FUNCTION pg_temp.plan_rows(query text) RETURNS float8
LANGUAGE plpgsql AS $$
DECLARE
	plan json;
BEGIN
	EXECUTE 'EXPLAIN (FORMAT JSON) ' || query INTO plan;
	RETURN (plan -> 0 -> 'Plan' ->> 'Plan Rows')::float8;
END
$$;
SELECT pg_temp.plan_rows('SELECT * FROM coldstart.demo_items(300)') AS items,
	   pg_temp.plan_rows('SELECT * FROM coldstart.demo_users(200)') AS users,
	   pg_temp.plan_rows('SELECT * FROM coldstart.demo_behaviours(200, 300, 5000)') AS behaviours;

--
-- A look at the rows
--
SELECT * FROM coldstart.demo_items(6) ORDER BY item_id;
SELECT * FROM coldstart.demo_users(6) ORDER BY user_id;
SELECT * FROM coldstart.demo_behaviours(3, 50, 8) WITH ORDINALITY AS b(user_id, item_id, action, ts, n)
ORDER BY n;

--
-- Determinism: the same seed gives the same rows in the same order; another
-- seed gives other rows
--
CREATE FUNCTION pg_temp.digest(seed int) RETURNS text[]
LANGUAGE sql AS $$
	SELECT ARRAY[
		(SELECT md5(string_agg(i::text, ';' ORDER BY n))
		 FROM coldstart.demo_items(300, seed, 8) WITH ORDINALITY AS i(a, b, c, d, e, f, g, n)),
		(SELECT md5(string_agg(u::text, ';' ORDER BY n))
		 FROM coldstart.demo_users(200, seed) WITH ORDINALITY AS u(a, b, c, d, e, n)),
		(SELECT md5(string_agg(b::text, ';' ORDER BY n))
		 FROM coldstart.demo_behaviours(200, 300, 5000, seed) WITH ORDINALITY AS b(a, b, c, d, n))]
$$;
SELECT d1 = d1_again AS same_seed_same_rows,
	   d1[1] <> d2[1] AND d1[2] <> d2[2] AND d1[3] <> d2[3] AS other_seed_other_rows
FROM pg_temp.digest(1) d1, pg_temp.digest(1) d1_again, pg_temp.digest(2) d2;

-- the embedding is the only column content_dim changes
SELECT count(*) AS differing
FROM coldstart.demo_items(300) a JOIN coldstart.demo_items(300, 1, 8) b USING (item_id)
WHERE (a.category, a.brand, a.price, a.rating, a.tags) IS DISTINCT FROM
	  (b.category, b.brand, b.price, b.rating, b.tags);
-- a user depends only on (seed, user_id)
SELECT count(*) AS differing
FROM coldstart.demo_users(50) a JOIN coldstart.demo_users(200) b USING (user_id)
WHERE (a.*)::text <> (b.*)::text;

--
-- Consistency of the three generators
--
SELECT count(*) FILTER (WHERE i.item_id IS NULL) AS unknown_items,
	   count(*) FILTER (WHERE u.user_id IS NULL) AS unknown_users,
	   count(*) FILTER (WHERE b.action NOT IN ('pv', 'fav', 'cart', 'buy')) AS unknown_actions
FROM coldstart.demo_behaviours(200, 300, 5000) b
LEFT JOIN coldstart.demo_items(300) i USING (item_id)
LEFT JOIN coldstart.demo_users(200) u USING (user_id);

-- rows come grouped by user (ascending) in time order; timestamps lie in
-- [start_at, start_at + days)
CREATE FUNCTION pg_temp.check_times(users int, items int, behaviours bigint,
									start_at timestamptz, days int)
RETURNS TABLE (in_period boolean, grouped_in_time_order boolean)
LANGUAGE sql AS $$
	SELECT bool_and(ts >= start_at AND ts < start_at + make_interval(days => days)),
		   bool_and(prev_user IS NULL OR user_id > prev_user
					OR (user_id = prev_user AND ts >= prev_ts))
	FROM (SELECT user_id, ts,
				 lag(user_id) OVER (ORDER BY n) AS prev_user,
				 lag(ts) OVER (ORDER BY n) AS prev_ts
		  FROM coldstart.demo_behaviours(users, items, behaviours, 1, start_at, days)
			   WITH ORDINALITY AS b(user_id, item_id, action, ts, n)) s
$$;
SELECT * FROM pg_temp.check_times(200, 300, 5000, '2026-10-01 00:00+00', 30);
SELECT * FROM pg_temp.check_times(20, 300, 20000, '2020-02-28 13:30+00', 2);
SELECT * FROM pg_temp.check_times(1, 5, 50000, '2020-01-01 00:00+00', 1);

--
-- The shape of the data
--
CREATE TEMP TABLE b AS SELECT * FROM coldstart.demo_behaviours(500, 400, 20000);
CREATE TEMP TABLE i AS SELECT * FROM coldstart.demo_items(400);
CREATE TEMP TABLE u AS SELECT * FROM coldstart.demo_users(500);

-- the funnel: views lead to favs and carts (about 6% and 8%), some carts to
-- purchases (about 40%)
SELECT count(*) FILTER (WHERE action = 'buy') < count(*) FILTER (WHERE action = 'cart')
	   AND count(*) FILTER (WHERE action = 'cart') < count(*) FILTER (WHERE action = 'pv') AS funnel,
	   count(*) FILTER (WHERE action = 'fav')::float8 / count(*) FILTER (WHERE action = 'pv')
		   BETWEEN 0.03 AND 0.09 AS fav_rate,
	   count(*) FILTER (WHERE action = 'cart')::float8 / count(*) FILTER (WHERE action = 'pv')
		   BETWEEN 0.05 AND 0.11 AS cart_rate,
	   count(*) FILTER (WHERE action = 'buy')::float8 / count(*) FILTER (WHERE action = 'cart')
		   BETWEEN 0.2 AND 0.5 AS buy_rate
FROM b;

-- activity is heavy-tailed: many users with 1 to 10 behaviours, a few with
-- many times the mean
SELECT count(*) FILTER (WHERE n BETWEEN 1 AND 10) >= count(*) / 5 AS many_light_users,
	   max(n) >= 10 * avg(n) AS a_few_heavy_users
FROM (SELECT user_id, count(*) AS n FROM b GROUP BY user_id) s;

-- popularity is skewed: the top 10% of items get well over 10% of views
SELECT sum(n) FILTER (WHERE rank <= 400 / 10)::float8 / sum(n) > 0.3 AS popular_head
FROM (SELECT count(*) AS n, row_number() OVER (ORDER BY count(*) DESC) AS rank
	  FROM b WHERE action = 'pv' GROUP BY item_id) s;

-- item features predict popularity: bestsellers are viewed more
SELECT avg(coalesce(n, 0)) FILTER (WHERE 'bestseller' = ANY (tags)) >
	   2 * avg(coalesce(n, 0)) FILTER (WHERE NOT 'bestseller' = ANY (tags)) AS bestsellers_viewed_more
FROM i LEFT JOIN (SELECT item_id, count(*) AS n FROM b WHERE action = 'pv' GROUP BY item_id) v
	USING (item_id);

-- user attributes are informative: the categories women and men view differ
-- much more than those of two arbitrary halves of the users (total
-- variation distance of the category distributions)
CREATE FUNCTION pg_temp.category_gap(in_group text, other_group text) RETURNS float8
LANGUAGE plpgsql AS $$
DECLARE
	gap float8;
BEGIN
	EXECUTE format($q$
		WITH v AS (SELECT i.category, %s AS g1, %s AS g2
				   FROM b JOIN u USING (user_id) JOIN i USING (item_id)
				   WHERE b.action = 'pv'),
			 p AS (SELECT category,
						  count(*) FILTER (WHERE g1)::float8 / sum(count(*) FILTER (WHERE g1)) OVER () AS p1,
						  count(*) FILTER (WHERE g2)::float8 / sum(count(*) FILTER (WHERE g2)) OVER () AS p2
				   FROM v GROUP BY category)
		SELECT 0.5 * sum(abs(p1 - p2)) FROM p$q$, in_group, other_group)
	INTO gap;
	RETURN gap;
END
$$;
SELECT pg_temp.category_gap($$u.gender = 'female'$$, $$u.gender = 'male'$$) >
	   2 * pg_temp.category_gap('u.user_id % 2 = 0', 'u.user_id % 2 = 1') AS gender_informative;

-- items: categories at least 5, then about items / 40, named then numbered
SELECT count(DISTINCT category) AS categories, min(category) AS first_named,
	   bool_and(price > 0) AS prices_positive,
	   bool_and(rating BETWEEN 1 AND 5) AS ratings_in_range,
	   count(*) FILTER (WHERE rating IS NULL) > 0 AS some_unrated,
	   bool_and(cardinality(tags) <= 3) AS at_most_3_tags,
	   count(DISTINCT brand) > count(DISTINCT category) AS several_brands_per_category,
	   bool_and(embedding IS NULL) AS no_embedding
FROM coldstart.demo_items(120);
SELECT count(DISTINCT category) AS categories,
	   count(*) FILTER (WHERE category = 'category_100') > 0 AS numbered,
	   count(*) FILTER (WHERE category = 'shoes') > 0 AS named
FROM coldstart.demo_items(4000);
-- fewer items than categories: one item per category
SELECT item_id, category FROM coldstart.demo_items(3) ORDER BY item_id;
SELECT DISTINCT item_id FROM coldstart.demo_behaviours(4, 1, 30) ORDER BY item_id;

-- users
SELECT bool_and(age BETWEEN 16 AND 80) AS ages_in_range,
	   array_agg(DISTINCT gender) AS genders,
	   count(DISTINCT city) > 10 AS many_cities,
	   array_agg(DISTINCT channel ORDER BY channel) AS channels
FROM coldstart.demo_users(2000);

-- content embeddings: unit vectors that are close within a category and
-- closer within a brand
CREATE TEMP TABLE e AS SELECT item_id, category, brand, embedding FROM coldstart.demo_items(300, 1, 16);
SELECT bool_and(array_length(embedding, 1) = 16) AS dim_16,
	   bool_and(abs((SELECT sum(x * x) FROM unnest(embedding) x) - 1) < 1e-5) AS unit_length
FROM e;
SELECT avg(cos) FILTER (WHERE same_brand) > avg(cos) FILTER (WHERE same_category AND NOT same_brand)
	   AND avg(cos) FILTER (WHERE same_category AND NOT same_brand) > 0.3
	   AND avg(cos) FILTER (WHERE NOT same_category) < 0.1 AS embeddings_carry_signal
FROM (SELECT a.category = c.category AS same_category, a.brand = c.brand AS same_brand,
			 (SELECT sum(x * y) FROM unnest(a.embedding, c.embedding) AS t(x, y)) AS cos
	  FROM e a JOIN e c ON a.item_id < c.item_id) s;
SELECT array_length(embedding, 1) FROM coldstart.demo_items(1, 1, 1024);

--
-- Bad arguments
--
-- The generators are STRICT: a NULL argument gives no rows.
SELECT count(*) FROM coldstart.demo_items(NULL);
SELECT count(*) FROM coldstart.demo_items(10, NULL);
SELECT count(*) FROM coldstart.demo_users(NULL);
SELECT count(*) FROM coldstart.demo_behaviours(10, 10, NULL);
SELECT count(*) FROM coldstart.demo_behaviours(10, 10, 10, 1, NULL);

SELECT * FROM coldstart.demo_items(0);
SELECT * FROM coldstart.demo_items(-5);
SELECT * FROM coldstart.demo_items(20000001);
SELECT * FROM coldstart.demo_items(10, 1, -1);
SELECT * FROM coldstart.demo_items(10, 1, 1025);
SELECT * FROM coldstart.demo_users(0);
SELECT * FROM coldstart.demo_users(100000001);
SELECT * FROM coldstart.demo_behaviours(0, 10, 10);
SELECT * FROM coldstart.demo_behaviours(10, 0, 10);
SELECT * FROM coldstart.demo_behaviours(10, 10, -1);
SELECT * FROM coldstart.demo_behaviours(10, 10, 1000000000001);
-- rows are made one at a time: called in the select list, LIMIT stops the
-- generator after 3 of 10^12 rows (in FROM, PostgreSQL would first store
-- every row the function returns)
SET statement_timeout = '60s';
SELECT (b).* FROM (SELECT coldstart.demo_behaviours(10, 10, 1000000000000) AS b LIMIT 3) s;
RESET statement_timeout;
SELECT * FROM coldstart.demo_behaviours(10, 10, 10, 1, 'infinity');
SELECT * FROM coldstart.demo_behaviours(10, 10, 10, 1, '-infinity');
SELECT * FROM coldstart.demo_behaviours(10, 10, 10, 1, '2026-10-01', 0);
SELECT * FROM coldstart.demo_behaviours(10, 10, 10, 1, '294270-01-01', 3650);

--
-- create_demo
--
SELECT coldstart.create_demo('demo_shop', users => 100, items => 200, behaviours => 3000,
							 seed => 3, content_dim => 8);
SELECT c.relname, c.relkind, obj_description(c.oid, 'pg_class') AS comment
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'demo_shop' ORDER BY c.relname;
SELECT conrelid::regclass, pg_get_constraintdef(oid)
FROM pg_constraint WHERE connamespace = 'demo_shop'::regnamespace ORDER BY 1, 2;
SELECT indexdef FROM pg_indexes WHERE schemaname = 'demo_shop' ORDER BY indexdef;
SELECT attname, format_type(atttypid, atttypmod), attnotnull
FROM pg_attribute WHERE attrelid = 'demo_shop.items'::regclass AND attnum > 0 ORDER BY attnum;
-- the tables hold exactly the generators' rows
SELECT (SELECT md5(string_agg(t::text, ';' ORDER BY item_id)) FROM demo_shop.items t) =
	   (SELECT md5(string_agg(t::text, ';' ORDER BY item_id)) FROM coldstart.demo_items(200, 3, 8) t) AS items_match,
	   (SELECT md5(string_agg(t::text, ';' ORDER BY user_id)) FROM demo_shop.users t) =
	   (SELECT md5(string_agg(t::text, ';' ORDER BY user_id)) FROM coldstart.demo_users(100, 3) t) AS users_match,
	   (SELECT md5(string_agg(t::text, ';' ORDER BY t::text)) FROM demo_shop.behaviours t) =
	   (SELECT md5(string_agg(t::text, ';' ORDER BY t::text)) FROM coldstart.demo_behaviours(100, 200, 3000, 3) t) AS behaviours_match;
SELECT reltuples > 0 AS analyzed FROM pg_class WHERE oid = 'demo_shop.behaviours'::regclass;

-- it never overwrites
SELECT coldstart.create_demo('demo_shop');
DROP TABLE demo_shop.items;
SELECT coldstart.create_demo('demo_shop');
DROP SCHEMA demo_shop CASCADE;

-- defaults, a name that needs quoting, no embedding column without content_dim
SELECT coldstart.create_demo('Demo Shop');
SELECT attname FROM pg_attribute
WHERE attrelid = '"Demo Shop".items'::regclass AND attnum > 0 ORDER BY attnum;
DROP SCHEMA "Demo Shop" CASCADE;

-- bad arguments: nothing is left behind
SELECT coldstart.create_demo(NULL);
SELECT coldstart.create_demo('demo_shop', users => NULL, seed => NULL);
SELECT coldstart.create_demo('');
SELECT coldstart.create_demo('demo_shop', behaviours => -1);
SELECT coldstart.create_demo('demo_shop', content_dim => 2000);
SELECT to_regnamespace('demo_shop') AS schema_left_behind;
