/*
 * topk.c
 *	  Top-k selection: a threshold scan into a buffer, with linear selection.
 *
 * Scores are scanned against a threshold, eight at a time (vec.c), so in
 * the common case a score costs a fraction of a comparison and only the few
 * that beat the threshold are copied to a buffer.  The threshold starts from
 * an evenly spaced sample of the scores and then follows the worst of the
 * best k found so far.  When the buffer fills, quickselect keeps its best k and the
 * threshold rises to the worst of them.  Each such selection costs time
 * linear in the buffer and empties at least half of it, so the worst case
 * (scores rising with the index, as when item ids follow popularity) stays
 * linear in n, where a heap took O(n log k) (29 ms at a million rising
 * scores and k = 10; bench/serve measures this one).  The final k are
 * heap-sorted.
 *
 * The order is total: a better score first, then the lower index; so the
 * result does not depend on the algorithm.
 */
#include "postgres.h"

#include <math.h>

#include "topk.h"
#include "vec.h"

/* a is better than b under the total order */
static inline bool
better(const float *x, int32 a, int32 b)
{
	return x[a] > x[b] || (x[a] == x[b] && a < b);
}

static inline void
swap32(int32 *a, int i, int j)
{
	int32		t = a[i];

	a[i] = a[j];
	a[j] = t;
}

/* Reorder a[0..n) so that a[0..k) are its k best (in no order); 0 < k < n. */
static void
select_best(const float *x, int32 *a, int n, int k)
{
	int			lo = 0,
				hi = n - 1;

	while (lo < hi)
	{
		int			mid = lo + (hi - lo) / 2;
		int32		p;
		int			i = lo - 1,
					j = hi + 1;

		/* median of three: sorted and reversed runs stay linear */
		if (better(x, a[mid], a[lo]))
			swap32(a, mid, lo);
		if (better(x, a[hi], a[lo]))
			swap32(a, hi, lo);
		if (better(x, a[hi], a[mid]))
			swap32(a, hi, mid);
		p = a[mid];
		/* Hoare: [lo, j] is not worse than p, [j + 1, hi] not better */
		for (;;)
		{
			do
				i++;
			while (better(x, a[i], p));
			do
				j--;
			while (better(x, p, a[j]));
			if (i >= j)
				break;
			swap32(a, i, j);
		}
		if (k - 1 <= j)
			hi = j;
		else
			lo = j + 1;
	}
}

/* a is worse than b: lower score, or same score and higher index */
static inline bool
worse(float sa, int32 ia, float sb, int32 ib)
{
	return sa < sb || (sa == sb && ia > ib);
}

static void
sift_down(float *hv, int32 *hi, int n, int i)
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
			int32		ti = hi[i];

			hv[i] = hv[m];
			hi[i] = hi[m];
			hv[m] = tv;
			hi[m] = ti;
		}
		i = m;
	}
}

/*
 * A threshold below which no top-k score can be: the k-th best of an evenly
 * spaced sample of m scores (those k are real scores, so the k-th best of all
 * is at least as good), lowered by one ulp because the scan keeps only scores
 * above it.  Without it, rising scores would pass the scan's threshold one
 * after the other; with it, about k * n / m of them do.  buf: room for m.
 */
static float
sample_threshold(const float *x, int n, int k, int m, int32 *buf)
{
	int			found = 0;
	int32		w;

	if (m < 8 * k)
		return -INFINITY;
	for (int j = 0; j < m; j++)
	{
		int32		i = (int32) (((int64) j * n) / m + (n / m) / 2);

		if (x[i] > -INFINITY)
			buf[found++] = i;
	}
	if (found < k)
		return -INFINITY;
	if (found > k)
		select_best(x, buf, found, k);
	w = buf[0];
	for (int j = 1; j < k; j++)
		if (better(x, w, buf[j]))
			w = buf[j];
	return nextafterf(x[w], -INFINITY);
}

int
cs_topk(const float *scores, int n, int k, int32 *idx, float *val)
{
	int			cap,
				sample,
				count = 0,
				size;
	int32	   *buf;
	float		thr = -INFINITY;	/* -INFINITY entries never pass */

	if (k <= 0 || n <= 0)
		return 0;
	cap = Min(n, Max(4 * k, 4096));
	sample = Min(n / 8, Max(8 * k, 1024));
	buf = palloc(sizeof(int32) * Max(cap, sample));
	thr = sample_threshold(scores, n, k, sample, buf);
	for (int from = 0; from < n;)
	{
		int			len = Min(n - from, cap - count);

		count += cs_vec_above(scores, from, from + len, thr, buf + count);
		from += len;
		/* three quarters full: keep the best k, raise the threshold */
		if (count > k && count >= cap - cap / 4 && from < n)
		{
			int32		w;

			select_best(scores, buf, count, k);
			count = k;
			w = buf[0];
			for (int j = 1; j < k; j++)
				if (better(scores, w, buf[j]))
					w = buf[j];
			/* later entries have higher indices: an equal score is worse */
			thr = scores[w];
		}
	}
	if (count > k)
		select_best(scores, buf, count, k);
	size = Min(count, k);

	/* heap sort, worst at the root: repeatedly move it to the end */
	for (int j = 0; j < size; j++)
	{
		idx[j] = buf[j];
		val[j] = scores[buf[j]];
	}
	pfree(buf);
	for (int i = size / 2 - 1; i >= 0; i--)
		sift_down(val, idx, size, i);
	for (int end = size - 1; end > 0; end--)
	{
		float		tv = val[0];
		int32		ti = idx[0];

		val[0] = val[end];
		idx[0] = idx[end];
		val[end] = tv;
		idx[end] = ti;
		sift_down(val, idx, end, 0);
	}
	return size;
}
