/*
 * bench/floor.c
 *	  The floors that bench/train and bench/serve compare coldstart with:
 *	  plain OpenBLAS on matrices of the same shapes, outside PostgreSQL.
 *
 *	  floor sgemm N D B REPS
 *		The three sgemms of one full-softmax training batch (logits
 *		S = U V', dU = S V, dV = S' U with U: B x D, V: N x D), repeated;
 *		prints the median GFLOP/s of the triple ("effective": the shapes
 *		training uses) and of a 1024^3 sgemm ("peak").
 *	  floor core
 *		The OpenBLAS core in use.
 *	  floor fp16 N D REPS CAND
 *		A prototype of a faster first pass (issue 4's stretch goal): scores
 *		from an fp16 copy of the matrix, exact fp32 rescoring of the best
 *		CAND, their top 10; against one sgemv and its top 10.  Prints both
 *		medians and how often the two top 10s are the same set.
 *	  floor serve N D REPS
 *		One recommendation's arithmetic: scores = bias + V u (one sgemv
 *		over an N x D matrix), then the top 10 with a bounded min-heap in a
 *		plain C loop; prints the median and 99th percentile milliseconds of
 *		REPS calls, each with a new random u.
 *
 *	  Run it with OPENBLAS_NUM_THREADS=1 (one BLAS thread, as a backend uses by
 *	  default) and OPENBLAS_CORETYPE=SkylakeX on CPUs with AVX-512, as
 *	  src/blas.c does inside the backend (OpenBLAS 0.3.21 takes some recent
 *	  Xeons for a Prescott).  bench/train and bench/serve do both.
 */
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int
cmp_double(const void *a, const void *b)
{
	double		x = *(const double *) a,
				y = *(const double *) b;

	return x < y ? -1 : x > y;
}

static float *
random_matrix(size_t n, unsigned *seed, float scale)
{
	float	   *m = malloc(sizeof(float) * (n ? n : 1));

	if (m == NULL)
	{
		fprintf(stderr, "out of memory\n");
		exit(1);
	}
	for (size_t i = 0; i < n; i++)
		m[i] = scale * ((float) rand_r(seed) / RAND_MAX - 0.5f);
	return m;
}

static double
median(double *x, int n)
{
	qsort(x, n, sizeof(double), cmp_double);
	return x[n / 2];
}

static int
floor_sgemm(int n, int d, int B, int reps)
{
	unsigned	seed = 1;
	float	   *U = random_matrix((size_t) B * d, &seed, 1);
	float	   *V = random_matrix((size_t) n * d, &seed, 1);
	float	   *S = random_matrix((size_t) B * n, &seed, 1e-3f);
	float	   *dU = random_matrix((size_t) B * d, &seed, 0);
	float	   *dV = random_matrix((size_t) n * d, &seed, 0);
	double	   *t = malloc(sizeof(double) * reps);
	double		flops = 6.0 * B * (double) n * d;
	int			big = 1024;
	float	   *A = random_matrix((size_t) big * big, &seed, 1);
	float	   *Bm = random_matrix((size_t) big * big, &seed, 1);
	float	   *C = random_matrix((size_t) big * big, &seed, 0);
	double		tp[5];

	for (int r = -2; r < reps; r++)
	{
		double		t0 = now();

		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B, n, d,
					1.0f, U, d, V, d, 0.0f, S, n);
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, B, d, n,
					1.0f, S, n, V, d, 0.0f, dU, d);
		cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, n, d, B,
					1.0f, S, n, U, d, 0.0f, dV, d);
		if (r >= 0)
			t[r] = now() - t0;
	}
	for (int r = 0; r < 5; r++)
	{
		double		t0 = now();

		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, big, big, big,
					1.0f, A, big, Bm, big, 0.0f, C, big);
		tp[r] = now() - t0;
	}
	printf("core=%s effective_gflops=%.2f peak_gflops=%.2f batch_ms=%.4f\n",
		   openblas_get_corename(), flops / median(t, reps) * 1e-9,
		   2.0 * big * big * (double) big / median(tp, 5) * 1e-9, median(t, reps) * 1e3);
	return 0;
}

/* a is worse than b: lower score, or same score and higher index */
static inline int
worse(float sa, int ia, float sb, int ib)
{
	return sa < sb || (sa == sb && ia > ib);
}

static void
sift_down(float *hv, int *hi, int n, int i)
{
	for (;;)
	{
		int			l = 2 * i + 1,
					r = l + 1,
					m = i;

		if (l < n && worse(hv[l], hi[l], hv[m], hi[m]))
			m = l;
		if (r < n && worse(hv[r], hi[r], hv[m], hi[m]))
			m = r;
		if (m == i)
			return;
		{
			float		tv = hv[i];
			int			ti = hi[i];

			hv[i] = hv[m];
			hi[i] = hi[m];
			hv[m] = tv;
			hi[m] = ti;
		}
		i = m;
	}
}

