/*
 * demo.c
 *	  Seeded demo data: the items, users and behaviours of a small shop.
 *
 * The project never ships real datasets, so its tests, examples and
 * benchmarks run on data made here.  All of it is a pure function of the
 * arguments: an item's attributes depend only on (seed, item_id, items), a
 * user's on (seed, user_id), and a user's history on the seed, the catalogue
 * and the number of behaviours the user was given.  Any code can therefore
 * recompute an item or a user (see demo.h) without reading a table.
 *
 * The generative model:
 *
 * - A category has a size, a popularity, a median price and, for each gender
 *	 and age band, a shift of its log-popularity.
 * - An item belongs to a category and to one of its brands (a few big brands
 *	 hold most items).  Its price is lognormal around the category's median,
 *	 moved by a brand premium.  A hidden quality shows in its rating, and an
 *	 appeal (quality, brand, price, noise) ranks it within its category; views
 *	 of a category follow a Zipf law over that rank, so a few items form a
 *	 popular head and the item's features predict its popularity.
 * - A user gets a heavy-tailed (lognormal) share of all behaviours, and a
 *	 few favourite categories drawn from the category distribution of the
 *	 user's gender and age band, which makes user attributes informative.
 * - The user spends the share in sessions spread over an activity window,
 *	 with a daily rhythm.  A session picks a favourite category (or, at
 *	 times, explores), views a handful of items of it, sometimes switches
 *	 category or comes back to a recently viewed item.  A view leads to a fav
 *	 (6%) or a cart (8%); 40% of carts are bought, right away or at the start
 *	 of a later session.
 *
 * Generators return one row per call so that memory stays flat however many
 * rows are asked for; the per-call tables (categories, items by category,
 * Zipf and category distributions) live in the SRF's multi-call context.
 * Randomness comes from splitmix64 hashes of (seed, stream, id), which seed
 * a xoshiro256** generator per entity; never from random().
 */
#include "postgres.h"

#include <float.h>
#include <math.h>

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "nodes/nodeFuncs.h"
#include "nodes/supportnodes.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/numeric.h"
#include "utils/timestamp.h"

#include "demo.h"

PG_FUNCTION_INFO_V1(demo_items);
PG_FUNCTION_INFO_V1(demo_users);
PG_FUNCTION_INFO_V1(demo_behaviours);

/* ---------------------------------------------------------------------
 * Random numbers
 * ---------------------------------------------------------------------
 */

#define GOLDEN64	UINT64CONST(0x9e3779b97f4a7c15)

/* Independent streams, so that adding an attribute never shifts another. */
#define STREAM_CATEGORY		1
#define STREAM_ITEM			2
#define STREAM_BRAND		3
#define STREAM_USER			4
#define STREAM_BEHAVIOUR	5
#define STREAM_CATEGORY_VEC 6
#define STREAM_BRAND_VEC	7
#define STREAM_ITEM_VEC		8
#define STREAM_BRAND_NAME	9

