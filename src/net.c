/*
 * net.c
 *	  The forward pass shared by training and serving (see net.h).
 */
#include "postgres.h"

#include <float.h>

#include "utils/memutils.h"

#include "blas.h"
#include "model_format.h"
#include "net.h"

void
cs_net_users(const CsNet *net, int B, const float *H, const int32 *sizes,
			 const int64 *attr_start, const int32 *attr_rows, const float *attr_w,
			 float *Ulin, float *Z, float *U)
{
	int			d = net->dim;

	/* Ulin = H W' + u0 + size vector + attributes */
	for (int r = 0; r < B; r++)
	{
		memcpy(Ulin + (Size) r * d, net->user_base, sizeof(float) * d);
		if (net->size_vectors != NULL)
			cblas_saxpy(d, 1.0f, net->size_vectors + (Size) cs_size_bucket(sizes ? sizes[r] : 0) * d, 1,
						Ulin + (Size) r * d, 1);
	}
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B, d, d,
				1.0f, H, d, net->history, d, 1.0f, Ulin, d);
	if (attr_start != NULL)
		for (int r = 0; r < B; r++)
			for (int64 k = attr_start[r]; k < attr_start[r + 1]; k++)
				cblas_saxpy(d, attr_w[k], net->user_values + (Size) attr_rows[k] * d, 1,
							Ulin + (Size) r * d, 1);

	cs_net_hidden(net, B, Ulin, Z, U);
}

void
cs_net_hidden(const CsNet *net, int B, const float *Ulin, float *Z, float *U)
{
	int			d = net->dim;

	memcpy(U, Ulin, sizeof(float) * (Size) B * d);
	if (net->hidden > 0)
	{
		int			h = net->hidden;

		/* Z = Ulin W1' + b1; U += relu(Z) W2' */
		for (int r = 0; r < B; r++)
			memcpy(Z + (Size) r * h, net->b1, sizeof(float) * h);
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B, h, d,
					1.0f, Ulin, d, net->w1, d, 1.0f, Z, h);
		/* Z keeps relu(z): relu'(z) = (relu(z) > 0) for backpropagation */
		for (Size i = 0; i < (Size) B * h; i++)
			if (Z[i] < 0)
				Z[i] = 0;
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B, d, h,
					1.0f, Z, h, net->w2, h, 1.0f, U, d);
	}
}

void
cs_item_from_features(int dim, int n_rows, const int32 *rows, const float *weights,
					  const float *F, const float *bF, const float *P,
					  const float *content, int content_dim, float *v, float *b)
{
	memset(v, 0, sizeof(float) * dim);
	*b = 0;
	for (int k = 0; k < n_rows; k++)
	{
		cblas_saxpy(dim, weights[k], F + (Size) rows[k] * dim, 1, v, 1);
		*b += weights[k] * bF[rows[k]];
	}
	if (content != NULL && content_dim > 0)
		cblas_sgemv(CblasRowMajor, CblasTrans, content_dim, dim, 1.0f, P, dim,
					content, 1, 1.0f, v, 1);
}

void
cs_match_index_build(CsMatchIndex *mi, int n_values, int n_columns,
					 const int32 *col_first, const int32 *col_count,
					 int n_items, const int64 *row_start, const int32 *rows,
					 const float *weights)
{
	int64		nnz = row_start[n_items];
	int64	   *fill;

	mi->n_values = n_values;
	mi->start = palloc0(sizeof(int64) * (n_values + 1));
	mi->items = palloc_extended(sizeof(int32) * Max(nnz, 1), MCXT_ALLOC_HUGE);
	mi->weights = palloc_extended(sizeof(float) * Max(nnz, 1), MCXT_ALLOC_HUGE);
	mi->value_col = palloc(sizeof(int32) * Max(n_values, 1));
	for (int c = 0; c < n_columns; c++)
		for (int k = col_first[c]; k < col_first[c] + col_count[c]; k++)
			mi->value_col[k] = c;
	for (int64 q = 0; q < nnz; q++)
		mi->start[rows[q] + 1]++;
	for (int k = 0; k < n_values; k++)
		mi->start[k + 1] += mi->start[k];
	fill = palloc(sizeof(int64) * Max(n_values, 1));
	memcpy(fill, mi->start, sizeof(int64) * n_values);
	for (int i = 0; i < n_items; i++)
		for (int64 q = row_start[i]; q < row_start[i + 1]; q++)
		{
			int64		at = fill[rows[q]]++;

			mi->items[at] = i;
			mi->weights[at] = weights[q];
		}
	pfree(fill);
}

void
cs_profile_init(CsMatchProfile *p, int n_values)
{
	p->n = 0;
	p->cap = 16;
	p->rows = palloc(sizeof(int32) * p->cap);
	p->vals = palloc(sizeof(float) * p->cap);
	p->dense = palloc0(sizeof(float) * Max(n_values, 1));
}

