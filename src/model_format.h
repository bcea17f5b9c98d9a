/*
 * model_format.h
 *	  On-disk layout of a coldstart.model value, format version 1.
 *
 * A model is one varlena: a fixed header, a table of sections, then the
 * sections themselves (8-byte aligned).  Every section of format 1 must be
 * present exactly once, possibly empty; sizes follow from the header's
 * dimensions and are checked, as are offsets, string references, vocabulary
 * order and every float.  The header carries reserved fields that must be
 * zero, so that later formats can use them while old servers refuse values
 * they cannot read.
 *
 * This file and model_format.c use only the C library, so that the decoder
 * can be built and fuzzed outside the server.  Integers are stored in the
 * byte order of the machine that wrote them; a value from a machine of the
 * other order is recognised by its magic and refused.
 */
#ifndef CS_MODEL_FORMAT_H
#define CS_MODEL_FORMAT_H

#include <stddef.h>
#include <stdint.h>

#define CS_MODEL_MAGIC			0x4D445343u /* "CSDM" read as bytes */
#define CS_MODEL_MAGIC_SWAPPED	0x4353444Du
#define CS_MODEL_FORMAT			1

/* Upper bounds that keep every size computation far from overflow. */
#define CS_MAX_DIM				1024
#define CS_MAX_HIDDEN			4096
#define CS_MAX_CONTENT_DIM		4096
#define CS_MAX_ROWS				100000000	/* items or vocabulary rows */
#define CS_MAX_COLUMNS			64
#define CS_MAX_KINDS			64
#define CS_MAX_LABELS			1024
#define CS_MAX_HISTORY			10000
#define CS_MAX_PARAM			1e6f	/* largest magnitude training stores (train.c) */

/*
 * Largest model, in bytes: its base64 text form (4/3 larger) must still fit
 * in one PostgreSQL value (1 GB) so that pg_dump can write it.
 */
#define CS_MODEL_MAX_BYTES		((uint64_t) 700 * 1024 * 1024)

typedef enum CsSectionId
{
	CS_SEC_STRINGS = 1,			/* char pool; offset 0 is "" */
	CS_SEC_ITEM_IDS,			/* int64[n_items], strictly ascending */
	CS_SEC_ITEM_VECTORS,		/* float[n_items][dim] */
	CS_SEC_ITEM_BIAS,			/* float[n_items] */
	CS_SEC_ITEM_COLUMNS,		/* CsColumn[n_item_columns] */
	CS_SEC_ITEM_VALUES,			/* uint32[n_item_values]: string of each row */
	CS_SEC_ITEM_VALUE_VECTORS,	/* float[n_item_values][dim] */
	CS_SEC_ITEM_VALUE_BIAS,		/* float[n_item_values] */
	CS_SEC_CONTENT_PROJ,		/* float[content_dim][dim] */
	CS_SEC_USER_COLUMNS,		/* CsColumn[n_user_columns] */
	CS_SEC_USER_VALUES,			/* uint32[n_user_values] */
	CS_SEC_USER_VALUE_VECTORS,	/* float[n_user_values][dim] */
	CS_SEC_USER_BASE,			/* float[dim]: the vector of "no information" */
	CS_SEC_HISTORY,				/* float[dim][dim]: history mean -> user */
	CS_SEC_HIDDEN,				/* float[hidden][dim], [hidden], [dim][hidden] */
	CS_SEC_KINDS,				/* CsKind[n_kinds] */
	CS_SEC_LABELS,				/* CsLabel[n_labels], sorted by label */
	CS_SEC_EDGES,				/* double[n_edges]: numeric bucket edges */
	CS_SEC_OPTIONS,				/* JSON text of the training options, terminated */
	CS_SEC_ITEM_ROW_START,		/* int64[n_items + 1]: each item's feature rows */
	CS_SEC_ITEM_ROWS,			/* int32[n_item_rows]: item value rows */
	CS_SEC_ITEM_ROW_WEIGHTS,	/* float[n_item_rows] */
	CS_SEC_MATCH_WEIGHTS,		/* float[n_item_columns]: worth of a match with the history */
	CS_SEC_SIZE_VECTORS,		/* float[CS_SIZE_BUCKETS][dim]: by history size */
	CS_SEC_COUNT = CS_SEC_SIZE_VECTORS
} CsSectionId;

typedef struct CsSection
{
	uint32_t	id;
	uint32_t	reserved;		/* must be zero */
	uint64_t	offset;			/* from the start of the value */
	uint64_t	size;			/* in bytes */
} CsSection;

typedef struct CsModelHeader
{
	int32_t		vl_len_;		/* varlena header, never touch directly */
	uint32_t	magic;
	uint16_t	format_version;
	uint16_t	header_size;	/* sizeof(CsModelHeader) */
	uint32_t	flags;			/* must be zero in format 1 */
	uint32_t	n_sections;
	int32_t		dim;
	int32_t		hidden;			/* 0: no hidden layer */
	int32_t		n_items;
	int32_t		n_item_columns;
	int32_t		n_item_values;
	int32_t		n_user_columns;
	int32_t		n_user_values;
	int32_t		content_dim;	/* 0: no dense content column */
	int32_t		n_kinds;
	int32_t		n_labels;
	int32_t		n_edges;
	int32_t		history_length;
	float		history_prior;	/* pseudo-weight that shrinks short histories; >= 0 */
	double		half_life;		/* seconds; > 0 */
	int64_t		n_item_rows;	/* feature rows of all items */
	uint32_t	reserved[6];	/* must be zero */
	/* followed by n_sections CsSection entries */
} CsModelHeader;

