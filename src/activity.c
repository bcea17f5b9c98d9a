/*
 * activity.c
 *	  The aggregate activity_summary(action text, ts timestamptz) -> jsonb:
 *	  behaviour features of a user or a segment, for analysts.
 *
 * The transition state counts rows per action kind (default mapping of
 * actions.c), keeps the first and last timestamps, and the set of distinct
 * UTC days with an event.  It is parallel safe: partial states are
 * serialized to bytea in the workers and combined in the leader.
 *
 * NULL handling: a row whose action is NULL counts as "other"; a row whose
 * ts is NULL or infinite counts in "events", in its kind and in "undated",
 * but not in the dates; a row with both NULL (an outer join's filler row)
 * is skipped.  With no counted row the result is NULL, like sum().
 *
 * The day set starts as a list of int32 day numbers (an unsorted tail is
 * appended to, then sorted and merged into the sorted head when the list
 * fills up) and switches to a bitmap over the days' range once a bigger
 * list would take more room than that bitmap.  So a state takes a few bytes
 * per distinct day, or one bit per day of the range covered, and never more
 * than 14 MB (one bit for every day a timestamptz can reach), whatever the
 * input.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "common/int.h"
#include "fmgr.h"
#include "libpq/pqformat.h"
#include "miscadmin.h"
#include "port/pg_bitutils.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/numeric.h"
#include "utils/timestamp.h"

#include "actions.h"
#include "coldstart.h"

/* Day numbers (days since 2000-01-01 UTC) of finite timestamps: [DAY_MIN, DAY_END). */
#define DAY_MIN ((int64) DATETIME_MIN_JULIAN - POSTGRES_EPOCH_JDATE)
#define DAY_END ((int64) TIMESTAMP_END_JULIAN - POSTGRES_EPOCH_JDATE)

#define FLOOR8(x) ((x) - (((x) % 8 + 8) % 8))
#define CEIL8(x) FLOOR8((x) + 7)

/* Counters: one per default kind, then unknown labels. */
#define KIND_OTHER CS_N_DEFAULT_KINDS
#define N_COUNTERS (CS_N_DEFAULT_KINDS + 1)

/* Version of the serialized state (it only travels from workers to leader). */
#define STATE_FORMAT 1
#define FORM_LIST 0
#define FORM_BITMAP 1

#define LIST_INITIAL 8

typedef struct DaySet
{
	MemoryContext cxt;			/* where list and bits live */
	/* list form, while bits == NULL */
	int32	   *list;
	int32		nsorted;		/* list[0..nsorted) is sorted and distinct */
	int32		nlist;			/* list[nsorted..nlist) is not, yet */
	int32		maxlist;
	/* bitmap form: bit i stands for day base + i */
	uint8	   *bits;
	int32		base;			/* a multiple of 8 */
	int32		nbytes;
	int32		nset;			/* bits set */
} DaySet;

typedef struct ActivityState
{
	int64		events;			/* rows counted */
	int64		counts[N_COUNTERS]; /* per kind; they add up to events */
	int64		dated;			/* events with a finite ts */
	TimestampTz first;			/* valid when dated > 0 */
	TimestampTz last;
	DaySet		days;
} ActivityState;

/* ---------- the day set ---------- */

static inline int32
timestamp_day(TimestampTz ts)
{
	int64		day = ts / USECS_PER_DAY;

	if (ts % USECS_PER_DAY < 0)
		day--;
	return (int32) day;
}

/* Sort and deduplicate the unsorted tail into the sorted head. */
static void
dayset_compact(DaySet *s)
{
	int32	   *tail = s->list + s->nsorted;
	int32		ntail = s->nlist - s->nsorted;
	int32		n = 0;

	if (s->bits != NULL || ntail == 0)
		return;

	ntail = cs_sort_unique_int32(tail, ntail);

	if (s->nsorted > 0 && tail[0] <= s->list[s->nsorted - 1])
	{
		int32	   *merged = palloc(sizeof(int32) * (s->nsorted + ntail));
		int32		i = 0,
					j = 0;

		n = 0;
		while (i < s->nsorted || j < ntail)
		{
			int32		d;

			if (j == ntail || (i < s->nsorted && s->list[i] <= tail[j]))
				d = s->list[i++];
			else
				d = tail[j++];
			if (n == 0 || merged[n - 1] != d)
				merged[n++] = d;
		}
		memcpy(s->list, merged, sizeof(int32) * n);
		pfree(merged);
	}
	else
		n = s->nsorted + ntail;	/* the tail simply extends the head */

	s->nsorted = s->nlist = n;
}

