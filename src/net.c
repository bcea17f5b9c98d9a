/*
 * net.c
 *	  The forward pass shared by training and serving (see net.h).
 */
#include "postgres.h"

#include "blas.h"
#include "net.h"

void
cs_net_users(const CsNet *net, int B, const float *H,
			 const int64 *attr_start, const int32 *attr_rows, const float *attr_w,
			 float *Ulin, float *Z, float *U)
{
	int			d = net->dim;

	/* Ulin = H W' + u0 + attributes */
	for (int r = 0; r < B; r++)
		memcpy(Ulin + (Size) r * d, net->user_base, sizeof(float) * d);
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B, d, d,
				1.0f, H, d, net->history, d, 1.0f, Ulin, d);
	if (attr_start != NULL)
		for (int r = 0; r < B; r++)
			for (int64 k = attr_start[r]; k < attr_start[r + 1]; k++)
				cblas_saxpy(d, attr_w[k], net->user_values + (Size) attr_rows[k] * d, 1,
							Ulin + (Size) r * d, 1);

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
