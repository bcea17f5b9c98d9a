/*
 * dataset.c
 *	  Read the user's behaviour, item and user tables through SPI, with the
 *	  caller's privileges (row-level security applies), and clean them:
 *	  NULL ids and timestamps, unknown items, exact duplicates and broken
 *	  feature values are skipped and counted; action labels become kinds.
 */
#include "postgres.h"

#include <math.h>

#include "access/htup_details.h"
#include "access/relation.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/syscache.h"

#include "actions.h"
#include "coldstart.h"
#include "dataset.h"
#include "featurize.h"
#include "model.h"

#define FETCH_ROWS 10000

/* ---------- memory ---------- */

void *
cs_alloc_huge(Size size)
{
	return palloc_extended(Max(size, 1), MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
}

void
cs_check_budget(Size needed, const char *what, bool model)
{
	if (needed > CS_TRAIN_MEMORY_BYTES)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("training needs %s for %s, more than coldstart.train_memory (%s)",
						cs_format_bytes(needed), what, cs_format_bytes(CS_TRAIN_MEMORY_BYTES)),
				 errhint("Raise coldstart.train_memory (SET coldstart.train_memory = '%s')%s",
						 cs_format_bytes(needed + needed / 4),
						 model ? ", train on a sample of the behaviours, or lower the option \"dim\" or \"batch_size\"." :
						 " or train on a sample of the behaviours.")));
}

/* ---------- a small string -> int map ---------- */

typedef struct StrMap
{
	int			size;			/* slots, a power of two */
	int			count;
	char	  **keys;
	int		   *vals;
} StrMap;

static void
strmap_init(StrMap *m, int size)
{
	m->size = size;
	m->count = 0;
	m->keys = palloc_extended(sizeof(char *) * (Size) size, MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
	m->vals = palloc_extended(sizeof(int) * (Size) size, MCXT_ALLOC_HUGE);
}

static int *
strmap_slot(StrMap *m, const char *key, bool *found)
{
	uint32		h = hash_bytes((const unsigned char *) key, strlen(key));
	int			i = h & (m->size - 1);

	while (m->keys[i] != NULL)
	{
		if (strcmp(m->keys[i], key) == 0)
		{
			*found = true;
			return &m->vals[i];
		}
		i = (i + 1) & (m->size - 1);
	}
	*found = false;
	return &m->vals[i];
}

/* Value of key, inserting "next" when absent (growing as needed). */
static int
strmap_intern(StrMap *m, const char *key, int next)
{
	bool		found;
	int		   *v;

	if ((m->count + 1) * 2 > m->size)
	{
		StrMap		bigger;

		if (m->size >= (1 << 29))
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("too many distinct feature values")));
		strmap_init(&bigger, m->size * 2);
		for (int i = 0; i < m->size; i++)
			if (m->keys[i] != NULL)
			{
				int		   *slot = strmap_slot(&bigger, m->keys[i], &found);

				bigger.keys[slot - bigger.vals] = m->keys[i];
				*slot = m->vals[i];
				bigger.count++;
			}
		pfree(m->keys);
		pfree(m->vals);
		*m = bigger;
	}
	v = strmap_slot(m, key, &found);
	if (!found)
	{
		m->keys[v - m->vals] = pstrdup(key);
		*v = next;
		m->count++;
	}
	return *v;
}

static int
strmap_get(StrMap *m, const char *key)
{
	bool		found;
	int		   *v = strmap_slot(m, key, &found);

	return found ? *v : -1;
}

/* ---------- relations and columns ---------- */

static char *
qualified_name(Oid relid)
{
	char	   *rel = get_rel_name(relid);

	char		relkind = get_rel_relkind(relid);
	char	   *name;

	if (rel == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", relid)));
	name = quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)), rel);
	if (relkind != RELKIND_RELATION && relkind != RELKIND_PARTITIONED_TABLE &&
		relkind != RELKIND_VIEW && relkind != RELKIND_MATVIEW &&
		relkind != RELKIND_FOREIGN_TABLE)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("%s is not a table or view", name),
				 errhint("Pass a table, view, materialized view or foreign table.")));
	return name;
}

void
cs_sources_init(CsSources *src, Oid behaviours, Oid items, Oid users)
{
	memset(src, 0, sizeof(*src));
	src->behaviours = behaviours;
	src->items = items;
	src->users = users;
	src->behaviours_name = qualified_name(behaviours);
	src->items_name = OidIsValid(items) ? qualified_name(items) : NULL;
	src->users_name = OidIsValid(users) ? qualified_name(users) : NULL;
}

/* Type of a column, with an error naming relation and column if absent. */
static Oid
column_type(Oid relid, const char *relname, const char *col, const char *option)
{
	AttrNumber	att = get_attnum(relid, col);

	if (att == InvalidAttrNumber || att < 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("column \"%s\" does not exist in relation %s", col, relname),
				 option ? errhint("Name the column with the option %s.", option) :
				 errhint("Restore the column the model was trained on, or train the model again.")));
	return get_atttype(relid, att);
}

void
cs_check_id_column(Oid relid, const char *relname, const char *col, const char *option,
				   Oid *type)
{
	*type = column_type(relid, relname, col, option);
	if (!cs_is_id_type(*type))
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("column \"%s\" of relation %s has type %s, but ids must be smallint, integer or bigint",
						col, relname, format_type_be(*type)),
				 option ? errhint("Map the ids to integers in a view, or name another column with the option %s.",
								  option) :
				 errhint("Restore the type the model was trained on, or train the model again.")));
}

/*
 * Run a query on relation relname and hand each batch of rows to fn.  It
 * takes a fresh snapshot (read_only = false), so that evaluate() sees the
 * copy it has just made.  What the rows read so far hold (in the current
 * context: SPI's, where the dataset is built) counts against the training
 * memory budget after every batch, so that too big a table fails early with
 * the figures, never at palloc's 1 GB limit or out of memory.
 */
typedef void (*batch_fn) (SPITupleTable *tuptable, uint64 n, void *arg);

