"""MovieLens 100k from the bench server, as LightFM takes it: what
lightfm_cs1.py and fit_time.py share."""
import numpy as np, scipy.sparse as sp


def features(rows, cols):
    """identity plus one feature per value, each row normalised to sum 1 (LightFM's Dataset default)"""
    names, data = {}, []
    for k, row in enumerate(rows):
        f = ['id:%d' % row[0]] + ['%s:%s' % (c, x) for c, v in zip(cols, row[1:])
                                  for x in (v if isinstance(v, list) else [v]) if x is not None]
        data += [(k, names.setdefault(x, len(names)), 1.0 / len(f)) for x in f]
    r, c, v = zip(*data)
    return sp.csr_matrix((v, (r, c)), shape=(len(rows), len(names)), dtype=np.float32)


def load(con):
    """(pairs, users, items, uidx, iidx, user features, item features) of movielens.*"""
    q = lambda sql: con.execute(sql).fetchall()
    pairs = q("SELECT DISTINCT user_id, item_id FROM movielens.behaviours")
    users = q("SELECT user_id, age_bucket, gender, occupation FROM movielens.users ORDER BY user_id")
    items = q("SELECT item_id, genres, year_bucket FROM movielens.items ORDER BY item_id")
    uidx = {u[0]: k for k, u in enumerate(users)}
    iidx = {i[0]: k for k, i in enumerate(items)}
    return (pairs, users, items, uidx, iidx,
            features(users, ['age', 'gender', 'occupation']), features(items, ['genre', 'year']))


def interactions(rows, n_users, n_items):
    r, c = zip(*rows)
    return sp.coo_matrix((np.ones(len(r), dtype=np.float32), (r, c)), shape=(n_users, n_items))
