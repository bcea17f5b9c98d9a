/*
 * train.c
 *	  Training the softmax interest model (see net.h for the model).
 *
 * Every prefix of a training user's time-ordered history, the empty one
 * included, is an example: the behaviours before the prefix's end describe
 * the user exactly as a cold user would be described at serving time, and
 * the items that follow are the targets (the next one, one drawn at random,
 * or all of them as a distribution: option "target").
 *
 * Each mini-batch gathers the vectors of the items it needs, computes the
 * users' vectors, the logits and their gradients with sgemm, and
 * backpropagates into item ids, item features, the content projection, user
 * attributes and the history/hidden layers.  With a catalogue up to
 * "full_softmax_items" the softmax runs over every item; beyond, over
 * "negatives" items shared by the batch, sampled by popularity, with the
 * log-Q correction.  Adam updates only the rows a batch touched.
 *
 * Everything is sequential and seeded: with one BLAS thread the same data,
 * options and seed give the same bytes.
 */
#include "postgres.h"

#include <math.h>

#include "miscadmin.h"
#include "portability/instr_time.h"
#include "utils/memutils.h"

#include "blas.h"
#include "coldstart.h"
#include "model.h"
#include "net.h"
#include "topk.h"
#include "train.h"
#include "vec.h"

#define ADAM_B1		0.9f
#define ADAM_B2		0.999f
#define ADAM_EPS	1e-8f

#define MAX_VALIDATION_USERS	2000
#define VALIDATION_K			20
#define VALIDATION_SCORE_FLOATS (4 * 1024 * 1024)

/* ---------- random numbers ---------- */

static inline uint64
rotl(uint64 x, int k)
{
	return (x << k) | (x >> (64 - k));
}

void
cs_random_seed(CsRandom *r, uint64 seed)
{
	/* splitmix64 spreads the seed over the state */
	for (int i = 0; i < 4; i++)
	{
		uint64		z = (seed += UINT64CONST(0x9E3779B97F4A7C15));

		z = (z ^ (z >> 30)) * UINT64CONST(0xBF58476D1CE4E5B9);
		z = (z ^ (z >> 27)) * UINT64CONST(0x94D049BB133111EB);
		r->s[i] = z ^ (z >> 31);
	}
}

uint64
cs_random_next(CsRandom *r)
{
	uint64		result = rotl(r->s[1] * 5, 7) * 9;
	uint64		t = r->s[1] << 17;

	r->s[2] ^= r->s[0];
	r->s[3] ^= r->s[1];
	r->s[1] ^= r->s[2];
	r->s[0] ^= r->s[3];
	r->s[2] ^= t;
	r->s[3] = rotl(r->s[3], 45);
	return result;
}

double
cs_random_double(CsRandom *r)
{
	return (cs_random_next(r) >> 11) * (1.0 / 9007199254740992.0);
}

uint64
cs_random_below(CsRandom *r, uint64 n)
{
	return n <= 1 ? 0 : (uint64) (cs_random_double(r) * n) % n;
}

static float
random_normal(CsRandom *r)
{
	double		u1 = cs_random_double(r),
				u2 = cs_random_double(r);

	return (float) (sqrt(-2.0 * log(u1 + 1e-300)) * cos(2.0 * M_PI * u2));
}

/* ---------- parameters ---------- */

enum
{
	T_E,						/* item id embeddings */
	T_BE,						/* item id biases */
	T_F,						/* item feature value embeddings */
	T_BF,						/* item feature value biases */
	T_P,						/* content projection */
	T_A,						/* user attribute value embeddings */
	T_U0,						/* base user vector */
	T_W,						/* history -> user */
	T_W1,
	T_B1,
	T_W2,
	T_M,						/* worth of a content match, per item column */
	T_S,						/* vectors by history size */
	T_COUNT
};

typedef struct Table
{
	int			rows;
	int			cols;
	bool		sparse;			/* update only the rows a batch touched */
	float	   *w;
	float	   *g;
	float	   *m;
	float	   *v;
	float	   *best;
	float	   *ema;			/* moving average of w, or NULL */
	float		lr_scale;		/* multiplies the learning rate */
	float		l2;				/* weight decay */
	uint8	   *touched;
	int32	   *list;
	int			n_list;
} Table;

typedef struct Example
{
	int32		user;
	int32		prefix;
} Example;

typedef struct Trainer
{
	const CsDataset *ds;
	const CsHistories *h;
	const CsOptions *o;
	int			d;
	int			hid;
	int			n_items;
	int			c;
	bool		sampled;
	int			L;
	Table		t[T_COUNT];
	int64		step;
	CsRandom	rng;

	/* distinct items of each user, in order of first behaviour */
	int64	   *dstart;
	int32	   *ditems;
	int64	   *dfirst;			/* index (within the user) of the first event */

	/* popularity: distinct training users per item */
	float	   *count;
	double	   *q_cum;			/* sampled softmax: cumulative proposal */
	float	   *logq;

	/* batch state */
	int			B;
	int			n_slots;
	int			max_slots;
	int32	   *slot_item;
	int32	   *item_slot;
	double		hist_scale;		/* of the last add_history(): sum of weights + prior */
	double		val_by_n[4];	/* validation recall per number of revealed items */
	int			val_count_by_n[4];
	float		match_factor;	/* of the match weights, chosen on validation users */
	float		bias_scale;		/* served score u.v + bias_scale * b (option, or chosen) */
	uint32	   *mark;			/* per item: stamp of the row that masks it */
	uint32		stamp;
	float	   *Vs;
	float	   *bs;
	float	   *dVs;
	float	   *dbs;
	float	   *Cs;
	float	   *H;
	float	   *dH;
	float	   *Ulin;
	float	   *Z;
	float	   *U;
	float	   *dU;
	float	   *dUlin;
	float	   *dZ;
	float	   *S;
	float	   *Vneg;
	float	   *bneg;
	int32	   *neg_slot;
	float	   *pos;
	float	   *rho;
	int32	   *target_slot;
	int64	   *hist_start;
	int32	   *hist_n;			/* behaviours in each row's history */
	int32	   *hist_slot;
	float	   *hist_w;
	int64	   *attr_start;
	int32	   *attr_rows;
	float	   *attr_w;

	/* content match: index of item values, and each row's history profile */
	CsMatchIndex mi;
	CsMatchProfile prof;
	int64	   *hv_start;
	int32	   *hv_row;
	float	   *hv_val;
	int64		max_hv;

	/* sampled softmax: the batch's negatives by feature value (inverted) */
	int32	   *val_slot;		/* [n_values]: -1, or index among nv_of */
	int32	   *nv_of;			/* the values the negatives have */
	int32	   *nv_start;		/* [n_nv + 1] */
	int32	   *nv_neg;			/* negative j having it */
	float	   *nv_w;			/* and its weight */
	int			n_nv;
	float	   *mrow;			/* [negatives]: one row's content match */

	/* full item vectors for validation and the final model */
	float	   *Vall;
	float	   *ball;
	float	   *Sval;
	MemoryContext batchcxt;
} Trainer;

static void
table_init(Table *t, int rows, int cols, bool sparse, Size *bytes)
{
	Size		n = (Size) rows * cols;

	t->rows = rows;
	t->cols = cols;
	t->sparse = sparse;
	t->lr_scale = 1.0f;

	t->w = cs_alloc_huge(sizeof(float) * n);
	t->g = cs_alloc_huge(sizeof(float) * n);
	t->m = cs_alloc_huge(sizeof(float) * n);
	t->v = cs_alloc_huge(sizeof(float) * n);
	t->best = cs_alloc_huge(sizeof(float) * n);
	if (sparse)
	{
		t->touched = cs_alloc_huge(Max(rows, 1));
		t->list = cs_alloc_huge(sizeof(int32) * Max(rows, 1));
	}
	*bytes += sizeof(float) * n * 5;
}

static inline void
touch(Table *t, int row)
{
	if (t->sparse && !t->touched[row])
	{
		t->touched[row] = 1;
		t->list[t->n_list++] = row;
	}
}

/* rows [row, row + n); vectorized, with the same bytes as a plain loop */
static void
adam_rows(Table *t, int row, int n, float lr, float l2, float c1, float c2)
{
	Size		off = (Size) row * t->cols;

	cs_vec_adam(t->w + off, t->g + off, t->m + off, t->v + off, (int64) n * t->cols,
				lr, l2, c1, c2, ADAM_B1, ADAM_B2, ADAM_EPS);
}

static void
adam_step(Trainer *T)
{
	float		lr = (float) T->o->learning_rate;
	float		c1,
				c2;

	T->step++;
	c1 = 1.0f / (1.0f - powf(ADAM_B1, (float) T->step));
	c2 = 1.0f / (1.0f - powf(ADAM_B2, (float) T->step));
	for (int k = 0; k < T_COUNT; k++)
	{
		Table	   *t = &T->t[k];

		if (t->rows == 0 || t->cols == 0)
			continue;
		if (t->sparse)
		{
			for (int i = 0; i < t->n_list; i++)
			{
				adam_rows(t, t->list[i], 1, lr * t->lr_scale, t->l2, c1, c2);
				t->touched[t->list[i]] = 0;
			}
			t->n_list = 0;
		}
		else
			adam_rows(t, 0, t->rows, lr * t->lr_scale, t->l2, c1, c2);
	}
}

/* ---------- item vectors ---------- */

/*
 * Whether item i gets an id embedding and bias of its own.  A rare item is
 * its features and its popularity prior: an id embedding or bias learned
 * from a handful of users only overfits.  An item no training user has is
 * scored from its features alone, exactly as refresh_items() scores one
 * added after training: trained only as a negative, its id parameters would
 * rank it below every other item for everyone, and whether an item ever gets
 * shown would depend on whether it arrived before or after the nightly
 * training.
 */
static inline bool
has_id(const Trainer *T, int i)
{
	return T->count[i] >= Max(T->o->min_item_count, 1);
}

