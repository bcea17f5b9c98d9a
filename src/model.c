/*
 * model.c
 *	  The coldstart.model type: text and binary I/O, model_info(), and the
 *	  builder that training uses to lay out a value.
 *
 * The text form is the base64 encoding of the value's bytes after the
 * varlena header, so it round-trips bit for bit through pg_dump.  The binary
 * form (COPY BINARY, replication of values in the binary protocol) is the
 * same bytes, raw.
 */
#include "postgres.h"

#include "common/base64.h"
#include "common/jsonapi.h"
#include "fmgr.h"
#include "libpq/pqformat.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/jsonb.h"

#include "model.h"

static void
report_invalid(int sqlstate, const char *reason)
{
	ereport(ERROR,
			(errcode(sqlstate),
			 errmsg("invalid coldstart model: %s", reason)));
}

/*
 * What the freestanding decoder cannot check: strings in the pool must be
 * valid in the database encoding, and the options text (embedded as is in
 * model_info()'s output) empty or a JSON object.
 */
static void
check_strings(const CsModel *m, int sqlstate)
{
	uint64		pos = 0;
	size_t		optlen = strlen(m->options);

	while (pos < m->strings_size)
	{
		size_t		len = strlen(m->strings + pos);

		if (!pg_verifymbstr(m->strings + pos, len, true))
			report_invalid(sqlstate, "string pool is not valid in the database encoding");
		pos += len + 1;
	}
	if (!pg_verifymbstr(m->options, optlen, true))
		report_invalid(sqlstate, "options text is not valid in the database encoding");
	if (optlen > 0)
	{
		JsonLexContext *lex = makeJsonLexContextCstringLen((char *) m->options, optlen,
														   GetDatabaseEncoding(), false);
		const char *p = m->options;

		while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
			p++;
		if (*p != '{' || pg_parse_json(lex, &nullSemAction) != JSON_SUCCESS)
			report_invalid(sqlstate, "options text is not a JSON object");
	}
}

void
cs_model_open_varlena(struct varlena *v, CsModel *m)
{
	const char *reason;

	if (VARATT_IS_SHORT(v) || ((uintptr_t) v % 8) != 0)
		report_invalid(ERRCODE_INVALID_BINARY_REPRESENTATION, "value is not aligned");
	reason = cs_model_check(v, VARSIZE(v), m);
	if (reason != NULL)
		report_invalid(ERRCODE_INVALID_BINARY_REPRESENTATION, reason);
	check_strings(m, ERRCODE_INVALID_BINARY_REPRESENTATION);
}

struct varlena *
cs_model_open(Datum datum, CsModel *m)
{
	struct varlena *v = PG_DETOAST_DATUM(datum);

	/* An unaligned or short-header value: make an aligned copy. */
	if (VARATT_IS_SHORT(v) || ((uintptr_t) v % 8) != 0)
	{
		Size		len = VARSIZE_ANY_EXHDR(v);
		struct varlena *copy = palloc(len + VARHDRSZ);

		SET_VARSIZE(copy, len + VARHDRSZ);
		memcpy(VARDATA(copy), VARDATA_ANY(v), len);
		v = copy;
	}
	cs_model_open_varlena(v, m);
	return v;
}

/* Build a varlena from the bytes after its header, and validate it. */
static struct varlena *
model_from_body(const char *body, Size len, int sqlstate)
{
	struct varlena *v;
	CsModel		m;
	const char *reason;

	if (len > CS_MODEL_MAX_BYTES)
		report_invalid(sqlstate, "value exceeds the size limit");
	v = palloc(len + VARHDRSZ);
	SET_VARSIZE(v, len + VARHDRSZ);
	memcpy(VARDATA(v), body, len);
	reason = cs_model_check(v, len + VARHDRSZ, &m);
	if (reason != NULL)
		report_invalid(sqlstate, reason);
	check_strings(&m, sqlstate);
	return v;
}

PG_FUNCTION_INFO_V1(model_in);
Datum
model_in(PG_FUNCTION_ARGS)
{
	char	   *str = PG_GETARG_CSTRING(0);
	int			len;
	int			maxlen;
	char	   *body;
	int			n;

	/* whitespace is skipped, as decode(..., 'base64') does: encode() breaks lines */
	if (strpbrk(str, " \t\r\n") != NULL)
	{
		char	   *in = str;

		str = palloc(strlen(in) + 1);
		len = 0;
		for (const char *c = in; *c; c++)
			if (*c != ' ' && *c != '\t' && *c != '\n' && *c != '\r')
				str[len++] = *c;
		str[len] = '\0';
	}
	len = strlen(str);
	if (len == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("invalid coldstart model: empty input"),
				 errhint("A model's text form is the base64 text that coldstart.model output produces.")));
	maxlen = pg_b64_dec_len(len);
	body = palloc(maxlen + 1);
	n = pg_b64_decode(str, len, body, maxlen);
	if (n < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("invalid coldstart model: not valid base64"),
				 errhint("A model's text form is the base64 text that coldstart.model output produces.")));
	PG_RETURN_POINTER(model_from_body(body, n, ERRCODE_INVALID_TEXT_REPRESENTATION));
}

