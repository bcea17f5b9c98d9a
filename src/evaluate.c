/*
 * evaluate.c
 *	  coldstart.evaluate(): protocol CS-1 of user cold start, for coldstart
 *	  and for the baselines, on one seeded split.
 *
 *	1. The interaction time of a (user, item) pair is its first behaviour.
 *	2. Users with at least min_items distinct items are eligible; a seeded
 *	   test_fraction of them are test users.
 *	3. A test user's distinct items, by (first ts, item id): the first n are
 *	   revealed, the rest are targets.
 *	4. Training data: every behaviour of the other users, plus the revealed
 *	   behaviours (those before the first target) of the test users.
 *	5. Every item but the revealed ones is ranked; P@10, R@20 (hits in the
 *	   top 20 / min(20, |targets|)), NDCG@10 (binary relevance, ideal DCG
 *	   over min(10, |targets|) positions) are averaged over test users, and
 *	   coverage@10 is the share of the catalogue in any top-10 list.
 *
 * With "split": "validation" the test users are left out entirely and the
 * same protocol runs on a validation share of the other users: this is what
 * hyperparameters are chosen on.
 *
 * Methods: coldstart (trained with the revealed behaviours, once per n),
 * coldstart_live (trained once without any behaviour of the test users,
 * whose revealed behaviours are then inserted into a copy of the behaviour
 * table and read back by the same code as recommend()), popularity
 * (distinct training users per item), item_knn (cosine item-item similarity
 * of training co-occurrence, summed over the revealed items) and content
 * (overlap of categorical item features with the revealed items'); the last
 * two break ties by popularity and are popularity at n = 0.
 */
#include "postgres.h"

#include <math.h>

#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/regproc.h"
#include "utils/snapmgr.h"

#include "catalog.h"
#include "coldstart.h"
#include "dataset.h"
#include "featurize.h"
#include "options.h"
#include "score.h"
#include "topk.h"
#include "train.h"

#define EVAL_K 20

enum
{
	M_COLDSTART,
	M_LIVE,
	M_POPULARITY,
	M_KNN,
	M_CONTENT,
	M_COUNT
};

static const char *const method_names[M_COUNT] = {
	"coldstart", "coldstart_live", "popularity", "item_knn", "content"
};

/* Per-user role in the split. */
enum
{
	ROLE_TRAIN = 0,
	ROLE_EVAL = 1,				/* test (or validation) user */
	ROLE_OUT = 2				/* test user left out of a validation run */
};

typedef struct Metrics
{
	double		p10;
	double		r20;
	double		ndcg10;
	int			users;
	int			catalogue;		/* items that could be recommended */
	bool	   *covered;		/* during its revealed count's pass */
	int			n_covered;		/* then: how many items were in a top 10 */
} Metrics;

typedef struct Eval
{
	const CsDataset *ds;
	const CsOptions *o;
	uint8	   *role;
	int64	   *dstart;			/* distinct items per user (CSR) */
	int32	   *ditems;
	int64	   *dfirst;			/* index within the user's events */
	int32	   *eval_users;
	int			n_eval;
	int32	   *idx;
	float	   *val;
	const float *pop;			/* distinct training users per item, of the current n */
} Eval;

static int
distinct_count(const Eval *e, int u)
{
	return (int) (e->dstart[u + 1] - e->dstart[u]);
}

/* Events of user u before the first behaviour of its distinct item n. */
static int64
prefix_events(const Eval *e, int u, int n)
{
	const CsHistories *h = &e->ds->hist;

	if (n >= distinct_count(e, u))
		return h->start[u + 1] - h->start[u];
	return e->dfirst[e->dstart[u] + n];
}

/* ---------- the split ---------- */

/*
 * Whether some method is trained or counted on the training users alone:
 * the live model, or any method when no item is revealed.
 */
static bool method_wanted(const CsOptions *o, int m);

static bool
needs_training_users(const CsOptions *o)
{
	ListCell   *lc;

	if (method_wanted(o, M_LIVE))
		return true;
	foreach(lc, o->revealed)
		if (lfirst_int(lc) == 0)
			return true;
	return false;
}

static void
choose_users(Eval *e, const char *split)
{
	const CsHistories *h = &e->ds->hist;
	CsRandom	rng;
	int32	   *eligible = palloc(sizeof(int32) * Max(h->n_users, 1));
	int			n_el = 0,
				n_test,
				n_train;

	e->role = palloc0(Max(h->n_users, 1));
	for (int u = 0; u < h->n_users; u++)
		if (distinct_count(e, u) >= e->o->min_items)
			eligible[n_el++] = u;

	/* a seeded permutation of the eligible users; the first share is the test set */
	cs_random_seed(&rng, (uint64) e->o->seed);
	for (int i = n_el - 1; i > 0; i--)
	{
		int			j = (int) cs_random_below(&rng, i + 1);
		int32		t = eligible[i];

		eligible[i] = eligible[j];
		eligible[j] = t;
	}
	n_test = (int) ceil(e->o->test_fraction * n_el);
	if (strcmp(split, "test") == 0)
	{
		for (int i = 0; i < n_test; i++)
			e->role[eligible[i]] = ROLE_EVAL;
	}
	else
	{
		/* the same construction once more, on the users that are not test users */
		int			rest = n_el - n_test;
		int			n_val = (int) ceil(e->o->test_fraction * rest);

		for (int i = 0; i < n_test; i++)
			e->role[eligible[i]] = ROLE_OUT;
		for (int i = 0; i < n_val; i++)
			e->role[eligible[n_test + i]] = ROLE_EVAL;
	}
	e->eval_users = palloc(sizeof(int32) * Max(n_el, 1));
	e->n_eval = 0;
	n_train = 0;
	for (int u = 0; u < h->n_users; u++)
	{
		if (e->role[u] == ROLE_EVAL)
			e->eval_users[e->n_eval++] = u;
		n_train += e->role[u] == ROLE_TRAIN;
	}
	if (e->n_eval == 0)
		ereport(ERROR,
				(errcode(ERRCODE_NO_DATA_FOUND),
				 errmsg("no user has the %d distinct items needed to be a %s user",
						e->o->min_items, split),
				 errdetail("%d users are eligible.", n_el),
				 errhint("Lower the option \"min_items\", or evaluate on more data.")));
	if (n_train == 0 && needs_training_users(e->o))
		ereport(ERROR,
				(errcode(ERRCODE_NO_DATA_FOUND),
				 errmsg("no user is left to train on in %s", e->ds->src.behaviours_name),
				 h->n_users == 1 ? errdetail("Its only user is a test or validation user.") :
				 errdetail("All %d users are test or validation users.", h->n_users),
				 errhint("Lower the option \"test_fraction\", or evaluate on more data.")));
}

