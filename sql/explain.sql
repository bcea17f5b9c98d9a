--
-- explain(user_id, item_id): the score split into its terms.  For every
-- kind of user (nothing known, attributes only, history, history with
-- behaviours on items the model does not know) and for items of the model,
-- added after training, with or without a hidden layer, the terms add up to
-- the score recommend() gives; the rows name what they come from.
--
CREATE EXTENSION coldstart;
SET client_min_messages = warning;
CREATE SCHEMA ex;

-- two clusters: items 1..20 sci-fi, 21..40 romance, with a price; even
-- users (segment a) watch sci-fi, odd users (segment b) romance
CREATE TABLE ex.items (item_id bigint PRIMARY KEY, genre text NOT NULL, price numeric);
INSERT INTO ex.items SELECT i, CASE WHEN i <= 20 THEN 'scifi' ELSE 'romance' END, 5 + i % 7 FROM generate_series(1, 40) i;
CREATE TABLE ex.users (user_id bigint PRIMARY KEY, segment text);
INSERT INTO ex.users SELECT u, CASE WHEN u % 2 = 0 THEN 'a' ELSE 'b' END FROM generate_series(1, 120) u;
CREATE TABLE ex.behaviours (user_id bigint, item_id bigint, action text, ts timestamptz);
INSERT INTO ex.behaviours
SELECT u, (u % 2) * 20 + 1 + (u * 3 + j * 7) % 20, CASE WHEN (u + j) % 3 = 0 THEN 'buy' ELSE 'pv' END,
       '2026-05-01 00:00+00'::timestamptz + u * interval '1 day' + j * interval '1 hour'
FROM generate_series(1, 120) u, generate_series(0, 5) j;
SELECT s -> 'items' AS items
FROM coldstart.train('ex', 'ex.behaviours', 'ex.items', 'ex.users',
                     '{"dim": 8, "epochs": 4, "seed": 3, "validation_fraction": 0, "half_life": "30 days"}') s;
SELECT s -> 'items' AS items
FROM coldstart.train('ex_hidden', 'ex.behaviours', 'ex.items', 'ex.users',
                     '{"dim": 8, "hidden": 4, "epochs": 4, "seed": 3, "validation_fraction": 0, "half_life": "30 days"}') s;

-- users: 9999 nothing known; 1000 a segment only; 1001 one known item and
-- one nobody knows; 2 a regular.  Item 41 is added after training.
INSERT INTO ex.users VALUES (1000, 'a'), (1001, 'b');
INSERT INTO ex.behaviours VALUES (1001, 25, 'buy', '2026-09-01 00:00+00'), (1001, 999, 'pv', '2026-09-01 01:00+00');
INSERT INTO ex.items VALUES (41, 'romance', 6);
SELECT coldstart.refresh_items('ex') AS refreshed_ex, coldstart.refresh_items('ex_hidden') AS refreshed_hidden;

-- every term, summed, against recommend()'s score of the item for the user
SELECT m.model, u.user_id, i.item_id,
       abs(e.total - r.score) < 1e-4 AS adds_up_to_the_score,
       e.terms, e.parts
FROM (VALUES ('ex'), ('ex_hidden')) m(model),
     (VALUES (9999), (1000), (1001), (2)) u(user_id),
     (VALUES (3), (26), (41)) i(item_id),
     LATERAL (SELECT sum(contribution) AS total, count(*) AS terms,
                     string_agg(DISTINCT part, ', ' ORDER BY part) AS parts
              FROM coldstart.explain(u.user_id, i.item_id, m.model)) e,
     LATERAL (SELECT score FROM coldstart.recommend(u.user_id, 100, m.model, exclude_seen => false) r
              WHERE r.item_id = i.item_id) r
ORDER BY 1, 2, 3;

-- what the rows say, for user 1001 (segment b, bought 25, viewed the unknown
-- 999) and item 26 (romance, price 5 + 26 % 7 = 10)
SELECT part, detail, contribution <> 0 AS nonzero
FROM coldstart.explain(1001, 26, 'ex');
-- the match term of the genre the user has been at is the column's match
-- weight (model_info() rounds it to 4 places) times the item's weight for
-- the value (1) times H = 1 - exp(-w), w the purchase's weight: 4, decayed
-- by the hour to the user's latest behaviour with a half-life of 30 days
SELECT abs(e.contribution - (coldstart.model_info(m.model) -> 'item_columns' -> 0 ->> 'match_weight')::float8
                            * (1 - exp(-4 * 2 ^ (-1 / (30 * 24.0))))) < 1e-4 AS genre_match_as_defined
FROM coldstart.explain(1001, 26, 'ex') e, coldstart.models m
WHERE e.part = 'content match' AND e.detail = 'genre = romance' AND m.name = 'ex' AND m.active;

-- a numeric feature's term names its bucket: user 2 (items 1, 2, 7, 8, 14,
-- 15) has been at a price of 7 (item 2: 5 + 2 % 7), the price of item 9
SELECT part, detail FROM coldstart.explain(2, 9, 'ex') WHERE part = 'content match' ORDER BY detail;

-- the default model, and errors
SET coldstart.default_model = 'ex';
SELECT count(*) > 0 AS explained FROM coldstart.explain(2, 3);
SELECT * FROM coldstart.explain(NULL, 3);
SELECT * FROM coldstart.explain(2, NULL);
SELECT * FROM coldstart.explain(2, 12345);
INSERT INTO ex.items VALUES (42, 'scifi', 7);
SELECT * FROM coldstart.explain(2, 42);
SELECT * FROM coldstart.explain(2, 3, 'no_such_model');
