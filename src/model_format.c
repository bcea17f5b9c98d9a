/*
 * model_format.c
 *	  The validating decoder of coldstart.model values.
 *
 * Every path that reads a stored model goes through cs_model_check(): text
 * and binary input, the serving cache, model_info.  It trusts nothing in the
 * value: sizes are checked against the remaining bytes before anything is
 * read, all arithmetic is done in 64 bits on bounded quantities, and every
 * string reference and vocabulary order is verified, so that the code which
 * uses a decoded model never needs to check again.
 *
 * Only the C library is used here (see model_format.h).
 */
#include "model_format.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static char reason_buf[256];

#define FAIL(...) \
	do { \
		snprintf(reason_buf, sizeof(reason_buf), __VA_ARGS__); \
		return reason_buf; \
	} while (0)

static const char *const section_names[CS_SEC_COUNT + 1] = {
	NULL,
	"strings",
	"item ids",
	"item vectors",
	"item biases",
	"item columns",
	"item values",
	"item value vectors",
	"item value biases",
	"content projection",
	"user columns",
	"user values",
	"user value vectors",
	"user base vector",
	"history matrix",
	"hidden layer",
	"action kinds",
	"action labels",
	"bucket edges",
	"options",
	"item feature row offsets",
	"item feature rows",
	"item feature row weights",
	"match weights",
	"history size vectors",
};

const char *
cs_section_name(int id)
{
	if (id < 1 || id > CS_SEC_COUNT)
		return "unknown";
	return section_names[id];
}

static inline uint64_t
align8(uint64_t x)
{
	return (x + 7) & ~(uint64_t) 7;
}

uint64_t
cs_section_expected_size(const CsModelHeader *h, int id)
{
	uint64_t	dim = (uint64_t) h->dim;

	switch (id)
	{
		case CS_SEC_ITEM_IDS:
			return (uint64_t) h->n_items * sizeof(int64_t);
		case CS_SEC_ITEM_VECTORS:
			return (uint64_t) h->n_items * dim * sizeof(float);
		case CS_SEC_ITEM_BIAS:
			return (uint64_t) h->n_items * sizeof(float);
		case CS_SEC_ITEM_COLUMNS:
			return (uint64_t) h->n_item_columns * sizeof(CsColumn);
		case CS_SEC_ITEM_VALUES:
			return (uint64_t) h->n_item_values * sizeof(uint32_t);
		case CS_SEC_ITEM_VALUE_VECTORS:
			return (uint64_t) h->n_item_values * dim * sizeof(float);
		case CS_SEC_ITEM_VALUE_BIAS:
			return (uint64_t) h->n_item_values * sizeof(float);
		case CS_SEC_CONTENT_PROJ:
			return (uint64_t) h->content_dim * dim * sizeof(float);
		case CS_SEC_USER_COLUMNS:
			return (uint64_t) h->n_user_columns * sizeof(CsColumn);
		case CS_SEC_USER_VALUES:
			return (uint64_t) h->n_user_values * sizeof(uint32_t);
		case CS_SEC_USER_VALUE_VECTORS:
			return (uint64_t) h->n_user_values * dim * sizeof(float);
		case CS_SEC_USER_BASE:
			return dim * sizeof(float);
		case CS_SEC_HISTORY:
			return dim * dim * sizeof(float);
		case CS_SEC_HIDDEN:
			return ((uint64_t) h->hidden * dim * 2 + (uint64_t) h->hidden) * sizeof(float);
		case CS_SEC_KINDS:
			return (uint64_t) h->n_kinds * sizeof(CsKind);
		case CS_SEC_LABELS:
			return (uint64_t) h->n_labels * sizeof(CsLabel);
		case CS_SEC_EDGES:
			return (uint64_t) h->n_edges * sizeof(double);
		case CS_SEC_ITEM_ROW_START:
			return ((uint64_t) h->n_items + 1) * sizeof(int64_t);
		case CS_SEC_ITEM_ROWS:
			return (uint64_t) h->n_item_rows * sizeof(int32_t);
		case CS_SEC_ITEM_ROW_WEIGHTS:
			return (uint64_t) h->n_item_rows * sizeof(float);
		case CS_SEC_MATCH_WEIGHTS:
			return (uint64_t) h->n_item_columns * sizeof(float);
		case CS_SEC_SIZE_VECTORS:
			return (uint64_t) CS_SIZE_BUCKETS * dim * sizeof(float);
		default:
			return 0;			/* strings and options: any size, checked apart */
	}
}

