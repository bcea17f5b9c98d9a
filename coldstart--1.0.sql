/* coldstart--1.0.sql: install script of the coldstart extension */

\echo Use "CREATE EXTENSION coldstart" to load this file. \quit

-- ---------------------------------------------------------------------
-- The model type
-- ---------------------------------------------------------------------

CREATE TYPE coldstart.model;

CREATE FUNCTION coldstart.model_in(cstring) RETURNS coldstart.model
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION coldstart.model_out(coldstart.model) RETURNS cstring
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION coldstart.model_recv(internal) RETURNS coldstart.model
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION coldstart.model_send(coldstart.model) RETURNS bytea
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE TYPE coldstart.model (
	INPUT          = coldstart.model_in,
	OUTPUT         = coldstart.model_out,
	RECEIVE        = coldstart.model_recv,
	SEND           = coldstart.model_send,
	INTERNALLENGTH = VARIABLE,
	ALIGNMENT      = double,
	STORAGE        = external
);

COMMENT ON TYPE coldstart.model IS
	'a trained coldstart interest model: versioned header, vocabularies and weights';
COMMENT ON FUNCTION coldstart.model_in(cstring) IS 'text input of coldstart.model (base64)';
COMMENT ON FUNCTION coldstart.model_out(coldstart.model) IS 'text output of coldstart.model (base64)';
COMMENT ON FUNCTION coldstart.model_recv(internal) IS 'binary input of coldstart.model';
COMMENT ON FUNCTION coldstart.model_send(coldstart.model) IS 'binary output of coldstart.model';

CREATE FUNCTION coldstart.model_info(coldstart.model) RETURNS jsonb
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION coldstart.model_info(coldstart.model) IS
	'dimensions, vocabulary sizes, action kinds, options and format version of a model';

-- ---------------------------------------------------------------------
-- The catalogue of trained models
-- ---------------------------------------------------------------------

CREATE TABLE coldstart.models (
	name          text NOT NULL CHECK (name <> ''),
	version       integer NOT NULL CHECK (version > 0),
	active        boolean NOT NULL DEFAULT false,
	model         coldstart.model NOT NULL,
	spec          jsonb NOT NULL,
	metrics       jsonb NOT NULL DEFAULT '{}',
	trained_at    timestamptz NOT NULL DEFAULT now(),
	train_seconds double precision,
	items_refreshed_at timestamptz,
	items_removed bigint[],
	PRIMARY KEY (name, version)
);
CREATE UNIQUE INDEX models_one_active ON coldstart.models (name) WHERE active;
SELECT pg_catalog.pg_extension_config_dump('coldstart.models', '');
REVOKE ALL ON coldstart.models FROM PUBLIC;

COMMENT ON TABLE coldstart.models IS
	'trained models, one row per version; at most one active version per name';
COMMENT ON COLUMN coldstart.models.name IS 'model name, as passed to train() and recommend()';
COMMENT ON COLUMN coldstart.models.version IS 'version number, 1, 2, ... per name';
COMMENT ON COLUMN coldstart.models.active IS 'true for the version that recommend() serves';
COMMENT ON COLUMN coldstart.models.model IS 'the trained model value';
COMMENT ON COLUMN coldstart.models.spec IS 'source relations, columns and options; retrain() reuses it';
COMMENT ON COLUMN coldstart.models.metrics IS 'training summary: losses, validation metric, counts';
COMMENT ON COLUMN coldstart.models.trained_at IS 'when training finished';
COMMENT ON COLUMN coldstart.models.train_seconds IS 'wall time of the training run';
COMMENT ON COLUMN coldstart.models.items_refreshed_at IS
	'when refresh_items() last stored vectors of items added after training';
COMMENT ON COLUMN coldstart.models.items_removed IS
	'items of the model that refresh_items() found gone from the items table: not recommended';

CREATE TABLE coldstart.item_extras (
	name    text NOT NULL,
	version integer NOT NULL,
	item_id bigint NOT NULL,
	vector  real[] NOT NULL,
	bias    real NOT NULL,
	feature_rows integer[] NOT NULL DEFAULT '{}',
	feature_weights real[] NOT NULL DEFAULT '{}',
	PRIMARY KEY (name, version, item_id),
	FOREIGN KEY (name, version) REFERENCES coldstart.models (name, version) ON DELETE CASCADE
);
SELECT pg_catalog.pg_extension_config_dump('coldstart.item_extras', '');
REVOKE ALL ON coldstart.item_extras FROM PUBLIC;

COMMENT ON TABLE coldstart.item_extras IS
	'vectors of items added to the items table after a version was trained (refresh_items())';
