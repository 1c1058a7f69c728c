/* `partita train-step FILE`: build the function that does one training step
 * (gradient and optimizer update) and print or write the module. Also the
 * optimizer options train-step and train share. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static int run(int argc, char **argv);

const pt_command pt_cmd_train_step = {
    "train-step", run, "build the function for one training step of a loss",
    "Usage: partita train-step FILE --optimizer sgd|momentum|adam [--func NAME]\n"
    "                          [--lr X] [--momentum X] [--beta1 X] [--beta2 X]\n"
    "                          [--eps X] [-o OUT.pir]\n\n"
    "Adds to FILE's module a function @train_step that computes the loss's\n"
    "gradient and updates every param with the optimizer, and prints the\n"
    "module. @train_step's arguments are the loss's params (same names and\n"
    "order), the optimizer state (role state, `opt.<param>.<slot>`: slot `buf`\n"
    "for momentum, `m` and `v` for adam, then the step counter `opt.step` for\n"
    "adam), then the loss's input and state arguments. Its results are the\n"
    "updated params and optimizer state, named as the arguments they replace,\n"
    "then `loss` (computed before the update). Optimizer state starts at zero.\n\n"
    "  sgd       p' = p - lr g\n"
    "  momentum  b' = momentum b + g;  p' = p - lr b'   (PyTorch SGD momentum)\n"
    "  adam      t' = t + 1;  m' = beta1 m + (1 - beta1) g;\n"
    "            v' = beta2 v + (1 - beta2) g^2;\n"
    "            p' = p - lr (m' / (1 - beta1^t')) / (sqrt(v' / (1 - beta2^t')) + eps)\n\n"
    "Options:\n"
    "  -f, --func NAME     the loss function (default: the only one, or @loss)\n"
    "      --optimizer K   sgd, momentum or adam (required)\n"
    "      --lr X          learning rate (default 1e-3 for adam, 1e-2 otherwise)\n"
    "      --momentum X    momentum only: the momentum, >= 0 (default 0.9)\n"
    "      --beta1 X       adam only: in [0, 1) (default 0.9)\n"
    "      --beta2 X       adam only: in [0, 1) (default 0.999)\n"
    "      --eps X         adam only: > 0 (default 1e-8)\n"
    "  -o, --out FILE      write the module to FILE (atomically) instead of stdout\n"
    "  -h, --help          show this help\n\n"
    "Exit status: 0 success, 1 bad input, 2 bad usage.\n"};

int pt_cli_optimizer(const pt_command *c, const pt_cli_optim_args *a, pt_optimizer *out) {
  pt_optim_kind kind;
  if (!a->optimizer)
    return pt_cli_usage(c, "--optimizer is required: sgd, momentum or adam");
  if (strcmp(a->optimizer, "sgd") == 0)
    kind = PT_OPTIM_SGD;
  else if (strcmp(a->optimizer, "momentum") == 0)
    kind = PT_OPTIM_MOMENTUM;
  else if (strcmp(a->optimizer, "adam") == 0)
    kind = PT_OPTIM_ADAM;
  else
    return pt_cli_usage(c, "unknown optimizer '%s' (choose sgd, momentum or adam)", a->optimizer);
  *out = pt_optimizer_default(kind);
  struct {
    const char *name, *val;
    double *dst;
    bool applies;
    double lo;      /* lowest allowed value */
    bool lo_strict; /* lo itself excluded */
    double hi;      /* values must be below hi */
    const char *range;
  } opts[] = {
      {"lr", a->lr, &out->lr, true, 0, true, INFINITY, "> 0"},
      {"momentum", a->momentum, &out->momentum, kind == PT_OPTIM_MOMENTUM, 0, false, INFINITY,
       ">= 0"},
      {"beta1", a->beta1, &out->beta1, kind == PT_OPTIM_ADAM, 0, false, 1, "in [0, 1)"},
      {"beta2", a->beta2, &out->beta2, kind == PT_OPTIM_ADAM, 0, false, 1, "in [0, 1)"},
      {"eps", a->eps, &out->eps, kind == PT_OPTIM_ADAM, 0, true, INFINITY, "> 0"},
  };
  for (size_t i = 0; i < sizeof opts / sizeof opts[0]; i++) {
    if (!opts[i].val)
      continue;
    if (!opts[i].applies)
      return pt_cli_usage(c, "--%s does not apply to --optimizer %s", opts[i].name, a->optimizer);
    double v;
    if (!pt_cli_parse_double(opts[i].val, &v))
      return pt_cli_usage(c, "--%s needs a number, not '%s'", opts[i].name, opts[i].val);
    if (v < opts[i].lo || (opts[i].lo_strict && v == opts[i].lo) || v >= opts[i].hi)
      return pt_cli_usage(c, "--%s must be %s, not %s", opts[i].name, opts[i].range, opts[i].val);
    *opts[i].dst = v;
  }
  return PT_EXIT_OK;
}

bool pt_cli_optim_take(pt_cli_optim_args *a, int c, const char *arg) {
  const char **slot = c == PT_CLI_OPT_OPTIMIZER  ? &a->optimizer
                      : c == PT_CLI_OPT_LR       ? &a->lr
                      : c == PT_CLI_OPT_MOMENTUM ? &a->momentum
                      : c == PT_CLI_OPT_BETA1    ? &a->beta1
                      : c == PT_CLI_OPT_BETA2    ? &a->beta2
                      : c == PT_CLI_OPT_EPS      ? &a->eps
                                                 : NULL;
  if (slot)
    *slot = arg;
  return slot != NULL;
}

static int run(int argc, char **argv) {
  if (pt_cli_wants_help(&pt_cmd_train_step, argc, argv))
    return PT_EXIT_OK;
  static const struct option opts[] = {{"func", required_argument, 0, 'f'},
                                       {"out", required_argument, 0, 'o'},
                                       PT_CLI_OPTIM_OPTIONS,
                                       {0, 0, 0, 0}};
  const char *func = NULL, *outpath = NULL;
  pt_cli_optim_args oa = {0};
  int c;
  opterr = 0;
  optind = 1;
  while ((c = getopt_long(argc, argv, "f:o:", opts, NULL)) != -1) {
    if (pt_cli_optim_take(&oa, c, optarg))
      continue;
    switch (c) {
    case 'f':
      func = optarg;
      break;
    case 'o':
      outpath = optarg;
      break;
    default:
      return pt_cli_bad_option(&pt_cmd_train_step, argc, argv);
    }
  }
  if (optind >= argc)
    return pt_cli_usage(&pt_cmd_train_step, "no input file");
  if (argc - optind > 1)
    return pt_cli_usage(&pt_cmd_train_step, "train-step takes one file, got %d", argc - optind);
  pt_optimizer opt;
  int st = pt_cli_optimizer(&pt_cmd_train_step, &oa, &opt);
  if (st != PT_EXIT_OK)
    return st;

  int status = PT_EXIT_INPUT;
  pt_diag *d = pt_diag_create(stderr);
  pt_module *m = pt_cli_load(argv[optind], d);
  pt_func *f = m ? pt_cli_pick_func(m, func, "train-step") : NULL;
  if (!f || pt_pass_train_step(m, f->name, &opt, NULL, NULL, d) != PT_OK ||
      pt_verify_module(m, d) != PT_OK)
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