static void
scan_query(const char *sql, const char *relname, batch_fn fn, void *arg)
{
	SPIPlanPtr	plan = SPI_prepare(sql, 0, NULL);
	Portal		portal;
	uint64		rows = 0;

	if (plan == NULL)
		elog(ERROR, "SPI_prepare(\"%s\") failed: %s", sql, SPI_result_code_string(SPI_result));
	portal = SPI_cursor_open(NULL, plan, NULL, NULL, false);
	for (;;)
	{
		SPI_cursor_fetch(portal, true, FETCH_ROWS);
		if (SPI_processed == 0)
			break;
		rows += SPI_processed;
		fn(SPI_tuptable, SPI_processed, arg);
		SPI_freetuptable(SPI_tuptable);
		CHECK_FOR_INTERRUPTS();
		if (MemoryContextMemAllocated(CurrentMemoryContext, true) > CS_TRAIN_MEMORY_BYTES)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("training data takes %s after " UINT64_FORMAT " rows of %s, more than coldstart.train_memory (%s)",
							cs_format_bytes(MemoryContextMemAllocated(CurrentMemoryContext, true)),
							rows, relname, cs_format_bytes(CS_TRAIN_MEMORY_BYTES)),
					 errhint("Raise coldstart.train_memory, train on a sample, or choose fewer feature columns.")));
	}
	SPI_cursor_close(portal);
	SPI_freeplan(plan);
}

/* ---------- features ---------- */

typedef struct FeatReadColumn
{
	char	   *name;
	Oid			type;
	CsValueReader reader;
	StrMap		vocab;			/* categorical: value -> temporary id */
	int			n_numeric;		/* numeric: index among numeric columns */
} FeatReadColumn;

typedef struct FeatRead
{
	const char *relname;
	Oid			keytype;
	int			ncols;
	FeatReadColumn *cols;
	int			n_numeric;
	int			dense_col;		/* index or -1 */
	int			dense_dim;
	CsDataset  *ds;

	/* per entity, in reading order */
	int			n;
	int			cap;
	int64	   *ids;
	int64	   *cat_start;		/* categorical pairs of each entity */
	int64		n_pairs;
	int64		cap_pairs;
	int32	   *pair_col;
	int32	   *pair_val;
	double	   *num;			/* n x n_numeric, NaN = missing */
	float	   *dense;			/* dense_cap x dense_dim */
	int			dense_cap;
	bool	   *has_dense;
	int64	   *skipped;
} FeatRead;

static void
featread_grow(FeatRead *fr)
{
	int			cap = fr->cap ? fr->cap * 2 : 1024;

	fr->ids = fr->ids ? repalloc_huge(fr->ids, sizeof(int64) * cap) : palloc(sizeof(int64) * cap);
	fr->cat_start = fr->cat_start ? repalloc_huge(fr->cat_start, sizeof(int64) * (cap + 1)) :
		palloc(sizeof(int64) * (cap + 1));
	if (fr->n_numeric > 0)
		fr->num = fr->num ? repalloc_huge(fr->num, sizeof(double) * cap * fr->n_numeric) :
			palloc(sizeof(double) * cap * fr->n_numeric);
	if (fr->dense_col >= 0)
		fr->has_dense = fr->has_dense ? repalloc_huge(fr->has_dense, sizeof(bool) * cap) :
			palloc(sizeof(bool) * cap);
	fr->cap = cap;
}

static void
featread_add_pair(FeatRead *fr, int col, int val)
{
	if (fr->n_pairs == fr->cap_pairs)
	{
		fr->cap_pairs = fr->cap_pairs ? fr->cap_pairs * 2 : 4096;
		fr->pair_col = fr->pair_col ? repalloc_huge(fr->pair_col, sizeof(int32) * fr->cap_pairs) :
			palloc(sizeof(int32) * fr->cap_pairs);
		fr->pair_val = fr->pair_val ? repalloc_huge(fr->pair_val, sizeof(int32) * fr->cap_pairs) :
			palloc(sizeof(int32) * fr->cap_pairs);
	}
	fr->pair_col[fr->n_pairs] = col;
	fr->pair_val[fr->n_pairs] = val;
	fr->n_pairs++;
}

static void
featread_store_dense(FeatRead *fr, FeatReadColumn *col, int e, const float *vec, int len)
{
	if (len > CS_MAX_CONTENT_DIM)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("content vectors in column \"%s\" of relation %s have %d elements, more than %d",
						col->name, fr->relname, len, CS_MAX_CONTENT_DIM),
				 errhint("Reduce the vectors' dimension, for example with a projection, before training.")));
	if (fr->dense_dim == 0)
		fr->dense_dim = len;
	else if (len != fr->dense_dim)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("content vectors in column \"%s\" of relation %s have different lengths (%d and %d)",
						col->name, fr->relname, fr->dense_dim, len),
				 errhint("Give every row a vector of the same length, or NULL.")));
	if (e >= fr->dense_cap)
	{
		Size		bytes = sizeof(float) * (Size) fr->cap * fr->dense_dim;

		fr->dense = fr->dense ? repalloc_huge(fr->dense, bytes) : palloc_extended(bytes, MCXT_ALLOC_HUGE);
		fr->dense_cap = fr->cap;
	}
	memcpy(fr->dense + (Size) e * fr->dense_dim, vec, sizeof(float) * len);
	fr->has_dense[e] = true;
}

