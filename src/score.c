/*
 * score.c
 *	  Serving: the per-backend model cache, a user's live state, scoring.
 *
 * A model is detoasted and validated once per backend and version, and kept
 * in its own memory context.  Every call first asks coldstart.models, in the
 * caller's snapshot, which version is active: the cache is keyed by that
 * version and its training time, so it never serves a version that is no
 * longer active, and it picks up a newly committed one on the next call.
 *
 * The statements that read the user's behaviours, attributes and unknown
 * items are prepared once per served version.  They run with the caller's
 * privileges, so row-level security on the user's tables applies.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/numeric.h"
#include "utils/regproc.h"
#include "utils/snapmgr.h"

#include "actions.h"
#include "blas.h"
#include "catalog.h"
#include "coldstart.h"
#include "dataset.h"
#include "featurize.h"
#include "model.h"
#include "net.h"
#include "score.h"
#include "vec.h"

static List *served_models = NIL;	/* of CsServed *, in TopMemoryContext */

static char *
spec_string(Jsonb *spec, const char *key)
{
	JsonbValue *v = getKeyJsonValueFromContainer(&spec->root, key, strlen(key), NULL);

	if (v == NULL || v->type != jbvString)
		return NULL;
	return pnstrdup(v->val.string.val, v->val.string.len);
}

void
cs_served_free(CsServed *s)
{
	if (s->plan_history)
		SPI_freeplan(s->plan_history);
	if (s->plan_user)
		SPI_freeplan(s->plan_user);
	if (s->plan_items)
		SPI_freeplan(s->plan_items);
	MemoryContextDelete(s->cxt);
}

/* The content-match index over the model's items and the extras. */
static void
build_match_index(CsServed *s)
{
	const CsModel *m = &s->m;
	MemoryContext old;
	int64		nm = m->n_item_rows;
	int64		ne = s->n_extra > 0 ? s->extra_row_start[s->n_extra] : 0;
	int64	   *start;
	int32	   *rows;
	float	   *w;
	int32	   *first = palloc(sizeof(int32) * Max(m->n_item_columns, 1));
	int32	   *count = palloc(sizeof(int32) * Max(m->n_item_columns, 1));

	if (s->match_cxt == NULL)
		s->match_cxt = AllocSetContextCreate(s->cxt, "coldstart match index",
											 ALLOCSET_DEFAULT_SIZES);
	else
		MemoryContextReset(s->match_cxt);
	old = MemoryContextSwitchTo(s->match_cxt);
	start = palloc_extended(sizeof(int64) * ((Size) s->n_total + 1), MCXT_ALLOC_HUGE);
	rows = palloc_extended(sizeof(int32) * Max(nm + ne, 1), MCXT_ALLOC_HUGE);
	w = palloc_extended(sizeof(float) * Max(nm + ne, 1), MCXT_ALLOC_HUGE);
	memcpy(start, m->item_row_start, sizeof(int64) * ((Size) m->n_items + 1));
	for (int e = 0; e < s->n_extra; e++)
		start[m->n_items + e + 1] = nm + s->extra_row_start[e + 1];
	if (nm > 0)
	{
		memcpy(rows, m->item_rows, sizeof(int32) * nm);
		memcpy(w, m->item_row_weights, sizeof(float) * nm);
	}
	if (ne > 0)
	{
		memcpy(rows + nm, s->extra_rows, sizeof(int32) * ne);
		memcpy(w + nm, s->extra_row_weights, sizeof(float) * ne);
	}
	for (int c = 0; c < m->n_item_columns; c++)
	{
		first[c] = m->item_columns[c].first;
		count[c] = m->item_columns[c].count;
	}
	cs_match_index_build(&s->mi, m->n_item_values, m->n_item_columns, first, count,
						 s->n_total, start, rows, w);
	cs_match_index_dense(&s->mi, s->n_total, m->n_item_columns, first, count, start, rows, w);
	pfree(start);
	pfree(rows);
	pfree(w);
	cs_profile_init(&s->prof, m->n_item_values);
	MemoryContextSwitchTo(old);
}

int64 *
cs_array_ids(ArrayType *a, int *n)
{
	Datum	   *e;
	bool	   *isnull;
	int			ne;
	int64	   *ids;

	deconstruct_array(a, INT8OID, 8, true, TYPALIGN_DOUBLE, &e, &isnull, &ne);
	ids = palloc(sizeof(int64) * Max(ne, 1));
	*n = 0;
	for (int j = 0; j < ne; j++)
		if (!isnull[j])
			ids[(*n)++] = DatumGetInt64(e[j]);
	return ids;
}

