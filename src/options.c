/*
 * options.c
 *	  Parse and print the options jsonb of train() and evaluate().
 *
 * Options are checked strictly: an unknown key is an error that lists the
 * valid ones, and every value is checked for type and range, so that a typo
 * in a nightly job fails loudly instead of training with a default.
 */
#include "postgres.h"

#include <math.h>

#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/json.h"
#include "utils/numeric.h"
#include "utils/timestamp.h"

#include "model_format.h"
#include "options.h"

typedef enum OptType
{
	OPT_INT,
	OPT_INT64,
	OPT_FLOAT,
	OPT_BOOL,
	OPT_DURATION,				/* seconds, or an interval as text */
	OPT_SPECIAL					/* parsed by its own code */
} OptType;

typedef struct OptDesc
{
	const char *name;
	OptType		type;
	size_t		offset;
	double		min;
	double		max;
	bool		evaluate_only;
} OptDesc;

#define OFF(f) offsetof(CsOptions, f)

static const OptDesc opt_descs[] = {
	{"columns", OPT_SPECIAL, 0, 0, 0, false},
	{"item_id_column", OPT_SPECIAL, 0, 0, 0, false},
	{"user_id_column", OPT_SPECIAL, 0, 0, 0, false},
	{"item_features", OPT_SPECIAL, 0, 0, 0, false},
	{"user_features", OPT_SPECIAL, 0, 0, 0, false},
	{"actions", OPT_SPECIAL, 0, 0, 0, false},
	{"action_weights", OPT_SPECIAL, 0, 0, 0, false},
	{"target", OPT_SPECIAL, 0, 0, 0, false},
	{"target_balance", OPT_FLOAT, OFF(target_balance), 0, 1, false},
	{"dim", OPT_INT, OFF(dim), 1, CS_MAX_DIM, false},
	{"hidden", OPT_INT, OFF(hidden), 0, CS_MAX_HIDDEN, false},
	{"history_length", OPT_INT, OFF(history_length), 1, CS_MAX_HISTORY, false},
	{"history_prior", OPT_FLOAT, OFF(history_prior), 0, 1000000, false},
	{"half_life", OPT_DURATION, OFF(half_life), 1, 1e12, false},
	{"buckets", OPT_INT, OFF(buckets), 2, 1000, false},
	{"epochs", OPT_INT, OFF(epochs), 1, 1000, false},
	{"learning_rate", OPT_FLOAT, OFF(learning_rate), 1e-6, 10, false},
	{"l2", OPT_FLOAT, OFF(l2), 0, 10, false},
	{"id_l2", OPT_FLOAT, OFF(id_l2), 0, 10, false},
	{"attr_l2", OPT_FLOAT, OFF(attr_l2), 0, 10, false},
	{"dropout", OPT_FLOAT, OFF(dropout), 0, 0.9, false},
	{"ema", OPT_FLOAT, OFF(ema), 0, 0.9999, false},
	{"feature_scale", OPT_FLOAT, OFF(feature_scale), 0, 10, false},
	{"match_init", OPT_FLOAT, OFF(match_init), -100, 100, false},
	{"match_lr_scale", OPT_FLOAT, OFF(match_lr_scale), 0, 10000, false},
	{"bias_scale", OPT_SPECIAL, 0, 0, 0, false},
	{"batch_size", OPT_INT, OFF(batch_size), 1, 65536, false},
	{"seed", OPT_INT64, OFF(seed), 0, 0, false},	/* 0 to the int64 maximum */
	{"max_prefixes", OPT_INT, OFF(max_prefixes), 0, 100000000, false},
	{"min_item_count", OPT_INT, OFF(min_item_count), 0, 1000000, false},
	{"short_prefixes", OPT_INT, OFF(short_prefixes), 0, 100000000, false},
	{"full_softmax_items", OPT_INT, OFF(full_softmax_items), 1, 100000000, false},
	{"negatives", OPT_INT, OFF(negatives), 1, 65536, false},
	{"validation_fraction", OPT_FLOAT, OFF(validation_fraction), 0, 0.5, false},
	{"patience", OPT_INT, OFF(patience), 0, 1000, false},
	{"tolerance", OPT_FLOAT, OFF(tolerance), 0, 0.5, false},
	{"refit", OPT_SPECIAL, 0, 0, 0, false},
	{"keep_versions", OPT_INT, OFF(keep_versions), 0, 1000000, false},
	{"promote_if_better", OPT_BOOL, OFF(promote_if_better), 0, 0, false},
	{"test_fraction", OPT_FLOAT, OFF(test_fraction), 0.01, 0.9, true},
	{"min_items", OPT_INT, OFF(min_items), 2, 100000, true},
	{"revealed", OPT_SPECIAL, 0, 0, 0, true},
	{"methods", OPT_SPECIAL, 0, 0, 0, true},
	{"catalogue", OPT_SPECIAL, 0, 0, 0, true},
};

