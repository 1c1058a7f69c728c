/* `partita grad FILE`: add the gradient function of a loss (reverse-mode
 * autodiff, then cse and dce) and print or write the module. */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static int run(int argc, char **argv);

const pt_command pt_cmd_grad = {
    "grad", run, "add the gradient function of a loss (reverse-mode autodiff)",
    "Usage: partita grad FILE [--func NAME] [-o OUT.pir]\n\n"
    "Differentiates a function of FILE with respect to every param argument\n"
    "and prints the module with a new function @NAME_grad added: its\n"
    "arguments are NAME's, its results NAME's results followed by one\n"
    "gradient `grad.<param>` per param, in argument order. NAME's result\n"
    "called `loss` (or its only result) must be an f32 scalar and every param\n"
    "f32. The new function has been through common-subexpression and dead-code\n"
    "elimination; the original functions are kept.\n\n"
    "Options:\n"
    "  -f, --func NAME   the function to differentiate (default: the only one,\n"
    "                    or @loss)\n"
    "  -o, --out FILE    write the module to FILE (atomically) instead of stdout\n"
    "  -h, --help        show this help\n\n"
    "Exit status: 0 success, 1 bad input, 2 bad usage.\n"};

bool pt_cli_write_text(const char *path, const char *text) {
  pt_diag *d = pt_diag_create(stderr);
  bool ok = pt_write_file_atomic(path, text, d);
  pt_diag_destroy(d);
  return ok;
}

static int run(int argc, char **argv) {
  if (pt_cli_wants_help(&pt_cmd_grad, argc, argv))
    return PT_EXIT_OK;
  static const struct option opts[] = {
      {"func", required_argument, 0, 'f'}, {"out", required_argument, 0, 'o'}, {0, 0, 0, 0}};
  const char *func = NULL, *outpath = NULL;
  int c;
  opterr = 0;
  optind = 1;
  while ((c = getopt_long(argc, argv, "f:o:", opts, NULL)) != -1) {
    switch (c) {
    case 'f':
      func = optarg;
      break;
    case 'o':
      outpath = optarg;
      break;
    default:
      return pt_cli_bad_option(&pt_cmd_grad, argc, argv);
    }
  }
  if (optind >= argc)
    return pt_cli_usage(&pt_cmd_grad, "no input file");
  if (argc - optind > 1)
    return pt_cli_usage(&pt_cmd_grad, "grad takes one file, got %d", argc - optind);

  int status = PT_EXIT_INPUT;
  pt_diag *d = pt_diag_create(stderr);
  pt_module *m = pt_cli_load(argv[optind], d);
  pt_func *f = m ? pt_cli_pick_func(m, func, "grad") : NULL;
  if (!f)
    goto done;
  pt_autodiff_opts o = {f->name, NULL, NULL, 0, NULL};
  pt_func *gf = NULL;
  if (pt_pass_autodiff(m, &o, &gf, d) != PT_OK)
    goto done;
  pt_pass_strip_stop_gradient(gf);
  if (pt_pass_cse(m, d) != PT_OK || pt_pass_dce(m, d) != PT_OK || pt_verify_module(m, d) != PT_OK)
    goto done;
  char *text = pt_print_module_str(m);
  if (outpath) {
    if (pt_cli_write_text(outpath, text))
      status = PT_EXIT_OK;
  } else {
    fputs(text, stdout);
    status = PT_EXIT_OK;
  }
  pt_free(text);
done:
  pt_module_destroy(m);
  pt_diag_destroy(d);
  return status;
}
