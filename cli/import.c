/* `partita import FILE.mlir`: StableHLO text from JAX or PyTorch/XLA into
 * partita's IR (the library: import/import.h; docs/import.md). */
#include <getopt.h>
#include <string.h>

#include "cli.h"
#include "import.h"

static int run(int argc, char **argv);

const pt_command pt_cmd_import = {
    "import", run, "read StableHLO text (JAX, PyTorch/XLA) into partita IR",
    "Usage: partita import FILE.mlir [-o FILE.pir] [--func NAME] [--params SPEC]\n"
    "                      [--params-from-constants] [--names FILE]\n\n"
    "Reads StableHLO in MLIR's text form, pretty or generic, as JAX's\n"
    "jax.jit(f).lower(...).as_text() and torch_xla's StableHLO export print it, and\n"
    "writes a partita module that `partita check` accepts: one function per\n"
    "func.func, func.call as `call`, each StableHLO op as its partita op or a short\n"
    "composition (docs/import.md has the table). Anything else is one error at its\n"
    "line. The entry function is @main (or the only public one); if it returns one\n"
    "f32 scalar it is named @loss, partita's default entry. Its arguments are\n"
    "inputs unless --params says otherwise; jax.arg_info attributes name them.\n\n"
    "Options:\n"
    "  -o, --output FILE          write the module to FILE (default: stdout)\n"
    "      --func NAME            the entry function (default: main)\n"
    "      --params SPEC          which entry arguments are params: indices and\n"
    "                             inclusive ranges, 0-based (0,2-4,6-), all or none\n"
    "      --params-from-constants  the entry's non-splat f32 constants and elided\n"
    "                             dense_resource blobs become params const.0, ...\n"
    "      --names FILE           argument names, one per line, in order (the\n"
    "                             entry's arguments, then the params made from\n"
    "                             constants); '#' lines are comments\n"
    "  -h, --help                 show this help\n\n"
    "Example:\n"
    "  partita import mlp.mlir --params 2- --names mlp.names -o mlp.pir\n\n"
    "Exit status: 0 success, 1 bad input (an unsupported op, type or attribute),\n"
    "2 bad usage.\n"};

enum { OPT_FUNC = 256, OPT_PARAMS, OPT_PFC, OPT_NAMES };

static int run(int argc, char **argv) {
  if (pt_cli_wants_help(&pt_cmd_import, argc, argv))
    return PT_EXIT_OK;
  static const struct option opts[] = {{"output", required_argument, 0, 'o'},
                                       {"func", required_argument, 0, OPT_FUNC},
                                       {"params", required_argument, 0, OPT_PARAMS},
                                       {"params-from-constants", no_argument, 0, OPT_PFC},
                                       {"names", required_argument, 0, OPT_NAMES},
                                       {0, 0, 0, 0}};
  const char *out = NULL, *names_path = NULL;
  pt_import_opts o = {0};
  int c;
  opterr = 0;
  optind = 1;
  while ((c = getopt_long(argc, argv, "o:", opts, NULL)) != -1) {
    if (c == 'o')
      out = optarg;
    else if (c == OPT_FUNC)
      o.func = optarg;
    else if (c == OPT_PARAMS)
      o.params = optarg;
    else if (c == OPT_PFC)
      o.params_from_constants = true;
    else if (c == OPT_NAMES)
      names_path = optarg;
    else
      return pt_cli_bad_option(&pt_cmd_import, argc, argv);
  }
  if (optind >= argc)
    return pt_cli_usage(&pt_cmd_import, "no input file");
  if (argc - optind > 1)
    return pt_cli_usage(&pt_cmd_import, "one input file at a time");
  const char *why = o.params ? pt_import_params_check(o.params) : NULL;
  if (why)
    return pt_cli_usage(&pt_cmd_import, "%s", why);
  const char *path = argv[optind];
  pt_diag *d = pt_diag_create(stderr);
  char **names = NULL, *ntext = NULL, *text = NULL;
  int *lines = NULL, nnames = 0, status = PT_EXIT_INPUT;
  size_t nlen = 0, len = 0;
  pt_module *m = NULL;
  if (names_path) {
    ntext = pt_read_file(names_path, &nlen, d);
    if (!ntext || !pt_import_names_parse(ntext, nlen, names_path, &names, &lines, &nnames, d))
      goto done;
    o.names = (const char *const *)names;
    o.nnames = nnames;
    o.names_file = names_path;
    o.names_lines = lines;
  }
  text = pt_read_file(path, &len, d);
  if (!text)
    goto done;
  m = pt_import_parse(text, len, path, &o, d);
  if (!m)
    goto done;
  char *pir = pt_print_module_str(m);
  if (out) {
    if (pt_cli_write_text(out, pir)) {
      int nops = 0;
      for (int i = 0; i < m->nfuncs; i++)
        nops += m->funcs[i]->nops;
      const pt_func *e = m->funcs[m->nfuncs - 1];
      int np = 0;
      for (int i = 0; i < e->nargs; i++)
        np += e->args[i]->role == PT_ROLE_PARAM;
      fprintf(stderr, "%s: %d function%s, %d ops from %s; @%s has %d params and %d inputs\n", out,
              m->nfuncs, m->nfuncs == 1 ? "" : "s", nops, path, e->name, np, e->nargs - np);
      status = PT_EXIT_OK;
    }
  } else {
    fputs(pir, stdout);
    status = PT_EXIT_OK;
  }
  pt_free(pir);
done:
  pt_module_destroy(m);
  pt_free(text);
  pt_free(ntext);
  pt_import_names_free(names, lines, nnames);
  pt_diag_destroy(d);
  return status;
}
