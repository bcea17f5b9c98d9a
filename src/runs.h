/*
 * runs.h
 *	  coldstart.training_runs: one row per training run, written also when the
 *	  run fails or is cancelled.
 */
#ifndef CS_RUNS_H
#define CS_RUNS_H

#include "postgres.h"

#include "fmgr.h"

/* The work of one run, done while holding the model's training lock. */
typedef Datum (*CsRunBody) (void *arg);

/*
 * Run body as one recorded training run of model name; kind is "train" or
 * "retrain".  body returns the training summary (jsonb), which is returned.
 *
 * The run's row says 'running' from the start, written and committed by a
 * background worker in a transaction of its own; it becomes 'succeeded' in the
 * caller's transaction, so that it commits with the new model version, or
 * 'failed' (with the error) through a background worker again, since the
 * caller's transaction is about to abort.  Recording never breaks a training:
 * when it cannot be done, a WARNING says why and the training goes on.
 */
extern Datum cs_run_recorded(const char *name, const char *kind, CsRunBody body, void *arg);

/*
 * Run fn(arg) in a subtransaction of its own: NULL when it succeeded, else
 * a copy of its error, which is cleared (the subtransaction is rolled back),
 * for the caller to report or throw again.
 */
extern ErrorData *cs_try_in_subxact(void (*fn) (void *), void *arg);

/* Entry point of the background worker that writes run rows. */
extern PGDLLEXPORT void cs_run_writer_main(Datum main_arg);

#endif							/* CS_RUNS_H */
