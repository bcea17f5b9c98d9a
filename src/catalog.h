/*
 * catalog.h
 *	  The coldstart.models table: storing, activating and finding versions.
 */
#ifndef CS_CATALOG_H
#define CS_CATALOG_H

#include "postgres.h"

#include "utils/jsonb.h"

/*
 * Serialize trainings of one name: take a transaction-level advisory lock,
 * or fail at once with a clear message when another session holds it.
 */
extern void cs_catalog_lock(const char *name);

/*
 * Serialize changes of a name's versions: activate(), refresh_items(),
 * drop_model() and a training storing its version take this
 * transaction-level advisory lock, waited for, before any row lock of
 * coldstart.models.  Serving does not take it.
 */
extern void cs_catalog_lock_change(const char *name);

/*
 * True while another session holds the training lock of name (a training of
 * it is under way).  Takes no lock.
 */
extern bool cs_catalog_training_in_progress(const char *name);

/*
 * The int8 (or timestamptz) that a query of one row and column gives under
 * the latest snapshot, whatever the transaction's isolation: what a
 * REPEATABLE READ transaction, whose snapshot stays, does not see another
 * commit.  0 when it gives no row or NULL.  Within SPI.
 */
extern int64 cs_catalog_latest_int8(const char *sql, int nargs, Oid *types, Datum *args);

/*
 * Under REPEATABLE READ or SERIALIZABLE, with the training lock held: raise a
 * serialization failure (40001) when another transaction stored, changed
 * or deleted a version of name since the transaction's snapshot (the store
 * would choose a version number that is taken, or fail on the active row or
 * in the pruning).  Called before a training and again when it stores its
 * version.  Within SPI.
 */
extern void cs_catalog_check_latest_version(const char *name);

/* Raise "model \"%s\" does not exist" unless a version of name exists. */
extern void cs_catalog_check_name(const char *name);

/* The active version of a model, or false when there is none. */
typedef struct CsActiveModel
{
	int32		version;
	int64		trained_at;		/* microseconds; identifies the content */
	int64		refreshed_at;	/* items_refreshed_at, 0 if never */
	Jsonb	   *spec;			/* palloc'd in the caller's context */
	double		validation_metric;	/* NaN if unknown */
	uint64		content_id;		/* changes when the model value is replaced */
} CsActiveModel;

extern bool cs_catalog_active(const char *name, CsActiveModel *out);

/* The model value of a version (detoasted copy in the current context). */
extern Datum cs_catalog_model(const char *name, int32 version);

/* Insert a version; activate it if asked.  Returns the version number. */
extern int32 cs_catalog_store(const char *name, struct varlena *model,
							  const char *spec_json, const char *metrics_json,
							  double seconds, bool activate);

/* Keep the newest "keep" versions of name (the active one always stays). */
extern int64 cs_catalog_prune(const char *name, int keep);

/* Name must be non-empty text of reasonable length. */
extern void cs_check_model_name(const char *name);

/* evaluate()'s live model is stored under this prefix, which train() refuses */
#define CS_EVALUATE_PREFIX "coldstart_evaluate_"
extern void cs_check_trainable_name(const char *name);

#endif							/* CS_CATALOG_H */
