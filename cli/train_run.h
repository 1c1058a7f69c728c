/* The runs of `partita train` (cli/train_run.c), as cli/train.c's options
 * ask for them. */
#ifndef PT_CLI_TRAIN_RUN_H
#define PT_CLI_TRAIN_RUN_H

#include "cli.h"
#include "train.h"

typedef struct {
  const char *file, *func; /* the program and --func */
  bool json;               /* one JSON summary on stdout; progress on stderr */
  uint64_t every;          /* print every K-th step (and the first and last) */
  pt_train_opts t;         /* all but module, loss and progress */
} pt_cli_train_args;

/* Without --tactics: trains in the reference interpreter, printing each
 * step and the summary; returns the exit status. */
int pt_cli_train_one_rank(pt_cli_train_args *a);
/* Runs under mpirun (or alone, as one rank): initialises MPI, loads the
 * program, trains, prints rank 0's progress and summary, and finalises
 * MPI. Returns the exit status, the same on every rank. */
int pt_cli_train_distributed(pt_cli_train_args *a);

#endif