static const char *const evaluate_methods[] = {
	"coldstart", "coldstart_live", "popularity", "item_knn", "content"
};

const char *
cs_target_name(CsTarget t)
{
	switch (t)
	{
		case CS_TARGET_NEXT:
			return "next";
		case CS_TARGET_LATER:
			return "later";
		case CS_TARGET_ALL:
			return "all";
	}
	return "?";
}

static void
set_defaults(CsOptions *o)
{
	memset(o, 0, sizeof(*o));
	o->col_user = "user_id";
	o->col_item = "item_id";
	o->col_action = "action";
	o->col_ts = "ts";
	o->dim = 64;
	o->hidden = 0;
	o->history_length = 50;
	o->history_prior = 1;
	o->half_life = 3600.0;
	o->buckets = 8;
	o->epochs = 20;
	o->learning_rate = 0.002;
	o->l2 = 1e-3;
	o->id_l2 = 3e-5;
	o->attr_l2 = 1e-2;
	o->dropout = 0.4;
	o->ema = 0.95;
	o->feature_scale = 0.05;
	o->match_init = 1;
	o->match_lr_scale = 50;
	o->bias_scale = 1;
	o->batch_size = 256;
	o->target = CS_TARGET_ALL;
	o->target_balance = 0.25;
	o->seed = 42;
	o->max_prefixes = 10;
	o->short_prefixes = 10;
	o->min_item_count = 0;
	o->full_softmax_items = 20000;
	o->negatives = 1024;
	o->validation_fraction = 0.1;
	o->patience = 4;
	o->tolerance = 0.02;
	o->refit = CS_REFIT_AUTO;
	o->keep_versions = 10;
	o->promote_if_better = false;
	o->test_fraction = 0.2;
	o->min_items = 10;
	o->revealed = list_make4_int(0, 1, 3, 5);
	o->methods = NIL;
	for (int i = 0; i < lengthof(evaluate_methods); i++)
		o->methods = lappend(o->methods, (char *) evaluate_methods[i]);
}

static char *
valid_keys(CsOptionsFor what)
{
	StringInfoData s;

	initStringInfo(&s);
	for (int i = 0; i < lengthof(opt_descs); i++)
	{
		if (opt_descs[i].evaluate_only && what != CS_OPTIONS_EVALUATE)
			continue;
		if (s.len > 0)
			appendStringInfoString(&s, ", ");
		appendStringInfoString(&s, opt_descs[i].name);
	}
	return s.data;
}

static const char *
jbv_type_name(JsonbValue *v)
{
	switch (v->type)
	{
		case jbvNull:
			return "null";
		case jbvString:
			return "a string";
		case jbvNumeric:
			return "a number";
		case jbvBool:
			return "a boolean";
		case jbvArray:
			return "an array";
		case jbvObject:
			return "an object";
		case jbvBinary:
			return JsonContainerIsArray(v->val.binary.data) ? "an array" : "an object";
		default:
			return "a value";
	}
}

static void bad_option(const char *name, const char *expected, JsonbValue *v) pg_attribute_noreturn();

static void
bad_option(const char *name, const char *expected, JsonbValue *v)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("option \"%s\" must be %s, not %s", name, expected,
					jbv_type_name(v))));
}

static int
numeric_cmp_datum(Datum a, Datum b)
{
	return DatumGetInt32(DirectFunctionCall2(numeric_cmp, a, b));
}

static double
numeric_value(JsonbValue *v)
{
	/* out of range of a double: +-Infinity or 0, which the range checks refuse */
	return DatumGetFloat8(DirectFunctionCall1(numeric_float8_no_overflow,
											  NumericGetDatum(v->val.numeric)));
}

