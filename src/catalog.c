/*
 * catalog.c
 *	  Access to coldstart.models through SPI, with plans prepared once per
 *	  backend.  Every statement is schema-qualified, so a hostile search_path
 *	  cannot redirect it.
 */
#include "postgres.h"

#include <math.h>

#include "access/detoast.h"
#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "storage/lmgr.h"
#include "utils/snapmgr.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"

#include "catalog.h"
#include "model_format.h"

/*
 * Advisory locks, as pg_locks shows them: locktype advisory, classid and
 * objid a 64-bit hash of the model name, objsubid one of these.  Two names
 * share their locks only if both halves of the hash agree (a chance of about
 * 3e-14 among 1,000 names, where a 32-bit hash gave 1e-4).  The SQL
 * functions pg_advisory_lock() and the like use objsubid 1 and 2 only, so an
 * application's advisory locks never meet these.
 *
 * Order: the training lock, then the change lock, then rows of
 * coldstart.models.  Every path that takes the change lock takes it before
 * any row lock of the catalogue, and none takes the training lock after it.
 */
#define CS_LOCK_TRAINING	0x4301	/* one training of a name at a time */
#define CS_LOCK_CHANGE		0x4303	/* storing, activating, refreshing, dropping versions */

static void
model_locktag(LOCKTAG *tag, const char *name, uint16 kind)
{
	size_t		len = strlen(name);

	SET_LOCKTAG_ADVISORY(*tag, MyDatabaseId,
						 hash_bytes((const unsigned char *) name, len),
						 (uint32) (hash_bytes_extended((const unsigned char *) name, len, 0x4301) >> 32),
						 kind);
}

#define MAX_NAME_BYTES 200

static SPIPlanPtr plan_active = NULL;
static SPIPlanPtr plan_model = NULL;

static SPIPlanPtr
prepare_once(SPIPlanPtr *plan, const char *sql, int nargs, Oid *types)
{
	if (*plan == NULL)
	{
		SPIPlanPtr	p = SPI_prepare(sql, nargs, types);

		if (p == NULL)
			elog(ERROR, "SPI_prepare(\"%s\") failed: %s", sql,
				 SPI_result_code_string(SPI_result));
		SPI_keepplan(p);
		*plan = p;
	}
	return *plan;
}

void
cs_check_model_name(const char *name)
{
	if (name[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("model name must not be empty")));
	if (strlen(name) > MAX_NAME_BYTES)
		ereport(ERROR,
				(errcode(ERRCODE_NAME_TOO_LONG),
				 errmsg("model name is longer than %d bytes", MAX_NAME_BYTES)));
}

/* A name train() may create: a model name that evaluate() does not reserve. */
void
cs_check_trainable_name(const char *name)
{
	cs_check_model_name(name);
	if (strncmp(name, CS_EVALUATE_PREFIX, strlen(CS_EVALUATE_PREFIX)) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_RESERVED_NAME),
				 errmsg("model name \"%s\" is reserved", name),
				 errdetail("Names beginning with \"%s\" are used by coldstart.evaluate() for the models it trains and drops.",
						   CS_EVALUATE_PREFIX),
				 errhint("Choose another name.")));
}

void
cs_catalog_lock(const char *name)
{
	LOCKTAG		tag;

	model_locktag(&tag, name, CS_LOCK_TRAINING);
	if (LockAcquire(&tag, ExclusiveLock, false, true) == LOCKACQUIRE_NOT_AVAIL)
		ereport(ERROR,
				(errcode(ERRCODE_LOCK_NOT_AVAILABLE),
				 errmsg("model \"%s\" is being trained by another session", name),
				 errhint("Wait for that training to finish; pg_stat_activity shows it.")));
}

void
cs_catalog_lock_change(const char *name)
{
	LOCKTAG		tag;

	/* till the end of the transaction, waiting for the holder if need be */
	model_locktag(&tag, name, CS_LOCK_CHANGE);
	(void) LockAcquire(&tag, ExclusiveLock, false, false);
}

/* The int8 of a one-row query: under the latest snapshot, or as a new command would see it. */
static int64
query_int8(const char *sql, int nargs, Oid *types, Datum *args, bool latest)
{
	SPIPlanPtr	p = SPI_prepare(sql, nargs, types);
	bool		isnull = true;
	Datum		d = (Datum) 0;
	int			rc;

	if (p == NULL)
		elog(ERROR, "SPI_prepare(\"%s\") failed: %s", sql, SPI_result_code_string(SPI_result));
	rc = latest ? SPI_execute_snapshot(p, args, NULL, GetLatestSnapshot(), InvalidSnapshot, true, false, 1)
		: SPI_execute_plan(p, args, NULL, false, 1);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "could not read coldstart.models: %s", SPI_result_code_string(rc));
	if (SPI_processed == 1)
		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	SPI_freeplan(p);
	return isnull ? 0 : DatumGetInt64(d);
}