static void
featread_batch(SPITupleTable *tt, uint64 nrows, void *arg)
{
	FeatRead   *fr = arg;
	float	   *vec = fr->dense_col >= 0 ? palloc(sizeof(float) * (CS_MAX_CONTENT_DIM + 1)) : NULL;

	for (uint64 r = 0; r < nrows; r++)
	{
		HeapTuple	tup = tt->vals[r];
		bool		isnull;
		Datum		key = SPI_getbinval(tup, tt->tupdesc, 1, &isnull);
		int			e;

		if (isnull)
		{
			(*fr->skipped)++;
			continue;
		}
		if (fr->n == fr->cap)
			featread_grow(fr);
		e = fr->n++;
		fr->ids[e] = cs_datum_to_id(key, fr->keytype);
		fr->cat_start[e] = fr->n_pairs;
		if (fr->dense_col >= 0)
			fr->has_dense[e] = false;

		for (int c = 0; c < fr->ncols; c++)
		{
			FeatReadColumn *col = &fr->cols[c];
			Datum		d = SPI_getbinval(tup, tt->tupdesc, c + 2, &isnull);

			if (col->reader.kind == CS_COL_NUMERIC)
			{
				double		x = NAN;

				if (!isnull && !cs_read_numeric(&col->reader, d, &x))
				{
					fr->ds->bad_feature_values++;
					x = NAN;
				}
				fr->num[(Size) e * fr->n_numeric + col->n_numeric] = x;
			}
			else if (isnull)
				continue;
			else if (col->reader.kind == CS_COL_CATEGORICAL)
			{
				char	  **vals;
				int			n = cs_read_categorical(&col->reader, d, &vals);

				for (int i = 0; i < n; i++)
					featread_add_pair(fr, c, strmap_intern(&col->vocab, vals[i], col->vocab.count));
			}
			else
			{
				int			len = cs_read_dense(&col->reader, d, vec, CS_MAX_CONTENT_DIM + 1);

				if (len < 0)
					fr->ds->bad_feature_values++;
				else if (len > 0)
					featread_store_dense(fr, col, e, vec, len);
			}
		}
		fr->cat_start[fr->n] = fr->n_pairs;
	}
	if (vec)
		pfree(vec);
}

static int
cmp_strptr(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

static int
cmp_double(const void *a, const void *b)
{
	double		x = *(const double *) a,
				y = *(const double *) b;

	return (x > y) - (x < y);
}

static int
cmp_int64(const void *a, const void *b)
{
	int64		x = *(const int64 *) a,
				y = *(const int64 *) b;

	return (x > y) - (x < y);
}

/* Entity order: by id, then reading order (so the first duplicate wins). */
static const int64 *sort_ids;

static int
cmp_entity(const void *a, const void *b)
{
	int32		i = *(const int32 *) a,
				j = *(const int32 *) b;

	if (sort_ids[i] != sort_ids[j])
		return (sort_ids[i] > sort_ids[j]) - (sort_ids[i] < sort_ids[j]);
	return (i > j) - (i < j);
}

/* Choose the feature columns of a relation and open their readers. */
static void
featread_columns(FeatRead *fr, Oid relid, const char *key, bool given, List *requests,
				 bool items_side, StringInfo sql)
{
	const char *option = items_side ? "\"item_features\"" : "\"user_features\"";
	List	   *names = NIL;
	List	   *kinds = NIL;
	ListCell   *lc,
			   *lk;

	if (given)
	{
		foreach(lc, requests)
		{
			CsFeatureRequest *r = lfirst(lc);

			if (strcmp(r->name, key) == 0)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("column \"%s\" of relation %s is the id column and cannot be a feature",
								r->name, fr->relname)));
			names = lappend(names, r->name);
			kinds = lappend_int(kinds, r->kind);
		}
	}
	else
	{
		Relation	rel = relation_open(relid, AccessShareLock);
		TupleDesc	desc = RelationGetDescr(rel);

		for (int i = 0; i < desc->natts; i++)
		{
			Form_pg_attribute att = TupleDescAttr(desc, i);
			int			kind;

			if (att->attisdropped || strcmp(NameStr(att->attname), key) == 0)
				continue;
			kind = cs_auto_kind(att->atttypid);
			if (kind == 0)
			{
				ereport(NOTICE,
						(errmsg("column \"%s\" of relation %s has type %s and is not used as a feature",
								NameStr(att->attname), fr->relname,
								format_type_be(att->atttypid))));
				continue;
			}
			/* a vector of a user: only items have content vectors */
			if (!items_side && kind == CS_COL_DENSE)
			{
				ereport(NOTICE,
						(errmsg("column \"%s\" of relation %s is a vector and is not used as a feature: only items have content vectors",
								NameStr(att->attname), fr->relname)));
				continue;
			}
			names = lappend(names, pstrdup(NameStr(att->attname)));
			kinds = lappend_int(kinds, 0);
		}
		relation_close(rel, AccessShareLock);
	}
	if (list_length(names) > CS_MAX_COLUMNS)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("relation %s has %d feature columns, more than %d",
						fr->relname, list_length(names), CS_MAX_COLUMNS),
				 errhint("Choose the columns with the option %s.", option)));

	fr->ncols = list_length(names);
	fr->cols = palloc0(sizeof(FeatReadColumn) * Max(fr->ncols, 1));
	appendStringInfo(sql, "SELECT %s", quote_identifier(key));
	forboth(lc, names, lk, kinds)
	{
		int			c = foreach_current_index(lc);
		FeatReadColumn *col = &fr->cols[c];

		col->name = lfirst(lc);
		col->type = column_type(relid, fr->relname, col->name, option);
		cs_reader_init(&col->reader, col->type, lfirst_int(lk), fr->relname, col->name);
		if (col->reader.kind == CS_COL_DENSE)
		{
			if (!items_side)
				ereport(ERROR,
						(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
						 errmsg("column \"%s\" of relation %s is a vector; only items can have content vectors",
								col->name, fr->relname),
						 errhint("Leave it out with the option \"user_features\".")));
			if (fr->dense_col >= 0)
				ereport(ERROR,
						(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
						 errmsg("relation %s has two content vector columns, \"%s\" and \"%s\"",
								fr->relname, fr->cols[fr->dense_col].name, col->name),
						 errhint("Choose one with the option \"item_features\".")));
			fr->dense_col = c;
		}
		else if (col->reader.kind == CS_COL_NUMERIC)
			col->n_numeric = fr->n_numeric++;
		else
			strmap_init(&col->vocab, 64);
		appendStringInfo(sql, ", %s", quote_identifier(col->name));
	}
	appendStringInfo(sql, " FROM %s", fr->relname);
}

