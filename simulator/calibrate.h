/* Calibration as library code: measure this machine through the runtime's
 * own code paths and fit the hardware model the simulator reads
 * (docs/hardware.md, "Calibrating"). `partita calibrate` is a thin command
 * over it (cli/calibrate.c). Three steps, each its own call:
 *
 *   pt_calibrate_measure (simulator/calibrate.c) runs a measurement plan on
 *     every rank of MPI_COMM_WORLD at once, as in a training step: GEMMs and
 *     element-wise ops in the executor (runtime/exec.c), collectives in the
 *     MPI runtime (runtime/mpi_coll.c) on communicators of 2..N ranks. Each
 *     item is measured once per pass, the passes one after another; its
 *     figure in a pass is the median of repeated runs on each rank, averaged
 *     over the ranks that took part. The result is the raw figures, per item
 *     and pass (pt_calibrate_data).
 *   pt_calibrate_fit (simulator/calibrate_fit.c) turns raw figures into the
 *     model: the median over the passes of every item (a slow spell of the
 *     machine spoils one pass, not the result), alpha-beta lines per
 *     collective and group size, the element-wise rate and per-op overhead,
 *     the GEMM rates less that overhead. Pure: no MPI, no clock; a test can
 *     feed it synthetic figures whose true parameters it knows.
 *   pt_calibrate_yaml / pt_calibrate_write_yaml (simulator/calibrate_fit.c)
 *     write the model as a hardware file that pt_sim_hw_parse reads back, its
 *     comments saying when, where, how busy the machine was and how well the
 *     lines fit.
 *
 * Requires (measure only): MPI initialised, at least 2 ranks in
 * MPI_COMM_WORLD, every rank calling pt_calibrate_measure with the same
 * options. Compute is measured on at most one rank per core of a node (a
 * core's own rate, which the simulator divides among the devices sharing
 * one: devices.cores); the other ranks sit those items out but keep step.
 * Errors: bad options (fewer than 2 ranks, an empty or inconsistent plan)
 * are PT_ERR with a message in d on every rank alike. A failure while
 * measuring (the runtime or MPI) is PT_ERR on every rank alike, with the
 * messages in the d of the rank(s) where it happened; every rank stops at
 * the same item. The fit reports figures it cannot fit (not positive and
 * finite) as PT_ERR with a message.
 * Ownership: options and plans are borrowed (a plan's arrays must outlive
 * the data and model made from it, which point at them); pt_calibrate_data
 * and pt_calibrate_model own their arrays (their _free functions; both are
 * safe to free after a failed call, and when zero-initialised). */
#ifndef PT_CALIBRATE_H
#define PT_CALIBRATE_H

#include "hw.h"

/* ---- the plan ---------------------------------------------------------- */

/* What to measure and how hard. Sizes ascend in every list. */
typedef struct {
  bool quick;               /* a quick plan (for tests): the file says so */
  const int64_t (*gemm)[3]; /* GEMM shapes {m, n, k}: C[m,n] = A[m,k] B[k,n] */
  int ngemm;
  const int64_t *ew; /* element-wise operand bytes (multiples of 4); the smallest
                        gives the per-op overhead, those of 1 MiB and more the rate */
  int nelem;
  int64_t fn_n;        /* elements per op of the compute-bound ops (a multiple of 512) */
  const int64_t *coll; /* collective operand bytes on one device (>= 4) */
  int ncoll;
  int passes;    /* over all the items, >= 1 */
  int runs;      /* measured runs of an item per pass (after a warm-up and a probe), >= 1 */
  double target; /* seconds of measured runs per item: a program repeats its ops
                    (rounds) until its runs take about this long */
  int max_reps;  /* the most rounds a program gets, >= 1 */
} pt_calibrate_plan;

/* The plan of `partita calibrate` (26 GEMM shapes, 9 element-wise and 8
 * collective sizes, 3 passes: about 30 s on 2 ranks here) and of its
 * --quick (3 of each, one pass: a second). The arrays are static. */
pt_calibrate_plan pt_calibrate_default_plan(bool quick);

/* The collectives measured, in the order of every [PT_CALIBRATE_NKINDS]
 * array below: all_gather, reduce_scatter, all_reduce, all_to_all and
 * collective_permute (PT_SIM_*; axis_slice moves nothing). */
#define PT_CALIBRATE_NKINDS 5
extern const int pt_calibrate_kinds[PT_CALIBRATE_NKINDS];

/* ---- raw figures --------------------------------------------------------- */

/* Where and how the figures were taken. */
typedef struct {
  int ranks;      /* in MPI_COMM_WORLD */
  int nodes;      /* shared-memory nodes among them (1: the link is shm) */
  int per_node;   /* ranks on rank 0's node */
  long cores;     /* online processors, summed over the nodes */
  double seconds; /* wall time of measuring */
  /* other runnable processes on rank 0's node (/proc/stat), sampled after
   * every item: the mean and the most; other work competing for the cores
   * makes every figure pessimistic */
  double others, others_max;
} pt_calibrate_machine;

