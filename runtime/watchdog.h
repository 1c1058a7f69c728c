/* A watchdog for a distributed training run (train --timeout): a thread
 * that notices when this rank has waited too long for the others, or
 * computed a step too long, says so and ends the process, so that a rank
 * that stops answering (stopped, hung, its node gone quiet) ends the job
 * with a message instead of hanging it forever.
 *
 * The training loop marks what the rank is doing: pt_watchdog_wait before
 * anything that waits for other ranks (a collective of the lowered program,
 * the loop's own barrier and agreements, a checkpoint's collective write)
 * and pt_watchdog_done after it; pt_watchdog_step around a step's
 * computation. When one wait, or one step's computation outside a wait,
 * lasts longer than the timeout, the watchdog prints to stderr
 *   partita (rank 0 of 2): error: step 12: all_reduce over 'batch' at
 *   examples/mlp.pir:12:10 has waited 3 s for rank 1 (--timeout 3): is it
 *   stopped, hung or gone? Ending the job.
 * naming the ranks of the group it waits for (every rank of the group but
 * this one: which of them is missing cannot be known without them), gives
 * the other ranks a second to say the same, and exits with status 1, which
 * makes mpirun end the whole job.
 *
 * Requires: MPI initialised; one watchdog per process (the state is
 * global); the marks come from the thread that called pt_watchdog_start.
 * A process that was itself stopped (SIGSTOP, a debugger) does not count
 * the time it was stopped: its watchdog sees its own look come late.
 * Provides: nothing while the run is well; the message and exit otherwise.
 * The marks are a few atomic stores: nothing is locked and no MPI call is
 * made from the watchdog's thread.
 * Ownership: mm and every op and text passed in are borrowed until
 * pt_watchdog_stop. */
#ifndef PT_WATCHDOG_H
#define PT_WATCHDOG_H

#include <stdbool.h>
#include <stdint.h>

#include "mpi_coll.h"

/* Starts watching with the given timeout; timeout_s <= 0 watches nothing.
 * false (with errno's message in err) if the thread cannot start. */
bool pt_watchdog_start(double timeout_s, const pt_mpi_mesh *mm, char *err, size_t n);
/* Stops the thread. Safe without a start. */
void pt_watchdog_stop(void);
/* Step `step` (from 1) is computing; 0: between steps (not watched). */
void pt_watchdog_step(uint64_t step);
/* This rank waits for others: in the lowered program's collective op, or
 * (op NULL) in what `what` says, over every rank. */
void pt_watchdog_wait(const pt_op *op, const char *what);
void pt_watchdog_done(void);

#endif
