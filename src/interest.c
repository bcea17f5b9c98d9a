/*
 * interest.c
 *	  The aggregate interest_vector(model, item_id, action, ts) -> real[]: the
 *	  user vector u(x) a model computes from any set of behaviour rows; and
 *	  item_vector(model, item_id) and item_bias(model, item_id), to score
 *	  items against it in SQL: s = u . v + b, the interest part of serving's
 *	  score (which adds a content-match term for models with item features).
 *
 * The aggregate gives what serving (cs_user_vector()) gives a user whose
 * history is exactly the rows passed and who has no attributes:
 *
 *	  u = u_lin + W2 relu(W1 u_lin + b1),	u_lin = u0 + W h,
 *	  h = sum_j w_j v_j / (sum_j w_j + history_prior),
 *	  w_j = weight of the action x 2^((t_j - t_ref) / half_life)
 *
 * where t_ref is the latest ts of the rows.  It is known only at the end,
 * but the sums can be kept relative to the latest ts seen so far, t_max, and
 * scaled by 2^((t_max - t) / half_life) when a later t arrives (the combine
 * function scales both states to the later of their two t_max): at the end
 * t_max = t_ref and the sums are serving's.  Every row passed counts, where
 * recommend() reads the latest history_length behaviours only.
 *
 * Rows: one with a NULL item_id, or a NULL or infinite ts, is skipped.  A
 * NULL action weighs 1, like a session without actions in
 * recommend_for_items().  An item the model does not know adds nothing to h
 * (serving would look it up in the items table, which the model value alone
 * does not name), but its ts still dates the history, as it does in serving.
 * With no usable row the result is the vector of no history, u(h = 0); with
 * no row at all, NULL.
 *
 * The final function (in a parallel plan, the leader's, on states made in
 * the workers) gets no model, so a state carries what the end needs: the
 * model's fingerprint, u0, the history prior, and the hidden layer when the
 * model has one.  Within a backend these are held once per model (an
 * IvModel, kept until the query ends) and states point to them: a state
 * takes 8 x dim bytes and a few fields, whatever its rows.  The transition
 * function sums w_j v_j (dim multiply-adds a row) and W is applied once per
 * group, when the state is serialized or finalized, so that the leader needs
 * no W (dim^2 floats).  A serialized state names its model by the TOAST
 * pointer the workers were given when the model is stored out of line (a
 * model of more than about 2 kB read from a table), and the leader reads it
 * from there once per query: such a state takes 8 x dim + 50 bytes.  A model
 * given in memory (a literal, a bound parameter, a function's result) has no
 * such name, and each state then carries what the end needs of it: 4 x dim
 * bytes more and, with a hidden layer, 4 x (2 x hidden x dim + hidden) bytes
 * for every group a worker sends to the leader.
 *
 * The transition function decodes and validates a model once and keeps it
 * in fn_extra until the argument changes.  The argument is recognised by its
 * bytes as passed: a TOAST pointer for a value stored out of line, else the
 * value itself (by its address alone for a constant or a bound parameter).
 * So a model passed as a scalar subquery, (SELECT model FROM
 * coldstart.models WHERE name = 'shop' AND active), is decoded once per
 * query and process; a join column that alternates between models is
 * decoded again at every change.  A 64-bit hash of the value, its
 * fingerprint, travels in every state: rows or states of two different
 * models in one group are an error.
 */
#include "postgres.h"

#include <math.h>

#include "access/detoast.h"
#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "fmgr.h"
#include "libpq/pqformat.h"
#include "nodes/pg_list.h"
#include "nodes/primnodes.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/memutils.h"

#include "actions.h"
#include "blas.h"
#include "featurize.h"
#include "model.h"
#include "net.h"

/* Version of the serialized state (it only travels from workers to leader). */
#define STATE_FORMAT 1
#define MODEL_BY_TOAST 1
#define MODEL_BY_VALUE 2

/*
 * Serving's weights are floats, and those below 2^-150 round to zero: when
 * every weight is that small, serving has no history, and neither do we.
 */
#define MIN_HISTORY_WEIGHT 0x1p-150

