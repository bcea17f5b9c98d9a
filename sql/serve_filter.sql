--
-- Serving with filters: candidates (only these items may be returned: in
-- stock, on this category page) and exclude (never these: in the cart, shown
-- already).  The filtered list is the unfiltered ranking with the other
-- items taken out, scores and probabilities unchanged: checked against the
-- whole catalogue ranked, for recommend(), recommend_for_items() and
-- similar_items().
--
CREATE EXTENSION coldstart;
SET client_min_messages = warning;
CREATE SCHEMA sf;

-- two clusters: items 1..20 sci-fi, 21..40 romance; even users sci-fi, odd
-- users romance
CREATE TABLE sf.items (item_id bigint PRIMARY KEY, genre text NOT NULL);
INSERT INTO sf.items SELECT i, CASE WHEN i <= 20 THEN 'scifi' ELSE 'romance' END FROM generate_series(1, 40) i;
CREATE TABLE sf.behaviours (user_id bigint, item_id bigint, action text, ts timestamptz);
INSERT INTO sf.behaviours
SELECT u, (u % 2) * 20 + 1 + (u * 3 + j * 7) % 20, CASE WHEN (u + j) % 3 = 0 THEN 'buy' ELSE 'pv' END,
       '2026-05-01 00:00+00'::timestamptz + u * interval '1 day' + j * interval '1 hour'
FROM generate_series(1, 120) u, generate_series(0, 5) j;
SELECT s -> 'items' AS items
FROM coldstart.train('sf', 'sf.behaviours', 'sf.items', NULL,
                     '{"dim": 8, "epochs": 4, "seed": 3, "validation_fraction": 0}') s;
SET coldstart.default_model = 'sf';

