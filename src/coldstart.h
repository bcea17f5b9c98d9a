/*
 * coldstart.h
 *	  Settings and limits shared by every part of the extension.
 */
#ifndef COLDSTART_H
#define COLDSTART_H

#include "postgres.h"

/* Largest k that recommend() and friends accept. */
#define CS_MAX_K 10000

/* Settings (settings.c). */
extern char *cs_default_model;
extern int	cs_history_length;
extern int	cs_seen_limit;
extern int	cs_blas_threads;
extern int	cs_train_memory_kb;
extern int	cs_max_items;

/* Bytes of training memory the budget allows. */
#define CS_TRAIN_MEMORY_BYTES ((Size) cs_train_memory_kb * 1024)

/* Resolve a model name argument: NULL means coldstart.default_model. */
extern const char *cs_model_name_or_default(text *arg);

/* qsort() comparator of int32 values, ascending. */
static inline int
cs_cmp_int32(const void *a, const void *b)
{
	int32		x = *(const int32 *) a;
	int32		y = *(const int32 *) b;

	return (x > y) - (x < y);
}

/* Sort n int32 values and drop repeats; returns how many distinct ones remain. */
static inline int
cs_sort_unique_int32(int32 *a, int n)
{
	int			k = 0;

	qsort(a, n, sizeof(int32), cs_cmp_int32);
	for (int i = 0; i < n; i++)
		if (k == 0 || a[k - 1] != a[i])
			a[k++] = a[i];
	return k;
}

#endif							/* COLDSTART_H */