static const char *
check_range(const char *what, int32_t v, int32_t lo, int32_t hi)
{
	if (v < lo || v > hi)
		FAIL("%s %d is out of range [%d, %d]", what, (int) v, (int) lo, (int) hi);
	return NULL;
}

static const char *
check_floats(const float *x, uint64_t n, int section)
{
	for (uint64_t i = 0; i < n; i++)
		if (!isfinite(x[i]))
			FAIL("%s holds a non-finite number at position %llu",
				 cs_section_name(section), (unsigned long long) i);
	return NULL;
}

static const char *
check_string_ref(const CsModel *m, uint32_t off, const char *what)
{
	if ((uint64_t) off >= m->strings_size)
		FAIL("%s refers to string offset %u beyond the string pool", what, off);
	return NULL;
}

/* Columns of one side (item or user): layout, names, vocabularies, edges. */
static const char *
check_columns(const CsModel *m, const CsColumn *cols, int ncols,
			  const uint32_t *values, int nvalues, int *edge_cursor,
			  int *dense_seen, int item_side)
{
	const char *side = item_side ? "item" : "user";
	int			row = 0;
	const char *err;

	for (int c = 0; c < ncols; c++)
	{
		const CsColumn *col = &cols[c];

		if ((err = check_string_ref(m, col->name, "column name")))
			return err;
		if (m->strings[col->name] == '\0')
			FAIL("%s column %d has an empty name", side, c);
		for (int p = 0; p < c; p++)
			if (strcmp(m->strings + cols[p].name, m->strings + col->name) == 0)
				FAIL("%s column \"%s\" appears twice", side, m->strings + col->name);
		if (col->flags & ~(CS_COLF_ARRAY | CS_COLF_TIMES))
			FAIL("%s column \"%s\" has unknown flags", side, m->strings + col->name);
		if ((col->flags & CS_COLF_TIMES) &&
			(col->kind != CS_COL_NUMERIC ||
			 ((col->flags & CS_COLF_TIMES) & ((col->flags & CS_COLF_TIMES) - 1)) != 0))
			FAIL("%s column \"%s\" has invalid time flags", side, m->strings + col->name);
		if (col->first != row || col->count < 0 || col->count > nvalues - row)
			FAIL("%s column \"%s\" covers rows that do not follow the previous column",
				 side, m->strings + col->name);

		switch (col->kind)
		{
			case CS_COL_CATEGORICAL:
				if (col->dim != 0 || col->first_edge != 0)
					FAIL("categorical %s column \"%s\" has numeric fields set",
						 side, m->strings + col->name);
				for (int r = col->first; r < col->first + col->count; r++)
				{
					if ((err = check_string_ref(m, values[r], "vocabulary value")))
						return err;
					if (r > col->first &&
						strcmp(m->strings + values[r - 1], m->strings + values[r]) >= 0)
						FAIL("vocabulary of %s column \"%s\" is not sorted and unique",
							 side, m->strings + col->name);
				}
				break;
			case CS_COL_NUMERIC:
				if (col->dim != 0 || (col->flags & CS_COLF_ARRAY))
					FAIL("numeric %s column \"%s\" has invalid fields",
						 side, m->strings + col->name);
				if (col->count < 1 || col->first_edge != *edge_cursor ||
					col->count - 1 > m->n_edges - *edge_cursor)
					FAIL("numeric %s column \"%s\" has inconsistent bucket edges",
						 side, m->strings + col->name);
				for (int r = col->first; r < col->first + col->count; r++)
					if (values[r] != 0)
						FAIL("numeric %s column \"%s\" has a value string", side,
							 m->strings + col->name);
				for (int e = 1; e < col->count - 1; e++)
					if (!(m->edges[col->first_edge + e - 1] < m->edges[col->first_edge + e]))
						FAIL("bucket edges of %s column \"%s\" are not increasing",
							 side, m->strings + col->name);
				*edge_cursor += col->count - 1;
				break;
			case CS_COL_DENSE:
				if (!item_side)
					FAIL("user column \"%s\" is dense; only items have content vectors",
						 m->strings + col->name);
				if (*dense_seen)
					FAIL("more than one dense item column");
				if (col->count != 0 || col->first_edge != 0 || (col->flags & CS_COLF_ARRAY) ||
					col->dim < 1 || col->dim != m->content_dim)
					FAIL("dense item column \"%s\" does not match the content dimension",
						 m->strings + col->name);
				*dense_seen = 1;
				break;
			default:
				FAIL("%s column \"%s\" has unknown kind %d", side,
					 m->strings + col->name, (int) col->kind);
		}
		row += col->count;
	}
	if (row != nvalues)
		FAIL("%s columns cover %d vocabulary rows, header says %d", side, row, nvalues);
	return NULL;
}