COMMENT ON COLUMN coldstart.item_extras.name IS 'model name';
COMMENT ON COLUMN coldstart.item_extras.version IS 'model version the vector belongs to';
COMMENT ON COLUMN coldstart.item_extras.item_id IS 'the new item';
COMMENT ON COLUMN coldstart.item_extras.vector IS 'item vector computed from its features and content vector';
COMMENT ON COLUMN coldstart.item_extras.bias IS 'item bias from its features';
COMMENT ON COLUMN coldstart.item_extras.feature_rows IS 'the item''s feature values, as rows of the model''s vocabulary (for the content match)';
COMMENT ON COLUMN coldstart.item_extras.feature_weights IS 'weight of each of those values in the item';

-- ---------------------------------------------------------------------
-- Training (src/train_api.c, src/train.c, src/dataset.c)
-- ---------------------------------------------------------------------

CREATE FUNCTION coldstart.train(name text, behaviours regclass, items regclass DEFAULT NULL,
                                users regclass DEFAULT NULL, options jsonb DEFAULT '{}')
	RETURNS jsonb
	AS 'MODULE_PATHNAME', 'coldstart_train' LANGUAGE C VOLATILE PARALLEL UNSAFE
	SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION coldstart.train(text, regclass, regclass, regclass, jsonb) IS
	'train a model on behaviours (and optional item and user tables), store it as the new active version, return a summary';

CREATE FUNCTION coldstart.retrain(name text) RETURNS jsonb
	AS 'MODULE_PATHNAME', 'coldstart_retrain' LANGUAGE C VOLATILE PARALLEL UNSAFE
	SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION coldstart.retrain(text) IS
	'train a model again with its stored relations and options; the entry point for pg_cron';

CREATE FUNCTION coldstart.activate(name text, version integer, refresh boolean DEFAULT true) RETURNS void
	AS 'MODULE_PATHNAME', 'coldstart_activate' LANGUAGE C VOLATILE PARALLEL UNSAFE
	SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION coldstart.activate(text, integer, boolean) IS
	'make a stored version of a model the one that is served (roll back or forward); with refresh (the default), then refresh_items() for it, so that it serves the items added to the items table since and leaves out those deleted';

CREATE FUNCTION coldstart.drop_model(name text, version integer DEFAULT NULL) RETURNS integer
	AS 'MODULE_PATHNAME', 'coldstart_drop_model' LANGUAGE C VOLATILE PARALLEL UNSAFE
	SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION coldstart.drop_model(text, integer) IS
	'delete one stored version of a model (not the active one while others remain), or with version NULL (the default) every version, with their item vectors; returns how many versions it deleted; when no version is left, also removes the caller''s pg_cron job coldstart-retrain-<name> if pg_cron is installed in this database; takes the locks activate(), refresh_items() and training take, so it waits for them rather than deadlocking';

-- ---------------------------------------------------------------------
-- Serving (src/recommend.c, src/score.c)
-- ---------------------------------------------------------------------

-- Also what makes the planner load the library (src/settings.c): the
-- functions with a SET clause would load it only when first called, maybe
-- inside a parallel operation.
CREATE FUNCTION coldstart.rows_support(internal) RETURNS internal
	AS 'MODULE_PATHNAME', 'coldstart_rows_support' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION coldstart.rows_support(internal) IS
	'planner support of the set-returning functions: their row count is the k or the size asked for';

CREATE FUNCTION coldstart.recommend(user_id bigint, k integer DEFAULT 10, model text DEFAULT NULL,
                                    exclude_seen boolean DEFAULT true,
                                    candidates bigint[] DEFAULT NULL, exclude bigint[] DEFAULT NULL)
	RETURNS TABLE (item_id bigint, score double precision, probability double precision, rank integer)
	AS 'MODULE_PATHNAME', 'coldstart_recommend' LANGUAGE C STABLE PARALLEL SAFE ROWS 10
	SET search_path = pg_catalog, pg_temp
	SUPPORT coldstart.rows_support;
COMMENT ON FUNCTION coldstart.recommend(bigint, integer, text, boolean, bigint[], bigint[]) IS
	'top k items for a user, from the behaviours and attributes in the tables right now; only among candidates when given, never those in exclude';

