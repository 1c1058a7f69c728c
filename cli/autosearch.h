/* What `partita auto` and `partita explore --auto` share (cli/autosearch.c):
 * a mesh from the command line, and the search with its progress line. */
#ifndef PT_CLI_AUTOSEARCH_H
#define PT_CLI_AUTOSEARCH_H

#include "auto.h"
#include "sharded.h"

/* A schedule with the mesh "batch=8,model=8" and no tactics; NULL after
 * printing a usage error for c (status 2). */
pt_schedule *pt_cli_mesh_schedule(const pt_command *c, const char *mesh);

/* Searches for a strategy for x->f (prepared, nothing applied) from the
 * schedule x->s on hw; with `progress`, a line on stderr that is redrawn as
 * the search goes (for a terminal). Messages go to x->d. Returns PT_EXIT_OK
 * or PT_EXIT_INPUT (r is then still filled when a strategy was found but
 * nothing fits). */
int pt_cli_auto(pt_cli_sharded *x, const pt_sim_hw *hw, pt_auto_opts *o, bool progress,
                pt_auto_result *r);

#endif