static char *
string_value(const char *name, JsonbValue *v)
{
	if (v->type != jbvString)
		bad_option(name, "a string", v);
	if (v->val.string.len == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("option \"%s\" must not be empty", name)));
	return pnstrdup(v->val.string.val, v->val.string.len);
}

/* Index of a string option's value among its choices; an error lists them. */
static int
string_choice(const char *name, JsonbValue *v, const char *const *choices, int n)
{
	char	   *s = string_value(name, v);
	StringInfoData list;

	for (int i = 0; i < n; i++)
		if (strcmp(s, choices[i]) == 0)
			return i;
	initStringInfo(&list);
	for (int i = 0; i < n; i++)
		appendStringInfo(&list, "%s\"%s\"", i == 0 ? "" : i == n - 1 ? " or " : ", ", choices[i]);
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("option \"%s\" must be %s, not \"%s\"", name, list.data, s)));
}

static void
range_error(const OptDesc *d, double x)
{
	if (d->type == OPT_INT)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("option \"%s\" must be an integer between %.0f and %.0f, not %g",
						d->name, d->min, d->max, x)));
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("option \"%s\" must be between %g and %g, not %g",
					d->name, d->min, d->max, x)));
}

static double
duration_value(const char *name, JsonbValue *v)
{
	if (v->type == jbvNumeric)
		return numeric_value(v);
	if (v->type == jbvString)
	{
		/* interval_in's parsing, with an error that names the option */
		char	   *s = pnstrdup(v->val.string.val, v->val.string.len);
		char		workbuf[256];
		char	   *field[MAXDATEFIELDS];
		int			ftype[MAXDATEFIELDS];
		int			nf,
					dtype = 0,
					dterr;
		struct pg_itm_in itm;
		Interval	iv;

		memset(&itm, 0, sizeof(itm));
		dterr = ParseDateTime(s, workbuf, sizeof(workbuf), field, ftype, MAXDATEFIELDS, &nf);
		if (dterr == 0)
			dterr = DecodeInterval(field, ftype, nf, INTERVAL_FULL_RANGE, &dtype, &itm);
		if (dterr == DTERR_BAD_FORMAT)
			dterr = DecodeISO8601Interval(s, &dtype, &itm);
		if (dterr != 0 || dtype != DTK_DELTA || itmin2interval(&itm, &iv) != 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("option \"%s\" must be a number of seconds or an interval such as '7 days', not \"%s\"",
							name, s)));
		/* as extract(epoch FROM interval): a year is 365.25 days, a month 30 */
		return iv.time / 1e6 + iv.day * (double) SECS_PER_DAY +
			(iv.month / MONTHS_PER_YEAR) * (DAYS_PER_YEAR * SECS_PER_DAY) +
			(iv.month % MONTHS_PER_YEAR) * (double) (DAYS_PER_MONTH * SECS_PER_DAY);
	}
	bad_option(name, "a number of seconds or an interval such as '7 days'", v);
}

/* Iterate the key/value pairs of a nested object value. */
typedef void (*pair_fn) (const char *key, JsonbValue *val, void *arg);

static void
for_each_pair(const char *name, JsonbValue *obj, pair_fn fn, void *arg)
{
	JsonbIterator *it;
	JsonbValue	k,
				v;
	JsonbIteratorToken tok;

	if (obj->type != jbvBinary || !JsonContainerIsObject(obj->val.binary.data))
		bad_option(name, "an object", obj);
	it = JsonbIteratorInit(obj->val.binary.data);
	while ((tok = JsonbIteratorNext(&it, &k, true)) != WJB_DONE)
	{
		if (tok != WJB_KEY)
			continue;
		tok = JsonbIteratorNext(&it, &v, true);
		fn(pnstrdup(k.val.string.val, k.val.string.len), &v, arg);
	}
}

/* Iterate the elements of a nested array value. */
typedef void (*elem_fn) (JsonbValue *val, void *arg);

static void
for_each_elem(const char *name, JsonbValue *arr, elem_fn fn, void *arg)
{
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;

	if (arr->type != jbvBinary || !JsonContainerIsArray(arr->val.binary.data))
		bad_option(name, "an array", arr);
	it = JsonbIteratorInit(arr->val.binary.data);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
		if (tok == WJB_ELEM)
			fn(&v, arg);
}

