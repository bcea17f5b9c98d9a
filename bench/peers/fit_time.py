#!/usr/bin/python3
"""Wall time of one default coldstart.train() on MovieLens 100k against one
LightFM hybrid fit on the same data, measured in the same run (medians of
--repeat, alternating), for the README's ratio.  Needs what lightfm_cs1.py
needs; trains model bench_fit_time on the bench server and drops it.

  bench/peers/fit_time.py [--repeat 3] [--components 64] [--epochs 45] [--alpha 1e-6]
"""
import argparse, statistics, time
import psycopg
from lightfm import LightFM
import lfm_data

ap = argparse.ArgumentParser()
ap.add_argument('--repeat', type=int, default=3)
ap.add_argument('--components', type=int, default=64)
ap.add_argument('--epochs', type=int, default=45)
ap.add_argument('--alpha', type=float, default=1e-6)
a = ap.parse_args()
con = psycopg.connect(autocommit=True)
q = lambda sql, *p: con.execute(sql, p).fetchall()
pairs, users, items, uidx, iidx, UF, IF = lfm_data.load(con)
X = lfm_data.interactions([(uidx[u], iidx[i]) for u, i in pairs], len(users), len(items))
cs, lf = [], []
for k in range(a.repeat):
    t = time.time()
    q("SELECT coldstart.train('bench_fit_time', 'movielens.behaviours', 'movielens.items', 'movielens.users', "
      "'{\"item_features\": [\"genres\", \"year_bucket\"]}') IS NOT NULL")
    cs.append(time.time() - t)
    t = time.time()
    LightFM(no_components=a.components, loss='warp', learning_rate=0.05, item_alpha=a.alpha, user_alpha=a.alpha,
            random_state=k).fit(X, user_features=UF, item_features=IF, epochs=a.epochs, num_threads=1)
    lf.append(time.time() - t)
q("SELECT coldstart.drop_model('bench_fit_time')")
con.execute("DELETE FROM coldstart.training_runs WHERE name = 'bench_fit_time'")
print('coldstart.train(), default options: median %.2f s (%s)' % (statistics.median(cs), ', '.join('%.2f' % x for x in cs)))
print('LightFM %d components, %d epochs, one thread: median %.2f s (%s)'
      % (a.components, a.epochs, statistics.median(lf), ', '.join('%.2f' % x for x in lf)))
print('ratio coldstart / LightFM: %.2f' % (statistics.median(cs) / statistics.median(lf)))
