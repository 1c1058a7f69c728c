/* The `partita` command: one subcommand per file, sharing these helpers.
 * Exit codes: 0 success, 1 bad input (or a failed check), 2 bad usage. */
#ifndef PT_CLI_H
#define PT_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "ir.h"
#include "passes.h"

enum { PT_EXIT_OK = 0, PT_EXIT_INPUT = 1, PT_EXIT_USAGE = 2 };

typedef struct {
  const char *name;
  int (*run)(int argc, char **argv); /* argv[0] is the subcommand */
  const char *summary;
  const char *usage; /* the full --help text */
} pt_command;

extern const pt_command pt_cmd_check, pt_cmd_fmt, pt_cmd_run;
extern const pt_command pt_cmd_grad, pt_cmd_train_step, pt_cmd_train;
extern const pt_command pt_cmd_partition, pt_cmd_explain;
extern const pt_command pt_cmd_lower, pt_cmd_reshard;
extern const pt_command pt_cmd_sim, pt_cmd_explore;
extern const pt_command pt_cmd_calibrate, pt_cmd_model, pt_cmd_auto, pt_cmd_import;

/* Prints "partita CMD: error: ..." and a pointer to --help; returns 2. */
int pt_cli_usage(const pt_command *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Handles an unknown option or a missing argument reported by getopt_long
 * (opterr must be 0); returns 2. */
int pt_cli_bad_option(const pt_command *c, int argc, char **argv);
/* True (after printing the help) if argv asks for --help or -h anywhere. */
bool pt_cli_wants_help(const pt_command *c, int argc, char **argv);

/* Parses and verifies FILE, then inlines every call (pt_pass_inline), so
 * that each function is flat; diagnostics go to d. NULL on error. The
 * caller destroys the module and the diag. */
pt_module *pt_cli_load(const char *path, pt_diag *d);
/* The same without inlining: the module as written (fmt, check). */
pt_module *pt_cli_load_raw(const char *path, pt_diag *d);
/* Picks the function to run: --func NAME, else the only function, else one
 * called "loss"; prints an error and returns NULL otherwise. */
pt_func *pt_cli_pick_func(pt_module *m, const char *name, const char *cmd);
/* Parses a non-negative integer option value; false on garbage. */
bool pt_cli_parse_u64(const char *s, uint64_t *out);
/* A whole string as a finite double (strtod); false otherwise. */
bool pt_cli_parse_double(const char *s, double *out);

/* Writes text to path atomically (a temporary file in the same directory,
 * fsync'd, renamed over path); prints `path: error: ...` and returns false
 * on failure (cli/grad.c). */
bool pt_cli_write_text(const char *path, const char *text);

/* The optimizer options train-step and train share, as given on the
 * command line (NULL: not given). */
typedef struct {
  const char *optimizer, *lr, *momentum, *beta1, *beta2, *eps;
} pt_cli_optim_args;
/* Their getopt_long codes and table entries (a command's own codes start at
 * PT_CLI_OPT_NEXT), and the step that records one: true if c was one of
 * them. */
enum {
  PT_CLI_OPT_OPTIMIZER = 256,
  PT_CLI_OPT_LR,
  PT_CLI_OPT_MOMENTUM,
  PT_CLI_OPT_BETA1,
  PT_CLI_OPT_BETA2,
  PT_CLI_OPT_EPS,
  PT_CLI_OPT_NEXT
};
// clang-format off
#define PT_CLI_OPTIM_OPTIONS                                      \
  {"optimizer", required_argument, 0, PT_CLI_OPT_OPTIMIZER},      \
  {"lr", required_argument, 0, PT_CLI_OPT_LR},                    \
  {"momentum", required_argument, 0, PT_CLI_OPT_MOMENTUM},        \
  {"beta1", required_argument, 0, PT_CLI_OPT_BETA1},              \
  {"beta2", required_argument, 0, PT_CLI_OPT_BETA2},              \
  {"eps", required_argument, 0, PT_CLI_OPT_EPS}
// clang-format on
bool pt_cli_optim_take(pt_cli_optim_args *a, int c, const char *arg);
/* Checks and converts them into *out (defaults for what is not given);
 * prints a usage error for c and returns PT_EXIT_USAGE on a missing or
 * unknown optimizer, a malformed number, a value out of range or an option
 * the optimizer does not take; else PT_EXIT_OK (cli/train_step.c). */
int pt_cli_optimizer(const pt_command *c, const pt_cli_optim_args *a, pt_optimizer *out);

#endif