/*
 * Histories to train on when n items are revealed: everything of the
 * training users, the revealed behaviours of the evaluated users (none for
 * the live model, n < 0).
 */
static CsHistories *
training_histories(const Eval *e, int n)
{
	const CsHistories *h = &e->ds->hist;
	CsHistories *t = palloc0(sizeof(CsHistories));
	int64		n_ev = 0;

	t->user_ids = palloc(sizeof(int64) * Max(h->n_users, 1));
	t->start = palloc(sizeof(int64) * (h->n_users + 1));
	t->attrs = palloc(sizeof(int32) * Max(h->n_users, 1));
	t->keep_out_of_validation = palloc0(sizeof(bool) * Max(h->n_users, 1));
	t->events = cs_alloc_huge(sizeof(CsEvent) * Max(h->start[h->n_users], 1));
	for (int u = 0; u < h->n_users; u++)
	{
		int64		len;

		if (e->role[u] == ROLE_OUT || (e->role[u] == ROLE_EVAL && n < 0))
			continue;
		len = e->role[u] == ROLE_EVAL ? prefix_events(e, u, n) : h->start[u + 1] - h->start[u];
		if (len == 0)
			continue;
		t->user_ids[t->n_users] = h->user_ids[u];
		t->attrs[t->n_users] = h->attrs[u];
		t->keep_out_of_validation[t->n_users] = (e->role[u] == ROLE_EVAL);
		t->start[t->n_users] = n_ev;
		memcpy(t->events + n_ev, h->events + h->start[u], sizeof(CsEvent) * len);
		n_ev += len;
		t->n_users++;
	}
	t->start[t->n_users] = n_ev;
	return t;
}

/* ---------- metrics ---------- */

/*
 * An item may be recommended, and counts as a target, when it is in the
 * catalogue: every item, or with "catalogue": "trained" only the items the
 * training data has behaviours for.  (Built from a behaviour log, the full
 * catalogue holds items that only evaluated users touched: no training user
 * has them, so their mere presence points at the evaluated users.)
 */
static inline bool
in_catalogue(const Eval *e, int item)
{
	return !e->o->catalogue_trained || e->pop[item] > 0;
}

static void
add_metrics(Eval *e, Metrics *mt, float *scores, int u, int n)
{
	const int32 *di = e->ditems + e->dstart[u];
	int			m = distinct_count(e, u);
	int			found;
	int			hits10 = 0,
				hits20 = 0,
				n_targets = 0;
	double		dcg = 0,
				idcg = 0;

	for (int j = 0; j < n; j++)
		scores[di[j]] = -INFINITY;
	if (e->o->catalogue_trained)
		for (int x = 0; x < e->ds->n_items; x++)
			if (!in_catalogue(e, x))
				scores[x] = -INFINITY;
	for (int j = n; j < m; j++)
		n_targets += in_catalogue(e, di[j]);
	if (n_targets == 0)
		return;					/* nothing this user did later could be recommended */
	found = cs_topk(scores, e->ds->n_items, EVAL_K, e->idx, e->val);
	for (int r = 0; r < found; r++)
	{
		bool		hit = false;

		for (int j = n; j < m && !hit; j++)
			hit = (di[j] == e->idx[r]);
		if (r < 10)
			mt->covered[e->idx[r]] = true;
		if (!hit)
			continue;
		hits20++;
		if (r < 10)
		{
			hits10++;
			dcg += 1.0 / log2(r + 2.0);
		}
	}
	for (int r = 0; r < Min(10, n_targets); r++)
		idcg += 1.0 / log2(r + 2.0);
	mt->p10 += hits10 / 10.0;
	mt->r20 += (double) hits20 / Min(EVAL_K, n_targets);
	mt->ndcg10 += idcg > 0 ? dcg / idcg : 0;
	mt->users++;
}

/* ---------- baselines ---------- */

typedef struct Baselines
{
	float	   *pop;			/* distinct training users per item */
	float		max_pop;
	int64	   *item_start;		/* item -> training users (CSR) */
	int32	   *item_users;
	int64	   *user_start;		/* training user -> distinct items (CSR) */
	int32	   *user_items;
	int			n_train_users;
	float	   *co;				/* scratch per item */
} Baselines;

static void
baselines_build(const Eval *e, const CsHistories *t, Baselines *b)
{
	int			n = e->ds->n_items;
	int64		total = 0;
	int64	   *fill;

	b->pop = palloc0(sizeof(float) * n);
	b->co = palloc0(sizeof(float) * n);
	b->n_train_users = t->n_users;
	b->user_start = palloc(sizeof(int64) * (t->n_users + 1));
	b->user_items = cs_alloc_huge(sizeof(int32) * Max(t->start[t->n_users], 1));
	for (int u = 0; u < t->n_users; u++)
	{
		int			m;

		b->user_start[u] = total;
		m = cs_history_distinct(t->events + t->start[u], t->start[u + 1] - t->start[u],
								b->user_items + total, NULL);
		for (int j = 0; j < m; j++)
			b->pop[b->user_items[total + j]] += 1;
		total += m;
	}
	b->user_start[t->n_users] = total;
	b->max_pop = 0;
	for (int i = 0; i < n; i++)
		b->max_pop = Max(b->max_pop, b->pop[i]);

	b->item_start = palloc0(sizeof(int64) * (n + 1));
	for (int i = 0; i < n; i++)
		b->item_start[i + 1] = b->item_start[i] + (int64) b->pop[i];
	b->item_users = cs_alloc_huge(sizeof(int32) * Max(total, 1));
	fill = palloc(sizeof(int64) * Max(n, 1));
	memcpy(fill, b->item_start, sizeof(int64) * n);
	for (int u = 0; u < t->n_users; u++)
		for (int64 k = b->user_start[u]; k < b->user_start[u + 1]; k++)
			b->item_users[fill[b->user_items[k]]++] = u;
	pfree(fill);
}

/* a tie-breaking nudge by popularity, far below any difference in the main score */
static inline float
pop_nudge(const Baselines *b, int i)
{
	return 1e-4f * b->pop[i] / (b->max_pop + 1);
}

static void
score_popularity(const Eval *e, const Baselines *b, float *s)
{
	memcpy(s, b->pop, sizeof(float) * e->ds->n_items);
}

/* Items with a cosine sum, ordered by (sum, popularity, item) */
static const float *knn_sum;
static const float *knn_pop;

