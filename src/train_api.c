/*
 * train_api.c
 *	  SQL entry points of training: train(), retrain(), activate().
 *
 * A training runs in the caller's transaction: if it fails or is cancelled,
 * nothing it wrote survives and the active version keeps serving.  Its big
 * allocations live in a memory context of their own, released at the end.
 * Each call of train() or retrain() is one run in coldstart.training_runs,
 * recorded also when it fails (runs.c).
 */
#include "postgres.h"

#include <math.h>

#include "access/xact.h"
#include "catalog/namespace.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/regproc.h"
#include "utils/resowner.h"
#include "utils/varlena.h"

#include "catalog.h"
#include "coldstart.h"
#include "dataset.h"
#include "options.h"
#include "runs.h"
#include "train.h"

static char *
spec_json(const CsSources *src, Jsonb *given)
{
	StringInfoData s;

	initStringInfo(&s);
	appendStringInfoString(&s, "{\"behaviours\": ");
	escape_json(&s, src->behaviours_name);
	appendStringInfoString(&s, ", \"items\": ");
	if (src->items_name)
		escape_json(&s, src->items_name);
	else
		appendStringInfoString(&s, "null");
	appendStringInfoString(&s, ", \"users\": ");
	if (src->users_name)
		escape_json(&s, src->users_name);
	else
		appendStringInfoString(&s, "null");
	appendStringInfo(&s, ", \"options\": %s}",
					 given ? JsonbToCString(NULL, &given->root, VARSIZE(given)) : "{}");
	return s.data;
}

/* Train, store and summarise; returns the summary as jsonb (caller's context). */
static Datum
train_and_store(const char *name, Oid behaviours, Oid items, Oid users, Jsonb *given)
{
	MemoryContext callercxt = CurrentMemoryContext;
	MemoryContext traincxt;
	CsOptions	opts;
	CsSources	src;
	CsDataset  *ds;
	CsTrainResult res;
	CsActiveModel active;
	bool		has_active;
	bool		activate = true;
	char	   *why_inactive = NULL;
	StringInfoData used,
				metrics,
				summary;
	int32		version;
	int64		pruned;
	Datum		result;

	cs_check_model_name(name);
	cs_options_parse(&opts, given, CS_OPTIONS_TRAIN);

	traincxt = AllocSetContextCreate(callercxt, "coldstart training", ALLOCSET_DEFAULT_SIZES);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	MemoryContextSwitchTo(traincxt);

	cs_catalog_lock(name);
	cs_catalog_check_latest_version(name);
	cs_sources_init(&src, behaviours, items, users);
	ds = cs_dataset_load(&src, &opts);

	initStringInfo(&used);
	cs_options_to_json(&opts, &used, CS_OPTIONS_TRAIN);
	cs_train(ds, &ds->hist, &opts, used.data, false, &res);

	has_active = cs_catalog_active(name, &active);
	/* compare at the precision the active version's metric was stored with */
	if (!isnan(res.validation_metric))
		res.validation_metric = strtod(psprintf("%.6f", res.validation_metric), NULL);
	if (opts.promote_if_better && has_active && !isnan(active.validation_metric) &&
		(isnan(res.validation_metric) || res.validation_metric < active.validation_metric))
	{
		activate = false;
		if (isnan(res.validation_metric))
			why_inactive = psprintf("it has no validation recall@20 (no validation users) to compare with %.4f of the active version %d",
									active.validation_metric, active.version);
		else
			why_inactive = psprintf("validation recall@20 %.4f is worse than %.4f of the active version %d",
									res.validation_metric, active.validation_metric, active.version);
		ereport(NOTICE,
				(errmsg("the new version of model \"%s\" is stored but not activated: %s",
						name, why_inactive)));
	}

	initStringInfo(&metrics);
	appendStringInfoChar(&metrics, '{');
	cs_dataset_summary(ds, &metrics);
	appendStringInfo(&metrics, ", %s}", res.summary.data);

	version = cs_catalog_store(name, res.model, spec_json(&src, given), metrics.data,
							   res.seconds, activate);
	pruned = cs_catalog_prune(name, opts.keep_versions);

	initStringInfo(&summary);
	appendStringInfoString(&summary, "{\"model\": ");
	escape_json(&summary, name);
	appendStringInfo(&summary, ", \"version\": %d, \"active\": %s", version,
					 activate ? "true" : "false");
	if (why_inactive)
	{
		appendStringInfoString(&summary, ", \"not_activated_because\": ");
		escape_json(&summary, why_inactive);
	}
	appendStringInfo(&summary, ", \"versions_pruned\": " INT64_FORMAT
					 ", \"model_bytes\": %u, \"seconds\": %.3f, ",
					 pruned, VARSIZE(res.model), res.seconds);
	cs_dataset_summary(ds, &summary);
	appendStringInfo(&summary, ", %s, \"options\": %s}", res.summary.data, used.data);

	MemoryContextSwitchTo(callercxt);
	result = DirectFunctionCall1(jsonb_in, CStringGetDatum(summary.data));
	SPI_finish();
	MemoryContextDelete(traincxt);
	return result;
}