/* Seconds of one op, per item and pass (the layouts of the accessors below). */
typedef struct {
  pt_calibrate_plan plan; /* borrowed arrays */
  pt_calibrate_machine machine;
  int64_t *groups; /* the collectives' group sizes: the divisors of ranks and the
                      powers of two up to it, from 2; N/G groups of G consecutive
                      ranks measure at once, the ranks left over sit it out */
  int ngroups;
  double *ew;         /* add, mul of plan.ew[i] */
  double *gemm;       /* A.B, A.B^T, A^T.B of plan.gemm[i] */
  double *fn;         /* pt_sim_element_ops[k] over plan.fn_n elements */
  double *coll;       /* pt_calibrate_kinds[k] over groups[g] ranks, size i */
  double *coll_bytes; /* [g * ncoll + i]: the operand measured, plan.coll[i] rounded
                         up to whole floats for every rank of the group */
} pt_calibrate_data;

/* Sets m up for plan on `ranks` ranks: the group sizes, the operand bytes,
 * every figure 0 (a test fills them). PT_ERR (and m empty) for a plan
 * pt_calibrate_measure would refuse, or fewer than 2 ranks. */
pt_status pt_calibrate_data_init(pt_calibrate_data *m, const pt_calibrate_plan *plan, int ranks,
                                 pt_diag *d);
void pt_calibrate_data_free(pt_calibrate_data *m);

/* The figures of one item in one pass (pass counts from 0): 2, 3, 1 and 1
 * doubles. */
static inline double *pt_calibrate_ew(const pt_calibrate_data *m, int i, int pass) {
  return m->ew + 2 * ((size_t)i * (size_t)m->plan.passes + (size_t)pass);
}
static inline double *pt_calibrate_gemm(const pt_calibrate_data *m, int i, int pass) {
  return m->gemm + 3 * ((size_t)i * (size_t)m->plan.passes + (size_t)pass);
}
static inline double *pt_calibrate_fn(const pt_calibrate_data *m, int k, int pass) {
  return m->fn + (size_t)k * (size_t)m->plan.passes + (size_t)pass;
}
static inline double *pt_calibrate_coll(const pt_calibrate_data *m, int g, int k, int i, int pass) {
  size_t item = ((size_t)g * PT_CALIBRATE_NKINDS + (size_t)k) * (size_t)m->plan.ncoll + (size_t)i;
  return m->coll + item * (size_t)m->plan.passes + (size_t)pass;
}

/* ---- measuring ----------------------------------------------------------- */

typedef enum {
  PT_CALIBRATE_STARTED,     /* the machine and groups are known; nothing measured yet */
  PT_CALIBRATE_ELEMENTWISE, /* add and mul of plan.ew[item] bytes: secs[0], secs[1] */
  PT_CALIBRATE_FUNCTIONS,   /* each of pt_sim_element_ops over plan.fn_n elements: secs[k] */
  PT_CALIBRATE_GEMM,        /* plan.gemm[item]: secs[0..2] for A.B, A.B^T, A^T.B */
  PT_CALIBRATE_COLLECTIVE,  /* pt_calibrate_kinds[coll_kind] over groups[group] ranks of
                               coll_bytes[group * ncoll + item]: secs[0] */
} pt_calibrate_event_kind;

typedef struct {
  pt_calibrate_event_kind kind;
  int rank;
  int pass;        /* from 0 */
  int done, total; /* items measured (this one included) and in all (passes x items) */
  int item, group, coll_kind;
  bool ok;                       /* false: measuring the item failed (its secs are 0), and the
                                    call returns PT_ERR next */
  const double *secs;            /* this pass's figures of the item; borrowed for the call */
  const pt_calibrate_data *data; /* the run so far, borrowed */
} pt_calibrate_event;

/* Called on every rank for every event, in the order they happen: one
 * PT_CALIBRATE_STARTED, then per pass the element-wise sizes, the functions,
 * the GEMM shapes and per group size each collective at each size. A command
 * prints rank 0's. */
typedef void (*pt_calibrate_progress_fn)(void *ctx, const pt_calibrate_event *ev);

/* The event as one line of text, into buf (returned; no newline), as
 * `partita calibrate` prints it after its "[ 42%] ": PT_CALIBRATE_STARTED
 * says what will be measured on how many ranks and cores; an item, its
 * pass ("pass 2/3: ", with more than one) and its figures, e.g.
 * "gemm 64x1024x1024: 54.9 GFLOP/s (A.B 96.1, A.B^T 53.9, A^T.B 39.0)". */
char *pt_calibrate_event_str(const pt_calibrate_event *ev, char *buf, size_t cap);

