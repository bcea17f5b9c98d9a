--
-- Determinism, retrain(), activate() and pruning of versions.
--
-- The same data, options and seed give byte-identical models, also under
-- another name and through retrain(); another seed gives another model.
-- retrain() reuses the stored spec (relations and options) of the active
-- version, or of the newest when none is active; activate() rolls back and
-- forward, and serving follows.  (Errors for unknown models and versions are
-- in bad_input.sql.)
--
CREATE EXTENSION coldstart;
SET client_min_messages = warning;
SELECT coldstart.create_demo('tv', users => 150, items => 80, behaviours => 2500, seed => 3);

-- dropout and the validation split draw random numbers too
\set opts '{"dim": 8, "epochs": 3, "learning_rate": 0.01, "seed": 11, "max_prefixes": 5, "target_balance": 0.5, "dropout": 0.2, "l2": 0.0001, "history_prior": 1, "patience": 5, "validation_fraction": 0.2, "keep_versions": 0}'

-- what a version serves: the cold-start list, a session's list, and the
-- list of user 3 (whose behaviours never change here), with scores
CREATE FUNCTION tv.served(model text) RETURNS text LANGUAGE sql AS $$
	SELECT (SELECT string_agg(item_id || ':' || round(score::numeric, 4), ' ' ORDER BY rank)
	        FROM coldstart.recommend_for_items('{}', k => 5, model => model)) || ' | ' ||
	       (SELECT string_agg(item_id || ':' || round(score::numeric, 4), ' ' ORDER BY rank)
	        FROM coldstart.recommend_for_items('{5,6,7}', '{pv,cart,buy}', k => 5, model => model)) || ' | ' ||
	       (SELECT string_agg(item_id || ':' || round(score::numeric, 4), ' ' ORDER BY rank)
	        FROM coldstart.recommend(3, 5, model))
$$;
-- the summary without timings
CREATE FUNCTION tv.untimed(s jsonb) RETURNS jsonb LANGUAGE sql AS $$
	SELECT (s - ARRAY['model', 'seconds', 'examples_per_second', 'epochs', 'version', 'versions_pruned'])
	       || jsonb_build_object('epochs', (SELECT jsonb_agg(e - 'seconds') FROM jsonb_array_elements(s -> 'epochs') e))
$$;

-- ---------------------------------------------------------------------
-- Determinism
-- ---------------------------------------------------------------------
CREATE TABLE tv.runs AS
SELECT n, coldstart.train('tv_' || n, 'tv.behaviours', 'tv.items', 'tv.users',
                          :'opts'::jsonb || jsonb_build_object('seed', seed)) AS s
FROM (VALUES ('a', 11), ('b', 11), ('c', 12)) v(n, seed);
SELECT a.name, b.name, md5(a.model::text) = md5(b.model::text) AS same_bytes,
       a.model::text = b.model::text AS same_text
FROM coldstart.models a JOIN coldstart.models b ON a.name < b.name
WHERE a.name IN ('tv_a', 'tv_b', 'tv_c') AND b.name IN ('tv_a', 'tv_b', 'tv_c')
ORDER BY a.name, b.name;
-- the same losses epoch by epoch, and the same validation users
SELECT a.n, b.n, tv.untimed(a.s) = tv.untimed(b.s) AS same_summary
FROM tv.runs a JOIN tv.runs b ON a.n < b.n ORDER BY a.n, b.n;
SELECT tv.served('tv_a') = tv.served('tv_b') AS same_served, tv.served('tv_a') <> tv.served('tv_c') AS other_seed_other_served;
-- seeds are read exactly: beyond 2^53 two neighbours are two seeds (a double
-- merged them), and the largest bigint is one
SELECT seed, s -> 'options' ->> 'seed' AS seed_in_the_summary
FROM (VALUES (9007199254740992), (9007199254740993), (9223372036854775807)) v(seed),
     LATERAL coldstart.train('tv_s' || seed, 'tv.behaviours', options => '{"dim": 2, "epochs": 1}'::jsonb || jsonb_build_object('seed', seed)) s
ORDER BY seed;
SELECT count(DISTINCT m.model::text) AS distinct_models,
       array_agg(coldstart.model_info(m.model) -> 'options' ->> 'seed' ORDER BY m.name) AS seeds_in_the_models