static inline bool
bitmap_test_and_set(DaySet *s, int32 day)
{
	int64		bit = (int64) day - s->base;
	uint8		mask = (uint8) (1 << (bit % 8));

	Assert(bit >= 0 && bit < (int64) s->nbytes * 8);
	if (s->bits[bit / 8] & mask)
		return false;
	s->bits[bit / 8] |= mask;
	s->nset++;
	return true;
}

/* Make the bitmap cover [lo, hi) (days), at least; both are valid days. */
static void
bitmap_cover(DaySet *s, int64 lo, int64 hi)
{
	int64		cur_lo = s->base;
	int64		cur_hi = (int64) s->base + (int64) s->nbytes * 8;
	int64		size = cur_hi - cur_lo;
	int64		new_lo,
				new_hi;
	uint8	   *bits;

	if (s->bits != NULL && lo >= cur_lo && hi <= cur_hi)
		return;

	if (s->bits == NULL)
	{
		new_lo = lo;
		new_hi = hi;
	}
	else
	{
		/* Grow by the current size at least: days arriving in order cost O(1). */
		new_lo = (lo < cur_lo) ? Min(lo, cur_lo - size) : cur_lo;
		new_hi = (hi > cur_hi) ? Max(hi, cur_hi + size) : cur_hi;
	}
	new_lo = FLOOR8(Max(new_lo, DAY_MIN));
	new_hi = CEIL8(Min(new_hi, DAY_END));

	bits = MemoryContextAllocZero(s->cxt, (new_hi - new_lo) / 8);
	if (s->bits != NULL)
	{
		memcpy(bits + (cur_lo - new_lo) / 8, s->bits, s->nbytes);
		pfree(s->bits);
	}
	s->bits = bits;
	s->base = (int32) new_lo;
	s->nbytes = (int32) ((new_hi - new_lo) / 8);
}

/* Switch a compacted list to the bitmap form. */
static void
dayset_to_bitmap(DaySet *s)
{
	Assert(s->bits == NULL && s->nsorted == s->nlist && s->nlist > 0);

	s->nset = 0;
	bitmap_cover(s, s->list[0], (int64) s->list[s->nlist - 1] + 1);
	for (int32 i = 0; i < s->nlist; i++)
		bitmap_test_and_set(s, s->list[i]);
	pfree(s->list);
	s->list = NULL;
	s->nsorted = s->nlist = s->maxlist = 0;
}

/* The list is full: compact it, then grow it or switch to a bitmap. */
static void
dayset_make_room(DaySet *s)
{
	Size		list_bytes;
	Size		bitmap_bytes;

	if (s->list == NULL)
	{
		s->list = MemoryContextAlloc(s->cxt, sizeof(int32) * LIST_INITIAL);
		s->maxlist = LIST_INITIAL;
		return;
	}

	dayset_compact(s);
	if (s->nlist <= s->maxlist / 2)
		return;

	list_bytes = sizeof(int32) * (Size) s->maxlist * 2;
	bitmap_bytes = (Size) (((int64) s->list[s->nlist - 1] - s->list[0]) / 8 + 2);
	if (list_bytes > bitmap_bytes)
		dayset_to_bitmap(s);
	else
	{
		s->list = repalloc(s->list, list_bytes);
		s->maxlist *= 2;
	}
}

static void
dayset_add(DaySet *s, int32 day)
{
	Assert(day >= DAY_MIN && day < DAY_END);

	if (s->bits == NULL)
	{
		/* Rows often come in time order: skip the same day at once. */
		if (s->nlist > 0 && s->list[s->nlist - 1] == day)
			return;
		if (s->nlist == s->maxlist)
			dayset_make_room(s);
	}
	if (s->bits != NULL)
	{
		bitmap_cover(s, day, (int64) day + 1);
		bitmap_test_and_set(s, day);
	}
	else
		s->list[s->nlist++] = day;
}