/* The splitmix64 finaliser. */
static inline uint64
mix64(uint64 z)
{
	z = (z ^ (z >> 30)) * UINT64CONST(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64CONST(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

static inline uint64
demo_hash(int32 seed, uint64 stream, uint64 id)
{
	uint64		h = mix64((uint64) (uint32) seed + GOLDEN64);

	h = mix64(h ^ (stream * GOLDEN64));
	return mix64(h + id * GOLDEN64);
}

/* xoshiro256**, seeded through splitmix64 as its authors recommend. */
typedef struct DemoRng
{
	uint64		s[4];
} DemoRng;

static inline uint64
rotl64(uint64 x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static void
rng_seed(DemoRng *r, uint64 seed)
{
	for (int i = 0; i < 4; i++)
	{
		seed += GOLDEN64;
		r->s[i] = mix64(seed);
	}
}

static inline uint64
rng_next(DemoRng *r)
{
	uint64	   *s = r->s;
	uint64		result = rotl64(s[1] * 5, 7) * 9;
	uint64		t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl64(s[3], 45);
	return result;
}

/* Uniform on [0, 1). */
static inline double
rng_u01(DemoRng *r)
{
	return (rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
}

/* Uniform on (0, 1], safe to take the log of. */
static inline double
rng_open01(DemoRng *r)
{
	return ((rng_next(r) >> 11) + 1) * (1.0 / 9007199254740992.0);
}

static inline double
rng_exp(DemoRng *r)
{
	return -log(rng_open01(r));
}

/* Uniform integer in [0, n), n > 0; the bias is below 2^-32 for our n. */
static inline int
rng_below(DemoRng *r, int n)
{
	return (int) (((rng_next(r) >> 32) * (uint64) n) >> 32);
}

/* Standard normal (Box-Muller). */
static double
rng_gauss(DemoRng *r)
{
	double		u1 = rng_open01(r);
	double		u2 = rng_u01(r);

	return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

/*
 * Approximately normal, from the sum of four 16-bit uniforms: no libm call,
 * which matters for embeddings of a thousand dimensions.
 */
static inline float
rng_gauss_fast(DemoRng *r)
{
	uint64		x = rng_next(r);
	int32		sum = (int32) (x & 0xffff) + (int32) ((x >> 16) & 0xffff) +
		(int32) ((x >> 32) & 0xffff) + (int32) (x >> 48);

	return (float) ((sum - 131070.0) * (1.0 / 37837.23));
}

/*
 * Index of the first entry of a cumulative weight table that exceeds u times
 * the total.  Entries of weight zero are never returned, as long as the
 * total is positive.
 */
static int32
search_cum(const double *cum, int32 n, double u)
{
	double		total = cum[n - 1];
	double		x = u * total;
	int32		lo = 0;
	int32		hi = n - 1;

	if (x >= total)
		x = nextafter(total, 0.0);
	while (lo < hi)
	{
		int32		mid = lo + (hi - lo) / 2;

		if (cum[mid] > x)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

/* cum[k] = sum of (i + 1)^-exponent for i <= k. */
static void
fill_zipf_cum(double *cum, int32 n, double exponent)
{
	double		sum = 0.0;

	for (int32 i = 0; i < n; i++)
	{
		sum += pow((double) (i + 1), -exponent);
		cum[i] = sum;
	}
}

/* ---------------------------------------------------------------------
 * Names and fixed tables
 * ---------------------------------------------------------------------
 */

#define DEMO_MIN_CATEGORIES			5
#define DEMO_ITEMS_PER_CATEGORY		40
#define DEMO_ITEMS_PER_BRAND		8.0

/* The first categories have names and typical median prices. */
static const struct
{
	const char *name;
	double		price;
}			named_categories[] =
{
	{"shoes", 60}, {"phones", 350}, {"laptops", 900}, {"books", 15},
	{"toys", 25}, {"beauty", 20}, {"kitchen", 35}, {"furniture", 250},
	{"sports", 40}, {"clothing", 35}, {"jewelry", 80}, {"watches", 150},
	{"bags", 50}, {"garden", 30}, {"pets", 20}, {"grocery", 6},
	{"baby", 25}, {"cameras", 450}, {"headphones", 80}, {"televisions", 600},
	{"games", 45}, {"tools", 40}, {"automotive", 30}, {"office", 15},
	{"music", 20}, {"health", 18}, {"bedding", 45}, {"lighting", 35},
	{"outdoor", 60}, {"stationery", 8}, {"snacks", 4}, {"drinks", 5},
	{"tablets", 400}, {"smarthome", 70}, {"fitness", 45}, {"crafts", 12},
	{"luggage", 90}, {"eyewear", 60}, {"skincare", 25}, {"fragrance", 55},
};

#define N_NAMED_CATEGORIES lengthof(named_categories)

static const char *const tag_names[] = {
	"bestseller", "premium", "sale", "new", "free_shipping", "eco", "gift",
	"limited", "handmade", "imported", "bundle", "refurbished", "organic",
	"vegan", "waterproof", "wireless", "kids", "unisex", "vintage",
	"clearance", "exclusive", "travel", "compact", "local",
};

#define N_TAGS		lengthof(tag_names)
#define TAG_BESTSELLER	0
#define TAG_PREMIUM		1
#define TAG_SALE		2

static const char *const city_names[] = {
	"london", "paris", "berlin", "madrid", "rome", "amsterdam", "vienna",
	"warsaw", "prague", "stockholm", "copenhagen", "dublin", "lisbon",
	"brussels", "munich", "milan", "barcelona", "hamburg", "lyon", "zurich",
	"oslo", "helsinki", "athens", "budapest", "krakow", "porto", "seville",
	"rotterdam", "antwerp", "geneva",
};

#define N_CITIES	lengthof(city_names)

/* Sign-up channels: share of users and relative activity. */
static const struct
{
	const char *name;
	double		share;
	double		activity;
}			channels[] =
{
	{"organic", 0.35, 1.2}, {"search", 0.25, 1.0}, {"social", 0.15, 0.9},
	{"ads", 0.12, 0.6}, {"referral", 0.08, 1.1}, {"email", 0.05, 1.3},
};

#define N_CHANNELS	lengthof(channels)

/* Relative traffic per hour of the day (UTC): night low, evening peak. */
static const double hourly_traffic[24] = {
	0.55, 0.35, 0.22, 0.15, 0.12, 0.14, 0.25, 0.45, 0.65, 0.80, 0.90, 0.95,
	1.00, 0.95, 0.90, 0.90, 0.92, 0.95, 1.00, 1.15, 1.30, 1.35, 1.15, 0.85,
};

/* Two-letter syllables of brand names: fixed width keeps names unique. */
static const char *const syllables[32] = {
	"ka", "lo", "mi", "ra", "ve", "to", "na", "si", "zu", "pe", "xo", "bi",
	"da", "fe", "gu", "ju", "le", "mo", "nu", "pi", "ro", "sa", "ti", "vo",
	"wa", "ye", "zo", "ca", "du", "ha", "ke", "ri",
};

/* Lazily built cumulative tables of the fixed distributions. */
static double city_cum[N_CITIES];
static double channel_cum[N_CHANNELS];
static double hour_cum[25];
static bool fixed_tables_ready = false;

static void
init_fixed_tables(void)
{
	double		sum = 0.0;

	if (fixed_tables_ready)
		return;
	fill_zipf_cum(city_cum, N_CITIES, 1.0);
	for (int i = 0; i < (int) N_CHANNELS; i++)
	{
		sum += channels[i].share;
		channel_cum[i] = sum;
	}
	hour_cum[0] = 0.0;
	for (int h = 0; h < 24; h++)
		hour_cum[h + 1] = hour_cum[h] + hourly_traffic[h];
	fixed_tables_ready = true;
}

char *
cs_demo_category_name(int32 category)
{
	if (category < (int32) N_NAMED_CATEGORIES)
		return pstrdup(named_categories[category].name);
	return psprintf("category_%d", category + 1);
}

/*
 * A pronounceable name, a bijection of the global brand number: blocks of
 * 3 to 6 syllables, each block scrambled by an odd multiplier.
 */
char *
cs_demo_brand_name(int32 seed, int32 brand_id)
{
	uint64		x = (uint64) brand_id;
	int			n = 3;
	uint64		block = UINT64CONST(1) << 15;
	char		buf[16];
	char	   *p = buf;

	while (x >= block && n < 6)
	{
		x -= block;
		n++;
		block <<= 5;
	}
	x = (x * UINT64CONST(0x9e3779b1) + demo_hash(seed, STREAM_BRAND_NAME, n)) & (block - 1);
	for (int i = 0; i < n; i++)
	{
		memcpy(p, syllables[x & 31], 2);
		p += 2;
		x >>= 5;
	}
	*p = '\0';
	buf[0] = buf[0] - 'a' + 'A';
	return pstrdup(buf);
}

const char *
cs_demo_tag_name(int tag)
{
	return tag_names[tag];
}

const char *
cs_demo_gender_name(int gender)
{
	return gender == 0 ? "female" : gender == 1 ? "male" : NULL;
}

const char *
cs_demo_city_name(int city)
{
	return city_names[city];
}

const char *
cs_demo_channel_name(int channel)
{
	return channels[channel].name;
}

/*
 * Map a fraction of a day, as if traffic were flat, to the time of day under
 * the hourly rhythm.  Monotone, so ordered times stay ordered.
 */
static double
daily_rhythm(double f)
{
	double		x = f * hour_cum[24];
	int			h = 0;
	double		t;

	while (h < 23 && hour_cum[h + 1] <= x)
		h++;
	t = (h + (x - hour_cum[h]) / hourly_traffic[h]) / 24.0;
	return Min(t, nextafter(1.0, 0.0));
}

/* ---------------------------------------------------------------------
 * Catalogue, items and users
 * ---------------------------------------------------------------------
 */

void
cs_demo_catalog_init(CsDemoCatalog *cat, int32 seed, int32 items)
{
	int32		n = Max(DEMO_MIN_CATEGORIES, items / DEMO_ITEMS_PER_CATEGORY);

	/* items 1..n found one category each, so no category is empty */
	int32		founders = Min(items, n);
	double	   *size = palloc(sizeof(double) * n);
	double		total = 0.0;
	double		cum = 0.0;
	int32		offset = 0;

	init_fixed_tables();
	cat->seed = seed;
	cat->items = items;
	cat->n_categories = n;
	cat->size_cum = palloc(sizeof(double) * n);
	cat->median_price = palloc(sizeof(double) * n);
	cat->popularity = palloc(sizeof(float) * n);
	cat->gender_shift = palloc(sizeof(float) * n);
	cat->age_shift = palloc(sizeof(float) * n * CS_DEMO_AGE_BANDS);
	cat->n_brands = palloc(sizeof(int32) * n);
	cat->brand_offset = palloc(sizeof(int32) * n);
	fill_zipf_cum(cat->brand_cum, CS_DEMO_MAX_BRANDS, 1.1);

	for (int32 c = 0; c < n; c++)
	{
		DemoRng		r;
		double		zsize,
					zprice;

		if ((c & 4095) == 0)
			CHECK_FOR_INTERRUPTS();
		rng_seed(&r, demo_hash(seed, STREAM_CATEGORY, c));
		zsize = rng_gauss(&r);
		zprice = rng_gauss(&r);
		size[c] = exp(0.7 * zsize);
		total += size[c];
		/* bigger categories tend to be visited more, but not strictly */
		cat->popularity[c] = (float) exp(0.5 * zsize + 0.7 * rng_gauss(&r));
		if (c < (int32) N_NAMED_CATEGORIES)
			cat->median_price[c] = named_categories[c].price * exp(0.15 * zprice);
		else
			cat->median_price[c] = 30.0 * exp(zprice);
		cat->gender_shift[c] = (float) (0.9 * rng_gauss(&r));
		for (int b = 0; b < CS_DEMO_AGE_BANDS; b++)
			cat->age_shift[c * CS_DEMO_AGE_BANDS + b] = (float) (0.7 * rng_gauss(&r));
	}

	for (int32 c = 0; c < n; c++)
	{
		double		expected = (double) (items - founders) * size[c] / total +
			(c < founders ? 1 : 0);
		int32		brands = (int32) rint(expected / DEMO_ITEMS_PER_BRAND);

		cum += size[c];
		cat->size_cum[c] = cum;
		cat->n_brands[c] = Min(Max(brands, 2), CS_DEMO_MAX_BRANDS);
		cat->brand_offset[c] = offset;
		offset += cat->n_brands[c];
	}
	pfree(size);
}

/* The category is the item's first draw, so it is cheap to get alone. */
static int32
demo_item_category(const CsDemoCatalog *cat, int64 item_id, DemoRng *r)
{
	double		u;

	rng_seed(r, demo_hash(cat->seed, STREAM_ITEM, (uint64) item_id));
	u = rng_u01(r);
	if (item_id <= cat->n_categories)
		return (int32) (item_id - 1);
	return search_cum(cat->size_cum, cat->n_categories, u);
}

static void
add_tag(CsDemoItem *it, int tag)
{
	for (int i = 0; i < it->n_tags; i++)
		if (it->tags[i] == tag)
			return;
	it->tags[it->n_tags++] = (int8) tag;
}

void
cs_demo_item(const CsDemoCatalog *cat, int64 item_id, CsDemoItem *it)
{
	DemoRng		r;
	DemoRng		rb;
	int32		c;
	double		median,
				zb_premium,
				zb_quality,
				zq,
				price,
				relative,
				rating,
				u;
	int64		cents;
	int			want_tags;

	c = demo_item_category(cat, item_id, &r);
	median = cat->median_price[c];
	it->category = c;
	it->brand = search_cum(cat->brand_cum, cat->n_brands[c], rng_u01(&r));
	it->brand_id = cat->brand_offset[c] + it->brand;

	rng_seed(&rb, demo_hash(cat->seed, STREAM_BRAND, (uint64) it->brand_id));
	zb_premium = rng_gauss(&rb);
	zb_quality = rng_gauss(&rb);

	/* lognormal around the category median, moved by the brand's premium */
	zq = rng_gauss(&r);
	price = median * exp(0.35 * zb_premium + 0.45 * rng_gauss(&r));
	price = Min(Max(price, 0.5), 1000000.0);
	if (price >= 100.0)
		cents = (int64) rint(price) * 100 - 1;	/* 399.99 */
	else if (price >= 5.0)
		cents = (int64) floor(price) * 100 + 99;	/* 24.99 */
	else
		cents = (int64) rint(price * 100.0);
	it->price_cents = cents;
	relative = log((double) cents / 100.0 / median);

	/* ratings are high on the whole; new items have none yet */
	it->quality = (float) zq;
	it->has_rating = rng_u01(&r) >= 0.12;
	rating = 4.1 + 0.55 * zq + 0.2 * zb_quality;
	rating = Min(Max(rating, 1.0), 5.0);
	it->rating = (float) (rint(rating * 10.0) / 10.0);

	/* what ranks the item among its category's: only partly observable */
	it->appeal = (float) (0.8 * zq + 0.5 * zb_quality - 0.15 * log1p(it->brand) -
						  0.4 * relative + 0.6 * rng_gauss(&r));

	u = rng_u01(&r);
	want_tags = u < 0.30 ? 0 : u < 0.65 ? 1 : u < 0.90 ? 2 : 3;
	it->n_tags = 0;
	if (want_tags > 0 && it->appeal > 1.3)
		add_tag(it, TAG_BESTSELLER);
	if (it->n_tags < want_tags && relative > 0.9)
		add_tag(it, TAG_PREMIUM);
	if (it->n_tags < want_tags && relative < -0.7)
		add_tag(it, TAG_SALE);
	for (int tries = 0; it->n_tags < want_tags && tries < 8; tries++)
		add_tag(it, rng_below(&r, N_TAGS));
}

/*
 * Content embedding: a category vector plus a brand vector plus item noise,
 * normalised.  Same-category items have cosine near 0.57, same-brand near
 * 0.86, so the vector carries real signal without giving the item away.
 */
void
cs_demo_item_embedding(const CsDemoCatalog *cat, int64 item_id,
					   const CsDemoItem *it, int dim, float *out)
{
	DemoRng		rc,
				rb,
				ri;
	double		norm = 0.0;

	rng_seed(&rc, demo_hash(cat->seed, STREAM_CATEGORY_VEC, (uint64) it->category));
	rng_seed(&rb, demo_hash(cat->seed, STREAM_BRAND_VEC, (uint64) it->brand_id));
	rng_seed(&ri, demo_hash(cat->seed, STREAM_ITEM_VEC, (uint64) item_id));
	for (int j = 0; j < dim; j++)
	{
		float		v = rng_gauss_fast(&rc) + 0.7f * rng_gauss_fast(&rb) +
			0.5f * rng_gauss_fast(&ri);

		out[j] = v;
		norm += (double) v * v;
	}
	norm = norm > 0.0 ? 1.0 / sqrt(norm) : 0.0;
	for (int j = 0; j < dim; j++)
		out[j] = (float) (out[j] * norm);
}

void
cs_demo_user(int32 seed, int64 user_id, CsDemoUser *u)
{
	DemoRng		r;
	double		x;
	int32		age;

	init_fixed_tables();
	rng_seed(&r, demo_hash(seed, STREAM_USER, (uint64) user_id));
	x = rng_u01(&r);
	u->gender = x < 0.52 ? 0 : x < 0.96 ? 1 : 2;
	age = (int32) rint(33.0 + 11.0 * rng_gauss(&r));
	u->age = Min(Max(age, 16), 80);
	u->age_band = u->age < 25 ? 0 : u->age < 35 ? 1 : u->age < 45 ? 2 :
		u->age < 55 ? 3 : 4;
	u->city = search_cum(city_cum, N_CITIES, rng_u01(&r));
	u->channel = search_cum(channel_cum, N_CHANNELS, rng_u01(&r));
	u->activity = exp(1.5 * rng_gauss(&r)) * channels[u->channel].activity *
		(u->age < 30 ? 1.2 : u->age >= 55 ? 0.8 : 1.0);
}

/* ---------------------------------------------------------------------
 * Argument checks
 * ---------------------------------------------------------------------
 */

static void
check_users(int32 users)
{
	if (users < 1 || users > CS_DEMO_MAX_USERS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("users must be between 1 and %d, not %d", CS_DEMO_MAX_USERS, users),
				 errhint("Demo users get the ids 1 to users.")));
}

static void
check_items(int32 items)
{
	if (items < 1 || items > CS_DEMO_MAX_ITEMS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("items must be between 1 and %d, not %d",
						CS_DEMO_MAX_ITEMS, items),
				 errhint("Demo items get the ids 1 to items; the catalogue is held in memory while behaviours are generated.")));
}

static void
check_content_dim(int32 content_dim)
{
	if (content_dim < 0 || content_dim > CS_DEMO_MAX_CONTENT_DIM)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("content_dim must be between 0 and %d, not %d",
						CS_DEMO_MAX_CONTENT_DIM, content_dim),
				 errhint("Pass 0 for items without an embedding.")));
}

/* ---------------------------------------------------------------------
 * demo_items and demo_users
 * ---------------------------------------------------------------------
 */

typedef struct ItemsState
{
	CsDemoCatalog cat;
	int			content_dim;
} ItemsState;

static TupleDesc
result_tupdesc(FunctionCallInfo fcinfo)
{
	TupleDesc	tupdesc;

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	return BlessTupleDesc(tupdesc);
}

Datum
demo_items(PG_FUNCTION_ARGS)
{
	FuncCallContext *funcctx;
	ItemsState *st;
	CsDemoItem	it;
	int64		item_id;
	Datum		values[7];
	bool		nulls[7] = {0};
	Datum		tags[CS_DEMO_MAX_TAGS];

	if (SRF_IS_FIRSTCALL())
	{
		int32		items = PG_GETARG_INT32(0);
		int32		seed = PG_GETARG_INT32(1);
		int32		content_dim = PG_GETARG_INT32(2);
		MemoryContext oldcontext;

		check_items(items);
		check_content_dim(content_dim);

		funcctx = SRF_FIRSTCALL_INIT();
		oldcontext = MemoryContextSwitchTo(funcctx->multi_call_memory_ctx);
		funcctx->tuple_desc = result_tupdesc(fcinfo);
		funcctx->max_calls = (uint64) items;
		st = palloc(sizeof(ItemsState));
		cs_demo_catalog_init(&st->cat, seed, items);
		st->content_dim = content_dim;
		funcctx->user_fctx = st;
		MemoryContextSwitchTo(oldcontext);
	}

	funcctx = SRF_PERCALL_SETUP();
	st = (ItemsState *) funcctx->user_fctx;
	if (funcctx->call_cntr >= funcctx->max_calls)
		SRF_RETURN_DONE(funcctx);

	item_id = (int64) funcctx->call_cntr + 1;
	cs_demo_item(&st->cat, item_id, &it);

	values[0] = Int64GetDatum(item_id);
	values[1] = CStringGetTextDatum(cs_demo_category_name(it.category));
	values[2] = CStringGetTextDatum(cs_demo_brand_name(st->cat.seed, it.brand_id));
	values[3] = NumericGetDatum(int64_div_fast_to_numeric(it.price_cents, 2));
	values[4] = Float4GetDatum(it.rating);
	nulls[4] = !it.has_rating;
	for (int i = 0; i < it.n_tags; i++)
		tags[i] = CStringGetTextDatum(cs_demo_tag_name(it.tags[i]));
	values[5] = PointerGetDatum(construct_array(tags, it.n_tags, TEXTOID,
												-1, false, TYPALIGN_INT));
	if (st->content_dim > 0)
	{
		float	   *vec = palloc(sizeof(float) * st->content_dim);
		Datum	   *elems = palloc(sizeof(Datum) * st->content_dim);

		cs_demo_item_embedding(&st->cat, item_id, &it, st->content_dim, vec);
		for (int j = 0; j < st->content_dim; j++)
			elems[j] = Float4GetDatum(vec[j]);
		values[6] = PointerGetDatum(construct_array(elems, st->content_dim,
													FLOAT4OID, sizeof(float4),
													true, TYPALIGN_INT));
	}
	else
		nulls[6] = true;

	SRF_RETURN_NEXT(funcctx,
					HeapTupleGetDatum(heap_form_tuple(funcctx->tuple_desc,
													  values, nulls)));
}

Datum
demo_users(PG_FUNCTION_ARGS)
{
	FuncCallContext *funcctx;
	CsDemoUser	u;
	int64		user_id;
	const char *gender;
	Datum		values[5];
	bool		nulls[5] = {0};

	if (SRF_IS_FIRSTCALL())
	{
		int32		users = PG_GETARG_INT32(0);
		MemoryContext oldcontext;

		check_users(users);
		funcctx = SRF_FIRSTCALL_INIT();
		oldcontext = MemoryContextSwitchTo(funcctx->multi_call_memory_ctx);
		funcctx->tuple_desc = result_tupdesc(fcinfo);
		funcctx->max_calls = (uint64) users;
		MemoryContextSwitchTo(oldcontext);
	}

	funcctx = SRF_PERCALL_SETUP();
	if (funcctx->call_cntr >= funcctx->max_calls)
		SRF_RETURN_DONE(funcctx);

	user_id = (int64) funcctx->call_cntr + 1;
	cs_demo_user(PG_GETARG_INT32(1), user_id, &u);
	gender = cs_demo_gender_name(u.gender);

	values[0] = Int64GetDatum(user_id);
	values[1] = Int32GetDatum(u.age);
	if (gender != NULL)
		values[2] = CStringGetTextDatum(gender);
	else
		nulls[2] = true;
	values[3] = CStringGetTextDatum(cs_demo_city_name(u.city));
	values[4] = CStringGetTextDatum(cs_demo_channel_name(u.channel));

	SRF_RETURN_NEXT(funcctx,
					HeapTupleGetDatum(heap_form_tuple(funcctx->tuple_desc,
													  values, nulls)));
}

/* ---------------------------------------------------------------------
 * demo_behaviours: the shopping simulation
 * ---------------------------------------------------------------------
 */

#define ACTION_PV	0
#define ACTION_FAV	1
#define ACTION_CART 2
#define ACTION_BUY	3

static const char *const action_names[] = {"pv", "fav", "cart", "buy"};

#define P_FAV				0.06
#define P_CART				0.08
#define P_BUY				0.40	/* of carts */
#define P_BUY_NOW			0.50	/* of purchases: in the cart's session */
#define P_BUY_PENDING		0.50	/* per later session, of a pending cart */
#define P_EXPLORE			0.15	/* session in a non-favourite category */
#define P_SWITCH			0.10	/* next view in another category */
#define P_REVISIT_FIRST		0.25	/* a session opens on a recent item */
#define P_REVISIT			0.08
#define MEAN_EXTRA_VIEWS	5.0		/* views per session: 1 + geometric */
#define EVENTS_PER_SESSION	7.0		/* views and the funnel they lead to */
#define ZIPF_EXPONENT		1.0

#define MAX_FAVOURITES		8
#define RECENT_ITEMS		16
#define MAX_PENDING			8
#define QUEUE_SIZE			(MAX_PENDING + 4)

typedef struct DemoEvent
{
	int64		item_id;
	int			action;
	int64		at;				/* microseconds since start_at */
} DemoEvent;

/* One user's state while the user's rows are emitted. */
typedef struct UserSim
{
	DemoRng		rng;
	int64		target;			/* rows this user gets */
	int64		emitted;
	int			segment;		/* gender and age band */
	int			n_favourites;
	int32		favourite[MAX_FAVOURITES];
	double		favourite_cum[MAX_FAVOURITES];
	double		pos;			/* days since start_at, before the rhythm */
	double		window_end;
	int64		clock;			/* microseconds since start_at */
	int			views_left;
	int32		category;
	bool		first_view;
	int			n_recent;
	int			recent_next;
	int64		recent[RECENT_ITEMS];
	int			n_pending;
	int64		pending[MAX_PENDING];
	int			q_head;
	int			q_len;
	DemoEvent	queue[QUEUE_SIZE];
} UserSim;

typedef struct ItemSlot
{
	float		appeal;
	int32		item_id;
} ItemSlot;

typedef struct BehavioursState
{
	CsDemoCatalog cat;
	ItemSlot   *slots;			/* items by category, then by appeal */
	int32	   *cat_start;
	int32	   *cat_count;
	double	   *zipf_cum;		/* as long as the largest category */
	double	   *segment_cum;	/* [segment * n_categories + category] */
	int32		seed;
	int32		users;
	int64		next_user;
	int64		base;			/* rows every user gets */
	int64		rest;			/* rows shared by activity */
	int64		assigned;		/* of rest, to users before next_user */
	double		activity_total;
	double		activity_cum;
	TimestampTz start_at;
	int32		days;
	int64		period_us;
	Datum		action_text[4];
	UserSim		sim;
} BehavioursState;

static int
compare_slots(const void *a, const void *b)
{
	const ItemSlot *x = (const ItemSlot *) a;
	const ItemSlot *y = (const ItemSlot *) b;

	if (x->appeal != y->appeal)
		return x->appeal > y->appeal ? -1 : 1;
	return x->item_id < y->item_id ? -1 : x->item_id > y->item_id;
}

/* Group items by category, most appealing first; build the sampling tables. */
static void
build_tables(BehavioursState *st)
{
	CsDemoCatalog *cat = &st->cat;
	int32		n = cat->n_categories;
	int32		items = cat->items;
	int32	   *fill = palloc0(sizeof(int32) * n);
	int32		largest = 1;
	DemoRng		r;

	st->cat_start = palloc(sizeof(int32) * n);
	st->cat_count = palloc0(sizeof(int32) * n);
	st->slots = palloc(sizeof(ItemSlot) * items);

	for (int32 id = 1; id <= items; id++)
	{
		if ((id & 65535) == 0)
			CHECK_FOR_INTERRUPTS();
		st->cat_count[demo_item_category(cat, id, &r)]++;
	}
	for (int32 c = 0, start = 0; c < n; c++)
	{
		st->cat_start[c] = start;
		start += st->cat_count[c];
		largest = Max(largest, st->cat_count[c]);
	}
	for (int32 id = 1; id <= items; id++)
	{
		CsDemoItem	it;
		ItemSlot   *slot;

		if ((id & 65535) == 0)
			CHECK_FOR_INTERRUPTS();
		cs_demo_item(cat, id, &it);
		slot = &st->slots[st->cat_start[it.category] + fill[it.category]++];
		slot->appeal = it.appeal;
		slot->item_id = id;
	}
	for (int32 c = 0; c < n; c++)
	{
		if ((c & 4095) == 0)
			CHECK_FOR_INTERRUPTS();
		qsort(st->slots + st->cat_start[c], st->cat_count[c], sizeof(ItemSlot),
			  compare_slots);
	}
	pfree(fill);

	st->zipf_cum = palloc(sizeof(double) * largest);
	fill_zipf_cum(st->zipf_cum, largest, ZIPF_EXPONENT);

	/* category distribution of each gender and age band; empty ones get 0 */
	st->segment_cum = palloc(sizeof(double) * n * CS_DEMO_SEGMENTS);
	for (int g = 0; g < CS_DEMO_GENDERS; g++)
	{
		double		sign = g == 0 ? 1.0 : g == 1 ? -1.0 : 0.0;

		for (int b = 0; b < CS_DEMO_AGE_BANDS; b++)
		{
			double	   *cum = st->segment_cum + (g * CS_DEMO_AGE_BANDS + b) * n;
			double		sum = 0.0;

			CHECK_FOR_INTERRUPTS();
			for (int32 c = 0; c < n; c++)
			{
				if (st->cat_count[c] > 0)
					sum += cat->popularity[c] *
						exp(sign * cat->gender_shift[c] +
							cat->age_shift[c * CS_DEMO_AGE_BANDS + b]);
				cum[c] = sum;
			}
		}
	}
}

static int32
segment_category(BehavioursState *st, int segment)
{
	int32		n = st->cat.n_categories;

	return search_cum(st->segment_cum + segment * n, n, rng_u01(&st->sim.rng));
}

static int32
pick_category(BehavioursState *st)
{
	UserSim    *s = &st->sim;

	if (rng_u01(&s->rng) < P_EXPLORE)
		return segment_category(st, s->segment);
	return s->favourite[search_cum(s->favourite_cum, s->n_favourites,
								   rng_u01(&s->rng))];
}

static int64
pick_item(BehavioursState *st, int32 category)
{
	int32		rank = search_cum(st->zipf_cum, st->cat_count[category],
								  rng_u01(&st->sim.rng));

	return st->slots[st->cat_start[category] + rank].item_id;
}

static void
push_event(UserSim *s, int action, int64 item_id)
{
	DemoEvent  *ev;

	Assert(s->q_len < QUEUE_SIZE);
	ev = &s->queue[(s->q_head + s->q_len++) % QUEUE_SIZE];
	ev->item_id = item_id;
	ev->action = action;
	ev->at = s->clock;
}

/* Advance the clock by base + an exponential of the given mean, in seconds. */
static void
wait_seconds(UserSim *s, double base, double mean)
{
	s->clock += (int64) ((base + mean * rng_exp(&s->rng)) * USECS_PER_SEC);
}

static void
start_user(BehavioursState *st, int64 user_id, const CsDemoUser *u, int64 rows)
{
	UserSim    *s = &st->sim;
	double		span;
	int			k;
	double		cum = 0.0;

	rng_seed(&s->rng, demo_hash(st->seed, STREAM_BEHAVIOUR, (uint64) user_id));
	s->target = rows;
	s->emitted = 0;
	s->segment = u->gender * CS_DEMO_AGE_BANDS + u->age_band;

	/* heavy users have broader interests */
	k = 1 + (int) floor(rng_exp(&s->rng) * 0.6 * log1p((double) rows));
	s->n_favourites = Min(k, MAX_FAVOURITES);
	for (int i = 0; i < s->n_favourites; i++)
	{
		s->favourite[i] = segment_category(st, s->segment);
		cum += rng_exp(&s->rng);
		s->favourite_cum[i] = cum;
	}

	/* light users are active for part of the period, heavy ones throughout */
	span = Min(1.0, 0.25 + 0.1 * sqrt((double) rows)) * st->days;
	s->pos = rng_u01(&s->rng) * (st->days - span);
	s->window_end = s->pos + span;
	s->clock = 0;
	s->views_left = 0;
	s->n_recent = 0;
	s->recent_next = 0;
	s->n_pending = 0;
	s->q_head = 0;
	s->q_len = 0;
}

static void
start_session(BehavioursState *st)
{
	UserSim    *s = &st->sim;
	double		sessions_left;
	double		day;
	int64		at;

	/*
	 * The next session is the first of the sessions still expected, which
	 * fall uniformly in the rest of the window: order statistics, one at a
	 * time, so the history is generated in time order.
	 */
	sessions_left = Max(1.0, ceil((s->target - s->emitted) / EVENTS_PER_SESSION));
	s->pos += (s->window_end - s->pos) *
		(1.0 - pow(rng_open01(&s->rng), 1.0 / sessions_left));
	day = floor(s->pos);
	at = (int64) ((day + daily_rhythm(s->pos - day)) * USECS_PER_DAY);
	s->clock = Max(s->clock + USECS_PER_SEC, at);

	s->views_left = 1 + (int) floor(log(rng_open01(&s->rng)) /
									log(MEAN_EXTRA_VIEWS / (MEAN_EXTRA_VIEWS + 1.0)));
	s->views_left = Min(s->views_left, 200);
	s->category = pick_category(st);
	s->first_view = true;

	/* come back for things left in the cart */
	for (int i = 0; i < s->n_pending;)
	{
		if (rng_u01(&s->rng) < P_BUY_PENDING)
		{
			wait_seconds(s, 5.0, 20.0);
			push_event(s, ACTION_BUY, s->pending[i]);
			s->pending[i] = s->pending[--s->n_pending];
		}
		else
			i++;
	}
}

static void
view_step(BehavioursState *st)
{
	UserSim    *s = &st->sim;
	int64		item_id;

	if (s->n_recent > 0 &&
		rng_u01(&s->rng) < (s->first_view ? P_REVISIT_FIRST : P_REVISIT))
		item_id = s->recent[rng_below(&s->rng, s->n_recent)];
	else
	{
		if (!s->first_view && rng_u01(&s->rng) < P_SWITCH)
			s->category = pick_category(st);
		item_id = pick_item(st, s->category);
	}
	if (!s->first_view)
		wait_seconds(s, 3.0, 40.0);
	s->first_view = false;
	s->views_left--;

	push_event(s, ACTION_PV, item_id);
	s->recent[s->recent_next] = item_id;
	s->recent_next = (s->recent_next + 1) % RECENT_ITEMS;
	s->n_recent = Min(s->n_recent + 1, RECENT_ITEMS);

	if (rng_u01(&s->rng) < P_FAV)
	{
		wait_seconds(s, 2.0, 10.0);
		push_event(s, ACTION_FAV, item_id);
	}
	if (rng_u01(&s->rng) < P_CART)
	{
		wait_seconds(s, 3.0, 20.0);
		push_event(s, ACTION_CART, item_id);
		if (rng_u01(&s->rng) < P_BUY)
		{
			if (rng_u01(&s->rng) < P_BUY_NOW || s->n_pending == MAX_PENDING)
			{
				wait_seconds(s, 30.0, 120.0);
				push_event(s, ACTION_BUY, item_id);
			}
			else
				s->pending[s->n_pending++] = item_id;
		}
	}
}

/*
 * Rows of the next user.  Cumulative rounding of the activity shares gives
 * every user a whole number of rows and all users exactly the total.
 */
static int64
next_user_rows(BehavioursState *st, CsDemoUser *u)
{
	int64		user_id = st->next_user++;
	int64		upto;
	int64		rows;

	cs_demo_user(st->seed, user_id, u);
	if (st->rest == 0)
		return st->base;
	st->activity_cum += u->activity;
	if (user_id == st->users)
		upto = st->rest;
	else
	{
		upto = (int64) floor((double) st->rest *
							 (st->activity_cum / st->activity_total));
		upto = Min(Max(upto, st->assigned), st->rest);
	}
	rows = st->base + upto - st->assigned;
	st->assigned = upto;
	return rows;
}

Datum
demo_behaviours(PG_FUNCTION_ARGS)
{
	FuncCallContext *funcctx;
	BehavioursState *st;
	UserSim    *s;

	if (SRF_IS_FIRSTCALL())
	{
		int32		users = PG_GETARG_INT32(0);
		int32		items = PG_GETARG_INT32(1);
		int64		behaviours = PG_GETARG_INT64(2);
		int32		seed = PG_GETARG_INT32(3);
		TimestampTz start_at = PG_GETARG_TIMESTAMPTZ(4);
		int32		days = PG_GETARG_INT32(5);
		MemoryContext oldcontext;

		check_users(users);
		check_items(items);
		if (behaviours < 0 || behaviours > CS_DEMO_MAX_BEHAVIOURS)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("behaviours must be between 0 and " INT64_FORMAT ", not " INT64_FORMAT,
							CS_DEMO_MAX_BEHAVIOURS, behaviours),
					 errhint("Pass the total number of behaviour rows to generate.")));
		if (TIMESTAMP_NOT_FINITE(start_at))
			ereport(ERROR,
					(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
					 errmsg("start_at must be finite, not %s",
							TIMESTAMP_IS_NOBEGIN(start_at) ? "-infinity" : "infinity"),
					 errhint("Pass the first moment of the generated period.")));
		if (days < 1)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("days must be at least 1, not %d", days),
					 errhint("Timestamps fall within that many days from start_at.")));
		if (days > (END_TIMESTAMP - start_at) / USECS_PER_DAY)
			ereport(ERROR,
					(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
					 errmsg("start_at plus %d days is out of range for type timestamp with time zone",
							days),
					 errhint("Pass an earlier start_at or fewer days.")));

		funcctx = SRF_FIRSTCALL_INIT();
		oldcontext = MemoryContextSwitchTo(funcctx->multi_call_memory_ctx);
		funcctx->tuple_desc = result_tupdesc(fcinfo);
		st = palloc0(sizeof(BehavioursState));
		funcctx->user_fctx = st;
		st->seed = seed;
		st->users = users;
		st->next_user = behaviours > 0 ? 1 : (int64) users + 1;
		st->base = behaviours >= users ? 1 : 0;
		st->rest = behaviours - st->base * users;
		st->start_at = start_at;
		st->days = days;
		st->period_us = (int64) days * USECS_PER_DAY;
		for (int a = 0; a < 4; a++)
			st->action_text[a] = CStringGetTextDatum(action_names[a]);
		if (behaviours > 0)
		{
			cs_demo_catalog_init(&st->cat, seed, items);
			build_tables(st);
			for (int64 id = 1; id <= users && st->rest > 0; id++)
			{
				CsDemoUser	u;

				if ((id & 65535) == 0)
					CHECK_FOR_INTERRUPTS();
				cs_demo_user(seed, id, &u);
				st->activity_total += u.activity;
			}
		}
		MemoryContextSwitchTo(oldcontext);
	}

	funcctx = SRF_PERCALL_SETUP();
	st = (BehavioursState *) funcctx->user_fctx;
	s = &st->sim;

	for (;;)
	{
		CsDemoUser	u;
		int64		rows;

		if (s->emitted < s->target)
		{
			DemoEvent  *ev;
			Datum		values[4];
			bool		nulls[4] = {0};

			if (s->q_len == 0)
			{
				if (s->views_left == 0)
					start_session(st);
				view_step(st);
			}
			ev = &s->queue[s->q_head];
			s->q_head = (s->q_head + 1) % QUEUE_SIZE;
			s->q_len--;
			s->emitted++;

			values[0] = Int64GetDatum(st->next_user - 1);
			values[1] = Int64GetDatum(ev->item_id);
			values[2] = st->action_text[ev->action];
			/* whole seconds, like most shop logs */
			values[3] = TimestampTzGetDatum(st->start_at +
											Min(ev->at, st->period_us - 1) /
											USECS_PER_SEC * USECS_PER_SEC);
			SRF_RETURN_NEXT(funcctx,
							HeapTupleGetDatum(heap_form_tuple(funcctx->tuple_desc,
															  values, nulls)));
		}
		if (st->next_user > st->users)
			SRF_RETURN_DONE(funcctx);
		if ((st->next_user & 65535) == 0)
			CHECK_FOR_INTERRUPTS();
		rows = next_user_rows(st, &u);
		if (rows > 0)
			start_user(st, st->next_user - 1, &u, rows);
	}
}
