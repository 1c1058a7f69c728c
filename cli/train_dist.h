/* The distributed training loop behind `partita train --tactics` (cli/train_dist.c). */
#ifndef PT_TRAIN_DIST_H
#define PT_TRAIN_DIST_H

#include "cli.h"
#include "passes.h"

typedef struct {
  const char *file, *func, *tactics;
  const char *outpath;  /* final params and state, as a checkpoint file */
  const char *ckpt_dir; /* checkpoints go to CKPT_DIR/checkpoint.safetensors */
  const char *inputs;   /* starting values by name (safetensors), or NULL */
  const char *profile;  /* the measured timeline (Chrome trace JSON), or NULL */
  const char *optimizer_name;
  pt_optimizer opt;
  uint64_t steps, seed, every, ckpt_every;
  bool json, verify, resume;
  bool synthetic; /* targets from a fixed random teacher (the default) */
} pt_train_dist_opts;

/* Runs under mpirun (or alone, as one rank): initialises MPI, trains, and
 * finalises MPI. Returns the exit status, the same on every rank. */
int pt_cli_train_distributed(const pt_train_dist_opts *o);

#endif