CREATE FUNCTION coldstart.recommend_for_items(items bigint[], actions text[] DEFAULT NULL,
                                              k integer DEFAULT 10, model text DEFAULT NULL,
                                              user_attrs jsonb DEFAULT NULL,
                                              candidates bigint[] DEFAULT NULL, exclude bigint[] DEFAULT NULL)
	RETURNS TABLE (item_id bigint, score double precision, probability double precision, rank integer)
	AS 'MODULE_PATHNAME', 'coldstart_recommend_for_items' LANGUAGE C STABLE PARALLEL SAFE ROWS 10
	SET search_path = pg_catalog, pg_temp
	SUPPORT coldstart.rows_support;
COMMENT ON FUNCTION coldstart.recommend_for_items(bigint[], text[], integer, text, jsonb, bigint[], bigint[]) IS
	'top k items for an anonymous session: the items it touched (oldest first), their actions and optional attributes; only among candidates when given, never those in exclude';

CREATE FUNCTION coldstart.similar_items(item_id bigint, k integer DEFAULT 10, model text DEFAULT NULL,
                                        candidates bigint[] DEFAULT NULL, exclude bigint[] DEFAULT NULL)
	RETURNS TABLE (item_id bigint, score double precision, probability double precision, rank integer)
	AS 'MODULE_PATHNAME', 'coldstart_similar_items' LANGUAGE C STABLE PARALLEL SAFE ROWS 10
	SET search_path = pg_catalog, pg_temp
	SUPPORT coldstart.rows_support;
COMMENT ON FUNCTION coldstart.similar_items(bigint, integer, text, bigint[], bigint[]) IS
	'items a shopper who has just viewed item_id is most likely to want; works for items added after training; only among candidates when given, never those in exclude';

CREATE FUNCTION coldstart.explain(user_id bigint, item_id bigint, model text DEFAULT NULL)
	RETURNS TABLE (part text, detail text, contribution double precision)
	AS 'MODULE_PATHNAME', 'coldstart_explain' LANGUAGE C STABLE PARALLEL SAFE ROWS 20
	SET search_path = pg_catalog, pg_temp
	SUPPORT coldstart.rows_support;
COMMENT ON FUNCTION coldstart.explain(bigint, bigint, text) IS
	'why recommend() scores the item as it does for the user: the score split into its terms (item bias, prior, each attribute, each behaviour, hidden layer, content match), which add up to it';

CREATE FUNCTION coldstart.explain_for_items(items bigint[], item_id bigint, actions text[] DEFAULT NULL,
                                            model text DEFAULT NULL, user_attrs jsonb DEFAULT NULL)
	RETURNS TABLE (part text, detail text, contribution double precision)
	AS 'MODULE_PATHNAME', 'coldstart_explain_for_items' LANGUAGE C STABLE PARALLEL SAFE ROWS 20
	SET search_path = pg_catalog, pg_temp
	SUPPORT coldstart.rows_support;
COMMENT ON FUNCTION coldstart.explain_for_items(bigint[], bigint, text[], text, jsonb) IS
	'why recommend_for_items() scores the item as it does for an anonymous session: the score split into its terms, which add up to it';

CREATE FUNCTION coldstart.refresh_items(model text DEFAULT NULL) RETURNS integer
	AS 'MODULE_PATHNAME', 'coldstart_refresh_items' LANGUAGE C VOLATILE PARALLEL UNSAFE
	SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION coldstart.refresh_items(text) IS
	'compute vectors of items added to the items table since training, so that recommend() can return them, and list the items gone from it in coldstart.models.items_removed, so that it no longer does';

-- ---------------------------------------------------------------------
-- Evaluation (src/evaluate.c)
-- ---------------------------------------------------------------------

CREATE FUNCTION coldstart.evaluate(behaviours regclass, items regclass DEFAULT NULL,
                                   users regclass DEFAULT NULL, options jsonb DEFAULT '{}')
	RETURNS TABLE (method text, revealed integer, users integer, precision_at_10 double precision,
	               recall_at_20 double precision, ndcg_at_10 double precision,
	               coverage_at_10 double precision)
	AS 'MODULE_PATHNAME', 'coldstart_evaluate' LANGUAGE C VOLATILE PARALLEL UNSAFE
	SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION coldstart.evaluate(regclass, regclass, regclass, jsonb) IS
	'cold-start protocol CS-1 on a seeded split: coldstart (trained with and without the revealed behaviours) against popularity, item-kNN and content baselines, and lists made elsewhere for the same split (option "lists", see evaluation_split())';

