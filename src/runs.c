/*
 * runs.c
 *	  Recording training runs in coldstart.training_runs.
 *
 * A failed or cancelled training aborts the caller's transaction and every row
 * it wrote.  The rows that must outlive that, 'running' at the start and
 * 'failed' at the end, are therefore written by a dynamic background worker
 * in a transaction of its own (the autonomous-transaction technique of
 * pg_background): the training backend puts what to write in a small dynamic
 * shared memory segment, starts the worker and waits for it to exit.  The
 * worker connects to the same database as the same authenticated user and
 * takes on the caller's current role, so it writes with the caller's
 * privileges and nothing more.
 *
 * The 'succeeded' update is made in the caller's transaction instead, so a run
 * is reported as succeeded exactly when its model version commits.
 *
 * The training body runs in an internal subtransaction: after an error, rolling
 * it back releases locks, buffers and SPI connections before the worker is
 * started, and the error is then re-thrown unchanged.
 *
 * A row stays 'running' only if its training never reached either end: the
 * backend died (pg_terminate_backend, a crash), or the transaction that
 * trained was rolled back after the training had returned.  Since the model's
 * training lock is held from before the 'running' row is written until the
 * end of that transaction, a 'running' row whose model nobody is training is
 * stale: every run start marks such rows 'failed' (finished stays NULL).
 *
 * Recording never breaks a training: when a row cannot be written (no
 * background worker slot, no privilege, the worker failed), a WARNING says
 * why and the training goes on.
 */
#include "postgres.h"

#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "port/atomics.h"
#include "postmaster/bgworker.h"
#include "storage/dsm.h"
#include "storage/ipc.h"
#include "tcop/tcopprot.h"
#include "utils/acl.h"
#include "utils/backend_status.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/numeric.h"
#include "utils/resowner.h"
#include "utils/snapmgr.h"
#include "utils/timeout.h"
#include "utils/timestamp.h"

#include "catalog.h"
#include "runs.h"

#define RUN_NAME_BYTES		256 /* model names have at most 200 (catalog.c) */
#define RUN_MESSAGE_BYTES	4096
#define RUN_TEXT_BYTES		2048

/* The worker gives up on a lock after this, and on a statement after that. */
#define RUN_WRITER_LOCK_TIMEOUT "5s"
#define RUN_WRITER_STATEMENT_TIMEOUT_MS 20000

#define RUN_ABANDONED_ERROR \
	"the run did not finish: its session ended, or rolled back the transaction that trained, before the new version was committed"

typedef enum RunOp
{
	RUN_OP_START,				/* insert a 'running' row, mark stale ones */
	RUN_OP_FAIL					/* mark the run 'failed', inserting it if needed */
} RunOp;

/* What the worker writes, in dynamic shared memory. */
typedef struct RunShared
{
	/* filled in by the training backend */
	RunOp		op;
	Oid			database_id;
	Oid			authenticated_user_id;
	Oid			current_user_id;
	int			sec_context;
	int			pid;
	TimestampTz backend_start;
	TimestampTz started;
	TimestampTz finished;
	int64		run_id;			/* RUN_OP_FAIL: the 'running' row, or 0 */
	char		name[RUN_NAME_BYTES];
	char		kind[16];
	char		run_by[NAMEDATALEN];
	char		application_name[NAMEDATALEN];
	char		sqlstate[6];
	char		message[RUN_MESSAGE_BYTES];
	char		detail[RUN_TEXT_BYTES];
	char		hint[RUN_TEXT_BYTES];

	/* filled in by the worker */
	bool		done;
	int64		new_run_id;
	char		worker_error[RUN_TEXT_BYTES];
} RunShared;

/* One run, as the training backend knows it. */
typedef struct RunState
{
	bool		record;			/* false: not recorded, a WARNING said why */
	char	   *name;
	const char *kind;
	TimestampTz started;
	int64		run_id;			/* its 'running' row, 0 if none was written */
} RunState;

/* Copy s into a buffer of size bytes, cut at a character boundary. */
static void
copy_clipped(char *dst, const char *s, int size)
{
	int			len;

	if (s == NULL)
	{
		dst[0] = '\0';
		return;
	}
	len = pg_mbcliplen(s, strlen(s), size - 1);
	memcpy(dst, s, len);
	dst[len] = '\0';
}

