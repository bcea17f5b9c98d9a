/*
 * vec.c
 *	  Vectorized loops over score vectors (see vec.h).
 *
 * Serving scores the whole catalogue and then reads the scores three times:
 * for their maximum, for the sum of their exponentials (the probabilities'
 * denominator) and for the top k.  Compiled for the baseline ISA, the second
 * one is a call to expf() per item, which at 100k items costs as much as the
 * sgemv that made the scores.  On CPUs with AVX2 and FMA (checked once, at
 * the first call) these loops run eight floats at a time, with the
 * exponential computed as 2^k * p(r) after Cody-Waite range reduction
 * (Cephes' expf polynomial); elsewhere they are plain C.
 */
#include "postgres.h"

#include <math.h>

#include "vec.h"

#if defined(__x86_64__) && defined(__GNUC__)
#define CS_VEC_X86 1
#include <immintrin.h>
#endif

#ifdef CS_VEC_X86

static int	have_avx2 = -1;

static inline bool
use_avx2(void)
{
	if (unlikely(have_avx2 < 0))
	{
		__builtin_cpu_init();
		have_avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
	}
	return have_avx2 > 0;
}

__attribute__((target("avx2,fma")))
static float
max_avx2(const float *x, int64 n)
{
	__m256		m0 = _mm256_set1_ps(-INFINITY),
				m1 = m0;
	int64		i = 0;
	float		lanes[8];
	float		mx;

	for (; i + 16 <= n; i += 16)
	{
		m0 = _mm256_max_ps(m0, _mm256_loadu_ps(x + i));
		m1 = _mm256_max_ps(m1, _mm256_loadu_ps(x + i + 8));
	}
	_mm256_storeu_ps(lanes, _mm256_max_ps(m0, m1));
	mx = lanes[0];
	for (int j = 1; j < 8; j++)
		mx = Max(mx, lanes[j]);
	for (; i < n; i++)
		mx = Max(mx, x[i]);
	return mx;
}

/* exp(x) for x <= 0; 0 below -87.3 (and for -INFINITY) */
__attribute__((target("avx2,fma")))
static inline __m256
exp_avx2(__m256 x)
{
	const __m256 lo = _mm256_set1_ps(-87.33654f);
	__m256		keep = _mm256_cmp_ps(x, lo, _CMP_GE_OQ);
	__m256		k,
				r,
				p;
	__m256i		e;

	x = _mm256_max_ps(x, lo);
	k = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
						_MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
	/* r = x - k ln 2, ln 2 in two parts so that k * 0.693359375 is exact */
	r = _mm256_fnmadd_ps(k, _mm256_set1_ps(0.693359375f), x);
	r = _mm256_fnmadd_ps(k, _mm256_set1_ps(-2.12194440e-4f), r);
	p = _mm256_set1_ps(1.9875691500E-4f);
	p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507E-3f));
	p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073E-3f));
	p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894E-2f));
	p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459E-1f));
	p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201E-1f));
	p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
	/* times 2^k, k in [-126, 0]: a normal float's exponent field */
	e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(k), _mm256_set1_epi32(127)), 23);
	return _mm256_and_ps(_mm256_mul_ps(p, _mm256_castsi256_ps(e)), keep);
}

__attribute__((target("avx2,fma")))
static double
sum_exp_avx2(const float *x, int64 n, float shift)
{
	__m256		s = _mm256_set1_ps(shift);
	__m256d		a0 = _mm256_setzero_pd(),
				a1 = _mm256_setzero_pd();
	int64		i = 0;
	double		lanes[4];
	double		sum = 0;

	for (; i + 8 <= n; i += 8)
	{
		__m256		y = exp_avx2(_mm256_sub_ps(_mm256_loadu_ps(x + i), s));

		a0 = _mm256_add_pd(a0, _mm256_cvtps_pd(_mm256_castps256_ps128(y)));
		a1 = _mm256_add_pd(a1, _mm256_cvtps_pd(_mm256_extractf128_ps(y, 1)));
	}
	if (i < n)
	{
		float		tail[8];
		__m256		y;

		/* pad with -INFINITY, whose terms are 0 */
		for (int j = 0; j < 8; j++)
			tail[j] = i + j < n ? x[i + j] : -INFINITY;
		y = exp_avx2(_mm256_sub_ps(_mm256_loadu_ps(tail), s));
		a0 = _mm256_add_pd(a0, _mm256_cvtps_pd(_mm256_castps256_ps128(y)));
		a1 = _mm256_add_pd(a1, _mm256_cvtps_pd(_mm256_extractf128_ps(y, 1)));
	}
	_mm256_storeu_pd(lanes, _mm256_add_pd(a0, a1));
	for (int j = 0; j < 4; j++)
		sum += lanes[j];
	return sum;
}

__attribute__((target("avx2,fma")))
static double
exp_inplace_avx2(float *x, int64 n, float shift)
{
	__m256		s = _mm256_set1_ps(shift);
	__m256d		a0 = _mm256_setzero_pd(),
				a1 = _mm256_setzero_pd();
	int64		i = 0;
	double		lanes[4];
	double		sum = 0;

	for (; i + 8 <= n; i += 8)
	{
		__m256		y = exp_avx2(_mm256_sub_ps(_mm256_loadu_ps(x + i), s));

		_mm256_storeu_ps(x + i, y);
		a0 = _mm256_add_pd(a0, _mm256_cvtps_pd(_mm256_castps256_ps128(y)));
		a1 = _mm256_add_pd(a1, _mm256_cvtps_pd(_mm256_extractf128_ps(y, 1)));
	}
	if (i < n)
	{
		float		tail[8];
		__m256		y;

		for (int j = 0; j < 8; j++)
			tail[j] = i + j < n ? x[i + j] : -INFINITY;
		y = exp_avx2(_mm256_sub_ps(_mm256_loadu_ps(tail), s));
		_mm256_storeu_ps(tail, y);
		for (int j = 0; i + j < n; j++)
			x[i + j] = tail[j];
		a0 = _mm256_add_pd(a0, _mm256_cvtps_pd(_mm256_castps256_ps128(y)));
		a1 = _mm256_add_pd(a1, _mm256_cvtps_pd(_mm256_extractf128_ps(y, 1)));
	}
	_mm256_storeu_pd(lanes, _mm256_add_pd(a0, a1));
	for (int j = 0; j < 4; j++)
		sum += lanes[j];
	return sum;
}

