/* The training loop as library code: build a loss function's train_step,
 * give its arguments their starting values, run it for N steps feeding each
 * step's updated params and optimizer state into the next, checkpoint and
 * resume, and report every step through a callback. `partita train` is a
 * thin command over it (cli/train.c, cli/train_run.c).
 *
 * Two ways to run, chosen by opts.tactics:
 *   one rank (tactics NULL): train_step runs in the reference interpreter
 *     in this process (runtime/train.c); no MPI.
 *   distributed (tactics set): every rank of MPI_COMM_WORLD partitions
 *     train_step with the tactic script, lowers it and runs its own local
 *     program in the executor with the MPI collectives (runtime/
 *     train_dist.c). Each rank makes only its own blocks of the params and
 *     data, so the whole model never exists on one rank.
 *
 * Requires: a verified module with no calls left (pt_pass_inline) holding
 * the loss function; for distributed runs MPI initialised (MPI_Init) and
 * every rank of MPI_COMM_WORLD calling pt_train_run with the same options,
 * on a mesh of as many devices as there are ranks.
 * Provides: the losses and step times of every step (pt_train_report),
 * the final params and state in opts.out, checkpoints in opts.ckpt_dir.
 * Breaks: the module gains train_step (named "train_step", or
 * "train_step.N" if the name is taken), its gradient function and, when
 * distributed, the lowered train_step; its other functions compute what
 * they did.
 * Ownership: everything in the opts is borrowed for the call; the report
 * owns its arrays (pt_train_report_free). Diagnostics go to d; when
 * distributed, a failure is PT_ERR on every rank alike, and messages are in
 * every rank's d (rank 0's d is the one to print) except those of a failure
 * on one rank alone, which are in that rank's d and announced by a
 * PT_TRAIN_RANK_FAILED event.
 *
 * A loss that is nan or inf stops the run after that step's PT_TRAIN_STEP
 * event, before anything of that step's state is written: no checkpoint,
 * no opts.out; the last checkpoint written (or resumed from) stays as it
 * was. With opts.check_numerics, so does a param or optimizer state that
 * the step's update made nan or inf (a non-finite gradient shows there
 * first, a step before the loss). pt_train_run then fails with "step K: the loss is nan; ..." (see
 * pt_train_nonfinite), on every rank alike.
 *
 * With opts.stop_on_signal, SIGINT and SIGTERM during the run (handlers
 * installed for the call, the previous ones restored after it) let the
 * current step finish; then, on every rank (the ranks agree at each step's
 * end, so one signalled rank stops them all), the state after that step is
 * checkpointed if ckpt_dir is set, PT_TRAIN_INTERRUPTED is emitted, and
 * pt_train_run fails with "interrupted by SIGINT after step K; ...". A
 * second signal exits the process at once (status 128 + the signal).
 *
 * Starting values, per argument of train_step: the --inputs file's tensor
 * of that name; else, for an input of the loss function, the data source's
 * (opts.data, below); else the seeded initialisation `partita run` uses
 * (runtime/init.h, from opts.seed); else zero (optimizer state). A resumed
 * run then replaces the params and optimizer state by the checkpoint's.
 * Inputs stay the same every step. */
#ifndef PT_TRAIN_H
#define PT_TRAIN_H

#include "interp.h"
#include "passes.h"

/* ---- synthetic data ------------------------------------------------------ */

/* A source of synthetic data for the loss function's inputs: make() returns
 * the whole (global) value of input `input` of `loss`, a new tensor of
 * input's type that the loop owns, or NULL to leave that input to the
 * seeded initialisation (so a source may fill some inputs only). It must be
 * a pure function of its arguments: every rank calls it for every input
 * and keeps only its own block, and --verify calls it once more on rank 0.
 * A source that needs other inputs' values (e.g. labels computed from
 * tokens) recomputes them from the seed with pt_init_spec_for: the seeded
 * initialisation is a pure function of (seed, name, index).
 *
 * A source is used only when the --inputs file gives none of the loss's
 * inputs: data from the user wins whole. The loop never looks inside a
 * source: a new generator is a new function, not a change to the loop. */