/*
 * Build the vocabulary of one column: sorted values (categorical), quantile
 * edges (numeric) or the content dimension (dense).  Returns false when the
 * column has nothing usable.
 */
static bool
build_vocabulary(FeatRead *fr, int c, const int32 *order, int n_ent, int buckets,
				 CsFeatures *f, CsFeatColumn *fc, int **remap, int *values_cap,
				 int *edges_cap)
{
	FeatReadColumn *col = &fr->cols[c];

	fc->name = col->name;
	fc->kind = col->reader.kind;
	fc->is_array = col->reader.is_array;
	fc->time_flag = col->reader.kind == CS_COL_NUMERIC ? cs_time_flag(col->reader.type) : 0;
	fc->first = f->n_values;
	fc->count = 0;

	if (col->reader.kind == CS_COL_CATEGORICAL)
	{
		char	  **sorted = palloc_extended(sizeof(char *) * Max(col->vocab.count, 1),
												 MCXT_ALLOC_HUGE);
		bool	   *used = palloc_extended(Max(col->vocab.count, 1), MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
		int			k = 0;

		/* only values of the rows kept: a skipped duplicate row adds none */
		for (int i = 0; i < n_ent; i++)
			for (int64 p = fr->cat_start[order[i]]; p < fr->cat_start[order[i] + 1]; p++)
				if (fr->pair_col[p] == c)
					used[fr->pair_val[p]] = true;
		for (int i = 0; i < col->vocab.size; i++)
			if (col->vocab.keys[i] && used[col->vocab.vals[i]])
				sorted[k++] = col->vocab.keys[i];
		if (k == 0)
			return false;
		qsort(sorted, k, sizeof(char *), cmp_strptr);
		remap[c] = palloc_extended(sizeof(int) * Max(col->vocab.count, 1), MCXT_ALLOC_HUGE);
		for (int i = 0; i < k; i++)
			remap[c][strmap_get(&col->vocab, sorted[i])] = f->n_values + i;
		while (f->n_values + k > *values_cap)
		{
			*values_cap *= 2;
			f->values = repalloc_huge(f->values, sizeof(char *) * *values_cap);
		}
		memcpy(f->values + f->n_values, sorted, sizeof(char *) * k);
		fc->count = k;
	}
	else if (col->reader.kind == CS_COL_NUMERIC)
	{
		double	   *vals = palloc_extended(sizeof(double) * Max(n_ent, 1), MCXT_ALLOC_HUGE);
		int			nv = 0;
		int			ne = 0;

		for (int i = 0; i < n_ent; i++)
		{
			double		x = fr->num[(Size) order[i] * fr->n_numeric + col->n_numeric];

			if (!isnan(x))
				vals[nv++] = x;
		}
		if (nv == 0)
			return false;
		qsort(vals, nv, sizeof(double), cmp_double);
		if (f->n_edges + buckets > *edges_cap)
		{
			*edges_cap = (f->n_edges + buckets) * 2;
			f->edges = f->edges ? repalloc(f->edges, sizeof(double) * *edges_cap) :
				palloc(sizeof(double) * *edges_cap);
		}
		fc->first_edge = f->n_edges;
		for (int b = 1; b < buckets; b++)
		{
			double		q = vals[(int64) b * nv / buckets];

			/* edges are increasing; ties in the data merge buckets */
			if (q > vals[0] && (ne == 0 || q > f->edges[f->n_edges + ne - 1]))
				f->edges[f->n_edges + ne++] = q;
		}
		f->n_edges += ne;
		fc->count = ne + 1;
		while (f->n_values + fc->count > *values_cap)
		{
			*values_cap *= 2;
			f->values = repalloc_huge(f->values, sizeof(char *) * *values_cap);
		}
		for (int i = 0; i < fc->count; i++)
			f->values[f->n_values + i] = NULL;
		pfree(vals);
	}
	else
	{
		if (fr->dense_dim == 0)
			return false;
		fc->dim = fr->dense_dim;
		f->content_dim = fr->dense_dim;
	}
	f->n_values += fc->count;
	return true;
}

/*
 * Read the features of a relation: "key" is its id column, "requests" the
 * columns asked for (all others when !given).
 */
static void
read_features(CsDataset *ds, Oid relid, const char *relname, const char *key,
			  const char *key_option, bool given, List *requests, int buckets,
			  CsFeatures *f, int64 *rows_read, int64 *rows_skipped, bool items_side)
{
	FeatRead	fr;
	StringInfoData sql;
	int32	   *order;
	int			n_ent = 0;
	int		   *colmap;
	int		  **remap;
	int			values_cap = 64;
	int			edges_cap = 0;
	int64		n_rows = 0;
	int64		rows_cap;
	int		   *per_col;

	memset(&fr, 0, sizeof(fr));
	memset(f, 0, sizeof(*f));
	fr.relname = relname;
	fr.ds = ds;
	fr.dense_col = -1;
	fr.skipped = rows_skipped;
	cs_check_id_column(relid, relname, key, key_option, &fr.keytype);

	initStringInfo(&sql);
	featread_columns(&fr, relid, key, given, requests, items_side, &sql);
	scan_query(sql.data, relname, featread_batch, &fr);
	*rows_read += fr.n + *rows_skipped;

	order = palloc_extended(sizeof(int32) * Max(fr.n, 1), MCXT_ALLOC_HUGE);
	for (int i = 0; i < fr.n; i++)
		order[i] = i;
	sort_ids = fr.ids;
	qsort(order, fr.n, sizeof(int32), cmp_entity);
	for (int i = 0; i < fr.n; i++)
	{
		if (n_ent > 0 && fr.ids[order[n_ent - 1]] == fr.ids[order[i]])
		{
			(*rows_skipped)++;
			continue;
		}
		order[n_ent++] = order[i];
	}

	f->columns = palloc0(sizeof(CsFeatColumn) * Max(fr.ncols, 1));
	f->values = palloc(sizeof(char *) * values_cap);
	colmap = palloc(sizeof(int) * Max(fr.ncols, 1));
	remap = palloc0(sizeof(int *) * Max(fr.ncols, 1));
	for (int c = 0; c < fr.ncols; c++)
	{
		if (build_vocabulary(&fr, c, order, n_ent, buckets, f, &f->columns[f->n_columns],
							 remap, &values_cap, &edges_cap))
			colmap[c] = f->n_columns++;
		else
		{
			colmap[c] = -1;
			ereport(NOTICE,
					(errmsg("column \"%s\" of relation %s has no usable values and is not used",
							fr.cols[c].name, relname)));
		}
	}

	/* per-entity rows (CSR), in id order */
	f->n_entities = n_ent;
	f->ids = palloc_extended(sizeof(int64) * Max(n_ent, 1), MCXT_ALLOC_HUGE);
	f->row_start = palloc_extended(sizeof(int64) * (n_ent + 1), MCXT_ALLOC_HUGE);
	rows_cap = fr.n_pairs + (int64) n_ent * fr.n_numeric + 1;
	f->rows = palloc_extended(sizeof(int32) * rows_cap, MCXT_ALLOC_HUGE);
	f->weights = palloc_extended(sizeof(float) * rows_cap, MCXT_ALLOC_HUGE);
	if (f->content_dim > 0)
		f->dense = cs_alloc_huge(sizeof(float) * (Size) n_ent * f->content_dim);
	per_col = palloc0(sizeof(int) * Max(fr.ncols, 1));
	for (int i = 0; i < n_ent; i++)
	{
		int			e = order[i];

		f->ids[i] = fr.ids[e];
		f->row_start[i] = n_rows;
		memset(per_col, 0, sizeof(int) * Max(fr.ncols, 1));
		for (int64 p = fr.cat_start[e]; p < fr.cat_start[e + 1]; p++)
			per_col[fr.pair_col[p]]++;
		for (int64 p = fr.cat_start[e]; p < fr.cat_start[e + 1]; p++)
		{
			int			c = fr.pair_col[p];

			if (colmap[c] < 0)
				continue;
			f->rows[n_rows] = remap[c][fr.pair_val[p]];
			/* a multi-valued feature is the mean of its values' embeddings */
			f->weights[n_rows++] = 1.0f / per_col[c];
		}
		for (int c = 0; c < fr.ncols; c++)
		{
			CsFeatColumn *fc;
			double		x;

			if (colmap[c] < 0 || fr.cols[c].reader.kind != CS_COL_NUMERIC)
				continue;
			x = fr.num[(Size) e * fr.n_numeric + fr.cols[c].n_numeric];
			if (isnan(x))
				continue;
			fc = &f->columns[colmap[c]];
			f->rows[n_rows] = fc->first + cs_bucket_of(f->edges + fc->first_edge, fc->count - 1, x);
			f->weights[n_rows++] = 1.0f;
		}
		if (f->content_dim > 0 && fr.has_dense[e])
			memcpy(f->dense + (Size) i * f->content_dim, fr.dense + (Size) e * f->content_dim,
				   sizeof(float) * f->content_dim);
	}
	f->row_start[n_ent] = n_rows;
	ds->bytes += (sizeof(int64) * 2 + sizeof(float) * f->content_dim) * (Size) n_ent +
		(sizeof(int32) + sizeof(float)) * (Size) n_rows;
}

/* ---------- behaviours ---------- */

typedef struct RawRow
{
	int64		user;
	int64		item;
	double		ts;
	int32		label;
	int32		pad;
} RawRow;

typedef struct BehRead
{
	CsDataset  *ds;
	Oid			user_type;
	Oid			item_type;
	Oid			ts_type;
	CsValueReader action;
	StrMap		labels;
	int			n_labels;
	char	  **label_names;
	int64	   *label_rows;
	int		   *label_rank;		/* reading id -> index among the sorted labels */
	RawRow	   *rows;
	int64		n;
	int64		cap;
	bool		check_items;
} BehRead;

static void
behread_batch(SPITupleTable *tt, uint64 nrows, void *arg)
{
	BehRead    *br = arg;
	CsDataset  *ds = br->ds;

	for (uint64 r = 0; r < nrows; r++)
	{
		HeapTuple	tup = tt->vals[r];
		bool		nu,
					ni,
					na,
					nt;
		Datum		u = SPI_getbinval(tup, tt->tupdesc, 1, &nu);
		Datum		i = SPI_getbinval(tup, tt->tupdesc, 2, &ni);
		Datum		a = SPI_getbinval(tup, tt->tupdesc, 3, &na);
		Datum		t = SPI_getbinval(tup, tt->tupdesc, 4, &nt);
		RawRow	   *row;
		char	  **label;
		int			id;

		ds->rows_read++;
		if (nu || ni)
		{
			ds->skipped_null_id++;
			continue;
		}
		if (nt)
		{
			ds->skipped_null_ts++;
			continue;
		}
		if (na)
		{
			ds->skipped_null_action++;
			continue;
		}
		if (br->n == br->cap)
		{
			br->cap = br->cap ? br->cap * 2 : 65536;
			cs_check_budget(ds->bytes + sizeof(RawRow) * br->cap, "the behaviour rows", false);
			br->rows = br->rows ? repalloc_huge(br->rows, sizeof(RawRow) * br->cap) :
				palloc_extended(sizeof(RawRow) * br->cap, MCXT_ALLOC_HUGE);
		}
		row = &br->rows[br->n];
		if (!cs_datum_to_epoch(t, br->ts_type, &row->ts))
		{
			ds->skipped_bad_ts++;
			continue;
		}
		row->user = cs_datum_to_id(u, br->user_type);
		row->item = cs_datum_to_id(i, br->item_type);
		if (br->check_items && cs_find_id(ds->item_ids, ds->n_items, row->item) < 0)
		{
			ds->skipped_unknown_item++;
			continue;
		}
		cs_read_categorical(&br->action, a, &label);
		id = strmap_intern(&br->labels, label[0], br->n_labels);
		if (id == br->n_labels)
		{
			if (br->n_labels == CS_MAX_LABELS)
				ereport(ERROR,
						(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
						 errmsg("column \"%s\" of relation %s has more than %d distinct action labels",
								SPI_fname(tt->tupdesc, 3), ds->src.behaviours_name, CS_MAX_LABELS),
						 errhint("Map the labels to a few kinds in a view.")));
			br->label_names[br->n_labels] = pstrdup(label[0]);
			br->label_rows[br->n_labels] = 0;
			br->n_labels++;
		}
		br->label_rows[id]++;
		pfree(label[0]);
		pfree(label);
		row->label = id;
		row->pad = 0;
		br->n++;
	}
}

static int
cmp_rawrow(const void *a, const void *b)
{
	const RawRow *x = a,
			   *y = b;

	if (x->user != y->user)
		return (x->user > y->user) - (x->user < y->user);
	if (x->ts != y->ts)
		return (x->ts > y->ts) - (x->ts < y->ts);
	if (x->item != y->item)
		return (x->item > y->item) - (x->item < y->item);
	return (x->label > y->label) - (x->label < y->label);
}

static int
find_kind(CsDataset *ds, const char *name)
{
	for (int k = 0; k < ds->n_kinds; k++)
		if (strcmp(ds->kind_names[k], name) == 0)
			return k;
	return -1;
}

static int
add_kind(CsDataset *ds, const char *name, float weight)
{
	if (ds->n_kinds == CS_MAX_KINDS)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("more than %d action kinds", CS_MAX_KINDS)));
	ds->kind_names[ds->n_kinds] = pstrdup(name);
	ds->kind_weights[ds->n_kinds] = weight;
	return ds->n_kinds++;
}