static void
shared_init(RunShared *req, const RunState *run, RunOp op)
{
	memset(req, 0, sizeof(RunShared));
	req->op = op;
	req->database_id = MyDatabaseId;
	req->authenticated_user_id = GetAuthenticatedUserId();
	GetUserIdAndSecContext(&req->current_user_id, &req->sec_context);
	req->pid = MyProcPid;
	req->backend_start = MyStartTimestamp;
	req->started = run->started;
	req->run_id = run->run_id;
	copy_clipped(req->name, run->name, sizeof(req->name));
	copy_clipped(req->kind, run->kind, sizeof(req->kind));
	copy_clipped(req->run_by, GetUserNameFromId(GetUserId(), false), sizeof(req->run_by));
	copy_clipped(req->application_name, application_name, sizeof(req->application_name));
}

/*
 * Have a background worker carry out req and wait for it.  Returns true if it
 * did; otherwise a WARNING, starting with what, says why.
 */
static bool
run_in_worker(const RunShared *req, const char *what, int64 *new_run_id)
{
	dsm_segment *seg;
	RunShared  *shared;
	BackgroundWorker worker;
	BackgroundWorkerHandle *handle;
	BgwHandleStatus status;
	bool		done;

	seg = dsm_create(sizeof(RunShared), DSM_CREATE_NULL_IF_MAXSEGMENTS);
	if (seg == NULL)
	{
		ereport(WARNING,
				(errmsg("%s: no dynamic shared memory segment is free", what)));
		return false;
	}
	shared = dsm_segment_address(seg);
	memcpy(shared, req, sizeof(RunShared));

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = BGW_NEVER_RESTART;
	strlcpy(worker.bgw_library_name, "coldstart", BGW_MAXLEN);
	strlcpy(worker.bgw_function_name, "cs_run_writer_main", BGW_MAXLEN);
	snprintf(worker.bgw_name, BGW_MAXLEN, "coldstart run writer for PID %d", MyProcPid);
	strlcpy(worker.bgw_type, "coldstart run writer", BGW_MAXLEN);
	worker.bgw_main_arg = UInt32GetDatum(dsm_segment_handle(seg));
	worker.bgw_notify_pid = MyProcPid;

	if (!RegisterDynamicBackgroundWorker(&worker, &handle))
	{
		dsm_detach(seg);
		ereport(WARNING,
				(errmsg("%s: no background worker slot is free", what),
				 errhint("Raise max_worker_processes (now %d): coldstart records each training run through a short-lived background worker.",
						 max_worker_processes)));
		return false;
	}

	/*
	 * The worker is quick and bounded by its own timeouts.  A cancel that
	 * arrives meanwhile waits for it, so that the row is not left half known;
	 * pg_terminate_backend still ends the wait.
	 */
	HOLD_CANCEL_INTERRUPTS();
	status = WaitForBackgroundWorkerShutdown(handle);
	RESUME_CANCEL_INTERRUPTS();
	pfree(handle);

	pg_read_barrier();
	done = shared->done;
	if (done)
	{
		if (new_run_id)
			*new_run_id = shared->new_run_id;
	}
	else if (status == BGWH_POSTMASTER_DIED)
		ereport(WARNING,
				(errmsg("%s: the postmaster died", what)));
	else if (shared->worker_error[0] != '\0')
		ereport(WARNING,
				(errmsg("%s: %s", what, shared->worker_error),
				 errhint("The server log has the background worker's error.")));
	else
		ereport(WARNING,
				(errmsg("%s: the background worker stopped before writing it", what),
				 errhint("The server log says why.")));
	dsm_detach(seg);
	return done;
}

/* ---------------------------------------------------------------------
 * The training backend's side
 * ---------------------------------------------------------------------
 */