FROM coldstart.models m WHERE m.name LIKE 'tv\_s%';
DELETE FROM coldstart.models WHERE name LIKE 'tv\_s%';

-- ---------------------------------------------------------------------
-- retrain(): the stored spec, the same model on the same data
-- ---------------------------------------------------------------------
CREATE TABLE tv.versions (version int PRIMARY KEY, served text);
SELECT s ->> 'version' AS version FROM coldstart.train('tv_r', 'tv.behaviours', 'tv.items', 'tv.users', :'opts') s;
INSERT INTO tv.versions VALUES (1, tv.served('tv_r'));
SELECT s ->> 'version' AS version, s -> 'active' AS active, s -> 'options' @> :'opts' AS options_kept,
       s -> 'options' = (SELECT coldstart.model_info(model) -> 'options' FROM coldstart.models
                         WHERE name = 'tv_r' AND version = 1) AS same_options
FROM coldstart.retrain('tv_r') s;
INSERT INTO tv.versions VALUES (2, tv.served('tv_r'));
SELECT v2.spec = v1.spec AS same_spec, md5(v2.model::text) = md5(v1.model::text) AS same_model,
       v2.metrics - 'seconds' - 'examples_per_second' - 'epochs' = v1.metrics - 'seconds' - 'examples_per_second' - 'epochs' AS same_metrics
FROM coldstart.models v1 JOIN coldstart.models v2 USING (name)
WHERE name = 'tv_r' AND v1.version = 1 AND v2.version = 2;
-- new behaviours (of new users 1001..1150): retrain() reads them (500 more
-- rows) and trains another model
INSERT INTO tv.behaviours
SELECT user_id + 1000, item_id, action, ts FROM coldstart.demo_behaviours(150, 80, 500, 4, '2026-11-01', 5);
SELECT s ->> 'version' AS version, (s -> 'rows_read')::int AS rows_read
FROM coldstart.retrain('tv_r') s;
INSERT INTO tv.versions VALUES (3, tv.served('tv_r'));
SELECT v3.spec = v1.spec AS same_spec, md5(v3.model::text) <> md5(v1.model::text) AS other_model
FROM coldstart.models v1 JOIN coldstart.models v3 USING (name)
WHERE name = 'tv_r' AND v1.version = 1 AND v3.version = 3;
-- a train() with other options stores a new spec; retrain() then reuses it
SELECT s ->> 'version' AS version
FROM coldstart.train('tv_r', 'tv.behaviours', 'tv.items', options => :'opts'::jsonb || '{"dim": 4}') s;
INSERT INTO tv.versions VALUES (4, tv.served('tv_r'));
SELECT s ->> 'version' AS version, s -> 'options' -> 'dim' AS dim, s -> 'user_features' AS user_features
FROM coldstart.retrain('tv_r') s;
INSERT INTO tv.versions VALUES (5, tv.served('tv_r'));

-- ---------------------------------------------------------------------
-- activate(): roll back and forward; serving follows at once
-- ---------------------------------------------------------------------
SELECT version, active, spec -> 'options' -> 'dim' AS dim, spec ->> 'users' AS users
FROM coldstart.models WHERE name = 'tv_r' ORDER BY version;
SELECT coldstart.activate('tv_r', 1);
SELECT version, active FROM coldstart.models WHERE name = 'tv_r' ORDER BY version;
SELECT tv.served('tv_r') = served AS serves_version_1 FROM tv.versions WHERE version = 1;
-- retrain() takes the spec of the active version (1), not of the newest (5)
SELECT s ->> 'version' AS version, s -> 'options' -> 'dim' AS dim, s -> 'user_features' AS user_features
FROM coldstart.retrain('tv_r') s;
INSERT INTO tv.versions VALUES (6, tv.served('tv_r'));
-- and with no active version, the spec of the newest
SELECT coldstart.activate('tv_r', 4);
UPDATE coldstart.models SET active = false WHERE name = 'tv_r';
SELECT s ->> 'version' AS version, s -> 'options' -> 'dim' AS dim
FROM coldstart.retrain('tv_r') s;
INSERT INTO tv.versions VALUES (7, tv.served('tv_r'));
-- every version serves what it served when it was new; activating the
-- active version changes nothing
CREATE FUNCTION tv.check_all() RETURNS TABLE (version int, serves_its_own boolean, only_active boolean)
LANGUAGE plpgsql AS $$
BEGIN
	FOR version IN SELECT v.version FROM tv.versions v ORDER BY v.version LOOP
		PERFORM coldstart.activate('tv_r', version);
		PERFORM coldstart.activate('tv_r', version);
		serves_its_own := tv.served('tv_r') = (SELECT served FROM tv.versions v WHERE v.version = check_all.version);
		only_active := (SELECT array_agg(m.version) FROM coldstart.models m WHERE m.name = 'tv_r' AND m.active) = ARRAY[version];
		RETURN NEXT;
	END LOOP;