#define CS_MODEL_SECTIONS(h) \
	((CsSection *) ((char *) (h) + sizeof(CsModelHeader)))

typedef enum CsColumnKind
{
	CS_COL_CATEGORICAL = 1,		/* text or integer, or arrays of them */
	CS_COL_NUMERIC = 2,			/* bucketed by quantile edges */
	CS_COL_DENSE = 3			/* real[] projected by CONTENT_PROJ */
} CsColumnKind;

#define CS_COLF_ARRAY	0x0001	/* multi-valued: one row per element */
/* numeric columns of times (edges in epoch seconds): at most one of these */
#define CS_COLF_TIMESTAMPTZ	0x0002
#define CS_COLF_TIMESTAMP	0x0004
#define CS_COLF_DATE	0x0008
#define CS_COLF_TIMES	(CS_COLF_TIMESTAMPTZ | CS_COLF_TIMESTAMP | CS_COLF_DATE)

typedef struct CsColumn
{
	uint32_t	name;			/* string offset */
	uint16_t	kind;			/* CsColumnKind */
	uint16_t	flags;			/* CS_COLF_* */
	int32_t		first;			/* first row of the value table */
	int32_t		count;			/* rows: values or buckets; 0 for dense */
	int32_t		first_edge;		/* numeric: count - 1 edges from here */
	int32_t		dim;			/* dense: vector length */
} CsColumn;

typedef struct CsKind
{
	uint32_t	name;			/* string offset */
	float		weight;			/* > 0 */
} CsKind;

typedef struct CsLabel
{
	uint32_t	label;			/* string offset, as the label's text */
	int32_t		kind;			/* index into the kinds */
} CsLabel;

/* A decoded model: pointers into the value, nothing copied. */
typedef struct CsModel
{
	const CsModelHeader *hdr;
	uint64_t	size;
	int			dim;
	int			hidden;
	int			n_items;
	int			n_item_columns;
	int			n_item_values;
	int			n_user_columns;
	int			n_user_values;
	int			content_dim;
	int			n_kinds;
	int			n_labels;
	int			n_edges;
	int			history_length;
	float		history_prior;
	double		half_life;

	const char *strings;
	uint64_t	strings_size;
	const int64_t *item_ids;
	const float *item_vectors;
	const float *item_bias;
	const CsColumn *item_columns;
	const uint32_t *item_values;
	const float *item_value_vectors;
	const float *item_value_bias;
	const float *content_proj;
	const CsColumn *user_columns;
	const uint32_t *user_values;
	const float *user_value_vectors;
	const float *user_base;
	const float *history;
	const float *hidden_w1;		/* [hidden][dim] */
	const float *hidden_b1;		/* [hidden] */
	const float *hidden_w2;		/* [dim][hidden] */
	const CsKind *kinds;
	const CsLabel *labels;
	const double *edges;
	const char *options;		/* JSON text */
	int64_t		n_item_rows;
	const int64_t *item_row_start;
	const int32_t *item_rows;
	const float *item_row_weights;
	const float *match_weights;
	const float *size_vectors;
} CsModel;

/*
 * Check a whole value and fill *model.  Returns NULL when the value is valid,
 * otherwise a static, lower-case reason ("truncated header", ...).  "data"
 * must be 8-byte aligned; "size" is the full varlena size.
 */
extern const char *cs_model_check(const void *data, uint64_t size, CsModel *model);

/* Size in bytes a section must have, from the header's dimensions. */
extern uint64_t cs_section_expected_size(const CsModelHeader *hdr, int id);

/* Name of a section, for messages. */
extern const char *cs_section_name(int id);

/*
 * Index of the first of n values beyond CS_MAX_PARAM in magnitude (or not a
 * number), or -1: what training refuses to store, and refresh_items() too.
 */
static inline int64_t
cs_first_unbounded(const float *x, int64_t n)
{
	for (int64_t i = 0; i < n; i++)
		if (!(x[i] <= CS_MAX_PARAM && x[i] >= -CS_MAX_PARAM))
			return i;
	return -1;
}

static inline const char *
cs_model_string(const CsModel *m, uint32_t offset)
{
	return m->strings + offset;
}

/* Row of a categorical value in a column, or -1. */
extern int	cs_column_find(const CsModel *m, const CsColumn *col,
						   const uint32_t *values, const char *value);

/*
 * How much history a user has, as a bucket: 0, 1, 2, 3-4, 5-8, 9-16, 17-32,
 * 33 and more behaviours.  Each bucket has a vector of its own in the user
 * vector, so that the model can tell a newcomer from a regular.
 */
#define CS_SIZE_BUCKETS 8

static inline int
cs_size_bucket(int64_t n)
{
	if (n <= 2)
		return n <= 0 ? 0 : (int) n;
	if (n <= 4)
		return 3;
	if (n <= 8)
		return 4;
	if (n <= 16)
		return 5;
	if (n <= 32)
		return 6;
	return 7;
}

/* Bucket of x among n_edges increasing edges: the number of edges <= x. */
extern int	cs_bucket_of(const double *edges, int n_edges, double x);

/* Bucket row of a numeric value in a column (never fails for finite x). */
extern int	cs_column_bucket(const CsModel *m, const CsColumn *col, double x);

/* Position of id in n ascending ids, or -1. */
extern int64_t cs_find_id(const int64_t *ids, int64_t n, int64_t id);

/* Index of an item id, or -1. */
extern int	cs_model_find_item(const CsModel *m, int64_t item_id);

/* Kind of an action label, or -1 when the model does not know it. */
extern int	cs_model_find_label(const CsModel *m, const char *label);

#endif							/* CS_MODEL_FORMAT_H */
