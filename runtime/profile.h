/* The measured timeline of a distributed training run (runtime/profile.c;
 * `partita train --tactics ... --profile OUT.json`, runtime/train.h's
 * opts.profile): every rank keeps the executor's per-op times of a few
 * steps; at the end rank 0 gathers them and writes one Chrome trace-event
 * JSON file in the format of `partita sim --trace` (simulator/trace.c), one
 * process per rank.
 *
 * Requires: MPI initialised; the recorder's lowered function outliving it.
 * Provides: the trace file. Ownership: pt_prof_create's recorder is the
 * caller's (pt_prof_destroy); everything else is borrowed. Errors go to d
 * on rank 0 (as `path: error: ...`); every rank gets the same answer. */
#ifndef PT_PROFILE_H
#define PT_PROFILE_H

#include <mpi.h>

#include "exec.h"

/* At most this many steps are recorded (the file grows with steps x ops x
 * ranks); see docs/cli.md. */
enum { PT_PROF_MAX_STEPS = 10 };

typedef struct pt_prof pt_prof;

/* Room for max_steps runs of lowered function g (borrowed: it and its
 * module outlive the recorder). */
pt_prof *pt_prof_create(const pt_func *g, int max_steps);
void pt_prof_destroy(pt_prof *p);
/* Keeps the last run of e (whose profiling was on) as step `step`:
 * barrier_exit is when this rank left the barrier before the step and
 * step_seconds the step's time as the training loop measured it (both
 * CLOCK_MONOTONIC seconds). Ignored once max_steps are kept. */
void pt_prof_record(pt_prof *p, const pt_exec *e, uint64_t step, double barrier_exit,
                    double step_seconds);

/* What the trace's "otherData" says about the run (all borrowed). */
typedef struct {
  const char *source, *func, *tactics, *optimizer;
  const pt_mesh *mesh;
  int warmup; /* steps run before the first recorded one, not recorded */
} pt_prof_info;

/* Collective over comm, every rank with its own records: checks that rank
 * 0 can create files next to path (call it before training, so a bad path
 * fails at once). false, alike on every rank, with rank 0's message in d,
 * if not. */
bool pt_prof_check_path(MPI_Comm comm, const char *path, pt_diag *d);
/* Collective over comm: gathers every rank's records (MPI_Gatherv) and has
 * rank 0 write the trace to path atomically (a temporary file renamed over
 * it). false, alike on every rank, with rank 0's message in d, if it could
 * not. */
bool pt_prof_write(const pt_prof *p, MPI_Comm comm, const char *path, const pt_prof_info *info,
                   pt_diag *d);

#endif
