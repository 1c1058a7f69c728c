/* The per-rank executor: runs a lowered (SPMD) program on this rank's local
 * blocks. Buffers are planned once by liveness and allocated up front, so a
 * step allocates nothing; kernels are f32 fast paths (BLAS for dot, tight
 * loops for element-wise and data-movement ops) with the reference
 * interpreter's kernels as the fallback for everything else; collectives go
 * through the MPI runtime (runtime/mpi_coll.h).
 *
 * Results match pt_interp_op within f32 rounding: dot sums in BLAS's order
 * in f32, other f32 sums in double like the interpreter (a reduce_sum's
 * rows in eight partial sums; scan and scatter_add in its order, bit for
 * bit). */
#ifndef PT_EXEC_H
#define PT_EXEC_H

#include "fusion.h"
#include "interp.h"
#include "mpi_coll.h"

/* ---- the buffer plan (pure; the simulator shares it) ------------------ */

typedef enum {
  PT_BUF_NONE,   /* not stored */
  PT_BUF_ARG,    /* in the argument block: persistent, filled by the caller */
  PT_BUF_RESULT, /* in the result block: persistent, read by the caller */
  PT_BUF_TEMP,   /* in the temporary block, shared by liveness */
  PT_BUF_VIEW,   /* no bytes of its own: an axis_slice of an argument whose
                    block is contiguous, read in place in the argument's
                    buffer at this device's block (pt_buf_view_of) */
} pt_buf_region;

/* Where every value of a function lives. Three blocks: the arguments' and
 * the results' (each buffer its own range), and the temporaries', where two
 * values share bytes only if their live ranges are disjoint. A value's live
 * range is [first, last] in op indices, both ends inclusive: first is the op
 * defining it (-1 for arguments), last the last op reading it (nops when a
 * result returns it; first when nothing reads it). Each op may also need
 * kernel scratch, a range of the temporary block live during that op only.
 * Every buffer is rounded up to a multiple of 64 bytes (at least 64). */
typedef struct {
  int nvalues, nops, nargs, nresults;
  /* per value id */
  pt_buf_region *region;
  int64_t *offset; /* in its region's block */
  int64_t *bytes;  /* reserved */
  int *first, *last;
  int *alias; /* the temporary whose bytes it takes over in place, or -1 */
  /* per op */
  int64_t *scratch_offset, *scratch_bytes; /* in the temporary block */
  /* per argument and result: the offset of its buffer in its block. A
   * result whose value is computed by an op is stored there directly;
   * otherwise (an argument returned, a value returned twice) it is copied
   * there at the end of a step. */
  int64_t *arg_offset, *result_offset;
  /* per result: the argument whose buffer it is computed into (donation,
   * below; its result_offset is then -1 and the result block has no room
   * for it), or -1 */
  int *result_arg;
  int64_t arg_bytes, result_bytes, temp_bytes;
  int64_t peak_bytes; /* arg_bytes + result_bytes + temp_bytes */
} pt_buffer_plan;

/* Plans g's buffers (greedy interval allocation, largest first, each at the
 * lowest offset free over its live range). Free with pt_buffer_plan_free.
 *
 * Donation: result i replaces argument i when the argument is a param or
 * state of the same name and type (pt_donor_arg: a training step's updated
 * params and optimizer state, which the loop carries into the next step's
 * arguments). Such a result is computed straight into the argument's buffer
 * when nothing reads the argument later -- it is read last before the
 * result's op, or by that op itself reading it at the index it writes (an
 * in-place kernel, or a fused group reading it directly). The argument is
 * then consumed by a run: its buffer holds the result afterwards. Updating
 * in place saves the result block's bytes and the memory traffic of
 * writing a second buffer. */
void pt_plan_buffers(const pt_func *g, pt_buffer_plan *out);
/* Views: an axis_slice of an argument along a dimension with nothing but
 * extent-1 dimensions before it takes one contiguous block of the
 * argument's bytes (64-byte aligned when each block's bytes are a multiple
 * of 64). Unless it is returned, it is stored nowhere (PT_BUF_VIEW): the
 * executor points it at this device's block, and the argument counts as
 * read until the view's last reader, so nothing is computed into its
 * buffer (donation) before then. The slice of the weight a sharded update
 * reads (passes/lower.c) is one. */
bool pt_buf_view_of(const pt_op *op, int64_t *block_bytes);
/* The same for the program as it runs with fusion plan f (runtime/fusion.h):
 * a group's values other than its outputs, and absorbed ops' results, are
 * not stored; a group reads and writes at its last member. pt_plan_buffers
 * uses the default fusion plan, as the executor does. */
void pt_plan_buffers_fused(const pt_func *g, const pt_fusion_plan *f, pt_buffer_plan *out);
void pt_buffer_plan_free(pt_buffer_plan *p);
/* The argument result i of g may be computed into (see donation above), or
 * -1: argument i when it is a param or state named and typed like result i. */
int pt_donor_arg(const pt_func *g, int i);
/* Whether the executor's kernel for op may write its result over one of
 * its operands (element-wise f32 kernels, all_reduce, reshape). The planner
 * then gives the result the bytes of an operand that dies at op and has the
 * same type, or for a reshape the same dtype: a reshape in place is free
 * (pt_buffer_plan.alias). A fused group's output likewise takes the
 * bytes of an input of its type that dies at the group and that its loop
 * reads at the loop's own index only. */
