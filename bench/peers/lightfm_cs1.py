#!/usr/bin/python3
"""LightFM on protocol CS-1, scored by coldstart.evaluate() itself.

For each seed, coldstart.evaluation_split() gives the split; LightFM (hybrid:
user id + age bucket, gender, occupation; item id + genres, release-year
bucket; WARP loss) is fitted once per revealed count n on the training users
plus the evaluated users' first n items (as CS-1 trains every method), its
top 40 per evaluated user go into a temporary table, and coldstart.evaluate()
scores them with its option "lists" in the same call as coldstart and the
baselines: one split, one metric code.

LightFM is not part of this project and is not installed by it: this script
needs `import lightfm` to work in /usr/bin/python3 (LightFM 1.17 from PyPI,
or built from its source), plus python3-numpy, python3-scipy and
python3-psycopg.  It connects with the PG* environment of the bench server
(bench/bench_lib.sh) and reads movielens.* (bench/load_movielens.sh).

  bench/peers/lightfm_cs1.py --seeds 20261127,1,2 --split validation --components 32,64 --epochs 10,20,30,45,60
  bench/peers/lightfm_cs1.py --seeds 20261127,1,2,3,4,5 --components 64 --epochs 60 \
      --methods '["coldstart", "coldstart_live", "popularity"]' --markdown bench/results/peers-movielens.md

Prints one line per seed, method and n (R@20, NDCG@10, coverage@10), the
mean over seeds, and the seconds of each LightFM fit (one thread).
"""
import argparse, json, sys, time
import numpy as np, psycopg
from lightfm import LightFM
import lfm_data

ap = argparse.ArgumentParser()
ap.add_argument('--seeds', default='20261127')
ap.add_argument('--split', default='test')
ap.add_argument('--components', default='64')
ap.add_argument('--epochs', default='60', help='checkpoints: a list is fitted once, scored at each')
ap.add_argument('--alpha', type=float, default=0.0, help='user_alpha = item_alpha')
ap.add_argument('--lr', type=float, default=0.05)
ap.add_argument('--revealed', default='0,1,3,5')
ap.add_argument('--methods', default='["popularity"]', help="evaluate()'s built-in methods to run alongside")
ap.add_argument('--markdown', help='write the means as a markdown table here')
a = ap.parse_args()
seeds = [int(x) for x in a.seeds.split(',')]
comps = [int(x) for x in a.components.split(',')]
epochs = [int(x) for x in a.epochs.split(',')]
revealed = [int(x) for x in a.revealed.split(',')]
ARGS = "'movielens.behaviours', 'movielens.items', 'movielens.users'"

con = psycopg.connect(autocommit=True)
q = lambda sql, *p: con.execute(sql, p).fetchall()
pairs, users, items, uidx, iidx, UF, IF = lfm_data.load(con)
nu, ni = len(users), len(items)
results = {}            # (method, n) -> list of (r20, ndcg10, cov10) over seeds
fits = []
for seed in seeds:
    opts = {"seed": seed, "split": a.split, "item_features": ["genres", "year_bucket"]}
    split = q(f"SELECT user_id, role, ordinal, item_id FROM coldstart.evaluation_split({ARGS}, %s::jsonb)",
              json.dumps(opts))
    role = {u: r for u, r, _, _ in split}
    seq = {}
    for u, _, o, i in sorted(split, key=lambda t: (t[0], t[2])):
        seq.setdefault(u, []).append(i)
    evaluated = [u for u in seq if role[u] == 'evaluated']
    con.execute("DROP TABLE IF EXISTS lfm_lists CASCADE")
    con.execute("CREATE TEMP TABLE lfm_lists (method text, user_id bigint, item_id bigint, rank int, revealed int)")
    lists = {}
    for n in revealed:
        rows = [(uidx[u], iidx[i]) for u, i in pairs if u not in role]
        rows += [(uidx[u], iidx[i]) for u in evaluated for i in seq[u][:n]]
        X = lfm_data.interactions(rows, nu, ni)
        for k in comps:
            m = LightFM(no_components=k, loss='warp', learning_rate=a.lr,
                        item_alpha=a.alpha, user_alpha=a.alpha, random_state=seed)
            done, fit_s = 0, 0.0
            for e in epochs:
                t0 = time.time()
                m.fit_partial(X, user_features=UF, item_features=IF, epochs=e - done, num_threads=1)
                fit_s += time.time() - t0           # fit time only, not the scoring between checkpoints
                done = e
                fits.append((k, e, fit_s))
                name = 'lightfm_%dc_%de' % (k, e)
                lists[name] = 'pg_temp.' + name
                out = []
                for u in evaluated:
                    s = m.predict(uidx[u], np.arange(ni, dtype=np.int32), user_features=UF, item_features=IF)
                    top = np.argsort(-s, kind='stable')[:40]
                    out += [(name, u, items[j][0], rank + 1, n) for rank, j in enumerate(top)]
                with con.cursor() as cur:
                    cur.executemany("INSERT INTO lfm_lists VALUES (%s, %s, %s, %s, %s)", out)
    for name in lists:
        con.execute(f"CREATE OR REPLACE TEMP VIEW {name} AS "
                    f"SELECT user_id, item_id, rank, revealed FROM lfm_lists WHERE method = '{name}'")
    opts.update({"methods": json.loads(a.methods), "revealed": revealed, "lists": lists})
    for meth, n, r20, nd, cov in q(f"SELECT method, revealed, recall_at_20, ndcg_at_10, coverage_at_10 "
                                   f"FROM coldstart.evaluate({ARGS}, %s::jsonb)", json.dumps(opts)):
        print('seed %d %s %d %.4f %.4f %.4f' % (seed, meth, n, r20, nd, cov), flush=True)
        results.setdefault((meth, n), []).append((r20, nd, cov))

print('\nmean over %d %s split(s), seeds %s:' % (len(seeds), a.split, a.seeds))
for (meth, n), v in sorted(results.items()):
    print('%s %d %.4f %.4f %.4f' % ((meth, n) + tuple(np.mean(v, axis=0))))
for k, e, s in fits:
    print('fit %d components to epoch %d: %.1f s' % (k, e, s))
if a.markdown:
    meths = sorted({m for m, _ in results})
    with open(a.markdown, 'w') as f:
        f.write('CS-1 on MovieLens 100k, %s split(s) seeds %s, mean over %d; every figure computed by '
                'coldstart.evaluate() in one call per split (LightFM through its option "lists").\n'
                'Command: `%s`\n\n' % (a.split, a.seeds, len(seeds), ' '.join(sys.argv)))
        f.write('| method | ' + ' | '.join('n=%d R@20 / NDCG@10' % n for n in revealed) +
                ' | coverage@10 (n=' + '/'.join(map(str, revealed)) + ') |\n')
        f.write('|---|' + '---|' * (len(revealed) + 1) + '\n')
        for meth in meths:
            cells = [np.mean(results[(meth, n)], axis=0) for n in revealed]
            f.write('| %s | ' % meth + ' | '.join('%.4f / %.4f' % (c[0], c[1]) for c in cells) +
                    ' | ' + '/'.join('%.3f' % c[2] for c in cells) + ' |\n')
        per_fit = [s for k, e, s in fits if e == epochs[-1]]
        f.write('\nLightFM fit to epoch %d, one thread: %.1f s on average over %d fits.\n'
                % (epochs[-1], float(np.mean(per_fit)), len(per_fit)))
