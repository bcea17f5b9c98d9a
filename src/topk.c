/*
 * topk.c
 *	  Top-k selection with a bounded min-heap.
 *
 * The heap's root is the k-th best so far; every score is first compared
 * with it, so in the common case a score costs one comparison and the heap is
 * touched only by the few that enter it.  The worst case (scores rising with
 * the index, as when item ids follow popularity) costs O(n log k) and is
 * tested.
 */
#include "postgres.h"

#include <math.h>

#include "topk.h"

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

static void
sift_up(float *hv, int32 *hi, int i)
{
	while (i > 0)
	{
		int			p = (i - 1) / 2;

		if (!worse(hv[i], hi[i], hv[p], hi[p]))
			return;
		{
			float		tv = hv[i];
			int32		ti = hi[i];

			hv[i] = hv[p];
			hi[i] = hi[p];
			hv[p] = tv;
			hi[p] = ti;
		}
		i = p;
	}
}

int
cs_topk(const float *scores, int n, int k, int32 *idx, float *val)
{
	int			size = 0;

	if (k <= 0)
		return 0;
	for (int i = 0; i < n; i++)
	{
		float		s = scores[i];

		if (s == -INFINITY)
			continue;
		if (size < k)
		{
			val[size] = s;
			idx[size] = i;
			sift_up(val, idx, size);
			size++;
		}
		else if (s > val[0])	/* equal scores keep the lower index */
		{
			val[0] = s;
			idx[0] = i;
			sift_down(val, idx, size, 0);
		}
	}

	/* heap sort: repeatedly move the worst to the end */
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