int64
cs_catalog_latest_int8(const char *sql, int nargs, Oid *types, Datum *args)
{
	return query_int8(sql, nargs, types, args, true);
}

void
cs_catalog_check_latest_version(const char *name)
{
	/*
	 * The newest version, and a hash of every row's version and xmin, in one
	 * int8: a row version that the latest snapshot sees and the
	 * transaction's does not has an xmin that no row the transaction sees
	 * has, and a deleted row leaves the list.
	 */
	static const char *sql = "SELECT (coalesce(max(version), 0)::int8 << 32) | "
		"(pg_catalog.hashtext(coalesce(string_agg(version || ':' || xmin, ',' ORDER BY version), ''))::int8 "
		"& 4294967295) FROM coldstart.models WHERE name = $1";
	Oid			types[1] = {TEXTOID};
	Datum		args[1];
	int64		latest;
	int64		seen;

	if (!IsolationUsesXactSnapshot())
		return;
	args[0] = CStringGetTextDatum(name);
	/*
	 * Not read-only: the transaction's snapshot as of a new command, which
	 * sees what this transaction stored before, in this statement too (a
	 * query that trains twice).
	 */
	seen = query_int8(sql, 1, types, args, false);
	latest = query_int8(sql, 1, types, args, true);

	/*
	 * A newer version takes the number the store would choose; a changed or
	 * deleted row makes the store's update of the active row or the
	 * pruning's delete fail with 40001 anyway, after the whole training.
	 * (Some changes would not have conflicted, a version the pruning keeps,
	 * say: the error is then early and a retry succeeds.)
	 */
	if ((latest >> 32) > (seen >> 32))
		ereport(ERROR,
				(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
				 errmsg("could not serialize access due to a concurrent change of model \"%s\"", name),
				 errdetail("Version " INT64_FORMAT " was stored after this transaction's snapshot was taken, which sees " INT64_FORMAT " as the newest.",
						   latest >> 32, seen >> 32),
				 errhint("Retry the transaction.")));
	if (latest != seen)
		ereport(ERROR,
				(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
				 errmsg("could not serialize access due to a concurrent change of model \"%s\"", name),
				 errdetail("A version of it was activated, refreshed, changed or deleted after this transaction's snapshot was taken."),
				 errhint("Retry the transaction.")));
}

bool
cs_catalog_training_in_progress(const char *name)
{
	LOCKTAG		tag;
	int			holders;

	/* looks at the lock table without taking the lock, so it never gets in the way */
	model_locktag(&tag, name, CS_LOCK_TRAINING);
	(void) GetLockConflicts(&tag, ExclusiveLock, &holders);
	return holders > 0;
}

/*
 * What identifies a stored model value without reading it: the TOAST pointer
 * of one stored out of line (a new value gets a new one, an update of the
 * row's other columns keeps it), or a hash of the bytes of one stored inline,
 * which are at most a couple of kB.
 */
static uint64
content_id(struct varlena *v)
{
	if (VARATT_IS_EXTERNAL_ONDISK(v))
	{
		struct varatt_external ext;

		VARATT_EXTERNAL_GET_POINTER(ext, v);
		return ((uint64) ext.va_toastrelid << 32) | ext.va_valueid;
	}
	if (VARATT_IS_EXTERNAL(v))
		v = detoast_attr(v);
	return hash_bytes_extended((const unsigned char *) v, VARSIZE_ANY(v), 0);
}

bool
cs_catalog_active(const char *name, CsActiveModel *out)
{
	Oid			types[1] = {TEXTOID};
	Datum		args[1];
	bool		isnull;
	SPIPlanPtr	p = prepare_once(&plan_active,
								 "SELECT version, trained_at, items_refreshed_at, spec, "
								 "(metrics->>'validation_recall_at_20')::float8, model "
								 "FROM coldstart.models WHERE name = $1 AND active",
								 1, types);
	int			rc;
	HeapTuple	tup;
	TupleDesc	desc;
	Datum		d;

	args[0] = CStringGetTextDatum(name);
	rc = SPI_execute_plan(p, args, NULL, true, 1);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute_plan failed: %s", SPI_result_code_string(rc));
	if (SPI_processed == 0)
		return false;
	tup = SPI_tuptable->vals[0];
	desc = SPI_tuptable->tupdesc;
	out->version = DatumGetInt32(SPI_getbinval(tup, desc, 1, &isnull));
	out->trained_at = DatumGetInt64(SPI_getbinval(tup, desc, 2, &isnull));
	d = SPI_getbinval(tup, desc, 3, &isnull);
	out->refreshed_at = isnull ? 0 : DatumGetInt64(d);
	/* detoast first: a short spec has a 1-byte header, a long one is TOASTed */
	d = SPI_getbinval(tup, desc, 4, &isnull);
	out->spec = (Jsonb *) SPI_datumTransfer(PointerGetDatum(PG_DETOAST_DATUM(d)), false, -1);
	d = SPI_getbinval(tup, desc, 5, &isnull);
	out->validation_metric = isnull ? NAN : DatumGetFloat8(d);
	out->content_id = content_id((struct varlena *) DatumGetPointer(SPI_getbinval(tup, desc, 6, &isnull)));
	return true;
}