/* Keep the k best (score, index) pairs seen so far in a min-heap of *size entries. */
static inline void
heap_push(float *hv, int *hi, int k, int *size, float s, int i)
{
	if (*size < k)
	{
		hv[*size] = s;
		hi[*size] = i;
		if (++*size == k)
			for (int j = k / 2 - 1; j >= 0; j--)
				sift_down(hv, hi, k, j);
	}
	else if (worse(hv[0], hi[0], s, i))
	{
		hv[0] = s;
		hi[0] = i;
		sift_down(hv, hi, k, 0);
	}
}

static float sink;

static int
floor_serve(int n, int d, int reps)
{
	unsigned	seed = 2;
	float	   *V = random_matrix((size_t) n * d, &seed, 0.2f);
	float	   *bias = random_matrix(n, &seed, 1);
	float	   *sc = malloc(sizeof(float) * n);
	double	   *t = malloc(sizeof(double) * reps);
	const int	k = 10;

	for (int r = -3; r < reps; r++)
	{
		float	   *u = random_matrix(d, &seed, 1);
		float		hv[10];
		int			hi[10];
		int			size = 0;
		double		t0 = now();

		memcpy(sc, bias, sizeof(float) * n);
		cblas_sgemv(CblasRowMajor, CblasNoTrans, n, d, 1.0f, V, d, u, 1, 1.0f, sc, 1);
		for (int i = 0; i < n; i++)
			heap_push(hv, hi, k, &size, sc[i], i);
		if (r >= 0)
			t[r] = now() - t0;
		sink += hv[0] + hi[0];
		free(u);
	}
	qsort(t, reps, sizeof(double), cmp_double);
	printf("core=%s items=%d dim=%d reps=%d p50_ms=%.4f p99_ms=%.4f\n",
		   openblas_get_corename(), n, d, reps, t[reps / 2] * 1e3,
		   t[(int) (reps * 0.99)] * 1e3);
	return 0;
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

/*
 * The stretch of issue 4: a first pass over an fp16 copy of the matrix (half
 * the bytes: 128 MB at a million items, which stays in this machine's L3),
 * then the exact fp32 scores of its best CAND, and their top 10.
 */
__attribute__((target("avx2,fma,f16c")))
static void
scores_fp16(const unsigned short *H, const float *bias, const float *u, int n, int d, float *sc)
{
	int			i = 0;

	/* eight rows at a time: eight sums reduced together */
	for (; d % 8 == 0 && i + 8 <= n; i += 8)
	{
		__m256		a[8],
					s01,
					s23,
					s45,
					s67,
					s0123,
					s4567;

		for (int r = 0; r < 8; r++)
			a[r] = _mm256_setzero_ps();
		for (int j = 0; j < d; j += 8)
		{
			__m256		uj = _mm256_loadu_ps(u + j);

			for (int r = 0; r < 8; r++)
				a[r] = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *) (H + (size_t) (i + r) * d + j))),
									   uj, a[r]);
		}
		s01 = _mm256_hadd_ps(a[0], a[1]);
		s23 = _mm256_hadd_ps(a[2], a[3]);
		s45 = _mm256_hadd_ps(a[4], a[5]);
		s67 = _mm256_hadd_ps(a[6], a[7]);
		s0123 = _mm256_hadd_ps(s01, s23);
		s4567 = _mm256_hadd_ps(s45, s67);
		_mm256_storeu_ps(sc + i,
						 _mm256_add_ps(_mm256_loadu_ps(bias + i),
									   _mm256_add_ps(_mm256_permute2f128_ps(s0123, s4567, 0x20),
													 _mm256_permute2f128_ps(s0123, s4567, 0x31))));
	}
	for (; i < n; i++)
	{
		const unsigned short *h = H + (size_t) i * d;
		__m256		acc = _mm256_setzero_ps();
		__m128		lo,
					hi;

		for (int j = 0; j < d; j += 8)
			acc = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *) (h + j))),
								  _mm256_loadu_ps(u + j), acc);
		lo = _mm256_castps256_ps128(acc);
		hi = _mm256_extractf128_ps(acc, 1);
		lo = _mm_add_ps(lo, hi);
		lo = _mm_hadd_ps(lo, lo);
		lo = _mm_hadd_ps(lo, lo);
		sc[i] = bias[i] + _mm_cvtss_f32(lo);
	}
}