/* V and b of the items in slots [from, to) */
static void
compute_items(Trainer *T, const int32 *items, int n, float *V, float *b, float *Cs)
{
	const CsFeatures *f = &T->ds->items;
	int			d = T->d;
	const float *E = T->t[T_E].w,
			   *bE = T->t[T_BE].w,
			   *F = T->t[T_F].w,
			   *bF = T->t[T_BF].w;

	for (int s = 0; s < n; s++)
	{
		int			i = items ? items[s] : s;
		float	   *v = V + (Size) s * d;

		memcpy(v, E + (Size) i * d, sizeof(float) * d);
		b[s] = bE[i];
		for (int64 k = f->row_start[i]; k < f->row_start[i + 1]; k++)
		{
			cblas_saxpy(d, f->weights[k], F + (Size) f->rows[k] * d, 1, v, 1);
			b[s] += f->weights[k] * bF[f->rows[k]];
		}
	}
	if (T->c > 0)
	{
		const float *C = f->dense;

		if (items)
		{
			for (int s = 0; s < n; s++)
				memcpy(Cs + (Size) s * T->c, f->dense + (Size) items[s] * T->c,
					   sizeof(float) * T->c);
			C = Cs;
		}
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, d, T->c,
					1.0f, C, T->c, T->t[T_P].w, d, 1.0f, V, d);
	}
}

/* Backpropagate dV, db of the slots into ids, features and the projection. */
static void
backprop_items(Trainer *T, int n)
{
	const CsFeatures *f = &T->ds->items;
	int			d = T->d;
	Table	   *E = &T->t[T_E],
			   *bE = &T->t[T_BE],
			   *F = &T->t[T_F],
			   *bF = &T->t[T_BF];

	for (int s = 0; s < n; s++)
	{
		int			i = T->sampled ? T->slot_item[s] : s;
		const float *dv = T->dVs + (Size) s * d;

		if (has_id(T, i))
		{
			touch(E, i);
			cblas_saxpy(d, 1.0f, dv, 1, E->g + (Size) i * d, 1);
			touch(bE, i);
			bE->g[i] += T->dbs[s];
		}
		for (int64 k = f->row_start[i]; k < f->row_start[i + 1]; k++)
		{
			int			row = f->rows[k];

			touch(F, row);
			touch(bF, row);
			cblas_saxpy(d, f->weights[k], dv, 1, F->g + (Size) row * d, 1);
			bF->g[row] += f->weights[k] * T->dbs[s];
		}
	}
	if (T->c > 0)
		cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, T->c, d, n,
					1.0f, T->sampled ? T->Cs : f->dense, T->c, T->dVs, d,
					1.0f, T->t[T_P].g, d);
}

static int
slot_of(Trainer *T, int item)
{
	int			s;

	if (!T->sampled)
		return item;
	s = T->item_slot[item];
	if (s < 0)
	{
		s = T->n_slots++;
		Assert(s < T->max_slots);
		T->item_slot[item] = s;
		T->slot_item[s] = item;
	}
	return s;
}

static void
reset_slots(Trainer *T)
{
	if (!T->sampled)
		return;
	for (int s = 0; s < T->n_slots; s++)
		T->item_slot[T->slot_item[s]] = -1;
	T->n_slots = 0;
}

/* ---------- the batch ---------- */

/*
 * The history of user u before its distinct item number p (0-based): the
 * last L behaviours before that item's first behaviour, as slots and
 * normalised weights appended to the batch's history lists.
 */
static void
add_history(Trainer *T, int u, int p, int64 *n_hist, bool learn)
{
	const CsHistories *h = T->h;
	const CsEvent *ev = h->events + h->start[u];
	int64		cut = T->dfirst[T->dstart[u] + p];
	int64		from = Max(0, cut - T->L);
	double		t_ref = cut > 0 ? ev[cut - 1].ts : 0;
	double		sum = 0;
	int64		first = *n_hist;

	for (int64 j = from; j < cut; j++)
	{
		float		w;

		/* dropout: learn not to lean on any single behaviour */
		if (learn && T->o->dropout > 0 && cs_random_double(&T->rng) < T->o->dropout)
			continue;
		w = cs_event_weight(T->ds->kind_weights[ev[j].kind], t_ref, ev[j].ts, T->o->half_life);

		T->hist_slot[*n_hist] = slot_of(T, ev[j].item);
		T->hist_w[*n_hist] = w;
		sum += w;
		(*n_hist)++;
	}
	/* a shrunk mean: a short history pulls the user less far from the prior */
	/* (all weights can underflow to 0 when the prior is 0: then no history) */
	for (int64 k = first; k < *n_hist; k++)
		T->hist_w[k] = sum + T->o->history_prior > 0 ?
			(float) (T->hist_w[k] / (sum + T->o->history_prior)) : 0.0f;
	T->hist_scale = sum + T->o->history_prior;
}

/*
 * The history profile of batch row r (hist entries [first, end)), appended
 * to the batch's profile lists.
 */
static void
add_profile(Trainer *T, int64 first, int64 end, double scale, int64 *n_hv)
{
	const CsFeatures *f = &T->ds->items;

	if (f->n_values == 0)
		return;
	for (int64 k = first; k < end; k++)
	{
		int			i = T->sampled ? T->slot_item[T->hist_slot[k]] : T->hist_slot[k];

		/* hist_w holds the normalised weights: the profile wants the raw ones */
		cs_profile_add(&T->prof, (float) (T->hist_w[k] * scale), (int) (f->row_start[i + 1] - f->row_start[i]),
					   f->rows + f->row_start[i], f->weights + f->row_start[i]);
	}
	cs_profile_finish(&T->prof);
	Assert(*n_hv + T->prof.n <= T->max_hv);
	memcpy(T->hv_row + *n_hv, T->prof.rows, sizeof(int32) * T->prof.n);
	memcpy(T->hv_val + *n_hv, T->prof.vals, sizeof(float) * T->prof.n);
	*n_hv += T->prof.n;
	T->prof.n = 0;
}

/*
 * The negatives of a batch by feature value, so that a row's content match
 * with all of them walks only the values its profile has: a profile rarely
 * holds more than a few of a negative's values, and the item-by-item walk
 * (item_match()) read them all, twice, for every row.
 */
static void
index_negatives(Trainer *T)
{
	const CsFeatures *f = &T->ds->items;
	int			ncand = T->o->negatives;
	int32	   *fill;

	for (int v = 0; v < T->n_nv; v++)
		T->val_slot[T->nv_of[v]] = -1;
	T->n_nv = 0;
	if (f->n_values == 0)
		return;
	for (int j = 0; j < ncand; j++)
	{
		int			i = T->slot_item[T->neg_slot[j]];

		for (int64 q = f->row_start[i]; q < f->row_start[i + 1]; q++)
		{
			int			k = f->rows[q];

			if (T->val_slot[k] < 0)
			{
				T->val_slot[k] = T->n_nv;
				T->nv_of[T->n_nv] = k;
				T->nv_start[++T->n_nv] = 0;
			}
			T->nv_start[T->val_slot[k] + 1]++;
		}
	}
	T->nv_start[0] = 0;
	for (int v = 0; v < T->n_nv; v++)
		T->nv_start[v + 1] += T->nv_start[v];
	fill = palloc(sizeof(int32) * Max(T->n_nv, 1));
	memcpy(fill, T->nv_start, sizeof(int32) * T->n_nv);
	for (int j = 0; j < ncand; j++)
	{
		int			i = T->slot_item[T->neg_slot[j]];

		for (int64 q = f->row_start[i]; q < f->row_start[i + 1]; q++)
		{
			int32		at = fill[T->val_slot[f->rows[q]]]++;

			T->nv_neg[at] = j;
			T->nv_w[at] = f->weights[q];
		}
	}
	pfree(fill);
}

/* mrow[j] = content match of negative j with the profile of batch row r */
static void
negatives_match(Trainer *T, int r)
{
	const float *gamma = T->t[T_M].w;

	memset(T->mrow, 0, sizeof(float) * T->o->negatives);
	for (int64 q = T->hv_start[r]; q < T->hv_start[r + 1]; q++)
	{
		int			k = T->hv_row[q];
		int			v = T->val_slot[k];
		float		g;

		if (v < 0)
			continue;
		g = gamma[T->mi.value_col[k]] * T->hv_val[q];
		for (int32 e = T->nv_start[v]; e < T->nv_start[v + 1]; e++)
			T->mrow[T->nv_neg[e]] += g * T->nv_w[e];
	}
}

/* d(loss)/d(gamma) of row r's negatives, given d(loss)/d(logit) in ds */
static void
negatives_match_grad(Trainer *T, int r, const float *ds)
{
	float	   *dgamma = T->t[T_M].g;

	for (int64 q = T->hv_start[r]; q < T->hv_start[r + 1]; q++)
	{
		int			k = T->hv_row[q];
		int			v = T->val_slot[k];
		float		acc = 0;

		if (v < 0)
			continue;
		for (int32 e = T->nv_start[v]; e < T->nv_start[v + 1]; e++)
			acc += ds[T->nv_neg[e]] * T->nv_w[e];
		dgamma[T->mi.value_col[k]] += acc * T->hv_val[q];
	}
}

/* Content match of one item against the profile in T->prof.dense. */
static float
item_match(const Trainer *T, int item)
{
	const CsFeatures *f = &T->ds->items;
	const float *gamma = T->t[T_M].w;
	float		s = 0;

	for (int64 q = f->row_start[item]; q < f->row_start[item + 1]; q++)
		s += gamma[T->mi.value_col[f->rows[q]]] * f->weights[q] * T->prof.dense[f->rows[q]];
	return s;
}

/* d(loss)/d(gamma) of one item's match, given d(loss)/d(logit) */
static void
item_match_grad(Trainer *T, int item, float dlogit)
{
	const CsFeatures *f = &T->ds->items;
	float	   *dgamma = T->t[T_M].g;

	for (int64 q = f->row_start[item]; q < f->row_start[item + 1]; q++)
		dgamma[T->mi.value_col[f->rows[q]]] += dlogit * f->weights[q] * T->prof.dense[f->rows[q]];
}

static void
scatter_profile(Trainer *T, int r, bool set)
{
	for (int64 q = T->hv_start[r]; q < T->hv_start[r + 1]; q++)
		T->prof.dense[T->hv_row[q]] = set ? T->hv_val[q] : 0;
}