static void
column_pair(const char *key, JsonbValue *val, void *arg)
{
	CsOptions  *o = arg;
	char	   *s = string_value(psprintf("columns.%s", key), val);

	if (strcmp(key, "user_id") == 0)
		o->col_user = s;
	else if (strcmp(key, "item_id") == 0)
		o->col_item = s;
	else if (strcmp(key, "action") == 0)
		o->col_action = s;
	else if (strcmp(key, "ts") == 0)
		o->col_ts = s;
	else
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown key \"%s\" in option \"columns\"", key),
				 errdetail("Valid keys are: user_id, item_id, action, ts.")));
}

static int
feature_kind(const char *name, const char *kind)
{
	if (strcmp(kind, "auto") == 0)
		return 0;
	if (strcmp(kind, "categorical") == 0)
		return CS_COL_CATEGORICAL;
	if (strcmp(kind, "numeric") == 0)
		return CS_COL_NUMERIC;
	if (strcmp(kind, "dense") == 0)
		return CS_COL_DENSE;
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("feature column \"%s\" has unknown kind \"%s\"", name, kind),
			 errdetail("Valid kinds are: auto, categorical, numeric, dense.")));
}

/* The list being built for "item_features" or "user_features", and its name. */
typedef struct FeatureList
{
	const char *option;
	List	   *l;
} FeatureList;

static void
feature_pair(const char *key, JsonbValue *val, void *arg)
{
	FeatureList *fl = arg;
	CsFeatureRequest *r = palloc(sizeof(CsFeatureRequest));

	r->name = pstrdup(key);
	r->kind = feature_kind(key, string_value(psprintf("%s.%s", fl->option, key), val));
	fl->l = lappend(fl->l, r);
}

static void
feature_elem(JsonbValue *val, void *arg)
{
	FeatureList *fl = arg;
	CsFeatureRequest *r = palloc(sizeof(CsFeatureRequest));

	r->name = string_value(psprintf("%s[%d]", fl->option, list_length(fl->l)), val);
	r->kind = 0;
	fl->l = lappend(fl->l, r);
}

static List *
parse_features(const char *name, JsonbValue *v)
{
	FeatureList fl = {name, NIL};

	if (v->type == jbvBinary && JsonContainerIsArray(v->val.binary.data))
		for_each_elem(name, v, feature_elem, &fl);
	else if (v->type == jbvBinary && JsonContainerIsObject(v->val.binary.data))
		for_each_pair(name, v, feature_pair, &fl);
	else
		bad_option(name, "an array of column names or an object of column: kind", v);
	for (int i = 0; i < list_length(fl.l); i++)
		for (int j = 0; j < i; j++)
		{
			const char *col = ((CsFeatureRequest *) list_nth(fl.l, i))->name;

			if (strcmp(col, ((CsFeatureRequest *) list_nth(fl.l, j))->name) == 0)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("option \"%s\" names column \"%s\" twice", name, col)));
		}
	return fl.l;
}

static void
label_pair(const char *key, JsonbValue *val, void *arg)
{
	CsOptions  *o = arg;
	CsLabelOverride *l = palloc(sizeof(CsLabelOverride));

	l->label = pstrdup(key);
	l->kind = string_value(psprintf("actions.%s", key), val);
	o->labels = lappend(o->labels, l);
}

static void
weight_pair(const char *key, JsonbValue *val, void *arg)
{
	CsOptions  *o = arg;
	CsWeightOverride *w = palloc(sizeof(CsWeightOverride));
	char	   *name = psprintf("action_weights.%s", key);

	if (val->type != jbvNumeric)
		bad_option(name, "a positive number", val);
	w->kind = pstrdup(key);
	w->weight = numeric_value(val);
	if (!(w->weight >= 1e-6) || !isfinite(w->weight) || w->weight > 1e6)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("option \"%s\" must be a number from 0.000001 to 1000000, not %g",
						name, w->weight)));
	o->weights = lappend(o->weights, w);
}

static void
revealed_elem(JsonbValue *val, void *arg)
{
	List	  **l = arg;
	double		x;

	if (val->type != jbvNumeric)
		bad_option("revealed", "an array of integers", val);
	x = numeric_value(val);
	if (x != floor(x) || x < 0 || x > 1000)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("option \"revealed\" must hold integers between 0 and 1000, not %g", x)));
	*l = lappend_int(*l, (int) x);
}