/*
 * Kinds: the four default ones, kinds named in "action_weights", and "other"
 * for labels nobody mapped.  Then each label seen gets its kind.
 */
static void
map_labels(CsDataset *ds, BehRead *br, const CsOptions *opts, int *label_kind)
{
	ListCell   *lc;
	int			other = -1;
	bool		first_unknown = true;

	ds->kind_names = palloc(sizeof(char *) * CS_MAX_KINDS);
	ds->kind_weights = palloc(sizeof(float) * CS_MAX_KINDS);
	for (int k = 0; k < CS_N_DEFAULT_KINDS; k++)
		add_kind(ds, cs_default_kind_names[k], cs_default_kind_weights[k]);
	foreach(lc, opts->weights)
	{
		CsWeightOverride *w = lfirst(lc);
		int			k = find_kind(ds, w->kind);

		if (k < 0)
			k = add_kind(ds, w->kind, w->weight);
		ds->kind_weights[k] = w->weight;
	}
	foreach(lc, opts->labels)
	{
		CsLabelOverride *l = lfirst(lc);

		if (find_kind(ds, l->kind) < 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("option \"actions\" maps label \"%s\" to unknown kind \"%s\"",
							l->label, l->kind),
					 errhint("Use view, fav, cart or buy, or give the new kind a weight in \"action_weights\".")));
		/* a label no row has: most likely a spelling that differs from the data's */
		{
			bool		used = false;

			for (int i = 0; i < br->n_labels && !used; i++)
				used = strcmp(l->label, br->label_names[i]) == 0;
			if (!used)
				ereport(NOTICE,
						(errmsg("option \"actions\" maps label \"%s\", which no behaviour has", l->label),
						 errhint("Labels are matched exactly, case and spaces included.")));
		}
	}

	initStringInfo(&ds->unknown_labels);
	appendStringInfoChar(&ds->unknown_labels, '{');
	for (int i = 0; i < br->n_labels; i++)
	{
		const char *label = br->label_names[i];
		int			kind = -1;

		foreach(lc, opts->labels)
		{
			CsLabelOverride *l = lfirst(lc);

			if (strcmp(l->label, label) == 0)
				kind = find_kind(ds, l->kind);
		}
		if (kind < 0)
			kind = cs_default_action_kind(label, strlen(label));
		if (kind < 0)
		{
			if (other < 0)
				other = find_kind(ds, "other") >= 0 ? find_kind(ds, "other") : add_kind(ds, "other", 1.0f);
			kind = other;
			ereport(NOTICE,
					(errmsg("action label \"%s\" (" INT64_FORMAT " rows) is not a known kind; it gets weight %g",
							label, br->label_rows[i], (double) ds->kind_weights[other]),
					 errhint("Map it with the option \"actions\", e.g. '{\"actions\": {\"%s\": \"view\"}}'.",
							 label)));
			if (!first_unknown)
				appendStringInfoString(&ds->unknown_labels, ", ");
			first_unknown = false;
			escape_json(&ds->unknown_labels, label);
			appendStringInfo(&ds->unknown_labels, ": " INT64_FORMAT, br->label_rows[i]);
		}
		label_kind[i] = kind;
	}
	appendStringInfoChar(&ds->unknown_labels, '}');

	/* the model stores labels sorted, for binary search when serving */
	{
		int32	   *ord = palloc(sizeof(int32) * Max(br->n_labels, 1));

		for (int i = 0; i < br->n_labels; i++)
			ord[i] = i;
		for (int i = 1; i < br->n_labels; i++)
			for (int j = i; j > 0 && strcmp(br->label_names[ord[j - 1]], br->label_names[ord[j]]) > 0; j--)
			{
				int32		t = ord[j];

				ord[j] = ord[j - 1];
				ord[j - 1] = t;
			}
		ds->n_labels = br->n_labels;
		ds->labels = palloc(sizeof(char *) * Max(br->n_labels, 1));
		ds->label_kind = palloc(sizeof(int) * Max(br->n_labels, 1));
		for (int i = 0; i < br->n_labels; i++)
		{
			ds->labels[i] = br->label_names[ord[i]];
			ds->label_kind[i] = label_kind[ord[i]];
			br->label_rank[ord[i]] = i;
		}
	}
}

