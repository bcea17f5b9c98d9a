#!/usr/bin/env bash
# Load the Taobao UserBehavior sample from ../shared/data into schema "taobao"
# of the database in the PG* environment.  The data is read in place, never
# copied into the project.  The file's last line is cut mid-row: rows without
# five fields are dropped.
#   bench/load_taobao.sh [data-dir]
set -euo pipefail
DATA=${1:-$(cd "$(dirname "$0")/../.." && pwd)/shared/data/taobao-userbehavior-head}
[ -f "$DATA/UserBehavior.csv" ] || { echo "Taobao sample not found in $DATA" >&2; exit 1; }
psql -X -q -v ON_ERROR_STOP=1 <<SQL
DROP SCHEMA IF EXISTS taobao CASCADE;
CREATE SCHEMA taobao;
CREATE TABLE taobao.raw (line text);
\copy taobao.raw FROM PROGRAM 'awk -F, "NF == 5" "$DATA/UserBehavior.csv"' WITH (FORMAT text)
CREATE TABLE taobao.behaviours AS
  SELECT split_part(line, ',', 1)::bigint AS user_id,
         split_part(line, ',', 2)::bigint AS item_id,
         split_part(line, ',', 3)::bigint AS category_id,
         split_part(line, ',', 4) AS action,
         to_timestamp(split_part(line, ',', 5)::bigint) AS ts
  FROM taobao.raw;
DROP TABLE taobao.raw;
CREATE INDEX ON taobao.behaviours (user_id, ts);
-- items: the category (the smallest one for the single item that has two)
CREATE TABLE taobao.items AS
  SELECT item_id, min(category_id) AS category FROM taobao.behaviours GROUP BY item_id;
ALTER TABLE taobao.items ADD PRIMARY KEY (item_id);
ANALYZE taobao.behaviours; ANALYZE taobao.items;
SQL
psql -X -q -tA -c "SELECT 'taobao: ' || (SELECT count(*) FROM taobao.behaviours) || ' behaviours, ' || (SELECT count(*) FROM taobao.items) || ' items, ' || (SELECT count(DISTINCT user_id) FROM taobao.behaviours) || ' users'"
