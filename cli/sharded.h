/* What `partita partition` and `partita explain` share (cli/partition.c):
 * load a program, optionally build its train_step, read a tactic script and
 * apply it, and name values as the printer does. */
#ifndef PT_CLI_SHARDED_H
#define PT_CLI_SHARDED_H

#include "cli.h"
#include "propagate.h"
#include "sharding.h"
#include "tactics.h"

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
  pt_prop_report rep;
  char **names; /* per value id: its name as the printer writes it */
  /* per value id (below ntext), per axis: decided in the program text,
   * before the schedule (values the tactics add have higher ids) */
  uint8_t (*in_text)[PT_MAX_AXES];
  int ntext;
} pt_cli_sharded;

/* Does all of it, printing every diagnostic to stderr. Returns PT_EXIT_OK,
 * PT_EXIT_USAGE (a bad --optimizer; the usage message is printed for c) or
 * PT_EXIT_INPUT. *out is always safe to pass to pt_cli_sharded_free. */
int pt_cli_shard(const pt_command *c, const pt_cli_shard_args *a, pt_cli_sharded *out);
void pt_cli_sharded_free(pt_cli_sharded *x);

/* The value named `name` (with or without '%', as printed) in x->f. */
pt_value *pt_cli_find_value(const pt_cli_sharded *x, const char *name);
/* Whether v's axis was decided in the program text. */
bool pt_cli_in_text(const pt_cli_sharded *x, const pt_value *v, int axis);
/* The name of v as printed, without '%'. */
const char *pt_cli_vname(const pt_cli_sharded *x, const pt_value *v);

/* "128 KiB", "1.5 MiB", "12 B". */
char *pt_cli_bytes(uint64_t n, char *buf, size_t cap);

#endif