/* What the end of the aggregate needs of a model. */
typedef struct IvModel
{
	uint64		fingerprint;
	int			dim;
	int			hidden;
	float		history_prior;
	double		half_life;
	float	   *user_base;		/* u0 [dim] */
	float	   *size_vectors;	/* [CS_SIZE_BUCKETS][dim] */
	float	   *history;		/* W [dim][dim]; NULL when read from a state */
	float	   *w1;				/* [hidden][dim] */
	float	   *b1;				/* [hidden] */
	float	   *w2;				/* [dim][hidden] */
	MemoryContext cxt;			/* where this lives, until the query ends */
	char	   *toast;			/* TOAST pointer of the value, or NULL */
	char	   *image;			/* the parameters as serialized, made on */
	int			image_len;		/* first use */
} IvModel;

typedef struct IvState
{
	IvModel    *model;
	bool		projected;		/* sum holds W sum_j w_j v_j */
	bool		dated;			/* a row had a finite ts: t_max is valid */
	double		t_max;			/* seconds since the Unix epoch */
	double		z;				/* sum_j w_j, relative to t_max */
	int64		count;			/* behaviours in the sum */
	double		sum[FLEXIBLE_ARRAY_MEMBER];	/* [dim]: sum_j w_j v_j, likewise */
} IvState;

/* A decoded model in fn_extra, for as long as calls pass the same value. */
typedef struct IvModelCache
{
	MemoryContext cxt;			/* the function's: lives as long as the query */
	MemoryContext value_cxt;	/* holds the value; reset for another one */
	struct varlena *value;		/* NULL: nothing cached */
	char	   *key;			/* the argument's bytes, when not the value's */
	Size		key_len;
	Pointer		arg;			/* the argument as passed */
	bool		arg_stable;		/* a Const or bound parameter: arg never */
								/* changes while this query runs */
	CsModel		m;
	uint64		fingerprint;
	IvModel    *model;			/* of the value, made on first use */
	List	   *models;			/* every IvModel made: states point to them */
} IvModelCache;

/* ---------- the model ---------- */

/*
 * The model passed as argument, decoded.  A stored TOAST pointer identifies
 * its value (toast relation and value id); an in-memory one does not, so
 * such a value is flattened first.  Any other argument is compared byte for
 * byte, as memory that held one value may hold another by the next call,
 * unless it is a constant or a bound parameter (arg_stable): then the same
 * address is the same value.
 */
static IvModelCache *
model_cache_get(FmgrInfo *flinfo, Datum d, bool arg_stable)
{
	IvModelCache *c = (IvModelCache *) flinfo->fn_extra;
	struct varlena *raw = (struct varlena *) DatumGetPointer(d);
	struct varlena *value;
	Size		len;
	MemoryContext old;

	if (c == NULL)
	{
		c = MemoryContextAllocZero(flinfo->fn_mcxt, sizeof(IvModelCache));
		c->cxt = flinfo->fn_mcxt;
		c->value_cxt = AllocSetContextCreate(flinfo->fn_mcxt, "coldstart model argument",
											 ALLOCSET_DEFAULT_SIZES);
		flinfo->fn_extra = c;
	}
	if (arg_stable && c->value != NULL && c->arg_stable && c->arg == (Pointer) raw)
		return c;
	c->arg = (Pointer) raw;
	c->arg_stable = arg_stable;
	if (VARATT_IS_EXTERNAL(raw) && !VARATT_IS_EXTERNAL_ONDISK(raw))
		raw = detoast_external_attr(raw);
	len = VARSIZE_ANY(raw);
	if (c->value != NULL && len == c->key_len &&
		memcmp(raw, c->key ? c->key : (char *) c->value, len) == 0)
		return c;

	MemoryContextReset(c->value_cxt);
	c->value = NULL;
	c->key = NULL;
	c->model = NULL;
	old = MemoryContextSwitchTo(c->value_cxt);
	value = pg_detoast_datum_copy(raw);
	cs_model_open_varlena(value, &c->m);
	c->fingerprint = hash_bytes_extended((const unsigned char *) value, VARSIZE(value), 0);
	if (VARATT_IS_EXTERNAL(raw) || VARATT_IS_COMPRESSED(raw) || VARATT_IS_SHORT(raw))
	{
		c->key = palloc(len);
		memcpy(c->key, raw, len);
	}
	c->key_len = len;
	c->value = value;
	MemoryContextSwitchTo(old);
	return c;
}