CREATE FUNCTION coldstart.evaluation_split(behaviours regclass, items regclass DEFAULT NULL,
                                           users regclass DEFAULT NULL, options jsonb DEFAULT '{}')
	RETURNS TABLE (user_id bigint, role text, ordinal integer, item_id bigint)
	AS 'MODULE_PATHNAME', 'coldstart_evaluation_split' LANGUAGE C VOLATILE PARALLEL UNSAFE
	SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION coldstart.evaluation_split(regclass, regclass, regclass, jsonb) IS
	'the users evaluate() ranks for with the same arguments (role evaluated; with "split": "validation" also the test users it leaves out, role left_out), each with its distinct items in CS-1 order (ordinal 1 = first): at revealed count n the first n are revealed, the rest are targets; every other user is a training user. For lists made elsewhere, which evaluate()''s option "lists" scores';

-- ---------------------------------------------------------------------
-- Interest vectors (src/interest.c)
-- ---------------------------------------------------------------------
-- The user vector u(x) of any set of behaviour rows, and the vectors and
-- biases of the model's items, so that SQL can score items: u . v + b (the
-- interest part of recommend()'s score).
-- The model is decoded once per query (and parallel worker): pass it as a
-- scalar subquery, (SELECT model FROM coldstart.models WHERE name = 'shop'
-- AND active), not as a join column that changes from row to row.
CREATE FUNCTION coldstart.interest_vector_transfn(internal, coldstart.model, bigint, text, timestamptz)
	RETURNS internal
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION coldstart.interest_vector_combinefn(internal, internal)
	RETURNS internal
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION coldstart.interest_vector_serialfn(internal)
	RETURNS bytea
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION coldstart.interest_vector_deserialfn(bytea, internal)
	RETURNS internal
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION coldstart.interest_vector_finalfn(internal)
	RETURNS real[]
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;

-- SSPACE: the state of a model of dim 64 (the default), for hash aggregation estimates.
CREATE AGGREGATE coldstart.interest_vector(model coldstart.model, item_id bigint, action text,
                                           ts timestamptz) (
	SFUNC        = coldstart.interest_vector_transfn,
	STYPE        = internal,
	SSPACE       = 560,
	FINALFUNC    = coldstart.interest_vector_finalfn,
	COMBINEFUNC  = coldstart.interest_vector_combinefn,
	SERIALFUNC   = coldstart.interest_vector_serialfn,
	DESERIALFUNC = coldstart.interest_vector_deserialfn,
	PARALLEL     = SAFE
);

CREATE FUNCTION coldstart.item_vector(model coldstart.model, item_id bigint) RETURNS real[]
	AS 'MODULE_PATHNAME', 'coldstart_item_vector' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION coldstart.item_bias(model coldstart.model, item_id bigint) RETURNS real
	AS 'MODULE_PATHNAME', 'coldstart_item_bias' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION coldstart.interest_vector_transfn(internal, coldstart.model, bigint, text, timestamptz) IS
	'transition function of interest_vector: adds one behaviour row, its weight decayed from the latest ts so far';
COMMENT ON FUNCTION coldstart.interest_vector_combinefn(internal, internal) IS
	'combine function of interest_vector: merges two partial states of the same model, rescaled to the later latest ts';
COMMENT ON FUNCTION coldstart.interest_vector_serialfn(internal) IS
	'serial function of interest_vector: a partial state as bytea, with what the final step needs of the model';
COMMENT ON FUNCTION coldstart.interest_vector_deserialfn(bytea, internal) IS
	'deserial function of interest_vector: a partial state from bytea, validated';
COMMENT ON FUNCTION coldstart.interest_vector_finalfn(internal) IS
	'final function of interest_vector: the user vector u(x) as real[dim]';
COMMENT ON AGGREGATE coldstart.interest_vector(coldstart.model, bigint, text, timestamptz) IS
	'user vector u(x) of a model for a history of exactly these rows and no user attributes, as '
	'recommend() computes it (which reads only the latest history_length behaviours): weights are the '
	'model''s action weights decayed by half_life from the latest ts of the rows; NULL action weighs 1; '
	'rows with a NULL item_id or a NULL or infinite ts are skipped; items the model does not know add '
	'nothing but still date the history; no usable row gives the no-history vector, no row NULL; '
	'all rows must pass the same model; parallel safe';
COMMENT ON FUNCTION coldstart.item_vector(coldstart.model, bigint) IS
	'vector v of an item of the model''s training data, NULL for other items; the interest score of a user vector u is u . v + item_bias (recommend() adds a content-match term for models trained with item features)';
COMMENT ON FUNCTION coldstart.item_bias(coldstart.model, bigint) IS
	'bias b of an item of the model''s training data, NULL for other items; the interest score of a user vector u is item_vector . u + b';

