/*
 * featurize.h
 *	  Turning column values into features: categorical strings, numeric
 *	  values and dense vectors.  Training and serving share this code, so a
 *	  value read at recommendation time maps to the same vocabulary row it
 *	  mapped to in training.
 */
#ifndef CS_FEATURES_H
#define CS_FEATURES_H

#include "postgres.h"

#include "datatype/timestamp.h"
#include "fmgr.h"

#include "model_format.h"

typedef struct CsValueReader
{
	int			kind;			/* CsColumnKind */
	bool		is_array;		/* categorical: multi-valued */
	Oid			type;
	Oid			elemtype;		/* arrays: element type */
	int16		elmlen;
	bool		elmbyval;
	char		elmalign;
	FmgrInfo	out;			/* output function of the (element) type */
} CsValueReader;

/*
 * The kind a column of this type gets when none is forced, or 0 when the
 * type cannot be a feature.
 */
extern int	cs_auto_kind(Oid type);

/*
 * Prepare to read a column.  forced_kind 0 means from the type.  Raises an
 * error naming the relation and column when the type cannot have that kind.
 */
extern void cs_reader_init(CsValueReader *r, Oid type, int forced_kind,
						   const char *relname, const char *colname);

/*
 * Categorical: the value's strings (one, or one per non-NULL array element).
 * Returns how many were stored in *out (palloc'd in the current context).
 */
extern int	cs_read_categorical(CsValueReader *r, Datum d, char ***out);

/* Numeric: false when the value is NaN or infinite. */
extern bool cs_read_numeric(CsValueReader *r, Datum d, double *out);

/*
 * Dense: the vector's length, with the elements stored in buf (room for
 * maxdim) when the length is at most maxdim; -1 when an element is NULL, NaN
 * or infinite.
 */
extern int	cs_read_dense(CsValueReader *r, Datum d, float *buf, int maxdim);

/* Seconds from the Unix epoch to PostgreSQL's (2000-01-01). */
#define PG_EPOCH_SECONDS ((double) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY)

/* Seconds since the Unix epoch of a timestamp/date/number column value. */
extern bool cs_datum_to_epoch(Datum d, Oid type, double *out);

/* Whether a column of this type can hold timestamps (see cs_datum_to_epoch). */
extern bool cs_is_time_type(Oid type);

/* CS_COLF_TIMESTAMPTZ, _TIMESTAMP or _DATE for those types, else 0. */
extern uint16 cs_time_flag(Oid type);

/* Whether a column of this type can hold ids (smallint, integer, bigint). */
extern bool cs_is_id_type(Oid type);
extern int64 cs_datum_to_id(Datum d, Oid type);

#endif							/* CS_FEATURES_H */