static void
method_elem(JsonbValue *val, void *arg)
{
	List	  **l = arg;
	char	   *m = string_value("methods", val);

	for (int i = 0; i < lengthof(evaluate_methods); i++)
		if (strcmp(m, evaluate_methods[i]) == 0)
		{
			*l = lappend(*l, (char *) evaluate_methods[i]);
			return;
		}
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("unknown evaluation method \"%s\"", m),
			 errdetail("Valid methods are: coldstart, coldstart_live, popularity, item_knn, content.")));
}

/* the string "auto", which options refit and bias_scale take */
static bool
is_auto(const JsonbValue *v)
{
	return v->type == jbvString && v->val.string.len == 4 &&
		strncmp(v->val.string.val, "auto", 4) == 0;
}

static void
parse_special(CsOptions *o, const char *key, JsonbValue *v)
{
	if (strcmp(key, "columns") == 0)
		for_each_pair(key, v, column_pair, o);
	else if (strcmp(key, "item_id_column") == 0)
		o->items_key = string_value(key, v);
	else if (strcmp(key, "user_id_column") == 0)
		o->users_key = string_value(key, v);
	else if (strcmp(key, "item_features") == 0)
	{
		o->item_features = parse_features(key, v);
		o->item_features_given = true;
	}
	else if (strcmp(key, "user_features") == 0)
	{
		o->user_features = parse_features(key, v);
		o->user_features_given = true;
	}
	else if (strcmp(key, "actions") == 0)
		for_each_pair(key, v, label_pair, o);
	else if (strcmp(key, "action_weights") == 0)
		for_each_pair(key, v, weight_pair, o);
	else if (strcmp(key, "target") == 0)
	{
		static const char *const targets[] = {"next", "later", "all"};	/* CsTarget order */

		o->target = (CsTarget) string_choice(key, v, targets, lengthof(targets));
	}
	else if (strcmp(key, "refit") == 0)
	{
		if (v->type == jbvBool)
			o->refit = v->val.boolean ? CS_REFIT_YES : CS_REFIT_NO;
		else if (is_auto(v))
			o->refit = CS_REFIT_AUTO;
		else if (v->type == jbvString)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("option \"refit\" must be true, false or \"auto\", not \"%s\"",
							pnstrdup(v->val.string.val, v->val.string.len))));
		else
			bad_option(key, "true, false or \"auto\"", v);
	}
	else if (strcmp(key, "bias_scale") == 0)
	{
		if (is_auto(v))
			o->bias_scale = CS_BIAS_SCALE_AUTO;
		else if (v->type == jbvNumeric)
		{
			double		x = numeric_value(v);

			if (!(x >= 0 && x <= 10))
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("option \"bias_scale\" must be between 0 and 10, or \"auto\", not %g", x)));
			o->bias_scale = x;
		}
		else
			bad_option(key, "a number or \"auto\"", v);
	}
	else if (strcmp(key, "revealed") == 0)
	{
		List	   *l = NIL;

		for_each_elem(key, v, revealed_elem, &l);
		if (l == NIL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("option \"revealed\" must not be empty")));
		o->revealed = l;
	}
	else if (strcmp(key, "catalogue") == 0)
	{
		static const char *const catalogues[] = {"all", "trained"};

		o->catalogue_trained = string_choice(key, v, catalogues, lengthof(catalogues)) == 1;
	}
	else if (strcmp(key, "methods") == 0)
	{
		List	   *l = NIL;

		for_each_elem(key, v, method_elem, &l);
		if (l == NIL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("option \"methods\" must not be empty")));
		o->methods = l;
	}
	else
		elog(ERROR, "unhandled option \"%s\"", key);
}

