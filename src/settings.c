/*
 * settings.c
 *	  Module load, the coldstart.* settings, and the planner support that
 *	  makes the planner load the module.
 *
 * The serving functions have a SET search_path clause, and PostgreSQL loads
 * the library of such a function only when it is first called, not when the
 * statement starts.  A statement with a parallel plan runs in parallel mode,
 * where a setting cannot change: a first load there would drop the values
 * that a SET, ALTER ROLE/DATABASE or postgresql.conf gave the coldstart.*
 * settings before the library was loaded (PostgreSQL applies them when the
 * module defines them).  The planner calls rows_support(), which has no SET
 * clause, for every statement that calls those functions, so the library is
 * loaded while planning, outside parallel mode.  Should a load still happen
 * in parallel mode with such values waiting (a statement planned there: one
 * in a parallel-safe PL/pgSQL function that a parallel query calls),
 * _PG_init() refuses before defining anything rather than lose them; and a
 * load interrupted half-way finishes at the next one instead of redefining
 * settings.
 */
#include "postgres.h"

#include <limits.h>

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "nodes/nodeFuncs.h"
#include "nodes/supportnodes.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"

#include "coldstart.h"

PG_MODULE_MAGIC;

char	   *cs_default_model = NULL;
int			cs_history_length = 0;
int			cs_seen_limit = 1000;
int			cs_blas_threads = 1;
int			cs_train_memory_kb = 1024 * 1024;
int			cs_max_items = 2000000;

void		_PG_init(void);

/* The settings, in the order _PG_init() defines them */
static const char *const setting_names[] = {
	"coldstart.default_model", "coldstart.history_length", "coldstart.seen_limit",
	"coldstart.blas_threads", "coldstart.train_memory", "coldstart.max_items"
};
static int	settings_defined = 0;

static void
define_setting(int i)
{
	const char *name = setting_names[i];

	switch (i)
	{
		case 0:
			DefineCustomStringVariable(name,
									   "Model used when a function is called with model => NULL.",
									   NULL,
									   &cs_default_model,
									   NULL,
									   PGC_USERSET, 0,
									   NULL, NULL, NULL);
			break;
		case 1:
			DefineCustomIntVariable(name,
									"Number of a user's most recent behaviours read when recommending; 0 uses the model's own.",
									NULL,
									&cs_history_length,
									0, 0, 10000,
									PGC_USERSET, 0,
									NULL, NULL, NULL);
			break;
		case 2:
			DefineCustomIntVariable(name,
									"Number of a user's most recent behaviours whose items exclude_seen leaves out.",
									"The items of these behaviours, of every kind, are not recommended again.",
									&cs_seen_limit,
									1000, 1, 1000000,
									PGC_USERSET, 0,
									NULL, NULL, NULL);
			break;
		case 3:
			DefineCustomIntVariable(name,
									"Number of OpenBLAS threads a backend may use.",
									"One thread per backend is the default: a second one rarely helps and hurts when other backends are busy.",
									&cs_blas_threads,
									1, 1, 64,
									PGC_USERSET, 0,
									NULL, NULL, NULL);
			break;
		case 4:
			DefineCustomIntVariable(name,
									"Memory budget of one training run.",
									"Training stops before it starts when its data and model need more than this.",
									&cs_train_memory_kb,
									1024 * 1024, 1024, INT_MAX,
									PGC_USERSET, GUC_UNIT_KB,
									NULL, NULL, NULL);
			break;
		case 5:
			DefineCustomIntVariable(name,
									"Largest catalogue a model may hold.",
									NULL,
									&cs_max_items,
									2000000, 1, 20000000,
									PGC_SUSET, 0,
									NULL, NULL, NULL);
			break;
	}
}

void
_PG_init(void)
{
	/*
	 * A value given before the load waits in a placeholder setting, which
	 * GetConfigOption() shows; defining the setting applies it, which
	 * parallel mode forbids.
	 */
	if (IsInParallelMode())
		for (int i = settings_defined; i < lengthof(setting_names); i++)
			if (GetConfigOption(setting_names[i], true, false) != NULL)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_TRANSACTION_STATE),
						 errmsg("coldstart cannot be loaded during a parallel operation while %s is set",
								setting_names[i]),
						 errdetail("The library would lose the value of the setting."),
						 errhint("Load it before, outside parallel mode: run SELECT coldstart.model_info(NULL) first, or add coldstart to session_preload_libraries.")));

	/* settings_defined survives a load that failed half-way */
	while (settings_defined < lengthof(setting_names))
	{
		define_setting(settings_defined);
		settings_defined++;
	}
	MarkGUCPrefixReserved("coldstart");
}

/*
 * Planner support of the set-returning functions: their row count is the
 * size asked for, when it is a constant (the demo generators: items, users
 * or behaviours; the serving functions: k).
 */
PG_FUNCTION_INFO_V1(coldstart_rows_support);
Datum
coldstart_rows_support(PG_FUNCTION_ARGS)
{
	Node	   *rawreq = (Node *) PG_GETARG_POINTER(0);
	SupportRequestRows *req;
	FuncExpr   *expr;
	char	   *name;
	int			argno;
	Node	   *arg;

	if (!IsA(rawreq, SupportRequestRows))
		PG_RETURN_POINTER(NULL);
	req = (SupportRequestRows *) rawreq;
	if (!is_funcclause(req->node))
		PG_RETURN_POINTER(NULL);
	expr = (FuncExpr *) req->node;
	name = get_func_name(req->funcid);
	if (name == NULL)
		PG_RETURN_POINTER(NULL);
	/* explain(): a row per term; the declared ROWS 20 stands */
	if (strcmp(name, "explain") == 0 || strcmp(name, "explain_for_items") == 0)
		PG_RETURN_POINTER(NULL);
	if (strcmp(name, "demo_behaviours") == 0 || strcmp(name, "recommend_for_items") == 0)
		argno = 2;
	else if (strcmp(name, "recommend") == 0 || strcmp(name, "similar_items") == 0)
		argno = 1;
	else
		argno = 0;
	if (list_length(expr->args) <= argno)
		PG_RETURN_POINTER(NULL);
	arg = (Node *) list_nth(expr->args, argno);
	if (!IsA(arg, Const) || ((Const *) arg)->constisnull)
		PG_RETURN_POINTER(NULL);
	if (((Const *) arg)->consttype == INT8OID)
		req->rows = (double) DatumGetInt64(((Const *) arg)->constvalue);
	else if (((Const *) arg)->consttype == INT4OID)
		req->rows = (double) DatumGetInt32(((Const *) arg)->constvalue);
	else
		PG_RETURN_POINTER(NULL);
	req->rows = Max(req->rows, 1.0);
	PG_RETURN_POINTER(req);
}

const char *
cs_model_name_or_default(text *arg)
{
	if (arg != NULL)
	{
		char	   *name = text_to_cstring(arg);

		if (name[0] == '\0')
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("model name must not be empty")));
		return name;
	}
	if (cs_default_model == NULL || cs_default_model[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("no model given and coldstart.default_model is not set"),
				 errhint("Pass a model name, or SET coldstart.default_model = 'name'.")));
	return cs_default_model;
}