/* Training stores a version: refuse early, and clearly, where it cannot. */
static void
check_can_train(const char *name)
{
	Oid			nsp;
	Oid			models;
	AclMode		needed = ACL_SELECT | ACL_INSERT | ACL_UPDATE;

	if (RecoveryInProgress())
		ereport(ERROR,
				(errcode(ERRCODE_READ_ONLY_SQL_TRANSACTION),
				 errmsg("cannot train model \"%s\" on a hot standby", name),
				 errdetail("A standby serves the versions it replays from its primary; it cannot store new ones."),
				 errhint("Train on the primary: the standby serves the new version once it has replayed it.")));
	if (XactReadOnly)
		ereport(ERROR,
				(errcode(ERRCODE_READ_ONLY_SQL_TRANSACTION),
				 errmsg("cannot train model \"%s\" in a read-only transaction", name),
				 errhint("Training stores a new version in coldstart.models: run it in a read-write transaction.")));

	/* rather than after all the work, at the INSERT */
	nsp = get_namespace_oid("coldstart", true);
	models = OidIsValid(nsp) ? get_relname_relid("models", nsp) : InvalidOid;
	if (OidIsValid(models) &&
		pg_class_aclmask(models, GetUserId(), needed, ACLMASK_ALL) != needed)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to train model \"%s\"", name),
				 errdetail("Training needs SELECT, INSERT and UPDATE on coldstart.models (and DELETE to prune old versions)."),
				 errhint("GRANT SELECT, INSERT, UPDATE, DELETE ON coldstart.models, coldstart.item_extras TO %s;",
						 quote_identifier(GetUserNameFromId(GetUserId(), false)))));
}

/* Can this run be recorded at all?  A WARNING says why not. */
static bool
run_can_record(const char *name)
{
	Oid			nsp = get_namespace_oid("coldstart", true);
	Oid			relid = OidIsValid(nsp) ? get_relname_relid("training_runs", nsp) : InvalidOid;
	AclMode		needed = ACL_SELECT | ACL_INSERT | ACL_UPDATE;

	if (!OidIsValid(relid))
	{
		ereport(WARNING,
				(errmsg("training run of model \"%s\" is not recorded: table coldstart.training_runs does not exist",
						name),
				 errhint("Update the extension: ALTER EXTENSION coldstart UPDATE.")));
		return false;
	}
	if (pg_class_aclmask(relid, GetUserId(), needed, ACLMASK_ALL) != needed)
	{
		ereport(WARNING,
				(errmsg("training run of model \"%s\" is not recorded: permission denied for table coldstart.training_runs",
						name),
				 errhint("GRANT SELECT, INSERT, UPDATE ON coldstart.training_runs TO %s;",
						 quote_identifier(GetUserNameFromId(GetUserId(), false)))));
		return false;
	}
	return true;
}

static void
record_start(RunState *run)
{
	RunShared	req;
	char	   *what;

	shared_init(&req, run, RUN_OP_START);
	what = psprintf("the start of the training run of model \"%s\" is not recorded", run->name);
	if (!run_in_worker(&req, what, &run->run_id))
		run->run_id = 0;
	pfree(what);
}

static void
record_failure(RunState *run, ErrorData *edata)
{
	RunShared	req;
	char	   *what;

	shared_init(&req, run, RUN_OP_FAIL);
	req.finished = GetCurrentTimestamp();
	copy_clipped(req.sqlstate, unpack_sql_state(edata->sqlerrcode), sizeof(req.sqlstate));
	copy_clipped(req.message, edata->message ? edata->message : "unknown error", sizeof(req.message));
	copy_clipped(req.detail, edata->detail, sizeof(req.detail));
	copy_clipped(req.hint, edata->hint, sizeof(req.hint));
	what = psprintf("the failure of the training run of model \"%s\" is not recorded", run->name);
	(void) run_in_worker(&req, what, NULL);
	pfree(what);
}

static JsonbValue *
summary_value(Jsonb *summary, const char *key, enum jbvType type)
{
	JsonbValue *v = getKeyJsonValueFromContainer(&summary->root, key, strlen(key), NULL);

	return (v != NULL && v->type == type) ? v : NULL;
}

/*
 * Finish a run row: update the 'running' row run_id if this transaction can
 * see it, else insert the row whole.  The two statements share their
 * parameters ($1 is the run id; the insert may use more of them).
 */