static void
dayset_union(DaySet *dst, DaySet *src)
{
	if (src->bits == NULL)
	{
		for (int32 i = 0; i < src->nlist; i++)
			dayset_add(dst, src->list[i]);
		return;
	}
	for (int32 i = 0; i < src->nbytes; i++)
	{
		uint8		byte = src->bits[i];

		if ((i & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
		for (int b = 0; byte != 0; b++, byte >>= 1)
			if (byte & 1)
				dayset_add(dst, src->base + i * 8 + b);
	}
}

static int32
dayset_count(DaySet *s)
{
	if (s->bits != NULL)
		return s->nset;
	dayset_compact(s);
	return s->nlist;
}

/* ---------- the state ---------- */

static ActivityState *
state_create(MemoryContext cxt)
{
	ActivityState *state = MemoryContextAllocZero(cxt, sizeof(ActivityState));

	state->days.cxt = cxt;
	return state;
}

static ActivityState *
state_copy(const ActivityState *src, MemoryContext cxt)
{
	ActivityState *state = state_create(cxt);
	DaySet	   *d = &state->days;
	const DaySet *s = &src->days;

	state->events = src->events;
	memcpy(state->counts, src->counts, sizeof(state->counts));
	state->dated = src->dated;
	state->first = src->first;
	state->last = src->last;

	if (s->bits != NULL)
	{
		d->bits = MemoryContextAlloc(cxt, s->nbytes);
		memcpy(d->bits, s->bits, s->nbytes);
		d->base = s->base;
		d->nbytes = s->nbytes;
		d->nset = s->nset;
	}
	else if (s->nlist > 0)
	{
		d->maxlist = Max(s->nlist, LIST_INITIAL);
		d->list = MemoryContextAlloc(cxt, sizeof(int32) * d->maxlist);
		memcpy(d->list, s->list, sizeof(int32) * s->nlist);
		d->nsorted = s->nsorted;
		d->nlist = s->nlist;
	}
	return state;
}

static void
add_count(int64 *counter, int64 n)
{
	if (pg_add_s64_overflow(*counter, n, counter))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("activity_summary counter out of range")));
}

static void
state_merge(ActivityState *dst, ActivityState *src)
{
	add_count(&dst->events, src->events);
	for (int k = 0; k < N_COUNTERS; k++)
		add_count(&dst->counts[k], src->counts[k]);
	if (src->dated > 0)
	{
		if (dst->dated == 0 || src->first < dst->first)
			dst->first = src->first;
		if (dst->dated == 0 || src->last > dst->last)
			dst->last = src->last;
		add_count(&dst->dated, src->dated);
		dayset_union(&dst->days, &src->days);
	}
}

/* ---------- the aggregate's support functions ---------- */

PG_FUNCTION_INFO_V1(activity_summary_transfn);
Datum
activity_summary_transfn(PG_FUNCTION_ARGS)
{
	MemoryContext aggcxt;
	ActivityState *state;
	int			kind = KIND_OTHER;

	if (!AggCheckCallContext(fcinfo, &aggcxt))
		elog(ERROR, "activity_summary_transfn called in non-aggregate context");

	state = PG_ARGISNULL(0) ? NULL : (ActivityState *) PG_GETARG_POINTER(0);

	/* Neither action nor time: an outer join's filler row, not an event. */
	if (PG_ARGISNULL(1) && PG_ARGISNULL(2))
	{
		if (state == NULL)
			PG_RETURN_NULL();
		PG_RETURN_POINTER(state);
	}
	if (state == NULL)
		state = state_create(aggcxt);

	if (!PG_ARGISNULL(1))
	{
		text	   *action = PG_GETARG_TEXT_PP(1);
		int			k = cs_default_action_kind(VARDATA_ANY(action),
											   VARSIZE_ANY_EXHDR(action));

		if (k >= 0)
			kind = k;
	}
	state->counts[kind]++;
	state->events++;

	if (!PG_ARGISNULL(2))
	{
		TimestampTz ts = PG_GETARG_TIMESTAMPTZ(2);

		/* Infinite timestamps date nothing; they count as undated. */
		if (IS_VALID_TIMESTAMP(ts))
		{
			if (state->dated == 0 || ts < state->first)
				state->first = ts;
			if (state->dated == 0 || ts > state->last)
				state->last = ts;
			state->dated++;
			dayset_add(&state->days, timestamp_day(ts));
		}
	}
	PG_RETURN_POINTER(state);
}