static int64
add_attrs(Trainer *T, int u, int64 n_attr)
{
	const CsFeatures *uf = &T->ds->users;
	int			e = T->h->attrs[u];

	if (e < 0)
		return n_attr;
	for (int64 k = uf->row_start[e]; k < uf->row_start[e + 1]; k++)
	{
		T->attr_rows[n_attr] = uf->rows[k];
		T->attr_w[n_attr++] = uf->weights[k];
	}
	return n_attr;
}

static double
softmax_row(float *s, int n)
{
	float		mx = cs_vec_max(s, n);
	double		sum = cs_vec_exp(s, n, mx);	/* -INFINITY gives 0 */

	cblas_sscal(n, (float) (1.0 / sum), s, 1);
	return sum;
}

/*
 * Forward (and, when learning, backward and update) over B examples.
 * Returns the summed loss.
 */
static double
run_batch(Trainer *T, const Example *ex, int B, bool learn)
{
	const CsOptions *o = T->o;
	int			d = T->d;
	int			n = T->n_items;
	int64		n_hist = 0,
				n_attr = 0,
				n_hv = 0;
	int			ncand;
	double		loss = 0;
	float	   *cand;
	double		rho_sum = 0;

	reset_slots(T);

	/* targets and histories */
	for (int r = 0; r < B; r++)
	{
		int			u = ex[r].user,
					p = ex[r].prefix;
		int			m = (int) (T->dstart[u + 1] - T->dstart[u]);
		int			t;

		T->hist_start[r] = n_hist;
		add_history(T, u, p, &n_hist, learn);
		T->hv_start[r] = n_hv;
		add_profile(T, T->hist_start[r], n_hist, T->hist_scale, &n_hv);
		T->attr_start[r] = n_attr;
		n_attr = add_attrs(T, u, n_attr);
		if (o->target == CS_TARGET_NEXT)
			t = p;
		else if (o->target == CS_TARGET_LATER || T->sampled)
			t = p + (int) cs_random_below(&T->rng, m - p);
		else
			t = -1;
		T->target_slot[r] = t < 0 ? -1 : slot_of(T, T->ditems[T->dstart[u] + t]);
	}
	T->hist_start[B] = n_hist;
	T->hv_start[B] = n_hv;
	T->attr_start[B] = n_attr;

	if (T->sampled)
	{
		for (int j = 0; j < o->negatives; j++)
		{
			double		x = cs_random_double(&T->rng) * T->q_cum[n - 1];
			int			lo = 0,
						hi = n - 1;

			while (lo < hi)
			{
				int			mid = (lo + hi) / 2;

				if (T->q_cum[mid] <= x)
					lo = mid + 1;
				else
					hi = mid;
			}
			T->neg_slot[j] = slot_of(T, lo);
		}
		index_negatives(T);
		compute_items(T, T->slot_item, T->n_slots, T->Vs, T->bs, T->Cs);
	}
	else
		compute_items(T, NULL, n, T->Vs, T->bs, NULL);

	/* user vectors */
	memset(T->H, 0, sizeof(float) * (Size) B * d);
	for (int r = 0; r < B; r++)
		for (int64 k = T->hist_start[r]; k < T->hist_start[r + 1]; k++)
			cblas_saxpy(d, T->hist_w[k], T->Vs + (Size) T->hist_slot[k] * d, 1,
						T->H + (Size) r * d, 1);
	{
		CsNet		net = {d, T->hid, T->t[T_U0].w, T->t[T_A].w, T->t[T_W].w,
		T->t[T_W1].w, T->t[T_B1].w, T->t[T_W2].w, T->t[T_S].w};

		for (int r = 0; r < B; r++)
			T->hist_n[r] = (int32) (T->hist_start[r + 1] - T->hist_start[r]);
		cs_net_users(&net, B, T->H, T->hist_n, T->attr_start, T->attr_rows, T->attr_w,
					 T->Ulin, T->Z, T->U);
	}

	/* logits over the candidates */
	if (T->sampled)
	{
		ncand = o->negatives;
		for (int j = 0; j < ncand; j++)
		{
			memcpy(T->Vneg + (Size) j * d, T->Vs + (Size) T->neg_slot[j] * d, sizeof(float) * d);
			T->bneg[j] = T->bs[T->neg_slot[j]] - T->logq[T->slot_item[T->neg_slot[j]]];
		}
		cand = T->Vneg;
	}
	else
	{
		ncand = n;
		cand = T->Vs;
	}
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B, ncand, d,
				1.0f, T->U, d, cand, d, 0.0f, T->S, ncand);

	/*
	 * Example weights: |targets|^(1 - target_balance).  With balance 1 every
	 * example weighs the same; with 0 every target does, which makes the
	 * model rank by how many users go on to want an item.
	 */
	for (int r = 0; r < B; r++)
	{
		int			u = ex[r].user;
		int			m = (int) (T->dstart[u + 1] - T->dstart[u]);

		T->rho[r] = (float) pow(m - ex[r].prefix, 1.0 - o->target_balance);
		rho_sum += T->rho[r];
	}

	for (int r = 0; r < B; r++)
	{
		int			u = ex[r].user,
					p = ex[r].prefix;
		int			m = (int) (T->dstart[u + 1] - T->dstart[u]);
		const int32 *di = T->ditems + T->dstart[u];
		float	   *s = T->S + (Size) r * ncand;
		uint32		stamp = ++T->stamp;
		float		inv_b = (float) (T->rho[r] / rho_sum);
		double		loss_before = loss;

		if (T->sampled)
		{
			int			ts = T->target_slot[r];
			int			ti = T->slot_item[ts];
			float		sp;
			double		sum,
						log_sum;
			float		mx;

			/* mask the user's own items and accidental hits of the target */
			for (int j = 0; j < p; j++)
				T->mark[di[j]] = stamp;
			T->mark[ti] = stamp;
			scatter_profile(T, r, true);
			sp = cblas_sdot(d, T->U + (Size) r * d, 1, T->Vs + (Size) ts * d, 1) +
				T->bs[ts] - T->logq[ti] + item_match(T, ti);
			mx = sp;
			negatives_match(T, r);
			for (int j = 0; j < ncand; j++)
			{
				if (T->mark[T->slot_item[T->neg_slot[j]]] == stamp)
					s[j] = -INFINITY;
				else
				{
					s[j] += T->bneg[j] + T->mrow[j];
					if (s[j] > mx)
						mx = s[j];
				}
			}
			/* masked candidates (-INFINITY) get 0 */
			sum = expf(sp - mx) + cs_vec_exp(s, ncand, mx);
			log_sum = log(sum);
			loss += -(sp - mx - log_sum);
			T->pos[r] = (float) (exp(sp - mx - log_sum) - 1.0) * inv_b;
			cblas_sscal(ncand, (float) (inv_b / sum), s, 1);
			if (learn)
			{
				item_match_grad(T, ti, T->pos[r]);
				negatives_match_grad(T, r, s);
			}
			scatter_profile(T, r, false);
		}
		else
		{
			cblas_saxpy(n, 1.0f, T->bs, 1, s, 1);	/* s += bs, vectorized */
			cs_match_add(&T->mi, T->t[T_M].w, (int) (T->hv_start[r + 1] - T->hv_start[r]),
						 T->hv_row + T->hv_start[r], T->hv_val + T->hv_start[r], s);
			for (int j = 0; j < p; j++)
				s[di[j]] = -INFINITY;
			softmax_row(s, n);
			if (T->target_slot[r] >= 0)
			{
				int			t = T->target_slot[r];

				loss += -log(Max(s[t], 1e-30f));
				cblas_sscal(n, inv_b, s, 1);
				s[t] -= inv_b;
			}
			else
			{
				float		y = 1.0f / (m - p);

				for (int j = p; j < m; j++)
					loss += -y * log(Max(s[di[j]], 1e-30f));
				cblas_sscal(n, inv_b, s, 1);
				for (int j = p; j < m; j++)
					s[di[j]] -= y * inv_b;
			}
		}
		/* report the weighted mean loss */
		loss = loss_before + (loss - loss_before) * inv_b * B;
	}
	if (!isfinite(loss))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("training diverged: the loss is not a finite number"),
				 errhint("Lower the option \"learning_rate\" (now %g).", o->learning_rate)));
	if (!learn)
		return loss;

	/* backward: S now holds dL/dlogits */
	memset(T->dVs, 0, sizeof(float) * (Size) (T->sampled ? T->n_slots : n) * d);
	memset(T->dbs, 0, sizeof(float) * (T->sampled ? T->n_slots : n));
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, B, d, ncand,
				1.0f, T->S, ncand, cand, d, 0.0f, T->dU, d);
	if (T->sampled)
	{
		/* dVneg = S' U, scattered back to the slots; positives apart */
		cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, ncand, d, B,
					1.0f, T->S, ncand, T->U, d, 0.0f, T->Vneg, d);
		/* column sums of S, row by row (bneg is free now): same sums, in order */
		memset(T->bneg, 0, sizeof(float) * ncand);
		for (int r = 0; r < B; r++)
			cblas_saxpy(ncand, 1.0f, T->S + (Size) r * ncand, 1, T->bneg, 1);
		for (int j = 0; j < ncand; j++)
		{
			cblas_saxpy(d, 1.0f, T->Vneg + (Size) j * d, 1, T->dVs + (Size) T->neg_slot[j] * d, 1);
			T->dbs[T->neg_slot[j]] += T->bneg[j];
		}
		for (int r = 0; r < B; r++)
		{
			int			ts = T->target_slot[r];

			cblas_saxpy(d, T->pos[r], T->Vs + (Size) ts * d, 1, T->dU + (Size) r * d, 1);
			cblas_saxpy(d, T->pos[r], T->U + (Size) r * d, 1, T->dVs + (Size) ts * d, 1);
			T->dbs[ts] += T->pos[r];
		}
	}
	else
	{
		cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, n, d, B,
					1.0f, T->S, n, T->U, d, 0.0f, T->dVs, d);
		for (int r = 0; r < B; r++)
		{
			const float *ds = T->S + (Size) r * n;

			cblas_saxpy(n, 1.0f, ds, 1, T->dbs, 1);
			/* d gamma: each profile value times the gradient of the items carrying it */
			for (int64 q = T->hv_start[r]; q < T->hv_start[r + 1]; q++)
			{
				int			k = T->hv_row[q];
				double		g = 0;

				for (int64 a = T->mi.start[k]; a < T->mi.start[k + 1]; a++)
					g += ds[T->mi.items[a]] * T->mi.weights[a];
				T->t[T_M].g[T->mi.value_col[k]] += (float) (g * T->hv_val[q]);
			}
		}
	}

	/* hidden layer: U = Ulin + relu(Ulin W1' + b1) W2' */
	memcpy(T->dUlin, T->dU, sizeof(float) * (Size) B * d);
	if (T->hid > 0)
	{
		int			hd = T->hid;

		cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, d, hd, B,
					1.0f, T->dU, d, T->Z, hd, 1.0f, T->t[T_W2].g, hd);
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, B, hd, d,
					1.0f, T->dU, d, T->t[T_W2].w, hd, 0.0f, T->dZ, hd);
		for (Size i = 0; i < (Size) B * hd; i++)
			if (T->Z[i] <= 0)
				T->dZ[i] = 0;
		cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, hd, d, B,
					1.0f, T->dZ, hd, T->Ulin, d, 1.0f, T->t[T_W1].g, d);
		for (int r = 0; r < B; r++)
			cblas_saxpy(hd, 1.0f, T->dZ + (Size) r * hd, 1, T->t[T_B1].g, 1);
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, B, d, hd,
					1.0f, T->dZ, hd, T->t[T_W1].w, d, 1.0f, T->dUlin, d);
	}

	/* Ulin = u0 + attributes + H W' */
	cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, d, d, B,
				1.0f, T->dUlin, d, T->H, d, 1.0f, T->t[T_W].g, d);
	for (int r = 0; r < B; r++)
	{
		cblas_saxpy(d, 1.0f, T->dUlin + (Size) r * d, 1, T->t[T_U0].g, 1);
		cblas_saxpy(d, 1.0f, T->dUlin + (Size) r * d, 1,
					T->t[T_S].g + (Size) cs_size_bucket(T->hist_n[r]) * d, 1);
		for (int64 k = T->attr_start[r]; k < T->attr_start[r + 1]; k++)
		{
			touch(&T->t[T_A], T->attr_rows[k]);
			cblas_saxpy(d, T->attr_w[k], T->dUlin + (Size) r * d, 1,
						T->t[T_A].g + (Size) T->attr_rows[k] * d, 1);
		}
	}
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, B, d, d,
				1.0f, T->dUlin, d, T->t[T_W].w, d, 0.0f, T->dH, d);
	for (int r = 0; r < B; r++)
		for (int64 k = T->hist_start[r]; k < T->hist_start[r + 1]; k++)
			cblas_saxpy(d, T->hist_w[k], T->dH + (Size) r * d, 1,
						T->dVs + (Size) T->hist_slot[k] * d, 1);

	backprop_items(T, T->sampled ? T->n_slots : n);
	adam_step(T);
	return loss;
}