-- The rows of a call as text, and those of the same call without filters,
-- ranked over the whole catalogue, kept where the filter allows and
-- renumbered: the two must be equal.
CREATE FUNCTION sf.rows(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	r text;
BEGIN
	EXECUTE format('SELECT coalesce(string_agg(format(''%%s:%%s:%%s:%%s'', rank, item_id, score, probability), '' '' ORDER BY rank), '''') FROM %s', q) INTO r;
	RETURN r;
END
$$;
CREATE FUNCTION sf.expected(q text, k int, candidates bigint[], exclude bigint[]) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
	r text;
BEGIN
	EXECUTE format($f$
		SELECT coalesce(string_agg(format('%%s:%%s:%%s:%%s', n, item_id, score, probability), ' ' ORDER BY n), '')
		FROM (SELECT row_number() OVER (ORDER BY rank) AS n, item_id, score, probability
		      FROM %s
		      WHERE ($1 IS NULL OR item_id = ANY ($1)) AND ($2 IS NULL OR item_id <> ALL ($2))
		      ORDER BY rank LIMIT $3) t$f$, q) INTO r USING candidates, exclude, k;
	RETURN r;
END
$$;

-- the item ids of a call, in rank order
CREATE FUNCTION sf.ids(q text, OUT ids bigint[]) LANGUAGE plpgsql AS
$$ BEGIN EXECUTE 'SELECT array_agg(item_id ORDER BY rank) FROM ' || q INTO ids; END $$;

-- user 2 (sci-fi) has seen some sci-fi items; 999 and 1000 are not items
SELECT t.n, t.what, sf.rows(t.filtered) = sf.expected(t.whole, t.k, t.cand, t.excl) AS same_as_whole_ranking_filtered,
       array_length(sf.ids(t.filtered), 1) AS rows,
       CASE WHEN t.n <= 5 THEN (SELECT count(DISTINCT b.item_id) FROM sf.behaviours b
                                WHERE b.user_id = 2 AND b.item_id = ANY (sf.ids(t.filtered))) END AS seen_returned
FROM (VALUES
  (1, 'candidates', 5, '{1,2,3,4,5,6,7,8,9,10,21,22,23}'::bigint[], NULL::bigint[],
   $$coldstart.recommend(2, 5, candidates => '{1,2,3,4,5,6,7,8,9,10,21,22,23}')$$, $$coldstart.recommend(2, 60)$$),
  (2, 'exclude', 5, NULL, '{1,2,3,4,5,6,7,8,9,10}',
   $$coldstart.recommend(2, 5, exclude => '{1,2,3,4,5,6,7,8,9,10}')$$, $$coldstart.recommend(2, 60)$$),
  (3, 'both: exclude wins', 10, '{21,22,23,24,25}', '{22,24}',
   $$coldstart.recommend(2, 10, candidates => '{21,22,23,24,25}', exclude => '{22,24}')$$, $$coldstart.recommend(2, 60)$$),
  (4, 'duplicates, NULLs and unknown ids in candidates', 10, '{30,31}', NULL,
   $$coldstart.recommend(2, 10, candidates => '{31,NULL,30,999,31,1000}')$$, $$coldstart.recommend(2, 60)$$),
  (5, 'seen items kept, then filtered', 4, '{1,2,3,4,5,6,7,8}', NULL,
   $$coldstart.recommend(2, 4, exclude_seen => false, candidates => '{1,2,3,4,5,6,7,8}')$$,
   $$coldstart.recommend(2, 60, exclude_seen => false)$$),
  (6, 'anonymous session', 3, '{21,25,29,33,37}', '{25}',
   $$coldstart.recommend_for_items('{4}', NULL, 3, candidates => '{21,25,29,33,37}', exclude => '{25}')$$,
   $$coldstart.recommend_for_items('{4}', NULL, 60)$$),
  (7, 'similar items', 4, NULL, '{1,2,3}',
   $$coldstart.similar_items(4, 4, exclude => '{1,2,3}')$$, $$coldstart.similar_items(4, 60)$$),
  (8, 'similar items among candidates', 2, '{35,36,4,5}', NULL,
   $$coldstart.similar_items(4, 2, candidates => '{35,36,4,5}')$$, $$coldstart.similar_items(4, 60)$$)
) AS t(n, what, k, cand, excl, filtered, whole)
ORDER BY t.n;

-- what the equality above rests on: the unfiltered lists hold the items the
-- filters take out (else a filter that did nothing would pass)
SELECT (SELECT count(*) FROM coldstart.recommend(2, 5) WHERE item_id <= 10) AS top5_in_1_to_10,
       (SELECT count(*) FROM coldstart.recommend(2, 5) WHERE item_id NOT IN (1,2,3,4,5,6,7,8,9,10,21,22,23)) AS top5_outside_candidates,
       (SELECT count(*) FROM coldstart.similar_items(4, 4) WHERE item_id IN (1, 2, 3)) AS similar_top4_in_1_to_3;

-- an empty candidate list returns nothing; fewer candidates than k, as many rows
SELECT count(*) AS none FROM coldstart.recommend(2, 10, candidates => '{}');
SELECT count(*) AS only_unknown FROM coldstart.recommend(2, 10, candidates => '{999, NULL}');
SELECT item_id, rank FROM coldstart.recommend(2, 10, candidates => '{33, 21}') ORDER BY rank;
-- NULL means no filter
SELECT sf.rows($$coldstart.recommend(2, 5, candidates => NULL, exclude => NULL)$$) =
       sf.rows($$coldstart.recommend(2, 5)$$) AS null_is_no_filter;
-- an item added after training is a candidate once refresh_items() has scored it
INSERT INTO sf.items VALUES (41, 'scifi');
SELECT count(*) AS before_refresh FROM coldstart.recommend(2, 10, candidates => '{41}');
SELECT coldstart.refresh_items('sf') AS refreshed;
SELECT item_id, rank FROM coldstart.recommend(2, 10, candidates => '{41}');
SELECT (SELECT count(*) FROM coldstart.recommend(2, 60) WHERE item_id = 41) AS listed,
       (SELECT count(*) FROM coldstart.recommend(2, 60, exclude => '{41}') WHERE item_id = 41) AS excluded;
-- rows of coldstart.item_extras that refresh_items() cannot have written
-- (edited by hand) are left out of serving with a WARNING: a bias or vector
-- value beyond training's bound (10^6) or not a number, a vector of the
-- wrong length; the models row is touched so that the cache reloads
BEGIN;
UPDATE coldstart.item_extras SET bias = 1e30 WHERE name = 'sf' AND item_id = 41;
UPDATE coldstart.models SET items_refreshed_at = clock_timestamp() WHERE name = 'sf' AND active;
SELECT count(*) AS huge_bias_served FROM coldstart.recommend(2, 10, candidates => '{41}');
ROLLBACK;
BEGIN;
UPDATE coldstart.item_extras SET vector[1] = 'NaN' WHERE name = 'sf' AND item_id = 41;
UPDATE coldstart.models SET items_refreshed_at = clock_timestamp() WHERE name = 'sf' AND active;
SELECT count(*) AS nan_vector_served FROM coldstart.recommend(2, 10, candidates => '{41}');
ROLLBACK;
BEGIN;
UPDATE coldstart.item_extras SET vector = vector || 0::real WHERE name = 'sf' AND item_id = 41;
UPDATE coldstart.models SET items_refreshed_at = clock_timestamp() WHERE name = 'sf' AND active;
SELECT count(*) AS long_vector_served FROM coldstart.recommend(2, 10, candidates => '{41}');
ROLLBACK;
UPDATE coldstart.models SET items_refreshed_at = clock_timestamp() WHERE name = 'sf' AND active;
SELECT count(*) AS served_again FROM coldstart.recommend(2, 10, candidates => '{41}');

-- bad arrays
SELECT * FROM coldstart.recommend(2, 5, candidates => '{{1,2},{3,4}}');
SELECT * FROM coldstart.recommend_for_items('{4}', NULL, 5, exclude => '{{1},{2}}');
SELECT * FROM coldstart.similar_items(4, 5, candidates => '{{1}}');

-- items deleted from the items table: refresh_items() lists them, and they are
-- no longer recommended (nor candidates); back in the table, back in the lists
SELECT item_id AS top_item FROM coldstart.recommend(2, 1) \gset
SELECT sf.ids($$coldstart.recommend(2, 5)$$) AS top5_before \gset
DELETE FROM sf.items WHERE item_id = :top_item;
SET client_min_messages = notice;
SELECT coldstart.refresh_items('sf') AS refreshed;
SET client_min_messages = warning;
SELECT items_removed = ARRAY[:top_item]::bigint[] AS listed_as_removed FROM coldstart.models WHERE name = 'sf' AND active;
SELECT (SELECT count(*) FROM coldstart.recommend(2, 60) WHERE item_id = :top_item) AS recommended,
       (SELECT count(*) FROM coldstart.recommend(2, 10, candidates => ARRAY[:top_item]::bigint[])) AS as_candidate,
       (SELECT count(*) FROM coldstart.recommend_for_items('{}', NULL, 60) WHERE item_id = :top_item) AS anonymous,
       (SELECT count(*) FROM coldstart.similar_items(:top_item, 5)) AS its_similar_items;
-- it is out of the catalogue: the probabilities of all the others add up to 1
SELECT abs(sum(probability) - 1) < 1e-6 AS softmax_over_the_rest, count(*) AS items
FROM coldstart.recommend(2, 100, exclude_seen => false);
-- the rest of the list moves up by one
SELECT sf.ids($$coldstart.recommend(2, 4)$$) = (:'top5_before'::bigint[])[2:5] AS rest_moved_up;
INSERT INTO sf.items SELECT :top_item, CASE WHEN :top_item <= 20 THEN 'scifi' ELSE 'romance' END;
SELECT coldstart.refresh_items('sf') AS refreshed;
SELECT items_removed AS removed_now FROM coldstart.models WHERE name = 'sf' AND active;
SELECT item_id = :top_item AS top_again FROM coldstart.recommend(2, 1);

-- a key column that no longer holds ids is an error, not a catalogue of
-- deleted items
ALTER TABLE sf.items ALTER item_id TYPE numeric;
SELECT coldstart.refresh_items('sf');
ALTER TABLE sf.items ALTER item_id TYPE bigint;
SELECT items_removed AS still_removed FROM coldstart.models WHERE name = 'sf' AND active;
SELECT count(*) AS served FROM coldstart.recommend(2, 100, exclude_seen => false);

-- an items table where none of the model's items is left (emptied by a
-- reload, or hidden from this role) is refused rather than stored
BEGIN;
DELETE FROM sf.items;
SELECT coldstart.refresh_items('sf');
ROLLBACK;
SELECT items_removed AS still_removed FROM coldstart.models WHERE name = 'sf' AND active;

-- new items with a content vector: a vector beyond what training stores is
-- left out with a WARNING; a second row of a new item (the first one read is
-- kept) does not break the refresh, also when other rows come between
CREATE TABLE sf.citems (item_id bigint, emb real[]);
INSERT INTO sf.citems SELECT i, ARRAY[i % 3, i % 5, 1, 0]::real[] FROM generate_series(1, 40) i;
SELECT s -> 'items' AS items
FROM coldstart.train('sfc', 'sf.behaviours', 'sf.citems', NULL,
                     '{"dim": 4, "epochs": 1, "seed": 3, "validation_fraction": 0}') s;
INSERT INTO sf.citems VALUES (60, '{1, 2, 1, 0}'), (61, '{1e8, -1e8, 1e8, 1e8}'), (62, '{1, 2, 1, 0}');
INSERT INTO sf.citems SELECT 1000 + i, '{0, 1, 1, 0}' FROM generate_series(1, 1500) i;
INSERT INTO sf.citems VALUES (60, '{2, 2, 2, 2}');
SELECT coldstart.refresh_items('sfc') AS refreshed;
SELECT count(*) FILTER (WHERE item_id = 60) AS rows_of_60, count(*) FILTER (WHERE item_id = 61) AS rows_of_61,
       (SELECT vector FROM coldstart.item_extras WHERE name = 'sfc' AND item_id = 60) =
       (SELECT vector FROM coldstart.item_extras WHERE name = 'sfc' AND item_id = 62) AS from_its_first_row
FROM coldstart.item_extras WHERE name = 'sfc';

-- activate() refreshes the version it activates: after a rollback, the items
-- added since it was trained are served and those deleted since are not
SELECT s ->> 'version' AS version
FROM generate_series(1, 2) i,
     LATERAL coldstart.train('sfr', 'sf.behaviours', 'sf.items', NULL,
                             jsonb_build_object('dim', 4, 'epochs', 1, 'seed', i, 'validation_fraction', 0)) s
ORDER BY i;
INSERT INTO sf.items VALUES (42, 'romance');
DELETE FROM sf.items WHERE item_id = 7;
SET client_min_messages = notice;
SELECT coldstart.refresh_items('sfr') AS refreshed;
SELECT coldstart.activate('sfr', 1);
SET client_min_messages = warning;
SELECT version, active, items_removed FROM coldstart.models WHERE name = 'sfr' ORDER BY version;
SELECT (SELECT count(*) FROM coldstart.recommend(3, 10, model => 'sfr', candidates => '{42}')) AS new_item_served,
       (SELECT count(*) FROM coldstart.recommend(3, 100, model => 'sfr') WHERE item_id = 7) AS deleted_item_served;
-- refresh => false activates the version as it was last refreshed
INSERT INTO sf.items VALUES (43, 'romance');
SELECT coldstart.activate('sfr', 2, refresh => false);
SELECT (SELECT count(*) FROM coldstart.recommend(3, 10, model => 'sfr', candidates => '{43}')) AS item_43_served,
       (SELECT count(*) FROM coldstart.recommend(3, 10, model => 'sfr', candidates => '{42}')) AS item_42_served;
-- under REPEATABLE READ the refresh sees the activation of the same statement
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT coldstart.activate('sfr', 1);
SELECT (SELECT count(*) FROM coldstart.item_extras WHERE name = 'sfr' AND version = 1) AS extras_of_1,
       (SELECT count(*) FROM coldstart.recommend(3, 10, model => 'sfr', candidates => '{43}')) AS item_43_served;
COMMIT;
-- a refresh that fails fails the activation: the active version stays
BEGIN;
DELETE FROM sf.items;
SAVEPOINT before_activate;
SELECT coldstart.activate('sfr', 2);
ROLLBACK TO before_activate;
SELECT version FROM coldstart.models WHERE name = 'sfr' AND active;
SELECT coldstart.activate('sfr', 2, refresh => false);
SELECT version FROM coldstart.models WHERE name = 'sfr' AND active;
ROLLBACK;
-- a version trained without an items table has nothing to refresh
SELECT s ->> 'version' AS version
FROM coldstart.train('sfn', 'sf.behaviours', NULL, NULL, '{"dim": 4, "epochs": 1, "validation_fraction": 0}') s;
SELECT coldstart.activate('sfn', 1);

-- drop_model(): one version, not the active one while others remain, with
-- its item vectors; or every version; clear errors otherwise
SELECT string_agg(s ->> 'version', ',' ORDER BY i) AS versions
FROM generate_series(1, 3) i,
     LATERAL coldstart.train('sfd', 'sf.behaviours', 'sf.items', NULL,
                             jsonb_build_object('dim', 4, 'epochs', 1, 'seed', i, 'validation_fraction', 0)) s;
INSERT INTO sf.items VALUES (44, 'scifi');
SELECT coldstart.refresh_items('sfd') AS refreshed;
SELECT coldstart.activate('sfd', 2);
SELECT version, count(*) AS extras FROM coldstart.item_extras WHERE name = 'sfd' GROUP BY version ORDER BY version;
SELECT coldstart.drop_model('sfd', 2);
SELECT coldstart.drop_model('sfd', 9);
SELECT coldstart.drop_model('no such model', 1);
SELECT coldstart.drop_model('no such model');
SELECT coldstart.drop_model(NULL);
SELECT coldstart.drop_model('');
SELECT coldstart.drop_model('sfd', 3) AS dropped;
SELECT string_agg(version::text || CASE WHEN active THEN '*' ELSE '' END, ',' ORDER BY version) AS left_versions,
       (SELECT count(*) FROM coldstart.item_extras WHERE name = 'sfd' AND version = 3) AS extras_of_3
FROM coldstart.models WHERE name = 'sfd';
SELECT count(*) AS served FROM coldstart.recommend(3, 5, model => 'sfd');
SELECT coldstart.drop_model('sfd') AS dropped;
SELECT count(*) AS rows_left FROM coldstart.models WHERE name = 'sfd';
SELECT count(*) FROM coldstart.recommend(3, 5, model => 'sfd');
SELECT count(*) > 0 AS runs_kept FROM coldstart.training_runs WHERE name = 'sfd';
-- the only version, active, may go
SELECT s ->> 'version' AS version
FROM coldstart.train('sfd', 'sf.behaviours', NULL, NULL, '{"dim": 4, "epochs": 1, "validation_fraction": 0}') s;
SELECT coldstart.drop_model('sfd', 1) AS dropped;
DELETE FROM sf.items WHERE item_id = 44;