/* Whether an argument expression keeps its value while the query runs. */
static bool
is_stable_arg(Node *expr)
{
	return expr != NULL &&
		(IsA(expr, Const) ||
		 (IsA(expr, Param) && ((Param *) expr)->paramkind == PARAM_EXTERN));
}

/* Same, for the model argument of the aggregate (not known in a window). */
static bool
model_arg_stable(FunctionCallInfo fcinfo)
{
	Aggref	   *aggref = AggGetAggref(fcinfo);

	if (aggref == NULL || aggref->args == NIL)
		return false;
	return is_stable_arg((Node *) linitial_node(TargetEntry, aggref->args)->expr);
}

static float *
copy_floats(const float *x, Size n)
{
	float	   *y = palloc(sizeof(float) * Max(n, 1));

	memcpy(y, x, sizeof(float) * n);
	return y;
}

/* What the end needs of a decoded model, copied into cxt. */
static IvModel *
ivmodel_create(const CsModel *m, uint64 fingerprint, bool with_history, MemoryContext cxt)
{
	MemoryContext old = MemoryContextSwitchTo(cxt);
	IvModel    *im = palloc0(sizeof(IvModel));
	int			d = m->dim;
	int			h = m->hidden;

	im->fingerprint = fingerprint;
	im->dim = d;
	im->hidden = h;
	im->history_prior = m->history_prior;
	im->half_life = m->half_life;
	im->user_base = copy_floats(m->user_base, d);
	im->size_vectors = copy_floats(m->size_vectors, (Size) CS_SIZE_BUCKETS * d);
	if (with_history)
		im->history = copy_floats(m->history, (Size) d * d);
	if (h > 0)
	{
		im->w1 = copy_floats(m->hidden_w1, (Size) h * d);
		im->b1 = copy_floats(m->hidden_b1, h);
		im->w2 = copy_floats(m->hidden_w2, (Size) d * h);
	}
	im->cxt = cxt;
	MemoryContextSwitchTo(old);
	return im;
}

/* The IvModel of the cached value: one per distinct model and query. */
static IvModel *
cache_model(IvModelCache *c)
{
	IvModel    *im = NULL;
	ListCell   *lc;

	if (c->model != NULL)
		return c->model;
	foreach(lc, c->models)
	{
		IvModel    *k = (IvModel *) lfirst(lc);

		if (k->fingerprint == c->fingerprint)
		{
			im = k;
			break;
		}
	}
	if (im == NULL)
	{
		MemoryContext old;

		im = ivmodel_create(&c->m, c->fingerprint, true, c->cxt);
		old = MemoryContextSwitchTo(c->cxt);
		c->models = lappend(c->models, im);
		MemoryContextSwitchTo(old);
	}
	/* A stored value's TOAST pointer names it to the leader. */
	if (im->toast == NULL && c->key != NULL && VARATT_IS_EXTERNAL_ONDISK(c->key) &&
		c->key_len == TOAST_POINTER_SIZE)
	{
		im->toast = MemoryContextAlloc(c->cxt, TOAST_POINTER_SIZE);
		memcpy(im->toast, c->key, TOAST_POINTER_SIZE);
	}
	c->model = im;
	return im;
}

static void
mixed_models_error(void)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("interest_vector cannot mix rows of different models in one group"),
			 errdetail("The model argument must be the same coldstart.model value for every row of a group."),
			 errhint("Pass one model, for example (SELECT model FROM coldstart.models WHERE name = 'shop' AND active).")));
}

/* ---------- the state ---------- */

static IvState *
state_create(IvModel *im, MemoryContext cxt)
{
	IvState    *s = MemoryContextAllocZero(cxt, offsetof(IvState, sum) +
										   sizeof(double) * im->dim);

	s->model = im;
	return s;
}

static IvState *
state_copy(const IvState *src, MemoryContext cxt)
{
	Size		size = offsetof(IvState, sum) + sizeof(double) * src->model->dim;
	IvState    *s = MemoryContextAlloc(cxt, size);

	memcpy(s, src, size);
	return s;
}

