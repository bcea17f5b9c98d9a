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

-- ---------------------------------------------------------------------
-- Behaviour features: activity_summary (src/activity.c)
-- ---------------------------------------------------------------------
-- (section: activity)

-- ---------------------------------------------------------------------
-- Demo data (src/demo.c)
-- ---------------------------------------------------------------------
-- (section: demo)
