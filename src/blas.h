/*
 * blas.h
 *	  OpenBLAS set-up for a backend.
 */
#ifndef CS_BLAS_H
#define CS_BLAS_H

#include <cblas.h>

/*
 * Call before the first BLAS call of any entry point: it pins the thread
 * count to coldstart.blas_threads and, once per backend, makes sure OpenBLAS
 * runs the kernels this CPU supports.
 */
extern void cs_blas_prepare(void);

/* Name of the kernel set OpenBLAS uses ("SkylakeX", "Haswell", ...). */
extern const char *cs_blas_corename(void);

#endif							/* CS_BLAS_H */
