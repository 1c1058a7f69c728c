/* Host tensors and the reference interpreter: the oracle every other
 * execution path (virtual mesh, MPI, JIT kernels) is checked against. It is
 * deliberately simple: every element is computed one at a time, in double,
 * and rounded to the result's element type after each op; f32 reductions
 * and dots accumulate in double and round once; i32 sums wrap modulo 2^32
 * like a chain of adds. */
#ifndef PT_INTERP_H
#define PT_INTERP_H

#include "ir.h"

/* A dense row-major host tensor. f32 elements are `float`, i32 `int32_t`,
 * pred `uint8_t` (0 or 1). The tensor owns `data` (pt_malloc'd). */
typedef struct {
  pt_type type;
  void *data;
  /* f32 elements held as `double` (8 bytes each): the interpreter's f64
   * mode, used where f32 rounding would swamp what is measured (finite
   * differences). Only pt_tensor_get/set may touch a wide tensor's data. */
  bool wide;
} pt_tensor;

/* Zero-filled tensor of type t. Destroy frees data and the struct. */
pt_tensor *pt_tensor_create(pt_type t);
/* Zero-filled; f32 elements are held as double (t of another dtype gives an
 * ordinary tensor). */
pt_tensor *pt_tensor_create_wide(pt_type t);
void pt_tensor_destroy(pt_tensor *t);
/* Destroys the n tensors of the pt_malloc'd array ts (NULL entries allowed)
 * and frees the array; ts may be NULL. */
void pt_tensors_destroy(pt_tensor **ts, int n);
pt_tensor *pt_tensor_clone(const pt_tensor *t);
/* Element i as a double (any dtype), and store (rounded to the dtype). */
double pt_tensor_get(const pt_tensor *t, int64_t i);
void pt_tensor_set(pt_tensor *t, int64_t i, double v);

/* Whether every value of f (argument or op result) fits this machine's
 * memory: a value larger than it can never be computed, so it is refused,
 * located at the value, before anything is allocated. pt_interp_run checks
 * it; callers that make f's arguments first (runtime/run.c, train) call it
 * before they do. */
pt_status pt_interp_check_memory(const pt_func *f, pt_diag *d);

/* Runs f on args (one per argument, in order, with exactly the argument's
 * type). On success results[i] receives a new tensor per result, owned by
 * the caller. Runtime errors (an index out of range in take, integer
 * division by zero, a collective outside a mesh) are reported located at
 * the op and give PT_ERR with no results. f must have been verified. */
pt_status pt_interp_run(const pt_func *f, pt_tensor *const *args,
                        pt_tensor **results, pt_diag *d);

/* Runs one (non-collective) op on operand tensors x into r, which has the
 * op's result type: the kernels of the interpreter, for executors that
 * schedule ops themselves (the virtual mesh). */
pt_status pt_interp_op(const pt_op *op, pt_tensor *const *x, pt_tensor *r, pt_diag *d);

/* The same, with every f32 value held in double and never rounded to f32:
 * results are wide tensors (read them with pt_tensor_get); arguments may be
 * wide or not. For checking derivatives against finite differences. */
pt_status pt_interp_run_f64(const pt_func *f, pt_tensor *const *args,
                            pt_tensor **results, pt_diag *d);

#endif
