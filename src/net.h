/*
 * net.h
 *	  The interest model's forward pass, shared by training and serving so
 *	  that a model scores users exactly as it was trained to.
 *
 *	  s(x, i) = u(x) . v_i + b_i
 *	  v_i     = E[i] + sum_k w_k F[f_k] + P' c_i
 *	  u(x)    = u_lin + W2 relu(W1 u_lin + b1)		(hidden layer optional)
 *	  u_lin   = u0 + S[size(x)] + sum_a A[a] + W h,
 *	  h       = sum_j w_j v_j / (sum_j w_j + prior)
 *
 * where the w_j of the user's recent behaviours are action weight x time
 * decay, with the decay measured from the user's latest behaviour, and the
 * history prior shrinks short histories toward h = 0 (no history), and
 * S[size(x)] is a vector per bucket of the number of behaviours (see
 * cs_size_bucket()), so that a newcomer, a user with one click and a regular
 * can each get the prior that suits them.
 */
#ifndef CS_NET_H
#define CS_NET_H

#include "postgres.h"

#include <math.h>

/* Parameters that turn what is known about a user into u(x). */
typedef struct CsNet
{
	int			dim;
	int			hidden;
	const float *user_base;		/* u0 [dim] */
	const float *user_values;	/* A [rows][dim] */
	const float *history;		/* W [dim][dim] */
	const float *w1;			/* [hidden][dim] */
	const float *b1;			/* [hidden] */
	const float *w2;			/* [dim][hidden] */
	const float *size_vectors;	/* [CS_SIZE_BUCKETS][dim], or NULL */
} CsNet;

/*
 * u(x) for B users at once.  H holds the history means [B][dim] (zeros for
 * no history), sizes the number of behaviours each mean was taken over
 * (NULL: none); the attribute rows of user r are attr_rows[attr_start[r] ..
 * attr_start[r+1]) with weights attr_w.  Ulin and U are [B][dim]; Z is
 * [B][hidden] (may be NULL when hidden == 0) and receives the hidden
 * layer's activations, which backpropagation needs.
 */
extern void cs_net_users(const CsNet *net, int B, const float *H, const int32 *sizes,
						 const int64 *attr_start, const int32 *attr_rows,
						 const float *attr_w, float *Ulin, float *Z, float *U);

/*
 * The hidden layer alone: U = Ulin + W2 relu(W1 Ulin + b1) for B rows (U is
 * a copy of Ulin when hidden == 0); Z as above.  cs_net_users() ends with it;
 * interest_vector() calls it on a u_lin it has summed itself.
 */
extern void cs_net_hidden(const CsNet *net, int B, const float *Ulin, float *Z, float *U);

/* Weight of a behaviour: action weight x 2^(-age / half_life). */
static inline float
cs_event_weight(float kind_weight, double t_ref, double t, double half_life)
{
	double		age = t_ref - t;

	if (age < 0)
		age = 0;
	return (float) (kind_weight * exp2(-age / half_life));
}

/*
 * The vector and bias of an item from its feature rows and content vector
 * (no id embedding: an item the model has never seen).  content may be NULL.
 */
extern void cs_item_from_features(int dim, int n_rows, const int32 *rows,
								  const float *weights, const float *F, const float *bF,
								  const float *P, const float *content, int content_dim,
								  float *v, float *b);

/*
 * The content match term, learned per item column:
 *
 *	  s(x, i) += sum_k gamma[col(k)] * x_ik * H_k
 *
 * where x_ik is the weight of value k in item i (1, or 1/n for one of n
 * values of a multi-valued column) and H_k = 1 - exp(-sum_j w_j x_jk) over
 * the history's behaviours j with their weights w_j (action weight x time
 * decay): "the user has been at value k", saturating, so that one view counts
 * 0.63 and a category browsed again and again counts close to 1.  It is what
 * makes a new item of the category the user browses score high, and the
 * model learns what a match in each column is worth.
 */
typedef struct CsMatchIndex
{
	int			n_values;
	int64	   *start;			/* [n_values + 1]: items having value k */
	int32	   *items;
	float	   *weights;
	int32	   *value_col;		/* [n_values]: column of each value */

	/*
	 * Serving only (cs_match_index_dense()): columns where every item has at
	 * most one value, of weight 1 (numeric buckets, single categories), also
	 * as a code per item, so that a profile value shared by many items is
	 * added in one sequential pass instead of through its postings.
	 */
	int			n_items;
	int			n_columns;
	int32	   *col_first;		/* [n_columns] */
	int32	   *col_count;
	uint16	  **codes;			/* [n_columns]: 1 + value - first, 0 none; or NULL */
	float	   *table;			/* scratch of the passes, zero between uses */
} CsMatchIndex;

/* The inverted index of items' feature rows (CSR), in the current context. */
extern void cs_match_index_build(CsMatchIndex *mi, int n_values, int n_columns,
								 const int32 *col_first, const int32 *col_count,
								 int n_items, const int64 *row_start, const int32 *rows,
								 const float *weights);

/*
 * Add the per-item codes of the columns that allow them (see CsMatchIndex),
 * in the current context.  Only serving uses them: the sum over a profile is
 * then made in another order, which may change a score's last bit.
 */
extern void cs_match_index_dense(CsMatchIndex *mi, int n_items, int n_columns,
								 const int32 *col_first, const int32 *col_count,
								 const int64 *row_start, const int32 *rows,
								 const float *weights);

/* A history's profile H: sparse (rows, vals), built with a dense scratch. */
typedef struct CsMatchProfile
{
	int			n;
	int			cap;
	int32	   *rows;
	float	   *vals;
	float	   *dense;			/* [n_values], zero between uses */
} CsMatchProfile;

extern void cs_profile_init(CsMatchProfile *p, int n_values);

/* sum_j w_j x_jk for the rows of one behaviour's item (call per behaviour). */
extern void cs_profile_add(CsMatchProfile *p, float w, int n_rows, const int32 *rows,
						   const float *x);

/* Turn the sums into H_k = 1 - exp(-sum), move them to (rows, vals), clear the scratch. */
extern void cs_profile_finish(CsMatchProfile *p);

/* scores[i] += sum over the profile of gamma[col(k)] * x_ik * H_k */
extern void cs_match_add(const CsMatchIndex *mi, const float *gamma, int n, const int32 *rows,
						 const float *vals, float *scores);

#endif							/* CS_NET_H */