static int
knn_cmp(const void *a, const void *b)
{
	int			x = *(const int *) a,
				y = *(const int *) b;

	if (knn_sum[x] != knn_sum[y])
		return knn_sum[x] > knn_sum[y] ? -1 : 1;
	if (knn_pop[x] != knn_pop[y])
		return knn_pop[x] > knn_pop[y] ? -1 : 1;
	return x < y ? -1 : x > y;
}

/*
 * Replace the cosine sums by scores that rank as (sum, popularity, item)
 * do: an exact tie-break by popularity (then by item id, as cs_topk()
 * does), where a small popularity term added to the sums could outweigh a
 * real difference between two of them.  Items with a sum rank above those
 * without, which rank by popularity.
 */
static void
knn_order(const Baselines *b, float *s, int n_items)
{
	int		   *cand = palloc(sizeof(int) * Max(n_items, 1));
	int			nc = 0;

	for (int x = 0; x < n_items; x++)
		if (s[x] > 0)
			cand[nc++] = x;
	knn_sum = s;
	knn_pop = b->pop;
	qsort(cand, nc, sizeof(int), knn_cmp);
	for (int x = 0; x < n_items; x++)
		if (!(s[x] > 0))
			s[x] = b->pop[x] / (b->max_pop + 1);	/* in [0, 1) */
	for (int r = 0; r < nc; r++)
		s[cand[r]] = (float) (1 + nc - r);	/* from nc + 1 down to 2 */
	pfree(cand);
}

static void
score_knn(const Eval *e, const Baselines *b, int u, int n, float *s)
{
	const int32 *di = e->ditems + e->dstart[u];
	int			n_items = e->ds->n_items;

	if (n == 0)
	{
		score_popularity(e, b, s);
		return;
	}
	memset(b->co, 0, sizeof(float) * n_items);
	memset(s, 0, sizeof(float) * n_items);
	for (int j = 0; j < n; j++)
	{
		int			i = di[j];

		if (b->pop[i] == 0)
			continue;
		/* co-occurrence of i with every item, over the users who have i */
		memset(b->co, 0, sizeof(float) * n_items);
		for (int64 k = b->item_start[i]; k < b->item_start[i + 1]; k++)
		{
			int			v = b->item_users[k];

			for (int64 q = b->user_start[v]; q < b->user_start[v + 1]; q++)
				b->co[b->user_items[q]] += 1;
		}
		for (int x = 0; x < n_items; x++)
			if (b->co[x] > 0)
				s[x] += b->co[x] / sqrtf(b->pop[i] * b->pop[x]);
	}
	knn_order(b, s, n_items);
}

static void
score_content(const Eval *e, const Baselines *b, int u, int n, float *s)
{
	const CsFeatures *f = &e->ds->items;
	const int32 *di = e->ditems + e->dstart[u];
	int			n_items = e->ds->n_items;
	float	   *shared;

	if (n == 0 || f->n_values == 0)
	{
		score_popularity(e, b, s);
		return;
	}
	/* how many revealed items carry each categorical value */
	shared = palloc0(sizeof(float) * f->n_values);
	for (int j = 0; j < n; j++)
		for (int64 k = f->row_start[di[j]]; k < f->row_start[di[j] + 1]; k++)
			if (f->values[f->rows[k]] != NULL)
				shared[f->rows[k]] += 1;
	for (int x = 0; x < n_items; x++)
	{
		float		overlap = 0;

		for (int64 k = f->row_start[x]; k < f->row_start[x + 1]; k++)
			overlap += shared[f->rows[k]];
		s[x] = overlap + pop_nudge(b, x) * 1e3f;
	}
	pfree(shared);
}

/* ---------- coldstart, trained with the revealed behaviours ---------- */

static CsHistItem *
history_items(const Eval *e, int u, int64 len, int L, int *n_out)
{
	const CsHistories *h = &e->ds->hist;
	const CsEvent *ev = h->events + h->start[u];
	int64		from = Max(0, len - L);
	CsHistItem *hist = palloc(sizeof(CsHistItem) * Max(len - from, 1));
	int			n = 0;

	for (int64 j = from; j < len; j++)
	{
		hist[n].item_id = e->ds->item_ids[ev[j].item];
		hist[n].label = e->ds->labels[ev[j].label];
		hist[n].ts = ev[j].ts;
		n++;
	}
	*n_out = n;
	return hist;
}

static void
user_attr_rows(const Eval *e, int u, int32 **rows, float **w, int *n)
{
	const CsFeatures *uf = &e->ds->users;
	int			a = e->ds->hist.attrs[u];

	*n = 0;
	*rows = NULL;
	*w = NULL;
	if (a < 0)
		return;
	*rows = uf->rows + uf->row_start[a];
	*w = uf->weights + uf->row_start[a];
	*n = (int) (uf->row_start[a + 1] - uf->row_start[a]);
}

static void
score_coldstart(const Eval *e, CsServed *s, int u, int n)
{
	int			n_hist;
	CsHistItem *hist = history_items(e, u, prefix_events(e, u, n), s->m.history_length, &n_hist);
	int32	   *rows;
	float	   *w;
	int			n_attr;
	float	   *vec = palloc(sizeof(float) * s->m.dim);

	user_attr_rows(e, u, &rows, &w, &n_attr);
	cs_user_vector(s, hist, n_hist, rows, w, n_attr, vec, NULL);
	cs_score_all(s, vec, NULL, 0);
	pfree(vec);
	pfree(hist);
}

static CsServed *
train_model(const Eval *e, const CsHistories *t, const char *used_json)
{
	CsTrainResult res;
	CsServed   *s;

	cs_train(e->ds, t, e->o, used_json, true, &res);
	s = cs_served_create("evaluate", res.model, NULL, CurrentMemoryContext);
	pfree(res.model);
	return s;
}

/* ---------- coldstart_live: the recommend() path on a live copy ---------- */

/* A temporary table name that no relation of this session has yet */
static char *
live_table_name(void)
{
	for (int i = 0;; i++)
	{
		char	   *rel = i == 0 ? psprintf("%s%d", CS_EVALUATE_PREFIX, MyProcPid) :
			psprintf("%s%d_%d", CS_EVALUATE_PREFIX, MyProcPid, i);

		if (!OidIsValid(RangeVarGetRelid(makeRangeVar("pg_temp", rel, -1), NoLock, true)))
			return psprintf("pg_temp.%s", rel);
		pfree(rel);
	}
}

/*
 * The name of the live model in coldstart.models: train() refuses the prefix,
 * so only a model stored before it did can be in the way, and that one is
 * left alone.
 */
