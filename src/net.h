/*
 * net.h
 *	  The interest model's forward pass, shared by training and serving so
 *	  that a model scores users exactly as it was trained to.
 *
 *	  s(x, i) = u(x) . v_i + b_i
 *	  v_i     = E[i] + sum_k w_k F[f_k] + P' c_i
 *	  u(x)    = u_lin + W2 relu(W1 u_lin + b1)		(hidden layer optional)
 *	  u_lin   = u0 + sum_a A[a] + W h,  h = sum_j w_j v_j / sum_j w_j
 *
 * where the w_j of the user's recent behaviours are action weight x time
 * decay, with the decay measured from the user's latest behaviour.
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
} CsNet;

/*
 * u(x) for B users at once.  H holds the history means [B][dim] (zeros for
 * no history); the attribute rows of user r are attr_rows[attr_start[r] ..
 * attr_start[r+1]) with weights attr_w.  Ulin and U are [B][dim]; Z is
 * [B][hidden] (may be NULL when hidden == 0) and receives the hidden
 * layer's activations, which backpropagation needs.
 */
extern void cs_net_users(const CsNet *net, int B, const float *H,
						 const int64 *attr_start, const int32 *attr_rows,
						 const float *attr_w, float *Ulin, float *Z, float *U);

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

#endif							/* CS_NET_H */