/* Make t the reference time if it is later than t_max. */
static void
state_advance(IvState *s, double t)
{
	double		f;

	if (!s->dated)
	{
		s->t_max = t;
		s->dated = true;
		return;
	}
	if (t <= s->t_max)
		return;
	f = exp2((s->t_max - t) / s->model->half_life);
	s->z *= f;
	for (int k = 0; k < s->model->dim; k++)
		s->sum[k] *= f;
	s->t_max = t;
}

/* out = W x (out and x distinct, [dim] each) */
static void
project(const IvModel *im, const double *x, double *out)
{
	int			d = im->dim;

	if (im->history == NULL)
		elog(ERROR, "interest_vector state has no history weights to project with");
	for (int i = 0; i < d; i++)
	{
		const float *row = im->history + (Size) i * d;
		double		acc = 0;

		for (int k = 0; k < d; k++)
			acc += row[k] * x[k];
		out[i] = acc;
	}
}

/* Same model, or an error; a state's sum has its model's dim. */
static void
check_same_model(const IvModel *a, const IvModel *b)
{
	if (a == b)
		return;
	if (a->fingerprint != b->fingerprint)
		mixed_models_error();
	if (a->dim != b->dim || a->hidden != b->hidden ||
		a->history_prior != b->history_prior || a->half_life != b->half_life)
		elog(ERROR, "interest_vector states of one model fingerprint have different dimensions");
}

static void
state_merge(IvState *dst, const IvState *src)
{
	int			d = dst->model->dim;
	const double *ssum = src->sum;
	double		t,
				fd,
				fs;

	if (!src->dated)
		return;					/* no time, so no weight either */

	/* Both sums in the same space: W's when either is. */
	if (dst->projected != src->projected)
	{
		if (!dst->projected)
		{
			double	   *tmp = palloc(sizeof(double) * d);

			project(dst->model, dst->sum, tmp);
			memcpy(dst->sum, tmp, sizeof(double) * d);
			pfree(tmp);
			dst->projected = true;
		}
		else
		{
			double	   *tmp = palloc(sizeof(double) * d);

			project(src->model, src->sum, tmp);
			ssum = tmp;
		}
	}

	t = dst->dated ? Max(dst->t_max, src->t_max) : src->t_max;
	fd = dst->dated ? exp2((dst->t_max - t) / dst->model->half_life) : 1.0;
	fs = exp2((src->t_max - t) / dst->model->half_life);
	dst->z = dst->z * fd + src->z * fs;
	dst->count += src->count;
	for (int k = 0; k < d; k++)
		dst->sum[k] = dst->sum[k] * fd + ssum[k] * fs;
	dst->t_max = t;
	dst->dated = true;
}

/* ---------- the aggregate's support functions ---------- */

PG_FUNCTION_INFO_V1(interest_vector_transfn);
Datum
interest_vector_transfn(PG_FUNCTION_ARGS)
{
	MemoryContext aggcxt;
	IvState    *state;
	IvModelCache *c;
	int			d;
	int			i;
	double		t;
	double		w;
	const float *v;

	if (!AggCheckCallContext(fcinfo, &aggcxt))
		elog(ERROR, "interest_vector_transfn called in non-aggregate context");
	state = PG_ARGISNULL(0) ? NULL : (IvState *) PG_GETARG_POINTER(0);

	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("model must not be NULL"),
				 errhint("Pass a coldstart.model, for example (SELECT model FROM coldstart.models WHERE name = 'shop' AND active).")));
	c = model_cache_get(fcinfo->flinfo, PG_GETARG_DATUM(1), model_arg_stable(fcinfo));
	if (state == NULL)
		state = state_create(cache_model(c), aggcxt);
	else
		check_same_model(state->model, cache_model(c));
	if (state->projected)
		elog(ERROR, "interest_vector_transfn called on a combined state");

	/* Rows serving would not read: no item, no time. */
	if (PG_ARGISNULL(2) || PG_ARGISNULL(4) ||
		!cs_datum_to_epoch(PG_GETARG_DATUM(4), TIMESTAMPTZOID, &t))
		PG_RETURN_POINTER(state);

	/* Any behaviour dates the history, even of an item the model lacks. */
	state_advance(state, t);
	i = cs_model_find_item(&c->m, PG_GETARG_INT64(2));
	if (i < 0)
		PG_RETURN_POINTER(state);

	w = cs_label_weight(&c->m, PG_ARGISNULL(3) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(3)));
	w *= exp2((t - state->t_max) / state->model->half_life);
	d = c->m.dim;
	v = c->m.item_vectors + (Size) i * d;
	state->z += w;
	state->count++;
	for (int k = 0; k < d; k++)
		state->sum[k] += w * v[k];
	PG_RETURN_POINTER(state);
}