static char *
live_model_name(void)
{
	char	   *name = psprintf("%s%d", CS_EVALUATE_PREFIX, MyProcPid);
	Oid			types[1] = {TEXTOID};
	Datum		args[1] = {CStringGetTextDatum(name)};

	if (SPI_execute_with_args("SELECT 1 FROM coldstart.models WHERE name = $1", 1, types, args,
							  NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not look up model \"%s\"", name);
	if (SPI_processed > 0)
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_OBJECT),
				 errmsg("model \"%s\" already exists", name),
				 errdetail("While it runs, evaluate() stores the model of method coldstart_live under this name, then deletes it."),
				 errhint("Copy that model's versions under another name and delete them, or leave method coldstart_live out.")));
	return name;
}

/* SQL expression turning epoch seconds $4 into a value of the ts column's type */
static char *
ts_expression(Oid type)
{
	switch (type)
	{
		case TIMESTAMPTZOID:
			return "pg_catalog.to_timestamp($4)";
		case TIMESTAMPOID:
			return "(pg_catalog.to_timestamp($4) AT TIME ZONE 'UTC')";
		case DATEOID:
			return "(pg_catalog.to_timestamp($4) AT TIME ZONE 'UTC')::pg_catalog.date";
		default:
			return psprintf("CAST($4 AS %s)", format_type_be_qualified(type));
	}
}

static void
live_create(const Eval *e, const char *table)
{
	const CsOptions *o = e->o;
	const CsHistories *h = &e->ds->hist;
	StringInfoData sql;
	Datum	   *ids;
	int			n = 0;
	Oid			types[1] = {INT8ARRAYOID};
	Datum		args[1];

	ids = palloc(sizeof(Datum) * Max(h->n_users, 1));
	for (int u = 0; u < h->n_users; u++)
		if (e->role[u] != ROLE_TRAIN)
			ids[n++] = Int64GetDatum(h->user_ids[u]);
	args[0] = PointerGetDatum(construct_array(ids, n, INT8OID, 8, true, TYPALIGN_DOUBLE));
	initStringInfo(&sql);
	appendStringInfo(&sql, "CREATE TEMP TABLE %s AS SELECT %s, %s, %s, %s FROM %s WHERE NOT (%s = ANY ($1))",
					 table, quote_identifier(o->col_user), quote_identifier(o->col_item),
					 quote_identifier(o->col_action), quote_identifier(o->col_ts),
					 e->ds->src.behaviours_name, quote_identifier(o->col_user));
	if (SPI_execute_with_args(sql.data, 1, types, args, NULL, false, 0) != SPI_OK_UTILITY)
		elog(ERROR, "could not create %s", table);
	resetStringInfo(&sql);
	appendStringInfo(&sql, "CREATE INDEX ON %s (%s, %s)", table, quote_identifier(o->col_user),
					 quote_identifier(o->col_ts));
	if (SPI_execute(sql.data, false, 0) != SPI_OK_UTILITY)
		elog(ERROR, "could not index %s", table);
}

/* Insert the revealed behaviours of the evaluated users between n_from and n_to items. */
static void
live_reveal(const Eval *e, const char *table, SPIPlanPtr *plan, int n_from, int n_to)
{
	const CsHistories *h = &e->ds->hist;
	const CsOptions *o = e->o;

	if (*plan == NULL)
	{
		Oid			types[4] = {INT8OID, INT8OID, TEXTOID, FLOAT8OID};
		Oid			relid = e->ds->src.behaviours;
		Oid			utype = get_atttype(relid, get_attnum(relid, o->col_user));
		Oid			itype = get_atttype(relid, get_attnum(relid, o->col_item));
		Oid			atype = get_atttype(relid, get_attnum(relid, o->col_action));
		Oid			ttype = get_atttype(relid, get_attnum(relid, o->col_ts));
		char	   *sql = psprintf("INSERT INTO %s (%s, %s, %s, %s) VALUES "
								   "(CAST($1 AS %s), CAST($2 AS %s), CAST($3 AS %s), %s)",
								   table, quote_identifier(o->col_user), quote_identifier(o->col_item),
								   quote_identifier(o->col_action), quote_identifier(o->col_ts),
								   format_type_be_qualified(utype), format_type_be_qualified(itype),
								   format_type_be_qualified(atype), ts_expression(ttype));

		*plan = SPI_prepare(sql, 4, types);
		if (*plan == NULL)
			elog(ERROR, "could not prepare \"%s\"", sql);
	}
	for (int i = 0; i < e->n_eval; i++)
	{
		int			u = e->eval_users[i];
		int64		from = prefix_events(e, u, n_from),
					to = prefix_events(e, u, n_to);

		for (int64 j = from; j < to; j++)
		{
			const CsEvent *ev = h->events + h->start[u] + j;
			Datum		args[4];

			args[0] = Int64GetDatum(h->user_ids[u]);
			args[1] = Int64GetDatum(e->ds->item_ids[ev->item]);
			args[2] = CStringGetTextDatum(e->ds->labels[ev->label]);
			args[3] = Float8GetDatum(ev->ts);
			if (SPI_execute_plan(*plan, args, NULL, false, 0) != SPI_OK_INSERT)
				elog(ERROR, "could not insert into %s", table);
		}
		CHECK_FOR_INTERRUPTS();
	}
}

/* ---------- lists made elsewhere: option "lists" ---------- */

/*
 * A method whose lists another system made for the same split (the users
 * and revealed items that evaluation_split() gives): a relation of rows
 * (user_id, item_id, rank[, revealed]), a user's list being its rows of
 * the revealed count in order of rank (then item id).  Scored by the same
 * code as the built-in methods: revealed items and items outside the
 * catalogue are passed over, a user without rows has an empty list.
 */
typedef struct ExtList
{
	char	   *method;
	Oid			rel;
	char	   *rel_name;		/* quoted, schema-qualified */
	bool		by_revealed;	/* has a revealed column */
	/* the rows of the current revealed count, by user id, rank, item id */
	int64		n_rows;
	int64	   *user_ids;
	int32	   *items;			/* index in the catalogue, or -1 */
	/* for the NOTICE of the pass */
	int			users_without;	/* evaluated users with no row */
	int			users_ignored;	/* users with rows who are not evaluated */
	int64		rows_unknown;	/* rows of items that are not in the data */
} ExtList;

typedef struct ExtLists
{
	int			n;
	ExtList    *l;
} ExtLists;

static const char *const ext_columns[] = {"user_id", "item_id", "rank", "revealed"};