/* ---------- validation ---------- */

static const int validation_revealed[] = {0, 1, 3, 5};

/* Item vectors and biases of the whole catalogue into Vall/ball. */
static void
compute_all_items(Trainer *T)
{
	int			chunk = 4096;
	int32	   *ids = palloc(sizeof(int32) * chunk);

	for (int from = 0; from < T->n_items; from += chunk)
	{
		int			len = Min(chunk, T->n_items - from);

		for (int s = 0; s < len; s++)
			ids[s] = from + s;
		compute_items(T, ids, len, T->Vall + (Size) from * T->d, T->ball + from, T->Cs);
		CHECK_FOR_INTERRUPTS();
	}
	pfree(ids);
}

/*
 * Recall@20 and loss on validation users, revealing 0, 1, 3 and 5 items as
 * protocol CS-1 does.
 */
static void
validate(Trainer *T, const int32 *val_users, int n_val, double *metric, double *loss)
{
	int			d = T->d,
				n = T->n_items;
	int			Bv = Max(1, Min(T->B, VALIDATION_SCORE_FLOATS / n));
	Example    *ex = palloc(sizeof(Example) * Bv);
	int32	   *idx = palloc(sizeof(int32) * VALIDATION_K);
	float	   *val = palloc(sizeof(float) * VALIDATION_K);
	double		sum_recall = 0,
				sum_loss = 0,
				by_n[4] = {0};
	int64		count = 0;
	int			nb = 0;
	bool		saved_sampled = T->sampled;

	compute_all_items(T);
	/* histories are read from Vall: use identity slots */
	T->sampled = false;
	{
		float	   *saved_Vs = T->Vs;

		T->Vs = T->Vall;
		for (int i = 0; i <= n_val * lengthof(validation_revealed); i++)
		{
			bool		flush = (i == n_val * lengthof(validation_revealed));

			if (!flush)
			{
				int			u = val_users[i / lengthof(validation_revealed)];
				int			rev = validation_revealed[i % lengthof(validation_revealed)];
				int			m = (int) (T->dstart[u + 1] - T->dstart[u]);

				if (rev >= m)
					continue;
				ex[nb].user = u;
				ex[nb].prefix = rev;
				nb++;
			}
			if (nb == Bv || (flush && nb > 0))
			{
				int64		n_hist = 0,
							n_attr = 0,
							n_hv = 0;
				CsNet		net = {d, T->hid, T->t[T_U0].w, T->t[T_A].w, T->t[T_W].w,
				T->t[T_W1].w, T->t[T_B1].w, T->t[T_W2].w, T->t[T_S].w};

				for (int r = 0; r < nb; r++)
				{
					T->hist_start[r] = n_hist;
					add_history(T, ex[r].user, ex[r].prefix, &n_hist, false);
					T->hv_start[r] = n_hv;
					add_profile(T, T->hist_start[r], n_hist, T->hist_scale, &n_hv);
					T->attr_start[r] = n_attr;
					n_attr = add_attrs(T, ex[r].user, n_attr);
				}
				T->hist_start[nb] = n_hist;
				T->hv_start[nb] = n_hv;
				T->attr_start[nb] = n_attr;
				memset(T->H, 0, sizeof(float) * (Size) nb * d);
				for (int r = 0; r < nb; r++)
					for (int64 k = T->hist_start[r]; k < T->hist_start[r + 1]; k++)
						cblas_saxpy(d, T->hist_w[k], T->Vall + (Size) T->hist_slot[k] * d, 1,
									T->H + (Size) r * d, 1);
				for (int r = 0; r < nb; r++)
					T->hist_n[r] = (int32) (T->hist_start[r + 1] - T->hist_start[r]);
				cs_net_users(&net, nb, T->H, T->hist_n, T->attr_start, T->attr_rows, T->attr_w,
							 T->Ulin, T->Z, T->U);
				cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, nb, n, d,
							1.0f, T->U, d, T->Vall, d, 0.0f, T->Sval, n);
				for (int r = 0; r < nb; r++)
				{
					int			u = ex[r].user,
								p = ex[r].prefix;
					int			m = (int) (T->dstart[u + 1] - T->dstart[u]);
					const int32 *di = T->ditems + T->dstart[u];
					float	   *s = T->Sval + (Size) r * n;
					int			found,
								hits = 0,
								n_t = 0;
					float		mx = -INFINITY;
					double		lse = 0,
								recall;

					cblas_saxpy(n, T->bias_scale, T->ball, 1, s, 1);
					cs_match_add(&T->mi, T->t[T_M].w, (int) (T->hv_start[r + 1] - T->hv_start[r]),
								 T->hv_row + T->hv_start[r], T->hv_val + T->hv_start[r], s);

					/*
					 * Only items that training users have can be ranked or
					 * count as targets: one that only validation users have
					 * would be a give-away, not a prediction.
					 */
					for (int j = 0; j < p; j++)
						s[di[j]] = -INFINITY;
					for (int i = 0; i < n; i++)
						if (T->count[i] == 0)
							s[i] = -INFINITY;
					for (int j = p; j < m; j++)
						n_t += T->count[di[j]] > 0;
					if (n_t == 0)
						continue;
					found = cs_topk(s, n, VALIDATION_K, idx, val);
					for (int k = 0; k < found; k++)
						for (int j = p; j < m; j++)
							if (di[j] == idx[k])
								hits++;
					recall = (double) hits / Min(VALIDATION_K, n_t);
					sum_recall += recall;
					for (int q = 0; q < lengthof(validation_revealed); q++)
						if (validation_revealed[q] == p)
						{
							T->val_by_n[q] += recall;
							T->val_count_by_n[q]++;
						}
					mx = cs_vec_max(s, n);
					lse = mx + log(cs_vec_sum_exp(s, n, mx));
					for (int j = p; j < m; j++)
						if (T->count[di[j]] > 0)
							sum_loss += (lse - s[di[j]]) / n_t;
					count++;
				}
				nb = 0;
				CHECK_FOR_INTERRUPTS();
			}
		}
		T->Vs = saved_Vs;
	}
	T->sampled = saved_sampled;
	*metric = count > 0 ? sum_recall / count : NAN;
	for (int q = 0; q < lengthof(validation_revealed); q++)
	{
		by_n[q] = T->val_count_by_n[q] > 0 ? T->val_by_n[q] / T->val_count_by_n[q] : NAN;
		T->val_by_n[q] = 0;
		T->val_count_by_n[q] = 0;
	}
	elog(DEBUG1, "validation recall@20 by revealed items: 0: %.4f, 1: %.4f, 3: %.4f, 5: %.4f",
		 by_n[0], by_n[1], by_n[2], by_n[3]);
	*loss = count > 0 ? sum_loss / count : NAN;
	pfree(ex);
	pfree(idx);
	pfree(val);
}

/* ---------- set-up ---------- */