-- ---------------------------------------------------------------------
-- Behaviour features: activity_summary (src/activity.c)
-- ---------------------------------------------------------------------
CREATE FUNCTION coldstart.activity_summary_transfn(internal, text, timestamptz)
	RETURNS internal
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION coldstart.activity_summary_combinefn(internal, internal)
	RETURNS internal
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION coldstart.activity_summary_serialfn(internal)
	RETURNS bytea
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION coldstart.activity_summary_deserialfn(bytea, internal)
	RETURNS internal
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION coldstart.activity_summary_finalfn(internal)
	RETURNS jsonb
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;

-- SSPACE: the state and a small day list, for hash aggregation estimates.
CREATE AGGREGATE coldstart.activity_summary(action text, ts timestamptz) (
	SFUNC        = coldstart.activity_summary_transfn,
	STYPE        = internal,
	SSPACE       = 192,
	FINALFUNC    = coldstart.activity_summary_finalfn,
	COMBINEFUNC  = coldstart.activity_summary_combinefn,
	SERIALFUNC   = coldstart.activity_summary_serialfn,
	DESERIALFUNC = coldstart.activity_summary_deserialfn,
	PARALLEL     = SAFE
);

COMMENT ON FUNCTION coldstart.activity_summary_transfn(internal, text, timestamptz) IS
	'transition function of activity_summary: counts one behaviour row';
COMMENT ON FUNCTION coldstart.activity_summary_combinefn(internal, internal) IS
	'combine function of activity_summary: merges two partial states';
COMMENT ON FUNCTION coldstart.activity_summary_serialfn(internal) IS
	'serial function of activity_summary: a partial state as bytea';
COMMENT ON FUNCTION coldstart.activity_summary_deserialfn(bytea, internal) IS
	'deserial function of activity_summary: a partial state from bytea, validated';
COMMENT ON FUNCTION coldstart.activity_summary_finalfn(internal) IS
	'final function of activity_summary: the jsonb summary';
COMMENT ON AGGREGATE coldstart.activity_summary(text, timestamptz) IS
	'behaviour features of a user or segment as jsonb: events, counts per action kind '
	'(view, fav, cart, buy, other), undated, first_seen and last_seen (UTC), active_days '
	'(distinct UTC days), span_days, conversion (buy/view); NULL action counts as other, '
	'NULL or infinite ts as undated, rows with both NULL are skipped; parallel safe';

-- ---------------------------------------------------------------------
-- Demo data (src/demo.c)
-- ---------------------------------------------------------------------
-- Seeded generators of a small shop's items, users and behaviours, so that
-- tests, examples and benchmarks never need the real datasets.  Same
-- arguments, same rows.  The C generators are STRICT: a NULL argument gives
-- no rows.

CREATE FUNCTION coldstart.demo_items(
	items integer,
	seed integer DEFAULT 1,
	content_dim integer DEFAULT 0)
RETURNS TABLE (item_id bigint, category text, brand text, price numeric,
			   rating real, tags text[], embedding real[])
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE
	SUPPORT coldstart.rows_support;
COMMENT ON FUNCTION coldstart.demo_items(integer, integer, integer) IS
	'demo catalogue: items 1..items with category, brand, price, rating (NULL for some), 0-3 tags and, when content_dim > 0, a content embedding; each item a pure function of (seed, item_id, items)';

CREATE FUNCTION coldstart.demo_users(
	users integer,
	seed integer DEFAULT 1)
RETURNS TABLE (user_id bigint, age integer, gender text, city text, channel text)
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE
	SUPPORT coldstart.rows_support;
COMMENT ON FUNCTION coldstart.demo_users(integer, integer) IS
	'demo users 1..users with age, gender (NULL when not given), city and sign-up channel; each user a pure function of (seed, user_id)';

CREATE FUNCTION coldstart.demo_behaviours(
	users integer,
	items integer,
	behaviours bigint,
	seed integer DEFAULT 1,
	start_at timestamptz DEFAULT '2026-10-01 00:00+00',
	days integer DEFAULT 30)
RETURNS TABLE (user_id bigint, item_id bigint, action text, ts timestamptz)
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE
	SUPPORT coldstart.rows_support;
COMMENT ON FUNCTION coldstart.demo_behaviours(integer, integer, bigint, integer, timestamptz, integer) IS
	'demo history: exactly behaviours rows of pv, fav, cart and buy of the demo users on the demo items, in [start_at, start_at + days), grouped by user in time order';

CREATE FUNCTION coldstart.create_demo(
	schema_name name DEFAULT 'shop',
	users integer DEFAULT 2000,
	items integer DEFAULT 5000,
	behaviours bigint DEFAULT 100000,
	seed integer DEFAULT 1,
	content_dim integer DEFAULT 0)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY INVOKER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	tab text;
	n_items bigint;
	n_users bigint;
	n_behaviours bigint;
