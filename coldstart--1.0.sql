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

CREATE TABLE coldstart.item_extras (
	name    text NOT NULL,
	version integer NOT NULL,
	item_id bigint NOT NULL,
	vector  real[] NOT NULL,
	bias    real NOT NULL,
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

CREATE FUNCTION coldstart.activate(name text, version integer) RETURNS void
	AS 'MODULE_PATHNAME', 'coldstart_activate' LANGUAGE C VOLATILE PARALLEL UNSAFE
	SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION coldstart.activate(text, integer) IS
	'make a stored version of a model the one that is served (roll back or forward)';

-- ---------------------------------------------------------------------
-- Serving (src/recommend.c, src/score.c)
-- ---------------------------------------------------------------------

CREATE FUNCTION coldstart.recommend(user_id bigint, k integer DEFAULT 10, model text DEFAULT NULL,
                                    exclude_seen boolean DEFAULT true)
	RETURNS TABLE (item_id bigint, score double precision, probability double precision, rank integer)
	AS 'MODULE_PATHNAME', 'coldstart_recommend' LANGUAGE C STABLE PARALLEL SAFE ROWS 10
	SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION coldstart.recommend(bigint, integer, text, boolean) IS
	'top k items for a user, from the behaviours and attributes in the tables right now';

CREATE FUNCTION coldstart.recommend_for_items(items bigint[], actions text[] DEFAULT NULL,
                                              k integer DEFAULT 10, model text DEFAULT NULL,
                                              user_attrs jsonb DEFAULT NULL)
	RETURNS TABLE (item_id bigint, score double precision, probability double precision, rank integer)
	AS 'MODULE_PATHNAME', 'coldstart_recommend_for_items' LANGUAGE C STABLE PARALLEL SAFE ROWS 10
	SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION coldstart.recommend_for_items(bigint[], text[], integer, text, jsonb) IS
	'top k items for an anonymous session: the items it touched (oldest first), their actions and optional attributes';

CREATE FUNCTION coldstart.similar_items(item_id bigint, k integer DEFAULT 10, model text DEFAULT NULL)
	RETURNS TABLE (item_id bigint, score double precision, probability double precision, rank integer)
	AS 'MODULE_PATHNAME', 'coldstart_similar_items' LANGUAGE C STABLE PARALLEL SAFE ROWS 10
	SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION coldstart.similar_items(bigint, integer, text) IS
	'items a shopper who has just viewed item_id is most likely to want; works for items added after training';

CREATE FUNCTION coldstart.refresh_items(model text DEFAULT NULL) RETURNS integer
	AS 'MODULE_PATHNAME', 'coldstart_refresh_items' LANGUAGE C VOLATILE PARALLEL UNSAFE
	SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION coldstart.refresh_items(text) IS
	'compute vectors of items added to the items table since training, so that recommend() can return them';

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
	'cold-start protocol CS-1 on a seeded split: coldstart (trained with and without the revealed behaviours) against popularity, item-kNN and content baselines';

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

CREATE FUNCTION coldstart.demo_rows_support(internal) RETURNS internal
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION coldstart.demo_rows_support(internal) IS
	'planner support of the demo generators: their row count is the size asked for';

CREATE FUNCTION coldstart.demo_items(
	items integer,
	seed integer DEFAULT 1,
	content_dim integer DEFAULT 0)
RETURNS TABLE (item_id bigint, category text, brand text, price numeric,
			   rating real, tags text[], embedding real[])
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE
	SUPPORT coldstart.demo_rows_support;
COMMENT ON FUNCTION coldstart.demo_items(integer, integer, integer) IS
	'demo catalogue: items 1..items with category, brand, price, rating (NULL for some), 0-3 tags and, when content_dim > 0, a content embedding; each item a pure function of (seed, item_id, items)';

CREATE FUNCTION coldstart.demo_users(
	users integer,
	seed integer DEFAULT 1)
RETURNS TABLE (user_id bigint, age integer, gender text, city text, channel text)
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE
	SUPPORT coldstart.demo_rows_support;
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
	SUPPORT coldstart.demo_rows_support;
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
