/*
 * score.h
 *	  Serving: the per-backend model cache, reading a user's live state and
 *	  scoring the catalogue.
 */
#ifndef CS_SCORE_H
#define CS_SCORE_H

#include "postgres.h"

#include "executor/spi.h"
#include "utils/array.h"
#include "utils/jsonb.h"

#include "coldstart.h"
#include "model_format.h"
#include "net.h"
#include "options.h"

/* A model being served: decoded once per backend and version. */
typedef struct CsServed
{
	char	   *name;
	int32		version;
	int64		trained_at;		/* identifies the version's content */
	uint64		content_id;		/* and so does this (catalog.h) */
	int64		refreshed_at;	/* items_refreshed_at, 0 if never */
	MemoryContext cxt;
	struct varlena *value;
	CsModel		m;
	CsOptions	opts;			/* columns of the source relations */
	char	   *behaviours;		/* qualified names, or NULL */
	char	   *items;
	char	   *users;

	/* items added after training, from coldstart.item_extras */
	MemoryContext extras_cxt;	/* their arrays and scores (NULL before the first load) */
	int			n_extra;
	int64	   *extra_ids;		/* sorted */
	float	   *extra_vectors;
	float	   *extra_bias;

	int64	   *extra_row_start;	/* their feature rows, for the content match */
	int32	   *extra_rows;
	float	   *extra_row_weights;

	/* content match: values -> items (model items, then extras) */
	MemoryContext match_cxt;
	CsMatchIndex mi;
	CsMatchProfile prof;		/* of the user last given to cs_user_vector() */

	/* model items removed from the items table (refresh_items()): positions */
	int			n_removed;
	int32	   *removed;

	int			n_total;		/* n_items + n_extra */
	float	   *scores;			/* [n_total], reused by every call */

	/* read with a fresh snapshot: evaluate() reads rows it has just inserted */
	bool		read_own_writes;

	/* statements prepared once per served version */
	SPIPlanPtr	plan_history;
	SPIPlanPtr	plan_user;
	SPIPlanPtr	plan_items;
} CsServed;

/* One behaviour of a history being scored. */
typedef struct CsHistItem
{
	int64		item_id;
	char	   *label;			/* NULL: a view */
	double		ts;				/* NaN: no time */
} CsHistItem;

/*
 * The active version of a model, from the cache when it is current.  Must be
 * called inside SPI_connect().  Raises a clear error for an unknown model.
 */
extern CsServed *cs_served_get(const char *name);

/* A served model from a value, outside the cache (spec may be NULL). */
extern CsServed *cs_served_create(const char *name, struct varlena *value, Jsonb *spec,
								  MemoryContext parent);
extern void cs_served_free(CsServed *s);

/* Drop a model from this backend's cache. */
extern void cs_served_forget(const char *name);

/* The elements of a bigint[] that are not NULL, in order. */
extern int64 *cs_array_ids(ArrayType *a, int *n);

/* Index of an item in the scores vector (model items, then extras), or -1. */
extern int	cs_served_find(const CsServed *s, int64 item_id);

/*
 * The feature rows of item position i of the scores (a model item or one
 * added after training) and their weights; returns how many.
 */
extern int	cs_served_item_rows(const CsServed *s, int i, const int32 **rows, const float **weights);

/* How many of a user's latest behaviours make u(x): the setting, or the model's. */
static inline int
cs_served_history_length(const CsServed *s)
{
	return cs_history_length > 0 ? cs_history_length : s->m.history_length;
}

/*
 * A user's latest "limit" behaviours (newest first), read live; the rows
 * training skips are left out and do not count.
 */
extern int	cs_read_history(CsServed *s, int64 user_id, int limit, CsHistItem **out);

/*
 * What cs_user_vector() made u(x) of, for explain(): per behaviour of the
 * history, the item vector it used (NULL: an item nobody knows, left out)
 * and its weight in the history mean; the number of behaviours the mean was
 * taken over; and u_lin, u(x) before the hidden layer.
 */
typedef struct CsUserParts
{
	const float **vec;			/* [n_hist] */
	float	   *omega;			/* [n_hist] */
	int32		n_used;
	float	   *ulin;			/* [dim] */
} CsUserParts;

/*
 * An anonymous session given as arrays: items (oldest first, NULLs skipped)
 * and optional actions, one per item; no times, so no decay.
 */
extern int	cs_session_history(ArrayType *items, ArrayType *actions, CsHistItem **out);

/*
 * The user vector u(x) of a history and attribute rows.  Items the model
 * does not know are looked up in the items table and scored from their
 * features.  attr_rows/attr_w may be empty; parts may be NULL.
 */
extern void cs_user_vector(CsServed *s, const CsHistItem *hist, int n_hist,
						   const int32 *attr_rows, const float *attr_w, int n_attr,
						   float *u, CsUserParts *parts);

/* Attribute rows of a user read live from the users table. */
extern int	cs_user_attributes(CsServed *s, int64 user_id, int32 **rows, float **weights);

/* Attribute rows from a jsonb object {"column": value, ...}. */
extern int	cs_jsonb_attributes(CsServed *s, Jsonb *attrs, int32 **rows, float **weights);

/* Vector and bias of any item: the model's, an extra's, or from its features. */
extern bool cs_item_vector(CsServed *s, int64 item_id, float *v, float *b);

/* log(sum(exp(score))) = max + log_sum, kept apart for huge scores */
typedef struct CsLogSumExp
{
	double		max;
	double		log_sum;
} CsLogSumExp;

/*
 * Score every item for u (and the content-match profile that the last
 * cs_user_vector() call left) into s->scores; the items removed from the
 * items table and those listed in "exclude" get -INFINITY.  Returns the
 * log-sum-exp over the catalogue (the items not removed, before the
 * exclusion), for probabilities: exp((score - max) - log_sum).
 */
extern CsLogSumExp cs_score_all(CsServed *s, const float *u, const int64 *exclude, int n_exclude);

/*
 * Compute and store vectors of items added to the items table since training,
 * and the list of the model's items no longer in it.  The caller holds the
 * model's change lock and has pushed a snapshot taken after it.
 */
extern int	cs_refresh_items(const char *name);

#endif							/* CS_SCORE_H */
