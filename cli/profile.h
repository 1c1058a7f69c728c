/* `partita train --tactics ... --profile OUT.json` (cli/profile.c): every
 * rank keeps the executor's per-op times of a few steps; at the end rank 0
 * gathers them and writes one Chrome trace-event JSON file in the format of
 * `partita sim --trace` (simulator/trace.c), one process per rank. */
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
 * fails at once). false, alike on every rank, with the message printed by
 * rank 0, if not. */
bool pt_prof_check_path(MPI_Comm comm, const char *path);
/* Collective over comm: gathers every rank's records (MPI_Gatherv) and has
 * rank 0 write the trace to path atomically (a temporary file renamed over
 * it). false, alike on every rank, with the message printed by rank 0, if
 * it could not. */
bool pt_prof_write(const pt_prof *p, MPI_Comm comm, const char *path, const pt_prof_info *info);

#endif
