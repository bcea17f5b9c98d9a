#!/usr/bin/env bash
# Load MovieLens 100k from ../shared/data into schema "movielens" of the
# database in PG* environment variables.  The data is never copied into the
# project: it is read from its folder at load time.
#   bench/load_movielens.sh [data-dir]
set -euo pipefail
DATA=${1:-$(cd "$(dirname "$0")/../.." && pwd)/shared/data/movielens-100k}
[ -f "$DATA/u.data" ] || { echo "MovieLens 100k not found in $DATA" >&2; exit 1; }
psql -X -q -v ON_ERROR_STOP=1 <<SQL
DROP SCHEMA IF EXISTS movielens CASCADE;
CREATE SCHEMA movielens;
CREATE TABLE movielens.ratings (user_id int, item_id int, rating int, ts bigint);
\copy movielens.ratings FROM '$DATA/u.data'
CREATE TABLE movielens.item_raw (item_id int, title text, release_date text, video_date text,
  url text, g0 int, g1 int, g2 int, g3 int, g4 int, g5 int, g6 int, g7 int, g8 int, g9 int,
  g10 int, g11 int, g12 int, g13 int, g14 int, g15 int, g16 int, g17 int, g18 int);
\copy movielens.item_raw FROM '$DATA/u.item' WITH (FORMAT csv, DELIMITER '|', QUOTE E'\x01', ENCODING 'LATIN1')
CREATE TABLE movielens.genre_names (genre text, idx int);
\copy movielens.genre_names FROM PROGRAM 'grep -v "^\$" $DATA/u.genre' WITH (FORMAT csv, DELIMITER '|')
CREATE TABLE movielens.user_raw (user_id int, age int, gender text, occupation text, zip text);
\copy movielens.user_raw FROM '$DATA/u.user' WITH (FORMAT csv, DELIMITER '|')

-- behaviours: one explicit rating per (user, movie); every rating is a "view"
CREATE TABLE movielens.behaviours AS
  SELECT user_id::bigint, item_id::bigint, 'view'::text AS action, to_timestamp(ts) AS ts, rating
  FROM movielens.ratings;
CREATE INDEX ON movielens.behaviours (user_id, ts);

-- items: genres (multi-valued) and a release-year bucket
CREATE TABLE movielens.items AS
  SELECT i.item_id::bigint,
         ARRAY(SELECT g.genre FROM movielens.genre_names g
               WHERE (ARRAY[g0,g1,g2,g3,g4,g5,g6,g7,g8,g9,g10,g11,g12,g13,g14,g15,g16,g17,g18])[g.idx + 1] = 1
               ORDER BY g.idx) AS genres,
         CASE WHEN release_date ~ '\d{4}$'
              THEN (floor(substring(release_date from '\d{4}$')::int / 5) * 5)::text
              ELSE NULL END AS year_bucket,
         i.title
  FROM movielens.item_raw i;
ALTER TABLE movielens.items ADD PRIMARY KEY (item_id);

-- users: age bucket, gender, occupation
CREATE TABLE movielens.users AS
  SELECT user_id::bigint,
         CASE WHEN age < 18 THEN 'under 18' WHEN age < 25 THEN '18-24' WHEN age < 35 THEN '25-34'
              WHEN age < 45 THEN '35-44' WHEN age < 50 THEN '45-49' WHEN age < 56 THEN '50-55'
              ELSE '56+' END AS age_bucket,
         gender, occupation
  FROM movielens.user_raw;
ALTER TABLE movielens.users ADD PRIMARY KEY (user_id);
ANALYZE movielens.behaviours; ANALYZE movielens.items; ANALYZE movielens.users;
SQL
psql -X -q -tA -c "SELECT 'movielens: ' || (SELECT count(*) FROM movielens.behaviours) || ' behaviours, ' || (SELECT count(*) FROM movielens.items) || ' items, ' || (SELECT count(*) FROM movielens.users) || ' users'"