/* The model's items that refresh_items() found gone from the items table. */
static void
load_removed(CsServed *s)
{
	Oid			types[2] = {TEXTOID, INT4OID};
	Datum		args[2];
	bool		isnull;
	Datum		d;

	if (s->removed)
		pfree(s->removed);
	s->removed = NULL;
	s->n_removed = 0;
	args[0] = CStringGetTextDatum(s->name);
	args[1] = Int32GetDatum(s->version);
	if (SPI_execute_with_args("SELECT items_removed FROM coldstart.models WHERE name = $1 AND version = $2",
							  2, types, args, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read coldstart.models");
	if (SPI_processed == 0)
		return;
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	if (!isnull)
	{
		int			n;
		int64	   *ids = cs_array_ids(DatumGetArrayTypeP(d), &n);

		s->removed = MemoryContextAlloc(s->cxt, sizeof(int32) * Max(n, 1));
		for (int j = 0; j < n; j++)
		{
			int			i = cs_model_find_item(&s->m, ids[j]);

			if (i >= 0)
				s->removed[s->n_removed++] = i;
		}
		/* distinct, so that n_removed == n_total means nothing is left */
		s->n_removed = cs_sort_unique_int32(s->removed, s->n_removed);
	}
}

/* Vectors of items added after training (refresh_items()). */
static void
load_extras(CsServed *s)
{
	Oid			types[2] = {TEXTOID, INT4OID};
	Datum		args[2];
	int			d = s->m.dim;
	MemoryContext old,
				newcxt,
				rowcxt;
	int			n_invalid = 0;
	int64		first_invalid = 0;
	int			n_extra = 0;
	int64	   *ids,
			   *row_start;
	float	   *vectors,
			   *biases,
			   *all_weights,
			   *scores;
	int32	   *all_rows;

	args[0] = CStringGetTextDatum(s->name);
	args[1] = Int32GetDatum(s->version);
	if (SPI_execute_with_args("SELECT item_id, vector, bias, feature_rows, feature_weights "
							  "FROM coldstart.item_extras "
							  "WHERE name = $1 AND version = $2 ORDER BY item_id",
							  2, types, args, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read coldstart.item_extras");

	/*
	 * The new arrays go into a context of their own, swapped in once they are
	 * complete: an error on the way leaves the served ones as they were, and
	 * a reload frees what the previous one allocated.  The arrays of each row
	 * are detoasted in a scratch context, reset row by row.
	 */
	newcxt = AllocSetContextCreate(s->cxt, "coldstart served extras", ALLOCSET_DEFAULT_SIZES);
	rowcxt = AllocSetContextCreate(CurrentMemoryContext, "coldstart extras row", ALLOCSET_SMALL_SIZES);
	old = MemoryContextSwitchTo(rowcxt);
	{
		int64		nrows = 0;

		for (uint64 r = 0; r < SPI_processed; r++)
		{
			bool		isnull;
			Datum		a = SPI_getbinval(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 4, &isnull);

			if (!isnull)
			{
				ArrayType  *fr = DatumGetArrayTypeP(a);

				nrows += ArrayGetNItems(ARR_NDIM(fr), ARR_DIMS(fr));
			}
			MemoryContextReset(rowcxt);
		}
		row_start = MemoryContextAllocHuge(newcxt, sizeof(int64) * (SPI_processed + 1));
		all_rows = MemoryContextAllocHuge(newcxt, sizeof(int32) * Max(nrows, 1));
		all_weights = MemoryContextAllocHuge(newcxt, sizeof(float) * Max(nrows, 1));
	}
	row_start[0] = 0;
	ids = MemoryContextAllocHuge(newcxt, sizeof(int64) * Max(SPI_processed, 1));
	vectors = MemoryContextAllocHuge(newcxt, sizeof(float) * (Size) Max(SPI_processed, 1) * d);
	biases = MemoryContextAllocHuge(newcxt, sizeof(float) * Max(SPI_processed, 1));
	for (uint64 r = 0; r < SPI_processed; r++)
	{
		HeapTuple	tup = SPI_tuptable->vals[r];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		int64		id = DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull));
		ArrayType  *a = DatumGetArrayTypeP(SPI_getbinval(tup, desc, 2, &isnull));
		float		b = DatumGetFloat4(SPI_getbinval(tup, desc, 3, &isnull));
		const float *x = (const float *) ARR_DATA_PTR(a);
		ArrayType  *fr = DatumGetArrayTypeP(SPI_getbinval(tup, desc, 4, &isnull));
		ArrayType  *fw = DatumGetArrayTypeP(SPI_getbinval(tup, desc, 5, &isnull));
		int			nr = ArrayGetNItems(ARR_NDIM(fr), ARR_DIMS(fr));
		const int32 *rows = (const int32 *) ARR_DATA_PTR(fr);
		const float *rw = (const float *) ARR_DATA_PTR(fw);
		int64		at = row_start[n_extra];
		/* what refresh_items() writes: vector and bias within training's bound */
		bool		ok = ARR_NDIM(a) == 1 && !ARR_HASNULL(a) &&
			ArrayGetNItems(1, ARR_DIMS(a)) == d &&
			cs_first_unbounded(&b, 1) < 0 && cs_first_unbounded(x, d) < 0 &&
			ARR_NDIM(fr) <= 1 && !ARR_HASNULL(fr) && ARR_NDIM(fw) <= 1 && !ARR_HASNULL(fw) &&
			ArrayGetNItems(ARR_NDIM(fw), ARR_DIMS(fw)) == nr;

		for (int j = 0; ok && j < nr; j++)
			ok = rows[j] >= 0 && rows[j] < s->m.n_item_values && isfinite(rw[j]) && rw[j] > 0;
		if (!ok || cs_model_find_item(&s->m, id) >= 0)
		{
			if (n_invalid++ == 0)
				first_invalid = id;
		}
		else
		{
			ids[n_extra] = id;
			memcpy(vectors + (Size) n_extra * d, x, sizeof(float) * d);
			biases[n_extra] = b;
			memcpy(all_rows + at, rows, sizeof(int32) * nr);
			memcpy(all_weights + at, rw, sizeof(float) * nr);
			row_start[n_extra + 1] = at + nr;
			n_extra++;
		}
		MemoryContextReset(rowcxt);
	}
	scores = MemoryContextAllocHuge(newcxt, sizeof(float) * (s->m.n_items + n_extra));
	MemoryContextSwitchTo(old);
	MemoryContextDelete(rowcxt);

	/* complete: swap them in (the first scores array was the model's own) */
	if (s->extras_cxt != NULL)
		MemoryContextDelete(s->extras_cxt);
	else
		pfree(s->scores);
	s->extras_cxt = newcxt;
	s->n_extra = n_extra;
	s->extra_ids = ids;
	s->extra_vectors = vectors;
	s->extra_bias = biases;
	s->extra_row_start = row_start;
	s->extra_rows = all_rows;
	s->extra_row_weights = all_weights;
	s->n_total = s->m.n_items + n_extra;
	s->scores = scores;
	if (n_invalid > 0)
		ereport(WARNING,
				(errmsg_plural("ignoring %d invalid row of coldstart.item_extras for model \"%s\" (item " INT64_FORMAT ")",
							   "ignoring %d invalid rows of coldstart.item_extras for model \"%s\" (the first: item " INT64_FORMAT ")",
							   n_invalid, n_invalid, s->name, first_invalid),
				 errhint("Run coldstart.refresh_items('%s') again.", s->name)));
	build_match_index(s);
	load_removed(s);
}

CsServed *
cs_served_create(const char *name, struct varlena *value, Jsonb *spec, MemoryContext parent)
{
	MemoryContext cxt = AllocSetContextCreate(parent, "coldstart served model",
											  ALLOCSET_DEFAULT_SIZES);
	MemoryContext old = MemoryContextSwitchTo(cxt);
	CsServed   *s;

	PG_TRY();
	{
		Size		len = VARSIZE(value);
		Jsonb	   *options = NULL;
		JsonbValue *ov;

		s = palloc0(sizeof(CsServed));
		s->cxt = cxt;
		s->name = pstrdup(name);
		s->value = palloc_extended(len, MCXT_ALLOC_HUGE);
		memcpy(s->value, value, len);
		cs_model_open_varlena(s->value, &s->m);
		if (spec != NULL)
		{
			s->behaviours = spec_string(spec, "behaviours");
			s->items = spec_string(spec, "items");
			s->users = spec_string(spec, "users");
			ov = getKeyJsonValueFromContainer(&spec->root, "options", 7, NULL);
			if (ov != NULL && ov->type == jbvBinary)
				options = JsonbValueToJsonb(ov);
		}
		cs_options_parse(&s->opts, options, CS_OPTIONS_TRAIN);
		s->n_total = s->m.n_items;
		s->scores = palloc_extended(sizeof(float) * s->n_total, MCXT_ALLOC_HUGE);
		build_match_index(s);
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(old);
		MemoryContextDelete(cxt);
		PG_RE_THROW();
	}
	PG_END_TRY();
	MemoryContextSwitchTo(old);
	return s;
}

static CsServed *
served_load(const char *name, const CsActiveModel *a)
{
	Datum		value = cs_catalog_model(name, a->version);
	CsServed   *s = cs_served_create(name, (struct varlena *) DatumGetPointer(value), a->spec,
									 TopMemoryContext);

	pfree(DatumGetPointer(value));
	s->version = a->version;
	s->trained_at = a->trained_at;
	s->content_id = a->content_id;
	s->refreshed_at = a->refreshed_at;
	PG_TRY();
	{
		load_extras(s);
	}
	PG_CATCH();
	{
		cs_served_free(s);
		PG_RE_THROW();
	}
	PG_END_TRY();
	return s;
}

void
cs_served_forget(const char *name)
{
	ListCell   *lc;

	foreach(lc, served_models)
	{
		CsServed   *c = lfirst(lc);

		if (strcmp(c->name, name) == 0)
		{
			served_models = list_delete_ptr(served_models, c);
			cs_served_free(c);
			return;
		}
	}
}

CsServed *
cs_served_get(const char *name)
{
	CsActiveModel a;
	ListCell   *lc;
	CsServed   *s = NULL;
	MemoryContext old;

	cs_blas_prepare();
	if (!cs_catalog_active(name, &a))
	{
		cs_catalog_check_name(name);
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("model \"%s\" has no active version", name),
				 errhint("Activate one with coldstart.activate('%s', version).", name)));
	}
	foreach(lc, served_models)
	{
		CsServed   *c = lfirst(lc);

		if (strcmp(c->name, name) == 0)
		{
			s = c;
			break;
		}
	}
	if (s != NULL && (s->version != a.version || s->trained_at != a.trained_at ||
					  s->content_id != a.content_id))
	{
		served_models = list_delete_ptr(served_models, s);
		cs_served_free(s);
		s = NULL;
	}
	if (s == NULL)
	{
		s = served_load(name, &a);
		old = MemoryContextSwitchTo(TopMemoryContext);
		served_models = lappend(served_models, s);
		MemoryContextSwitchTo(old);
	}
	else if (s->refreshed_at != a.refreshed_at)
	{
		/* an error half-way (say, out of memory) drops the entry: the next call loads it anew */
		PG_TRY();
		{
			load_extras(s);
		}
		PG_CATCH();
		{
			served_models = list_delete_ptr(served_models, s);
			cs_served_free(s);
			PG_RE_THROW();
		}
		PG_END_TRY();
		s->refreshed_at = a.refreshed_at;
	}
	return s;
}

