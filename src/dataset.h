/*
 * dataset.h
 *	  Reading and cleaning the user's tables for training: behaviours, the
 *	  item catalogue with its features, user attributes.
 */
#ifndef CS_DATASET_H
#define CS_DATASET_H

#include "postgres.h"

#include "lib/stringinfo.h"

#include "model_format.h"
#include "options.h"

/* One behaviour, after cleaning. */
typedef struct CsEvent
{
	int32		item;			/* index into the catalogue */
	int16		kind;			/* index into the action kinds */
	int16		label;			/* index into the labels */
	double		ts;				/* seconds since the Unix epoch */
} CsEvent;

/* A feature column of items or users, as training builds it. */
typedef struct CsFeatColumn
{
	char	   *name;
	int			kind;			/* CsColumnKind */
	bool		is_array;
	uint16		time_flag;		/* numeric: CS_COLF_TIMESTAMPTZ etc., or 0 */
	int			first;			/* vocabulary rows */
	int			count;
	int			first_edge;		/* numeric */
	int			dim;			/* dense */
} CsFeatColumn;

/*
 * Features of a set of entities (the catalogue's items, or the rows of the
 * users table): vocabulary plus, per entity, its rows with weights (CSR).
 */
typedef struct CsFeatures
{
	int			n_columns;
	CsFeatColumn *columns;
	int			n_values;		/* vocabulary rows of all columns */
	char	  **values;			/* categorical rows: the value; else NULL */
	int			n_edges;
	double	   *edges;
	int			content_dim;	/* dense column length, 0 if none */

	int			n_entities;
	int64	   *ids;			/* sorted entity ids */
	int64	   *row_start;		/* n_entities + 1 */
	int32	   *rows;
	float	   *weights;
	float	   *dense;			/* n_entities x content_dim (zeros if missing) */
} CsFeatures;

/* The behaviour histories of a set of users, time-ordered per user. */
typedef struct CsHistories
{
	int			n_users;
	int64	   *user_ids;		/* sorted */
	int64	   *start;			/* n_users + 1 offsets into events */
	CsEvent    *events;
	int32	   *attrs;			/* per user: entity of the user features, or -1 */
	bool	   *keep_out_of_validation;	/* per user, or NULL: never a validation user */
} CsHistories;

/* Where the data came from, as stored in the model's spec. */
typedef struct CsSources
{
	Oid			behaviours;
	Oid			items;			/* InvalidOid if none */
	Oid			users;
	char	   *behaviours_name;	/* schema-qualified, quoted */
	char	   *items_name;
	char	   *users_name;
} CsSources;

typedef struct CsDataset
{
	CsSources	src;

	/* the catalogue: sorted item ids, their features and training counts */
	int			n_items;
	int64	   *item_ids;
	CsFeatures	items;
	CsFeatures	users;

	/* action kinds and the labels seen */
	int			n_kinds;
	char	  **kind_names;
	float	   *kind_weights;
	int			n_labels;
	char	  **labels;			/* sorted */
	int		   *label_kind;

	CsHistories hist;			/* every user with behaviours */

	/* counts for the summary */
	int64		rows_read;
	int64		skipped_null_id;
	int64		skipped_null_ts;
	int64		skipped_bad_ts;
	int64		skipped_null_action;
	int64		skipped_unknown_item;
	int64		skipped_duplicate;
	int64		item_rows_read;
	int64		item_rows_skipped;
	int64		user_rows_read;
	int64		user_rows_skipped;
	int64		bad_feature_values;	/* NaN/Inf numbers, broken vectors */
	StringInfoData unknown_labels;	/* JSON object label: count */
	Size		bytes;			/* memory the dataset holds */
} CsDataset;

/* Resolve and describe the relations; check they exist and are readable. */
extern void cs_sources_init(CsSources *src, Oid behaviours, Oid items, Oid users);

/* Read and clean everything.  Raises clear errors for bad input. */
extern CsDataset *cs_dataset_load(const CsSources *src, const CsOptions *opts);

/* The summary's data part, as JSON members (no braces). */
extern void cs_dataset_summary(const CsDataset *ds, StringInfo out);

/* Distinct items of a history, in order of first occurrence. */
extern int	cs_history_distinct(const CsEvent *ev, int64 n, int32 *items, int64 *first_pos);

/*
 * The types of the behaviour columns, checked as training does (serving:
 * with hints for a model already trained).
 */
extern void cs_check_behaviour_columns(Oid relid, const char *rel, const CsOptions *opts, bool serving,
									   Oid *user_type, Oid *item_type, Oid *action_type,
									   Oid *ts_type);

/*
 * A column that must hold ids: a clear error if it is missing or of another
 * type.  option names the option that picks another column, or NULL for a
 * model already trained.
 */
extern void cs_check_id_column(Oid relid, const char *relname, const char *col, const char *option,
							   Oid *type);

/* Memory budget: raise an error if needed bytes exceed coldstart.train_memory. */
extern void cs_check_budget(Size needed, const char *what, bool model);

/* Allocation that may exceed 1 GB, zeroed. */
extern void *cs_alloc_huge(Size size);

#endif							/* CS_DATASET_H */