const char *
cs_model_check(const void *data, uint64_t size, CsModel *m)
{
	const CsModelHeader *h = (const CsModelHeader *) data;
	const unsigned char *base = (const unsigned char *) data;
	const void *sec[CS_SEC_COUNT + 1];
	uint64_t	secsize[CS_SEC_COUNT + 1];
	uint64_t	pos;
	const char *err;
	int			edge_cursor = 0;
	int			dense_seen = 0;

	memset(m, 0, sizeof(*m));
	if (size < sizeof(CsModelHeader))
		FAIL("truncated header (%llu bytes)", (unsigned long long) size);
	if (size > CS_MODEL_MAX_BYTES)
		FAIL("value of %llu bytes exceeds the limit of %llu bytes",
			 (unsigned long long) size, (unsigned long long) CS_MODEL_MAX_BYTES);
	if (h->magic == CS_MODEL_MAGIC_SWAPPED)
		FAIL("written on a machine of the other byte order");
	if (h->magic != CS_MODEL_MAGIC)
		FAIL("bad magic number %08x", h->magic);
	if (h->format_version != CS_MODEL_FORMAT)
		FAIL("unsupported format version %u (this build reads version %d)",
			 (unsigned) h->format_version, CS_MODEL_FORMAT);
	if (h->header_size != sizeof(CsModelHeader))
		FAIL("header size %u does not match format %d", (unsigned) h->header_size,
			 CS_MODEL_FORMAT);
	if (h->flags != 0)
		FAIL("unknown flags %08x", h->flags);
	for (int i = 0; i < 6; i++)
		if (h->reserved[i] != 0)
			FAIL("reserved header fields are not zero");

	if ((err = check_range("dimension", h->dim, 1, CS_MAX_DIM)) ||
		(err = check_range("hidden size", h->hidden, 0, CS_MAX_HIDDEN)) ||
		(err = check_range("item count", h->n_items, 1, CS_MAX_ROWS)) ||
		(err = check_range("item column count", h->n_item_columns, 0, CS_MAX_COLUMNS)) ||
		(err = check_range("item vocabulary size", h->n_item_values, 0, CS_MAX_ROWS)) ||
		(err = check_range("user column count", h->n_user_columns, 0, CS_MAX_COLUMNS)) ||
		(err = check_range("user vocabulary size", h->n_user_values, 0, CS_MAX_ROWS)) ||
		(err = check_range("content dimension", h->content_dim, 0, CS_MAX_CONTENT_DIM)) ||
		(err = check_range("action kind count", h->n_kinds, 1, CS_MAX_KINDS)) ||
		(err = check_range("action label count", h->n_labels, 0, CS_MAX_LABELS)) ||
		(err = check_range("bucket edge count", h->n_edges, 0, CS_MAX_ROWS)) ||
		(err = check_range("history length", h->history_length, 1, CS_MAX_HISTORY)))
		return err;
	if (!isfinite(h->history_prior) || h->history_prior < 0 || h->history_prior > 1e6)
		FAIL("history prior must be a number between 0 and 1000000");
	if (!isfinite(h->half_life) || h->half_life <= 0)
		FAIL("half-life must be a positive number of seconds");
	if (h->n_item_rows < 0 || h->n_item_rows > (int64_t) CS_MAX_ROWS * CS_MAX_COLUMNS)
		FAIL("item feature row count %lld is out of range", (long long) h->n_item_rows);
	if (h->n_sections != CS_SEC_COUNT)
		FAIL("%u sections, format %d has %d", h->n_sections, CS_MODEL_FORMAT, CS_SEC_COUNT);

	pos = sizeof(CsModelHeader) + (uint64_t) CS_SEC_COUNT * sizeof(CsSection);
	if (size < pos)
		FAIL("truncated section table");

	/* Sections lie in id order, each at the next 8-byte boundary. */
	for (int i = 0; i < CS_SEC_COUNT; i++)
	{
		const CsSection *s = &CS_MODEL_SECTIONS(h)[i];
		int			id = i + 1;
		uint64_t	expect;

		if (s->id != (uint32_t) id)
			FAIL("section %d has id %u, expected %d (%s)", i, s->id, id,
				 cs_section_name(id));
		if (s->reserved != 0)
			FAIL("section %s has non-zero reserved field", cs_section_name(id));
		if (s->offset != align8(pos))
			FAIL("section %s starts at byte %llu, expected %llu", cs_section_name(id),
				 (unsigned long long) s->offset, (unsigned long long) align8(pos));
		if (id == CS_SEC_STRINGS || id == CS_SEC_OPTIONS)
		{
			if (s->size < 1)
				FAIL("empty %s section", cs_section_name(id));
		}
		else if (s->size != (expect = cs_section_expected_size(h, id)))
			FAIL("section %s has %llu bytes, dimensions require %llu", cs_section_name(id),
				 (unsigned long long) s->size, (unsigned long long) expect);
		if (s->offset > size || s->size > size - s->offset)
			FAIL("truncated: section %s ends beyond the value", cs_section_name(id));
		/* pos is still the previous section's end: the padding lies in between */
		for (uint64_t p = pos; p < s->offset; p++)
			if (base[p] != 0)
				FAIL("non-zero padding before section %s", cs_section_name(id));
		sec[id] = base + s->offset;
		secsize[id] = s->size;
		pos = s->offset + s->size;
	}
	if (align8(pos) != size)
		FAIL("value of %llu bytes, but its last section ends at byte %llu",
			 (unsigned long long) size, (unsigned long long) pos);
	for (uint64_t p = pos; p < size; p++)
		if (base[p] != 0)
			FAIL("non-zero padding after the last section");

	m->hdr = h;
	m->size = size;
	m->dim = h->dim;
	m->hidden = h->hidden;
	m->n_items = h->n_items;
	m->n_item_columns = h->n_item_columns;
	m->n_item_values = h->n_item_values;
	m->n_user_columns = h->n_user_columns;
	m->n_user_values = h->n_user_values;
	m->content_dim = h->content_dim;
	m->n_kinds = h->n_kinds;
	m->n_labels = h->n_labels;
	m->n_edges = h->n_edges;
	m->history_length = h->history_length;
	m->history_prior = h->history_prior;
	m->half_life = h->half_life;
	m->strings = sec[CS_SEC_STRINGS];
	m->strings_size = secsize[CS_SEC_STRINGS];
	m->item_ids = sec[CS_SEC_ITEM_IDS];
	m->item_vectors = sec[CS_SEC_ITEM_VECTORS];
	m->item_bias = sec[CS_SEC_ITEM_BIAS];
	m->item_columns = sec[CS_SEC_ITEM_COLUMNS];
	m->item_values = sec[CS_SEC_ITEM_VALUES];
	m->item_value_vectors = sec[CS_SEC_ITEM_VALUE_VECTORS];
	m->item_value_bias = sec[CS_SEC_ITEM_VALUE_BIAS];
	m->content_proj = sec[CS_SEC_CONTENT_PROJ];
	m->user_columns = sec[CS_SEC_USER_COLUMNS];
	m->user_values = sec[CS_SEC_USER_VALUES];
	m->user_value_vectors = sec[CS_SEC_USER_VALUE_VECTORS];
	m->user_base = sec[CS_SEC_USER_BASE];
	m->history = sec[CS_SEC_HISTORY];
	m->hidden_w1 = sec[CS_SEC_HIDDEN];
	m->hidden_b1 = m->hidden_w1 + (uint64_t) h->hidden * h->dim;
	m->hidden_w2 = m->hidden_b1 + h->hidden;
	m->kinds = sec[CS_SEC_KINDS];
	m->labels = sec[CS_SEC_LABELS];
	m->edges = sec[CS_SEC_EDGES];
	m->options = sec[CS_SEC_OPTIONS];
	m->n_item_rows = h->n_item_rows;
	m->item_row_start = sec[CS_SEC_ITEM_ROW_START];
	m->item_rows = sec[CS_SEC_ITEM_ROWS];
	m->item_row_weights = sec[CS_SEC_ITEM_ROW_WEIGHTS];
	m->match_weights = sec[CS_SEC_MATCH_WEIGHTS];
	m->size_vectors = sec[CS_SEC_SIZE_VECTORS];

	/* Strings: the pool starts with "" and every string is terminated. */
	if (m->strings[0] != '\0' || m->strings[m->strings_size - 1] != '\0')
		FAIL("string pool is not terminated");
	if (m->options[secsize[CS_SEC_OPTIONS] - 1] != '\0' ||
		memchr(m->options, '\0', secsize[CS_SEC_OPTIONS]) != m->options + secsize[CS_SEC_OPTIONS] - 1)
		FAIL("options text is not terminated");

	for (int64_t i = 1; i < m->n_items; i++)
		if (m->item_ids[i - 1] >= m->item_ids[i])
			FAIL("item ids are not strictly increasing at position %lld", (long long) i);

	for (int id = CS_SEC_ITEM_VECTORS; id <= CS_SEC_HIDDEN; id++)
	{
		if (id == CS_SEC_ITEM_COLUMNS || id == CS_SEC_ITEM_VALUES ||
			id == CS_SEC_USER_COLUMNS || id == CS_SEC_USER_VALUES)
			continue;
		if ((err = check_floats(sec[id], secsize[id] / sizeof(float), id)))
			return err;
	}
	for (int i = 0; i < m->n_edges; i++)
		if (!isfinite(m->edges[i]))
			FAIL("bucket edges hold a non-finite number at position %d", i);

	if ((err = check_columns(m, m->item_columns, m->n_item_columns, m->item_values,
							 m->n_item_values, &edge_cursor, &dense_seen, 1)) ||
		(err = check_columns(m, m->user_columns, m->n_user_columns, m->user_values,
							 m->n_user_values, &edge_cursor, &dense_seen, 0)))
		return err;
	if (edge_cursor != m->n_edges)
		FAIL("numeric columns use %d bucket edges, header says %d", edge_cursor, m->n_edges);
	if (m->content_dim > 0 && !dense_seen)
		FAIL("content dimension %d without a dense item column", m->content_dim);

	/* each item's feature rows: in range, positive weights, offsets in order */
	if (m->item_row_start[0] != 0 || m->item_row_start[m->n_items] != m->n_item_rows)
		FAIL("item feature row offsets do not span the %lld rows", (long long) m->n_item_rows);
	for (int i = 0; i < m->n_items; i++)
		if (m->item_row_start[i] > m->item_row_start[i + 1])
			FAIL("item feature row offsets decrease at item %d", i);
	for (int64_t k = 0; k < m->n_item_rows; k++)
	{
		if (m->item_rows[k] < 0 || m->item_rows[k] >= m->n_item_values)
			FAIL("item feature row %lld refers to value %d of %d", (long long) k,
				 (int) m->item_rows[k], m->n_item_values);
		if (!isfinite(m->item_row_weights[k]) || m->item_row_weights[k] <= 0)
			FAIL("item feature row %lld has a weight that is not positive", (long long) k);
	}
	if ((err = check_floats(m->match_weights, m->n_item_columns, CS_SEC_MATCH_WEIGHTS)) ||
		(err = check_floats(m->size_vectors, (uint64_t) CS_SIZE_BUCKETS * m->dim,
							CS_SEC_SIZE_VECTORS)))
		return err;

	for (int k = 0; k < m->n_kinds; k++)
	{
		if ((err = check_string_ref(m, m->kinds[k].name, "action kind name")))
			return err;
		if (m->strings[m->kinds[k].name] == '\0')
			FAIL("action kind %d has an empty name", k);
		if (!isfinite(m->kinds[k].weight) || m->kinds[k].weight <= 0)
			FAIL("action kind \"%s\" has a weight that is not positive",
				 m->strings + m->kinds[k].name);
	}
	for (int l = 0; l < m->n_labels; l++)
	{
		if ((err = check_string_ref(m, m->labels[l].label, "action label")))
			return err;
		if (m->labels[l].kind < 0 || m->labels[l].kind >= m->n_kinds)
			FAIL("action label \"%s\" maps to kind %d of %d",
				 m->strings + m->labels[l].label, (int) m->labels[l].kind, m->n_kinds);
		if (l > 0 && strcmp(m->strings + m->labels[l - 1].label,
							m->strings + m->labels[l].label) >= 0)
			FAIL("action labels are not sorted and unique");
	}
	return NULL;
}

