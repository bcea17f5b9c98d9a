--
-- activity_summary(action, ts): counts per kind, dates, NULLs, parallel plans
--
CREATE EXTENSION coldstart;
-- Dates are UTC whatever the session's time zone.
SET TimeZone = 'America/Los_Angeles';

-- The default label mapping: case, whitespace, separators, Chinese, unknowns.
SELECT to_json(left(label, 16))::text
         || CASE WHEN length(label) > 16 THEN format('... (%s chars)', length(label)) ELSE '' END
         AS label,
       (SELECT key FROM jsonb_each(s)
               WHERE key IN ('view', 'fav', 'cart', 'buy', 'other') AND value = '1') AS kind
FROM (SELECT n, label, coldstart.activity_summary(label, NULL) AS s
      FROM unnest(ARRAY[
        'view', 'pv', 'PV', ' pv ', 'Click', 'browse', 'page_view', 'Page View', '浏览', '点击',
        'fav', 'like', 'Wishlist', 'add-to-wishlist', 'favorite', 'FAVOURITE', '收藏',
        'cart', 'addtocart', 'add_to_cart', 'Add-To-Cart', 'ADD TO CART', '加入购物车', '加购',
        'buy', ' Buy', E'\tBUY\n', 'purchase', 'Transaction', 'order', '购买', '　购买　', '下单',
        'views', 'buyer', 'share', '0', '4', '', '   ', '_', repeat('pv', 100)
      ]) WITH ORDINALITY AS t(label, n)
      GROUP BY n, label) AS x
ORDER BY n;

CREATE TABLE beh (user_id int, action text, ts timestamptz);
INSERT INTO beh VALUES
  -- user 1: two UTC days (across midnight), 75 minutes apart
  (1, 'pv',          '2024-03-01 23:30:00+00'),
  (1, 'PV',          '2024-03-02 00:30:00+00'),
  (1, 'add_to_cart', '2024-03-02 00:40:00+00'),
  (1, ' Buy',        '2024-03-02 00:45:00+00'),
  -- user 2: one day in Shanghai, two UTC days (2024-03-04 and 2024-03-05)
  (2, '收藏',        '2024-03-05 07:59:59+08'),
  (2, '浏览',        '2024-03-05 08:00:00+08'),
  (2, '加入购物车',  '2024-03-05 09:00:00+08'),
  (2, '购买',        '2024-03-05 20:00:00+08'),
  -- user 3: NULL action is "other", NULL or infinite ts is undated,
  -- both NULL is skipped
  (3, NULL,          '2024-03-10 12:00:00+00'),
  (3, 'share',       '2024-03-10 13:00:00+00'),
  (3, 'view',        NULL),
  (3, NULL,          NULL),
  (3, 'Favourite',   'infinity'),
  (3, 'Cart',        '-infinity'),
  -- user 4: nothing but an outer join's filler row: NULL
  (4, NULL,          NULL),
  -- user 5: undated only
  (5, 'pv',          NULL);

SELECT user_id, coldstart.activity_summary(action, ts)
FROM beh GROUP BY user_id ORDER BY user_id;

-- The whole table, one object.
SELECT jsonb_pretty(coldstart.activity_summary(action, ts)) FROM beh;

-- No rows, or only rows with both NULL: NULL, like sum().
SELECT coldstart.activity_summary(action, ts) IS NULL AS is_null FROM beh WHERE false;
SELECT coldstart.activity_summary(action, ts) IS NULL AS is_null FROM beh WHERE user_id = 4;

-- The session time zone changes nothing.
SELECT coldstart.activity_summary(action, ts) AS la FROM beh \gset
SET TimeZone = 'Asia/Shanghai';
SELECT coldstart.activity_summary(action, ts) = :'la'::jsonb AS same_in_shanghai FROM beh;
SET TimeZone = 'America/Los_Angeles';

-- As a window function: a running summary.
SELECT action, s->'events' AS events, s->'active_days' AS active_days, s->'span_days' AS span_days
FROM (SELECT action, ts, coldstart.activity_summary(action, ts) OVER (ORDER BY ts) AS s
      FROM beh WHERE user_id = 1) AS w
