--
-- The coldstart.model type: text and binary round trips, model_info(), and
-- every malformed value the validating decoder refuses, with its message.
--
-- Malformed values are built from a valid one: decode(model::text, 'base64')
-- gives the bytes after the varlena header, so a header field at struct
-- offset N of CsModelHeader (src/model_format.h) is at byte N - 4 here.
-- Integers and floats are little-endian.
--
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS coldstart;
CREATE SCHEMA mt;

-- A tiny model with every part of the format: categorical, multi-valued,
-- numeric and dense item features, categorical and numeric user attributes,
-- a hidden layer, four action kinds.  (Five item columns: the match weights,
-- a float per item column, end 4 bytes before a multiple of 8, so padding
-- follows them.)
CREATE TABLE mt.behaviours (user_id bigint, item_id bigint, action text, ts timestamptz);
INSERT INTO mt.behaviours
SELECT u, 1 + (u * 7 + j * 3) % 9, (ARRAY['pv', 'fav', 'cart', 'buy'])[1 + (u + j) % 4],
       '2026-01-01 00:00+00'::timestamptz + (u * 10 + j) * interval '1 hour'
FROM generate_series(1, 12) u, generate_series(0, 4) j;
CREATE TABLE mt.items (item_id bigint PRIMARY KEY, category text, price numeric, tags text[],
                       emb real[], brand text);
INSERT INTO mt.items
SELECT i, (ARRAY['shoes', 'bags', 'hats'])[1 + i % 3], 10 * i, ARRAY['t' || i % 2, 't' || i % 3],
       ARRAY[i, -i, 1]::real[], (ARRAY['acme', 'zeta'])[1 + i % 2]
FROM generate_series(1, 9) i;
CREATE TABLE mt.users (user_id bigint PRIMARY KEY, city text, age int);
INSERT INTO mt.users SELECT u, (ARRAY['Lyon', 'Oslo'])[1 + u % 2], 20 + u FROM generate_series(1, 12) u;
SELECT coldstart.train('mt', 'mt.behaviours', 'mt.items', 'mt.users',
  '{"dim": 4, "epochs": 1, "hidden": 2, "buckets": 3,
    "user_features": {"city": "categorical", "age": "numeric"}}') ->> 'version' AS version;

-- Little-endian integers at 0-based byte positions of a bytea.
CREATE FUNCTION mt.get_u32(b bytea, pos int) RETURNS bigint LANGUAGE sql IMMUTABLE AS
$$ SELECT get_byte(b, pos) + (get_byte(b, pos + 1)::bigint << 8)
        + (get_byte(b, pos + 2)::bigint << 16) + (get_byte(b, pos + 3)::bigint << 24) $$;
CREATE FUNCTION mt.set_u32(b bytea, pos int, v bigint) RETURNS bytea LANGUAGE sql IMMUTABLE AS
$$ SELECT set_byte(set_byte(set_byte(set_byte(b, pos, (v & 255)::int), pos + 1, ((v >> 8) & 255)::int),
                   pos + 2, ((v >> 16) & 255)::int), pos + 3, ((v >> 24) & 255)::int) $$;
CREATE FUNCTION mt.set_bytes(b bytea, pos int, v bytea) RETURNS bytea LANGUAGE sql IMMUTABLE AS
$$ SELECT overlay(b placing v from pos + 1 for length(v)) $$;
-- Where section "id" (1 = strings, 19 = options, ...) starts in the bytea, and its size.
CREATE FUNCTION mt.pos(b bytea, id int) RETURNS int LANGUAGE sql IMMUTABLE AS
$$ SELECT mt.get_u32(b, 108 + 24 * (id - 1) + 8)::int - 4 $$;
CREATE FUNCTION mt.size(b bytea, id int) RETURNS int LANGUAGE sql IMMUTABLE AS
$$ SELECT mt.get_u32(b, 108 + 24 * (id - 1) + 16)::int $$;
-- The bytes with the options text (section 19) replaced, later sections moved.
CREATE FUNCTION mt.with_options(b bytea, opts text) RETURNS bytea LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
	p int := mt.pos(b, 19);
	new bytea := convert_to(opts, 'UTF8') || '\x00'::bytea;
	delta int := (length(new) + 7) / 8 * 8 - (mt.size(b, 19) + 7) / 8 * 8;
	r bytea;
