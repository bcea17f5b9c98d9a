/*
 * recommend.c
 *	  SQL entry points of serving: recommend(), recommend_for_items(),
 *	  similar_items() and refresh_items().
 *
 * All of them return (item_id, score, probability, rank) in materialize
 * mode: score is the model's logit s(x, i), probability its softmax over the
 * whole catalogue, rank 1..k (ties go to the item listed first: the model's
 * own items by id, then those added after training).
 */
#include "postgres.h"

#include <math.h>

#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/snapmgr.h"

#include "catalog.h"
#include "coldstart.h"
#include "score.h"
#include "topk.h"

static int
check_k(FunctionCallInfo fcinfo, int argno)
{
	int			k;

	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("k must not be NULL")));
	k = PG_GETARG_INT32(argno);
	if (k < 1 || k > CS_MAX_K)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("k must be between 1 and %d, not %d", CS_MAX_K, k)));
	return k;
}

static const char *
model_arg(FunctionCallInfo fcinfo, int argno)
{
	return cs_model_name_or_default(PG_ARGISNULL(argno) ? NULL : PG_GETARG_TEXT_PP(argno));
}

/*
 * What the caller allows and forbids beyond the seen items: the candidates'
 * ids (NULL: every item) and, once a model is at hand, their positions in
 * s->scores, sorted and distinct; and the ids of the items to leave out.
 */
typedef struct ItemFilter
{
	int64	   *candidates;
	int			n_candidates;
	int32	   *allowed;
	int			n_allowed;
	int64	   *forbidden;
	int			n_forbidden;
} ItemFilter;

/*
 * A bigint[] argument as ids, NULL elements skipped; NULL when the argument
 * is NULL or absent (a C function declared with fewer arguments).
 */
static int64 *
id_array_arg(FunctionCallInfo fcinfo, int argno, const char *what, int *n)
{
	ArrayType  *a;

	*n = 0;
	if (PG_NARGS() <= argno || PG_ARGISNULL(argno))
		return NULL;
	a = PG_GETARG_ARRAYTYPE_P(argno);
	if (ARR_NDIM(a) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("%s must be a one-dimensional array", what)));
	return cs_array_ids(a, n);
}

/* The filter of arguments candidates and exclude (argument numbers). */
static void
filter_args(FunctionCallInfo fcinfo, int cand_arg, int excl_arg, ItemFilter *f)
{
	f->candidates = id_array_arg(fcinfo, cand_arg, "candidates", &f->n_candidates);
	f->allowed = NULL;
	f->n_allowed = 0;
	f->forbidden = id_array_arg(fcinfo, excl_arg, "exclude", &f->n_forbidden);
}

/* Candidates as positions in the scores of s: unknown items drop out. */
static void
filter_resolve(CsServed *s, ItemFilter *f)
{
	int32	   *pos;
	int			n = 0;

	if (f->candidates == NULL)
		return;
	pos = palloc(sizeof(int32) * Max(f->n_candidates, 1));
	for (int j = 0; j < f->n_candidates; j++)
	{
		int			i = cs_served_find(s, f->candidates[j]);

		if (i >= 0)
			pos[n++] = i;
	}
	f->n_allowed = cs_sort_unique_int32(pos, n);
	f->allowed = pos;
}

/*
 * Score for u, pick the top k (among the candidates, if any) and return them
 * as the function's rows.
 */
static void
emit_top(FunctionCallInfo fcinfo, CsServed *s, const float *u, const int64 *exclude,
		 int n_exclude, const ItemFilter *f, int k)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	CsLogSumExp lse = cs_score_all(s, u, exclude, n_exclude);
	int32	   *idx = palloc(sizeof(int32) * k);
	float	   *val = palloc(sizeof(float) * k);
	int			found;

	if (f->candidates == NULL)
		found = cs_topk(s->scores, s->n_total, k, idx, val);
	else
	{
		/* the candidates' scores in item order: ties still go to the lower item */
		float	   *sub = palloc(sizeof(float) * Max(f->n_allowed, 1));

		for (int j = 0; j < f->n_allowed; j++)
			sub[j] = s->scores[f->allowed[j]];
		found = cs_topk(sub, f->n_allowed, k, idx, val);
		for (int r = 0; r < found; r++)
			idx[r] = f->allowed[idx[r]];
	}

	for (int r = 0; r < found; r++)
	{
		Datum		values[4];
		bool		nulls[4] = {false, false, false, false};
		int			i = idx[r];

		values[0] = Int64GetDatum(i < s->m.n_items ? s->m.item_ids[i] :
								  s->extra_ids[i - s->m.n_items]);
		values[1] = Float8GetDatum((double) val[r]);
		/* the difference first: a huge maximum would swallow the log of the sum */
		values[2] = Float8GetDatum(exp(((double) val[r] - lse.max) - lse.log_sum));
		values[3] = Int32GetDatum(r + 1);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
}

/*
 * The user of a history (its first n_vector behaviours) and attribute rows,
 * scored and emitted, leaving out the items of the first n_seen behaviours
 * and those the filter forbids.
 */
static void
recommend_history(FunctionCallInfo fcinfo, CsServed *s, const CsHistItem *hist, int n_vector,
				  int n_seen, const int32 *rows, const float *w, int n_attr,
				  ItemFilter *f, int k)
{
	float	   *u = palloc(sizeof(float) * s->m.dim);
	int64	   *exclude = palloc(sizeof(int64) * Max(n_seen + f->n_forbidden, 1));

	cs_user_vector(s, hist, n_vector, rows, w, n_attr, u, NULL);
	for (int j = 0; j < n_seen; j++)
		exclude[j] = hist[j].item_id;
	if (f->n_forbidden > 0)
		memcpy(exclude + n_seen, f->forbidden, sizeof(int64) * f->n_forbidden);
	filter_resolve(s, f);
	emit_top(fcinfo, s, u, exclude, n_seen + f->n_forbidden, f, k);
}