static void
init_params(Trainer *T)
{
	int			d = T->d;

	for (Size i = 0; i < (Size) T->t[T_E].rows * d; i++)
		T->t[T_E].w[i] = has_id(T, (int) (i / d)) ? 0.05f * random_normal(&T->rng) : 0.0f;
	for (Size i = 0; i < (Size) T->t[T_F].rows * d; i++)
		T->t[T_F].w[i] = (float) T->o->feature_scale * random_normal(&T->rng);
	for (Size i = 0; i < (Size) T->t[T_A].rows * d; i++)
		T->t[T_A].w[i] = 0.05f * random_normal(&T->rng);
	for (Size i = 0; i < (Size) T->t[T_P].rows * d; i++)
		T->t[T_P].w[i] = random_normal(&T->rng) * (0.1f / sqrtf((float) Max(T->c, 1)));
	for (int j = 0; j < d; j++)
		T->t[T_W].w[(Size) j * d + j] = 1.0f;
	for (int c = 0; c < T->t[T_M].rows; c++)
		T->t[T_M].w[c] = (float) T->o->match_init;
	for (Size i = 0; i < (Size) T->hid * d; i++)
		T->t[T_W1].w[i] = random_normal(&T->rng) * sqrtf(2.0f / d);

	/*
	 * Start the item biases at log popularity, so the prior is there from
	 * step one, measured from an item no user has had: such an item, like
	 * one added after training, has a bias of 0 before its features.  The
	 * softmax does not see the shift; refresh_items() needs it.
	 */
	for (int i = 0; i < T->n_items; i++)
		T->t[T_BE].w[i] = (float) log(T->count[i] + 1.0);
}

/*
 * Distinct users per item among the given users, and the sampled softmax's
 * proposal from them.  Only the users being trained on count: an item only
 * validation users have must look as unknown to the model as it is.
 */
static void
count_items(Trainer *T, const int32 *users, int n_users)
{
	memset(T->count, 0, sizeof(float) * T->n_items);
	for (int i = 0; i < n_users; i++)
		for (int64 k = T->dstart[users[i]]; k < T->dstart[users[i] + 1]; k++)
			T->count[T->ditems[k]] += 1;
	if (T->sampled)
	{
		/* proposal ~ popularity^0.75, every item possible */
		for (int i = 0; i < T->n_items; i++)
			T->q_cum[i] = (i > 0 ? T->q_cum[i - 1] : 0) + pow(T->count[i] + 1.0, 0.75);
		for (int i = 0; i < T->n_items; i++)
			T->logq[i] = (float) log(pow(T->count[i] + 1.0, 0.75) / T->q_cum[T->n_items - 1] *
									 T->o->negatives);
	}
}

static void
prepare_users(Trainer *T, Size *bytes)
{
	const CsHistories *h = T->h;
	int64		n_ev = h->start[h->n_users];

	T->dstart = cs_alloc_huge(sizeof(int64) * (h->n_users + 1));
	T->ditems = cs_alloc_huge(sizeof(int32) * Max(n_ev, 1));
	T->dfirst = cs_alloc_huge(sizeof(int64) * Max(n_ev, 1));
	*bytes += sizeof(int64) * (h->n_users + 1) + (sizeof(int32) + sizeof(int64)) * n_ev;
	T->count = cs_alloc_huge(sizeof(float) * T->n_items);
	for (int u = 0; u < h->n_users; u++)
	{
		int64		k = T->dstart[u];
		int			m = cs_history_distinct(h->events + h->start[u], h->start[u + 1] - h->start[u],
											T->ditems + k, T->dfirst + k);

		T->dstart[u + 1] = k + m;
		CHECK_FOR_INTERRUPTS();
	}
}

static void
alloc_batch(Trainer *T, Size *bytes)
{
	int			B = T->B,
				d = T->d,
				n = T->n_items;
	int			ncand = T->sampled ? T->o->negatives : n;
	int			hd = Max(T->hid, 1);
	int64		max_hist = (int64) B * T->L;
	int64		max_attr = 1;
	Size		before = *bytes;

	for (int e = 0; e < T->ds->users.n_entities; e++)
		max_attr = Max(max_attr, T->ds->users.row_start[e + 1] - T->ds->users.row_start[e]);
	max_attr *= B;

	/* slots: every history item, target and negative of a batch */
	T->max_slots = T->sampled ? (int) Min((int64) n, max_hist + B + T->o->negatives) : n;
	T->slot_item = cs_alloc_huge(sizeof(int32) * T->max_slots);
	T->item_slot = cs_alloc_huge(sizeof(int32) * n);
	for (int i = 0; i < n; i++)
		T->item_slot[i] = -1;
	T->mark = cs_alloc_huge(sizeof(uint32) * n);
	T->Vs = cs_alloc_huge(sizeof(float) * (Size) T->max_slots * d);
	T->dVs = cs_alloc_huge(sizeof(float) * (Size) T->max_slots * d);
	T->bs = cs_alloc_huge(sizeof(float) * T->max_slots);
	T->dbs = cs_alloc_huge(sizeof(float) * T->max_slots);
	T->Cs = cs_alloc_huge(sizeof(float) * (Size) Max(T->max_slots, 4096) * Max(T->c, 1));
	T->H = cs_alloc_huge(sizeof(float) * (Size) B * d);
	T->dH = cs_alloc_huge(sizeof(float) * (Size) B * d);
	T->Ulin = cs_alloc_huge(sizeof(float) * (Size) B * d);
	T->U = cs_alloc_huge(sizeof(float) * (Size) B * d);
	T->dU = cs_alloc_huge(sizeof(float) * (Size) B * d);
	T->dUlin = cs_alloc_huge(sizeof(float) * (Size) B * d);
	T->Z = cs_alloc_huge(sizeof(float) * (Size) B * hd);
	T->dZ = cs_alloc_huge(sizeof(float) * (Size) B * hd);
	T->S = cs_alloc_huge(sizeof(float) * (Size) B * ncand);
	T->Vneg = cs_alloc_huge(sizeof(float) * (Size) Max(ncand, B) * d);
	T->bneg = cs_alloc_huge(sizeof(float) * ncand);
	T->neg_slot = cs_alloc_huge(sizeof(int32) * ncand);
	T->pos = cs_alloc_huge(sizeof(float) * B);
	T->rho = cs_alloc_huge(sizeof(float) * B);
	T->target_slot = cs_alloc_huge(sizeof(int32) * B);
	T->hist_start = cs_alloc_huge(sizeof(int64) * (B + 1));
	T->hist_n = cs_alloc_huge(sizeof(int32) * (B + 1));
	T->hist_slot = cs_alloc_huge(sizeof(int32) * max_hist);
	T->hist_w = cs_alloc_huge(sizeof(float) * max_hist);
	T->attr_start = cs_alloc_huge(sizeof(int64) * (B + 1));
	T->attr_rows = cs_alloc_huge(sizeof(int32) * max_attr);
	T->attr_w = cs_alloc_huge(sizeof(float) * max_attr);
	T->Vall = cs_alloc_huge(sizeof(float) * (Size) n * d);
	T->ball = cs_alloc_huge(sizeof(float) * n);
	{
		const CsFeatures *f = &T->ds->items;
		int64		max_rows = 1;
		int32	   *first = palloc(sizeof(int32) * Max(f->n_columns, 1));
		int32	   *count = palloc(sizeof(int32) * Max(f->n_columns, 1));

		for (int i = 0; i < n; i++)
			max_rows = Max(max_rows, f->row_start[i + 1] - f->row_start[i]);
		T->max_hv = max_hist * max_rows;
		T->hv_start = cs_alloc_huge(sizeof(int64) * (B + 1));
		T->hv_row = cs_alloc_huge(sizeof(int32) * T->max_hv);
		T->hv_val = cs_alloc_huge(sizeof(float) * T->max_hv);
		if (T->sampled)
		{
			int64		max_nv = (int64) ncand * max_rows;

			T->val_slot = cs_alloc_huge(sizeof(int32) * Max(f->n_values, 1));
			for (int k = 0; k < f->n_values; k++)
				T->val_slot[k] = -1;
			T->nv_of = cs_alloc_huge(sizeof(int32) * max_nv);
			T->nv_start = cs_alloc_huge(sizeof(int32) * (max_nv + 1));
			T->nv_neg = cs_alloc_huge(sizeof(int32) * max_nv);
			T->nv_w = cs_alloc_huge(sizeof(float) * max_nv);
			T->mrow = cs_alloc_huge(sizeof(float) * ncand);
			*bytes += sizeof(int32) * (f->n_values + 3 * max_nv) + sizeof(float) * (max_nv + ncand);
		}
		for (int c = 0; c < f->n_columns; c++)
		{
			first[c] = f->columns[c].first;
			count[c] = f->columns[c].count;
		}
		cs_match_index_build(&T->mi, f->n_values, f->n_columns, first, count, n,
							 f->row_start, f->rows, f->weights);
		/* whole-catalogue rows (full softmax, validation) add the match faster */
		cs_match_index_dense(&T->mi, n, f->n_columns, first, count,
							 f->row_start, f->rows, f->weights);
		cs_profile_init(&T->prof, f->n_values);
		*bytes += (sizeof(int32) + sizeof(float)) * (T->max_hv + f->row_start[n]) +
			sizeof(float) * f->n_values;
	}
	T->Sval = cs_alloc_huge(sizeof(float) * (Size) Max(1, Min(B, VALIDATION_SCORE_FLOATS / n)) * n);
	*bytes += sizeof(float) * ((Size) T->max_slots * d * 2 + (Size) B * d * 6 + (Size) B * ncand +
							   (Size) ncand * d + (Size) n * (d + 1) +
							   (Size) Max(1, Min(B, VALIDATION_SCORE_FLOATS / n)) * n) +
		sizeof(int32) * ((Size) n * 2 + max_hist + max_attr) + sizeof(float) * (max_hist + max_attr);
	(void) before;
}

/* Rough bytes training will need, checked before anything big is allocated. */
static Size
estimate_bytes(const CsDataset *ds, const CsHistories *h, const CsOptions *o, bool sampled)
{
	Size		d = o->dim;
	Size		n = ds->n_items;
	Size		params = n * (d + 1) + (Size) ds->items.n_values * (d + 1) +
		(Size) ds->items.content_dim * d + (Size) ds->users.n_values * d + d + d * d +
		(Size) o->hidden * (2 * d + 1);
	Size		ncand = sampled ? (Size) o->negatives : n;
	Size		batch = (Size) o->batch_size * (ncand + 8 * d) + n * d * 2 + n * 8;
	Size		model = n * (d + 1) * 4 + params * 4 / 2;

	return ds->bytes + params * sizeof(float) * 5 + batch * sizeof(float) +
		(Size) h->start[h->n_users] * 12 + model;
}

