/* LLVM-compiled loops for fusion groups (runtime/fusion.h), through the
 * LLVM 16 C API: each group becomes one function looping over the group's
 * shape, optimised at O3 for the host CPU (so the loop vectoriser uses its
 * vector width) and compiled in-process by ORC's LLJIT. One JIT serves the
 * process; a compilation's code is freed when no program calls it any more
 * (programs share identical loops: pt_jit_cache_default below).
 *
 * The loops compute exactly what the executor's per-op kernels compute,
 * operation by operation (no reassociation, no contraction into FMAs;
 * transcendental functions in double through the C library, as the
 * kernels do), so fused and unfused runs agree bit for bit. */
#ifndef PT_JIT_H
#define PT_JIT_H

#include "exec.h"
#include "fusion.h"

/* A group's function: ptrs[0 .. ninputs-1] are its inputs' buffers (in
 * group->inputs order), ptrs[ninputs ..] its outputs' (group->outputs). */
typedef void (*pt_jit_fn)(char *const *ptrs);

typedef struct pt_jit_program pt_jit_program;

/* Compiles every group of f (for function g). With buffer plan bp
 * (may be NULL), an output planned into the bytes of one of its group's
 * inputs (runtime/exec.h: in place) is stored through that input's pointer,
 * so the loop's pointers stay distinct (they are noalias); the caller then
 * passes equal pointers for the two. NULL with a message in d on failure
 * (which would be a bug or a broken LLVM installation). */
pt_jit_program *pt_jit_compile(const pt_func *g, const pt_fusion_plan *f, const pt_buffer_plan *bp,
                               pt_diag *d);
void pt_jit_program_destroy(pt_jit_program *p);
/* Group gi's function (NULL for a GEMM epilogue, which the executor runs:
 * fusion.h). */
pt_jit_fn pt_jit_group_fn(const pt_jit_program *p, int gi);
/* Seconds spent compiling (optimisation and code generation). */
double pt_jit_compile_seconds(const pt_jit_program *p);
/* How many of p's groups were compiled, and how many call a loop compiled
 * for an earlier group with the same code (below). */
void pt_jit_counts(const pt_jit_program *p, int *compiled, int *reused);

/* Compiled loops are shared: a group whose loop function, before
 * optimisation, prints exactly as one already compiled (an earlier layer's,
 * or a live program's: the same model built again) calls that code instead
 * of compiling its own. The functions take their buffers as pointers, so
 * only shapes, strides and constants are in the code, and those are in
 * what is compared. A program's code lives while any program calls it.
 * False when PT_JIT_CACHE=0 is in the environment (each program then
 * compiles every group, as for comparisons). */
bool pt_jit_cache_default(void);

#endif
