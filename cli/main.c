/* `partita`: dispatches to one subcommand per file. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "deps.h"

static const pt_command *const commands[] = {&pt_cmd_check,     &pt_cmd_fmt,       &pt_cmd_run,
                                             &pt_cmd_grad,      &pt_cmd_train_step, &pt_cmd_train,
                                             &pt_cmd_partition, &pt_cmd_explain,   &pt_cmd_lower,
                                             &pt_cmd_reshard,    &pt_cmd_sim,       &pt_cmd_explore,   &pt_cmd_auto,
                                             &pt_cmd_calibrate, &pt_cmd_model,      &pt_cmd_import};
#define NCOMMANDS (sizeof commands / sizeof commands[0])

static void print_help(FILE *out) {
  fputs("partita: an SPMD model-partitioning compiler and runtime\n\n"
        "Usage: partita COMMAND [ARGS...]\n\n"
        "Commands:\n",
        out);
  for (size_t i = 0; i < NCOMMANDS; i++)
    fprintf(out, "  %-11s %s\n", commands[i]->name, commands[i]->summary);
  fprintf(out, "  %-11s %s\n", "help", "show help for partita or for one command");
  fputs("\nOptions:\n"
        "  -h, --help     show this help\n"
        "  --version      show the version and the libraries partita uses\n\n"
        "Run 'partita help COMMAND' or 'partita COMMAND --help' for a command's options.\n"
        "Exit status: 0 success, 1 bad input or a failed check, 2 bad usage.\n"
        "Documentation: docs/cli.md, docs/ir.md.\n",
        out);
}

static const pt_command *find(const char *name) {
  for (size_t i = 0; i < NCOMMANDS; i++)
    if (strcmp(commands[i]->name, name) == 0)
      return commands[i];
  return NULL;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    print_help(stderr);
    return PT_EXIT_USAGE;
  }
  const char *cmd = argv[1];
  if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
    print_help(stdout);
    return PT_EXIT_OK;
  }
  if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "version") == 0) {
    printf("partita 0.1.0\n");
    pt_print_versions(stdout);
    return PT_EXIT_OK;
  }
  if (strcmp(cmd, "help") == 0) {
    if (argc < 3) {
      print_help(stdout);
      return PT_EXIT_OK;
    }
    const pt_command *c = find(argv[2]);
    if (!c) {
      fprintf(stderr, "partita help: error: unknown command '%s'\n", argv[2]);
      return PT_EXIT_USAGE;
    }
    fputs(c->usage, stdout);
    return PT_EXIT_OK;
  }
  const pt_command *c = find(cmd);
  if (!c) {
    fprintf(stderr, "partita: error: unknown command '%s'\nRun 'partita --help' for the list.\n",
            cmd);
    return PT_EXIT_USAGE;
  }
  return c->run(argc - 1, argv + 1);
}