int
cs_served_find(const CsServed *s, int64 item_id)
{
	int			i = cs_model_find_item(&s->m, item_id);

	if (i < 0 && s->n_extra > 0)
	{
		i = (int) cs_find_id(s->extra_ids, s->n_extra, item_id);
		if (i >= 0)
			i += s->m.n_items;
	}
	return i;
}

int
cs_served_item_rows(const CsServed *s, int i, const int32 **rows, const float **weights)
{
	const CsModel *m = &s->m;
	int64		a,
				z;

	if (i < m->n_items)
	{
		a = m->item_row_start[i];
		z = m->item_row_start[i + 1];
		*rows = m->item_rows + a;
		*weights = m->item_row_weights + a;
	}
	else
	{
		int			e = i - m->n_items;

		a = s->extra_row_start[e];
		z = s->extra_row_start[e + 1];
		*rows = s->extra_rows + a;
		*weights = s->extra_row_weights + a;
	}
	return (int) (z - a);
}

/* ---------- live state ---------- */

static SPIPlanPtr
keep_plan(const char *sql, int nargs, Oid *types)
{
	SPIPlanPtr	p = SPI_prepare(sql, nargs, types);

	if (p == NULL)
		elog(ERROR, "SPI_prepare(\"%s\") failed: %s", sql, SPI_result_code_string(SPI_result));
	SPI_keepplan(p);
	return p;
}

/* Check that a relation of the spec still exists (clear error otherwise). */
static Oid
check_relation(CsServed *s, const char *relname)
{
	List	   *names = stringToQualifiedNameList(relname);
	Oid			relid = RangeVarGetRelid(makeRangeVarFromNameList(names), NoLock, true);

	if (!OidIsValid(relid))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation %s used by model \"%s\" does not exist", relname, s->name),
				 errhint("Recreate it, or train the model again with coldstart.train() naming its current relations.")));
	return relid;
}

/*
 * While a live read runs, errors say which model read what: a relation whose
 * columns changed after training fails in the statement coldstart prepared.
 */
typedef struct LiveRead
{
	ErrorContextCallback cb;
	const CsServed *s;
	const char *what;
	const char *rel;
} LiveRead;

static void
live_read_context(void *arg)
{
	LiveRead   *r = arg;

	errcontext("reading the %s of model \"%s\" from %s, with the columns it was trained on",
			   r->what, r->s->name, r->rel);
}

static void
live_read_begin(LiveRead *r, const CsServed *s, const char *what, const char *rel)
{
	r->s = s;
	r->what = what;
	r->rel = rel;
	r->cb.callback = live_read_context;
	r->cb.arg = r;
	r->cb.previous = error_context_stack;
	error_context_stack = &r->cb;
}

static void
live_read_end(LiveRead *r)
{
	error_context_stack = r->cb.previous;
}