BEGIN
	IF num_nulls(schema_name, users, items, behaviours, seed, content_dim) > 0 THEN
		RAISE EXCEPTION 'create_demo arguments must not be NULL: %',
			concat_ws(', ',
					  CASE WHEN schema_name IS NULL THEN 'schema_name' END,
					  CASE WHEN users IS NULL THEN 'users' END,
					  CASE WHEN items IS NULL THEN 'items' END,
					  CASE WHEN behaviours IS NULL THEN 'behaviours' END,
					  CASE WHEN seed IS NULL THEN 'seed' END,
					  CASE WHEN content_dim IS NULL THEN 'content_dim' END)
			USING ERRCODE = 'null_value_not_allowed',
				  HINT = 'Leave an argument out to get its default.';
	END IF;
	IF schema_name = '' THEN
		RAISE EXCEPTION 'schema_name must not be empty'
			USING ERRCODE = 'invalid_schema_name',
				  HINT = 'Pass the name of the schema to create the demo tables in.';
	END IF;

	-- Never touch existing data: refuse before creating anything.
	FOREACH tab IN ARRAY ARRAY['items', 'users', 'behaviours'] LOOP
		IF to_regclass(format('%I.%I', schema_name, tab)) IS NOT NULL THEN
			RAISE EXCEPTION 'relation "%.%" already exists', schema_name, tab
				USING ERRCODE = 'duplicate_table',
					  HINT = format('Drop the demo tables (DROP TABLE IF EXISTS %1$I.items, %1$I.users, %1$I.behaviours) or pass another schema_name.',
									schema_name);
		END IF;
	END LOOP;

	IF NOT EXISTS (SELECT FROM pg_namespace WHERE nspname = schema_name) THEN
		EXECUTE format('CREATE SCHEMA %I', schema_name);
	END IF;

	-- Keys and indexes come after the rows: building them once is faster.
	-- The generators check their arguments; an error rolls everything back.
	EXECUTE format('CREATE TABLE %I.items (item_id bigint NOT NULL, category text NOT NULL, '
				   'brand text NOT NULL, price numeric(12,2) NOT NULL, rating real, '
				   'tags text[] NOT NULL%s)',
				   schema_name,
				   CASE WHEN content_dim > 0 THEN ', embedding real[] NOT NULL' ELSE '' END);
	EXECUTE format('INSERT INTO %I.items SELECT item_id, category, brand, price, rating, tags%s '
				   'FROM coldstart.demo_items($1, $2, $3)',
				   schema_name,
				   CASE WHEN content_dim > 0 THEN ', embedding' ELSE '' END)
		USING items, seed, content_dim;
	GET DIAGNOSTICS n_items = ROW_COUNT;
	EXECUTE format('ALTER TABLE %I.items ADD PRIMARY KEY (item_id)', schema_name);

	EXECUTE format('CREATE TABLE %I.users (user_id bigint NOT NULL, age integer, gender text, '
				   'city text, channel text)', schema_name);
	EXECUTE format('INSERT INTO %I.users SELECT * FROM coldstart.demo_users($1, $2)', schema_name)
		USING users, seed;
	GET DIAGNOSTICS n_users = ROW_COUNT;
	EXECUTE format('ALTER TABLE %I.users ADD PRIMARY KEY (user_id)', schema_name);

	EXECUTE format('CREATE TABLE %I.behaviours (user_id bigint NOT NULL, item_id bigint NOT NULL, '
				   'action text NOT NULL, ts timestamptz NOT NULL)', schema_name);
	EXECUTE format('INSERT INTO %I.behaviours SELECT * FROM coldstart.demo_behaviours($1, $2, $3, $4)',
				   schema_name)
		USING users, items, behaviours, seed;
	GET DIAGNOSTICS n_behaviours = ROW_COUNT;
	EXECUTE format('CREATE INDEX ON %I.behaviours (user_id, ts)', schema_name);

	FOREACH tab IN ARRAY ARRAY['items', 'users', 'behaviours'] LOOP
		EXECUTE format('COMMENT ON TABLE %I.%I IS %L', schema_name, tab,
					   format('coldstart demo %s (seed %s), made by coldstart.create_demo()', tab, seed));
		EXECUTE format('ANALYZE %I.%I', schema_name, tab);
	END LOOP;

	RETURN jsonb_build_object('schema', schema_name, 'seed', seed,
							  'items', n_items, 'users', n_users,
							  'behaviours', n_behaviours);