static Oid
arg_relation(FunctionCallInfo fcinfo, int n)
{
	return PG_ARGISNULL(n) ? InvalidOid : PG_GETARG_OID(n);
}

/* The arguments of train(), for the recorded run (runs.c). */
typedef struct TrainArgs
{
	const char *name;
	Oid			behaviours;
	Oid			items;
	Oid			users;
	Jsonb	   *given;
} TrainArgs;

static Datum
train_run(void *arg)
{
	TrainArgs  *a = (TrainArgs *) arg;

	return train_and_store(a->name, a->behaviours, a->items, a->users, a->given);
}

PG_FUNCTION_INFO_V1(coldstart_train);
Datum
coldstart_train(PG_FUNCTION_ARGS)
{
	TrainArgs	a;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("model name must not be NULL")));
	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("behaviours relation must not be NULL"),
				 errhint("Pass the table of behaviours, e.g. 'shop.behaviours'.")));
	a.name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	cs_check_trainable_name(a.name);
	a.behaviours = PG_GETARG_OID(1);
	a.items = arg_relation(fcinfo, 2);
	a.users = arg_relation(fcinfo, 3);
	a.given = PG_ARGISNULL(4) ? NULL : PG_GETARG_JSONB_P(4);
	PG_RETURN_DATUM(cs_run_recorded(a.name, "train", train_run, &a));
}

/* A relation named in a stored spec, which may have been dropped since. */
static Oid
spec_relation(Jsonb *spec, const char *key, const char *model, bool required)
{
	JsonbValue *v = getKeyJsonValueFromContainer(&spec->root, key, strlen(key), NULL);
	char	   *relname;
	Oid			relid;

	if (v == NULL || v->type == jbvNull)
	{
		if (required)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("model \"%s\" has no \"%s\" relation in its spec", model, key)));
		return InvalidOid;
	}
	if (v->type != jbvString)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("model \"%s\" has an invalid \"%s\" entry in its spec", model, key)));
	relname = pnstrdup(v->val.string.val, v->val.string.len);
	{
		List	   *names;

		if (!SplitIdentifierString(pstrdup(relname), '.', &names) || names == NIL ||
			list_length(names) > 3)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("model \"%s\" has an invalid \"%s\" entry in its spec", model, key),
					 errdetail("\"%s\" is not a relation name.", relname),
					 errhint("Train the model again with coldstart.train().")));
	}
	relid = RangeVarGetRelid(makeRangeVarFromNameList(stringToQualifiedNameList(relname)),
							 NoLock, true);
	if (!OidIsValid(relid))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation %s used by model \"%s\" does not exist", relname, model),
				 errhint("Train the model again with coldstart.train() naming its current relations.")));
	return relid;
}