/* A behaviours column of a type training cannot read */
static void
bad_behaviour_column(const char *col, const char *rel, Oid type, const char *must,
					 const char *option, bool serving)
{
	ereport(ERROR,
			(errcode(ERRCODE_DATATYPE_MISMATCH),
			 errmsg("column \"%s\" of relation %s has type %s, but %s",
					col, rel, format_type_be(type), must),
			 serving ? errhint("Restore the type the model was trained on, or train the model again.") :
			 errhint("Name another column with the option \"columns\": {\"%s\": ...}.", option)));
}

/*
 * The four columns of a behaviours relation exist and have types training
 * reads; serving checks them again, since the table may change after
 * training.
 */
void
cs_check_behaviour_columns(Oid relid, const char *rel, const CsOptions *opts, bool serving,
						   Oid *user_type, Oid *item_type, Oid *action_type, Oid *ts_type)
{
	cs_check_id_column(relid, rel, opts->col_user, serving ? NULL : "\"columns\": {\"user_id\": ...}", user_type);
	cs_check_id_column(relid, rel, opts->col_item, serving ? NULL : "\"columns\": {\"item_id\": ...}", item_type);
	*action_type = column_type(relid, rel, opts->col_action, serving ? NULL : "\"columns\": {\"action\": ...}");
	if (cs_auto_kind(*action_type) != CS_COL_CATEGORICAL || OidIsValid(get_element_type(*action_type)))
		bad_behaviour_column(opts->col_action, rel, *action_type,
							 "actions must be text or integer codes", "action", serving);
	*ts_type = column_type(relid, rel, opts->col_ts, serving ? NULL : "\"columns\": {\"ts\": ...}");
	if (!cs_is_time_type(*ts_type))
		bad_behaviour_column(opts->col_ts, rel, *ts_type,
							 "timestamps must be timestamptz, timestamp, date or epoch seconds", "ts", serving);
}

