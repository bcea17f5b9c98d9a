/*
 * explain.c
 *	  explain(user_id, item_id) and explain_for_items(items, item_id, ...):
 *	  why recommend() and recommend_for_items() give an item the score they
 *	  give.
 *
 * The score s(x, i) = u(x) . v_i + b_i + match(x, i) is a sum, and so is
 * u(x) before the hidden layer:
 *
 *	  u_lin = u0 + S[size] + sum_a A[a] + W sum_j omega_j v_j
 *
 * so each known thing about the user adds its own term to the score: the
 * prior (u0 + S[size]) . v_i, each attribute A[a] . v_i, each behaviour
 * omega_j (W v_j) . v_i; then the hidden layer (u - u_lin) . v_i, the item's
 * bias, and the content match of each of the item's feature values.  The
 * rows add up to the score recommend() reports, to float rounding.
 */
#include "postgres.h"

#include <math.h>

#include "datatype/timestamp.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/float.h"
#include "utils/jsonb.h"
#include "utils/timestamp.h"

#include "blas.h"
#include "coldstart.h"
#include "featurize.h"
#include "score.h"

/* The column of value row "row" among columns cols[0..n), or NULL. */
static const CsColumn *
column_of(const CsColumn *cols, int n, int row)
{
	for (int c = 0; c < n; c++)
		if (cols[c].kind != CS_COL_DENSE && row >= cols[c].first && row < cols[c].first + cols[c].count)
			return &cols[c];
	return NULL;
}

/*
 * A bucket edge as text: the shortest exact form of the number, or for a
 * column of times the time it stands for, as the column's type prints it
 * (timestamptz in the session's time zone).
 */
static char *
edge_text(const CsColumn *col, double e)
{
	int			flag = col->flags & CS_COLF_TIMES;
	double		us = rint((e - PG_EPOCH_SECONDS) * USECS_PER_SEC);
	double		days = (e - PG_EPOCH_SECONDS) / SECS_PER_DAY;

	/* a whole day, as a date: dates reach beyond timestamps, to 5874897 AD */
	if (flag == CS_COLF_DATE && days == floor(days) &&
		days >= (double) (DATETIME_MIN_JULIAN - POSTGRES_EPOCH_JDATE) &&
		days < (double) (DATE_END_JULIAN - POSTGRES_EPOCH_JDATE))
		return DatumGetCString(DirectFunctionCall1(date_out, DateADTGetDatum((DateADT) days)));
	/* beyond what a timestamp holds (a model from elsewhere): the number */
	if (flag == 0 || !(us >= (double) MIN_TIMESTAMP && us < (double) END_TIMESTAMP))
		return float8out_internal(e);
	if (flag == CS_COLF_TIMESTAMPTZ)
		return DatumGetCString(DirectFunctionCall1(timestamptz_out,
												   TimestampTzGetDatum((TimestampTz) us)));
	/* timestamp, and a date edge inside a day: UTC wall time */
	return DatumGetCString(DirectFunctionCall1(timestamp_out, TimestampGetDatum((Timestamp) us)));
}

/* "column = value", or for a numeric bucket "column in [a, b)". */
static char *
value_name(const CsModel *m, const CsColumn *cols, int n_cols, const uint32 *values, int row)
{
	const CsColumn *col = column_of(cols, n_cols, row);
	const char *name;
	int			b;
	const double *e;

	if (col == NULL)
		return psprintf("value row %d", row);
	name = cs_model_string(m, col->name);
	if (col->kind != CS_COL_NUMERIC)
		return psprintf("%s = %s", name, cs_model_string(m, values[row]));
	b = row - col->first;
	e = m->edges + col->first_edge;
	if (col->count <= 1)
		return psprintf("%s (any value)", name);
	if (b == 0)
		return psprintf("%s < %s", name, edge_text(col, e[0]));
	if (b == col->count - 1)
		return psprintf("%s >= %s", name, edge_text(col, e[b - 1]));
	return psprintf("%s in [%s, %s)", name, edge_text(col, e[b - 1]), edge_text(col, e[b]));
}

static void
put_row(ReturnSetInfo *rsinfo, const char *part, const char *detail, double contribution)
{
	Datum		values[3];
	bool		nulls[3] = {false, detail == NULL, false};

	values[0] = CStringGetTextDatum(part);
	values[1] = detail ? CStringGetTextDatum(detail) : (Datum) 0;
	values[2] = Float8GetDatum(contribution);
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
}

/* The item's position in the scores, with a clear error if it has none. */
static int
explained_item(CsServed *s, const char *name, int64 item_id)
{
	int			pos = cs_served_find(s, item_id);

	if (pos < 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("item " INT64_FORMAT " is not in the catalogue of model \"%s\"", item_id, name),
				 errdetail("The model was not trained on it, and refresh_items() has not added it."),
				 errhint("For an item added to the items table after training, call coldstart.refresh_items('%s') first.",
						 name)));
	for (int j = 0; j < s->n_removed; j++)
		if (s->removed[j] == pos)
			ereport(NOTICE,
					(errmsg("item " INT64_FORMAT " is no longer in %s: recommend() leaves it out", item_id,
							s->items ? s->items : "the items table")));
	return pos;
}

/*
 * The terms of the score of item "pos" for the user of a history and
 * attribute rows, as rows of the function's result.
 */