END
$$;
COMMENT ON FUNCTION coldstart.create_demo(name, integer, integer, bigint, integer, integer) IS
	'create and fill schema_name.items, .users and .behaviours from the demo generators; refuses to overwrite existing tables; returns the row counts';

-- ---------------------------------------------------------------------
-- Training runs (src/runs.c)
-- ---------------------------------------------------------------------
-- Every call of train() or retrain(), scheduled or manual, is one row,
-- written also when the run fails or is cancelled: the 'running' and
-- 'failed' rows come from a background worker in a transaction of its own,
-- the 'succeeded' update commits with the new model version.

CREATE TABLE coldstart.training_runs (
	run_id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	name          text NOT NULL,
	kind          text NOT NULL CHECK (kind IN ('train', 'retrain')),
	status        text NOT NULL CHECK (status IN ('running', 'succeeded', 'failed')),
	started       timestamptz NOT NULL,
	finished      timestamptz,
	seconds       double precision,
	rows_read     bigint,
	version       integer,
	activated     boolean,
	not_activated_because text,
	metrics       jsonb,
	error         text,
	error_detail  text,
	error_hint    text,
	sqlstate      text,
	pid           integer NOT NULL,
	backend_start timestamptz,
	run_by        name NOT NULL,
	application_name text
);
CREATE INDEX training_runs_name_started ON coldstart.training_runs (name, started);
CREATE INDEX training_runs_running ON coldstart.training_runs (run_id) WHERE status = 'running';
SELECT pg_catalog.pg_extension_config_dump('coldstart.training_runs', '');
SELECT pg_catalog.pg_extension_config_dump(
	pg_catalog.pg_get_serial_sequence('coldstart.training_runs', 'run_id')::regclass, '');
REVOKE ALL ON coldstart.training_runs FROM PUBLIC;

COMMENT ON TABLE coldstart.training_runs IS
	'one row per call of train() or retrain(), scheduled or manual, written also when the run fails';
COMMENT ON COLUMN coldstart.training_runs.run_id IS 'run number, increasing';
COMMENT ON SEQUENCE coldstart.training_runs_run_id_seq IS 'run numbers of coldstart.training_runs';
COMMENT ON COLUMN coldstart.training_runs.name IS 'model name';
COMMENT ON COLUMN coldstart.training_runs.kind IS 'train or retrain: the function called';
COMMENT ON COLUMN coldstart.training_runs.status IS
	'running, succeeded or failed; failed with finished NULL: the run was abandoned (its session ended, or its transaction rolled back, before it finished)';
COMMENT ON COLUMN coldstart.training_runs.started IS 'when the run started';
COMMENT ON COLUMN coldstart.training_runs.finished IS 'when the run succeeded or failed; NULL while running or if abandoned';
COMMENT ON COLUMN coldstart.training_runs.seconds IS 'wall time of the run: reading the data, training, storing';
COMMENT ON COLUMN coldstart.training_runs.rows_read IS 'behaviour rows read';
COMMENT ON COLUMN coldstart.training_runs.version IS 'the model version the run stored';
COMMENT ON COLUMN coldstart.training_runs.activated IS
	'whether that version became the active one (false when promote_if_better kept it inactive)';
COMMENT ON COLUMN coldstart.training_runs.not_activated_because IS
	'why the new version was stored inactive (option promote_if_better)';
COMMENT ON COLUMN coldstart.training_runs.metrics IS 'the summary train() returned: counts, losses, validation metric, options';
COMMENT ON COLUMN coldstart.training_runs.error IS 'error message of a failed run';
COMMENT ON COLUMN coldstart.training_runs.error_detail IS 'error detail of a failed run';
COMMENT ON COLUMN coldstart.training_runs.error_hint IS 'error hint of a failed run';
COMMENT ON COLUMN coldstart.training_runs.sqlstate IS 'SQLSTATE of the error of a failed run (57014: cancelled or timed out)';
COMMENT ON COLUMN coldstart.training_runs.pid IS 'process ID of the backend that ran the training';
COMMENT ON COLUMN coldstart.training_runs.backend_start IS 'when that backend started (tells a reused PID apart)';
COMMENT ON COLUMN coldstart.training_runs.run_by IS 'the role that ran the training';
COMMENT ON COLUMN coldstart.training_runs.application_name IS 'application_name of the session: pg_cron for scheduled runs';

CREATE FUNCTION coldstart.training_in_progress(name text) RETURNS boolean
	AS 'MODULE_PATHNAME', 'coldstart_training_in_progress' LANGUAGE C VOLATILE STRICT PARALLEL RESTRICTED;
