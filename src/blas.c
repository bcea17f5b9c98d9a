/*
 * blas.c
 *	  OpenBLAS threads and kernel selection for one backend.
 *
 * OpenBLAS starts its worker threads when the library is loaded.  A backend
 * is a single-threaded process whose signal handlers expect to run on the
 * main thread, and a second BLAS thread rarely helps the shapes we use while
 * it hurts when other backends are busy, so by default the workers are shut
 * down and every call runs on the backend's own thread.
 *
 * OpenBLAS 0.3.21 does not recognise some recent Xeons and falls back to its
 * generic "Prescott" kernels, three to four times slower than the AVX-512
 * ones the CPU can run.  When that happens (and the DBA has not chosen a core
 * with OPENBLAS_CORETYPE), we ask OpenBLAS to pick again with the core the CPU
 * really supports.  Both hooks are looked up at run time, so builds of
 * OpenBLAS without DYNAMIC_ARCH simply keep their own choice.
 */
#include "postgres.h"

#include <dlfcn.h>
#include <stdlib.h>

#include "miscadmin.h"

#include "blas.h"
#include "coldstart.h"

static bool core_checked = false;
static int	threads_set = -1;

static void
fix_generic_core(void)
{
	void	  **gotoblas;
	void		(*dynamic_init) (void);
	const char *core = openblas_get_corename();

	if (getenv("OPENBLAS_CORETYPE") != NULL || core == NULL)
		return;
	if (strcmp(core, "Prescott") != 0 && strcmp(core, "Core2") != 0 &&
		strcmp(core, "Nehalem") != 0 && strcmp(core, "Sandybridge") != 0)
		return;

	gotoblas = (void **) dlsym(RTLD_DEFAULT, "gotoblas");
	dynamic_init = (void (*) (void)) dlsym(RTLD_DEFAULT, "gotoblas_dynamic_init");
	if (gotoblas == NULL || dynamic_init == NULL)
		return;

	__builtin_cpu_init();
	if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
		__builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl"))
		setenv("OPENBLAS_CORETYPE", "SkylakeX", 1);
	else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
		setenv("OPENBLAS_CORETYPE", "Haswell", 1);
	else
		return;

	*gotoblas = NULL;
	dynamic_init();
	unsetenv("OPENBLAS_CORETYPE");
	elog(DEBUG1, "coldstart: OpenBLAS detected core %s, now using %s",
		 core, openblas_get_corename());
}

void
cs_blas_prepare(void)
{
	/* Never touch BLAS state in the postmaster: children inherit it. */
	if (!IsUnderPostmaster && IsPostmasterEnvironment)
		return;

	if (!core_checked)
	{
		fix_generic_core();
		core_checked = true;
	}
	if (threads_set != cs_blas_threads)
	{
		openblas_set_num_threads(cs_blas_threads);
		if (cs_blas_threads == 1)
		{
			extern int	blas_thread_shutdown_(void) __attribute__((weak));

			if (blas_thread_shutdown_)
				blas_thread_shutdown_();
		}
		threads_set = cs_blas_threads;
	}
}

const char *
cs_blas_corename(void)
{
	return openblas_get_corename();
}
