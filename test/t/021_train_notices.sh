#!/usr/bin/env bash
# 021_train_notices: the NOTICEs train() gives, which the pg_regress tests
# cannot show because training progress carries timings: unknown action
# labels (with their row counts, the weight they get and a hint), columns
# left out of the features, the progress of each epoch, and a version kept
# inactive by promote_if_better.
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

fresh_db t021_train_notices
psql_ok "CREATE EXTENSION coldstart" "CREATE EXTENSION coldstart"
psql_ok "CREATE SCHEMA nt;
CREATE TABLE nt.b (user_id bigint, item_id bigint, action text, ts timestamptz);
INSERT INTO nt.b
SELECT u, 1 + (u * 3 + j * 5) % 8, (ARRAY['pv', 'buy', 'zap', 'Zap', 'pv', '点赞'])[1 + (u + j) % 6],
       '2026-03-01 00:00+00'::timestamptz + (u * 24 + j) * interval '1 hour'
FROM generate_series(1, 30) u, generate_series(0, 5) j;
CREATE TABLE nt.items (item_id bigint, genre text, shape point, empty_col text, tags text[]);
INSERT INTO nt.items SELECT i, 'g' || i % 2, point(i, i), NULL, ARRAY['t' || i % 3] FROM generate_series(1, 8) i;" \
	"fixture: 30 users, 8 items, labels pv, buy, zap, Zap and 点赞"
counts=$(q "SELECT string_agg(action || '=' || n, ' ' ORDER BY action) FROM (SELECT action, count(*) AS n FROM nt.b GROUP BY action) s")
diag "label counts: $counts"

OPTS='"dim": 8, "epochs": 2, "learning_rate": 0.01, "seed": 1, "max_prefixes": 0, "target_balance": 0.5, "dropout": 0, "l2": 0.0001, "history_prior": 1, "patience": 3, "validation_fraction": 0.2'

# ---------------------------------------------------------------------
# Unknown labels: one NOTICE per label, with its rows, weight and a hint
# ---------------------------------------------------------------------
notices=$(q "SELECT coldstart.train('nt', 'nt.b', 'nt.items', options => '{$OPTS}')" 2>&1 >/dev/null)
zap_rows=$(q "SELECT count(*) FROM nt.b WHERE action = 'zap'")
is "$(grep -c 'is not a known kind' <<<"$notices")" 3 "three unknown labels, three NOTICEs (zap, Zap, 点赞; pv and buy are known)"
like "$notices" "NOTICE:  action label \"zap\" \($zap_rows rows\) is not a known kind; it gets weight 1" \
	"the NOTICE names the label, its $zap_rows rows and the weight 1"
like "$notices" "HINT:  Map it with the option \"actions\", e.g. '\{\"actions\": \{\"zap\": \"view\"\}\}'\." \
	"the HINT spells out the option"
like "$notices" 'NOTICE:  action label "点赞" \([0-9]+ rows\) is not a known kind; it gets weight 1' \
	"a Chinese label that is no default alias is unknown too"
is "$(q "SELECT coldstart.model_info(model) -> 'action_labels' ->> 'Zap' FROM coldstart.models WHERE name = 'nt'")" \
	other "labels are not folded: Zap is a label of its own, of kind other"
# the weight given to kind "other" is the one the NOTICE announces
notices=$(q "SELECT coldstart.train('nt', 'nt.b', options => '{$OPTS, \"action_weights\": {\"other\": 0.25}}')" 2>&1 >/dev/null)
like "$notices" 'action label "zap" \([0-9]+ rows\) is not a known kind; it gets weight 0\.25' \
	"with action_weights.other 0.25 the NOTICE says weight 0.25"
# mapped labels give no NOTICE
notices=$(q "SELECT coldstart.train('nt', 'nt.b', options => '{$OPTS, \"actions\": {\"zap\": \"fav\", \"Zap\": \"fav\", \"点赞\": \"fav\"}}')" 2>&1 >/dev/null)
unlike "$notices" 'is not a known kind' "labels mapped with the option \"actions\" give no NOTICE"
unlike "$notices" 'which no behaviour has' "labels that the rows have give no NOTICE of an unused mapping"
# a mapped label that no row has (here, a different case) is named
notices=$(q "SELECT coldstart.train('nt', 'nt.b', options => '{$OPTS, \"actions\": {\"PV\": \"buy\"}}')" 2>&1 >/dev/null)
like "$notices" 'NOTICE:  option "actions" maps label "PV", which no behaviour has' \
	"a mapped label that matches no row gets a NOTICE"
like "$notices" 'HINT:  Labels are matched exactly, case and spaces included\.' "its HINT says labels are matched exactly"