int
cs_read_history(CsServed *s, int64 user_id, int limit, CsHistItem **out)
{
	Datum		args[2];
	int			n = 0;
	CsHistItem *h;
	Oid			relid,
				coltypes[4];
	LiveRead	lr;

	if (s->behaviours == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("model \"%s\" has no \"behaviours\" relation in its spec", s->name),
				 errhint("Train the model again with coldstart.train().")));
	relid = check_relation(s, s->behaviours);
	live_read_begin(&lr, s, "behaviours", s->behaviours);
	cs_check_behaviour_columns(relid, s->behaviours, &s->opts, true, &coltypes[0], &coltypes[1],
							   &coltypes[2], &coltypes[3]);
	if (s->plan_history == NULL)
	{
		Oid			types[2] = {INT8OID, INT4OID};
		const char *item = quote_identifier(s->opts.col_item);
		const char *action = quote_identifier(s->opts.col_action);
		const char *ts = quote_identifier(s->opts.col_ts);

		/*
		 * NULLs are left out here, where the index on (user, ts) finds them
		 * first; infinite times, which only the C code can tell apart for
		 * every time type, below.  The action breaks ties of the same item
		 * at the same time, so that any limit reads the same newest rows.
		 */
		char	   *sql = psprintf("SELECT %s, %s, %s FROM %s WHERE %s = $1 "
								   "AND %s IS NOT NULL AND %s IS NOT NULL AND %s IS NOT NULL "
								   "ORDER BY %s DESC, %s DESC, %s DESC LIMIT $2",
								   item, action, ts, s->behaviours,
								   quote_identifier(s->opts.col_user),
								   item, action, ts, ts, item, action);

		s->plan_history = keep_plan(sql, 2, types);
	}
	args[0] = Int64GetDatum(user_id);

	/*
	 * The rows training skips (a NULL item, action or time, an infinite time)
	 * are skipped here too, and do not count: should the newest rows hold
	 * some, read again with a larger LIMIT, so that the same user gets the
	 * same latest "limit" behaviours whatever limit a caller reads more for.
	 */
	for (int64 lim = limit;; lim = Min(2 * lim, PG_INT32_MAX))
	{
		args[1] = Int32GetDatum((int32) lim);
		if (SPI_execute_plan(s->plan_history, args, NULL, !s->read_own_writes, 0) != SPI_OK_SELECT)
			elog(ERROR, "could not read the behaviours of user " INT64_FORMAT, user_id);
		h = palloc(sizeof(CsHistItem) * Max(SPI_processed, 1));
		n = 0;
		for (uint64 r = 0; r < SPI_processed && n < limit; r++)
		{
			HeapTuple	tup = SPI_tuptable->vals[r];
			TupleDesc	desc = SPI_tuptable->tupdesc;
			bool		ni,
						na,
						nt;
			Datum		item = SPI_getbinval(tup, desc, 1, &ni);
			Datum		ts = SPI_getbinval(tup, desc, 3, &nt);

			(void) SPI_getbinval(tup, desc, 2, &na);
			if (ni || na || nt || !cs_is_id_type(TupleDescAttr(desc, 0)->atttypid) ||
				!cs_datum_to_epoch(ts, TupleDescAttr(desc, 2)->atttypid, &h[n].ts))
				continue;
			h[n].item_id = cs_datum_to_id(item, TupleDescAttr(desc, 0)->atttypid);
			h[n].label = SPI_getvalue(tup, desc, 2);
			n++;
		}
		if (n >= limit || SPI_processed < (uint64) lim || lim >= PG_INT32_MAX)
			break;
		SPI_freetuptable(SPI_tuptable);
		pfree(h);
	}
	live_read_end(&lr);
	*out = h;
	return n;
}

/* A session given as arrays: items (oldest first) and optional actions. */
int
cs_session_history(ArrayType *items, ArrayType *actions, CsHistItem **out)
{
	Datum	   *ie,
			   *ae = NULL;
	bool	   *inull,
			   *anull = NULL;
	int			ni,
				na = 0,
				n = 0;
	CsHistItem *h;

	if (ARR_NDIM(items) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("items must be a one-dimensional array")));
	deconstruct_array(items, INT8OID, 8, true, TYPALIGN_DOUBLE, &ie, &inull, &ni);
	if (ni > CS_MAX_HISTORY)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("items has %d elements, more than %d", ni, CS_MAX_HISTORY)));
	if (actions != NULL)
	{
		if (ARR_NDIM(actions) > 1)
			ereport(ERROR,
					(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
					 errmsg("actions must be a one-dimensional array")));
		deconstruct_array(actions, TEXTOID, -1, false, TYPALIGN_INT, &ae, &anull, &na);
		if (na != ni)
			ereport(ERROR,
					(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
					 errmsg_plural("actions has %d element but items has %d",
								   "actions has %d elements but items has %d", na, na, ni),
					 errhint("Give one action per item, or NULL for views only.")));
	}
	h = palloc(sizeof(CsHistItem) * Max(ni, 1));
	for (int j = 0; j < ni; j++)
	{
		if (inull[j])
			continue;
		h[n].item_id = DatumGetInt64(ie[j]);
		h[n].label = (ae != NULL && !anull[j]) ? TextDatumGetCString(ae[j]) : NULL;
		h[n].ts = NAN;			/* a session has no ages: no decay */
		n++;
	}
	*out = h;
	return n;
}

/*
 * Feature rows of one column value under the model's vocabulary: categorical
 * values (mean of known ones), or a numeric bucket.
 */
static int
column_rows(const CsModel *m, const CsColumn *col, const uint32 *values,
			CsValueReader *r, Datum d, int32 *rows, float *w, int n)
{
	if (col->kind == CS_COL_CATEGORICAL)
	{
		char	  **vals;
		int			nv = cs_read_categorical(r, d, &vals);
		int			first = n;

		for (int i = 0; i < nv; i++)
		{
			int			row = cs_column_find(m, col, values, vals[i]);

			if (row >= 0)
				rows[n++] = row;
		}
		for (int i = first; i < n; i++)
			w[i] = 1.0f / (n - first);
	}
	else if (col->kind == CS_COL_NUMERIC)
	{
		double		x;

		if (cs_read_numeric(r, d, &x))
		{
			rows[n] = cs_column_bucket(m, col, x);
			w[n++] = 1.0f;
		}
	}
	return n;
}

/* Most feature rows one entity can have: room for every categorical value. */
static int
max_rows(const CsColumn *cols, int ncols)
{
	int			n = 0;

	for (int c = 0; c < ncols; c++)
		n += Max(cols[c].count, 1);
	return n;
}

static char *
column_list(const CsModel *m, const CsColumn *cols, int ncols)
{
	StringInfoData s;

	initStringInfo(&s);
	for (int c = 0; c < ncols; c++)
		appendStringInfo(&s, ", %s", quote_identifier(cs_model_string(m, cols[c].name)));
	return s.data;
}