PG_FUNCTION_INFO_V1(interest_vector_combinefn);
Datum
interest_vector_combinefn(PG_FUNCTION_ARGS)
{
	MemoryContext aggcxt;
	IvState    *dst;
	IvState    *src;

	if (!AggCheckCallContext(fcinfo, &aggcxt))
		elog(ERROR, "interest_vector_combinefn called in non-aggregate context");

	dst = PG_ARGISNULL(0) ? NULL : (IvState *) PG_GETARG_POINTER(0);
	src = PG_ARGISNULL(1) ? NULL : (IvState *) PG_GETARG_POINTER(1);

	if (src == NULL)
	{
		if (dst == NULL)
			PG_RETURN_NULL();
		PG_RETURN_POINTER(dst);
	}
	/* src may live in a short-lived context: the result must not. */
	if (dst == NULL)
		PG_RETURN_POINTER(state_copy(src, aggcxt));

	check_same_model(dst->model, src->model);
	state_merge(dst, src);
	PG_RETURN_POINTER(dst);
}

/* Append n floats in network byte order. */
static void
send_floats(StringInfo buf, const float *x, Size n)
{
	enlargeStringInfo(buf, sizeof(float) * n);
	for (Size i = 0; i < n; i++)
	{
		union
		{
			float		f;
			uint32		i;
		}			swap;

		swap.f = x[i];
		pq_writeint32(buf, swap.i);
	}
}

/*
 * A model's parameters as a serialized state carries them, in network byte
 * order: fingerprint (int64), dim, hidden (int32), history_prior (float4),
 * half_life (float8), u0[dim], then if hidden > 0: w1[hidden][dim],
 * b1[hidden], w2[dim][hidden] (float4).  Made once per model: every group
 * sends the same bytes.
 */
static const char *
model_image(IvModel *im, int *len)
{
	if (im->image == NULL)
	{
		MemoryContext old = MemoryContextSwitchTo(im->cxt);
		StringInfoData buf;

		initStringInfo(&buf);
		pq_sendint64(&buf, im->fingerprint);
		pq_sendint32(&buf, im->dim);
		pq_sendint32(&buf, im->hidden);
		pq_sendfloat4(&buf, im->history_prior);
		pq_sendfloat8(&buf, im->half_life);
		send_floats(&buf, im->user_base, im->dim);
		send_floats(&buf, im->size_vectors, (Size) CS_SIZE_BUCKETS * im->dim);
		if (im->hidden > 0)
		{
			send_floats(&buf, im->w1, (Size) im->hidden * im->dim);
			send_floats(&buf, im->b1, im->hidden);
			send_floats(&buf, im->w2, (Size) im->dim * im->hidden);
		}
		MemoryContextSwitchTo(old);
		im->image = buf.data;
		im->image_len = buf.len;
	}
	*len = im->image_len;
	return im->image;
}

/*
 * Serialized state: format (1 byte); the model, either MODEL_BY_TOAST
 * (1 byte), fingerprint (int64) and the value's TOAST pointer
 * (TOAST_POINTER_SIZE bytes), or MODEL_BY_VALUE (1 byte) and model_image();
 * then dated (1 byte) and if dated: t_max, z and W sum[dim] (float8).
 */