static uint64
string_bytes(char *const *values, int n)
{
	uint64		bytes = 0;

	for (int i = 0; i < n; i++)
		if (values[i] != NULL)
			bytes += strlen(values[i]) + 1;
	return bytes;
}

/*
 * Refuse, before any training, a model bigger than a coldstart.model can
 * hold: the same layout build_model() makes, from the dataset's sizes.
 */
static void
check_model_size(const CsDataset *ds, const CsOptions *o, const char *options_json)
{
	CsModelHeader h;
	uint64		strings = 1 + string_bytes(ds->items.values, ds->items.n_values) +
		string_bytes(ds->users.values, ds->users.n_values) +
		string_bytes(ds->kind_names, ds->n_kinds) + string_bytes(ds->labels, ds->n_labels);
	uint64		bytes;

	for (int c = 0; c < ds->items.n_columns; c++)
		strings += strlen(ds->items.columns[c].name) + 1;
	for (int c = 0; c < ds->users.n_columns; c++)
		strings += strlen(ds->users.columns[c].name) + 1;
	memset(&h, 0, sizeof(h));
	h.dim = o->dim;
	h.hidden = o->hidden;
	h.n_items = ds->n_items;
	h.n_item_columns = ds->items.n_columns;
	h.n_item_values = ds->items.n_values;
	h.n_user_columns = ds->users.n_columns;
	h.n_user_values = ds->users.n_values;
	h.content_dim = ds->items.content_dim;
	h.n_kinds = ds->n_kinds;
	h.n_labels = ds->n_labels;
	h.n_edges = ds->items.n_edges + ds->users.n_edges;
	h.n_item_rows = ds->items.row_start[ds->n_items];
	bytes = cs_model_layout_size(&h, strings, strlen(options_json) + 1);
	cs_model_check_size(bytes, &h);
}

/*
 * Parameters beyond CS_MAX_PARAM in magnitude mean that training has
 * diverged: scores made of them would overflow.  (The model format itself
 * only requires finite numbers, which models stored before this check met.)
 */
static void
check_floats_bounded(const float *x, Size n, const char *what, const CsOptions *o)
{
	int64		i = cs_first_unbounded(x, (int64) n);

	if (i >= 0)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("training diverged: %s grew to %g, beyond the largest magnitude a model may hold (%g)",
						what, (double) x[i], (double) CS_MAX_PARAM),
				 o->bias_scale > 1 ?
				 errhint("Lower the option \"learning_rate\" (now %g), or \"bias_scale\" (now %g).",
						 o->learning_rate, o->bias_scale) :
				 errhint("Lower the option \"learning_rate\" (now %g).", o->learning_rate)));
}

static void
check_magnitudes(Trainer *T)
{
	check_floats_bounded(T->Vall, (Size) T->n_items * T->d, "an item vector", T->o);
	check_floats_bounded(T->ball, T->n_items, "an item bias", T->o);
	for (int k = 0; k < T_COUNT; k++)
		check_floats_bounded(T->t[k].w, (Size) T->t[k].rows * T->t[k].cols, "a parameter", T->o);
}

static void
build_model(Trainer *T, const char *options_json, CsTrainResult *res)
{
	const CsDataset *ds = T->ds;
	CsModelBuilder b;
	CsColumn   *icol,
			   *ucol;
	uint32	   *ivals,
			   *uvals;
	CsKind	   *kinds;
	CsLabel    *labels;
	double	   *edges;
	float	   *hidden;
	int			d = T->d,
				hd = T->hid;
	int			n_edges = ds->items.n_edges + ds->users.n_edges;

	compute_all_items(T);
	/*
	 * The served score is u.v + bias_scale * b: biases (of the items, and of
	 * the feature values new items get theirs from) are stored scaled, so
	 * that recommend(), refresh_items(), explain() and item_bias() agree.
	 * Validation scored the same way (validate()).
	 */
	if (T->bias_scale != 1)
	{
		cblas_sscal(T->n_items, T->bias_scale, T->ball, 1);
		cblas_sscal(T->t[T_BF].rows * T->t[T_BF].cols, T->bias_scale, T->t[T_BF].w, 1);
	}
	check_magnitudes(T);
	cs_builder_init(&b);
	b.hdr.dim = d;
	b.hdr.hidden = hd;
	b.hdr.n_items = ds->n_items;
	b.hdr.n_item_columns = ds->items.n_columns;
	b.hdr.n_item_values = ds->items.n_values;
	b.hdr.n_user_columns = ds->users.n_columns;
	b.hdr.n_user_values = ds->users.n_values;
	b.hdr.content_dim = ds->items.content_dim;
	b.hdr.n_kinds = ds->n_kinds;
	b.hdr.n_labels = ds->n_labels;
	b.hdr.n_edges = n_edges;
	b.hdr.history_length = T->o->history_length;
	b.hdr.history_prior = (float) T->o->history_prior;
	b.hdr.half_life = T->o->half_life;
	b.hdr.n_item_rows = ds->items.row_start[ds->n_items];

	icol = palloc0(sizeof(CsColumn) * Max(ds->items.n_columns, 1));
	ivals = palloc0(sizeof(uint32) * Max(ds->items.n_values, 1));
	for (int c = 0; c < ds->items.n_columns; c++)
	{
		const CsFeatColumn *fc = &ds->items.columns[c];

		icol[c].name = cs_builder_string(&b, fc->name);
		icol[c].kind = fc->kind;
		icol[c].flags = (fc->is_array ? CS_COLF_ARRAY : 0) | fc->time_flag;
		icol[c].first = fc->first;
		icol[c].count = fc->count;
		icol[c].first_edge = fc->kind == CS_COL_NUMERIC ? fc->first_edge : 0;
		icol[c].dim = fc->kind == CS_COL_DENSE ? fc->dim : 0;
	}
	for (int r = 0; r < ds->items.n_values; r++)
		ivals[r] = ds->items.values[r] ? cs_builder_string(&b, ds->items.values[r]) : 0;
	ucol = palloc0(sizeof(CsColumn) * Max(ds->users.n_columns, 1));
	uvals = palloc0(sizeof(uint32) * Max(ds->users.n_values, 1));
	for (int c = 0; c < ds->users.n_columns; c++)
	{
		const CsFeatColumn *fc = &ds->users.columns[c];

		ucol[c].name = cs_builder_string(&b, fc->name);
		ucol[c].kind = fc->kind;
		ucol[c].flags = (fc->is_array ? CS_COLF_ARRAY : 0) | fc->time_flag;
		ucol[c].first = fc->first;
		ucol[c].count = fc->count;
		ucol[c].first_edge = fc->kind == CS_COL_NUMERIC ? fc->first_edge + ds->items.n_edges : 0;
	}
	for (int r = 0; r < ds->users.n_values; r++)
		uvals[r] = ds->users.values[r] ? cs_builder_string(&b, ds->users.values[r]) : 0;
	kinds = palloc(sizeof(CsKind) * ds->n_kinds);
	for (int k = 0; k < ds->n_kinds; k++)
	{
		kinds[k].name = cs_builder_string(&b, ds->kind_names[k]);
		kinds[k].weight = ds->kind_weights[k];
	}
	labels = palloc(sizeof(CsLabel) * Max(ds->n_labels, 1));
	for (int l = 0; l < ds->n_labels; l++)
	{
		labels[l].label = cs_builder_string(&b, ds->labels[l]);
		labels[l].kind = ds->label_kind[l];
	}
	edges = palloc(sizeof(double) * Max(n_edges, 1));
	if (ds->items.n_edges > 0)
		memcpy(edges, ds->items.edges, sizeof(double) * ds->items.n_edges);
	if (ds->users.n_edges > 0)
		memcpy(edges + ds->items.n_edges, ds->users.edges, sizeof(double) * ds->users.n_edges);
	hidden = palloc(sizeof(float) * Max((Size) hd * (2 * d + 1), 1));
	if (hd > 0)
	{
		memcpy(hidden, T->t[T_W1].w, sizeof(float) * hd * d);
		memcpy(hidden + (Size) hd * d, T->t[T_B1].w, sizeof(float) * hd);
		memcpy(hidden + (Size) hd * d + hd, T->t[T_W2].w, sizeof(float) * d * hd);
	}

	cs_builder_section(&b, CS_SEC_ITEM_IDS, ds->item_ids, sizeof(int64) * ds->n_items);
	cs_builder_section(&b, CS_SEC_ITEM_VECTORS, T->Vall, sizeof(float) * (Size) ds->n_items * d);
	cs_builder_section(&b, CS_SEC_ITEM_BIAS, T->ball, sizeof(float) * ds->n_items);
	cs_builder_section(&b, CS_SEC_ITEM_COLUMNS, icol, sizeof(CsColumn) * ds->items.n_columns);
	cs_builder_section(&b, CS_SEC_ITEM_VALUES, ivals, sizeof(uint32) * ds->items.n_values);
	cs_builder_section(&b, CS_SEC_ITEM_VALUE_VECTORS, T->t[T_F].w,
					   sizeof(float) * (Size) ds->items.n_values * d);
	cs_builder_section(&b, CS_SEC_ITEM_VALUE_BIAS, T->t[T_BF].w, sizeof(float) * ds->items.n_values);
	cs_builder_section(&b, CS_SEC_CONTENT_PROJ, T->t[T_P].w, sizeof(float) * (Size) T->c * d);
	cs_builder_section(&b, CS_SEC_USER_COLUMNS, ucol, sizeof(CsColumn) * ds->users.n_columns);
	cs_builder_section(&b, CS_SEC_USER_VALUES, uvals, sizeof(uint32) * ds->users.n_values);
	cs_builder_section(&b, CS_SEC_USER_VALUE_VECTORS, T->t[T_A].w,
					   sizeof(float) * (Size) ds->users.n_values * d);
	cs_builder_section(&b, CS_SEC_USER_BASE, T->t[T_U0].w, sizeof(float) * d);
	cs_builder_section(&b, CS_SEC_HISTORY, T->t[T_W].w, sizeof(float) * d * d);
	cs_builder_section(&b, CS_SEC_HIDDEN, hidden, sizeof(float) * (Size) hd * (2 * d + 1));
	cs_builder_section(&b, CS_SEC_KINDS, kinds, sizeof(CsKind) * ds->n_kinds);
	cs_builder_section(&b, CS_SEC_LABELS, labels, sizeof(CsLabel) * ds->n_labels);
	cs_builder_section(&b, CS_SEC_EDGES, edges, sizeof(double) * n_edges);
	cs_builder_section(&b, CS_SEC_OPTIONS, options_json, strlen(options_json) + 1);
	cs_builder_section(&b, CS_SEC_ITEM_ROW_START, ds->items.row_start,
					   sizeof(int64) * ((Size) ds->n_items + 1));
	cs_builder_section(&b, CS_SEC_ITEM_ROWS, ds->items.rows, sizeof(int32) * b.hdr.n_item_rows);
	cs_builder_section(&b, CS_SEC_ITEM_ROW_WEIGHTS, ds->items.weights,
					   sizeof(float) * b.hdr.n_item_rows);
	cs_builder_section(&b, CS_SEC_MATCH_WEIGHTS, T->t[T_M].w, sizeof(float) * ds->items.n_columns);
	cs_builder_section(&b, CS_SEC_SIZE_VECTORS, T->t[T_S].w, sizeof(float) * CS_SIZE_BUCKETS * d);
	res->model = cs_builder_finish(&b);
}