/* The pg_cron job schedule_retrain() makes for model name (its SQL says the same) */
static char *
retrain_job_name(const char *name)
{
	return psprintf("coldstart-retrain-%s", name);
}

/* retrain(): read the stored spec and train with it (a recorded run, runs.c). */
static Datum
retrain_run(void *arg)
{
	const char *name = (const char *) arg;
	Jsonb	   *spec = NULL;
	JsonbValue *opt;
	Jsonb	   *given = NULL;
	Oid			b,
				i,
				u;
	Oid			types[1] = {TEXTOID};
	Datum		args[1];
	bool		isnull;
	MemoryContext callercxt = CurrentMemoryContext;

	/* the spec of the active version, else of the newest */
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	args[0] = CStringGetTextDatum(name);
	if (SPI_execute_with_args("SELECT spec FROM coldstart.models WHERE name = $1 "
							  "ORDER BY active DESC, version DESC LIMIT 1",
							  1, types, args, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read the spec of model \"%s\"", name);
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("model \"%s\" does not exist", name),
				 errhint("Train it first with coldstart.train('%s', ...). "
						 "If a pg_cron job runs this retrain() for a dropped model, remove it in pg_cron's database with cron.unschedule(%s).",
						 name, quote_literal_cstr(retrain_job_name(name)))));
	{
		MemoryContext spicxt = MemoryContextSwitchTo(callercxt);

		spec = DatumGetJsonbPCopy(SPI_getbinval(SPI_tuptable->vals[0],
												SPI_tuptable->tupdesc, 1, &isnull));
		MemoryContextSwitchTo(spicxt);
	}
	SPI_finish();

	b = spec_relation(spec, "behaviours", name, true);
	i = spec_relation(spec, "items", name, false);
	u = spec_relation(spec, "users", name, false);
	opt = getKeyJsonValueFromContainer(&spec->root, "options", 7, NULL);
	if (opt != NULL && opt->type != jbvNull &&
		!(opt->type == jbvBinary && JsonContainerIsObject(opt->val.binary.data)))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("model \"%s\" has an invalid \"options\" entry in its spec", name),
				 errdetail("It must be an object of train() options."),
				 errhint("Train the model again with coldstart.train().")));
	if (opt != NULL && opt->type == jbvBinary)
		given = JsonbValueToJsonb(opt);
	return train_and_store(name, b, i, u, given);
}

/* The model name of argument 0: not NULL, checked by cs_check_model_name(). */
static char *
model_name_arg(FunctionCallInfo fcinfo)
{
	char	   *name;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("model name must not be NULL")));
	name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	cs_check_model_name(name);
	return name;
}

PG_FUNCTION_INFO_V1(coldstart_retrain);
Datum
coldstart_retrain(PG_FUNCTION_ARGS)
{
	char	   *name = model_name_arg(fcinfo);

	PG_RETURN_DATUM(cs_run_recorded(name, "retrain", retrain_run, name));
}

typedef struct ActivateArgs
{
	const char *name;
	int32		version;
} ActivateArgs;

/* error context of the refresh that activate() runs */
static void
activate_refresh_context(void *arg)
{
	const ActivateArgs *a = arg;

	/* the suggestion is for errors only, not for the refresh's NOTICEs and WARNINGs */
	int			category = ERRCODE_TO_CATEGORY(geterrcode());

	if (category == ERRCODE_SUCCESSFUL_COMPLETION || category == ERRCODE_WARNING)
		errcontext("refreshing the items of version %d of model \"%s\"", a->version, a->name);
	else
		errcontext("refreshing the items of version %d of model \"%s\" "
				   "(coldstart.activate(%s, %d, refresh => false) activates it without a refresh)",
				   a->version, a->name, quote_literal_cstr(a->name), a->version);
}