static void
parse_one(CsOptions *o, const OptDesc *d, JsonbValue *v)
{
	char	   *field = (char *) o + d->offset;
	double		x;

	switch (d->type)
	{
		case OPT_SPECIAL:
			parse_special(o, d->name, v);
			return;
		case OPT_BOOL:
			if (v->type != jbvBool)
				bad_option(d->name, "a boolean", v);
			*(bool *) field = v->val.boolean;
			return;
		case OPT_DURATION:
			x = duration_value(d->name, v);
			if (!(x >= d->min && x <= d->max))
				range_error(d, x);
			*(double *) field = x;
			return;
		case OPT_INT64:
			{
				/* exactly: a double would merge the seeds beyond 2^53 */
				Datum		num;

				if (v->type != jbvNumeric)
					bad_option(d->name, "an integer", v);
				num = NumericGetDatum(v->val.numeric);
				if (numeric_is_nan(v->val.numeric) || numeric_is_inf(v->val.numeric) ||
					numeric_cmp_datum(num, DirectFunctionCall2(numeric_trunc, num, Int32GetDatum(0))) != 0 ||
					numeric_cmp_datum(num, NumericGetDatum(int64_to_numeric((int64) d->min))) < 0 ||
					numeric_cmp_datum(num, NumericGetDatum(int64_to_numeric(PG_INT64_MAX))) > 0)
					ereport(ERROR,
							(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
							 errmsg("option \"%s\" must be an integer between %.0f and " INT64_FORMAT ", not %s",
									d->name, d->min, PG_INT64_MAX,
									DatumGetCString(DirectFunctionCall1(numeric_out, num)))));
				*(int64 *) field = DatumGetInt64(DirectFunctionCall1(numeric_int8, num));
				return;
			}
		case OPT_INT:
		case OPT_FLOAT:
			if (v->type != jbvNumeric)
				bad_option(d->name, d->type == OPT_FLOAT ? "a number" : "an integer", v);
			x = numeric_value(v);
			if (d->type != OPT_FLOAT && x != floor(x))
				range_error(d, x);
			if (!(x >= d->min && x <= d->max))
				range_error(d, x);
			if (d->type == OPT_INT)
				*(int *) field = (int) x;
			else
				*(double *) field = x;
			return;
	}
}

void
cs_options_parse(CsOptions *o, Jsonb *jb, CsOptionsFor what)
{
	JsonbIterator *it;
	JsonbValue	k,
				v;
	JsonbIteratorToken tok;

	set_defaults(o);
	if (jb == NULL)
		return;
	if (!JB_ROOT_IS_OBJECT(jb) || JB_ROOT_IS_SCALAR(jb))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("options must be a jsonb object"),
				 errhint("Pass options such as '{\"dim\": 32, \"epochs\": 10}'.")));

	it = JsonbIteratorInit(&jb->root);
	while ((tok = JsonbIteratorNext(&it, &k, true)) != WJB_DONE)
	{
		char	   *key;
		const OptDesc *d = NULL;

		if (tok != WJB_KEY)
			continue;
		key = pnstrdup(k.val.string.val, k.val.string.len);
		tok = JsonbIteratorNext(&it, &v, true);
		for (int i = 0; i < lengthof(opt_descs); i++)
			if (strcmp(opt_descs[i].name, key) == 0 &&
				(!opt_descs[i].evaluate_only || what == CS_OPTIONS_EVALUATE))
				d = &opt_descs[i];
		if (d == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("unknown option \"%s\"", key),
					 errdetail("Valid options are: %s.", valid_keys(what))));
		if (v.type == jbvNull)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("option \"%s\" must not be null", key),
					 errhint("Leave the option out to use its default.")));
		parse_one(o, d, &v);
	}
}

static void
features_to_json(StringInfo out, const char *name, bool given, List *l)
{
	ListCell   *lc;
	bool		first = true;

	if (!given)
		return;
	appendStringInfo(out, ", \"%s\": {", name);
	foreach(lc, l)
	{
		CsFeatureRequest *r = lfirst(lc);
		static const char *const kinds[] = {"auto", "categorical", "numeric", "dense"};

		if (!first)
			appendStringInfoString(out, ", ");
		first = false;
		escape_json(out, r->name);
		appendStringInfo(out, ": \"%s\"", kinds[r->kind]);
	}
	appendStringInfoChar(out, '}');
}