typedef pt_tensor *(*pt_train_data_fn)(void *ctx, const pt_func *loss, const pt_value *input,
                                       uint64_t seed);
typedef struct {
  pt_train_data_fn make; /* NULL: every input seeded, as `partita run` makes it */
  void *ctx;             /* passed to make, borrowed */
} pt_train_data;

/* Targets from a fixed random teacher: for an input the loss compares (by
 * `sub`) with a value computed from the params -- the model's prediction --
 * the prediction of the same model with params from another seed, on the
 * same other inputs. For the labels of a cross-entropy (an i32 input made
 * one-hot by comparing it with an iota) next to token inputs of the same
 * shape (indexing an embedding by `take`): label = (a t + 1) mod V of the
 * token t at the same position, a fixed permutation of the vocabulary V (a
 * the first number from 5 coprime to V), which a language model learns.
 * NULL for every other input. The student can fit both exactly, so the
 * loss falls. ctx is unused. */
pt_tensor *pt_train_data_teacher(void *ctx, const pt_func *loss, const pt_value *input,
                                 uint64_t seed);
#define PT_TRAIN_DATA_TEACHER ((pt_train_data){pt_train_data_teacher, NULL})

/* ---- progress --------------------------------------------------------------- */

typedef enum {
  PT_TRAIN_RESUMED,     /* read the checkpoint `path` of step `step` */
  PT_TRAIN_STARTED,     /* set up; step `step` + 1 runs next */
  PT_TRAIN_VERIFIED,    /* --verify: step `step` gave `loss` in the interpreter too */
  PT_TRAIN_STEP,        /* step `step` ran: `loss` (before its update), `seconds` */
  PT_TRAIN_CHECKPOINT,  /* the state after step `step` is in `path` */
  PT_TRAIN_PROFILED,    /* steps `first`..`step` of every rank are in the trace `path` */
  PT_TRAIN_RANK_FAILED, /* this rank failed alone (MPI, the runtime, a file): its
                           messages are in `diag`; every rank returns PT_ERR next */
  PT_TRAIN_INTERRUPTED, /* stop_on_signal: `signal` stopped the run after step `step`
                           (and its checkpoint, if any); PT_ERR follows */
} pt_train_event_kind;

typedef struct {
  pt_train_event_kind kind;
  int rank, ranks;      /* this process's rank and how many there are (0 and 1 alone) */
  uint64_t step;        /* counted from 1, across resumes */
  uint64_t index;       /* PT_TRAIN_STEP: the step's index in this run, from 0 */
  uint64_t steps;       /* steps in this run (opts.steps) */
  uint64_t first;       /* PT_TRAIN_PROFILED */
  double loss, seconds; /* PT_TRAIN_STEP; loss also PT_TRAIN_VERIFIED */
  int64_t batch;        /* samples per step (pt_train_report.batch) */
  const char *path;     /* borrowed for the call */
  const pt_diag *diag;  /* PT_TRAIN_RANK_FAILED */
  int signal;           /* PT_TRAIN_INTERRUPTED: SIGINT or SIGTERM */
} pt_train_event;

/* Called on every rank for every event, in the order they happen: at most
 * one PT_TRAIN_RESUMED, one PT_TRAIN_STARTED, then per step its
 * PT_TRAIN_VERIFIED (if verified), PT_TRAIN_STEP and PT_TRAIN_CHECKPOINT
 * (if written), and PT_TRAIN_PROFILED at the end. The event is borrowed for
 * the call. A command prints rank 0's. */
typedef void (*pt_train_progress_fn)(void *ctx, const pt_train_event *ev);

/* ---- the run ---------------------------------------------------------------- */

