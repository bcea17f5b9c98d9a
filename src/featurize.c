/*
 * featurize.c
 *	  Column values to features, shared by training and serving.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/lsyscache.h"
#include "utils/numeric.h"
#include "utils/timestamp.h"

#include "featurize.h"

static bool
is_categorical_scalar(Oid type)
{
	switch (type)
	{
		case TEXTOID:
		case VARCHAROID:
		case BPCHAROID:
		case NAMEOID:
		case BOOLOID:
		case INT2OID:
		case INT4OID:
		case INT8OID:
		case UUIDOID:
			return true;
		default:
			return type_is_enum(type);
	}
}

static bool
is_numeric_scalar(Oid type)
{
	switch (type)
	{
		case FLOAT4OID:
		case FLOAT8OID:
		case NUMERICOID:
		case INT2OID:
		case INT4OID:
		case INT8OID:
		case DATEOID:
		case TIMESTAMPOID:
		case TIMESTAMPTZOID:
			return true;
		default:
			return false;
	}
}

int
cs_auto_kind(Oid type)
{
	Oid			elem = get_element_type(type);

	if (OidIsValid(elem))
	{
		if (elem == FLOAT4OID || elem == FLOAT8OID)
			return CS_COL_DENSE;
		if (is_categorical_scalar(elem))
			return CS_COL_CATEGORICAL;
		return 0;
	}
	/* Integers are codes (category_id, brand_id) far more often than measures. */
	if (is_categorical_scalar(type))
		return CS_COL_CATEGORICAL;
	if (is_numeric_scalar(type))
		return CS_COL_NUMERIC;
	return 0;
}

void
cs_reader_init(CsValueReader *r, Oid type, int forced_kind,
			   const char *relname, const char *colname)
{
	Oid			elem = get_element_type(type);
	int			kind = forced_kind ? forced_kind : cs_auto_kind(type);
	Oid			outfn;
	bool		isvarlena;

	memset(r, 0, sizeof(*r));
	r->type = type;
	r->kind = kind;
	if (kind == 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("column \"%s\" of relation \"%s\" has type %s, which cannot be a feature",
						colname, relname, format_type_be(type)),
				 errhint("Features are text, integer, boolean or enum values (or arrays of them), numbers, dates, or real[] vectors; cast the column in a view.")));

	if (kind == CS_COL_NUMERIC && !is_numeric_scalar(type))
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("column \"%s\" of relation \"%s\" has type %s, which cannot be a numeric feature",
						colname, relname, format_type_be(type)),
				 errhint("Numeric features are numbers, dates or timestamps.")));
	if (kind == CS_COL_DENSE && elem != FLOAT4OID && elem != FLOAT8OID)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("column \"%s\" of relation \"%s\" has type %s, which cannot be a dense feature",
						colname, relname, format_type_be(type)),
				 errhint("Dense content vectors are real[] or double precision[].")));

	if (OidIsValid(elem))
	{
		r->is_array = (kind == CS_COL_CATEGORICAL);
		r->elemtype = elem;
		get_typlenbyvalalign(elem, &r->elmlen, &r->elmbyval, &r->elmalign);
		getTypeOutputInfo(elem, &outfn, &isvarlena);
	}
	else
		getTypeOutputInfo(type, &outfn, &isvarlena);
	fmgr_info(outfn, &r->out);
}

int
cs_read_categorical(CsValueReader *r, Datum d, char ***out)
{
	ArrayType  *arr;
	Datum	   *elems;
	bool	   *nulls;
	int			n,
				k = 0;

	if (!r->is_array)
	{
		*out = palloc(sizeof(char *));
		(*out)[0] = OutputFunctionCall(&r->out, d);
		return 1;
	}
	arr = DatumGetArrayTypeP(d);
	deconstruct_array(arr, r->elemtype, r->elmlen, r->elmbyval, r->elmalign,
					  &elems, &nulls, &n);
	*out = palloc(sizeof(char *) * Max(n, 1));
	for (int i = 0; i < n; i++)
	{
		char	   *s;
		bool		dup = false;

		if (nulls[i])
			continue;
		s = OutputFunctionCall(&r->out, elems[i]);
		/* {a,a,b} means a and b: repeated tags would double their weight. */
		for (int j = 0; j < k && !dup; j++)
			dup = (strcmp((*out)[j], s) == 0);
		if (!dup)
			(*out)[k++] = s;
	}
	return k;
}

