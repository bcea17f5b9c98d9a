--
-- explain(user_id, item_id): the score split into its terms.  For every
-- kind of user (nothing known, attributes only, history, history with
-- behaviours on items the model does not know) and for items of the model
-- or added after training, with or without a hidden layer, the terms add up
-- to the score recommend() gives; the rows name what they come from.
--
CREATE EXTENSION coldstart;
SET client_min_messages = warning;
-- a demo shop (categories, brands, prices, ratings, tags; users with age,
-- gender, city, channel), two small models of it
SELECT coldstart.create_demo('ex', users => 300, items => 200, behaviours => 6000) IS NOT NULL AS made;
SELECT s -> 'items' AS items
FROM coldstart.train('ex', 'ex.behaviours', 'ex.items', 'ex.users',
                     '{"dim": 8, "epochs": 3, "seed": 3, "validation_fraction": 0, "half_life": "30 days"}') s;
SELECT s -> 'items' AS items
FROM coldstart.train('ex_hidden', 'ex.behaviours', 'ex.items', 'ex.users',
                     '{"dim": 8, "hidden": 4, "epochs": 3, "seed": 3, "validation_fraction": 0, "half_life": "30 days"}') s;

-- users: 9999 nothing known; 1000 attributes only (those of user 5); 1001 one purchase of
-- item 25 and a view of 999, an item nobody knows; 2 a regular.  Item 201
-- is added after training (a copy of item 26's row).
INSERT INTO ex.users SELECT 1000, age, gender, city, channel FROM ex.users WHERE user_id = 5;
INSERT INTO ex.users SELECT 1001, age, gender, city, channel FROM ex.users WHERE user_id = 6;
INSERT INTO ex.behaviours VALUES (1001, 25, 'buy', '2026-09-01 00:00+00'), (1001, 999, 'pv', '2026-09-01 01:00+00');
INSERT INTO ex.items SELECT 201, category, brand, price, rating, tags FROM ex.items WHERE item_id = 26;
SELECT coldstart.refresh_items('ex') AS refreshed_ex, coldstart.refresh_items('ex_hidden') AS refreshed_hidden;

-- every term, summed, against recommend()'s score of the item for the user
SELECT m.model, u.user_id, i.item_id,
       abs(e.total - r.score) < 1e-4 AS adds_up_to_the_score,
       e.terms, e.parts
FROM (VALUES ('ex'), ('ex_hidden')) m(model),
     (VALUES (9999), (1000), (1001), (2)) u(user_id),
     (VALUES (3), (26), (201)) i(item_id),
     LATERAL (SELECT sum(contribution) AS total, count(*) AS terms,
                     string_agg(DISTINCT part, ', ' ORDER BY part) AS parts
              FROM coldstart.explain(u.user_id, i.item_id, m.model)) e,
     LATERAL (SELECT score FROM coldstart.recommend(u.user_id, 300, m.model, exclude_seen => false) r
              WHERE r.item_id = i.item_id) r
ORDER BY 1, 2, 3;

-- what the rows say, for user 1001 and item 25, the item it bought: every
-- feature value of the item is one the history has been at
SELECT part, detail, contribution <> 0 AS nonzero
FROM coldstart.explain(1001, 25, 'ex');
SELECT category, brand, price, rating, tags FROM ex.items WHERE item_id = 25;
-- the match term of a single-valued column is the column's match weight
-- (model_info() rounds it to 4 places) times H = 1 - exp(-w), w the
-- purchase's weight: 4, decayed by the hour to the user's latest behaviour
-- with a half-life of 30 days
SELECT abs(e.contribution - (coldstart.model_info(m.model) -> 'item_columns' -> 0 ->> 'match_weight')::float8
                            * (1 - exp(-4 * 2 ^ (-1 / (30 * 24.0))))) < 1e-4 AS category_match_as_defined
FROM coldstart.explain(1001, 25, 'ex') e, coldstart.models m
WHERE e.part = 'content match' AND e.detail LIKE 'category = %' AND m.name = 'ex' AND m.active;
-- an item that shares only some of those values has only those terms
SELECT e.detail
FROM coldstart.explain(1001, (SELECT min(item_id) FROM ex.items
                              WHERE category = (SELECT category FROM ex.items WHERE item_id = 25)
                                AND brand <> (SELECT brand FROM ex.items WHERE item_id = 25)
                                AND item_id <> 25), 'ex') e
WHERE e.part = 'content match' AND (e.detail LIKE 'category%' OR e.detail LIKE 'brand%');

-- the default model, and errors
SET coldstart.default_model = 'ex';
SELECT count(*) > 0 AS explained FROM coldstart.explain(2, 3);
SELECT * FROM coldstart.explain(NULL, 3);
SELECT * FROM coldstart.explain(2, NULL);
SELECT * FROM coldstart.explain(2, 12345);
INSERT INTO ex.items SELECT 202, category, brand, price, rating, tags FROM ex.items WHERE item_id = 27;
SELECT * FROM coldstart.explain(2, 202);
SELECT * FROM coldstart.explain(2, 3, 'no_such_model');

-- rows training skips do not count against the history's length: with a
-- NULL and an infinite time among the newest rows of the most active user
-- and a history length of 3, explain(), the default recommend() (which
-- reads 1000 rows for the seen items) and recommend() keeping seen items
-- all use the same latest 3 usable behaviours
SELECT user_id AS busy FROM ex.behaviours GROUP BY user_id ORDER BY count(*) DESC, user_id LIMIT 1 \gset
ALTER TABLE ex.behaviours ALTER ts DROP NOT NULL;
INSERT INTO ex.behaviours VALUES (:busy, 10, 'pv', NULL), (:busy, 11, 'pv', 'infinity'), (:busy, 12, 'pv', NULL);
SELECT count(*) > 3 AS more_than_3_usable FROM ex.behaviours WHERE user_id = :busy AND isfinite(ts);
SET coldstart.history_length = 3;
SELECT (SELECT detail FROM coldstart.explain(:busy, i.item_id, 'ex') WHERE part = 'prior') AS prior,
       abs((SELECT sum(contribution) FROM coldstart.explain(:busy, i.item_id, 'ex')) -
           (SELECT score FROM coldstart.recommend(:busy, 300, 'ex') WHERE item_id = i.item_id)) < 1e-4 AS same_as_default,
       abs((SELECT sum(contribution) FROM coldstart.explain(:busy, i.item_id, 'ex')) -
           (SELECT score FROM coldstart.recommend(:busy, 300, 'ex', exclude_seen => false) WHERE item_id = i.item_id)) < 1e-4 AS same_as_seen_kept
FROM (SELECT item_id FROM coldstart.recommend(:busy, 1, 'ex')) i;
RESET coldstart.history_length;

-- a behaviour on an item the model does not know but the items table has
-- (202, not refreshed) is scored from its features, in explain() as in
-- recommend()
INSERT INTO ex.behaviours VALUES (1003, 202, 'cart', '2026-09-02 00:00+00'), (1003, 26, 'pv', '2026-09-02 01:00+00');
SELECT part, detail FROM coldstart.explain(1003, 30, 'ex') WHERE part = 'behaviour';
SELECT abs((SELECT sum(contribution) FROM coldstart.explain(1003, 30, 'ex')) -
           (SELECT score FROM coldstart.recommend(1003, 300, 'ex') WHERE item_id = 30)) < 1e-4 AS adds_up;

-- an item deleted from the items table: explained, with a NOTICE that it is
-- not recommended
DELETE FROM ex.items WHERE item_id = 30;
SET client_min_messages = notice;
SELECT coldstart.refresh_items('ex') AS refreshed;
SELECT count(*) > 0 AS explained FROM coldstart.explain(1003, 30, 'ex');
SET client_min_messages = warning;
SELECT * FROM coldstart.explain(2, 3, '');

-- an anonymous session: explain_for_items() adds up to recommend_for_items()'s
-- score, with the session's behaviours (unweighted by time) and attributes
SELECT part, detail
FROM coldstart.explain_for_items('{25, 202}', 26, '{buy, pv}', 'ex', '{"gender": "female", "city": "berlin"}')
WHERE part IN ('behaviour', 'attribute');
SELECT abs((SELECT sum(contribution)
            FROM coldstart.explain_for_items('{25, 202}', i, '{buy, pv}', m, '{"gender": "female", "city": "berlin"}')) -
           (SELECT score FROM coldstart.recommend_for_items('{25, 202}', '{buy, pv}', 300, m,
                                                            '{"gender": "female", "city": "berlin"}')
            WHERE item_id = i)) < 1e-4 AS adds_up
FROM (VALUES ('ex'), ('ex_hidden')) t(m), (VALUES (26), (201), (3)) u(i);
SELECT count(*) AS empty_session_terms FROM coldstart.explain_for_items('{}', 26, model => 'ex');
SELECT * FROM coldstart.explain_for_items(NULL, 26);
SELECT * FROM coldstart.explain_for_items('{1}', NULL);
SELECT * FROM coldstart.explain_for_items('{1, 2}', 26, '{pv}');
SELECT * FROM coldstart.explain_for_items('{1}', 99999, model => 'ex');

-- a value given many times in user_attrs counts once (500 copies overran a
-- buffer and crashed the server)
SELECT (SELECT string_agg(item_id::text, ',' ORDER BY rank)
        FROM coldstart.recommend_for_items('{}', NULL, 5, 'ex',
             jsonb_build_object('gender', (SELECT jsonb_agg('female'::text) FROM generate_series(1, 500))))) =
       (SELECT string_agg(item_id::text, ',' ORDER BY rank)
        FROM coldstart.recommend_for_items('{}', NULL, 5, 'ex', '{"gender": ["female"]}')) AS duplicates_count_once;
SELECT count(*) AS attribute_terms
FROM coldstart.explain_for_items('{}', 26, NULL, 'ex',
     jsonb_build_object('gender', (SELECT jsonb_agg('female'::text) FROM generate_series(1, 500))))
WHERE part = 'attribute';

-- a number beyond the range of a double is skipped like an infinite one
ALTER TABLE ex.items ALTER price TYPE numeric;
INSERT INTO ex.items SELECT 203, category, brand, 1e400, rating, tags FROM ex.items WHERE item_id = 26;
SELECT coldstart.refresh_items('ex') > 0 AS refreshed;
SELECT count(*) AS price_terms FROM coldstart.explain(1001, 203, 'ex') WHERE detail LIKE 'price%';

-- bucket edges of time columns read as times, as the column's type prints
-- them: timestamptz in the session's time zone, timestamp as UTC wall time,
-- a date as a date
CREATE TABLE ex.titems (item_id bigint, listed timestamptz, made timestamp, day date);
INSERT INTO ex.titems
SELECT i, '2026-01-01 00:30+00'::timestamptz + i * interval '1 day', '2025-06-01 12:00'::timestamp + i * interval '7 hours',
       '2026-03-01'::date + i / 5
FROM generate_series(1, 40) i;
CREATE TABLE ex.tusers (user_id bigint, signup date);
INSERT INTO ex.tusers SELECT u, '2025-01-01'::date + u * 3 FROM generate_series(1, 60) u;
CREATE TABLE ex.tbehaviours AS
SELECT u AS user_id, 1 + (u + j) % 40 AS item_id, 'pv' AS action,
       '2026-05-01 00:00+00'::timestamptz + u * interval '1 day' + j * interval '1 minute' AS ts
FROM generate_series(1, 60) u, generate_series(0, 4) j;
SELECT s -> 'items' AS items
FROM coldstart.train('ex_t', 'ex.tbehaviours', 'ex.titems', 'ex.tusers',
                     '{"dim": 4, "epochs": 1, "buckets": 4, "validation_fraction": 0}') s;
SET timezone = 'UTC';
SELECT part, detail FROM coldstart.explain(7, 12, 'ex_t')
WHERE part IN ('content match', 'attribute') ORDER BY part, detail;
SET timezone = 'Asia/Tokyo';
SELECT part, detail FROM coldstart.explain(7, 12, 'ex_t')
WHERE part IN ('content match', 'attribute') ORDER BY part, detail;
RESET timezone;
-- dates beyond what a timestamp holds (294276 AD) print as dates too
CREATE TABLE ex.fitems (item_id bigint, day date);
INSERT INTO ex.fitems SELECT i, '300000-01-01'::date + i * 1000 FROM generate_series(1, 40) i;
SELECT s -> 'items' AS items
FROM coldstart.train('ex_f', 'ex.tbehaviours', 'ex.fitems', NULL,
                     '{"dim": 4, "epochs": 1, "buckets": 4, "validation_fraction": 0}') s;
SELECT part, detail FROM coldstart.explain(7, 12, 'ex_f') WHERE part = 'content match' ORDER BY detail;