BEGIN
	r := substring(b FOR p) || new || decode(repeat('00', (length(new) + 7) / 8 * 8 - length(new)), 'hex')
	     || substring(b FROM p + (mt.size(b, 19) + 7) / 8 * 8 + 1);
	r := mt.set_u32(r, 108 + 24 * 18 + 16, length(new));
	FOR id IN 20 .. mt.get_u32(b, 12) LOOP
		r := mt.set_u32(r, 108 + 24 * (id - 1) + 8, mt.get_u32(r, 108 + 24 * (id - 1) + 8) + delta);
	END LOOP;
	RETURN r;
END
$$;
-- A model from its bytes, through the text input.
CREATE FUNCTION mt.model(b bytea) RETURNS coldstart.model LANGUAGE sql IMMUTABLE AS
$$ SELECT translate(encode(b, 'base64'), E'\n', '')::coldstart.model $$;
-- Run a statement; its SQLSTATE and message if it fails.
CREATE FUNCTION mt.try(sql text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	state text;
	msg text;
BEGIN
	EXECUTE sql;
	RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
	RETURN state || ' ' || msg;
END
$$;

-- The trained model, and the same model with its options text replaced by
-- '{}' so that its layout does not depend on the list of options.
CREATE TABLE mt.trained AS
SELECT model AS m, decode(model::text, 'base64') AS raw
FROM coldstart.models WHERE name = 'mt' AND active;
CREATE TABLE mt.base AS SELECT mt.with_options(raw, '{}') AS raw FROM mt.trained;

-- The layout: a header of header_size bytes, the table of n_sections
-- sections, then the sections in id order, each at the next multiple of 8.
SELECT get_byte(raw, 6) + 256 * get_byte(raw, 7) AS header_size, mt.get_u32(raw, 12) AS n_sections
FROM mt.base;
SELECT id, mt.pos(raw, id) + 4 AS "offset", mt.size(raw, id) AS size
FROM mt.base, generate_series(1, mt.get_u32(raw, 12)::int) AS id ORDER BY id;
SELECT length(raw) + 4 AS value_bytes FROM mt.base;

-- ---------------------------------------------------------------------
-- Round trips
-- ---------------------------------------------------------------------

-- text: model_out gives the base64 of the bytes, model_in takes them back
SELECT m::text = translate(encode(raw, 'base64'), E'\n', '') AS text_is_base64,
       (m::text)::coldstart.model::text = m::text AS text_round_trip,
       mt.model(raw)::text = m::text AS bytes_round_trip
FROM mt.trained;
SELECT mt.model(raw)::text = translate(encode(raw, 'base64'), E'\n', '') AS base_round_trip
FROM mt.base;
-- binary: model_send sends the same bytes
SELECT coldstart.model_send(m) = raw AS send_is_raw FROM mt.trained;
-- COPY in binary and in text format, through files of the server
CREATE TABLE mt.copied (n int, m coldstart.model);
SELECT format('/tmp/coldstart_model_type_%s.bin', pg_backend_pid()) AS binfile,
       format('/tmp/coldstart_model_type_%s.txt', pg_backend_pid()) AS txtfile \gset
COPY (SELECT 1, m FROM mt.trained UNION ALL SELECT 2, mt.model(raw) FROM mt.base) TO :'binfile' (FORMAT binary);
COPY mt.copied FROM :'binfile' (FORMAT binary);
COPY (SELECT 3, m FROM mt.trained) TO :'txtfile';
COPY mt.copied FROM :'txtfile';
SELECT c.n, c.m::text = t.m::text AS same_text, coldstart.model_send(c.m) = t.raw AS same_bytes
FROM mt.copied c
JOIN (SELECT 1 AS n, m, raw FROM mt.trained
      UNION ALL SELECT 2, mt.model(raw), raw FROM mt.base
      UNION ALL SELECT 3, m, raw FROM mt.trained) t USING (n)
ORDER BY c.n;
-- the model stored in coldstart.models (TOASTed out of line) reads back the same
SELECT (SELECT model::text FROM coldstart.models WHERE name = 'mt' AND active) = m::text AS from_catalogue
FROM mt.trained;

-- ---------------------------------------------------------------------
-- model_info()
-- ---------------------------------------------------------------------
-- (without the trained match weights, which vary with the CPU's float rounding)
SELECT key, CASE key WHEN 'item_columns' THEN
         (SELECT jsonb_agg(c - 'match_weight' ORDER BY i) FROM jsonb_array_elements(value) WITH ORDINALITY AS e(c, i))
       ELSE value END AS value
FROM mt.base, jsonb_each(coldstart.model_info(mt.model(raw)))
WHERE key IN ('format_version', 'size_bytes', 'dimension', 'hidden', 'items',
              'content_dimension', 'item_vocabulary', 'user_vocabulary', 'item_columns',
              'user_columns', 'action_kinds', 'action_labels', 'options')
ORDER BY key;
SELECT coldstart.model_info(NULL) IS NULL AS strict;

-- ---------------------------------------------------------------------
-- Malformed text
-- ---------------------------------------------------------------------
SELECT ''::coldstart.model;
SELECT 'not base64!'::coldstart.model;
SELECT 'AAAA'::coldstart.model;
-- base64 with line breaks (as encode() writes it) and spaces around is read
-- as decode(..., 'base64') reads it
SELECT (' ' || encode(raw, 'base64') || E'\n')::coldstart.model::text = m::text AS line_breaks_skipped FROM mt.trained;
SELECT E' \n\t'::coldstart.model;
SELECT mt.try($$SELECT ''::coldstart.model$$) AS empty,
       mt.try($$SELECT '@@@@'::coldstart.model$$) AS not_base64;

-- ---------------------------------------------------------------------
-- Malformed values: each built from the valid one, refused through the
-- text input (22P02) and, stored through a binary-coercible cast that skips
-- the input function (as a corrupted disk page would), refused with the
-- same message by every function that reads it (22P03).
-- ---------------------------------------------------------------------
CREATE TABLE mt.cases (n int PRIMARY KEY, what text, bad bytea);
INSERT INTO mt.cases
SELECT n, what, bad
FROM mt.base b, LATERAL (VALUES
  (1, 'the valid value', b.raw),
  -- header
  (2, 'bad magic', mt.set_bytes(b.raw, 0, '\x00000000')),
  (3, 'magic of the other byte order', mt.set_bytes(b.raw, 0, '\x4d445343')),
  (4, 'format version 2', mt.set_bytes(b.raw, 4, '\x0200')),
  (5, 'format version 0', mt.set_bytes(b.raw, 4, '\x0000')),
  (6, 'header size 100', mt.set_bytes(b.raw, 6, '\x6400')),
  (7, 'unknown flags', mt.set_u32(b.raw, 8, 1)),
  (8, 'item feature row count -1', mt.set_bytes(b.raw, 76, '\xffffffffffffffff')),
  (9, 'non-zero last reserved field', mt.set_u32(b.raw, 104, 256)),
  (10, '18 sections', mt.set_u32(b.raw, 12, 18)),
  (11, 'dimension 0', mt.set_u32(b.raw, 16, 0)),
  (12, 'dimension -1', mt.set_u32(b.raw, 16, 4294967295)),
  (13, 'dimension 1025', mt.set_u32(b.raw, 16, 1025)),
  (14, 'hidden size -1', mt.set_u32(b.raw, 20, 4294967295)),
  (15, 'item count 0', mt.set_u32(b.raw, 24, 0)),
  (16, 'item count 2^31 - 1', mt.set_u32(b.raw, 24, 2147483647)),
  (17, 'item column count 65', mt.set_u32(b.raw, 28, 65)),
  (18, 'content dimension 5000', mt.set_u32(b.raw, 44, 5000)),
  (19, 'no action kinds', mt.set_u32(b.raw, 48, 0)),
  (20, 'history length 0', mt.set_u32(b.raw, 60, 0)),
  (21, 'history prior NaN', mt.set_bytes(b.raw, 64, '\x0000c07f')),
  (22, 'half-life NaN', mt.set_bytes(b.raw, 68, '\x000000000000f87f')),
  (23, 'half-life infinite', mt.set_bytes(b.raw, 68, '\x000000000000f07f')),
  (24, 'half-life -1', mt.set_bytes(b.raw, 68, '\x000000000000f0bf')),
  (25, 'half-life 0', mt.set_bytes(b.raw, 68, '\x0000000000000000')),
  -- dimensions and counts that do not match the sections
  (26, 'dimension 5 for vectors of 4', mt.set_u32(b.raw, 16, 5)),
  (27, 'item count 10 for 9 items', mt.set_u32(b.raw, 24, 10)),
  (28, 'hidden size 3 for a layer of 2', mt.set_u32(b.raw, 20, 3)),
  (29, 'one action label more', mt.set_u32(b.raw, 52, 5)),
  (30, 'one bucket edge less', mt.set_u32(b.raw, 56, 3)),
  (31, 'content dimension 2 for 3', mt.set_u32(b.raw, 44, 2)),
  -- section table
  (32, 'section 2 with id 3', mt.set_u32(b.raw, 108 + 24, 3)),
  (33, 'non-zero reserved field of a section', mt.set_u32(b.raw, 108 + 48 + 4, 1)),
  (34, 'item ids 8 bytes late', mt.set_u32(b.raw, 108 + 24 + 8, mt.pos(b.raw, 2) + 12)),
  (35, 'item biases of 40 bytes', mt.set_u32(b.raw, 108 + 72 + 16, 40)),
  (36, 'empty string pool', mt.set_u32(b.raw, 108 + 16, 0)),
  (37, 'empty options', mt.set_u32(b.raw, 108 + 24 * 18 + 16, 0)),
  (38, 'options longer than the value', mt.set_u32(b.raw, 108 + 24 * 18 + 16, 4000)),
  -- truncated or extended
  (39, 'truncated header', substring(b.raw FOR 50)),
  (40, 'truncated section table', substring(b.raw FOR 200)),
  (41, 'truncated in the sections', substring(b.raw FOR 1500)),
  (42, 'last byte missing', substring(b.raw FOR length(b.raw) - 1)),
  (43, '8 zero bytes more', b.raw || '\x0000000000000000'::bytea),
  (44, 'no bytes at all', ''::bytea),
  -- padding
  (45, 'non-zero padding before item ids', set_byte(b.raw, mt.pos(b.raw, 1) + mt.size(b.raw, 1), 1)),
  (46, 'non-zero padding after match weights', set_byte(b.raw, mt.pos(b.raw, 23) + mt.size(b.raw, 23), 1)),
  -- strings and options
  (47, 'string pool not terminated', set_byte(b.raw, mt.pos(b.raw, 1) + mt.size(b.raw, 1) - 1, 120)),
  (48, 'string pool not starting with ""', set_byte(b.raw, mt.pos(b.raw, 1), 120)),
  (49, 'invalid UTF-8 in the string pool', set_byte(b.raw, mt.pos(b.raw, 1) + 1, 255)),
  (50, 'options not terminated', set_byte(b.raw, mt.pos(b.raw, 19) + 2, 120)),
  (51, 'NUL inside the options', set_byte(b.raw, mt.pos(b.raw, 19) + 1, 0)),
  (52, 'options not a JSON object', set_byte(b.raw, mt.pos(b.raw, 19) + 1, 93)),
  -- NaN and infinities where numbers must be finite
  (53, 'NaN item vector element', mt.set_bytes(b.raw, mt.pos(b.raw, 3) + 20, '\x0000c07f')),
  (54, 'infinite item bias', mt.set_bytes(b.raw, mt.pos(b.raw, 4) + 8, '\x0000807f')),
  (55, 'NaN item value vector element', mt.set_bytes(b.raw, mt.pos(b.raw, 7), '\x0000c0ff')),
  (56, '-infinite item value bias', mt.set_bytes(b.raw, mt.pos(b.raw, 8) + 4, '\x000080ff')),
  (57, 'NaN in the content projection', mt.set_bytes(b.raw, mt.pos(b.raw, 9) + 44, '\x0000c07f')),
  (58, 'NaN user value vector element', mt.set_bytes(b.raw, mt.pos(b.raw, 12), '\x0000c07f')),
  (59, 'NaN in the user base vector', mt.set_bytes(b.raw, mt.pos(b.raw, 13) + 4, '\x0000c07f')),
  (60, 'infinite history matrix element', mt.set_bytes(b.raw, mt.pos(b.raw, 14), '\x0000807f')),
  (61, 'NaN in the hidden layer', mt.set_bytes(b.raw, mt.pos(b.raw, 15) + 68, '\x0000c07f')),
  (62, 'NaN bucket edge', mt.set_bytes(b.raw, mt.pos(b.raw, 18) + 8, '\x000000000000f87f')),
  (63, 'NaN action kind weight', mt.set_bytes(b.raw, mt.pos(b.raw, 16) + 4, '\x0000c07f')),
  (64, 'action kind weight 0', mt.set_bytes(b.raw, mt.pos(b.raw, 16) + 4, '\x00000000')),
  (65, 'negative action kind weight', mt.set_bytes(b.raw, mt.pos(b.raw, 16) + 12, '\x000080bf')),
  -- vocabularies and references
  (66, 'item ids not increasing', mt.set_bytes(b.raw, mt.pos(b.raw, 2), substring(b.raw FROM mt.pos(b.raw, 2) + 9 FOR 8))),
  (67, 'column name beyond the string pool', mt.set_u32(b.raw, mt.pos(b.raw, 5), 1000)),
  (68, 'unknown column kind', mt.set_bytes(b.raw, mt.pos(b.raw, 5) + 4, '\x0900')),
  (69, 'unknown column flags', mt.set_bytes(b.raw, mt.pos(b.raw, 5) + 6, '\x0010')),
  (90, 'time flag on a categorical column', mt.set_bytes(b.raw, mt.pos(b.raw, 5) + 6, '\x0200')),
  (70, 'category covering 4 rows', mt.set_u32(b.raw, mt.pos(b.raw, 5) + 12, 4)),
  (71, 'vocabulary out of order', mt.set_u32(b.raw, mt.pos(b.raw, 6), mt.get_u32(b.raw, mt.pos(b.raw, 6) + 4))),
  (72, 'vocabulary value beyond the string pool', mt.set_u32(b.raw, mt.pos(b.raw, 6), 5000)),
  (73, 'numeric column with a value string', mt.set_u32(b.raw, mt.pos(b.raw, 6) + 12, 1)),
  (74, 'bucket edges not increasing', mt.set_bytes(b.raw, mt.pos(b.raw, 18) + 8, substring(b.raw FROM mt.pos(b.raw, 18) + 1 FOR 8))),
  (75, 'numeric column at the wrong edge', mt.set_u32(b.raw, mt.pos(b.raw, 5) + 24 + 16, 1)),
  (76, 'dense column of dimension 2', mt.set_u32(b.raw, mt.pos(b.raw, 5) + 72 + 20, 2)),
  (77, 'dense user column', mt.set_bytes(b.raw, mt.pos(b.raw, 10) + 4, '\x0300')),
  (78, 'two columns of the same name', mt.set_u32(b.raw, mt.pos(b.raw, 5) + 24, mt.get_u32(b.raw, mt.pos(b.raw, 5)))),
  (79, 'empty action kind name', mt.set_u32(b.raw, mt.pos(b.raw, 16), 0)),
  (80, 'action label of kind 99', mt.set_u32(b.raw, mt.pos(b.raw, 17) + 4, 99)),
  (81, 'action labels out of order', mt.set_u32(b.raw, mt.pos(b.raw, 17), mt.get_u32(b.raw, mt.pos(b.raw, 17) + 8))),
  -- each item's feature rows
  (82, 'one item feature row more', mt.set_u32(b.raw, 76, mt.get_u32(b.raw, 76) + 1)),
  (83, 'item feature row offsets that decrease', mt.set_u32(b.raw, mt.pos(b.raw, 20) + 8, 1000)),
  (84, 'item feature row offsets not from 0', mt.set_u32(b.raw, mt.pos(b.raw, 20), 1)),
  (85, 'item feature row beyond the vocabulary', mt.set_u32(b.raw, mt.pos(b.raw, 21), 999)),
  (86, 'item feature row -1', mt.set_u32(b.raw, mt.pos(b.raw, 21), 4294967295)),
  (87, 'item feature row weight 0', mt.set_u32(b.raw, mt.pos(b.raw, 22), 0)),
  (88, 'NaN item feature row weight', mt.set_bytes(b.raw, mt.pos(b.raw, 22) + 4, '\x0000c07f')),
  (89, 'infinite match weight', mt.set_bytes(b.raw, mt.pos(b.raw, 23), '\x0000807f'))
) AS c(n, what, bad);

-- through the text input
SELECT n, what, mt.try(format('SELECT mt.model(%L)', bad)) AS text_input
FROM mt.cases ORDER BY n;

-- Stored without validation: a type with the model's storage whose input
-- is bytea's, and a binary-coercible cast from it, put any bytes in a model
-- column, as a corrupted disk page would.  model_info(), the text output
-- and the binary output refuse them with the same message (22P03).
CREATE FUNCTION mt.raw_in(cstring) RETURNS mt.raw LANGUAGE internal IMMUTABLE STRICT AS 'byteain';
CREATE FUNCTION mt.raw_out(mt.raw) RETURNS cstring LANGUAGE internal IMMUTABLE STRICT AS 'byteaout';
CREATE TYPE mt.raw (INPUT = mt.raw_in, OUTPUT = mt.raw_out, LIKE = coldstart.model);
CREATE CAST (mt.raw AS coldstart.model) WITHOUT FUNCTION;
CREATE FUNCTION mt.stored(b bytea) RETURNS coldstart.model LANGUAGE sql IMMUTABLE AS
$$ SELECT b::text::mt.raw::coldstart.model $$;
SELECT n,
       CASE WHEN info = replace(text_input, '22P02', '22P03') THEN 'same, 22P03' ELSE info END
         AS model_info,
       text_output = info AS text_output,
       binary_output = info AS binary_output
FROM (SELECT n,
             mt.try(format('SELECT mt.model(%L)', bad)) AS text_input,
             mt.try(format('SELECT coldstart.model_info(mt.stored(%L))', bad)) AS info,
             mt.try(format('SELECT mt.stored(%L)::text', bad)) AS text_output,
             mt.try(format('SELECT coldstart.model_send(mt.stored(%L))', bad)) AS binary_output
      FROM mt.cases) AS t
ORDER BY n;

-- a short value stored in a table gets a 1-byte varlena header: still refused cleanly
CREATE TABLE mt.short AS SELECT mt.stored(bad) AS m FROM mt.cases WHERE n = 39;
SELECT coldstart.model_info(m) FROM mt.short;

-- a corrupted model in coldstart.models: serving refuses it, then serves
-- again once the value is repaired
UPDATE coldstart.models SET model = (SELECT mt.stored(bad) FROM mt.cases WHERE n = 53)
WHERE name = 'mt' AND active;
SELECT * FROM coldstart.recommend(1, 3, 'mt');
SELECT * FROM coldstart.similar_items(1, 3, 'mt');
UPDATE coldstart.models SET model = (SELECT m FROM mt.trained) WHERE name = 'mt' AND active;
SELECT count(*) AS recommended FROM coldstart.recommend(1, 3, 'mt');
-- finite but huge numbers (3e38 in every element of the first two items'
-- vectors, with both signs) are a valid model, served with no infinite or
-- NaN score or probability (an item whose score overflowed would be left out)
SELECT count(*) AS catalogue FROM coldstart.recommend_for_items('{}', k => 10000, model => 'mt');
UPDATE coldstart.models SET model = (
    SELECT mt.model(mt.set_bytes(raw, mt.pos(raw, 3),
                                 decode(repeat('e6b1617f', (coldstart.model_info(m) ->> 'dimension')::int)
                                        || repeat('e6b161ff', (coldstart.model_info(m) ->> 'dimension')::int), 'hex')))
    FROM mt.trained)
WHERE name = 'mt' AND active;
SELECT count(*) AS served,
       bool_and(score::text NOT IN ('Infinity', '-Infinity', 'NaN')) AS no_infinite_or_nan_score,
       bool_and(probability BETWEEN 0 AND 1) AS probabilities_in_0_1
FROM coldstart.recommend_for_items('{}', k => 10000, model => 'mt');
-- every item bias 3e38: the scores are huge and equal, and the probabilities
-- still add up to 1 (the log of the sum used to vanish next to the maximum,
-- giving every item probability 1)
UPDATE coldstart.models SET model = (
    SELECT mt.model(mt.set_bytes(raw, mt.pos(raw, 4), decode(repeat('e6b1617f', 9), 'hex')))
    FROM mt.trained)
WHERE name = 'mt' AND active;
SELECT count(*) AS served, round(sum(probability)::numeric, 6) AS total_probability,
       round(max(probability)::numeric, 6) AS max_probability
FROM coldstart.recommend_for_items('{}', k => 10000, model => 'mt');
UPDATE coldstart.models SET model = (SELECT m FROM mt.trained) WHERE name = 'mt' AND active;
DROP CAST (mt.raw AS coldstart.model);

-- ---------------------------------------------------------------------
-- The type has no operators; use its text form to compare models
-- ---------------------------------------------------------------------
SELECT m = m FROM mt.trained;

DELETE FROM coldstart.models WHERE name = 'mt';
DROP SCHEMA mt CASCADE;