static void
finish_run_row(int64 run_id, const char *update_sql, int n_update,
			   const char *insert_sql, int n_insert, Oid *types, Datum *args, char *nulls)
{
	uint64		updated = 0;

	if (run_id != 0)
	{
		if (SPI_execute_with_args(update_sql, n_update, types, args, nulls, false, 0) != SPI_OK_UPDATE)
			elog(ERROR, "could not update coldstart.training_runs");
		updated = SPI_processed;
	}
	if (updated == 0 &&
		SPI_execute_with_args(insert_sql, n_insert, types, args, nulls, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "could not insert into coldstart.training_runs");
}


/*
 * Run fn(arg) in a subtransaction of its own.  NULL when it succeeded; else
 * the subtransaction is rolled back, the error cleared, and a copy of it
 * returned (in the caller's memory context), for the caller to report or
 * throw again.
 */
ErrorData *
cs_try_in_subxact(void (*fn) (void *), void *arg)
{
	MemoryContext oldcxt = CurrentMemoryContext;
	ResourceOwner oldowner = CurrentResourceOwner;
	ErrorData  *volatile edata = NULL;

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(oldcxt);
	PG_TRY();
	{
		fn(arg);
		ReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(oldcxt);
		CurrentResourceOwner = oldowner;
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(oldcxt);
		edata = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(oldcxt);
		CurrentResourceOwner = oldowner;
	}
	PG_END_TRY();
	return edata;
}

typedef struct SuccessRow
{
	int64		run_id;
	Oid		   *types;
	Datum	   *args;
	char	   *nulls;
} SuccessRow;

/* record_success()'s statements, in the subtransaction cs_try_in_subxact() makes */
static void
write_success(void *arg)
{
	SuccessRow *w = arg;

	/*
	 * A cancel now would waste the training: it waits for these two
	 * statements.  (An error resets the holdoff count: resumed only here.)
	 */
	HOLD_CANCEL_INTERRUPTS();
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	/*
	 * No 'running' row, or one this transaction cannot see (it started
	 * before the row was written, as in REPEATABLE READ): insert it whole.
	 */
	finish_run_row(w->run_id,
				   "UPDATE coldstart.training_runs SET status = 'succeeded', "
				   "finished = $2, seconds = $3, rows_read = $4, version = $5, "
				   "activated = $6, not_activated_because = $7, metrics = $8 "
				   "WHERE run_id = $1", 8,
				   "INSERT INTO coldstart.training_runs (status, finished, seconds, "
				   "rows_read, version, activated, not_activated_because, metrics, "
				   "name, kind, started, pid, backend_start, run_by, application_name) "
				   "VALUES ('succeeded', $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, "
				   "$13, $14, $15)", 15,
				   w->types, w->args, w->nulls);
	SPI_finish();
	RESUME_CANCEL_INTERRUPTS();
}

/*
 * Mark the run succeeded, in the caller's transaction: it commits with the new
 * version.  Any error here becomes a WARNING; the training stands.
 */
static void
record_success(RunState *run, Datum summary_datum)
{
	SuccessRow	args_of_success;
	ErrorData  *edata;
	Jsonb	   *summary = DatumGetJsonbP(summary_datum);
	TimestampTz finished = GetCurrentTimestamp();
	JsonbValue *v;
	Oid			types[15] = {INT8OID, TIMESTAMPTZOID, FLOAT8OID, INT8OID, INT4OID, BOOLOID,
		TEXTOID, JSONBOID, TEXTOID, TEXTOID, TIMESTAMPTZOID, INT4OID, TIMESTAMPTZOID, NAMEOID,
	TEXTOID};
	Datum		args[15];
	char		nulls[15];

	memset(nulls, ' ', sizeof(nulls));
	args[0] = Int64GetDatum(run->run_id);
	args[1] = TimestampTzGetDatum(finished);
	args[2] = Float8GetDatum((double) (finished - run->started) / USECS_PER_SEC);
	if ((v = summary_value(summary, "rows_read", jbvNumeric)) != NULL)
		args[3] = DirectFunctionCall1(numeric_int8, NumericGetDatum(v->val.numeric));
	else
		nulls[3] = 'n';
	if ((v = summary_value(summary, "version", jbvNumeric)) != NULL)
		args[4] = DirectFunctionCall1(numeric_int4, NumericGetDatum(v->val.numeric));
	else
		nulls[4] = 'n';
	if ((v = summary_value(summary, "active", jbvBool)) != NULL)
		args[5] = BoolGetDatum(v->val.boolean);
	else
		nulls[5] = 'n';
	if ((v = summary_value(summary, "not_activated_because", jbvString)) != NULL)
		args[6] = PointerGetDatum(cstring_to_text_with_len(v->val.string.val, v->val.string.len));
	else
		nulls[6] = 'n';
	args[7] = PointerGetDatum(summary);
	args[8] = CStringGetTextDatum(run->name);
	args[9] = CStringGetTextDatum(run->kind);
	args[10] = TimestampTzGetDatum(run->started);
	args[11] = Int32GetDatum(MyProcPid);
	args[12] = TimestampTzGetDatum(MyStartTimestamp);
	args[13] = DirectFunctionCall1(namein, CStringGetDatum(GetUserNameFromId(GetUserId(), false)));
	if (application_name != NULL && application_name[0] != '\0')
		args[14] = CStringGetTextDatum(application_name);
	else
		nulls[14] = 'n';

	args_of_success.types = types;
	args_of_success.args = args;
	args_of_success.nulls = nulls;
	args_of_success.run_id = run->run_id;
	if ((edata = cs_try_in_subxact(write_success, &args_of_success)) != NULL)
		ereport(WARNING,
				(errmsg("the success of the training run of model \"%s\" is not recorded: %s",
						run->name, edata->message),
				 errdetail("The new version is stored all the same.")));
	if (edata != NULL)
		FreeErrorData(edata);
}

/* Names of the models this backend is training, innermost last (TopMemoryContext) */
static List *runs_here = NIL;

static void
refuse_nested_run(const char *name)
{
	ListCell   *lc;

	foreach(lc, runs_here)
		if (strcmp((const char *) lfirst(lc), name) == 0)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_IN_USE),
					 errmsg("model \"%s\" is already being trained by this session", name),
					 errdetail("A function or trigger that the training ran started another training of the same model."),
					 errhint("Train the model again once the first training has finished.")));
}