/* no "fma" here: a contracted multiply-add would round differently */
__attribute__((target("avx2")))
static int64
adam_avx2(float *w, float *g, float *m, float *v, int64 n, float lr, float l2,
		  float c1, float c2, float b1, float b2, float eps)
{
	__m256		l2v = _mm256_set1_ps(l2),
				b1v = _mm256_set1_ps(b1),
				b2v = _mm256_set1_ps(b2),
				nb1 = _mm256_set1_ps(1 - b1),
				nb2 = _mm256_set1_ps(1 - b2),
				c1v = _mm256_set1_ps(c1),
				c2v = _mm256_set1_ps(c2),
				lrv = _mm256_set1_ps(lr),
				epsv = _mm256_set1_ps(eps);
	int64		i = 0;

	for (; i + 8 <= n; i += 8)
	{
		__m256		wj = _mm256_loadu_ps(w + i);
		__m256		gj = _mm256_add_ps(_mm256_loadu_ps(g + i), _mm256_mul_ps(l2v, wj));
		__m256		mj = _mm256_add_ps(_mm256_mul_ps(b1v, _mm256_loadu_ps(m + i)),
									   _mm256_mul_ps(nb1, gj));
		__m256		vj = _mm256_add_ps(_mm256_mul_ps(b2v, _mm256_loadu_ps(v + i)),
									   _mm256_mul_ps(_mm256_mul_ps(nb2, gj), gj));
		__m256		num = _mm256_mul_ps(lrv, _mm256_mul_ps(mj, c1v));
		__m256		den = _mm256_add_ps(_mm256_sqrt_ps(_mm256_mul_ps(vj, c2v)), epsv);

		_mm256_storeu_ps(m + i, mj);
		_mm256_storeu_ps(v + i, vj);
		_mm256_storeu_ps(w + i, _mm256_sub_ps(wj, _mm256_div_ps(num, den)));
		_mm256_storeu_ps(g + i, _mm256_setzero_ps());
	}
	return i;
}

__attribute__((target("avx2,fma")))
static int
above_avx2(const float *x, int from, int to, float t, int32 *out)
{
	__m256		tv = _mm256_set1_ps(t);
	int			i = from,
				c = 0;

	for (; i + 8 <= to; i += 8)
	{
		unsigned	m = (unsigned) _mm256_movemask_ps(_mm256_cmp_ps(_mm256_loadu_ps(x + i), tv,
																	_CMP_GT_OQ));

		while (m != 0)
		{
			out[c++] = i + __builtin_ctz(m);
			m &= m - 1;
		}
	}
	for (; i < to; i++)
		if (x[i] > t)
			out[c++] = i;
	return c;
}
#endif							/* CS_VEC_X86 */

float
cs_vec_max(const float *x, int64 n)
{
	float		mx = -INFINITY;

#ifdef CS_VEC_X86
	if (use_avx2())
		return max_avx2(x, n);
#endif
	for (int64 i = 0; i < n; i++)
		if (x[i] > mx)
			mx = x[i];
	return mx;
}

double
cs_vec_sum_exp(const float *x, int64 n, float shift)
{
	double		sum = 0;

#ifdef CS_VEC_X86
	if (use_avx2())
		return sum_exp_avx2(x, n, shift);
#endif
	for (int64 i = 0; i < n; i++)
		sum += expf(x[i] - shift);
	return sum;
}

double
cs_vec_exp(float *x, int64 n, float shift)
{
	double		sum = 0;

#ifdef CS_VEC_X86
	if (use_avx2())
		return exp_inplace_avx2(x, n, shift);
#endif
	for (int64 i = 0; i < n; i++)
	{
		x[i] = x[i] == -INFINITY ? 0.0f : expf(x[i] - shift);
		sum += x[i];
	}
	return sum;
}

void
cs_vec_adam(float *w, float *g, float *m, float *v, int64 n, float lr, float l2,
			float c1, float c2, float b1, float b2, float eps)
{
	int64		i = 0;

#ifdef CS_VEC_X86
	if (use_avx2())
		i = adam_avx2(w, g, m, v, n, lr, l2, c1, c2, b1, b2, eps);
#endif
	for (; i < n; i++)
	{
		float		gj = g[i] + l2 * w[i];

		m[i] = b1 * m[i] + (1 - b1) * gj;
		v[i] = b2 * v[i] + (1 - b2) * gj * gj;
		w[i] -= lr * (m[i] * c1) / (sqrtf(v[i] * c2) + eps);
		g[i] = 0;
	}
}

int
cs_vec_above(const float *x, int from, int to, float t, int32 *out)
{
	int			c = 0;

#ifdef CS_VEC_X86
	if (use_avx2())
		return above_avx2(x, from, to, t, out);
#endif
	for (int i = from; i < to; i++)
		if (x[i] > t)
			out[c++] = i;
	return c;
}