/*
 * A moving average of the weights (with the usual warm-up of its decay)
 * makes the noisy last steps count less; validation and the model use it.
 */
static void
ema_update(Trainer *T)
{
	float		beta = Min((float) T->o->ema, (1.0f + T->step) / (10.0f + T->step));

	for (int k = 0; k < T_COUNT; k++)
	{
		Table	   *t = &T->t[k];
		Size		n = (Size) t->rows * t->cols;

		if (t->ema == NULL || n == 0)
			continue;
		cblas_sscal((int) n, beta, t->ema, 1);
		cblas_saxpy((int) n, 1.0f - beta, t->w, 1, t->ema, 1);
	}
}

/* Start the moving average at the current weights. */
static void
ema_start(Trainer *T)
{
	for (int k = 0; k < T_COUNT; k++)
	{
		Size		n = (Size) T->t[k].rows * T->t[k].cols;

		if (n > 0)
			memcpy(T->t[k].ema, T->t[k].w, sizeof(float) * n);
	}
}

static void
ema_swap(Trainer *T)
{
	for (int k = 0; k < T_COUNT; k++)
	{
		Table	   *t = &T->t[k];
		float	   *x = t->w;

		if (t->ema == NULL)
			continue;
		t->w = t->ema;
		t->ema = x;
	}
}

static void
snapshot(Trainer *T, bool restore)
{
	for (int k = 0; k < T_COUNT; k++)
	{
		Table	   *t = &T->t[k];
		Size		bytes = sizeof(float) * (Size) t->rows * t->cols;

		if (bytes == 0)
			continue;
		if (restore)
			memcpy(t->w, t->best, bytes);
		else
			memcpy(t->best, t->w, bytes);
	}
}

static int
make_examples(Trainer *T, const int32 *users, int n_users, Example *ex)
{
	int			max_p = T->o->max_prefixes;
	int			n = 0;

	for (int i = 0; i < n_users; i++)
	{
		int			u = users[i];
		int			m = (int) (T->dstart[u + 1] - T->dstart[u]);

		if (max_p == 0 || m <= max_p)
		{
			for (int p = 0; p < m; p++)
				ex[n++] = (Example) {u, p};
			continue;
		}
		/* long histories: the short prefixes, where cold users are, plus a random rest */
		{
			int			shortp = Min(T->o->short_prefixes, max_p);

			for (int p = 0; p < shortp; p++)
				ex[n++] = (Example) {u, p};
			for (int k = shortp; k < max_p; k++)
				ex[n++] = (Example) {u, shortp + (int) cs_random_below(&T->rng, m - shortp)};
		}
	}
	return n;
}

/* Sets a value chosen on validation users: the match factor, or the bias scale */
typedef void (*CalibrationSet) (Trainer *T, float value, void *arg);

/*
 * Among kept and values[], the value that ranks the validation users best:
 * kept, whose figure is res->validation_metric (the kept epoch's), unless
 * another ranks them strictly better.  Leaves it set, and its figure in
 * res->validation_metric.
 */
static float
calibrate(Trainer *T, const int32 *val_users, int n_val, CsTrainResult *res, float kept,
		  const float *values, int n_values, CalibrationSet set, void *arg)
{
	double		best = res->validation_metric;
	float		chosen = kept;

	for (int k = 0; k < n_values; k++)
	{
		double		vmetric,
					vloss;

		set(T, values[k], arg);
		validate(T, val_users, n_val, &vmetric, &vloss);
		if (vmetric > best)
		{
			best = vmetric;
			chosen = values[k];
		}
	}
	set(T, chosen, arg);
	res->validation_metric = best;
	return chosen;
}

/* the match weights as learned (arg), times factor */
static void
set_match_factor(Trainer *T, float factor, void *arg)
{
	const float *base = arg;

	for (int c = 0; c < T->t[T_M].rows; c++)
		T->t[T_M].w[c] = base[c] * factor;
}

static void
set_bias_scale(Trainer *T, float scale, void *arg)
{
	T->bias_scale = scale;
}

/*
 * Choose the factor of the match weights on the validation users (see
 * cs_train()): 1, unless another ranks them strictly better.
 */
static void
calibrate_match(Trainer *T, const int32 *val_users, int n_val, CsTrainResult *res)
{
	static const float factors[] = {1.5f, 2.0f, 3.0f, 5.0f, 8.0f, 13.0f, 21.0f, 34.0f};
	float	   *base = palloc(sizeof(float) * T->t[T_M].rows);

	memcpy(base, T->t[T_M].w, sizeof(float) * T->t[T_M].rows);
	T->match_factor = calibrate(T, val_users, n_val, res, 1.0f, factors, lengthof(factors),
								set_match_factor, base);
	pfree(base);
}

/*
 * Option bias_scale "auto": the weight of the item biases that ranks the
 * validation users best, among 1 (kept unless another is strictly better),
 * 1.3, 1.6 and 2.  Above 1 the lists lean toward what is popular: more
 * accurate on MovieLens, half as diverse; on Taobao not better
 * (bench/tune/README.md, seventh round), so the default stays 1.
 */
static void
calibrate_bias(Trainer *T, const int32 *val_users, int n_val, CsTrainResult *res)
{
	static const float scales[] = {1.3f, 1.6f, 2.0f};

	calibrate(T, val_users, n_val, res, 1.0f, scales, lengthof(scales), set_bias_scale, NULL);
}

/* One pass over the examples of the given users, in a seeded order; the mean loss. */
static double
train_epoch(Trainer *T, const int32 *users, int n_users, Example *ex, bool use_ema,
			int *n_ex_out, double *seconds)
{
	int			n_ex = make_examples(T, users, n_users, ex);
	double		loss = 0;
	instr_time	start,
				end;

	INSTR_TIME_SET_CURRENT(start);
	for (int i = n_ex - 1; i > 0; i--)
	{
		int			j = (int) cs_random_below(&T->rng, i + 1);
		Example		t = ex[i];

		ex[i] = ex[j];
		ex[j] = t;
	}
	for (int from = 0; from < n_ex; from += T->B)
	{
		MemoryContext oldcxt = MemoryContextSwitchTo(T->batchcxt);

		loss += run_batch(T, ex + from, Min(T->B, n_ex - from), true);
		if (use_ema)
			ema_update(T);
		MemoryContextSwitchTo(oldcxt);
		MemoryContextReset(T->batchcxt);
		CHECK_FOR_INTERRUPTS();
	}
	INSTR_TIME_SET_CURRENT(end);
	INSTR_TIME_SUBTRACT(end, start);
	*seconds = INSTR_TIME_GET_DOUBLE(end);
	*n_ex_out = n_ex;
	return loss / Max(n_ex, 1);
}

/* Back to freshly initialised weights and optimiser state, for the refit. */
static void
reset_params(Trainer *T, bool use_ema)
{
	for (int k = 0; k < T_COUNT; k++)
	{
		Table	   *t = &T->t[k];
		Size		bytes = sizeof(float) * (Size) t->rows * t->cols;

		if (bytes == 0)
			continue;
		memset(t->w, 0, bytes);
		memset(t->g, 0, bytes);
		memset(t->m, 0, bytes);
		memset(t->v, 0, bytes);
	}
	T->step = 0;
	cs_random_seed(&T->rng, (uint64) T->o->seed ^ UINT64CONST(0x7265666974));
	init_params(T);
	if (use_ema)
		ema_start(T);
}