bool
cs_datum_to_epoch(Datum d, Oid type, double *out)
{
	double		x;

	switch (type)
	{
		case TIMESTAMPOID:
		case TIMESTAMPTZOID:
			{
				Timestamp	t = DatumGetTimestamp(d);

				if (TIMESTAMP_NOT_FINITE(t))
					return false;
				x = (double) t / USECS_PER_SEC + PG_EPOCH_SECONDS;
				break;
			}
		case DATEOID:
			{
				DateADT		dt = DatumGetDateADT(d);

				if (DATE_NOT_FINITE(dt))
					return false;
				x = (double) dt * SECS_PER_DAY + PG_EPOCH_SECONDS;
				break;
			}
		case INT2OID:
			x = DatumGetInt16(d);
			break;
		case INT4OID:
			x = DatumGetInt32(d);
			break;
		case INT8OID:
			x = (double) DatumGetInt64(d);
			break;
		case FLOAT4OID:
			x = DatumGetFloat4(d);
			break;
		case FLOAT8OID:
			x = DatumGetFloat8(d);
			break;
		case NUMERICOID:
			if (numeric_is_nan(DatumGetNumeric(d)) || numeric_is_inf(DatumGetNumeric(d)))
				return false;
			x = DatumGetFloat8(DirectFunctionCall1(numeric_float8_no_overflow, d));
			break;
		default:
			elog(ERROR, "unexpected type %u for a time or number", type);
	}
	if (!isfinite(x))
		return false;
	*out = x;
	return true;
}

bool
cs_is_time_type(Oid type)
{
	return is_numeric_scalar(type);
}

uint16
cs_time_flag(Oid type)
{
	switch (type)
	{
		case TIMESTAMPTZOID:
			return CS_COLF_TIMESTAMPTZ;
		case TIMESTAMPOID:
			return CS_COLF_TIMESTAMP;
		case DATEOID:
			return CS_COLF_DATE;
		default:
			return 0;
	}
}

bool
cs_read_numeric(CsValueReader *r, Datum d, double *out)
{
	return cs_datum_to_epoch(d, r->type, out);
}

int
cs_read_dense(CsValueReader *r, Datum d, float *buf, int maxdim)
{
	ArrayType  *arr = DatumGetArrayTypeP(d);
	int			n;

	if (ARR_NDIM(arr) > 1)
		return -1;
	n = ArrayGetNItems(ARR_NDIM(arr), ARR_DIMS(arr));
	if (ARR_HASNULL(arr))
		return -1;
	if (n > maxdim)
		return n;
	for (int i = 0; i < n; i++)
	{
		double		x = (r->elemtype == FLOAT4OID) ?
			((float *) ARR_DATA_PTR(arr))[i] : ((double *) ARR_DATA_PTR(arr))[i];

		if (!isfinite(x) || fabs(x) > 1e30)
			return -1;
		buf[i] = (float) x;
	}
	return n;
}

bool
cs_is_id_type(Oid type)
{
	return type == INT2OID || type == INT4OID || type == INT8OID;
}

int64
cs_datum_to_id(Datum d, Oid type)
{
	switch (type)
	{
		case INT2OID:
			return DatumGetInt16(d);
		case INT4OID:
			return DatumGetInt32(d);
		case INT8OID:
			return DatumGetInt64(d);
	}
	elog(ERROR, "unexpected id type %u", type);
}