static void
ext_lists_parse(Jsonb *json, ExtLists *out)
{
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;
	char	   *method = NULL;

	out->n = 0;
	out->l = NULL;
	if (json == NULL)
		return;
	out->l = palloc0(sizeof(ExtList) * Max(JsonContainerSize(&json->root), 1));
	it = JsonbIteratorInit(&json->root);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		ExtList    *x;

		if (tok == WJB_KEY)
		{
			method = pnstrdup(v.val.string.val, v.val.string.len);
			if (method[0] == '\0' || strlen(method) > NAMEDATALEN - 1)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("a method name in option \"lists\" must have 1 to %d bytes", NAMEDATALEN - 1)));
			for (int m = 0; m < M_COUNT; m++)
				if (strcmp(method, method_names[m]) == 0)
					ereport(ERROR,
							(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
							 errmsg("method \"%s\" of option \"lists\" is a built-in method", method),
							 errhint("Give the lists another name, such as \"current\"; option \"methods\" chooses the built-in ones.")));
			continue;
		}
		if (tok != WJB_VALUE)
			continue;
		if (v.type != jbvString)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("method \"%s\" of option \"lists\" must name a relation", method),
					 errhint("For example: {\"lists\": {\"current\": \"shop.current_lists\"}}.")));
		x = &out->l[out->n++];
		x->method = method;
		{
			char	   *rel = pnstrdup(v.val.string.val, v.val.string.len);
			List	   *names = stringToQualifiedNameList(rel);

			x->rel = RangeVarGetRelid(makeRangeVarFromNameList(names), AccessShareLock, true);
			if (!OidIsValid(x->rel))
				ereport(ERROR,
						(errcode(ERRCODE_UNDEFINED_TABLE),
						 errmsg("relation \"%s\" of method \"%s\" does not exist", rel, method),
						 list_length(names) == 1 ?
						 errhint("evaluate() looks names up with search_path pg_catalog, pg_temp: qualify it with its schema, such as \"public.%s\".", rel) : 0));
		}
		x->rel_name = quote_qualified_identifier(get_namespace_name(get_rel_namespace(x->rel)),
												 get_rel_name(x->rel));
		for (int c = 0; c < lengthof(ext_columns); c++)
		{
			AttrNumber	a = get_attnum(x->rel, ext_columns[c]);
			Oid			type;

			if (c == 3)
				x->by_revealed = (a != InvalidAttrNumber);
			if (a == InvalidAttrNumber)
			{
				if (c == 3)
					continue;
				ereport(ERROR,
						(errcode(ERRCODE_UNDEFINED_COLUMN),
						 errmsg("relation %s of method \"%s\" has no column \"%s\"",
								x->rel_name, method, ext_columns[c]),
						 errhint("Lists need columns user_id, item_id and rank (1 = best), and revealed for lists that depend on the revealed count.")));
			}
			/* ids and counts are integers, ranks numbers: no text ordering, no rounding */
			type = getBaseType(get_atttype(x->rel, a));
			if (c == 2 ? !(cs_is_id_type(type) || type == FLOAT4OID || type == FLOAT8OID || type == NUMERICOID)
				: !cs_is_id_type(type))
				ereport(ERROR,
						(errcode(ERRCODE_DATATYPE_MISMATCH),
						 errmsg("column \"%s\" of relation %s (method \"%s\") has type %s, but it must be %s",
								ext_columns[c], x->rel_name, method, format_type_be(type),
								c == 2 ? "a number" : "smallint, integer or bigint"),
						 errhint("Cast it in a view.")));
		}
		if (pg_class_aclcheck(x->rel, GetUserId(), ACL_SELECT) != ACLCHECK_OK)
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("permission denied for relation %s of method \"%s\"", x->rel_name, method)));
	}
}

static int
cmp_int64(const void *a, const void *b)
{
	int64		x = *(const int64 *) a,
				y = *(const int64 *) b;

	return x < y ? -1 : x > y;
}

/* index of id in a sorted array, or -1 */
static int64
find_id(const int64 *ids, int64 n, int64 id)
{
	const int64 *p = bsearch(&id, ids, n, sizeof(int64), cmp_int64);

	return p ? p - ids : -1;
}

/* Whether user u is ranked at revealed count n (the loop of evaluate()). */
static bool
evaluated_at(const Eval *e, int u, int n)
{
	return e->role[u] == ROLE_EVAL && n < distinct_count(e, u);
}