void
cs_train(const CsDataset *ds, const CsHistories *h, const CsOptions *o,
		 const char *options_json, bool quiet, CsTrainResult *res)
{
	Trainer		T;
	Size		bytes = 0;
	int32	   *users,
			   *val_users;
	int			n_train = 0,
				n_val = 0;
	Example    *ex;
	int64		max_examples = 0;
	double		best_metric = -INFINITY;
	int			bad_epochs = 0;
	instr_time	t_start,
				t_now;
	StringInfoData epochs_json;
	double		train_seconds_so_far = 0;
	bool		use_ema;
	bool		refit;
	int			kept_epoch = 0;

	cs_blas_prepare();
	INSTR_TIME_SET_CURRENT(t_start);
	memset(&T, 0, sizeof(T));
	T.ds = ds;
	T.h = h;
	T.o = o;
	T.d = o->dim;
	T.hid = o->hidden;
	T.n_items = ds->n_items;
	T.c = ds->items.content_dim;
	T.L = o->history_length;
	T.B = o->batch_size;
	T.sampled = ds->n_items > o->full_softmax_items;
	if (T.sampled && o->negatives >= ds->n_items)
		T.sampled = false;
	cs_random_seed(&T.rng, (uint64) o->seed);
	T.match_factor = 1.0f;
	T.bias_scale = o->bias_scale == CS_BIAS_SCALE_AUTO ? 1.0f : (float) o->bias_scale;

	if (h->n_users == 0)
		ereport(ERROR,
				(errcode(ERRCODE_NO_DATA_FOUND),
				 errmsg("there are no users with behaviours to train on")));

	check_model_size(ds, o, options_json);
	cs_check_budget(estimate_bytes(ds, h, o, T.sampled), "the model and its training state", true);

	prepare_users(&T, &bytes);
	table_init(&T.t[T_E], T.n_items, T.d, T.sampled, &bytes);
	table_init(&T.t[T_BE], T.n_items, 1, T.sampled, &bytes);
	table_init(&T.t[T_F], ds->items.n_values, T.d, true, &bytes);
	table_init(&T.t[T_BF], ds->items.n_values, 1, true, &bytes);
	table_init(&T.t[T_P], T.c, T.d, false, &bytes);
	table_init(&T.t[T_A], ds->users.n_values, T.d, true, &bytes);
	table_init(&T.t[T_U0], 1, T.d, false, &bytes);
	table_init(&T.t[T_W], T.d, T.d, false, &bytes);
	table_init(&T.t[T_W1], T.hid, T.d, false, &bytes);
	table_init(&T.t[T_B1], 1, T.hid, false, &bytes);
	table_init(&T.t[T_W2], T.d, T.hid, false, &bytes);
	table_init(&T.t[T_M], ds->items.n_columns, 1, false, &bytes);
	table_init(&T.t[T_S], CS_SIZE_BUCKETS, T.d, false, &bytes);
	/* item ids regularised less: item vectors that stay apart keep lists diverse */
	for (int k = 0; k < T_COUNT; k++)
		T.t[k].l2 = (float) o->l2;
	T.t[T_E].l2 = (float) o->id_l2;
	T.t[T_A].l2 = (float) o->attr_l2;
	T.t[T_M].lr_scale = (float) T.o->match_lr_scale;	/* a handful of numbers that must travel far */
	alloc_batch(&T, &bytes);
	cs_check_budget(ds->bytes + bytes, "the model and its training state", true);

	if (T.sampled)
	{
		T.q_cum = cs_alloc_huge(sizeof(double) * T.n_items);
		T.logq = cs_alloc_huge(sizeof(float) * T.n_items);
	}

	/* validation users: a seeded share of the training users */
	users = cs_alloc_huge(sizeof(int32) * h->n_users);
	val_users = cs_alloc_huge(sizeof(int32) * h->n_users);
	for (int u = 0; u < h->n_users; u++)
	{
		int			m = (int) (T.dstart[u + 1] - T.dstart[u]);

		bool		may_validate = m >= 2 && n_val < MAX_VALIDATION_USERS &&
			(h->keep_out_of_validation == NULL || !h->keep_out_of_validation[u]);

		max_examples += (o->max_prefixes > 0) ? Min(m, o->max_prefixes) : m;
		if (may_validate && cs_random_double(&T.rng) < o->validation_fraction)
			val_users[n_val++] = u;
		else
			users[n_train++] = u;
	}
	/* a model needs someone to learn from, even on the tiniest data */
	if (n_train == 0)
		users[n_train++] = val_users[--n_val];
	/* room for the examples of every user: the refit trains on all of them */
	ex = cs_alloc_huge(sizeof(Example) * Max(max_examples, 1));

	/* what the validation users did must not reach the model through the counts */
	count_items(&T, users, n_train);
	init_params(&T);

	/* averaging every weight at every step is affordable with a full softmax */
	use_ema = o->ema > 0 && !T.sampled;
	if (use_ema)
	{
		for (int k = 0; k < T_COUNT; k++)
		{
			Size		n = (Size) T.t[k].rows * T.t[k].cols;

			T.t[k].ema = cs_alloc_huge(sizeof(float) * Max(n, 1));
			bytes += sizeof(float) * n;
		}
		ema_start(&T);
	}

	T.batchcxt = AllocSetContextCreate(CurrentMemoryContext, "coldstart batch",
									   ALLOCSET_DEFAULT_SIZES);
	initStringInfo(&epochs_json);
	res->epochs_run = 0;
	res->examples = 0;
	res->validation_metric = NAN;

	for (int epoch = 1; epoch <= o->epochs; epoch++)
	{
		int			n_ex;
		double		loss,
					vmetric = NAN,
					vloss = NAN;
		double		epoch_seconds;

		loss = train_epoch(&T, users, n_train, ex, use_ema, &n_ex, &epoch_seconds);
		res->examples += n_ex;
		res->epochs_run = epoch;
		train_seconds_so_far += epoch_seconds;

		if (use_ema)
			ema_swap(&T);		/* validate (and keep) the averaged weights */
		if (n_val > 0)
			validate(&T, val_users, n_val, &vmetric, &vloss);

		appendStringInfo(&epochs_json, "%s{\"epoch\": %d, \"loss\": %.6f, \"validation_loss\": %.6f"
						 ", \"validation_recall_at_20\": %.6f, \"seconds\": %.3f}",
						 epoch > 1 ? ", " : "", epoch, loss,
						 isnan(vloss) ? 0 : vloss, isnan(vmetric) ? 0 : vmetric, epoch_seconds);
		if (!quiet)
			ereport(NOTICE,
					(errmsg("epoch %d/%d: loss %.4f, validation loss %.4f, validation recall@20 %.4f, %.0f examples/s, about %.0f s left",
							epoch, o->epochs, loss, vloss, vmetric,
							n_ex / Max(epoch_seconds, 1e-9),
							(o->epochs - epoch) * (train_seconds_so_far / epoch))));

		/* (no validation row may have a target training users know: NaN) */
		if (n_val > 0 && !isnan(vmetric))
		{
			if (vmetric > best_metric)
			{
				best_metric = vmetric;
				bad_epochs = 0;
			}
			else
				bad_epochs++;

			/*
			 * Within the tolerance of the best, an epoch is as good as the
			 * best on this many validation users; the latest such one is
			 * kept, since longer training makes lists more personal.
			 */
			if (vmetric >= best_metric * (1.0 - o->tolerance))
			{
				snapshot(&T, false);
				kept_epoch = epoch;
				res->validation_metric = vmetric;
			}
			if (bad_epochs > o->patience)
			{
				if (!quiet)
					ereport(NOTICE,
							(errmsg("stopping early: validation recall@20 has not improved for %d epochs",
									bad_epochs)));
				break;
			}
		}
		if (use_ema && epoch < o->epochs)
			ema_swap(&T);		/* back to the raw weights to go on training */
	}
	if (kept_epoch > 0)
		snapshot(&T, true);
	else
		kept_epoch = res->epochs_run;	/* nothing to choose from: the last epoch */

	/*
	 * The match weights maximise the likelihood; for ranking a catalogue a
	 * stronger (or weaker) pull toward what the user has been looking at
	 * often does better.  Scale them by whatever factor ranks validation
	 * users best.
	 */
	if (n_val > 0 && T.t[T_M].rows > 0)
		calibrate_match(&T, val_users, n_val, res);
	if (n_val > 0 && o->bias_scale == CS_BIAS_SCALE_AUTO)
		calibrate_bias(&T, val_users, n_val, res);

	/*
	 * With the epochs and the match factor chosen, the validation users'
	 * behaviours are too valuable to leave out when they are a real share of
	 * the data: train once more, from the start, on every user.
	 */
	refit = n_val > 0 &&
		(o->refit == CS_REFIT_YES ||
		 (o->refit == CS_REFIT_AUTO && n_val >= CS_REFIT_AUTO_SHARE * h->n_users));
	if (refit)
	{
		memcpy(users + n_train, val_users, sizeof(int32) * n_val);
		count_items(&T, users, n_train + n_val);
		reset_params(&T, use_ema);
		if (!quiet)
			ereport(NOTICE,
					(errmsg_plural("refitting on all %d users for %d epoch",
								   "refitting on all %d users for %d epochs",
								   kept_epoch, n_train + n_val, kept_epoch)));
		for (int epoch = 1; epoch <= kept_epoch; epoch++)
		{
			int			n_ex;
			double		epoch_seconds;
			double		loss = train_epoch(&T, users, n_train + n_val, ex, use_ema, &n_ex,
										   &epoch_seconds);

			res->examples += n_ex;
			train_seconds_so_far += epoch_seconds;
			if (!quiet)
				ereport(NOTICE,
						(errmsg("refit epoch %d/%d: loss %.4f, %.0f examples/s",
								epoch, kept_epoch, loss, n_ex / Max(epoch_seconds, 1e-9))));
		}
		if (use_ema)
			ema_swap(&T);
		for (int c = 0; c < T.t[T_M].rows; c++)
			T.t[T_M].w[c] *= T.match_factor;
	}

	build_model(&T, options_json, res);

	INSTR_TIME_SET_CURRENT(t_now);
	INSTR_TIME_SUBTRACT(t_now, t_start);
	res->seconds = INSTR_TIME_GET_DOUBLE(t_now);
	initStringInfo(&res->summary);
	appendStringInfo(&res->summary,
					 "\"softmax\": \"%s\", \"training_users\": %d, \"validation_users\": %d"
					 ", \"match_factor\": %g, \"bias_scale\": %g, \"kept_epoch\": %d, \"refit\": %s"
					 ", \"epochs_run\": %d, \"examples\": " INT64_FORMAT
					 ", \"examples_per_second\": %.0f, \"validation_recall_at_20\": %s"
					 ", \"epochs\": [%s]",
					 T.sampled ? "sampled" : "full", n_train, n_val, (double) T.match_factor, (double) T.bias_scale, kept_epoch,
					 refit ? "true" : "false", res->epochs_run,
					 res->examples, res->examples / Max(train_seconds_so_far, 1e-9),
					 isnan(res->validation_metric) ? "null" :
					 psprintf("%.6f", res->validation_metric),
					 epochs_json.data);
}