int
cs_user_attributes(CsServed *s, int64 user_id, int32 **rows, float **weights)
{
	const CsModel *m = &s->m;
	Datum		args[1];
	int			n = 0;
	HeapTuple	tup;
	TupleDesc	desc;
	LiveRead	lr;

	*rows = palloc(sizeof(int32) * Max(max_rows(m->user_columns, m->n_user_columns), 1));
	*weights = palloc(sizeof(float) * Max(max_rows(m->user_columns, m->n_user_columns), 1));
	if (s->users == NULL || m->n_user_columns == 0)
		return 0;
	check_relation(s, s->users);
	live_read_begin(&lr, s, "user attributes", s->users);
	if (s->plan_user == NULL)
	{
		Oid			types[1] = {INT8OID};
		const char *key = s->opts.users_key ? s->opts.users_key : s->opts.col_user;
		char	   *sql = psprintf("SELECT 1%s FROM %s WHERE %s = $1 LIMIT 1",
								   column_list(m, m->user_columns, m->n_user_columns),
								   s->users, quote_identifier(key));

		s->plan_user = keep_plan(sql, 1, types);
	}
	args[0] = Int64GetDatum(user_id);
	if (SPI_execute_plan(s->plan_user, args, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read the attributes of user " INT64_FORMAT, user_id);
	if (SPI_processed == 0)
	{
		live_read_end(&lr);
		return 0;
	}
	tup = SPI_tuptable->vals[0];
	desc = SPI_tuptable->tupdesc;
	for (int c = 0; c < m->n_user_columns; c++)
	{
		const CsColumn *col = &m->user_columns[c];
		bool		isnull;
		Datum		d = SPI_getbinval(tup, desc, c + 2, &isnull);
		CsValueReader r;

		if (isnull)
			continue;
		cs_reader_init(&r, TupleDescAttr(desc, c + 1)->atttypid, col->kind, s->users,
					   cs_model_string(m, col->name));
		n = column_rows(m, col, m->user_values, &r, d, *rows, *weights, n);
	}
	live_read_end(&lr);
	return n;
}

/* Text of a jsonb scalar; a boolean also has the "t"/"f" form of bool columns. */
static bool
jsonb_scalar_text(JsonbValue *v, char **txt, const char **alt)
{
	*alt = NULL;
	switch (v->type)
	{
		case jbvString:
			*txt = pnstrdup(v->val.string.val, v->val.string.len);
			return true;
		case jbvNumeric:
			*txt = DatumGetCString(DirectFunctionCall1(numeric_out,
													   NumericGetDatum(v->val.numeric)));
			/* 30.0 is also the 30 of an integer column */
			*alt = numeric_normalize(v->val.numeric);
			return true;
		case jbvBool:
			*txt = v->val.boolean ? "t" : "f";
			*alt = v->val.boolean ? "true" : "false";
			return true;
		default:
			return false;
	}
}

static void
bad_attr(const char *cname)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("user_attrs value of \"%s\" must be a string, number, boolean or an array of them",
					cname)));
}

int
cs_jsonb_attributes(CsServed *s, Jsonb *attrs, int32 **rows, float **weights)
{
	const CsModel *m = &s->m;
	int			n = 0;

	*rows = palloc(sizeof(int32) * Max(max_rows(m->user_columns, m->n_user_columns), 1));
	*weights = palloc(sizeof(float) * Max(max_rows(m->user_columns, m->n_user_columns), 1));
	if (attrs == NULL)
		return 0;
	if (!JB_ROOT_IS_OBJECT(attrs) || JB_ROOT_IS_SCALAR(attrs))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("user_attrs must be a jsonb object of column: value"),
				 errhint("For example '{\"gender\": \"F\", \"age\": 31}'.")));
	for (int c = 0; c < m->n_user_columns; c++)
	{
		const CsColumn *col = &m->user_columns[c];
		const char *cname = cs_model_string(m, col->name);
		JsonbValue *v = getKeyJsonValueFromContainer(&attrs->root, cname, strlen(cname), NULL);
		List	   *vals = NIL;
		char	   *txt;
		const char *alt;

		if (v == NULL || v->type == jbvNull)
			continue;
		if (v->type == jbvBinary && JsonContainerIsArray(v->val.binary.data) &&
			col->kind == CS_COL_CATEGORICAL)
		{
			JsonbIterator *it = JsonbIteratorInit(v->val.binary.data);
			JsonbValue	e;
			JsonbIteratorToken tok;

			while ((tok = JsonbIteratorNext(&it, &e, true)) != WJB_DONE)
			{
				if (tok != WJB_ELEM || e.type == jbvNull)
					continue;
				if (!jsonb_scalar_text(&e, &txt, &alt))
					bad_attr(cname);
				vals = lappend(vals, list_make2(txt, (char *) alt));
			}
		}
		else if (jsonb_scalar_text(v, &txt, &alt))
			vals = list_make1(list_make2(txt, (char *) alt));
		else
			bad_attr(cname);

		if (col->kind == CS_COL_CATEGORICAL)
		{
			ListCell   *lc;
			int			first = n;

			/*
			 * Like a column value: the mean of the distinct known values (a
			 * value given twice counts once, and the buffer holds every value
			 * of every column once at most).
			 */
			foreach(lc, vals)
			{
				List	   *pair = lfirst(lc);
				int			row = cs_column_find(m, col, m->user_values, linitial(pair));
				bool		seen = false;

				if (row < 0 && lsecond(pair) != NULL)
					row = cs_column_find(m, col, m->user_values, lsecond(pair));
				for (int i = first; i < n && !seen; i++)
					seen = (*rows)[i] == row;
				if (row >= 0 && !seen)
					(*rows)[n++] = row;
			}
			for (int i = first; i < n; i++)
				(*weights)[i] = 1.0f / (n - first);
		}
		else if (col->kind == CS_COL_NUMERIC && list_length(vals) == 1)
		{
			char	   *end;
			double		x = strtod(linitial(linitial(vals)), &end);

			if (*end == '\0' && end != (char *) linitial(linitial(vals)) && isfinite(x))
			{
				(*rows)[n] = cs_column_bucket(m, col, x);
				(*weights)[n++] = 1.0f;
			}
		}
		else if (col->kind == CS_COL_NUMERIC)
			bad_attr(cname);
	}
	return n;
}

/* Items the model does not know, as read from the items table. */
typedef struct TableItems
{
	bool	   *found;			/* [n]: had a row */
	float	   *V;				/* [n][dim] */
	float	   *b;
	int64	   *row_start;		/* [n + 1]: their feature rows */
	int32	   *rows;
	float	   *w;
} TableItems;

/*
 * Vectors and feature rows of items the model does not know, from their rows
 * in the items table.
 */