void
cs_options_to_json(const CsOptions *o, StringInfo out, CsOptionsFor what)
{
	ListCell   *lc;
	bool		first;

	appendStringInfoString(out, "{\"columns\": {\"user_id\": ");
	escape_json(out, o->col_user);
	appendStringInfoString(out, ", \"item_id\": ");
	escape_json(out, o->col_item);
	appendStringInfoString(out, ", \"action\": ");
	escape_json(out, o->col_action);
	appendStringInfoString(out, ", \"ts\": ");
	escape_json(out, o->col_ts);
	appendStringInfoChar(out, '}');
	if (o->items_key)
	{
		appendStringInfoString(out, ", \"item_id_column\": ");
		escape_json(out, o->items_key);
	}
	if (o->users_key)
	{
		appendStringInfoString(out, ", \"user_id_column\": ");
		escape_json(out, o->users_key);
	}
	features_to_json(out, "item_features", o->item_features_given, o->item_features);
	features_to_json(out, "user_features", o->user_features_given, o->user_features);
	if (o->labels != NIL)
	{
		appendStringInfoString(out, ", \"actions\": {");
		first = true;
		foreach(lc, o->labels)
		{
			CsLabelOverride *l = lfirst(lc);

			if (!first)
				appendStringInfoString(out, ", ");
			first = false;
			escape_json(out, l->label);
			appendStringInfoString(out, ": ");
			escape_json(out, l->kind);
		}
		appendStringInfoChar(out, '}');
	}
	if (o->weights != NIL)
	{
		appendStringInfoString(out, ", \"action_weights\": {");
		first = true;
		foreach(lc, o->weights)
		{
			CsWeightOverride *w = lfirst(lc);

			if (!first)
				appendStringInfoString(out, ", ");
			first = false;
			escape_json(out, w->kind);
			appendStringInfo(out, ": %.9g", w->weight);
		}
		appendStringInfoChar(out, '}');
	}
	appendStringInfo(out,
					 ", \"dim\": %d, \"hidden\": %d, \"history_length\": %d, \"history_prior\": %.9g"
					 ", \"half_life\": %.17g, \"buckets\": %d, \"epochs\": %d"
					 ", \"learning_rate\": %.9g, \"l2\": %.9g, \"id_l2\": %.9g, \"attr_l2\": %.9g, \"dropout\": %.9g, \"ema\": %.9g, \"feature_scale\": %.9g, \"match_init\": %.9g, \"match_lr_scale\": %.9g, \"bias_scale\": %s, \"batch_size\": %d"
					 ", \"target\": \"%s\", \"target_balance\": %.9g, \"seed\": " INT64_FORMAT
					 ", \"max_prefixes\": %d, \"short_prefixes\": %d, \"min_item_count\": %d, \"full_softmax_items\": %d"
					 ", \"negatives\": %d, \"validation_fraction\": %.9g"
					 ", \"patience\": %d, \"tolerance\": %.9g, \"refit\": %s, \"keep_versions\": %d"
					 ", \"promote_if_better\": %s",
					 o->dim, o->hidden, o->history_length, o->history_prior, o->half_life, o->buckets,
					 o->epochs, o->learning_rate, o->l2, o->id_l2, o->attr_l2, o->dropout, o->ema, o->feature_scale, o->match_init, o->match_lr_scale,
					 o->bias_scale == CS_BIAS_SCALE_AUTO ? "\"auto\"" : psprintf("%.9g", o->bias_scale), o->batch_size,
					 cs_target_name(o->target), o->target_balance, o->seed, o->max_prefixes,
					 o->short_prefixes, o->min_item_count, o->full_softmax_items, o->negatives, o->validation_fraction,
					 o->patience, o->tolerance,
					 o->refit == CS_REFIT_AUTO ? "\"auto\"" : o->refit == CS_REFIT_YES ? "true" : "false",
					 o->keep_versions,
					 o->promote_if_better ? "true" : "false");
	if (what == CS_OPTIONS_EVALUATE)
	{
		appendStringInfo(out, ", \"test_fraction\": %.9g, \"min_items\": %d, \"revealed\": [",
						 o->test_fraction, o->min_items);
		first = true;
		foreach(lc, o->revealed)
		{
			appendStringInfo(out, "%s%d", first ? "" : ", ", lfirst_int(lc));
			first = false;
		}
		appendStringInfoString(out, "], \"methods\": [");
		first = true;
		foreach(lc, o->methods)
		{
			appendStringInfo(out, "%s\"%s\"", first ? "" : ", ", (char *) lfirst(lc));
			first = false;
		}
		appendStringInfo(out, "], \"catalogue\": \"%s\"", o->catalogue_trained ? "trained" : "all");
	}
	appendStringInfoChar(out, '}');
}
