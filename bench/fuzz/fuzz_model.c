/*
 * fuzz_model.c
 *	  libFuzzer harness of the model decoder, cs_model_check() in
 *	  src/model_format.c, built outside the server from the same source file.
 *
 * Each input is the bytes of a model after its varlena header, exactly what
 * the text form base64-encodes and the binary form sends.  The harness lays
 * them out as the server does (a 4-byte header, then the bytes, in a block
 * of exactly that size so that AddressSanitizer sees one byte past the end)
 * and decodes them.  When the decoder accepts a value, the harness then does
 * what model_info() and serving do with a decoded model: follow every
 * string offset, vocabulary row, bucket edge and label, and read every
 * float, and traps if an accepted value breaks a promise of the decoder.
 * See run.sh.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model_format.h"

#define REQUIRE(cond) do { if (!(cond)) __builtin_trap(); } while (0)

static volatile double sink;
static int	verbose = -1;		/* CS_FUZZ_VERBOSE set: print each verdict */
static uint64_t n_inputs,
			n_valid;

static void
report(void)
{
	fprintf(stderr, "cs_model_check: %llu inputs, %llu valid models\n",
			(unsigned long long) n_inputs, (unsigned long long) n_valid);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void) argc;
	(void) argv;
	atexit(report);
	return 0;
}

static double
sum_floats(const float *x, uint64_t n)
{
	double		s = 0;

	for (uint64_t i = 0; i < n; i++)
	{
		REQUIRE(isfinite(x[i]));
		s += x[i];
	}
	return s;
}

static size_t
touch_string(const CsModel *m, uint32_t off)
{
	REQUIRE((uint64_t) off < m->strings_size);
	return strlen(cs_model_string(m, off));
}

/* What serving does with a side's columns: find values, bucket numbers. */
static void
exercise_columns(const CsModel *m, const CsColumn *cols, int ncols,
				 const uint32_t *values, int nvalues, const float *value_vectors,
				 const float *value_bias)
{
	for (int c = 0; c < ncols; c++)
	{
		const CsColumn *col = &cols[c];

		sink += touch_string(m, col->name);
		REQUIRE(col->first >= 0 && col->count >= 0 && col->first + col->count <= nvalues);
		if (col->kind == CS_COL_CATEGORICAL)
		{
			for (int r = col->first; r < col->first + col->count; r++)
			{
				const char *v = cs_model_string(m, values[r]);
				int			found = cs_column_find(m, col, values, v);

				REQUIRE(found == r);
				sink += sum_floats(value_vectors + (uint64_t) r * m->dim, m->dim);
				if (value_bias)
					sink += value_bias[r];
			}
			sink += cs_column_find(m, col, values, "");
		}
		else if (col->kind == CS_COL_NUMERIC)
		{
			static const double probes[] = {-1e300, -1, 0, 0.5, 1, 1e300};

			REQUIRE(col->count >= 1 && col->first_edge >= 0 &&
					col->first_edge + col->count - 1 <= m->n_edges);
			for (int e = 0; e < col->count - 1; e++)
			{
				int			b = cs_column_bucket(m, col, m->edges[col->first_edge + e]);

				REQUIRE(b >= col->first && b < col->first + col->count);
			}
			for (size_t p = 0; p < sizeof(probes) / sizeof(probes[0]); p++)
			{
				int			b = cs_column_bucket(m, col, probes[p]);

				REQUIRE(b >= col->first && b < col->first + col->count);
				sink += sum_floats(value_vectors + (uint64_t) b * m->dim, m->dim);
			}
		}
		else
		{
			REQUIRE(col->kind == CS_COL_DENSE);
			REQUIRE(col->dim == m->content_dim && m->content_dim > 0);
		}
	}
}

static void
exercise(const CsModel *m)
{
	sink += sum_floats(m->item_vectors, (uint64_t) m->n_items * m->dim);
	sink += sum_floats(m->item_bias, m->n_items);
	for (int i = 0; i < m->n_items; i++)
		REQUIRE(cs_model_find_item(m, m->item_ids[i]) == i);
	sink += cs_model_find_item(m, INT64_MIN) + cs_model_find_item(m, INT64_MAX);

	exercise_columns(m, m->item_columns, m->n_item_columns, m->item_values,
					 m->n_item_values, m->item_value_vectors, m->item_value_bias);
	exercise_columns(m, m->user_columns, m->n_user_columns, m->user_values,
					 m->n_user_values, m->user_value_vectors, NULL);

	/* each item's feature rows, as serving builds item vectors from them */
	REQUIRE(m->item_row_start[0] == 0 && m->item_row_start[m->n_items] == m->n_item_rows);
	for (int i = 0; i < m->n_items; i++)
	{
		REQUIRE(m->item_row_start[i] <= m->item_row_start[i + 1]);
		for (int64_t k = m->item_row_start[i]; k < m->item_row_start[i + 1]; k++)
		{
			REQUIRE(m->item_rows[k] >= 0 && m->item_rows[k] < m->n_item_values);
			REQUIRE(m->item_row_weights[k] > 0 && isfinite(m->item_row_weights[k]));
			sink += sum_floats(m->item_value_vectors + (uint64_t) m->item_rows[k] * m->dim, m->dim);
		}
	}
	sink += sum_floats(m->match_weights, m->n_item_columns);
	sink += sum_floats(m->content_proj, (uint64_t) m->content_dim * m->dim);
	sink += sum_floats(m->user_base, m->dim);
	sink += sum_floats(m->history, (uint64_t) m->dim * m->dim);
	sink += sum_floats(m->hidden_w1, (uint64_t) m->hidden * m->dim);
	sink += sum_floats(m->hidden_b1, m->hidden);
	sink += sum_floats(m->hidden_w2, (uint64_t) m->dim * m->hidden);

	for (int k = 0; k < m->n_kinds; k++)
	{
		REQUIRE(touch_string(m, m->kinds[k].name) > 0);
		REQUIRE(m->kinds[k].weight > 0);
	}
	for (int l = 0; l < m->n_labels; l++)
	{
		const char *label = cs_model_string(m, m->labels[l].label);

		sink += touch_string(m, m->labels[l].label);
		REQUIRE(m->labels[l].kind >= 0 && m->labels[l].kind < m->n_kinds);
		sink += touch_string(m, m->kinds[m->labels[l].kind].name);
		REQUIRE(cs_model_find_label(m, label) == m->labels[l].kind);
	}
	for (int e = 0; e < m->n_edges; e++)
		REQUIRE(isfinite(m->edges[e]));
	sink += strlen(m->options);
	REQUIRE(m->half_life > 0 && isfinite(m->half_life));
	REQUIRE(m->history_length >= 1);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t	total = (uint64_t) size + 4;
	uint32_t	vl_len = (uint32_t) (total << 2);	/* a 4-byte varlena header */
	unsigned char *buf = malloc(total);		/* 16-byte aligned, exact size */
	CsModel		m;
	const char *reason;

	if (buf == NULL)
		return 0;
	memcpy(buf, &vl_len, 4);
	if (size > 0)
		memcpy(buf + 4, data, size);
	reason = cs_model_check(buf, total, &m);
	if (verbose < 0)
		verbose = getenv("CS_FUZZ_VERBOSE") != NULL;
	if (verbose)
		fprintf(stderr, "%zu bytes: %s\n", size, reason ? reason : "valid");
	n_inputs++;
	if (reason == NULL)
	{
		n_valid++;
		exercise(&m);
	}
	else
		sink += strlen(reason);
	free(buf);
	return 0;
}
