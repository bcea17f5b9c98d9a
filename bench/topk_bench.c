/*
 * bench/topk_bench.c
 *	  src/topk.c outside the server: the time cs_topk() takes over n scores
 *	  in the orders that matter, against the time to read them once.
 *
 *	  topk_bench N K REPS
 *
 *	  Orders: random; increasing (every score beats the ones before: the
 *	  worst case of a plain heap, met when item ids follow popularity);
 *	  decreasing; all equal.  Prints the median milliseconds of each.
 *	  Built by bench/serve with the server's include flags (topk.c includes
 *	  postgres.h but calls nothing from the server but palloc and pfree,
 *	  which this file provides).
 */
#include "../src/topk.c"
#include "../src/vec.c"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/* port.h (through postgres.h) routes these to libpgport: use libc's */
#undef printf
#undef fprintf
#undef qsort

void *
palloc(Size size)
{
	return malloc(size);
}

void
pfree(void *p)
{
	free(p);
}

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

int
main(int argc, char **argv)
{
	int			n,
				k,
				reps;
	float	   *s;
	int32	   *idx;
	float	   *val;
	double	   *t;
	const char *orders[] = {"random", "increasing", "decreasing", "equal"};
	unsigned	seed = 3;

	if (argc != 4)
	{
		fprintf(stderr, "usage: topk_bench N K REPS\n");
		return 2;
	}
	n = atoi(argv[1]);
	k = atoi(argv[2]);
	reps = atoi(argv[3]);
	s = malloc(sizeof(float) * n);
	idx = malloc(sizeof(int32) * k);
	val = malloc(sizeof(float) * k);
	t = malloc(sizeof(double) * reps);
	printf("n=%d k=%d", n, k);
	for (int o = 0; o < 4; o++)
	{
		for (int i = 0; i < n; i++)
			s[i] = o == 0 ? (float) rand_r(&seed) / RAND_MAX :
				o == 1 ? (float) i / n : o == 2 ? 1.0f - (float) i / n : 0.5f;
		for (int r = 0; r < reps; r++)
		{
			double		t0 = now();
			int			found = cs_topk(s, n, k, idx, val);

			t[r] = now() - t0;
			if (found != (n < k ? n : k) || (o == 1 && idx[0] != n - 1) ||
				(o == 2 && idx[0] != 0) || (o == 3 && idx[found - 1] != found - 1))
			{
				fprintf(stderr, "wrong answer for order %s\n", orders[o]);
				return 1;
			}
		}
		qsort(t, reps, sizeof(double), cmp_double);
		printf(" %s_ms=%.4f", orders[o], t[reps / 2] * 1e3);
	}
	printf("\n");
	return 0;
}
