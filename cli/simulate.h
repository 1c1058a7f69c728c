/* What `partita sim` and `partita explore` share (cli/simulate.c): apply a tactic
 * script, lower, and simulate the per-device program on a hardware file. */
#ifndef PT_CLI_SIMULATE_H
#define PT_CLI_SIMULATE_H

#include "sharded.h"
#include "sim.h"

typedef struct {
  pt_cli_sharded x;       /* the program, the script, the sharded function */
  pt_func *g;             /* the lowered function (in x.m) */
  pt_sim_result r;        /* borrows g and the hardware */
  const char **tactic_of; /* per op of g: the tactic behind a collective, or NULL */
} pt_cli_sim;

/* Loads and shards a->file with a->tactics (pt_cli_shard), lowers and
 * simulates it on hw. Diagnostics about the hardware file go to hwd (which
 * holds its source). Returns PT_EXIT_OK, PT_EXIT_USAGE or PT_EXIT_INPUT;
 * *out is always safe to pass to pt_cli_sim_free. */
int pt_cli_simulate(const pt_command *c, const pt_cli_shard_args *a, const pt_sim_hw *hw,
                    pt_diag *hwd, pt_cli_sim *out);
void pt_cli_sim_free(pt_cli_sim *s);

/* "batch=2,model=2" into buf. */
char *pt_cli_mesh_str(const pt_mesh *m, char *buf, size_t cap);
/* Columns a terminal shows for UTF-8 text s ("µs" is two). */
int pt_cli_width(const char *s);
/* Prints s right-aligned in w columns (negative w: left-aligned). */
void pt_cli_col(const char *s, int w);
/* Reads the hardware file at path, printing errors (diag kept in *hwd, which
 * the caller destroys). NULL on error. */
pt_sim_hw *pt_cli_read_hw(const char *path, pt_diag **hwd);

#endif