typedef struct {
  pt_module *module; /* borrowed; gains train_step (above) */
  pt_func *loss;     /* the loss function, in module */
  pt_optimizer opt;
  uint64_t steps;     /* >= 1 */
  uint64_t seed;      /* for the seeded initialisation */
  const char *inputs; /* safetensors: starting values by name, or NULL; a tensor
                         that is no argument of train_step is an error */
  pt_train_data data; /* synthetic inputs; {0}: seeded */
  /* the params and optimizer state after the last step (safetensors):
   * one rank writes them with the run's metadata (func, source, steps, seed,
   * optimizer and its hyper-parameters), distributed runs as a checkpoint */
  const char *out;
  /* checkpoints: CKPT_DIR/checkpoint.safetensors (created if missing),
   * after the last step and every ckpt_every steps (0: the last only);
   * resume continues from it (the step count goes on from its step), onto
   * any mesh and script, and from a one-rank run's checkpoint too */
  const char *ckpt_dir;
  uint64_t ckpt_every;
  bool resume;
  /* distributed only (a one-rank run with either is an error): */
  const char *tactics;           /* the tactic script; NULL: one rank, the interpreter */
  bool verify;                   /* rank 0 also runs the first two steps (of a run that
                                    does not resume) in the reference interpreter; a
                                    loss that differs by more than 1e-4 relative fails */
  const char *profile;           /* Chrome trace of steps 2..11 (1 if it is the only
                                    one) of every rank's ops (runtime/profile.h) */
  pt_train_progress_fn progress; /* may be NULL */
  void *progress_ctx;
  bool stop_on_signal; /* SIGINT/SIGTERM stop the run cleanly (above) */
  /* distributed: a wait for other ranks (a collective, the loop's barrier,
   * a checkpoint) or a step's computation longer than this many seconds
   * ends the process with a message naming what it waited in and for whom
   * (runtime/watchdog.h); 0: no limit */
  double timeout_s;
  /* also check every updated param and optimizer state each step (above):
   * a pass over the model's state per step */
  bool check_numerics;
} pt_train_opts;

typedef struct {
  pt_func *train_step; /* the one-rank function the loop ran (borrowed from the module) */
  uint64_t first_step; /* the first step of this run, from 1 (a resumed run: the
                          checkpoint's step + 1) */
  uint64_t steps;
  double *losses;  /* per step of this run: the loss before its update */
  double *seconds; /* per step: wall time (distributed: from the barrier before it) */
  double median_seconds;
  int ranks;
  int64_t batch;       /* samples per step: dim 0 of train_step's first input of rank
                          >= 1 (0 if none) */
  int64_t *peak_bytes; /* distributed: per rank, the executor's planned buffers; NULL alone */
  /* distributed: per rank, the share of its steps' time spent in MPI
   * collectives, waiting for slower ranks included (so the least is the
   * rank the others wait for), the first step left out when there are
   * more; NULL alone */
  double *comm_share;
} pt_train_report;

/* Trains. On PT_OK *r holds the run (free with pt_train_report_free); on
 * PT_ERR it holds nothing, and is still safe to free. r may be NULL. */
pt_status pt_train_run(const pt_train_opts *o, pt_train_report *r, pt_diag *d);
void pt_train_report_free(pt_train_report *r);

/* The error of a run stopped at step `step` by a non-finite loss (tensor
 * NULL) or, with check_numerics, by a param or optimizer state `tensor`
 * that the step's update made nan or inf: names the step and the value,
 * and what is on disk -- the checkpoint of step `kept` in ckpt_dir (0:
 * none was written or resumed from). */
void pt_train_nonfinite(pt_diag *d, const pt_train_opts *o, uint64_t step, double loss,
                        const char *tensor, uint64_t kept);
/* The index of the first of the n f32 tensors t that holds a nan or an
 * inf, or -1. */
int pt_train_first_nonfinite(const pt_tensor *const *t, int n);

/* The optimizer's name as the command line spells it: "sgd", "momentum",
 * "adam". */
const char *pt_train_optim_name(pt_optim_kind k);

/* Whether tensor `name` of the starting-values file `path` is an argument
 * of f; if not, reports "path: error: tensor 'x' is not an argument of @f
 * (did you mean 'y'? its arguments: ...)" to d. Values are taken by name, so
 * a misspelt one would otherwise be initialised from the seed unnoticed. */
bool pt_train_input_is_argument(const pt_func *f, const char *name, const char *path, pt_diag *d);

#endif