PG_FUNCTION_INFO_V1(interest_vector_serialfn);
Datum
interest_vector_serialfn(PG_FUNCTION_ARGS)
{
	IvState    *state;
	IvModel    *im;
	StringInfoData buf;

	if (!AggCheckCallContext(fcinfo, NULL))
		elog(ERROR, "interest_vector_serialfn called in non-aggregate context");
	state = (IvState *) PG_GETARG_POINTER(0);
	im = state->model;

	pq_begintypsend(&buf);
	pq_sendbyte(&buf, STATE_FORMAT);
	if (im->toast != NULL)
	{
		pq_sendbyte(&buf, MODEL_BY_TOAST);
		pq_sendint64(&buf, im->fingerprint);
		pq_sendbytes(&buf, im->toast, TOAST_POINTER_SIZE);
	}
	else
	{
		const char *image;
		int			image_len;

		image = model_image(im, &image_len);
		pq_sendbyte(&buf, MODEL_BY_VALUE);
		pq_sendbytes(&buf, image, image_len);
	}
	pq_sendbyte(&buf, state->dated ? 1 : 0);
	if (state->dated)
	{
		int			d = im->dim;
		const double *sum = state->sum;

		if (!state->projected)
		{
			double	   *tmp = palloc(sizeof(double) * d);

			project(im, state->sum, tmp);
			sum = tmp;
		}
		pq_sendfloat8(&buf, state->t_max);
		pq_sendfloat8(&buf, state->z);
		pq_sendint64(&buf, state->count);
		for (int k = 0; k < d; k++)
			pq_sendfloat8(&buf, sum[k]);
	}
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

static void
invalid_state(const char *reason)
{
	elog(ERROR, "invalid interest_vector state: %s", reason);
}

static void
read_floats(StringInfo buf, float *x, Size n)
{
	for (Size i = 0; i < n; i++)
	{
		x[i] = pq_getmsgfloat4(buf);
		if (!isfinite(x[i]))
			invalid_state("model parameter is not finite");
	}
}

static IvModel *
find_model(List *models, uint64 fingerprint)
{
	ListCell   *lc;

	foreach(lc, models)
	{
		IvModel    *im = (IvModel *) lfirst(lc);

		if (im->fingerprint == fingerprint)
			return im;
	}
	return NULL;
}

/* The model a TOAST pointer names, read and decoded as the workers did. */
static IvModel *
model_from_toast(const char *pointer, uint64 fingerprint, MemoryContext cxt)
{
	MemoryContext tmp = AllocSetContextCreate(CurrentMemoryContext, "coldstart model of a state",
											  ALLOCSET_DEFAULT_SIZES);
	MemoryContext old = MemoryContextSwitchTo(tmp);
	struct varlena *p = palloc(TOAST_POINTER_SIZE);
	struct varlena *value;
	CsModel		m;
	IvModel    *im;

	memcpy(p, pointer, TOAST_POINTER_SIZE);
	if (!VARATT_IS_EXTERNAL_ONDISK(p) || VARSIZE_EXTERNAL(p) != TOAST_POINTER_SIZE)
		invalid_state("bad TOAST pointer");
	value = pg_detoast_datum_copy(p);
	cs_model_open_varlena(value, &m);
	if (hash_bytes_extended((const unsigned char *) value, VARSIZE(value), 0) != fingerprint)
		invalid_state("model does not match its fingerprint");
	im = ivmodel_create(&m, fingerprint, false, cxt);
	MemoryContextSwitchTo(old);
	MemoryContextDelete(tmp);
	return im;
}

/* The parameters of model_image(), validated. */
static IvModel *
model_from_image(StringInfo buf, MemoryContext cxt)
{
	int			start = buf->cursor;
	uint64		fingerprint = (uint64) pq_getmsgint64(buf);
	int			dim = (int) pq_getmsgint(buf, 4);
	int			hidden = (int) pq_getmsgint(buf, 4);
	float		prior = pq_getmsgfloat4(buf);
	double		half_life = pq_getmsgfloat8(buf);
	int64		n_floats;
	IvModel    *im;
	MemoryContext old;

	if (dim < 1 || dim > CS_MAX_DIM || hidden < 0 || hidden > CS_MAX_HIDDEN)
		invalid_state("bad dimensions");
	if (!isfinite(prior) || prior < 0 || !isfinite(half_life) || half_life <= 0)
		invalid_state("bad history prior or half-life");
	n_floats = dim + (int64) hidden * (2 * (int64) dim + 1);
	if (n_floats * (int64) sizeof(float) > buf->len - buf->cursor)
		invalid_state("truncated model parameters");

	old = MemoryContextSwitchTo(cxt);
	im = palloc0(sizeof(IvModel));
	im->fingerprint = fingerprint;
	im->dim = dim;
	im->hidden = hidden;
	im->history_prior = prior;
	im->half_life = half_life;
	im->user_base = palloc(sizeof(float) * dim);
	read_floats(buf, im->user_base, dim);
	im->size_vectors = palloc(sizeof(float) * CS_SIZE_BUCKETS * dim);
	read_floats(buf, im->size_vectors, (Size) CS_SIZE_BUCKETS * dim);
	if (hidden > 0)
	{
		im->w1 = palloc(sizeof(float) * hidden * dim);
		im->b1 = palloc(sizeof(float) * hidden);
		im->w2 = palloc(sizeof(float) * dim * hidden);
		read_floats(buf, im->w1, (Size) hidden * dim);
		read_floats(buf, im->b1, hidden);
		read_floats(buf, im->w2, (Size) dim * hidden);
	}
	im->cxt = cxt;
	im->image_len = buf->cursor - start;
	im->image = palloc(im->image_len);
	memcpy(im->image, buf->data + start, im->image_len);
	MemoryContextSwitchTo(old);
	return im;
}

/*
 * The model of a serialized state.  The deserial function keeps one IvModel
 * per model in fn_extra (a List), so that the leader's states share it as
 * the workers' do, and a model is read once per query.
 */
static IvModel *
read_model(FmgrInfo *flinfo, StringInfo buf)
{
	List	   *models = (List *) flinfo->fn_extra;
	int			how = pq_getmsgbyte(buf);
	IvModel    *im;
	MemoryContext old;

	if (how == MODEL_BY_TOAST)
	{
		uint64		fingerprint = (uint64) pq_getmsgint64(buf);
		const char *pointer = pq_getmsgbytes(buf, TOAST_POINTER_SIZE);

		im = find_model(models, fingerprint);
		if (im != NULL)
			return im;
		im = model_from_toast(pointer, fingerprint, flinfo->fn_mcxt);
	}
	else if (how == MODEL_BY_VALUE)
	{
		int			start = buf->cursor;
		uint64		fingerprint = (uint64) pq_getmsgint64(buf);
		int			len;
		const char *image;

		/* Known: the bytes must be the same, and need no decoding. */
		im = find_model(models, fingerprint);
		if (im != NULL)
		{
			image = model_image(im, &len);
			if (len > buf->len - start || memcmp(image, buf->data + start, len) != 0)
				invalid_state("model parameters differ from another state's of the same model");
			buf->cursor = start + len;
			return im;
		}
		buf->cursor = start;
		im = model_from_image(buf, flinfo->fn_mcxt);
	}
	else
		invalid_state("unknown form of the model");

	old = MemoryContextSwitchTo(flinfo->fn_mcxt);
	flinfo->fn_extra = lappend(models, im);
	MemoryContextSwitchTo(old);
	return im;
}

PG_FUNCTION_INFO_V1(interest_vector_deserialfn);
Datum
interest_vector_deserialfn(PG_FUNCTION_ARGS)
{
	bytea	   *sstate;
	StringInfoData buf;
	IvModel    *im;
	IvState    *state;
	int			dated;

	if (!AggCheckCallContext(fcinfo, NULL))
		elog(ERROR, "interest_vector_deserialfn called in non-aggregate context");
	sstate = PG_GETARG_BYTEA_PP(0);

	/* Read in place; the pq_getmsg functions only read. */
	buf.data = VARDATA_ANY(sstate);
	buf.len = VARSIZE_ANY_EXHDR(sstate);
	buf.maxlen = buf.len;
	buf.cursor = 0;

	if (pq_getmsgbyte(&buf) != STATE_FORMAT)
		invalid_state("unknown format");
	im = read_model(fcinfo->flinfo, &buf);

	/* The combine function copies it into the aggregate's context. */
	state = state_create(im, CurrentMemoryContext);
	state->projected = true;
	dated = pq_getmsgbyte(&buf);
	if (dated == 1)
	{
		state->dated = true;
		state->t_max = pq_getmsgfloat8(&buf);
		state->z = pq_getmsgfloat8(&buf);
		state->count = pq_getmsgint64(&buf);
		if (state->count < 0)
			invalid_state("bad behaviour count");
		if (!isfinite(state->t_max) || !isfinite(state->z) || state->z < 0)
			invalid_state("bad time or weight");
		for (int k = 0; k < im->dim; k++)
		{
			state->sum[k] = pq_getmsgfloat8(&buf);
			if (!isfinite(state->sum[k]))
				invalid_state("sum is not finite");
		}
	}
	else if (dated != 0)
		invalid_state("bad flag");
	pq_getmsgend(&buf);

	PG_RETURN_POINTER(state);
}

static ArrayType *
float_array(const float *x, int n)
{
	Datum	   *elems = palloc(sizeof(Datum) * n);

	for (int i = 0; i < n; i++)
		elems[i] = Float4GetDatum(x[i]);
	return construct_array(elems, n, FLOAT4OID, sizeof(float4), true, TYPALIGN_INT);
}

PG_FUNCTION_INFO_V1(interest_vector_finalfn);
Datum
interest_vector_finalfn(PG_FUNCTION_ARGS)
{
	IvState    *state;
	IvModel    *im;
	int			d;
	double		scale = 0;
	float	   *ulin;
	float	   *u;
	float	   *z;
	CsNet		net;
	int32		state_count;

	if (!AggCheckCallContext(fcinfo, NULL))
		elog(ERROR, "interest_vector_finalfn called in non-aggregate context");
	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	state = (IvState *) PG_GETARG_POINTER(0);
	im = state->model;
	d = im->dim;
	state_count = (int32) Min(state->count, PG_INT32_MAX);

	cs_blas_prepare();
	net.dim = d;
	net.hidden = im->hidden;
	net.user_base = im->user_base;
	net.size_vectors = im->size_vectors;
	net.user_values = NULL;
	net.history = im->history;
	net.w1 = im->w1;
	net.b1 = im->b1;
	net.w2 = im->w2;
	ulin = palloc(sizeof(float) * d);
	u = palloc(sizeof(float) * d);
	z = palloc(sizeof(float) * Max(im->hidden, 1));

	/* The state stays as it is: a window aggregate goes on with it. */
	if (state->dated && state->z > MIN_HISTORY_WEIGHT)
		scale = 1.0 / (state->z + im->history_prior);
	/* a history every weight of which rounds to zero counts as none, as in serving */
	if (scale == 0)
		state_count = 0;
	if (state->projected)
	{
		const float *sv = im->size_vectors + (Size) cs_size_bucket(state_count) * d;

		for (int k = 0; k < d; k++)
			ulin[k] = im->user_base[k] + sv[k] + (float) (state->sum[k] * scale);
		cs_net_hidden(&net, 1, ulin, z, u);
	}
	else
	{
		float	   *h = palloc(sizeof(float) * d);

		if (im->history == NULL)
			elog(ERROR, "interest_vector state has no history weights");
		for (int k = 0; k < d; k++)
			h[k] = (float) (state->sum[k] * scale);
		cs_net_users(&net, 1, h, &state_count, NULL, NULL, NULL, ulin, z, u);
	}
	PG_RETURN_ARRAYTYPE_P(float_array(u, d));
}

/* ---------- item vectors ---------- */

PG_FUNCTION_INFO_V1(coldstart_item_vector);
Datum
coldstart_item_vector(PG_FUNCTION_ARGS)
{
	IvModelCache *c = model_cache_get(fcinfo->flinfo, PG_GETARG_DATUM(0),
									  get_fn_expr_arg_stable(fcinfo->flinfo, 0));
	int			i = cs_model_find_item(&c->m, PG_GETARG_INT64(1));

	if (i < 0)
		PG_RETURN_NULL();
	PG_RETURN_ARRAYTYPE_P(float_array(c->m.item_vectors + (Size) i * c->m.dim, c->m.dim));
}

PG_FUNCTION_INFO_V1(coldstart_item_bias);
Datum
coldstart_item_bias(PG_FUNCTION_ARGS)
{
	IvModelCache *c = model_cache_get(fcinfo->flinfo, PG_GETARG_DATUM(0),
									  get_fn_expr_arg_stable(fcinfo->flinfo, 0));
	int			i = cs_model_find_item(&c->m, PG_GETARG_INT64(1));

	if (i < 0)
		PG_RETURN_NULL();
	PG_RETURN_FLOAT4(c->m.item_bias[i]);
}
