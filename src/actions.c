/*
 * actions.c
 *	  The default mapping of action labels to kinds (view, fav, cart, buy),
 *	  and the weight of a label under a trained model.
 *
 * Labels are compared after normalization: surrounding whitespace removed
 * (including U+00A0 and the ideographic space U+3000 in UTF-8 databases),
 * ASCII letters lowered, and the separators '_', '-' and ' ' dropped.  So
 * the table below only needs one spelling per alias: "addtocart" covers
 * "add_to_cart", "Add-To-Cart" and "ADD TO CART".
 *
 * The table is written in UTF-8.  In a database with another encoding the
 * aliases are converted once per backend; an alias with no equivalent in
 * that encoding (Chinese in a LATIN1 database) simply never matches.
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "mb/pg_wchar.h"

#include "actions.h"

const char *const cs_default_kind_names[CS_N_DEFAULT_KINDS] = {
	"view", "fav", "cart", "buy"
};

const float cs_default_kind_weights[CS_N_DEFAULT_KINDS] = {
	1.0f, 2.0f, 3.0f, 4.0f
};

/* Normalized labels longer than this (in bytes) match nothing. */
#define ALIAS_MAX_BYTES 48

typedef struct ActionAlias
{
	const char *label;			/* normalized, UTF-8 */
	CsActionKind kind;
} ActionAlias;

static const ActionAlias default_aliases[] = {
	{"view", CS_KIND_VIEW},
	{"pv", CS_KIND_VIEW},
	{"click", CS_KIND_VIEW},
	{"browse", CS_KIND_VIEW},
	{"pageview", CS_KIND_VIEW},
	{"浏览", CS_KIND_VIEW},
	{"点击", CS_KIND_VIEW},
	{"fav", CS_KIND_FAV},
	{"favorite", CS_KIND_FAV},
	{"favourite", CS_KIND_FAV},
	{"like", CS_KIND_FAV},
	{"wishlist", CS_KIND_FAV},
	{"addtowishlist", CS_KIND_FAV},
	{"收藏", CS_KIND_FAV},
	{"cart", CS_KIND_CART},
	{"addtocart", CS_KIND_CART},
	{"addtobasket", CS_KIND_CART},
	{"加入购物车", CS_KIND_CART},
	{"加购", CS_KIND_CART},
	{"buy", CS_KIND_BUY},
	{"purchase", CS_KIND_BUY},
	{"transaction", CS_KIND_BUY},
	{"order", CS_KIND_BUY},
	{"购买", CS_KIND_BUY},
	{"下单", CS_KIND_BUY},
};

#define N_ALIASES lengthof(default_aliases)

/* The aliases in the database encoding, built on first use. */
typedef struct ServerAlias
{
	char		bytes[ALIAS_MAX_BYTES + 1];
	int			len;
	CsActionKind kind;
} ServerAlias;

static ServerAlias server_aliases[N_ALIASES];
static int	n_server_aliases = -1;

static bool
is_ascii(const char *s)
{
	for (; *s; s++)
		if (IS_HIGHBIT_SET(*s))
			return false;
	return true;
}

/*
 * Convert the aliases to the database encoding.  Runs inside a transaction
 * (we are called from SQL functions), as the conversion lookup needs one.
 */
static void
build_server_aliases(void)
{
	int			encoding = GetDatabaseEncoding();
	Oid			proc = InvalidOid;
	int			n = 0;

	if (encoding != PG_UTF8 && encoding != PG_SQL_ASCII)
		proc = FindDefaultConversionProc(PG_UTF8, encoding);

	for (int i = 0; i < (int) N_ALIASES; i++)
	{
		const char *label = default_aliases[i].label;
		int			len = strlen(label);
		ServerAlias *a = &server_aliases[n];

		if (encoding == PG_UTF8 || encoding == PG_SQL_ASCII || is_ascii(label))
		{
			Assert(len <= ALIAS_MAX_BYTES);
			memcpy(a->bytes, label, len + 1);
			a->len = len;
		}
		else
		{
			/* Room for the worst-case growth the conversion API assumes. */
			unsigned char buf[MAX_CONVERSION_GROWTH * ALIAS_MAX_BYTES + 1];
			int			done;

			if (!OidIsValid(proc))
				continue;
			done = pg_do_encoding_conversion_buf(proc, PG_UTF8, encoding,
												 (unsigned char *) label, len,
												 buf, sizeof(buf), true);
			if (done != len || strlen((char *) buf) > ALIAS_MAX_BYTES)
				continue;
			a->len = strlen((char *) buf);
			memcpy(a->bytes, buf, a->len + 1);
		}
		a->kind = default_aliases[i].kind;
		n++;
	}
	n_server_aliases = n;
}