ORDER BY ts;

-- Integer codes and epoch seconds: cast them; codes are unknown ("other").
SELECT coldstart.activity_summary(code::text, to_timestamp(epoch))
FROM (VALUES (1, 1511539200), (2, 1511625600)) AS v(code, epoch);

-- Many distinct days (the day set turns into a bitmap), then days at both
-- ends of the timestamptz range.
CREATE TABLE days AS
  SELECT timestamptz '2001-01-01 12:00:00+00' + (i * i % 5003) * interval '1 day' AS t
  FROM generate_series(1, 20000) AS i
  UNION ALL
  VALUES (timestamptz '294276-12-31 23:59:59+00'), (timestamptz '4714-11-24 00:00:00+00 BC'),
         (timestamptz '294276-12-30 00:00:00+00');
SELECT (s->>'active_days')::int AS active_days,
       (SELECT count(DISTINCT (t AT TIME ZONE 'UTC')::date) FROM days) AS expected,
       s->>'first_seen' AS first_seen, s->>'last_seen' AS last_seen, s->'span_days' AS span_days
FROM (SELECT coldstart.activity_summary('pv', t) AS s FROM days) AS x;

--
-- Parallel aggregation: the plan splits the work, the result is the same.
--
CREATE TABLE big AS
  SELECT i % 1000 AS user_id,
         (ARRAY['pv', 'cart', 'Fav', 'buy', 'pv', '浏览', 'share', NULL])[1 + i % 8] AS action,
         CASE WHEN i % 97 = 0 THEN NULL
              WHEN i % 89 = 0 THEN timestamptz 'infinity'
              ELSE timestamptz '2017-01-01 00:00:00+00' + (i % 1000) * interval '3 days'
                   + (i / 1000) * interval '7 minutes'
         END AS ts
  FROM generate_series(1, 200000) AS i;
ANALYZE big;

SET max_parallel_workers_per_gather = 0;
SELECT coldstart.activity_summary(action, ts) AS whole FROM big \gset
SELECT jsonb_object_agg(user_id, s) AS per_user
FROM (SELECT user_id, coldstart.activity_summary(action, ts) AS s FROM big GROUP BY user_id) AS g \gset
SELECT jsonb_object_agg(grp, s) AS per_group
FROM (SELECT user_id % 3 AS grp, coldstart.activity_summary(action, ts) AS s
      FROM big GROUP BY 1) AS g \gset

SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
SET parallel_leader_participation = off;

EXPLAIN (COSTS OFF)
SELECT coldstart.activity_summary(action, ts) FROM big;
SELECT coldstart.activity_summary(action, ts) = :'whole'::jsonb AS same FROM big;
SELECT jsonb_pretty(coldstart.activity_summary(action, ts)) FROM big;

EXPLAIN (COSTS OFF)
SELECT jsonb_object_agg(user_id, s)
FROM (SELECT user_id, coldstart.activity_summary(action, ts) AS s FROM big GROUP BY user_id) AS g;
SELECT jsonb_object_agg(user_id, s) = :'per_user'::jsonb AS same
FROM (SELECT user_id, coldstart.activity_summary(action, ts) AS s FROM big GROUP BY user_id) AS g;

SELECT jsonb_object_agg(grp, s) = :'per_group'::jsonb AS same
FROM (SELECT user_id % 3 AS grp, coldstart.activity_summary(action, ts) AS s
      FROM big GROUP BY 1) AS g;

-- Hash aggregation spilling to disk, in the workers and in the leader.
SET work_mem = '64kB';
SET enable_sort = off;
SELECT jsonb_object_agg(user_id, s) = :'per_user'::jsonb AS same
FROM (SELECT user_id, coldstart.activity_summary(action, ts) AS s FROM big GROUP BY user_id) AS g;
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
SELECT workers_launched('SELECT coldstart.activity_summary(action, ts) FROM big');
SELECT workers_launched('SELECT user_id, coldstart.activity_summary(action, ts) FROM big GROUP BY user_id');

RESET ALL;