typedef struct {
  pt_calibrate_plan plan;
  pt_calibrate_progress_fn progress; /* may be NULL */
  void *progress_ctx;
} pt_calibrate_opts;

/* Measures (above). On PT_OK *out holds every figure on every rank; on
 * PT_ERR it holds nothing, and is still safe to free. */
pt_status pt_calibrate_measure(const pt_calibrate_opts *o, pt_calibrate_data *out, pt_diag *d);

/* ---- fitting ------------------------------------------------------------- */

/* t = alpha + beta x (seconds; x in bytes), and its relative errors at the
 * points it was fitted to. */
typedef struct {
  double alpha, beta;
  double rms, max;
} pt_calibrate_line;

typedef struct {
  int64_t group;
  double *bytes;                              /* per size: the operand's bytes (ncoll) */
  double *secs[PT_CALIBRATE_NKINDS];          /* per size: the median over the passes */
  pt_calibrate_line fit[PT_CALIBRATE_NKINDS]; /* least squares on relative errors
                                                 (weights 1/t^2), alpha >= 0, beta > 0
                                                 (a flat line: all latency, beta 1e-18) */
} pt_calibrate_group;

typedef struct {
  pt_calibrate_plan plan; /* borrowed arrays, as the data's */
  pt_calibrate_machine machine;
  double (*gemm_secs)[3];  /* per shape: the medians of A.B, A.B^T, A^T.B */
  double *gemm_rate;       /* per shape, flop/s: the three orientations' flops by their
                              total time, each less the op overhead (at most half its time) */
  double (*gemm_rates)[3]; /* per shape and orientation, flop/s, likewise */
  double (*ew_secs)[2];    /* per size: the medians of add and mul */
  /* The element-wise model, x the bytes an op moves (3x its operand):
   * alpha, the per-op overhead, is the smallest size's time; beta, seconds
   * per byte, is fitted (relative least squares through that alpha) to the
   * sizes of 1 MiB and more, which stream from memory as a step's large
   * tensors do (the largest size alone if none is that large); rms and max
   * are theirs. */
  pt_calibrate_line elementwise;
  double ew_faster; /* the most the smaller, cache-resident sizes beat that line by (>= 1) */
  double *fn_secs;  /* per pt_sim_element_ops entry: the median seconds of one op */
  pt_calibrate_group *groups;
  int ngroups;
} pt_calibrate_model;

/* Fits (above). On PT_OK *out holds the model; on PT_ERR nothing. */
pt_status pt_calibrate_fit(const pt_calibrate_data *m, pt_calibrate_model *out, pt_diag *d);
void pt_calibrate_model_free(pt_calibrate_model *m);

/* The median of v[0..n), n >= 1 (sorts v). */
double pt_calibrate_median(double *v, int n);

/* ---- the hardware file --------------------------------------------------- */

typedef struct {
  const char *name;   /* the machine's name (pt_calibrate_name_ok) */
  const char *memory; /* devices.memory as given (pt_sim_parse_size reads it);
                         NULL: this node's RAM divided by machine.per_node */
  /* the partita command line that measured (argv[0] the subcommand),
   * quoted for a shell in the file's first comment after `mpirun -n RANKS
   * partita` */
  int argc;
  char *const *argv;
} pt_calibrate_file;

/* Whether name can be a hardware file's name as it is: a letter or '_',
 * then letters, digits, '_', '-' and '.'. */
bool pt_calibrate_name_ok(const char *name);

/* A figure as the file's comments and calibrate's progress write it, into
 * buf (returned): bytes as "256 B", "1.5 MiB"; seconds as "0.04 us",
 * "3.2 ms", "1.5 s" (3 significant digits). */
char *pt_calibrate_bytes_str(double bytes, char *buf, size_t cap);
char *pt_calibrate_secs_str(double seconds, char *buf, size_t cap);

/* The hardware file of model m (docs/hardware.md), in a string the caller
 * frees with pt_free. The date, host, CPU, OpenBLAS and, without
 * f->memory, the RAM in it are this process's. It always reads back
 * (pt_sim_hw_parse); a file that does not is a bug here, and aborts. */
char *pt_calibrate_yaml(const pt_calibrate_model *m, const pt_calibrate_file *f);
/* Whether a file can be written at path (it is no directory, and a file
 * can be created next to it), to check before minutes of measuring rather
 * than after; "path: error: cannot write: ..." to d if not. */
pt_status pt_calibrate_check_writable(const char *path, pt_diag *d);
/* Writes it to path atomically (pt_write_file_atomic): the old file or the
 * new one, never a part. "path: error: cannot write: ..." to d on failure. */
pt_status pt_calibrate_write_yaml(const pt_calibrate_model *m, const pt_calibrate_file *f,
                                  const char *path, pt_diag *d);

#endif