PG_FUNCTION_INFO_V1(activity_summary_combinefn);
Datum
activity_summary_combinefn(PG_FUNCTION_ARGS)
{
	MemoryContext aggcxt;
	ActivityState *dst;
	ActivityState *src;

	if (!AggCheckCallContext(fcinfo, &aggcxt))
		elog(ERROR, "activity_summary_combinefn called in non-aggregate context");

	dst = PG_ARGISNULL(0) ? NULL : (ActivityState *) PG_GETARG_POINTER(0);
	src = PG_ARGISNULL(1) ? NULL : (ActivityState *) PG_GETARG_POINTER(1);

	if (src == NULL)
	{
		if (dst == NULL)
			PG_RETURN_NULL();
		PG_RETURN_POINTER(dst);
	}
	/* src may live in a short-lived context: the result must not. */
	if (dst == NULL)
		PG_RETURN_POINTER(state_copy(src, aggcxt));

	state_merge(dst, src);
	PG_RETURN_POINTER(dst);
}

/*
 * Serialized state, in network byte order:
 *	 format (1 byte), events, counts[N_COUNTERS], dated (int64 each),
 *	 if dated > 0: first, last (int64), day form (1 byte), then
 *	   list:   n (int32), n ascending distinct days (int32);
 *	   bitmap: base, nbytes, nset (int32), nbytes bytes whose first and
 *			   last are non-zero.
 */