static void
items_from_table(CsServed *s, const int64 *ids, int n, TableItems *out)
{
	const CsModel *m = &s->m;
	Datum		args[1];
	int32	   *rows;
	float	   *w;
	float	   *content;
	int			mr = Max(max_rows(m->item_columns, m->n_item_columns), 1);
	int64	   *nrows;
	LiveRead	lr;
	MemoryContext caller = CurrentMemoryContext;

	out->found = palloc0(sizeof(bool) * Max(n, 1));
	out->V = palloc0(sizeof(float) * (Size) Max(n, 1) * m->dim);
	out->b = palloc0(sizeof(float) * Max(n, 1));
	out->row_start = palloc0(sizeof(int64) * (n + 1));
	out->rows = palloc(sizeof(int32) * (Size) Max(n, 1) * mr);
	out->w = palloc(sizeof(float) * (Size) Max(n, 1) * mr);
	nrows = palloc0(sizeof(int64) * Max(n, 1));
	if (s->items == NULL || n == 0)
		return;
	check_relation(s, s->items);
	live_read_begin(&lr, s, "item features", s->items);
	if (s->plan_items == NULL)
	{
		Oid			types[1] = {INT8ARRAYOID};
		const char *key = s->opts.items_key ? s->opts.items_key : s->opts.col_item;
		char	   *sql = psprintf("SELECT %s%s FROM %s WHERE %s = ANY ($1)",
								   quote_identifier(key),
								   column_list(m, m->item_columns, m->n_item_columns),
								   s->items, quote_identifier(key));

		s->plan_items = keep_plan(sql, 1, types);
	}
	{
		Datum	   *elems = palloc(sizeof(Datum) * n);

		for (int i = 0; i < n; i++)
			elems[i] = Int64GetDatum(ids[i]);
		args[0] = PointerGetDatum(construct_array(elems, n, INT8OID, 8, true, TYPALIGN_DOUBLE));
	}
	if (SPI_execute_plan(s->plan_items, args, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read items from %s", s->items);
	/* SPI calls return in SPI's procedure context: back to the caller's */
	MemoryContextSwitchTo(caller);

	content = palloc(sizeof(float) * (m->content_dim + 1));
	for (uint64 t = 0; t < SPI_processed; t++)
	{
		HeapTuple	tup = SPI_tuptable->vals[t];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		Datum		key = SPI_getbinval(tup, desc, 1, &isnull);
		int64		id;
		int			i,
					nr = 0;
		bool		has_content = false;

		if (isnull || !cs_is_id_type(TupleDescAttr(desc, 0)->atttypid))
			continue;
		id = cs_datum_to_id(key, TupleDescAttr(desc, 0)->atttypid);
		for (i = 0; i < n && ids[i] != id; i++)
			;
		if (i == n || out->found[i])
			continue;
		rows = out->rows + (Size) i * mr;
		w = out->w + (Size) i * mr;
		for (int c = 0; c < m->n_item_columns; c++)
		{
			const CsColumn *col = &m->item_columns[c];
			Datum		d = SPI_getbinval(tup, desc, c + 2, &isnull);
			CsValueReader r;

			if (isnull)
				continue;
			cs_reader_init(&r, TupleDescAttr(desc, c + 1)->atttypid, col->kind, s->items,
						   cs_model_string(m, col->name));
			if (col->kind == CS_COL_DENSE)
				has_content = (cs_read_dense(&r, d, content, m->content_dim) == m->content_dim);
			else
				nr = column_rows(m, col, m->item_values, &r, d, rows, w, nr);
		}
		cs_item_from_features(m->dim, nr, rows, w, m->item_value_vectors, m->item_value_bias,
							  m->content_proj, has_content ? content : NULL, m->content_dim,
							  out->V + (Size) i * m->dim, &out->b[i]);
		out->found[i] = true;
		nrows[i] = nr;
	}
	/* pack the rows: item i's were written at i * mr */
	for (int i = 0; i < n; i++)
	{
		out->row_start[i + 1] = out->row_start[i] + nrows[i];
		memmove(out->rows + out->row_start[i], out->rows + (Size) i * mr, sizeof(int32) * nrows[i]);
		memmove(out->w + out->row_start[i], out->w + (Size) i * mr, sizeof(float) * nrows[i]);
	}
	live_read_end(&lr);
}

bool
cs_item_vector(CsServed *s, int64 item_id, float *v, float *b)
{
	int			i = cs_served_find(s, item_id);
	TableItems	t;

	if (i >= 0 && i < s->m.n_items)
	{
		memcpy(v, s->m.item_vectors + (Size) i * s->m.dim, sizeof(float) * s->m.dim);
		*b = s->m.item_bias[i];
		return true;
	}
	if (i >= 0)
	{
		memcpy(v, s->extra_vectors + (Size) (i - s->m.n_items) * s->m.dim, sizeof(float) * s->m.dim);
		*b = s->extra_bias[i - s->m.n_items];
		return true;
	}
	items_from_table(s, &item_id, 1, &t);
	memcpy(v, t.V, sizeof(float) * s->m.dim);
	*b = t.b[0];
	return t.found[0];
}

void
cs_user_vector(CsServed *s, const CsHistItem *hist, int n_hist,
			   const int32 *attr_rows, const float *attr_w, int n_attr, float *u,
			   CsUserParts *parts)
{
	const CsModel *m = &s->m;
	int			d = m->dim;
	float	   *h = palloc0(sizeof(float) * d);
	float	   *ulin = palloc(sizeof(float) * d);
	float	   *z = palloc(sizeof(float) * Max(m->hidden, 1));
	int64		attr_start[2] = {0, n_attr};
	double		t_ref = -INFINITY;
	double		sum = 0;
	int64	   *unknown = palloc(sizeof(int64) * Max(n_hist, 1));
	int			n_unknown = 0;
	TableItems	t;
	const float **vec = palloc(sizeof(float *) * Max(n_hist, 1));
	float	   *w = palloc(sizeof(float) * Max(n_hist, 1));
	int		   *src = palloc(sizeof(int) * Max(n_hist, 1));	/* item index, or -1 - unknown */
	int32		n_used = 0;		/* behaviours the history mean is taken over */

	for (int j = 0; j < n_hist; j++)
		if (!isnan(hist[j].ts) && hist[j].ts > t_ref)
			t_ref = hist[j].ts;
	for (int j = 0; j < n_hist; j++)
		if (cs_served_find(s, hist[j].item_id) < 0)
			unknown[n_unknown++] = hist[j].item_id;
	items_from_table(s, unknown, n_unknown, &t);

	/* weights first: the mean is shrunk by their sum */
	for (int j = 0; j < n_hist; j++)
	{
		int			i = cs_served_find(s, hist[j].item_id);

		vec[j] = NULL;
		w[j] = cs_label_weight(m, hist[j].label);
		if (!isnan(hist[j].ts))
			w[j] = cs_event_weight(w[j], t_ref, hist[j].ts, m->half_life);
		if (i >= 0 && i < m->n_items)
			vec[j] = m->item_vectors + (Size) i * d;
		else if (i >= 0)
			vec[j] = s->extra_vectors + (Size) (i - m->n_items) * d;
		else
			for (int k = 0; k < n_unknown; k++)
				if (unknown[k] == hist[j].item_id && t.found[k])
				{
					vec[j] = t.V + (Size) k * d;
					i = -1 - k;
				}
		src[j] = i;
		if (vec[j] != NULL)
			sum += w[j];		/* an item nobody knows anything about is left out */
	}

	s->prof.n = 0;
	for (int j = 0; j < n_hist; j++)
	{
		float		omega;
		int			i = src[j];

		if (parts != NULL)
			parts->omega[j] = 0;
		if (vec[j] == NULL || sum + m->history_prior <= 0)
			continue;
		n_used++;
		omega = (float) (w[j] / (sum + m->history_prior));
		if (parts != NULL)
			parts->omega[j] = omega;
		cblas_saxpy(d, omega, vec[j], 1, h, 1);
		/* the same weights make the content-match profile */
		if (i >= 0)
		{
			const int32 *rows;
			const float *rw;
			int			nr = cs_served_item_rows(s, i, &rows, &rw);

			cs_profile_add(&s->prof, w[j], nr, rows, rw);
		}
		else
		{
			int			k = -1 - i;

			cs_profile_add(&s->prof, w[j], (int) (t.row_start[k + 1] - t.row_start[k]),
						   t.rows + t.row_start[k], t.w + t.row_start[k]);
		}
	}
	cs_profile_finish(&s->prof);
	{
		CsNet		net = {d, m->hidden, m->user_base, m->user_value_vectors, m->history,
		m->hidden_w1, m->hidden_b1, m->hidden_w2, m->size_vectors};

		cs_net_users(&net, 1, h, &n_used, attr_start, attr_rows, attr_w, ulin, z, u);
	}
	if (parts != NULL)
	{
		memcpy(parts->vec, vec, sizeof(float *) * n_hist);
		memcpy(parts->ulin, ulin, sizeof(float) * d);
		parts->n_used = n_used;
	}
}

CsLogSumExp
cs_score_all(CsServed *s, const float *u, const int64 *exclude, int n_exclude)
{
	const CsModel *m = &s->m;
	int			d = m->dim;
	float	   *sc = s->scores;
	CsLogSumExp lse = {0, 0};

	memcpy(sc, m->item_bias, sizeof(float) * m->n_items);
	cblas_sgemv(CblasRowMajor, CblasNoTrans, m->n_items, d, 1.0f, m->item_vectors, d,
				u, 1, 1.0f, sc, 1);
	if (s->n_extra > 0)
	{
		memcpy(sc + m->n_items, s->extra_bias, sizeof(float) * s->n_extra);
		cblas_sgemv(CblasRowMajor, CblasNoTrans, s->n_extra, d, 1.0f, s->extra_vectors, d,
					u, 1, 1.0f, sc + m->n_items, 1);
	}
	cs_match_add(&s->mi, m->match_weights, s->prof.n, s->prof.rows, s->prof.vals, sc);
	s->prof.n = 0;
	/* items gone from the items table are out of the catalogue, and of the softmax */
	for (int j = 0; j < s->n_removed; j++)
		sc[s->removed[j]] = -INFINITY;
	if (s->n_removed == s->n_total)
		return lse;				/* nothing is left to recommend */
	/* vectorized: one expf() call per item cost as much as the sgemv */
	lse.max = cs_vec_max(sc, s->n_total);
	lse.log_sum = log(cs_vec_sum_exp(sc, s->n_total, (float) lse.max));
	if (!isfinite(lse.max) || !isfinite(lse.log_sum))
	{
		/*
		 * Finite parameters whose sums overflow: a model edited by hand, or an
		 * item whose features are huge.  Such items are not recommended.
		 */
		int			n_finite = 0;

		for (int i = 0; i < s->n_total; i++)
		{
			if (isfinite(sc[i]))
				n_finite++;
			else
				sc[i] = -INFINITY;
		}
		if (n_finite == 0)
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("model \"%s\" gives no item a finite score", s->name),
					 errdetail("Its parameters are finite, but the sums that make the scores overflow."),
					 errhint("Activate another version with coldstart.activate(), or train the model again.")));
		lse.max = cs_vec_max(sc, s->n_total);
		lse.log_sum = log(cs_vec_sum_exp(sc, s->n_total, (float) lse.max));
	}
	for (int j = 0; j < n_exclude; j++)
	{
		int			i = cs_served_find(s, exclude[j]);

		if (i >= 0)
			sc[i] = -INFINITY;
	}
	return lse;
}

