/*
 * vec.h
 *	  Vectorized loops over score vectors: the maximum, the sum of
 *	  exponentials (for log-sum-exp) and a threshold scan (for top-k).
 *
 * The extension is built for the baseline x86-64 ISA, where the compiler
 * vectorizes none of these loops; vec.c has AVX2+FMA versions chosen at run
 * time when the CPU has them, and plain C ones otherwise.  The results do
 * not depend on which is used beyond the rounding stated below.
 */
#ifndef CS_VEC_H
#define CS_VEC_H

#include "postgres.h"

/* Largest of x[0..n), -INFINITY when n = 0.  NaNs are not expected. */
extern float cs_vec_max(const float *x, int64 n);

/*
 * Sum of exp(x[i] - shift) over x[0..n), for x[i] <= shift (shift is the
 * maximum: every term is in [0, 1]); -INFINITY terms add 0.  The sum is kept
 * in double.  Each exponential has a relative error below 1.5e-7 (about one
 * float ulp: 1.2e-7 measured); terms below exp(-87.3) (1e-38) count as 0.
 */
extern double cs_vec_sum_exp(const float *x, int64 n, float shift);

/*
 * x[i] = exp(x[i] - shift) in place, with the same exponential as
 * cs_vec_sum_exp(); returns their sum (in double).
 */
extern double cs_vec_exp(float *x, int64 n, float shift);

/*
 * One Adam step over n parameters (g is the gradient, cleared on the way):
 *	g' = g + l2 w; m = b1 m + (1 - b1) g'; v = b2 v + (1 - b2) g' g';
 *	w -= lr (m c1) / (sqrt(v c2) + eps)
 * with the same float operations in the same order whichever version runs
 * (no fused multiply-add): the same bytes as the plain loop.
 */
extern void cs_vec_adam(float *w, float *g, float *m, float *v, int64 n, float lr, float l2,
						float c1, float c2, float b1, float b2, float eps);

/*
 * Store into out the indices i in [from, to) with x[i] > t, in increasing
 * order; returns how many.  out needs room for to - from indices.
 */
extern int	cs_vec_above(const float *x, int from, int to, float t, int32 *out);

#endif							/* CS_VEC_H */