static void
runs_here_push(const char *name)
{
	MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);

	runs_here = lappend(runs_here, pstrdup(name));
	MemoryContextSwitchTo(old);
}

/* Back to the first depth runs: after this run, or after an error in it or an inner one */
static void
runs_here_pop(int depth)
{
	while (list_length(runs_here) > depth)
	{
		pfree(llast(runs_here));
		runs_here = list_delete_last(runs_here);
	}
}

typedef struct RunCall
{
	RunState   *run;
	const char *name;
	CsRunBody	body;
	void	   *arg;
	Datum		result;
} RunCall;

/* cs_run_recorded()'s work, in the subtransaction cs_try_in_subxact() makes */
static void
run_body(void *arg)
{
	RunCall    *c = arg;

	/*
	 * Take the training lock before the 'running' row exists: while a row
	 * says 'running', the lock of its model is held (see above).
	 */
	cs_catalog_lock(c->name);

	/*
	 * With a transaction snapshot, the caller could not see a row that a
	 * worker commits now; the run is then written once, at its end.
	 */
	if (c->run->record && !IsolationUsesXactSnapshot())
		record_start(c->run);

	runs_here_push(c->name);
	c->result = c->body(c->arg);

	/* (a trigger on training_runs that trains this model is refused too) */
	if (c->run->record)
		record_success(c->run, c->result);
}

Datum
cs_run_recorded(const char *name, const char *kind, CsRunBody body, void *arg)
{
	MemoryContext oldcxt = CurrentMemoryContext;
	RunState   *run;
	RunCall		call;
	ErrorData  *volatile edata = NULL;
	int			depth;

	cs_check_model_name(name);
	check_can_train(name);
	/* the training lock does not stop this session: a trigger, say, on the rows it writes */
	refuse_nested_run(name);
	depth = list_length(runs_here);

	/* palloc'd: record_failure() reads what run_body() changed (run_id) */
	run = palloc0(sizeof(RunState));
	run->name = pstrdup(name);
	run->kind = kind;
	run->started = GetCurrentTimestamp();
	run->record = run_can_record(name);

	call.run = run;
	call.name = name;
	call.body = body;
	call.arg = arg;
	/* popped whatever happens, even if the rollback itself fails */
	PG_TRY();
	{
		edata = cs_try_in_subxact(run_body, &call);
	}
	PG_CATCH();
	{
		runs_here_pop(depth);
		PG_RE_THROW();
	}
	PG_END_TRY();
	runs_here_pop(depth);
	if (edata == NULL)
		return call.result;

	if (run->record)
	{
		/* whatever happens while recording, the training's error goes on */
		PG_TRY();
		{
			record_failure(run, edata);
		}
		PG_CATCH();
		{
			ErrorData  *rdata;

			MemoryContextSwitchTo(oldcxt);
			rdata = CopyErrorData();
			FlushErrorState();
			ereport(WARNING,
					(errmsg("the failure of the training run of model \"%s\" is not recorded: %s",
							run->name, rdata->message)));
		}
		PG_END_TRY();
	}
	ReThrowError(edata);
}