END
$$;
SELECT * FROM tv.check_all();
-- the versions that are copies serve alike, the others differ
SELECT a.version, b.version, a.served = b.served AS same
FROM tv.versions a JOIN tv.versions b ON a.version < b.version ORDER BY 1, 2;
-- retrain() and train() are recorded as runs
SELECT kind, status, version, activated FROM coldstart.training_runs WHERE name = 'tv_r' ORDER BY run_id;

-- ---------------------------------------------------------------------
-- keep_versions: only the newest N are kept
-- ---------------------------------------------------------------------
SELECT s ->> 'version' AS version, s -> 'versions_pruned' AS pruned
FROM generate_series(1, 4) i,
     LATERAL coldstart.train('tv_k', 'tv.behaviours',
                             options => :'opts'::jsonb || jsonb_build_object('keep_versions', 2, 'epochs', 1, 'seed', i)) s
ORDER BY i;
SELECT version, active FROM coldstart.models WHERE name = 'tv_k' ORDER BY version;
SELECT coldstart.activate('tv_k', 2);

-- ---------------------------------------------------------------------
-- The kept epoch and the refit
-- ---------------------------------------------------------------------
-- "tolerance": the kept epoch is the last one whose validation recall@20
-- is within that share of the best so far.  With a high learning rate the
-- recall here peaks before the last of 12 epochs (the curve is printed
-- below): with 0 the peak is kept, with 0.04 the last epoch within 4% of
-- it, with 0.5 the last epoch.
-- "refit": with the epochs chosen, train again on every user for the kept
-- number of epochs; "auto" does when the validation users are at least 5%
-- of the users.  Without validation users there is nothing to choose, and
-- nothing to refit.
CREATE TABLE tv.fits AS
SELECT n, coldstart.train('tv_f' || n, 'tv.behaviours', 'tv.items', 'tv.users',
                          :'opts'::jsonb || '{"epochs": 12, "patience": 12, "learning_rate": 0.05}'::jsonb || o::jsonb) AS s
FROM (VALUES (1, '{"tolerance": 0}'), (2, '{"tolerance": 0.04}'), (3, '{"tolerance": 0.5}'),
             (4, '{"refit": false}'), (5, '{"refit": true}'), (6, '{"validation_fraction": 0}'),
             (7, '{"validation_fraction": 0.02}'), (8, '{"validation_fraction": 0.02, "refit": true}')) v(n, o);
SELECT n, (s ->> 'validation_users')::int AS validation_users, s -> 'refit' AS refit,
       (s ->> 'kept_epoch')::int AS kept_epoch, (s ->> 'epochs_run')::int AS epochs_run,
       (s ->> 'kept_epoch')::int = (SELECT max((e ->> 'epoch')::int) FROM jsonb_array_elements(s -> 'epochs') e
                                    WHERE (e ->> 'validation_recall_at_20')::float8 =
                                          (SELECT max((x ->> 'validation_recall_at_20')::float8)
                                           FROM jsonb_array_elements(s -> 'epochs') x)) AS kept_the_best,
       s -> 'options' -> 'refit' AS refit_option,
       (s ->> 'kept_epoch')::int = (SELECT max(epoch) FROM (
           SELECT (e ->> 'epoch')::int AS epoch, (e ->> 'validation_recall_at_20')::float8 AS recall,
                  max((e ->> 'validation_recall_at_20')::float8) OVER (ORDER BY (e ->> 'epoch')::int) AS best
           FROM jsonb_array_elements(s -> 'epochs') e) c
         WHERE recall >= best * (1 - (s -> 'options' ->> 'tolerance')::float8))
         OR (s ->> 'validation_users')::int = 0 AS kept_by_the_rule