# ---------------------------------------------------------------------
# Feature columns left out, with a NOTICE each
# ---------------------------------------------------------------------
notices=$(q "SELECT coldstart.train('nt', 'nt.b', 'nt.items', options => '{$OPTS}')" 2>&1 >/dev/null)
like "$notices" 'NOTICE:  column "shape" of relation nt\.items has type point and is not used as a feature' \
	"a point column is left out, and the NOTICE says why"
like "$notices" 'NOTICE:  column "empty_col" of relation nt\.items has no usable values and is not used' \
	"a column of NULLs is left out, and the NOTICE says so"
is "$(q "SELECT string_agg(c ->> 'name', ',' ORDER BY c ->> 'name') FROM coldstart.models m, jsonb_array_elements(coldstart.model_info(m.model) -> 'item_columns') c WHERE m.name = 'nt' AND m.active")" \
	"genre,tags" "the model uses genre and tags only"
# a vector column of the users table: only items have content vectors
psql_ok "CREATE TABLE nt.users (user_id bigint, segment text, emb real[]);
INSERT INTO nt.users SELECT u, 's' || u % 2, ARRAY[u, 1]::real[] FROM generate_series(1, 30) u;" "a users table with a vector column"
notices=$(q "SELECT coldstart.train('nt', 'nt.b', users => 'nt.users', options => '{$OPTS}')" 2>&1 >/dev/null)
like "$notices" 'NOTICE:  column "emb" of relation nt\.users is a vector and is not used as a feature: only items have content vectors' \
	"a vector column of the users table is left out with a NOTICE"
is "$(q "SELECT string_agg(c ->> 'name', ',') FROM coldstart.models m, jsonb_array_elements(coldstart.model_info(m.model) -> 'user_columns') c WHERE m.name = 'nt' AND m.active")" \
	"segment" "the model's user columns: segment only"

# ---------------------------------------------------------------------
# Progress: one NOTICE per epoch
# ---------------------------------------------------------------------
epoch_re='^NOTICE:  epoch [12]/2: loss [0-9]+\.[0-9]{4}, validation loss [0-9]+\.[0-9]{4}, validation recall@20 [0-9]\.[0-9]{4}, [0-9]+ examples/s, about [0-9]+ s left$'
is "$(grep -cE "$epoch_re" <<<"$notices")" 2 "one progress NOTICE per epoch, in the documented form" ||
	diag "$(grep epoch <<<"$notices")"
notices=$(q "SELECT coldstart.train('nt', 'nt.b', options => '{$OPTS, \"validation_fraction\": 0, \"epochs\": 3}')" 2>&1 >/dev/null)
like "$(grep -m1 epoch <<<"$notices")" '^NOTICE:  epoch 1/3: loss [0-9.]+, validation loss NaN, validation recall@20 NaN' \
	"without validation users the NOTICE says NaN"

# ---------------------------------------------------------------------
# promote_if_better: a worse version is stored inactive, with a NOTICE
# ---------------------------------------------------------------------
# (a catalogue of 200 items, so that recall@20 can tell the versions apart)
psql_ok "SELECT coldstart.create_demo('shop', 300, 200, 6000, 7)" "demo data: 300 users, 200 items"
psql_ok "SELECT coldstart.train('better', 'shop.behaviours', options => '{$OPTS, \"epochs\": 8, \"learning_rate\": 0.05}')" \
	"version 1: well trained"
notices=$(q "SELECT coldstart.train('better', 'shop.behaviours', options => '{$OPTS, \"epochs\": 1, \"learning_rate\": 0.000001, \"seed\": 2, \"promote_if_better\": true}')" 2>&1 >/dev/null)
like "$notices" 'NOTICE:  the new version of model "better" is stored but not activated: validation recall@20 0\.[0-9]{4} is worse than 0\.[0-9]{4} of the active version 1' \
	"version 2, barely trained, is stored but not activated, with a NOTICE"
is "$(q "SELECT string_agg(version || ':' || active, ' ' ORDER BY version) FROM coldstart.models WHERE name = 'better'")" \
	"1:true 2:false" "version 1 stays active, version 2 is stored inactive"
like "$(q "SELECT activated || ' ' || not_activated_because FROM coldstart.training_runs WHERE name = 'better' AND version = 2")" \
	'^false validation recall@20 0\.[0-9]{4} is worse than 0\.[0-9]{4} of the active version 1$' \
	"training_runs records why version 2 was not activated"
# and a version as good or better is activated (retrain() keeps promote_if_better)
psql_ok "SELECT coldstart.activate('better', 2)" "(version 2 activated by hand)"
notices=$(q "SELECT coldstart.retrain('better')" 2>&1 >/dev/null)
unlike "$notices" 'stored but not activated' "retrain() with version 2's spec: as good, so activated without a NOTICE"
is "$(q "SELECT string_agg(version || ':' || active, ' ' ORDER BY version) FROM coldstart.models WHERE name = 'better'")" \
	"1:false 2:false 3:true" "version 3 is the active one"

done_testing