/* ---------------------------------------------------------------------
 * The background worker's side
 * ---------------------------------------------------------------------
 */

/* Mark 'running' rows of models that nobody is training as failed. */
static void
mark_stale_runs(const RunShared *req, int64 new_run_id)
{
	Oid			types[3] = {INT8ARRAYOID, TEXTOID, TEXTOID};
	Datum		args[3];
	Datum	   *stale;
	int			n_stale = 0;
	uint64		n;

	if (SPI_execute("SELECT run_id, name FROM coldstart.training_runs WHERE status = 'running'",
					false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read coldstart.training_runs");
	n = SPI_processed;
	if (n == 0)
		return;
	stale = palloc(sizeof(Datum) * n);
	for (uint64 r = 0; r < n; r++)
	{
		HeapTuple	tup = SPI_tuptable->vals[r];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		int64		run_id = DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull));
		char	   *name = SPI_getvalue(tup, desc, 2);

		if (run_id == new_run_id || name == NULL)
			continue;

		/*
		 * The requester holds the lock of its own model, so any other run of
		 * that model is stale; a run of another model is stale when nobody
		 * holds that model's lock.
		 */
		if (strcmp(name, req->name) == 0 || !cs_catalog_training_in_progress(name))
			stale[n_stale++] = Int64GetDatum(run_id);
	}
	if (n_stale == 0)
		return;

	args[0] = PointerGetDatum(construct_array(stale, n_stale, INT8OID, sizeof(int64),
											  FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	args[1] = CStringGetTextDatum(RUN_ABANDONED_ERROR);
	args[2] = CStringGetTextDatum(psprintf("Noticed when run " INT64_FORMAT " of model \"%s\" started.",
										   new_run_id, req->name));
	/* SKIP LOCKED: a row the requester's own transaction has updated stays as it is */
	if (SPI_execute_with_args("UPDATE coldstart.training_runs SET status = 'failed', "
							  "error = $2, error_detail = $3 "
							  "WHERE run_id IN (SELECT run_id FROM coldstart.training_runs "
							  "WHERE run_id = ANY ($1) AND status = 'running' "
							  "FOR UPDATE SKIP LOCKED)",
							  3, types, args, NULL, false, 0) != SPI_OK_UPDATE)
		elog(ERROR, "could not mark stale runs in coldstart.training_runs");
	if (SPI_processed > 0)
		ereport(LOG,
				(errmsg("coldstart marked " UINT64_FORMAT " abandoned training run(s) as failed",
						SPI_processed)));
}

static int64
write_start(const RunShared *req)
{
	Oid			types[7] = {TEXTOID, TEXTOID, TIMESTAMPTZOID, INT4OID, TIMESTAMPTZOID, NAMEOID, TEXTOID};
	Datum		args[7];
	char		nulls[7] = "       ";
	bool		isnull;
	int64		run_id;

	args[0] = CStringGetTextDatum(req->name);
	args[1] = CStringGetTextDatum(req->kind);
	args[2] = TimestampTzGetDatum(req->started);
	args[3] = Int32GetDatum(req->pid);
	args[4] = TimestampTzGetDatum(req->backend_start);
	args[5] = DirectFunctionCall1(namein, CStringGetDatum(req->run_by));
	if (req->application_name[0] != '\0')
		args[6] = CStringGetTextDatum(req->application_name);
	else
		nulls[6] = 'n';
	if (SPI_execute_with_args("INSERT INTO coldstart.training_runs "
							  "(status, name, kind, started, pid, backend_start, run_by, application_name) "
							  "VALUES ('running', $1, $2, $3, $4, $5, $6, $7) RETURNING run_id",
							  7, types, args, nulls, false, 0) != SPI_OK_INSERT_RETURNING ||
		SPI_processed != 1)
		elog(ERROR, "could not insert into coldstart.training_runs");
	run_id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	mark_stale_runs(req, run_id);
	return run_id;
}

static void
write_failure(const RunShared *req)
{
	Oid			types[14] = {INT8OID, TIMESTAMPTZOID, FLOAT8OID, TEXTOID, TEXTOID, TEXTOID, TEXTOID,
		TEXTOID, TEXTOID, TIMESTAMPTZOID, INT4OID, TIMESTAMPTZOID, NAMEOID, TEXTOID};
	Datum		args[14];
	char		nulls[14];

	memset(nulls, ' ', sizeof(nulls));
	args[0] = Int64GetDatum(req->run_id);
	args[1] = TimestampTzGetDatum(req->finished);
	args[2] = Float8GetDatum((double) (req->finished - req->started) / USECS_PER_SEC);
	args[3] = CStringGetTextDatum(req->message);
	args[4] = CStringGetTextDatum(req->detail);
	nulls[4] = req->detail[0] ? ' ' : 'n';
	args[5] = CStringGetTextDatum(req->hint);
	nulls[5] = req->hint[0] ? ' ' : 'n';
	args[6] = CStringGetTextDatum(req->sqlstate);
	args[7] = CStringGetTextDatum(req->name);
	args[8] = CStringGetTextDatum(req->kind);
	args[9] = TimestampTzGetDatum(req->started);
	args[10] = Int32GetDatum(req->pid);
	args[11] = TimestampTzGetDatum(req->backend_start);
	args[12] = DirectFunctionCall1(namein, CStringGetDatum(req->run_by));
	args[13] = CStringGetTextDatum(req->application_name);
	nulls[13] = req->application_name[0] ? ' ' : 'n';

	finish_run_row(req->run_id,
				   "UPDATE coldstart.training_runs SET status = 'failed', "
				   "finished = $2, seconds = $3, error = $4, error_detail = $5, "
				   "error_hint = $6, sqlstate = $7 WHERE run_id = $1", 7,
				   "INSERT INTO coldstart.training_runs (status, finished, seconds, "
				   "error, error_detail, error_hint, sqlstate, name, kind, started, pid, "
				   "backend_start, run_by, application_name) "
				   "VALUES ('failed', $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)", 14,
				   types, args, nulls);
}

void
cs_run_writer_main(Datum main_arg)
{
	dsm_segment *seg;
	RunShared  *req;

	BackgroundWorkerUnblockSignals();

	seg = dsm_attach(DatumGetUInt32(main_arg));
	if (seg == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("could not map the shared memory segment of a coldstart training run"),
				 errdetail("The training backend stopped waiting for this worker.")));
	req = dsm_segment_address(seg);

	/* as the caller: its login to connect, then its current role */
	BackgroundWorkerInitializeConnectionByOid(req->database_id, req->authenticated_user_id, 0);
	SetConfigOption("search_path", "pg_catalog, pg_temp", PGC_USERSET, PGC_S_SESSION);
	SetConfigOption("lock_timeout", RUN_WRITER_LOCK_TIMEOUT, PGC_USERSET, PGC_S_SESSION);

	PG_TRY();
	{
		StartTransactionCommand();
		SetUserIdAndSecContext(req->current_user_id, req->sec_context);
		enable_timeout_after(STATEMENT_TIMEOUT, RUN_WRITER_STATEMENT_TIMEOUT_MS);
		pgstat_report_activity(STATE_RUNNING, req->op == RUN_OP_START ?
							   "recording the start of a coldstart training run" :
							   "recording the failure of a coldstart training run");
		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed");
		PushActiveSnapshot(GetTransactionSnapshot());
		if (req->op == RUN_OP_START)
			req->new_run_id = write_start(req);
		else
			write_failure(req);
		SPI_finish();
		PopActiveSnapshot();
		disable_timeout(STATEMENT_TIMEOUT, false);
		CommitTransactionCommand();
		pgstat_report_activity(STATE_IDLE, NULL);
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(TopMemoryContext);
		edata = CopyErrorData();
		copy_clipped(req->worker_error, edata->message, sizeof(req->worker_error));
		pg_write_barrier();
		PG_RE_THROW();
	}
	PG_END_TRY();

	pg_write_barrier();
	req->done = true;
	dsm_detach(seg);
	proc_exit(0);
}

PG_FUNCTION_INFO_V1(coldstart_training_in_progress);
Datum
coldstart_training_in_progress(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(cs_catalog_training_in_progress(text_to_cstring(PG_GETARG_TEXT_PP(0))));
}