static void
read_behaviours(CsDataset *ds, const CsOptions *opts)
{
	const char *rel = ds->src.behaviours_name;
	BehRead		br;
	Oid			action_type;
	StringInfoData sql;
	int		   *label_kind;
	int64		n = 0;
	int64		n_users = 0;

	memset(&br, 0, sizeof(br));
	br.ds = ds;
	br.check_items = OidIsValid(ds->src.items);
	cs_check_behaviour_columns(ds->src.behaviours, rel, opts, false, &br.user_type, &br.item_type,
							   &action_type, &br.ts_type);
	cs_reader_init(&br.action, action_type, CS_COL_CATEGORICAL, rel, opts->col_action);

	strmap_init(&br.labels, 64);
	br.label_names = palloc(sizeof(char *) * CS_MAX_LABELS);
	br.label_rows = palloc(sizeof(int64) * CS_MAX_LABELS);
	br.label_rank = palloc(sizeof(int) * CS_MAX_LABELS);

	initStringInfo(&sql);
	appendStringInfo(&sql, "SELECT %s, %s, %s, %s FROM %s",
					 quote_identifier(opts->col_user), quote_identifier(opts->col_item),
					 quote_identifier(opts->col_action), quote_identifier(opts->col_ts), rel);
	scan_query(sql.data, rel, behread_batch, &br);

	if (br.n == 0)
		ereport(ERROR,
				(errcode(ERRCODE_NO_DATA_FOUND),
				 errmsg("relation %s has no usable behaviours", rel),
				 errdetail(INT64_FORMAT " rows read: " INT64_FORMAT " with NULL ids, " INT64_FORMAT
						   " with NULL or invalid timestamps, " INT64_FORMAT " with NULL actions, "
						   INT64_FORMAT " on items missing from the items table.",
						   ds->rows_read, ds->skipped_null_id,
						   ds->skipped_null_ts + ds->skipped_bad_ts, ds->skipped_null_action,
						   ds->skipped_unknown_item)));

	label_kind = palloc(sizeof(int) * Max(br.n_labels, 1));
	map_labels(ds, &br, opts, label_kind);

	/* order by user and time; drop exact duplicates */
	qsort(br.rows, br.n, sizeof(RawRow), cmp_rawrow);
	for (int64 r = 0; r < br.n; r++)
	{
		if (n > 0 && cmp_rawrow(&br.rows[n - 1], &br.rows[r]) == 0)
		{
			ds->skipped_duplicate++;
			continue;
		}
		if (n == 0 || br.rows[n - 1].user != br.rows[r].user)
			n_users++;
		br.rows[n++] = br.rows[r];
	}

	/* the catalogue is the items table, or else every item with behaviours */
	if (!OidIsValid(ds->src.items))
	{
		int64	   *ids = palloc_extended(sizeof(int64) * n, MCXT_ALLOC_HUGE);
		int64		k = 0;

		for (int64 r = 0; r < n; r++)
			ids[r] = br.rows[r].item;
		qsort(ids, n, sizeof(int64), cmp_int64);
		for (int64 r = 0; r < n; r++)
			if (k == 0 || ids[k - 1] != ids[r])
				ids[k++] = ids[r];
		if (k > cs_max_items)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("the catalogue has " INT64_FORMAT " items, more than coldstart.max_items (%d)",
							k, cs_max_items),
					 errhint("Train on the most active items, or raise coldstart.max_items.")));
		ds->n_items = (int) k;
		ds->item_ids = ids;
	}

	cs_check_budget(ds->bytes + sizeof(RawRow) * br.cap + sizeof(CsEvent) * n,
					"the cleaned behaviours", false);
	ds->hist.n_users = (int) n_users;
	ds->hist.user_ids = palloc_extended(sizeof(int64) * Max(n_users, 1), MCXT_ALLOC_HUGE);
	ds->hist.start = palloc_extended(sizeof(int64) * (n_users + 1), MCXT_ALLOC_HUGE);
	ds->hist.events = palloc_extended(sizeof(CsEvent) * n, MCXT_ALLOC_HUGE);
	n_users = 0;
	for (int64 r = 0; r < n; r++)
	{
		CsEvent    *ev = &ds->hist.events[r];

		if (r == 0 || br.rows[r - 1].user != br.rows[r].user)
		{
			ds->hist.user_ids[n_users] = br.rows[r].user;
			ds->hist.start[n_users++] = r;
		}
		ev->item = (int32) cs_find_id(ds->item_ids, ds->n_items, br.rows[r].item);
		ev->kind = (int16) label_kind[br.rows[r].label];
		ev->label = (int16) br.label_rank[br.rows[r].label];
		ev->ts = br.rows[r].ts;
	}
	ds->hist.start[n_users] = n;
	pfree(br.rows);
	ds->bytes += sizeof(CsEvent) * n + sizeof(int64) * 2 * n_users;
}