void
cs_profile_add(CsMatchProfile *p, float w, int n_rows, const int32 *rows, const float *x)
{
	for (int q = 0; q < n_rows; q++)
	{
		if (p->dense[rows[q]] == 0)
		{
			if (p->n == p->cap)
			{
				p->cap *= 2;
				p->rows = repalloc(p->rows, sizeof(int32) * p->cap);
				p->vals = repalloc(p->vals, sizeof(float) * p->cap);
			}
			p->rows[p->n++] = rows[q];
		}
		p->dense[rows[q]] += w * x[q];
		if (p->dense[rows[q]] == 0)
			p->dense[rows[q]] = FLT_MIN;	/* keep "present" distinct from "absent" */
	}
}

void
cs_profile_finish(CsMatchProfile *p)
{
	/* presence with diminishing returns: one view 0.63, three 0.95 */
	for (int q = 0; q < p->n; q++)
	{
		p->vals[q] = 1.0f - expf(-p->dense[p->rows[q]]);
		p->dense[p->rows[q]] = 0;
	}
}

void
cs_match_index_dense(CsMatchIndex *mi, int n_items, int n_columns,
					 const int32 *col_first, const int32 *col_count,
					 const int64 *row_start, const int32 *rows, const float *weights)
{
	int64		table = 0;

	mi->n_items = n_items;
	mi->n_columns = n_columns;
	mi->col_first = palloc(sizeof(int32) * Max(n_columns, 1));
	mi->col_count = palloc(sizeof(int32) * Max(n_columns, 1));
	if (n_columns > 0)
	{
		memcpy(mi->col_first, col_first, sizeof(int32) * n_columns);
		memcpy(mi->col_count, col_count, sizeof(int32) * n_columns);
	}
	mi->codes = palloc0(sizeof(uint16 *) * Max(n_columns, 1));
	for (int c = 0; c < n_columns; c++)
	{
		uint16	   *code;
		bool		ok = col_count[c] > 0 && col_count[c] < PG_UINT16_MAX;

		if (!ok)
			continue;
		code = palloc_extended(sizeof(uint16) * Max(n_items, 1), MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
		for (int i = 0; ok && i < n_items; i++)
			for (int64 q = row_start[i]; ok && q < row_start[i + 1]; q++)
			{
				int			v = rows[q] - col_first[c];

				if (v < 0 || v >= col_count[c])
					continue;
				ok = code[i] == 0 && weights[q] == 1.0f;
				code[i] = (uint16) (v + 1);
			}
		if (ok)
		{
			mi->codes[c] = code;
			table = Max(table, col_count[c] + 1);
		}
		else
			pfree(code);
	}
	mi->table = palloc0(sizeof(float) * Max(table, 1));
}

/* The profile entries of column c, scattered through their postings. */
static void
match_scatter(const CsMatchIndex *mi, const float *gamma, int n, const int32 *rows,
			  const float *vals, float *scores, int c)
{
	for (int q = 0; q < n; q++)
	{
		int			k = rows[q];
		float		g;

		if (c >= 0 && mi->value_col[k] != c)
			continue;
		g = gamma[mi->value_col[k]] * vals[q];
		for (int64 a = mi->start[k]; a < mi->start[k + 1]; a++)
			scores[mi->items[a]] += g * mi->weights[a];
	}
}

void
cs_match_add(const CsMatchIndex *mi, const float *gamma, int n, const int32 *rows,
			 const float *vals, float *scores)
{
	int64	   *postings;

	if (mi->codes == NULL)
	{
		match_scatter(mi, gamma, n, rows, vals, scores, -1);
		return;
	}

	/*
	 * Per column, the postings the profile would walk: beyond an eighth of
	 * the catalogue, one pass over the column's codes reads less memory (2
	 * bytes an item instead of 8 a posting) and in order.
	 */
	postings = palloc0(sizeof(int64) * Max(mi->n_columns, 1));
	for (int q = 0; q < n; q++)
		postings[mi->value_col[rows[q]]] += mi->start[rows[q] + 1] - mi->start[rows[q]];
	for (int c = 0; c < mi->n_columns; c++)
	{
		const uint16 *code = mi->codes[c];
		float	   *t = mi->table;

		if (postings[c] == 0)
			continue;
		if (code == NULL || postings[c] <= mi->n_items / 8)
		{
			match_scatter(mi, gamma, n, rows, vals, scores, c);
			continue;
		}
		for (int q = 0; q < n; q++)
			if (mi->value_col[rows[q]] == c)
				t[1 + rows[q] - mi->col_first[c]] += gamma[c] * vals[q];
		for (int i = 0; i < mi->n_items; i++)
			scores[i] += t[code[i]];
		for (int q = 0; q < n; q++)
			if (mi->value_col[rows[q]] == c)
				t[1 + rows[q] - mi->col_first[c]] = 0;
	}
	pfree(postings);
}