static inline bool
is_ascii_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/* Length of the UTF-8 space character (NBSP, U+3000) at p, or 0. */
static inline int
utf8_space_at(const unsigned char *p, const unsigned char *end)
{
	if (end - p >= 2 && p[0] == 0xC2 && p[1] == 0xA0)
		return 2;
	if (end - p >= 3 && p[0] == 0xE3 && p[1] == 0x80 && p[2] == 0x80)
		return 3;
	return 0;
}

/* Same, for a space character ending just before end. */
static inline int
utf8_space_before(const unsigned char *start, const unsigned char *end)
{
	if (end - start >= 2 && utf8_space_at(end - 2, end) == 2)
		return 2;
	if (end - start >= 3 && utf8_space_at(end - 3, end) == 3)
		return 3;
	return 0;
}

/*
 * Normalize label into out (ALIAS_MAX_BYTES bytes); returns the length, or
 * -1 if the result would be longer than any alias.  Every server encoding
 * keeps ASCII bytes out of its multibyte characters, so the byte-wise ASCII
 * work below never splits a character.
 */
static int
normalize_label(const char *label, int len, char *out)
{
	const unsigned char *p = (const unsigned char *) label;
	const unsigned char *end = p + len;
	bool		utf8 = GetDatabaseEncoding() == PG_UTF8;
	int			n = 0;

	for (;;)
	{
		int			skip = 0;

		if (p < end && is_ascii_space(*p))
			skip = 1;
		else if (utf8)
			skip = utf8_space_at(p, end);
		if (skip == 0)
			break;
		p += skip;
	}
	for (;;)
	{
		int			skip = 0;

		if (p < end && is_ascii_space(end[-1]))
			skip = 1;
		else if (utf8)
			skip = utf8_space_before(p, end);
		if (skip == 0)
			break;
		end -= skip;
	}

	for (; p < end; p++)
	{
		if (*p == '_' || *p == '-' || *p == ' ')
			continue;
		if (n == ALIAS_MAX_BYTES)
			return -1;
		out[n++] = (char) pg_ascii_tolower(*p);
	}
	return n;
}

int
cs_default_action_kind(const char *label, int len)
{
	char		norm[ALIAS_MAX_BYTES];
	int			n;

	if (label == NULL)
		return -1;
	if (len < 0)
		len = strlen(label);

	n = normalize_label(label, len, norm);
	if (n <= 0)
		return -1;

	if (n_server_aliases < 0)
		build_server_aliases();
	for (int i = 0; i < n_server_aliases; i++)
	{
		if (server_aliases[i].len == n &&
			memcmp(server_aliases[i].bytes, norm, n) == 0)
			return server_aliases[i].kind;
	}
	return -1;
}

/* Weight of a label: the model's mapping, then the default one, else 1. */
float
cs_label_weight(const CsModel *m, const char *label)
{
	int			k,
				def;

	if (label == NULL)
		return 1.0f;
	k = cs_model_find_label(m, label);
	if (k >= 0)
		return m->kinds[k].weight;
	def = cs_default_action_kind(label, strlen(label));
	if (def >= 0)
		for (k = 0; k < m->n_kinds; k++)
			if (strcmp(cs_model_string(m, m->kinds[k].name), cs_default_kind_names[def]) == 0)
				return m->kinds[k].weight;
	return 1.0f;
}