/* The rows of revealed count n, in the current SPI connection's memory. */
static void
ext_list_read(const Eval *e, ExtList *x, int n)
{
	Oid			types[1] = {INT4OID};
	Datum		args[1] = {Int32GetDatum(n)};
	char	   *sql = psprintf("SELECT user_id::pg_catalog.int8, item_id::pg_catalog.int8 FROM %s "
							   "WHERE user_id IS NOT NULL AND item_id IS NOT NULL AND rank IS NOT NULL%s "
							   "ORDER BY 1, rank, 2",
							   x->rel_name, x->by_revealed ? " AND revealed = $1" : "");
	int64		prev = 0;

	if (SPI_execute_with_args(sql, x->by_revealed ? 1 : 0, types, args, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read the lists of method \"%s\"", x->method);
	x->n_rows = (int64) SPI_processed;
	x->user_ids = palloc(sizeof(int64) * Max(x->n_rows, 1));
	x->items = palloc(sizeof(int32) * Max(x->n_rows, 1));
	x->users_without = x->users_ignored = 0;
	x->rows_unknown = 0;
	for (int64 k = 0; k < x->n_rows; k++)
	{
		bool		isnull;
		HeapTuple	t = SPI_tuptable->vals[k];

		x->user_ids[k] = DatumGetInt64(SPI_getbinval(t, SPI_tuptable->tupdesc, 1, &isnull));
		x->items[k] = (int32) find_id(e->ds->item_ids, e->ds->n_items,
									  DatumGetInt64(SPI_getbinval(t, SPI_tuptable->tupdesc, 2, &isnull)));
		x->rows_unknown += x->items[k] < 0;
		if (k == 0 || x->user_ids[k] != prev)
		{
			int64		u = find_id(e->ds->hist.user_ids, e->ds->hist.n_users, x->user_ids[k]);

			x->users_ignored += (u < 0 || !evaluated_at(e, (int) u, n));
		}
		prev = x->user_ids[k];
		CHECK_FOR_INTERRUPTS();
	}
	SPI_freetuptable(SPI_tuptable);
}

/* scores of user u: minus the position in its list, -INFINITY off it */
static void
score_ext_list(const Eval *e, ExtList *x, int u, float *s)
{
	int64		id = e->ds->hist.user_ids[u];
	int64		lo = 0,
				hi = x->n_rows;
	float		pos = 0;

	for (int i = 0; i < e->ds->n_items; i++)
		s[i] = -INFINITY;
	while (lo < hi)				/* the first row of the user */
	{
		int64		mid = lo + (hi - lo) / 2;

		if (x->user_ids[mid] < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo >= x->n_rows || x->user_ids[lo] != id)
		x->users_without++;
	for (int64 k = lo; k < x->n_rows && x->user_ids[k] == id; k++)
		if (x->items[k] >= 0 && s[x->items[k]] == -INFINITY)
			s[x->items[k]] = -(++pos);
}

static void
ext_list_report(const Eval *e, const ExtList *x, int n)
{
	if (x->users_without > 0)
		ereport(NOTICE,
				(errmsg_plural("method %s, revealed %d: %d evaluated user has no list in %s",
							   "method %s, revealed %d: %d evaluated users have no list in %s",
							   x->users_without, x->method, n, x->users_without, x->rel_name),
				 errhint("coldstart.evaluation_split() gives the evaluated users and their revealed items; a user without a list counts as one with no hit.")));
	if (x->users_ignored > 0)
		ereport(NOTICE,
				(errmsg_plural("method %s, revealed %d: ignored the list of %d user who is not evaluated",
							   "method %s, revealed %d: ignored the lists of %d users who are not evaluated",
							   x->users_ignored, x->method, n, x->users_ignored),
				 errhint("Make lists for the users coldstart.evaluation_split() gives, with the same options.")));
	if (x->rows_unknown > 0)
		ereport(NOTICE,
				(errmsg_plural("method %s, revealed %d: ignored %d row of an item that is not in the data",
							   "method %s, revealed %d: ignored %d rows of items that are not in the data",
							   (unsigned long) x->rows_unknown, x->method, n, (int) Min(x->rows_unknown, INT_MAX))));
}

/* ---------- the SQL function ---------- */

static bool
method_wanted(const CsOptions *o, int m)
{
	ListCell   *lc;

	foreach(lc, o->methods)
		if (strcmp((char *) lfirst(lc), method_names[m]) == 0)
			return true;
	return false;
}

/*
 * evaluate()'s own options, taken out of the JSON before the rest goes to
 * cs_options_parse(): "split", and "lists", read only with want_lists
 * (evaluation_split() takes evaluate()'s options, and ignores this one).
 */
static Jsonb *
eval_own_options(Jsonb *given, const char **split, Jsonb **lists, bool want_lists)
{
	static const char *const own[] = {"split", "lists"};

	*split = "test";
	*lists = NULL;
	if (given == NULL || !JB_ROOT_IS_OBJECT(given) || JB_ROOT_IS_SCALAR(given))
		return given;
	for (int k = 0; k < 2; k++)
	{
		JsonbValue *v = getKeyJsonValueFromContainer(&given->root, own[k], strlen(own[k]), NULL);

		if (v == NULL)
			continue;
		if (k == 0)
		{
			if (v->type == jbvString)
				*split = pnstrdup(v->val.string.val, v->val.string.len);
			if (v->type != jbvString ||
				(strcmp(*split, "test") != 0 && strcmp(*split, "validation") != 0))
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("option \"split\" must be \"test\" or \"validation\"")));
		}
		else if (want_lists)
		{
			if (v->type != jbvBinary || !JsonContainerIsObject(v->val.binary.data))
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("option \"lists\" must be an object of method names and relations"),
						 errhint("For example: {\"lists\": {\"current\": \"shop.current_lists\"}}.")));
			*lists = JsonbValueToJsonb(v);
		}
		given = DatumGetJsonbP(DirectFunctionCall2(jsonb_delete, JsonbPGetDatum(given),
												   CStringGetTextDatum(own[k])));
	}
	return given;
}

/*
 * Load the data set of arguments 0-2 and draw the split: what evaluate()
 * and evaluation_split() share.  In the caller's SPI connection.
 */
static void
eval_load(FunctionCallInfo fcinfo, Eval *e, const CsOptions *opts, CsSources *src,
		  const char *split)
{
	CsDataset  *ds;

	cs_sources_init(src, PG_GETARG_OID(0), PG_ARGISNULL(1) ? InvalidOid : PG_GETARG_OID(1),
					PG_ARGISNULL(2) ? InvalidOid : PG_GETARG_OID(2));
	ds = cs_dataset_load(src, opts);
	memset(e, 0, sizeof(*e));
	e->ds = ds;
	e->o = opts;
	e->idx = palloc(sizeof(int32) * EVAL_K);
	e->val = palloc(sizeof(float) * EVAL_K);
	e->dstart = palloc(sizeof(int64) * (ds->hist.n_users + 1));
	e->ditems = cs_alloc_huge(sizeof(int32) * Max(ds->hist.start[ds->hist.n_users], 1));
	e->dfirst = cs_alloc_huge(sizeof(int64) * Max(ds->hist.start[ds->hist.n_users], 1));
	e->dstart[0] = 0;
	for (int u = 0; u < ds->hist.n_users; u++)
		e->dstart[u + 1] = e->dstart[u] +
			cs_history_distinct(ds->hist.events + ds->hist.start[u],
								ds->hist.start[u + 1] - ds->hist.start[u],
								e->ditems + e->dstart[u], e->dfirst + e->dstart[u]);
	choose_users(e, split);
}

/* What evaluate() and evaluation_split() work with */
typedef struct EvalCall
{
	CsOptions	opts;
	CsSources	src;
	Eval		e;
	const char *split;
	ReturnSetInfo *rsinfo;		/* where the rows go */
	MemoryContext callercxt;	/* the rows' memory */
	MemoryContext cxt;			/* of the call, current after eval_start() */
} EvalCall;

/*
 * The start they share: arguments and options, the result's tuplestore, a
 * memory context of their own, an SPI connection, the data set and the
 * split.  With lists (evaluate()), also evaluate()'s own checks and option
 * "lists", before any data is read.
 */
