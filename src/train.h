/*
 * train.h
 *	  Training the softmax interest model with OpenBLAS.
 */
#ifndef CS_TRAIN_H
#define CS_TRAIN_H

#include "postgres.h"

#include "lib/stringinfo.h"

#include "dataset.h"
#include "options.h"

typedef struct CsTrainResult
{
	struct varlena *model;		/* the trained model value */
	StringInfoData summary;		/* JSON members (no braces): epochs, losses, ... */
	double		validation_metric;	/* NaN when there were no validation users */
	int			epochs_run;
	int64		examples;		/* training examples processed */
	double		seconds;
} CsTrainResult;

/*
 * Train on the histories "train" of dataset "ds" (the catalogue, features and
 * kinds come from ds).  options_json is stored in the model.  quiet
 * suppresses the per-epoch NOTICEs (evaluate() trains several models).
 */
extern void cs_train(const CsDataset *ds, const CsHistories *train,
					 const CsOptions *opts, const char *options_json, bool quiet,
					 CsTrainResult *res);

/* A seeded generator (xoshiro256**), shared with evaluate(). */
typedef struct CsRandom
{
	uint64		s[4];
} CsRandom;

extern void cs_random_seed(CsRandom *r, uint64 seed);
extern uint64 cs_random_next(CsRandom *r);
extern double cs_random_double(CsRandom *r); /* [0, 1) */
extern uint64 cs_random_below(CsRandom *r, uint64 n);	/* [0, n) */

#endif							/* CS_TRAIN_H */
