/* What the commands that partition share (cli/sharded.c): load a program,
 * optionally build its train_step, read a tactic script and apply it
 * (tactics/analysis.h keeps what `explain` and `partition` report on). */
#ifndef PT_CLI_SHARDED_H
#define PT_CLI_SHARDED_H

#include "analysis.h"
#include "cli.h"
#include "lower.h"

typedef struct {
  const char *file, *tactics, *func, *optimizer; /* from the command line */
} pt_cli_shard_args;
/* Records -t/--tactics, -f/--func or --optimizer (getopt_long code
 * PT_CLI_OPT_OPTIMIZER, cli.h) into *a: true if c was one of them. */
bool pt_cli_shard_take(pt_cli_shard_args *a, int c, const char *arg);

/* A program with a schedule applied to one of its functions. */
typedef struct {
  pt_diag *d;
  pt_module *m;
  pt_schedule *s;
  pt_func *f;
  pt_analysis an; /* the report, names and what the text decided */
} pt_cli_sharded;

/* Does all of it, printing every diagnostic to stderr. Returns PT_EXIT_OK,
 * PT_EXIT_USAGE (a bad --optimizer; the usage message is printed for c) or
 * PT_EXIT_INPUT. *out is always safe to pass to pt_cli_sharded_free. */
int pt_cli_shard(const pt_command *c, const pt_cli_shard_args *a, pt_cli_sharded *out);
/* The same up to the schedule's application: loads the program, reads the
 * script (or takes `given`, which *out then owns, even on error), builds
 * train_step, picks the function and gives the module the script's mesh. */
int pt_cli_prepare(const pt_command *c, const pt_cli_shard_args *a, pt_schedule *given,
                   pt_cli_sharded *out);
void pt_cli_sharded_free(pt_cli_sharded *x);

/* Lowers x->f (pt_pass_lower, collectives named after x's tactics) into *g
 * and verifies it; lowering records go to stats (may be NULL), messages to
 * d. With `carry` (a train_step, as `partita train` runs it) params and
 * state are carried between steps as blocks where they can be
 * (pt_lower_opts.carried). Returns PT_EXIT_OK or PT_EXIT_INPUT. */
int pt_cli_lower(const pt_cli_sharded *x, bool carry, pt_lower_stats *stats, pt_func **g,
                 pt_diag *d);

/* `partita explain`'s picture of v (rank 1 or 2): its blocks and the
 * devices holding them (cli/explain_draw.c). */
void pt_cli_draw_layout(const pt_cli_sharded *x, const pt_value *v);
/* `partita partition --json`: prints x, its tables t and its conflicts as
 * one JSON object (cli/partition_json.c). */
void pt_cli_partition_json(const pt_cli_sharded *x, const pt_cli_shard_args *a,
                           const pt_shard_tables *t);

/* "128 KiB", "1.5 MiB", "12 B". */
char *pt_cli_bytes(uint64_t n, char *buf, size_t cap);

#endif