int
cs_refresh_items(const char *name)
{
	CsServed   *s = cs_served_get(name);
	const CsModel *m = &s->m;
	Oid			types[7] = {TEXTOID, INT4OID, INT8OID, FLOAT4ARRAYOID, FLOAT4OID,
	INT4ARRAYOID, FLOAT4ARRAYOID};
	Datum		args[7];
	SPIPlanPtr	ins;
	Portal		portal;
	const char *key;
	Oid			key_type;
	int			count = 0;
	Datum	   *elems = palloc(sizeof(Datum) * Max(m->dim, max_rows(m->item_columns, m->n_item_columns)));
	bool	   *present = palloc0(sizeof(bool) * Max(m->n_items, 1));
	HASHCTL		hctl;
	HTAB	   *stored;
	int			n_unbounded = 0;
	Datum	   *removed = palloc(sizeof(Datum) * Max(m->n_items, 1));
	int			n_removed = 0;
	MemoryContext batchcxt,
				outercxt;

	if (s->items == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("model \"%s\" was trained without an items table", name),
				 errhint("Only items with features can be added after training; train with an items table.")));
	key = s->opts.items_key ? s->opts.items_key : s->opts.col_item;
	/* a key that no longer holds ids would make every item look deleted */
	cs_check_id_column(check_relation(s, s->items), s->items, key, NULL, &key_type);

	hctl.keysize = sizeof(int64);
	hctl.entrysize = sizeof(int64);
	hctl.hcxt = CurrentMemoryContext;
	stored = hash_create("coldstart refreshed items", 1024, &hctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);

	/*
	 * The caller holds the name's change lock (one refresh or activation at
	 * a time) and has pushed a snapshot taken once it was held, so that what
	 * is read here is read after the wait: a refresh that waited for another
	 * sees what that one committed (its extras, and the items table it
	 * read).  Under REPEATABLE READ the transaction's snapshot stays: a
	 * serialization error instead, when another refresh committed since it
	 * was taken.
	 */
	args[0] = CStringGetTextDatum(name);
	args[1] = Int32GetDatum(s->version);
	if (IsolationUsesXactSnapshot())
	{
		/*
		 * The transaction's snapshot would not see the extras a refresh
		 * committed since it was taken (the one waited for, or an earlier
		 * one): rewriting them would fail on a duplicate key.  A
		 * serialization error, to be retried, instead.
		 */
		int64		latest = cs_catalog_latest_int8("SELECT items_refreshed_at FROM coldstart.models "
													"WHERE name = $1 AND version = $2",
													2, types, args);

		/* (a version deleted since fails on its row lock below, with 40001 too) */
		if (latest != s->refreshed_at)
			ereport(ERROR,
					(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
					 errmsg("could not serialize access due to a concurrent refresh_items() of model \"%s\"", name),
					 errhint("Retry the transaction.")));
	}
	/*
	 * The version's row locked from here on: a training pruning it waits for
	 * this refresh, instead of a deadlock between the row locks that the
	 * inserts below take and the update at the end.
	 */
	if (SPI_execute_with_args("SELECT active FROM coldstart.models WHERE name = $1 AND version = $2 "
							  "FOR NO KEY UPDATE",
							  2, types, args, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read model \"%s\"", name);
	{
		bool		isnull;

		if (SPI_processed != 1 ||
			!DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull)))
			ereport(ERROR,
					(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
					 errmsg("version %d of model \"%s\" stopped being the active one before refresh_items() could read it",
							s->version, name),
					 errhint("Call coldstart.refresh_items('%s') again: it refreshes the version active now.", name)));
	}
	if (SPI_execute_with_args("DELETE FROM coldstart.item_extras WHERE name = $1 AND version = $2",
							  2, types, args, NULL, false, 0) != SPI_OK_DELETE)
		elog(ERROR, "could not clear coldstart.item_extras");
	ins = SPI_prepare("INSERT INTO coldstart.item_extras "
					  "(name, version, item_id, vector, bias, feature_rows, feature_weights) "
					  "VALUES ($1, $2, $3, $4, $5, $6, $7)", 7, types);
	if (ins == NULL)
		elog(ERROR, "could not prepare the insert into coldstart.item_extras");

	{
		SPIPlanPtr	scan = SPI_prepare(psprintf("SELECT %s FROM %s", quote_identifier(key), s->items),
									   0, NULL);

		portal = SPI_cursor_open(NULL, scan, NULL, NULL, true);
	}
	/* what each batch of rows needs goes at its end: the ids, features and arrays */
	batchcxt = AllocSetContextCreate(CurrentMemoryContext, "coldstart refresh batch", ALLOCSET_DEFAULT_SIZES);
	outercxt = MemoryContextSwitchTo(batchcxt);
	for (;;)
	{
		SPITupleTable *tt;
		uint64		nrows;
		int64	   *ids;
		int			n = 0;

		MemoryContextReset(batchcxt);
		SPI_cursor_fetch(portal, true, 1000);
		/* (every SPI call returns in SPI's procedure context) */
		MemoryContextSwitchTo(batchcxt);
		if (SPI_processed == 0)
			break;
		tt = SPI_tuptable;
		nrows = SPI_processed;
		ids = palloc(sizeof(int64) * nrows);
		for (uint64 r = 0; r < nrows; r++)
		{
			bool		isnull;
			Datum		d = SPI_getbinval(tt->vals[r], tt->tupdesc, 1, &isnull);
			int64		id;
			int			i;

			if (isnull)
				continue;
			if (TupleDescAttr(tt->tupdesc, 0)->atttypid != key_type)
				ereport(ERROR,
						(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
						 errmsg("the type of column \"%s\" of %s changed while refresh_items() read it", key, s->items),
						 errhint("Call coldstart.refresh_items('%s') again.", name)));
			id = cs_datum_to_id(d, key_type);
			i = cs_model_find_item(m, id);
			if (i < 0)
				ids[n++] = id;
			else
				present[i] = true;
		}
		SPI_freetuptable(tt);
		if (n > 0)
		{
			TableItems	t;

			items_from_table(s, ids, n, &t);
			for (int i = 0; i < n; i++)
			{
				int			nr = (int) (t.row_start[i + 1] - t.row_start[i]);
				bool		found_before;

				if (!t.found[i])
					continue;
				/* a second row of the same item: the first one read is kept, as in training */
				(void) hash_search(stored, &ids[i], HASH_ENTER, &found_before);
				if (found_before)
					continue;
				/* features whose vector is beyond what training would store */
				if (cs_first_unbounded(t.V + (Size) i * m->dim, m->dim) >= 0 ||
					cs_first_unbounded(&t.b[i], 1) >= 0)
				{
					n_unbounded++;
					continue;
				}
				for (int j = 0; j < m->dim; j++)
					elems[j] = Float4GetDatum(t.V[(Size) i * m->dim + j]);
				args[2] = Int64GetDatum(ids[i]);
				args[3] = PointerGetDatum(construct_array(elems, m->dim, FLOAT4OID, 4, true,
														  TYPALIGN_INT));
				args[4] = Float4GetDatum(t.b[i]);
				for (int j = 0; j < nr; j++)
					elems[j] = Int32GetDatum(t.rows[t.row_start[i] + j]);
				args[5] = PointerGetDatum(construct_array(elems, nr, INT4OID, 4, true, TYPALIGN_INT));
				for (int j = 0; j < nr; j++)
					elems[j] = Float4GetDatum(t.w[t.row_start[i] + j]);
				args[6] = PointerGetDatum(construct_array(elems, nr, FLOAT4OID, 4, true, TYPALIGN_INT));
				if (SPI_execute_plan(ins, args, NULL, false, 0) != SPI_OK_INSERT)
					elog(ERROR, "could not store the vector of item " INT64_FORMAT, ids[i]);
				MemoryContextSwitchTo(batchcxt);
				count++;
			}
		}
		CHECK_FOR_INTERRUPTS();
	}
	MemoryContextSwitchTo(outercxt);
	MemoryContextDelete(batchcxt);
	SPI_cursor_close(portal);

	/* the model's items gone from the items table are no longer served */
	for (int i = 0; i < m->n_items; i++)
		if (!present[i])
			removed[n_removed++] = Int64GetDatum(m->item_ids[i]);
	if (n_removed > 0 && n_removed == m->n_items)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg_plural("refresh_items() found the %d item of model \"%s\" nowhere in %s",
							   "refresh_items() found none of the %d items of model \"%s\" in %s",
							   m->n_items, m->n_items, name, s->items),
				 errdetail("Storing that would stop every one of them from being recommended."),
				 errhint("If rows of %s are hidden from this role by row-level security or privileges, refresh as a role that sees them; if the catalogue was replaced, train the model again.",
						 s->items)));
	types[2] = INT8ARRAYOID;
	args[2] = PointerGetDatum(construct_array(removed, n_removed, INT8OID, 8, true, TYPALIGN_DOUBLE));
	if (SPI_execute_with_args("UPDATE coldstart.models SET items_refreshed_at = pg_catalog.clock_timestamp(), "
							  "items_removed = $3 WHERE name = $1 AND version = $2",
							  3, types, args, NULL, false, 0) != SPI_OK_UPDATE)
		elog(ERROR, "could not mark model \"%s\" as refreshed", name);
	if (n_unbounded > 0)
		ereport(WARNING,
				(errmsg_plural("%d new item of %s was left out: its features give a vector larger than %g",
							   "%d new items of %s were left out: their features give vectors larger than %g",
							   n_unbounded, n_unbounded, s->items, (double) CS_MAX_PARAM),
				 errhint("Scale the numbers of its content vector down (training refuses such values too).")));
	if (n_removed > 0)
		ereport(NOTICE,
				(errmsg_plural("%d of the %d items model \"%s\" was trained on is no longer in %s and will not be recommended",
							   "%d of the %d items model \"%s\" was trained on are no longer in %s and will not be recommended",
							   n_removed, n_removed, m->n_items, name, s->items),
				 errhint("They are listed in coldstart.models.items_removed; train the model again to drop them from it.")));
	return count;
}