COMMENT ON FUNCTION coldstart.training_in_progress(text) IS
	'true while another session trains model name; a training_runs row still running whose model is not being trained was abandoned';

CREATE FUNCTION coldstart.schedule_retrain(name text, schedule text) RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY INVOKER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	job_name text;
	command text;
	cron_db text;
	job bigint;
BEGIN
	IF name IS NULL OR schedule IS NULL THEN
		RAISE EXCEPTION 'model name and schedule must not be NULL'
			USING ERRCODE = 'null_value_not_allowed',
				  HINT = 'Pass a cron schedule such as ''0 3 * * *'' (every day at 03:00).';
	END IF;
	IF NOT EXISTS (SELECT FROM coldstart.models m WHERE m.name = schedule_retrain.name) THEN
		RAISE EXCEPTION 'model "%" does not exist', name
			USING ERRCODE = 'undefined_object',
				  HINT = format('Train it first with coldstart.train(%L, ...).', name);
	END IF;
	job_name := 'coldstart-retrain-' || name;
	command := format('SELECT coldstart.retrain(%L)', name);
	-- pg_cron is optional: it is looked up only now, and called dynamically.
	IF to_regprocedure('cron.schedule(text,text,text)') IS NULL THEN
		-- cron.database_name is readable by superusers (and pg_read_all_settings) only
		BEGIN
			cron_db := current_setting('cron.database_name', true);
		EXCEPTION WHEN insufficient_privilege THEN
			RAISE EXCEPTION 'pg_cron is not installed in database "%"', current_database()
				USING ERRCODE = 'object_not_in_prerequisite_state',
					  DETAIL = 'Only superusers and members of pg_read_all_settings may read cron.database_name, the database pg_cron schedules jobs from.',
					  HINT = format('In that database, run: SELECT cron.schedule_in_database(%L, %L, %L, %L);',
									job_name, schedule, command, current_database());
		END;
		IF cron_db IS NULL THEN
			RAISE EXCEPTION 'pg_cron is not installed'
				USING ERRCODE = 'object_not_in_prerequisite_state',
					  DETAIL = 'coldstart does not need pg_cron; this function only schedules retrain() with it.',
					  HINT = format('Add pg_cron to shared_preload_libraries, restart the server and CREATE EXTENSION pg_cron in the database named by cron.database_name; or have any scheduler run: %s', command);
		ELSIF cron_db = current_database() THEN
			RAISE EXCEPTION 'pg_cron is not installed in database "%"', current_database()
				USING ERRCODE = 'object_not_in_prerequisite_state',
					  HINT = 'CREATE EXTENSION pg_cron, then call this function again.';
		ELSE
			RAISE EXCEPTION 'pg_cron is not installed in database "%"', current_database()
				USING ERRCODE = 'object_not_in_prerequisite_state',
					  DETAIL = format('pg_cron schedules jobs from database %I (cron.database_name).', cron_db),
					  HINT = format('In database %I, run: SELECT cron.schedule_in_database(%L, %L, %L, %L);',
									cron_db, job_name, schedule, command, current_database());
		END IF;
	END IF;
	-- a job of the same name is replaced: scheduling again changes the schedule
	EXECUTE 'SELECT cron.schedule($1, $2, $3)' INTO job USING job_name, schedule, command;
	RETURN job;
END
$$;
COMMENT ON FUNCTION coldstart.schedule_retrain(text, text) IS
	'schedule coldstart.retrain(name) with pg_cron (cron syntax, e.g. ''0 3 * * *'') as job coldstart-retrain-<name>, replacing a job of that name; needs pg_cron in this database';

CREATE FUNCTION coldstart.unschedule_retrain(name text) RETURNS boolean
LANGUAGE plpgsql VOLATILE STRICT SECURITY INVOKER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	done boolean;
BEGIN
	IF to_regprocedure('cron.schedule(text,text,text)') IS NULL THEN
		RAISE EXCEPTION 'pg_cron is not installed in database "%"', current_database()
			USING ERRCODE = 'object_not_in_prerequisite_state',
				  HINT = 'Jobs scheduled from another database are removed there, with cron.unschedule(job_name).';
	END IF;
	-- (pg_cron 1.4 declares cron.unschedule(job_name name))
	EXECUTE 'SELECT cron.unschedule($1::name)' INTO done USING 'coldstart-retrain-' || name;
	RETURN done;
END
$$;
COMMENT ON FUNCTION coldstart.unschedule_retrain(text) IS
	'remove the pg_cron job coldstart-retrain-<name> made by schedule_retrain()';