Datum
cs_catalog_model(const char *name, int32 version)
{
	Oid			types[2] = {TEXTOID, INT4OID};
	Datum		args[2];
	bool		isnull;
	SPIPlanPtr	p = prepare_once(&plan_model,
								 "SELECT model FROM coldstart.models WHERE name = $1 AND version = $2",
								 2, types);
	int			rc;
	Datum		d;

	args[0] = CStringGetTextDatum(name);
	args[1] = Int32GetDatum(version);
	rc = SPI_execute_plan(p, args, NULL, true, 1);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute_plan failed: %s", SPI_result_code_string(rc));
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("model \"%s\" has no version %d", name, version)));
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	/* a detoasted copy that outlives SPI_finish */
	return PointerGetDatum(SPI_datumTransfer(PointerGetDatum(PG_DETOAST_DATUM(d)), false, -1));
}

void
cs_catalog_check_name(const char *name)
{
	Oid			types[1] = {TEXTOID};
	Datum		args[1];
	int			rc;

	args[0] = CStringGetTextDatum(name);
	rc = SPI_execute_with_args("SELECT 1 FROM coldstart.models WHERE name = $1 LIMIT 1",
							   1, types, args, NULL, true, 1);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute_with_args failed: %s", SPI_result_code_string(rc));
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("model \"%s\" does not exist", name),
				 errhint("Train it first with coldstart.train('%s', ...).", name)));
}

int32
cs_catalog_store(const char *name, struct varlena *model, const char *spec_json,
				 const char *metrics_json, double seconds, bool activate)
{
	Oid			types[6] = {TEXTOID, InvalidOid, JSONBOID, JSONBOID, FLOAT8OID, BOOLOID};
	Datum		args[6];
	int			rc;
	bool		isnull;
	int32		version;

	types[1] = DatumGetObjectId(DirectFunctionCall1(regtypein,
													CStringGetDatum("coldstart.model")));
	args[0] = CStringGetTextDatum(name);
	args[1] = PointerGetDatum(model);
	args[2] = DirectFunctionCall1(jsonb_in, CStringGetDatum(spec_json));
	args[3] = DirectFunctionCall1(jsonb_in, CStringGetDatum(metrics_json));
	args[4] = Float8GetDatum(seconds);
	args[5] = BoolGetDatum(activate);

	/*
	 * The change lock before any row (the lock order), whether the version
	 * is stored active or not: the pruning after the store deletes rows too.
	 * After an activate() in progress (which may take a while: it refreshes
	 * the items), the update below then starts after its commit, sees the
	 * version it made active and deactivates it, instead of finding none and
	 * running into the one-active index.
	 */
	cs_catalog_lock_change(name);
	/* (a change committed during the training, which the check before it could not see) */
	cs_catalog_check_latest_version(name);
	if (activate)
	{
		rc = SPI_execute_with_args("UPDATE coldstart.models SET active = false "
								   "WHERE name = $1 AND active",
								   1, types, args, NULL, false, 0);
		if (rc != SPI_OK_UPDATE)
			elog(ERROR, "could not deactivate the previous version: %s",
				 SPI_result_code_string(rc));
	}
	rc = SPI_execute_with_args("INSERT INTO coldstart.models "
							   "(name, version, active, model, spec, metrics, trained_at, train_seconds) "
							   "SELECT $1, COALESCE(max(version), 0) + 1, $6, $2, $3, $4, "
							   "pg_catalog.clock_timestamp(), $5 "
							   "FROM coldstart.models WHERE name = $1 RETURNING version",
							   6, types, args, NULL, false, 0);
	if (rc != SPI_OK_INSERT_RETURNING || SPI_processed != 1)
		elog(ERROR, "could not store the model: %s", SPI_result_code_string(rc));
	version = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	return version;
}

int64
cs_catalog_prune(const char *name, int keep)
{
	Oid			types[2] = {TEXTOID, INT4OID};
	Datum		args[2];
	int			rc;

	if (keep <= 0)
		return 0;
	args[0] = CStringGetTextDatum(name);
	args[1] = Int32GetDatum(keep);
	rc = SPI_execute_with_args("DELETE FROM coldstart.models m WHERE m.name = $1 AND NOT m.active "
							   "AND m.version NOT IN (SELECT k.version FROM coldstart.models k "
							   "WHERE k.name = $1 ORDER BY k.version DESC LIMIT $2)",
							   2, types, args, NULL, false, 0);
	if (rc != SPI_OK_DELETE)
		elog(ERROR, "could not prune old versions: %s", SPI_result_code_string(rc));
	return (int64) SPI_processed;
}