bool pt_exec_op_in_place(const pt_op *op);
/* The kernel scratch op needs in the executor (0 for most ops). */
int64_t pt_exec_op_scratch_bytes(const pt_op *op);

/* How the executor runs an f32 dot: `batch` GEMMs C[m,n] = op(A)[m,k] op(B)[k,n]
 * (cblas_sgemm, row-major), each operand read in place as stored or
 * transposed, or copied into that order first (its dims were in neither);
 * `flipped`: computed as C^T = op(B)^T op(A)^T and then transposed into C
 * (a thin C: few rows, many columns); copy_bytes: the operand copies'
 * bytes (kernel scratch, less the flipped C^T's). */
typedef struct {
  int64_t batch, m, n, k;
  bool lhs_trans, rhs_trans;
  bool lhs_copied, rhs_copied;
  bool flipped;
  int64_t copy_bytes;
} pt_exec_gemm;
/* Fills *out for dot op; false if op is not an f32 dot. */
bool pt_exec_dot_gemm(const pt_op *op, pt_exec_gemm *out);
/* Whether f32 dot op runs without copying an operand and without flipping
 * when its lhs is read through transpose lt (lt's result is the lhs: the
 * dot reads lt's operand in place, with the strides the permutation
 * gives), its rhs through rt, and its result is written through ct (ct
 * reads the result: the dot writes ct's result in place); each may be
 * NULL (runtime/fusion.h, strided dots). */
bool pt_exec_dot_through(const pt_op *op, const pt_op *lt, const pt_op *rt, const pt_op *ct);

/* ---- the executor ----------------------------------------------------- */

typedef struct pt_exec pt_exec;

/* Plans and allocates every buffer of lowered function g (borrowed; it and
 * its module must outlive the executor). mm (borrowed, may be NULL) runs
 * the collectives and must be a mesh equal to g's module's; with mm NULL,
 * collectives are allowed only on a mesh of one device, where they are
 * identities. With mm, collective over the mesh: it reserves the mesh's
 * shared staging for g's largest collective operand (pt_mpi_shm_reserve).
 * NULL with a message in d on error (alike on every rank: only the program
 * and this machine's memory decide). */
pt_exec *pt_exec_create(const pt_func *g, pt_mpi_mesh *mm, pt_diag *d);
void pt_exec_destroy(pt_exec *e);

/* Runs one step. args[i] (borrowed) is this rank's block of argument i and
 * is copied into the argument buffer; args NULL, or args[i] NULL, means the
 * buffer was filled in place (pt_exec_arg_buffer) and is used as it is.
 * An argument of another type than g's is an error. With results
 * non-NULL, results[i] receives a new tensor (the caller frees it); the
 * result buffers hold the results either way. On error (reported located
 * at the op, with the rank) results[i] are NULL. Collective over the mesh
 * when g has collectives. */
pt_status pt_exec_run(pt_exec *e, pt_tensor *const *args, pt_tensor **results, pt_diag *d);

/* The buffers, as tensors borrowed from the executor (valid until destroy;
 * the same pointers every step unless pt_exec_carry exchanges them): fill
 * an argument's data in place before a run; read a result's after it. */
pt_tensor *pt_exec_arg_buffer(pt_exec *e, int i);
const pt_tensor *pt_exec_result_buffer(const pt_exec *e, int i);

/* Makes result `result` of the last run argument `arg` of the next, by
 * exchanging the two buffers (no copy): what a training loop does with
 * updated params and optimizer state. The types must be equal. Afterwards
 * pt_exec_arg_buffer(e, arg) and pt_exec_result_buffer(e, result) point at
 * each other's former memory; take their pointers again after a carry. A
 * result computed into its argument's buffer (donation, above) is already
 * there: carrying it into that argument does nothing, and into any other
 * is a bug (asserted). */
void pt_exec_carry(pt_exec *e, int result, int arg);

/* The planned total: argument, result and temporary blocks in bytes
 * (pt_buffer_plan.peak_bytes; kernel scratch included). */
int64_t pt_exec_peak_bytes(const pt_exec *e);
/* The plan (borrowed). */
const pt_buffer_plan *pt_exec_plan(const pt_exec *e);
/* The fusion groups it runs (borrowed). */
const pt_fusion_plan *pt_exec_fusion(const pt_exec *e);
/* Seconds its runs have spent in MPI collectives since it was created,
 * waiting for slower peers included (profiling or not). */
double pt_exec_comm_seconds(const pt_exec *e);
/* Of its fused loops: how many it compiled, and how many call code
 * compiled for an identical loop, an earlier layer's or a live executor's
 * (runtime/jit.h). */
void pt_exec_jit_counts(const pt_exec *e, int *compiled, int *reused);

/* Per-op timing: when on, each run records the seconds spent in every op
 * (collectives included), readable after the run: pt_exec_op_seconds(e)[i]
 * for g->ops[i] (borrowed, nops entries; zeros when profiling is off). */
void pt_exec_set_profile(pt_exec *e, bool on);
const double *pt_exec_op_seconds(const pt_exec *e);
/* When each op started, in seconds from the start of the run (borrowed,
 * nops entries; zeros when profiling is off). */
const double *pt_exec_op_starts(const pt_exec *e);
/* The seconds of the last run, in total, and when it started
 * (CLOCK_MONOTONIC seconds, comparable across the ranks of one machine). */
double pt_exec_run_seconds(const pt_exec *e);
double pt_exec_run_start(const pt_exec *e);

#endif
