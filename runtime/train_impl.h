/* What the one-rank loop (runtime/train.c) and the distributed one
 * (runtime/train_dist.c) share; internal to runtime/train*.c. */
#ifndef PT_TRAIN_IMPL_H
#define PT_TRAIN_IMPL_H

#include <signal.h>

#include "init.h"
#include "train.h"

double pt_train_now(void);

/* Builds train_step from o->loss (a fresh name if "train_step" is taken)
 * into *ts; *specs (pt_free) receives the loss arguments' seeded
 * initialisation, fixed before the pass touches the module. */
pt_status pt_train_build_step(const pt_train_opts *o, pt_func **ts, pt_init_spec **specs,
                              pt_diag *d);

/* Whether the data source fills the loss's inputs: it is set, and none of
 * the n names given (the --inputs file's) is an input of the loss. */
bool pt_train_use_data(const pt_train_opts *o, int n, const char *const *given);

/* The whole starting value of train_step argument a when no file gives it:
 * the data source's (use_data), the seeded one, or zero. A new tensor. */
pt_tensor *pt_train_start_value(const pt_train_opts *o, const pt_value *a,
                                const pt_init_spec *specs, bool use_data);

/* CKPT_DIR/checkpoint.safetensors into buf. */
const char *pt_train_ckpt_path(const char *dir, char *buf, size_t n);

/* The largest step a checkpoint may record: steps count on from it, and
 * JSON readers hold it exactly (2^53). */
#define PT_TRAIN_MAX_STEP ((uint64_t)1 << 53)

/* Checks that a checkpoint's metadata (partita.func, .optimizer and .step;
 * NULL where missing) names o's loss and optimizer, and gives its step (1
 * to PT_TRAIN_MAX_STEP, decimal digits only) in *step; reports at path
 * otherwise. */
bool pt_train_ckpt_meta_ok(const pt_train_opts *o, const char *path, const char *func,
                           const char *optim, const char *st, uint64_t *step, pt_diag *d);

/* Samples per step: dim 0 of ts's first input of rank >= 1 (0 if none). */
int64_t pt_train_batch(const pt_func *ts);

/* Calls o->progress, if any, with *ev after filling in the fields every
 * event shares. */
void pt_train_emit(const pt_train_opts *o, pt_train_event ev, int rank, int ranks, int64_t batch);

/* Fills *r from the run: takes losses and secs (pt_malloc'd, steps each). */
void pt_train_report_fill(pt_train_report *r, const pt_train_opts *o, pt_func *ts,
                          uint64_t start_step, double *losses, double *secs, int ranks,
                          int64_t batch);

/* stop_on_signal: installs the SIGINT/SIGTERM handlers (saving the old
 * ones in old[2]) and clears the flag; restore puts the old ones back. */
void pt_train_signals_install(const pt_train_opts *o, struct sigaction old[2]);
void pt_train_signals_restore(const pt_train_opts *o, const struct sigaction old[2]);
/* The signal that asked the run to stop, or 0. */
int pt_train_stop_signal(void);
/* The error of a run stopped by signal sig after step `step`, whose state
 * is in the checkpoint `path` (NULL: not written). */
void pt_train_interrupted(pt_diag *d, const pt_train_opts *o, int sig, uint64_t step,
                          const char *path);

/* The distributed loop (runtime/train_dist.c). */
pt_status pt_train_run_distributed(const pt_train_opts *o, pt_train_report *r, pt_diag *d);

#endif