/*
 * Lock the row of a version of name (lock: "FOR UPDATE" or "FOR NO KEY
 * UPDATE") and read columns of it into SPI_tuptable; raise "does not exist"
 * or "has no version" when there is no such row.
 */
static void
lock_version_row(const char *name, int32 version, const char *columns, const char *lock)
{
	Oid			types[2] = {TEXTOID, INT4OID};
	Datum		args[2];

	args[0] = CStringGetTextDatum(name);
	args[1] = Int32GetDatum(version);
	if (SPI_execute_with_args(psprintf("SELECT %s FROM coldstart.models WHERE name = $1 AND version = $2 %s",
									   columns, lock),
							  2, types, args, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not look up model \"%s\"", name);
	if (SPI_processed == 0)
	{
		cs_catalog_check_name(name);
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("model \"%s\" has no version %d", name, version),
				 errhint("SELECT version FROM coldstart.models WHERE name = '%s' lists its versions.",
						 name)));
	}
}

PG_FUNCTION_INFO_V1(coldstart_activate);
Datum
coldstart_activate(PG_FUNCTION_ARGS)
{
	char	   *name;
	int32		version;
	bool		refresh;
	Oid			types[2] = {TEXTOID, INT4OID};
	Datum		args[2];
	bool		has_items = false;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("model name and version must not be NULL")));
	/* (a definition of the function from before the parameter has two) */
	if (PG_NARGS() > 2 && PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("refresh must not be NULL")));
	name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	version = PG_GETARG_INT32(1);
	refresh = PG_NARGS() > 2 ? PG_GETARG_BOOL(2) : true;
	cs_check_model_name(name);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	/*
	 * One change of the active version at a time: a training that stores an
	 * active version meanwhile waits for this one to commit (its update of
	 * the flags would otherwise miss the version made active here), and so
	 * does a refresh_items() of the name.
	 */
	cs_catalog_lock_change(name);
	args[0] = CStringGetTextDatum(name);
	args[1] = Int32GetDatum(version);
	/* the row locked: a version deleted meanwhile (pruning) is not activated as nothing */
	lock_version_row(name, version, "spec->>'items' IS NOT NULL", "FOR NO KEY UPDATE");
	{
		bool		isnull;
		Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);

		has_items = !isnull && DatumGetBool(d);
	}
	/* deactivate first: the unique index allows one active version per name */
	if (SPI_execute_with_args("UPDATE coldstart.models SET active = false "
							  "WHERE name = $1 AND active AND version <> $2",
							  2, types, args, NULL, false, 0) != SPI_OK_UPDATE ||
		SPI_execute_with_args("UPDATE coldstart.models SET active = true "
							  "WHERE name = $1 AND version = $2 AND NOT active",
							  2, types, args, NULL, false, 0) != SPI_OK_UPDATE)
		elog(ERROR, "could not activate version %d of model \"%s\"", version, name);

	/*
	 * The version's new and removed items are those of its own last refresh:
	 * after a rollback, the items added or deleted since would be missing.
	 * refresh_items() through SPI, so that it reads after the update above
	 * (a new command), in either isolation level.
	 */
	if (refresh && has_items)
	{
		ActivateArgs a = {name, version};
		ErrorContextCallback cb = {error_context_stack, activate_refresh_context, &a};
		bool		isnull;
		int32		added;

		error_context_stack = &cb;
		if (SPI_execute_with_args("SELECT coldstart.refresh_items($1)",
								  1, types, args, NULL, false, 1) != SPI_OK_SELECT)
			elog(ERROR, "could not refresh the items of model \"%s\"", name);
		error_context_stack = cb.previous;
		added = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
		if (added > 0)
			ereport(NOTICE,
					(errmsg_plural("version %d of model \"%s\" serves %d item added to the items table after it was trained",
								   "version %d of model \"%s\" serves %d items added to the items table after it was trained",
								   added, version, name, added)));
	}
	SPI_finish();
	PG_RETURN_VOID();
}