FROM tv.fits ORDER BY n;
SELECT e ->> 'epoch' AS epoch, round((e ->> 'validation_recall_at_20')::numeric, 4) AS recall,
       round((e ->> 'validation_recall_at_20')::numeric / max((e ->> 'validation_recall_at_20')::numeric)
             OVER (ORDER BY (e ->> 'epoch')::int), 4) AS of_best_so_far
FROM tv.fits, jsonb_array_elements(s -> 'epochs') e WHERE n = 2 ORDER BY (e ->> 'epoch')::int;
-- a refit model is another model than the one chosen on the held-out users,
-- and trained on them too: the validation users' own lists change
SELECT md5(a.model::text) <> md5(b.model::text) AS refit_differs
FROM coldstart.models a, coldstart.models b WHERE a.name = 'tv_f4' AND b.name = 'tv_f5';
-- the same options and seed give the same refit model
SELECT s -> 'refit' AS refit FROM coldstart.train('tv_f5b', 'tv.behaviours', 'tv.items', 'tv.users',
    :'opts'::jsonb || '{"epochs": 12, "patience": 12, "learning_rate": 0.05, "refit": true}') s;
SELECT md5(a.model::text) = md5(b.model::text) AS refit_deterministic
FROM coldstart.models a, coldstart.models b WHERE a.name = 'tv_f5' AND b.name = 'tv_f5b';

-- Held-out users count nowhere in the model they validate: when nobody else
-- has any of their items (here every user has items of their own), there is
-- nothing to predict for them, the validation recall is null rather than a
-- measure of finding their items by elimination, and the last epoch is kept
-- (and refit); the model still serves finite scores.
CREATE TABLE tv.own (user_id bigint, item_id bigint, action text, ts timestamptz);
INSERT INTO tv.own SELECT u, u * 10 + j, 'pv', '2026-01-01'::timestamptz + (u * 10 + j) * interval '1 minute'
FROM generate_series(1, 60) u, generate_series(0, 4) j;
SELECT (s ->> 'validation_users')::int > 0 AS has_validation_users, s -> 'validation_recall_at_20' AS validation_recall,
       (s ->> 'kept_epoch')::int AS kept_epoch, (s ->> 'epochs_run')::int AS epochs_run, s -> 'refit' AS refit
FROM coldstart.train('tv_own', 'tv.own', options => '{"dim": 4, "epochs": 3, "seed": 5, "validation_fraction": 0.2}') s;
SELECT count(*) AS recommended, bool_and(score > -1e30 AND score < 1e30) AS finite_scores
FROM coldstart.recommend_for_items('{11}', k => 10, model => 'tv_own');

-- A training that, through a trigger on the rows it writes, starts another
-- training of the same model is refused: the session's own training lock
-- would not stop it, and the inner one would prune the outer's version.
-- Another model may be trained there.
CREATE FUNCTION tv.nested() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF NEW.name IN ('tv_nest', 'tv_outer') AND NEW.version = 1 THEN
		PERFORM coldstart.train(CASE NEW.name WHEN 'tv_nest' THEN 'tv_nest' ELSE 'tv_inner' END,
		                        'tv.own', options => '{"dim": 4, "epochs": 1, "keep_versions": 1}');
	END IF;
	RETURN NEW;
END $$;
CREATE TRIGGER nested AFTER INSERT ON coldstart.models FOR EACH ROW EXECUTE FUNCTION tv.nested();
SELECT coldstart.train('tv_nest', 'tv.own', options => '{"dim": 4, "epochs": 1}');
SELECT count(*) AS tv_nest_versions FROM coldstart.models WHERE name = 'tv_nest';
SELECT s ->> 'version' AS outer_version FROM coldstart.train('tv_outer', 'tv.own', options => '{"dim": 4, "epochs": 1}') s;
SELECT name, version, active FROM coldstart.models WHERE name IN ('tv_outer', 'tv_inner') ORDER BY name;
DROP TRIGGER nested ON coldstart.models;

DELETE FROM coldstart.models WHERE name LIKE 'tv_%';
DELETE FROM coldstart.training_runs WHERE name LIKE 'tv_%';
DROP SCHEMA tv CASCADE;