static void
eval_start(FunctionCallInfo fcinfo, EvalCall *c, ExtLists *lists)
{
	Jsonb	   *given;
	Jsonb	   *lists_json;

	c->rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	c->callercxt = CurrentMemoryContext;
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("behaviours relation must not be NULL")));
	given = eval_own_options(PG_ARGISNULL(3) ? NULL : PG_GETARG_JSONB_P(3), &c->split, &lists_json,
							 lists != NULL);
	cs_options_parse(&c->opts, given, CS_OPTIONS_EVALUATE);
	if (lists != NULL)
	{
		if (method_wanted(&c->opts, M_LIVE) && XactReadOnly)
			ereport(ERROR,
					(errcode(ERRCODE_READ_ONLY_SQL_TRANSACTION),
					 errmsg("method coldstart_live cannot be evaluated in a read-only transaction"),
					 errdetail("It stores a temporary model in coldstart.models."),
					 errhint("Leave it out of the option \"methods\", or call evaluate() in a read-write transaction.")));
		ext_lists_parse(lists_json, lists);
	}
	InitMaterializedSRF(fcinfo, 0);
	c->cxt = AllocSetContextCreate(CurrentMemoryContext, "coldstart evaluate", ALLOCSET_DEFAULT_SIZES);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	MemoryContextSwitchTo(c->cxt);
	eval_load(fcinfo, &c->e, &c->opts, &c->src, c->split);
}

/* The end they share, once the rows are written */
static void
eval_end(EvalCall *c)
{
	SPI_finish();
	MemoryContextDelete(c->cxt);
}

PG_FUNCTION_INFO_V1(coldstart_evaluate);
Datum
coldstart_evaluate(PG_FUNCTION_ARGS)
{
	EvalCall	c;
	const CsDataset *ds;
	ExtLists	lists;
	StringInfoData used;
	int			n_rev = 0;
	int		   *revealed;
	Metrics   (*mt)[M_COUNT];
	Metrics    *lmt;			/* [n_rev][lists.n] */
	float	   *scores;
	ListCell   *lc;
	CsServed   *live = NULL;
	char	   *live_name = NULL;
	char	   *live_table = NULL;

	eval_start(fcinfo, &c, &lists);
	ds = c.e.ds;
	if (method_wanted(&c.opts, M_CONTENT) && ds->items.n_values == 0)
		ereport(NOTICE,
				(errmsg("method content has no item features to compare, so it ranks items as popularity does"),
				 errhint("Pass an items table with categorical columns, or name them with the option \"item_features\".")));
	ereport(NOTICE,
			(errmsg_plural("evaluating on %d %s user of %d (%d items)",
						   "evaluating on %d %s users of %d (%d items)", c.e.n_eval,
						   c.e.n_eval, c.split, ds->hist.n_users, ds->n_items)));

	revealed = palloc(sizeof(int) * list_length(c.opts.revealed));
	foreach(lc, c.opts.revealed)
	{
		int			n = lfirst_int(lc);
		int			j = n_rev++;

		/* ascending and unique: the live copy reveals behaviours cumulatively */
		while (j > 0 && revealed[j - 1] > n)
		{
			revealed[j] = revealed[j - 1];
			j--;
		}
		if (j > 0 && revealed[j - 1] == n)
		{
			memmove(revealed + j, revealed + j + 1, sizeof(int) * (n_rev - j - 1));
			n_rev--;
			continue;
		}
		revealed[j] = n;
	}
	mt = palloc0(sizeof(Metrics[M_COUNT]) * n_rev);
	lmt = palloc0(sizeof(Metrics) * Max(n_rev * lists.n, 1));
	scores = palloc(sizeof(float) * ds->n_items);
	initStringInfo(&used);
	cs_options_to_json(&c.opts, &used, CS_OPTIONS_TRAIN);

	/* the live model: trained once, without any behaviour of the evaluated users */
	if (method_wanted(&c.opts, M_LIVE))
	{
		CsSources	lsrc;
		CsDataset  *lds;
		CsTrainResult res;
		StringInfoData spec;

		live_name = live_model_name();
		live_table = live_table_name();
		ereport(NOTICE, (errmsg("training the live model without the %s users", c.split)));
		live_create(&c.e, live_table);
		/*
		 * Its data set and training state go once it is stored: a nested SPI
		 * connection, whose procedure context holds them (SPI calls return
		 * in it, so a context of our own would not) and goes at its end.
		 */
		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed");
		cs_sources_init(&lsrc, DatumGetObjectId(DirectFunctionCall1(regclassin, CStringGetDatum(live_table))),
						c.src.items, c.src.users);
		lds = cs_dataset_load(&lsrc, &c.opts);
		cs_train(lds, &lds->hist, &c.opts, used.data, true, &res);
		initStringInfo(&spec);
		appendStringInfoString(&spec, "{\"behaviours\": ");
		escape_json(&spec, live_table);
		appendStringInfoString(&spec, ", \"items\": ");
		if (c.src.items_name)
			escape_json(&spec, c.src.items_name);
		else
			appendStringInfoString(&spec, "null");
		appendStringInfoString(&spec, ", \"users\": ");
		if (c.src.users_name)
			escape_json(&spec, c.src.users_name);
		else
			appendStringInfoString(&spec, "null");
		appendStringInfo(&spec, ", \"options\": %s}", used.data);
		cs_catalog_store(live_name, res.model, spec.data, "{}", res.seconds, true);
		cs_served_forget(live_name);
		/* serve it as recommend() would, in a snapshot that sees the new row */
		CommandCounterIncrement();
		PushActiveSnapshot(GetTransactionSnapshot());
		live = cs_served_get(live_name);
		PopActiveSnapshot();
		live->read_own_writes = true;
		SPI_finish();
	}

	/*
	 * One pass per revealed count, each in a nested SPI connection: its
	 * training, baselines and per-user reads are in that connection's
	 * procedure context and go at its end, so that the memory needed is that
	 * of one training whatever the number of passes.
	 */
	for (int r = 0; r < n_rev; r++)
	{
		int			n = revealed[r];
		CsHistories *t;
		Baselines	b;
		CsServed   *model = NULL;
		SPIPlanPtr	reveal_plan = NULL;
		int			n_catalogue;

		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed");
		t = training_histories(&c.e, n);
		for (int m = 0; m < M_COUNT; m++)
			if (method_wanted(&c.opts, m))
				mt[r][m].covered = palloc0(ds->n_items);
		ereport(NOTICE, (errmsg("revealed %d: training on %d users", n, t->n_users)));
		baselines_build(&c.e, t, &b);
		c.e.pop = b.pop;
		n_catalogue = 0;
		for (int x = 0; x < ds->n_items; x++)
			n_catalogue += in_catalogue(&c.e, x);
		for (int m = 0; m < M_COUNT; m++)
			mt[r][m].catalogue = n_catalogue;
		for (int l = 0; l < lists.n; l++)
		{
			lmt[r * lists.n + l].catalogue = n_catalogue;
			lmt[r * lists.n + l].covered = palloc0(ds->n_items);
			ext_list_read(&c.e, &lists.l[l], n);
		}
		if (method_wanted(&c.opts, M_COLDSTART))
			model = train_model(&c.e, t, used.data);
		if (live != NULL)
			live_reveal(&c.e, live_table, &reveal_plan, r > 0 ? revealed[r - 1] : 0, n);

		for (int i = 0; i < c.e.n_eval; i++)
		{
			int			u = c.e.eval_users[i];

			if (!evaluated_at(&c.e, u, n))
				continue;
			if (model != NULL)
			{
				score_coldstart(&c.e, model, u, n);
				add_metrics(&c.e, &mt[r][M_COLDSTART], model->scores, u, n);
			}
			if (live != NULL)
			{
				CsHistItem *hist;
				int			n_hist = cs_read_history(live, c.e.ds->hist.user_ids[u],
													 live->m.history_length, &hist);
				int32	   *rows;
				float	   *w;
				int			n_attr = cs_user_attributes(live, c.e.ds->hist.user_ids[u], &rows, &w);
				float	   *vec = palloc(sizeof(float) * live->m.dim);

				cs_user_vector(live, hist, n_hist, rows, w, n_attr, vec, NULL);
				cs_score_all(live, vec, NULL, 0);
				/* the live catalogue can lack items only test users touched */
				for (int x = 0; x < ds->n_items; x++)
				{
					int			k = cs_served_find(live, ds->item_ids[x]);

					scores[x] = k >= 0 ? live->scores[k] : -INFINITY;
				}
				add_metrics(&c.e, &mt[r][M_LIVE], scores, u, n);
			}
			if (method_wanted(&c.opts, M_POPULARITY))
			{
				score_popularity(&c.e, &b, scores);
				add_metrics(&c.e, &mt[r][M_POPULARITY], scores, u, n);
			}
			if (method_wanted(&c.opts, M_KNN))
			{
				score_knn(&c.e, &b, u, n, scores);
				add_metrics(&c.e, &mt[r][M_KNN], scores, u, n);
			}
			if (method_wanted(&c.opts, M_CONTENT))
			{
				score_content(&c.e, &b, u, n, scores);
				add_metrics(&c.e, &mt[r][M_CONTENT], scores, u, n);
			}
			for (int l = 0; l < lists.n; l++)
			{
				score_ext_list(&c.e, &lists.l[l], u, scores);
				add_metrics(&c.e, &lmt[r * lists.n + l], scores, u, n);
			}
			CHECK_FOR_INTERRUPTS();
		}
		if (model != NULL)
			cs_served_free(model);
		if (reveal_plan != NULL)
			SPI_freeplan(reveal_plan);
		for (int m = 0; m < M_COUNT + lists.n; m++)
		{
			Metrics    *x = m < M_COUNT ? &mt[r][m] : &lmt[r * lists.n + m - M_COUNT];

			if (x->covered == NULL)
				continue;
			for (int i = 0; i < ds->n_items; i++)
				x->n_covered += x->covered[i];
			x->covered = NULL;
		}
		for (int l = 0; l < lists.n; l++)
			ext_list_report(&c.e, &lists.l[l], n);
		SPI_finish();
	}

	if (live != NULL)
	{
		Oid			types[1] = {TEXTOID};
		Datum		args[1];

		cs_served_forget(live_name);
		args[0] = CStringGetTextDatum(live_name);
		SPI_execute_with_args("DELETE FROM coldstart.models WHERE name = $1", 1, types, args,
							  NULL, false, 0);
		SPI_execute(psprintf("DROP TABLE %s", live_table), false, 0);
	}

	MemoryContextSwitchTo(c.callercxt);
	for (int m = 0; m < M_COUNT + lists.n; m++)
	{
		if (m < M_COUNT && !method_wanted(&c.opts, m))
			continue;
		for (int r = 0; r < n_rev; r++)
		{
			Metrics    *x = m < M_COUNT ? &mt[r][m] : &lmt[r * lists.n + m - M_COUNT];
			Datum		values[7];
			bool		nulls[7] = {false, false, false, false, false, false, false};

			values[0] = CStringGetTextDatum(m < M_COUNT ? method_names[m] : lists.l[m - M_COUNT].method);
			values[1] = Int32GetDatum(revealed[r]);
			values[2] = Int32GetDatum(x->users);
			values[3] = Float8GetDatum(x->users ? x->p10 / x->users : 0);
			values[4] = Float8GetDatum(x->users ? x->r20 / x->users : 0);
			values[5] = Float8GetDatum(x->users ? x->ndcg10 / x->users : 0);
			values[6] = Float8GetDatum((double) x->n_covered / Max(x->catalogue, 1));
			if (x->users == 0)
				nulls[3] = nulls[4] = nulls[5] = nulls[6] = true;
			tuplestore_putvalues(c.rsinfo->setResult, c.rsinfo->setDesc, values, nulls);
		}
	}
	eval_end(&c);
	return (Datum) 0;
}