typedef struct UnscheduleJob
{
	const char *name;
	const char *job;
	const char *sql;
	Oid		   *types;
	Datum	   *args;
} UnscheduleJob;

/* unschedule_dropped()'s statement, in the subtransaction cs_try_in_subxact() makes */
static void
unschedule_job(void *arg)
{
	UnscheduleJob *w = arg;
	bool		isnull;

	if (SPI_execute_with_args(w->sql, 2, w->types, w->args, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read the jobs of pg_cron");
	for (uint64 r = 0; r < SPI_processed; r++)
	{
		HeapTuple	t = SPI_tuptable->vals[r];

		if (DatumGetBool(SPI_getbinval(t, SPI_tuptable->tupdesc, 1, &isnull)))
			ereport(NOTICE,
					(errmsg("removed pg_cron job \"%s\", which retrained model \"%s\"", w->job, w->name)));
		else
			ereport(NOTICE,
					(errmsg("pg_cron job \"%s\" of role %s, which retrained model \"%s\", is left",
							w->job, SPI_getvalue(t, SPI_tuptable->tupdesc, 2), w->name),
					 errhint("Its owner removes it with cron.unschedule(%s), a superuser with cron.unschedule(jobid).",
							 quote_literal_cstr(w->job))));
	}
}

/*
 * The model is gone: its pg_cron job, made by schedule_retrain() in this
 * database, would only fail from now on.  It goes in the same transaction,
 * so a drop rolled back keeps it.  pg_cron is optional and looked up only
 * now, and only the real one: the job table and cron.unschedule(name) must
 * belong to extension pg_cron (a schema named cron that somebody else made
 * is left alone, its functions never called).  The job is the one
 * schedule_retrain() makes: its name (as pg_cron stores it, cut to a name),
 * this database, the retrain() command of this model, and the caller's, as
 * cron.unschedule() removes only the caller's jobs; such a job of another
 * role is left, with a NOTICE.  A job scheduled from another database is
 * out of reach (retrain()'s error then hints how to remove it).
 */
static void
unschedule_dropped(const char *name)
{
	Oid			types[2] = {TEXTOID, TEXTOID};
	Datum		args[2];
	char	   *job = retrain_job_name(name);
	char	   *command = psprintf("SELECT coldstart.retrain(%s)", quote_literal_cstr(name));
	char	   *schema;
	bool		isnull;
	StringInfoData sql;
	UnscheduleJob w;
	ErrorData  *edata;

	/*
	 * Schema cron, when its job table and unschedule(name) are pg_cron's
	 * (which makes the schema, but is installed in pg_catalog) and the
	 * caller may use them.  (A CASE, for the order: each test needs
	 * the one before it.)
	 */
	if (SPI_execute("SELECT pg_catalog.quote_ident(n.nspname), "
					"CASE WHEN NOT pg_catalog.has_schema_privilege(n.oid, 'USAGE') THEN false "
					"ELSE pg_catalog.has_table_privilege(c.oid, 'SELECT') "
					"AND pg_catalog.has_function_privilege(p.oid, 'EXECUTE') END "
					"FROM pg_catalog.pg_extension e "
					"JOIN pg_catalog.pg_namespace n ON n.nspname = 'cron' "
					"JOIN pg_catalog.pg_class c ON c.relnamespace = n.oid AND c.relname = 'job' "
					"JOIN pg_catalog.pg_proc p ON p.pronamespace = n.oid AND p.proname = 'unschedule' "
					"AND p.proargtypes = '19'::pg_catalog.oidvector "	/* (name) */
					"WHERE e.extname = 'pg_cron' "
					"AND EXISTS (SELECT FROM pg_catalog.pg_depend d WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass "
					"AND d.objid = c.oid AND d.refobjid = e.oid AND d.deptype = 'e') "
					"AND EXISTS (SELECT FROM pg_catalog.pg_depend d WHERE d.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass "
					"AND d.objid = p.oid AND d.refobjid = e.oid AND d.deptype = 'e')",
					true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not look for pg_cron");
	if (SPI_processed == 0 ||
		!DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull)))
		return;
	schema = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	args[0] = CStringGetTextDatum(job);
	args[1] = CStringGetTextDatum(command);
	initStringInfo(&sql);
	appendStringInfo(&sql,
					 "SELECT CASE WHEN j.username = CURRENT_USER THEN %s.unschedule(j.jobname) ELSE false END, "
					 "j.username FROM %s.job j WHERE j.jobname = $1::pg_catalog.name AND j.command = $2 "
					 "AND j.database = pg_catalog.current_database()",
					 schema, schema);

	/*
	 * In a subtransaction: the model is dropped even if pg_cron fails (a
	 * lock it waits for, pg_cron installed but not loaded), with a WARNING.
	 */
	w.name = name;
	w.job = job;
	w.sql = sql.data;
	w.types = types;
	w.args = args;
	if ((edata = cs_try_in_subxact(unschedule_job, &w)) != NULL)
		ereport(WARNING,
				(errmsg("could not remove pg_cron job \"%s\", which retrained model \"%s\": %s",
						job, name, edata->message),
				 errhint("Remove it with cron.unschedule(%s).", quote_literal_cstr(job))));
	if (edata != NULL)
		FreeErrorData(edata);
}

/*
 * drop_model(name, version DEFAULT NULL): delete one version (not the active
 * one while others remain), or with version NULL every version, under the
 * model's locks: the training lock for every version (a training under way
 * would store its version after the drop), then the change lock, before any
 * row, as activate(), refresh_items() and the store take them.  Their
 * item_extras go with them (a foreign key that cascades).  The run history
 * in coldstart.training_runs stays.  When no version is left, the model's
 * pg_cron job goes too (unschedule_dropped()).
 */
PG_FUNCTION_INFO_V1(coldstart_drop_model);
Datum
coldstart_drop_model(PG_FUNCTION_ARGS)
{
	char	   *name;
	bool		all = PG_ARGISNULL(1);
	int32		version = all ? 0 : PG_GETARG_INT32(1);
	Oid			types[2] = {TEXTOID, INT4OID};
	Datum		args[2];
	int64		dropped;
	int64		versions = 0;	/* of the model, before the drop of one */

	name = model_name_arg(fcinfo);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (all)
		cs_catalog_lock(name);
	cs_catalog_lock_change(name);
	args[0] = CStringGetTextDatum(name);
	args[1] = Int32GetDatum(version);
	if (!all)
	{
		bool		isnull;

		lock_version_row(name, version,
						 "active, (SELECT count(*) FROM coldstart.models o WHERE o.name = $1)", "FOR UPDATE");
		versions = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
		if (DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull)) &&
			versions > 1)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_IN_USE),
					 errmsg("version %d of model \"%s\" is the active one", version, name),
					 errdetail("Serving uses it; dropping it would leave the model with no active version."),
					 errhint("Activate another version first with coldstart.activate(), or drop every version with coldstart.drop_model(%s).",
							 quote_literal_cstr(name))));
	}
	if (SPI_execute_with_args(all ? "DELETE FROM coldstart.models WHERE name = $1"
							  : "DELETE FROM coldstart.models WHERE name = $1 AND version = $2",
							  all ? 1 : 2, types, args, NULL, false, 0) != SPI_OK_DELETE)
		elog(ERROR, "could not delete from coldstart.models");
	dropped = (int64) SPI_processed;
	if (dropped == 0)
		cs_catalog_check_name(name);
	else if (all || dropped == versions)
		unschedule_dropped(name);	/* no version is left */
	SPI_finish();
	PG_RETURN_INT32((int32) dropped);
}
