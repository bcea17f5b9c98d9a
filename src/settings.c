/*
 * settings.c
 *	  Module load and the coldstart.* settings.
 */
#include "postgres.h"

#include <limits.h>

#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/guc.h"

#include "coldstart.h"

PG_MODULE_MAGIC;

char	   *cs_default_model = NULL;
int			cs_history_length = 0;
int			cs_seen_limit = 1000;
int			cs_blas_threads = 1;
int			cs_train_memory_kb = 1024 * 1024;
int			cs_max_items = 2000000;

void		_PG_init(void);

void
_PG_init(void)
{
	DefineCustomStringVariable("coldstart.default_model",
							   "Model used when a function is called with model => NULL.",
							   NULL,
							   &cs_default_model,
							   NULL,
							   PGC_USERSET, 0,
							   NULL, NULL, NULL);

	DefineCustomIntVariable("coldstart.history_length",
							"Number of a user's most recent behaviours read when recommending; 0 uses the model's own.",
							NULL,
							&cs_history_length,
							0, 0, 10000,
							PGC_USERSET, 0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("coldstart.seen_limit",
							"Number of a user's most recent behaviours whose items exclude_seen leaves out.",
							"The items of these behaviours, of every kind, are not recommended again.",
							&cs_seen_limit,
							1000, 1, 1000000,
							PGC_USERSET, 0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("coldstart.blas_threads",
							"Number of OpenBLAS threads a backend may use.",
							"One thread per backend is the default: a second one rarely helps and hurts when other backends are busy.",
							&cs_blas_threads,
							1, 1, 64,
							PGC_USERSET, 0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("coldstart.train_memory",
							"Memory budget of one training run.",
							"Training stops before it starts when its data and model need more than this.",
							&cs_train_memory_kb,
							1024 * 1024, 1024, INT_MAX,
							PGC_USERSET, GUC_UNIT_KB,
							NULL, NULL, NULL);

	DefineCustomIntVariable("coldstart.max_items",
							"Largest catalogue a model may hold.",
							NULL,
							&cs_max_items,
							2000000, 1, 20000000,
							PGC_SUSET, 0,
							NULL, NULL, NULL);

	MarkGUCPrefixReserved("coldstart");
}

const char *
cs_model_name_or_default(text *arg)
{
	if (arg != NULL)
		return text_to_cstring(arg);
	if (cs_default_model == NULL || cs_default_model[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("no model given and coldstart.default_model is not set"),
				 errhint("Pass a model name, or SET coldstart.default_model = 'name'.")));
	return cs_default_model;
}
