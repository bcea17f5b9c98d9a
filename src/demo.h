/*
 * demo.h
 *	  Seeded demo data: recompute any demo item's or user's attributes.
 *
 * An item's attributes are a pure function of (seed, item_id, items) and a
 * user's of (seed, user_id), so code that knows the seed and the sizes can
 * recompute them without reading the demo tables.
 */
#ifndef CS_DEMO_H
#define CS_DEMO_H

#include "postgres.h"

/* Limits of the generators' arguments. */
#define CS_DEMO_MAX_ITEMS		20000000	/* the catalogue is held in memory */
#define CS_DEMO_MAX_USERS		100000000	/* demo_behaviours() visits every one first */
#define CS_DEMO_MAX_BEHAVIOURS	INT64CONST(1000000000000)
#define CS_DEMO_MAX_CONTENT_DIM 1024

#define CS_DEMO_MAX_TAGS		3
#define CS_DEMO_MAX_BRANDS		40	/* per category */
#define CS_DEMO_AGE_BANDS		5
#define CS_DEMO_GENDERS			3	/* female, male, not given */
#define CS_DEMO_SEGMENTS		(CS_DEMO_GENDERS * CS_DEMO_AGE_BANDS)

/* Per-category tables of one catalogue size and seed. */
typedef struct CsDemoCatalog
{
	int32		seed;
	int32		items;
	int32		n_categories;
	double	   *size_cum;		/* cumulative share of items per category */
	double	   *median_price;	/* category median price */
	float	   *popularity;		/* category popularity, before shifts */
	float	   *gender_shift;	/* log-popularity shift for women; minus for
								 * men */
	float	   *age_shift;		/* [category * CS_DEMO_AGE_BANDS + band] */
	int32	   *n_brands;
	int32	   *brand_offset;	/* global number of a category's first brand */
	double		brand_cum[CS_DEMO_MAX_BRANDS];	/* Zipf law of brand sizes */
} CsDemoCatalog;

typedef struct CsDemoItem
{
	int32		category;
	int32		brand;			/* rank of the brand within its category */
	int32		brand_id;		/* global brand number */
	int64		price_cents;
	bool		has_rating;
	float		rating;
	float		quality;		/* hidden; shows in rating and appeal */
	float		appeal;			/* ranks the item within its category */
	int			n_tags;
	int8		tags[CS_DEMO_MAX_TAGS];
} CsDemoItem;

typedef struct CsDemoUser
{
	int			gender;			/* 0 female, 1 male, 2 not given */
	int32		age;
	int			age_band;
	int			city;
	int			channel;
	double		activity;		/* relative share of all behaviours */
} CsDemoUser;

/* Build the tables in the current memory context. */
extern void cs_demo_catalog_init(CsDemoCatalog *cat, int32 seed, int32 items);

extern void cs_demo_item(const CsDemoCatalog *cat, int64 item_id, CsDemoItem *item);
extern void cs_demo_item_embedding(const CsDemoCatalog *cat, int64 item_id,
								   const CsDemoItem *item, int dim, float *out);
extern void cs_demo_user(int32 seed, int64 user_id, CsDemoUser *user);

/* Names; the returned strings are palloc'd or static. */
extern char *cs_demo_category_name(int32 category);
extern char *cs_demo_brand_name(int32 seed, int32 brand_id);
extern const char *cs_demo_tag_name(int tag);
extern const char *cs_demo_gender_name(int gender);	/* NULL: not given */
extern const char *cs_demo_city_name(int city);
extern const char *cs_demo_channel_name(int channel);

#endif							/* CS_DEMO_H */