PG_FUNCTION_INFO_V1(model_out);
Datum
model_out(PG_FUNCTION_ARGS)
{
	CsModel		m;
	struct varlena *v = cs_model_open(PG_GETARG_DATUM(0), &m);
	int			len = VARSIZE(v) - VARHDRSZ;
	int			outlen = pg_b64_enc_len(len);
	char	   *out = palloc(outlen + 1);
	int			n = pg_b64_encode(VARDATA(v), len, out, outlen);

	if (n < 0)
		elog(ERROR, "could not encode coldstart model as base64");
	out[n] = '\0';
	PG_RETURN_CSTRING(out);
}

PG_FUNCTION_INFO_V1(model_recv);
Datum
model_recv(PG_FUNCTION_ARGS)
{
	StringInfo	buf = (StringInfo) PG_GETARG_POINTER(0);
	int			len = buf->len - buf->cursor;
	const char *body = pq_getmsgbytes(buf, len);

	PG_RETURN_POINTER(model_from_body(body, len, ERRCODE_INVALID_BINARY_REPRESENTATION));
}

PG_FUNCTION_INFO_V1(model_send);
Datum
model_send(PG_FUNCTION_ARGS)
{
	CsModel		m;
	struct varlena *v = cs_model_open(PG_GETARG_DATUM(0), &m);
	StringInfoData buf;

	pq_begintypsend(&buf);
	pq_sendbytes(&buf, VARDATA(v), VARSIZE(v) - VARHDRSZ);
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

static const char *
column_kind_name(int kind)
{
	switch (kind)
	{
		case CS_COL_CATEGORICAL:
			return "categorical";
		case CS_COL_NUMERIC:
			return "numeric";
		case CS_COL_DENSE:
			return "dense";
	}
	return "unknown";
}

static void
append_columns(StringInfo s, const CsModel *m, const CsColumn *cols, int n,
			   const float *match_weights)
{
	appendStringInfoChar(s, '[');
	for (int c = 0; c < n; c++)
	{
		if (c > 0)
			appendStringInfoString(s, ", ");
		appendStringInfoString(s, "{\"name\": ");
		escape_json(s, cs_model_string(m, cols[c].name));
		appendStringInfo(s, ", \"kind\": \"%s\"", column_kind_name(cols[c].kind));
		if (cols[c].kind == CS_COL_CATEGORICAL)
			appendStringInfo(s, ", \"values\": %d, \"multi_valued\": %s", cols[c].count,
							 (cols[c].flags & CS_COLF_ARRAY) ? "true" : "false");
		else if (cols[c].kind == CS_COL_NUMERIC)
			appendStringInfo(s, ", \"buckets\": %d", cols[c].count);
		else
			appendStringInfo(s, ", \"dimension\": %d", cols[c].dim);
		if (match_weights != NULL && cols[c].kind != CS_COL_DENSE)
			appendStringInfo(s, ", \"match_weight\": %.4f", (double) match_weights[c]);
		appendStringInfoChar(s, '}');
	}
	appendStringInfoChar(s, ']');
}

PG_FUNCTION_INFO_V1(model_info);
Datum
model_info(PG_FUNCTION_ARGS)
{
	CsModel		m;
	StringInfoData s;

	cs_model_open(PG_GETARG_DATUM(0), &m);
	initStringInfo(&s);
	appendStringInfo(&s,
					 "{\"format_version\": %d, \"size_bytes\": " UINT64_FORMAT
					 ", \"dimension\": %d, \"hidden\": %d, \"items\": %d"
					 ", \"content_dimension\": %d, \"history_length\": %d, \"history_prior\": %g"
					 ", \"half_life_seconds\": %.17g"
					 ", \"item_vocabulary\": %d, \"user_vocabulary\": %d"
					 ", \"item_columns\": ",
					 (int) m.hdr->format_version, m.size, m.dim, m.hidden, m.n_items,
					 m.content_dim, m.history_length, (double) m.history_prior, m.half_life,
					 m.n_item_values, m.n_user_values);
	append_columns(&s, &m, m.item_columns, m.n_item_columns, m.match_weights);
	appendStringInfoString(&s, ", \"user_columns\": ");
	append_columns(&s, &m, m.user_columns, m.n_user_columns, NULL);
	appendStringInfoString(&s, ", \"action_kinds\": {");
	for (int k = 0; k < m.n_kinds; k++)
	{
		if (k > 0)
			appendStringInfoString(&s, ", ");
		escape_json(&s, cs_model_string(&m, m.kinds[k].name));
		appendStringInfo(&s, ": %g", (double) m.kinds[k].weight);
	}
	appendStringInfoString(&s, "}, \"action_labels\": {");
	for (int l = 0; l < m.n_labels; l++)
	{
		if (l > 0)
			appendStringInfoString(&s, ", ");
		escape_json(&s, cs_model_string(&m, m.labels[l].label));
		appendStringInfoString(&s, ": ");
		escape_json(&s, cs_model_string(&m, m.kinds[m.labels[l].kind].name));
	}
	appendStringInfo(&s, "}, \"options\": %s}", m.options[0] ? m.options : "{}");

	PG_RETURN_DATUM(DirectFunctionCall1(jsonb_in, CStringGetDatum(s.data)));
}

/* ---------- building ---------- */

void
cs_builder_init(CsModelBuilder *b)
{
	memset(b, 0, sizeof(*b));
	b->hdr.magic = CS_MODEL_MAGIC;
	b->hdr.format_version = CS_MODEL_FORMAT;
	b->hdr.header_size = sizeof(CsModelHeader);
	b->hdr.n_sections = CS_SEC_COUNT;
	initStringInfo(&b->strings);
	appendStringInfoChar(&b->strings, '\0');
}

uint32
cs_builder_string(CsModelBuilder *b, const char *s)
{
	uint32		off = b->strings.len;

	appendBinaryStringInfo(&b->strings, s, strlen(s) + 1);
	return off;
}

void
cs_builder_section(CsModelBuilder *b, int id, const void *data, uint64 size)
{
	Assert(id >= 1 && id <= CS_SEC_COUNT && id != CS_SEC_STRINGS);
	b->data[id] = data;
	b->size[id] = size;
}

uint64
cs_builder_total_size(CsModelBuilder *b)
{
	uint64		pos = sizeof(CsModelHeader) + CS_SEC_COUNT * sizeof(CsSection);

	b->data[CS_SEC_STRINGS] = b->strings.data;
	b->size[CS_SEC_STRINGS] = b->strings.len;
	if (b->size[CS_SEC_OPTIONS] == 0)
	{
		b->data[CS_SEC_OPTIONS] = "";
		b->size[CS_SEC_OPTIONS] = 1;
	}
	for (int id = 1; id <= CS_SEC_COUNT; id++)
		pos = TYPEALIGN(8, pos) + b->size[id];
	return TYPEALIGN(8, pos);
}

uint64
cs_model_layout_size(const CsModelHeader *hdr, uint64 strings_bytes, uint64 options_bytes)
{
	uint64		pos = sizeof(CsModelHeader) + CS_SEC_COUNT * sizeof(CsSection);

	for (int id = 1; id <= CS_SEC_COUNT; id++)
		pos = TYPEALIGN(8, pos) + (id == CS_SEC_STRINGS ? strings_bytes :
								   id == CS_SEC_OPTIONS ? options_bytes :
								   cs_section_expected_size(hdr, id));
	return TYPEALIGN(8, pos);
}

char *
cs_format_bytes(uint64 bytes)
{
	if (bytes >= (uint64) 10 * 1024 * 1024 * 1024)
		return psprintf(UINT64_FORMAT " GB", bytes / ((uint64) 1024 * 1024 * 1024));
	if (bytes >= 10 * 1024 * 1024)
		return psprintf(UINT64_FORMAT " MB", bytes / (1024 * 1024));
	if (bytes >= 10 * 1024)
		return psprintf(UINT64_FORMAT " kB", bytes / 1024);
	return psprintf(UINT64_FORMAT " bytes", bytes);
}

void
cs_model_check_size(uint64 bytes, const CsModelHeader *h)
{
	if (bytes > CS_MODEL_MAX_BYTES)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("the model would take %s, more than the %s a coldstart.model can hold",
						cs_format_bytes(bytes), cs_format_bytes(CS_MODEL_MAX_BYTES)),
				 errdetail("It would hold %d items, %d item and %d user feature values, of dimension %d.",
						   h->n_items, h->n_item_values, h->n_user_values, h->dim),
				 errhint("Lower the option \"dim\", train on fewer items (coldstart.max_items), or leave out feature columns with many distinct values.")));
}

struct varlena *
cs_builder_finish(CsModelBuilder *b)
{
	uint64		total = cs_builder_total_size(b);
	uint64		pos = sizeof(CsModelHeader) + CS_SEC_COUNT * sizeof(CsSection);
	char	   *buf;
	CsModelHeader *h;
	CsModel		m;
	const char *reason;

	cs_model_check_size(total, &b->hdr);

	buf = palloc0(total);
	h = (CsModelHeader *) buf;
	memcpy(h, &b->hdr, sizeof(CsModelHeader));
	for (int id = 1; id <= CS_SEC_COUNT; id++)
	{
		pos = TYPEALIGN(8, pos);
		CS_MODEL_SECTIONS(h)[id - 1].id = id;
		CS_MODEL_SECTIONS(h)[id - 1].offset = pos;
		CS_MODEL_SECTIONS(h)[id - 1].size = b->size[id];
		if (b->size[id] > 0)
			memcpy(buf + pos, b->data[id], b->size[id]);
		pos += b->size[id];
	}
	SET_VARSIZE(buf, total);

	reason = cs_model_check(buf, total, &m);
	if (reason != NULL)
		elog(ERROR, "coldstart built an invalid model: %s", reason);
	return (struct varlena *) buf;
}
