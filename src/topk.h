/*
 * topk.h
 *	  Top-k selection over a score vector.
 */
#ifndef CS_TOPK_H
#define CS_TOPK_H

#include "postgres.h"

/*
 * The k best of n scores, best first; ties go to the lower index, so the
 * order is deterministic.  Entries equal to -INFINITY are excluded (callers
 * mark excluded items that way).  Returns how many were found (<= k).
 */
extern int	cs_topk(const float *scores, int n, int k, int32 *idx, float *val);

#endif							/* CS_TOPK_H */