int
cs_column_find(const CsModel *m, const CsColumn *col, const uint32_t *values,
			   const char *value)
{
	int			lo = col->first,
				hi = col->first + col->count - 1;

	while (lo <= hi)
	{
		int			mid = lo + (hi - lo) / 2;
		int			c = strcmp(m->strings + values[mid], value);

		if (c == 0)
			return mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return -1;
}

int
cs_bucket_of(const double *edges, int n_edges, double x)
{
	int			lo = 0,
				hi = n_edges;

	while (lo < hi)
	{
		int			mid = lo + (hi - lo) / 2;

		if (edges[mid] <= x)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int
cs_column_bucket(const CsModel *m, const CsColumn *col, double x)
{
	return col->first + cs_bucket_of(m->edges + col->first_edge, col->count - 1, x);
}

int64_t
cs_find_id(const int64_t *ids, int64_t n, int64_t id)
{
	int64_t		lo = 0,
				hi = n - 1;

	while (lo <= hi)
	{
		int64_t		mid = lo + (hi - lo) / 2;

		if (ids[mid] == id)
			return mid;
		if (ids[mid] < id)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return -1;
}

int
cs_model_find_item(const CsModel *m, int64_t item_id)
{
	return (int) cs_find_id(m->item_ids, m->n_items, item_id);
}

int
cs_model_find_label(const CsModel *m, const char *label)
{
	int			lo = 0,
				hi = m->n_labels - 1;

	while (lo <= hi)
	{
		int			mid = lo + (hi - lo) / 2;
		int			c = strcmp(m->strings + m->labels[mid].label, label);

		if (c == 0)
			return m->labels[mid].kind;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return -1;
}