PG_FUNCTION_INFO_V1(activity_summary_serialfn);
Datum
activity_summary_serialfn(PG_FUNCTION_ARGS)
{
	ActivityState *state;
	DaySet	   *s;
	StringInfoData buf;

	if (!AggCheckCallContext(fcinfo, NULL))
		elog(ERROR, "activity_summary_serialfn called in non-aggregate context");
	state = (ActivityState *) PG_GETARG_POINTER(0);
	s = &state->days;

	pq_begintypsend(&buf);
	pq_sendbyte(&buf, STATE_FORMAT);
	pq_sendint64(&buf, state->events);
	for (int k = 0; k < N_COUNTERS; k++)
		pq_sendint64(&buf, state->counts[k]);
	pq_sendint64(&buf, state->dated);
	if (state->dated > 0)
	{
		pq_sendint64(&buf, state->first);
		pq_sendint64(&buf, state->last);
		if (s->bits == NULL)
		{
			dayset_compact(s);
			pq_sendbyte(&buf, FORM_LIST);
			pq_sendint32(&buf, s->nlist);
			for (int32 i = 0; i < s->nlist; i++)
				pq_sendint32(&buf, s->list[i]);
		}
		else
		{
			int32		lo = 0,
						hi = s->nbytes;

			while (lo < hi && s->bits[lo] == 0)
				lo++;
			while (hi > lo && s->bits[hi - 1] == 0)
				hi--;
			pq_sendbyte(&buf, FORM_BITMAP);
			pq_sendint32(&buf, s->base + lo * 8);
			pq_sendint32(&buf, hi - lo);
			pq_sendint32(&buf, s->nset);
			pq_sendbytes(&buf, (char *) s->bits + lo, hi - lo);
		}
	}
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

static void
invalid_state(const char *reason)
{
	elog(ERROR, "invalid activity_summary state: %s", reason);
}

static void
read_days(StringInfo buf, ActivityState *state)
{
	DaySet	   *s = &state->days;
	int			form = pq_getmsgbyte(buf);
	int64		first_day = timestamp_day(state->first);
	int64		last_day = timestamp_day(state->last);
	int64		remaining;

	if (form == FORM_LIST)
	{
		int32		n = pq_getmsgint(buf, 4);

		remaining = buf->len - buf->cursor;
		if (n < 1 || n > remaining / (int64) sizeof(int32))
			invalid_state("bad length of the day list");
		s->list = MemoryContextAlloc(s->cxt, sizeof(int32) * Max(n, LIST_INITIAL));
		s->maxlist = Max(n, LIST_INITIAL);
		for (int32 i = 0; i < n; i++)
		{
			int32		day = pq_getmsgint(buf, 4);

			if (i > 0 && day <= s->list[i - 1])
				invalid_state("days are not ascending");
			s->list[i] = day;
		}
		s->nsorted = s->nlist = n;
		if (s->list[0] != first_day || s->list[n - 1] != last_day)
			invalid_state("days do not match the first and last timestamps");
	}
	else if (form == FORM_BITMAP)
	{
		int32		base = pq_getmsgint(buf, 4);
		int32		nbytes = pq_getmsgint(buf, 4);
		int32		nset = pq_getmsgint(buf, 4);
		int32		lo_bit,
					hi_bit;

		remaining = buf->len - buf->cursor;
		if (nbytes < 1 || nbytes > remaining)
			invalid_state("bad length of the day bitmap");
		if (base != FLOOR8((int64) base) || base < FLOOR8(DAY_MIN) ||
			(int64) base + (int64) nbytes * 8 > CEIL8(DAY_END))
			invalid_state("day bitmap out of range");
		s->bits = MemoryContextAlloc(s->cxt, nbytes);
		pq_copymsgbytes(buf, (char *) s->bits, nbytes);
		s->base = base;
		s->nbytes = nbytes;
		s->nset = nset;
		if (s->bits[0] == 0 || s->bits[nbytes - 1] == 0)
			invalid_state("day bitmap is not trimmed");
		if (pg_popcount((char *) s->bits, nbytes) != (uint64) nset)
			invalid_state("day count does not match the bitmap");
		lo_bit = pg_rightmost_one_pos32(s->bits[0]);
		hi_bit = pg_leftmost_one_pos32(s->bits[nbytes - 1]);
		if ((int64) base + lo_bit != first_day ||
			(int64) base + (int64) (nbytes - 1) * 8 + hi_bit != last_day)
			invalid_state("days do not match the first and last timestamps");
	}
	else
		invalid_state("unknown form of the day set");
}

PG_FUNCTION_INFO_V1(activity_summary_deserialfn);
Datum
activity_summary_deserialfn(PG_FUNCTION_ARGS)
{
	bytea	   *sstate;
	StringInfoData buf;
	ActivityState *state;
	int64		total = 0;

	if (!AggCheckCallContext(fcinfo, NULL))
		elog(ERROR, "activity_summary_deserialfn called in non-aggregate context");
	sstate = PG_GETARG_BYTEA_PP(0);

	/* Read in place; the pq_getmsg functions only read. */
	buf.data = VARDATA_ANY(sstate);
	buf.len = VARSIZE_ANY_EXHDR(sstate);
	buf.maxlen = buf.len;
	buf.cursor = 0;

	if (pq_getmsgbyte(&buf) != STATE_FORMAT)
		invalid_state("unknown format");

	/* The combine function copies it into the aggregate's context. */
	state = state_create(CurrentMemoryContext);
	state->events = pq_getmsgint64(&buf);
	for (int k = 0; k < N_COUNTERS; k++)
	{
		state->counts[k] = pq_getmsgint64(&buf);
		if (state->counts[k] < 0 ||
			pg_add_s64_overflow(total, state->counts[k], &total))
			invalid_state("bad counts");
	}
	state->dated = pq_getmsgint64(&buf);
	if (state->events < 1 || total != state->events ||
		state->dated < 0 || state->dated > state->events)
		invalid_state("bad counts");

	if (state->dated > 0)
	{
		state->first = pq_getmsgint64(&buf);
		state->last = pq_getmsgint64(&buf);
		if (!IS_VALID_TIMESTAMP(state->first) || !IS_VALID_TIMESTAMP(state->last) ||
			state->first > state->last)
			invalid_state("bad first and last timestamps");
		read_days(&buf, state);
	}
	pq_getmsgend(&buf);

	PG_RETURN_POINTER(state);
}

/* ---------- the result ---------- */

static void
push_key(JsonbParseState **ps, const char *key)
{
	JsonbValue	v;

	v.type = jbvString;
	v.val.string.val = (char *) key;
	v.val.string.len = strlen(key);
	pushJsonbValue(ps, WJB_KEY, &v);
}

static void
push_numeric(JsonbParseState **ps, const char *key, Numeric n)
{
	JsonbValue	v;

	push_key(ps, key);
	v.type = jbvNumeric;
	v.val.numeric = n;
	pushJsonbValue(ps, WJB_VALUE, &v);
}

static void
push_int(JsonbParseState **ps, const char *key, int64 n)
{
	push_numeric(ps, key, int64_to_numeric(n));
}

static void
push_float(JsonbParseState **ps, const char *key, double x)
{
	push_numeric(ps, key,
				 DatumGetNumeric(DirectFunctionCall1(float8_numeric, Float8GetDatum(x))));
}

static void
push_null(JsonbParseState **ps, const char *key)
{
	JsonbValue	v;

	push_key(ps, key);
	v.type = jbvNull;
	pushJsonbValue(ps, WJB_VALUE, &v);
}

/* ISO 8601 in UTC, whatever the session's TimeZone: "2024-03-01T23:30:00+00:00". */
static void
push_time(JsonbParseState **ps, const char *key, TimestampTz t)
{
	const int	utc = 0;
	JsonbValue	v;

	push_key(ps, key);
	v.type = jbvString;
	/* palloc'd: the parse state keeps the pointer until the end. */
	v.val.string.val = JsonEncodeDateTime(NULL, TimestampTzGetDatum(t),
										  TIMESTAMPTZOID, &utc);
	v.val.string.len = strlen(v.val.string.val);
	pushJsonbValue(ps, WJB_VALUE, &v);
}

/* Days from first to last; exact unless the span overflows int64 microseconds. */
static double
span_days(TimestampTz first, TimestampTz last)
{
	int64		usecs;

	if (pg_sub_s64_overflow(last, first, &usecs))
		return ((double) last - (double) first) / (double) USECS_PER_DAY;
	return (double) usecs / (double) USECS_PER_DAY;
}

PG_FUNCTION_INFO_V1(activity_summary_finalfn);
Datum
activity_summary_finalfn(PG_FUNCTION_ARGS)
{
	ActivityState *state;
	JsonbParseState *ps = NULL;
	JsonbValue *result;

	if (!AggCheckCallContext(fcinfo, NULL))
		elog(ERROR, "activity_summary_finalfn called in non-aggregate context");
	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	state = (ActivityState *) PG_GETARG_POINTER(0);

	pushJsonbValue(&ps, WJB_BEGIN_OBJECT, NULL);
	push_int(&ps, "events", state->events);
	for (int k = 0; k < CS_N_DEFAULT_KINDS; k++)
		push_int(&ps, cs_default_kind_names[k], state->counts[k]);
	push_int(&ps, "other", state->counts[KIND_OTHER]);
	push_int(&ps, "undated", state->events - state->dated);

	/* Compacting the day list changes no result: the state stays reusable. */
	if (state->dated > 0)
	{
		push_time(&ps, "first_seen", state->first);
		push_time(&ps, "last_seen", state->last);
		push_int(&ps, "active_days", dayset_count(&state->days));
		push_float(&ps, "span_days", span_days(state->first, state->last));
	}
	else
	{
		push_null(&ps, "first_seen");
		push_null(&ps, "last_seen");
		push_int(&ps, "active_days", 0);
		push_null(&ps, "span_days");
	}

	if (state->counts[CS_KIND_VIEW] > 0)
		push_float(&ps, "conversion",
				   (double) state->counts[CS_KIND_BUY] / (double) state->counts[CS_KIND_VIEW]);
	else
		push_null(&ps, "conversion");

	result = pushJsonbValue(&ps, WJB_END_OBJECT, NULL);
	PG_RETURN_JSONB_P(JsonbValueToJsonb(result));
}