__attribute__((target("avx2,fma,f16c")))
static void
to_fp16(const float *V, size_t n, unsigned short *H)
{
	for (size_t i = 0; i + 8 <= n; i += 8)
		_mm_storeu_si128((__m128i *) (H + i),
						 _mm256_cvtps_ph(_mm256_loadu_ps(V + i), _MM_FROUND_TO_NEAREST_INT));
}

/* indices of the k best of sc[0..n) into out (unordered), by a min-heap */
static void
best_k(const float *sc, int n, int k, float *hv, int *hi)
{
	int			size = 0;

	for (int i = 0; i < n; i++)
		heap_push(hv, hi, k, &size, sc[i], i);
}

static int
cmp_idx(const void *a, const void *b)
{
	return *(const int *) a - *(const int *) b;
}

static int
floor_fp16(int n, int d, int reps, int cand)
{
	unsigned	seed = 2;
	/* item vectors with a popularity-like bias, as trained models have */
	float	   *V = random_matrix((size_t) n * d, &seed, 0.2f);
	float	   *bias = malloc(sizeof(float) * n);
	unsigned short *H = malloc(sizeof(unsigned short) * (size_t) n * d);
	float	   *sc = malloc(sizeof(float) * n);
	float	   *hv = malloc(sizeof(float) * cand);
	int		   *hi = malloc(sizeof(int) * cand);
	double	   *t = malloc(sizeof(double) * reps);
	double	   *te = malloc(sizeof(double) * reps);
	float	  **U = malloc(sizeof(float *) * reps);
	int		   *top = malloc(sizeof(int) * 10 * (size_t) reps);
	int			same = 0;

	for (int i = 0; i < n; i++)
		bias[i] = -logf(1.0f + (float) rand_r(&seed) / RAND_MAX * n / 100.0f);
	to_fp16(V, (size_t) n * d, H);

	/* the users, then each path over all of them: the two copies don't evict each other */
	for (int r = 0; r < reps; r++)
		U[r] = random_matrix(d, &seed, 2);
	for (int r = 0; r < reps; r++)
	{
		const float *u = U[r];
		float		av[10];
		int		   *ai = top + (size_t) r * 10;
		int			size = 0;
		double		t0 = now();

		/* approximate pass, then exact rescoring of the best cand and their top 10 */
		scores_fp16(H, bias, u, n, d, sc);
		best_k(sc, n, cand, hv, hi);
		for (int c = 0; c < cand; c++)
		{
			float		s = bias[hi[c]];

			for (int j = 0; j < d; j++)
				s += V[(size_t) hi[c] * d + j] * u[j];
			heap_push(av, ai, 10, &size, s, hi[c]);
		}
		t[r] = now() - t0;
	}
	for (int r = 0; r < reps; r++)
	{
		float		ev[10];
		int			ei[10];
		double		t0 = now();

		memcpy(sc, bias, sizeof(float) * n);
		cblas_sgemv(CblasRowMajor, CblasNoTrans, n, d, 1.0f, V, d, U[r], 1, 1.0f, sc, 1);
		best_k(sc, n, 10, ev, ei);
		te[r] = now() - t0;
		qsort(ei, 10, sizeof(int), cmp_idx);
		qsort(top + (size_t) r * 10, 10, sizeof(int), cmp_idx);
		same += memcmp(ei, top + (size_t) r * 10, sizeof(ei)) == 0;
	}
	qsort(t, reps, sizeof(double), cmp_double);
	qsort(te, reps, sizeof(double), cmp_double);
	printf("items=%d dim=%d cand=%d fp16_p50_ms=%.4f exact_p50_ms=%.4f same_top10=%d/%d\n",
		   n, d, cand, t[reps / 2] * 1e3, te[reps / 2] * 1e3, same, reps);
	return 0;
}
#endif

int
main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "core") == 0)
		return printf("%s\n", openblas_get_corename()) < 0;
	if (argc == 6 && strcmp(argv[1], "sgemm") == 0)
		return floor_sgemm(atoi(argv[2]), atoi(argv[3]), atoi(argv[4]), atoi(argv[5]));
#if defined(__x86_64__) && defined(__GNUC__)
	if (argc == 6 && strcmp(argv[1], "fp16") == 0)
		return floor_fp16(atoi(argv[2]), atoi(argv[3]), atoi(argv[4]), atoi(argv[5]));
#endif
	if (argc == 5 && strcmp(argv[1], "serve") == 0)
		return floor_serve(atoi(argv[2]), atoi(argv[3]), atoi(argv[4]));
	fprintf(stderr, "usage: floor sgemm N D B REPS | floor serve N D REPS\n");
	return 2;
}