/*
 * evaluation_split(behaviours, items, users, options): the users that
 * evaluate() with the same arguments ranks for, each with its distinct items
 * in CS-1 order (first behaviour, then item id): at revealed count n the
 * first n are revealed and the rest are targets.  With "split": "validation"
 * the test users, whose behaviours that run leaves out entirely, come too,
 * as role 'left_out'.  Every other user is a training user.  So a system
 * outside the database can make lists for the same split, for evaluate()'s
 * option "lists" to score.
 */
PG_FUNCTION_INFO_V1(coldstart_evaluation_split);
Datum
coldstart_evaluation_split(PG_FUNCTION_ARGS)
{
	EvalCall	c;

	eval_start(fcinfo, &c, NULL);

	MemoryContextSwitchTo(c.callercxt);
	for (int u = 0; u < c.e.ds->hist.n_users; u++)
	{
		Datum		values[4];
		bool		nulls[4] = {false, false, false, false};

		if (c.e.role[u] == ROLE_TRAIN)
			continue;
		values[0] = Int64GetDatum(c.e.ds->hist.user_ids[u]);
		values[1] = CStringGetTextDatum(c.e.role[u] == ROLE_EVAL ? "evaluated" : "left_out");
		for (int j = 0; j < distinct_count(&c.e, u); j++)
		{
			values[2] = Int32GetDatum(j + 1);
			values[3] = Int64GetDatum(c.e.ds->item_ids[c.e.ditems[c.e.dstart[u] + j]]);
			tuplestore_putvalues(c.rsinfo->setResult, c.rsinfo->setDesc, values, nulls);
		}
		CHECK_FOR_INTERRUPTS();
	}
	eval_end(&c);
	return (Datum) 0;
}