CsDataset *
cs_dataset_load(const CsSources *src, const CsOptions *opts)
{
	CsDataset  *ds = palloc0(sizeof(CsDataset));

	ds->src = *src;

	if (OidIsValid(src->items))
	{
		read_features(ds, src->items, src->items_name,
					  opts->items_key ? opts->items_key : opts->col_item,
					  "\"item_id_column\"", opts->item_features_given, opts->item_features,
					  opts->buckets, &ds->items, &ds->item_rows_read, &ds->item_rows_skipped, true);
		if (ds->items.n_entities == 0)
			ereport(ERROR,
					(errcode(ERRCODE_NO_DATA_FOUND),
					 errmsg("relation %s has no items", src->items_name)));
		if (ds->items.n_entities > cs_max_items)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("the catalogue has %d items, more than coldstart.max_items (%d)",
							ds->items.n_entities, cs_max_items),
					 errhint("Train on the most active items, or raise coldstart.max_items.")));
		ds->n_items = ds->items.n_entities;
		ds->item_ids = ds->items.ids;
	}

	read_behaviours(ds, opts);

	if (!OidIsValid(src->items))
	{
		/* no item features: every item is its id alone */
		ds->items.n_entities = ds->n_items;
		ds->items.ids = ds->item_ids;
		ds->items.row_start = cs_alloc_huge(sizeof(int64) * (ds->n_items + 1));
		ds->items.values = NULL;
		ds->items.columns = NULL;
	}

	if (OidIsValid(src->users))
		read_features(ds, src->users, src->users_name,
					  opts->users_key ? opts->users_key : opts->col_user,
					  "\"user_id_column\"", opts->user_features_given, opts->user_features,
					  opts->buckets, &ds->users, &ds->user_rows_read, &ds->user_rows_skipped, false);

	ds->hist.attrs = palloc_extended(sizeof(int32) * Max(ds->hist.n_users, 1), MCXT_ALLOC_HUGE);
	for (int u = 0; u < ds->hist.n_users; u++)
		ds->hist.attrs[u] = (int32) cs_find_id(ds->users.ids, ds->users.n_entities,
											ds->hist.user_ids[u]);
	cs_check_budget(ds->bytes, "the training data", false);
	return ds;
}

int
cs_history_distinct(const CsEvent *ev, int64 n, int32 *items, int64 *first_pos)
{
	int			k = 0;

	/* histories are short next to the catalogue: a linear check is fine */
	for (int64 i = 0; i < n; i++)
	{
		bool		seen = false;

		for (int j = k - 1; j >= 0 && !seen; j--)
			seen = (items[j] == ev[i].item);
		if (!seen)
		{
			if (first_pos)
				first_pos[k] = i;
			items[k++] = ev[i].item;
		}
	}
	return k;
}

void
cs_dataset_summary(const CsDataset *ds, StringInfo out)
{
	int64		skipped = ds->skipped_null_id + ds->skipped_null_ts + ds->skipped_bad_ts +
		ds->skipped_null_action + ds->skipped_unknown_item + ds->skipped_duplicate;

	appendStringInfo(out,
					 "\"rows_read\": " INT64_FORMAT ", \"rows_used\": " INT64_FORMAT
					 ", \"rows_skipped\": {\"total\": " INT64_FORMAT ", \"null_id\": " INT64_FORMAT
					 ", \"null_ts\": " INT64_FORMAT ", \"invalid_ts\": " INT64_FORMAT
					 ", \"null_action\": " INT64_FORMAT ", \"unknown_item\": " INT64_FORMAT
					 ", \"duplicate\": " INT64_FORMAT "}"
					 ", \"unknown_labels\": %s"
					 ", \"users\": %d, \"items\": %d"
					 ", \"item_rows\": {\"read\": " INT64_FORMAT ", \"skipped\": " INT64_FORMAT "}"
					 ", \"user_rows\": {\"read\": " INT64_FORMAT ", \"skipped\": " INT64_FORMAT "}"
					 ", \"bad_feature_values\": " INT64_FORMAT
					 ", \"item_features\": %d, \"user_features\": %d, \"content_dimension\": %d",
					 ds->rows_read, ds->rows_read - skipped, skipped, ds->skipped_null_id,
					 ds->skipped_null_ts, ds->skipped_bad_ts, ds->skipped_null_action,
					 ds->skipped_unknown_item, ds->skipped_duplicate,
					 ds->unknown_labels.data,
					 ds->hist.n_users, ds->n_items,
					 ds->item_rows_read, ds->item_rows_skipped,
					 ds->user_rows_read, ds->user_rows_skipped,
					 ds->bad_feature_values, ds->items.n_values, ds->users.n_values,
					 ds->items.content_dim);
	appendStringInfoString(out, ", \"action_kinds\": {");
	for (int k = 0; k < ds->n_kinds; k++)
	{
		if (k > 0)
			appendStringInfoString(out, ", ");
		escape_json(out, ds->kind_names[k]);
		appendStringInfo(out, ": %g", (double) ds->kind_weights[k]);
	}
	appendStringInfoChar(out, '}');
}