PG_FUNCTION_INFO_V1(coldstart_recommend);
Datum
coldstart_recommend(PG_FUNCTION_ARGS)
{
	int64		user_id;
	int			k;
	const char *name;
	bool		exclude_seen;
	CsServed   *s;
	CsHistItem *hist;
	int			n_hist;
	int32	   *rows;
	float	   *w;
	int			n_attr;
	ItemFilter	filter;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("user_id must not be NULL"),
				 errhint("For a visitor without a user id, call coldstart.recommend_for_items().")));
	user_id = PG_GETARG_INT64(0);
	k = check_k(fcinfo, 1);
	name = model_arg(fcinfo, 2);
	if (PG_ARGISNULL(3))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("exclude_seen must not be NULL")));
	exclude_seen = PG_GETARG_BOOL(3);
	filter_args(fcinfo, 4, 5, &filter);

	InitMaterializedSRF(fcinfo, 0);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	s = cs_served_get(name);
	/* one read: the newest behaviours make the vector, all of them the "seen" items */
	n_hist = cs_read_history(s, user_id,
							 exclude_seen ? Max(cs_served_history_length(s), cs_seen_limit) : cs_served_history_length(s),
							 &hist);
	n_attr = cs_user_attributes(s, user_id, &rows, &w);
	recommend_history(fcinfo, s, hist, Min(n_hist, cs_served_history_length(s)), exclude_seen ? n_hist : 0,
					  rows, w, n_attr, &filter, k);
	SPI_finish();
	return (Datum) 0;
}

PG_FUNCTION_INFO_V1(coldstart_recommend_for_items);
Datum
coldstart_recommend_for_items(PG_FUNCTION_ARGS)
{
	CsHistItem *hist;
	int			n_hist;
	int			k;
	const char *name;
	CsServed   *s;
	int32	   *rows;
	float	   *w;
	int			n_attr;
	ItemFilter	filter;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("items must not be NULL"),
				 errhint("Pass '{}' for a visitor who has done nothing yet.")));
	n_hist = cs_session_history(PG_GETARG_ARRAYTYPE_P(0),
							 PG_ARGISNULL(1) ? NULL : PG_GETARG_ARRAYTYPE_P(1), &hist);
	k = check_k(fcinfo, 2);
	name = model_arg(fcinfo, 3);
	filter_args(fcinfo, 5, 6, &filter);

	InitMaterializedSRF(fcinfo, 0);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	s = cs_served_get(name);
	n_attr = cs_jsonb_attributes(s, PG_ARGISNULL(4) ? NULL : PG_GETARG_JSONB_P(4), &rows, &w);
	recommend_history(fcinfo, s, hist, n_hist, n_hist, rows, w, n_attr, &filter, k);
	SPI_finish();
	return (Datum) 0;
}

PG_FUNCTION_INFO_V1(coldstart_similar_items);
Datum
coldstart_similar_items(PG_FUNCTION_ARGS)
{
	int64		item_id;
	int			k;
	const char *name;
	CsServed   *s;
	CsHistItem	h;
	float	   *u;
	float		b;
	ItemFilter	filter;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("item_id must not be NULL")));
	item_id = PG_GETARG_INT64(0);
	k = check_k(fcinfo, 1);
	name = model_arg(fcinfo, 2);
	filter_args(fcinfo, 3, 4, &filter);

	InitMaterializedSRF(fcinfo, 0);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	s = cs_served_get(name);
	u = palloc(sizeof(float) * s->m.dim);
	if (!cs_item_vector(s, item_id, u, &b))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("item " INT64_FORMAT " is unknown to model \"%s\"", item_id, name),
				 errdetail("It was not in the training data and has no row in %s.",
						   s->items ? s->items : "an items table")));
	/* what a shopper whose only behaviour is a view of this item goes on to like */
	h.item_id = item_id;
	h.label = NULL;
	h.ts = NAN;
	recommend_history(fcinfo, s, &h, 1, 1, NULL, NULL, 0, &filter, k);
	SPI_finish();
	return (Datum) 0;
}

PG_FUNCTION_INFO_V1(coldstart_refresh_items);
Datum
coldstart_refresh_items(PG_FUNCTION_ARGS)
{
	const char *name = model_arg(fcinfo, 0);
	int			n;

	if (RecoveryInProgress())
		ereport(ERROR,
				(errcode(ERRCODE_READ_ONLY_SQL_TRANSACTION),
				 errmsg("cannot refresh the items of model \"%s\" on a hot standby", name),
				 errhint("Refresh them on the primary: the standby serves them once it has replayed the change.")));
	if (XactReadOnly)
		ereport(ERROR,
				(errcode(ERRCODE_READ_ONLY_SQL_TRANSACTION),
				 errmsg("cannot refresh the items of model \"%s\" in a read-only transaction", name),
				 errhint("It writes coldstart.item_extras: call refresh_items() in a read-write transaction.")));
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");

	/*
	 * The change lock first (the lock order), then a snapshot taken after
	 * the wait: under READ COMMITTED the version refreshed is the one active
	 * once an activate() waited for has committed, not the one before.
	 */
	cs_catalog_lock_change(name);
	PushActiveSnapshot(GetTransactionSnapshot());
	n = cs_refresh_items(name);
	PopActiveSnapshot();
	SPI_finish();
	PG_RETURN_INT32(n);
}
