/*
 * options.h
 *	  The options jsonb of train(), retrain() and evaluate().
 */
#ifndef CS_OPTIONS_H
#define CS_OPTIONS_H

#include "postgres.h"

#include "lib/stringinfo.h"
#include "nodes/pg_list.h"
#include "utils/jsonb.h"

typedef enum CsTarget
{
	CS_TARGET_NEXT,				/* the next distinct item */
	CS_TARGET_LATER,			/* one later item, drawn at random */
	CS_TARGET_ALL				/* every later item, as a distribution */
} CsTarget;

/* Training again on every user once the epochs are chosen. */
typedef enum CsRefit
{
	CS_REFIT_NO,
	CS_REFIT_YES,
	CS_REFIT_AUTO				/* when the validation users are a share that matters */
} CsRefit;

/* Validation users below this share of the users: "auto" does not refit. */
#define CS_REFIT_AUTO_SHARE 0.05

/* A feature column requested by name, with an optional forced kind. */
typedef struct CsFeatureRequest
{
	char	   *name;
	int			kind;			/* 0: from the column type, else CsColumnKind */
} CsFeatureRequest;

/* A label -> kind override ("pv": "view"). */
typedef struct CsLabelOverride
{
	char	   *label;
	char	   *kind;
} CsLabelOverride;

/* A kind -> weight override ("buy": 4). */
typedef struct CsWeightOverride
{
	char	   *kind;
	double		weight;
} CsWeightOverride;

/* option bias_scale "auto": chosen on validation users */
#define CS_BIAS_SCALE_AUTO (-1.0)

typedef struct CsOptions
{
	/* behaviour table columns, and id columns of the items and users tables */
	char	   *col_user;
	char	   *col_item;
	char	   *col_action;
	char	   *col_ts;
	char	   *items_key;
	char	   *users_key;
	bool		item_features_given;
	List	   *item_features;	/* of CsFeatureRequest */
	bool		user_features_given;
	List	   *user_features;

	List	   *labels;			/* of CsLabelOverride */
	List	   *weights;		/* of CsWeightOverride */

	/* model */
	int			dim;
	int			hidden;
	int			history_length;
	double		history_prior;
	double		half_life;		/* seconds */
	int			buckets;

	/* training */
	int			epochs;
	double		learning_rate;
	double		l2;
	double		id_l2;
	double		attr_l2;
	double		dropout;
	double		ema;
	double		feature_scale;
	double		match_init;
	double		match_lr_scale;
	double		bias_scale;		/* served score: u.v + bias_scale * b, or auto */
	int			batch_size;
	CsTarget	target;
	double		target_balance;
	int64		seed;
	int			min_item_count;	/* fewer training users: no id embedding */
	int			max_prefixes;	/* per user and epoch; 0: all */
	int			short_prefixes;	/* of which always the shortest ones */
	int			full_softmax_items; /* above: sampled softmax */
	int			negatives;
	double		validation_fraction;
	int			patience;
	double		tolerance;		/* share of the best validation recall that still counts */
	CsRefit		refit;

	/* catalogue */
	int			keep_versions;	/* 0: keep all */
	bool		promote_if_better;

	/* evaluate() only */
	double		test_fraction;
	int			min_items;		/* eligible test users have this many items */
	List	   *revealed;		/* of int */
	List	   *methods;		/* of char * */
	bool		catalogue_trained;	/* rank only items with training behaviours */
} CsOptions;

typedef enum CsOptionsFor
{
	CS_OPTIONS_TRAIN,
	CS_OPTIONS_EVALUATE
} CsOptionsFor;

/* Defaults, then the jsonb (may be NULL) on top; errors name the option. */
extern void cs_options_parse(CsOptions *opts, Jsonb *jb, CsOptionsFor what);

/* The options actually used, as JSON text (for summaries and the model). */
extern void cs_options_to_json(const CsOptions *opts, StringInfo out, CsOptionsFor what);

extern const char *cs_target_name(CsTarget t);

#endif							/* CS_OPTIONS_H */