static void
explain_terms(ReturnSetInfo *rsinfo, CsServed *s, int64 item_id, int pos,
			  const CsHistItem *hist, int n_hist, const int32 *attr_rows,
			  const float *attr_w, int n_attr)
{
	const CsModel *m = &s->m;
	int			d = m->dim;
	float	   *u = palloc(sizeof(float) * d);
	float	   *v = palloc(sizeof(float) * d);
	float	   *tmp = palloc(sizeof(float) * d);
	float		b;
	CsUserParts parts;
	const int32 *rows;
	const float *rw;
	int			n_rows;

	parts.vec = palloc(sizeof(float *) * Max(n_hist, 1));
	parts.omega = palloc(sizeof(float) * Max(n_hist, 1));
	parts.ulin = palloc(sizeof(float) * d);
	cs_user_vector(s, hist, n_hist, attr_rows, attr_w, n_attr, u, &parts);
	if (!cs_item_vector(s, item_id, v, &b))
		elog(ERROR, "item " INT64_FORMAT " has no vector", item_id);

	put_row(rsinfo, "item bias", NULL, b);

	/* the prior: u0 and the vector of the history's size */
	memcpy(tmp, m->user_base, sizeof(float) * d);
	if (m->size_vectors != NULL)
		cblas_saxpy(d, 1.0f, m->size_vectors + (Size) cs_size_bucket(parts.n_used) * d, 1, tmp, 1);
	put_row(rsinfo, "prior", psprintf(parts.n_used == 1 ? "%d behaviour" : "%d behaviours", parts.n_used),
			cblas_sdot(d, tmp, 1, v, 1));

	for (int k = 0; k < n_attr; k++)
		put_row(rsinfo, "attribute",
				value_name(m, m->user_columns, m->n_user_columns, m->user_values, attr_rows[k]),
				attr_w[k] * cblas_sdot(d, m->user_value_vectors + (Size) attr_rows[k] * d, 1, v, 1));

	/* each behaviour: omega_j (W v_j) . v_i, in the history's order */
	for (int j = 0; j < n_hist; j++)
	{
		if (parts.vec[j] == NULL || parts.omega[j] == 0)
			continue;
		cblas_sgemv(CblasRowMajor, CblasNoTrans, d, d, 1.0f, m->history, d, parts.vec[j], 1, 0.0f, tmp, 1);
		put_row(rsinfo, "behaviour",
				psprintf("item " INT64_FORMAT " (%s, weight %.3g)", hist[j].item_id,
						 hist[j].label ? hist[j].label : "view", parts.omega[j]),
				parts.omega[j] * cblas_sdot(d, tmp, 1, v, 1));
	}

	if (m->hidden > 0)
	{
		for (int j = 0; j < d; j++)
			tmp[j] = u[j] - parts.ulin[j];
		put_row(rsinfo, "hidden layer", NULL, cblas_sdot(d, tmp, 1, v, 1));
	}

	/* the content match: gamma[column] x_ik H_k for each of the item's values */
	n_rows = cs_served_item_rows(s, pos, &rows, &rw);
	for (int r = 0; r < n_rows; r++)
		for (int q = 0; q < s->prof.n; q++)
			if (s->prof.rows[q] == rows[r] && s->prof.vals[q] != 0 && m->match_weights != NULL)
				put_row(rsinfo, "content match",
						value_name(m, m->item_columns, m->n_item_columns, m->item_values, rows[r]),
						m->match_weights[s->mi.value_col[rows[r]]] * rw[r] * s->prof.vals[q]);
	s->prof.n = 0;
}

/*
 * The rows of either function: for user_id, read live as recommend() reads
 * it, or (session != NULL) for a session's behaviours and attributes.
 */
static Datum
explain_for(FunctionCallInfo fcinfo, const char *name, int64 item_id, int64 user_id,
			const CsHistItem *session, int n_session, Jsonb *session_attrs)
{
	CsServed   *s;
	int			pos,
				n_hist = n_session,
				n_attr;
	CsHistItem *hist = (CsHistItem *) session;
	int32	   *attr_rows;
	float	   *attr_w;

	InitMaterializedSRF(fcinfo, 0);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	s = cs_served_get(name);
	pos = explained_item(s, name, item_id);
	if (session == NULL)
	{
		n_hist = cs_read_history(s, user_id, cs_served_history_length(s), &hist);
		n_attr = cs_user_attributes(s, user_id, &attr_rows, &attr_w);
	}
	else
		n_attr = cs_jsonb_attributes(s, session_attrs, &attr_rows, &attr_w);
	explain_terms((ReturnSetInfo *) fcinfo->resultinfo, s, item_id, pos, hist, n_hist,
				  attr_rows, attr_w, n_attr);
	SPI_finish();
	return (Datum) 0;
}

PG_FUNCTION_INFO_V1(coldstart_explain);
Datum
coldstart_explain(PG_FUNCTION_ARGS)
{
	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be NULL", PG_ARGISNULL(0) ? "user_id" : "item_id")));
	return explain_for(fcinfo,
					   cs_model_name_or_default(PG_ARGISNULL(2) ? NULL : PG_GETARG_TEXT_PP(2)),
					   PG_GETARG_INT64(1), PG_GETARG_INT64(0), NULL, 0, NULL);
}

PG_FUNCTION_INFO_V1(coldstart_explain_for_items);
Datum
coldstart_explain_for_items(PG_FUNCTION_ARGS)
{
	CsHistItem *session;
	int			n;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("items must not be NULL"),
				 errhint("Pass '{}' for a visitor who has done nothing yet.")));
	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("item_id must not be NULL")));
	n = cs_session_history(PG_GETARG_ARRAYTYPE_P(0), PG_ARGISNULL(2) ? NULL : PG_GETARG_ARRAYTYPE_P(2),
						   &session);
	return explain_for(fcinfo,
					   cs_model_name_or_default(PG_ARGISNULL(3) ? NULL : PG_GETARG_TEXT_PP(3)),
					   PG_GETARG_INT64(1), 0, session, n,
					   PG_ARGISNULL(4) ? NULL : PG_GETARG_JSONB_P(4));
}
