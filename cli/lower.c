/* `partita lower FILE --tactics T.yaml`: the program each device runs. */
#include <getopt.h>
#include <jansson.h>
#include <string.h>

#include "lower.h"
#include "sharded.h"

static int run(int argc, char **argv);

const pt_command pt_cmd_lower = {
    "lower", run, "print the SPMD program each device runs, with its collectives",
    "Usage: partita lower FILE --tactics T.yaml [--func NAME] [--optimizer OPT] [--json]\n\n"
    "Applies the tactic script to a function of FILE (docs/tactics.md), lowers the\n"
    "sharded function to the per-device program (local shapes and explicit\n"
    "collectives, docs/spmd.md) and prints it, then a summary: the collectives by\n"
    "kind with the bytes each device sends per run, and the tactic behind each.\n\n"
    "Options:\n"
    "  -t, --tactics FILE   the tactic script (YAML)\n"
    "  -f, --func NAME      the function (default: the only one, or @loss;\n"
    "                       @train_step with --optimizer)\n"
    "      --optimizer OPT  first build train_step with sgd, momentum or adam\n"
    "      --json           print the summary as one JSON object instead\n"
    "  -h, --help           show this help\n\n"
    "Exit status: 0 success, 1 bad input, 2 bad usage.\n"};

static const char *const kinds[6] = {"all_gather", "reduce_scatter", "all_reduce",
                                     "all_to_all", "axis_slice",     "collective_permute"};

static int run(int argc, char **argv) {
  if (pt_cli_wants_help(&pt_cmd_lower, argc, argv))
    return PT_EXIT_OK;
  enum { O_JSON = PT_CLI_OPT_NEXT };
  static const struct option opts[] = {{"tactics", required_argument, 0, 't'},
                                       {"func", required_argument, 0, 'f'},
                                       {"optimizer", required_argument, 0, PT_CLI_OPT_OPTIMIZER},
                                       {"json", no_argument, 0, O_JSON},
                                       {0, 0, 0, 0}};
  pt_cli_shard_args a = {0};
  bool json = false;
  int c;
  opterr = 0;
  optind = 1;
  while ((c = getopt_long(argc, argv, "t:f:", opts, NULL)) != -1) {
    if (pt_cli_shard_take(&a, c, optarg))
      continue;
    switch (c) {
    case O_JSON: json = true; break;
    default: return pt_cli_bad_option(&pt_cmd_lower, argc, argv);
    }
  }
  if (optind >= argc)
    return pt_cli_usage(&pt_cmd_lower, "no input file");
  if (argc - optind > 1)
    return pt_cli_usage(&pt_cmd_lower, "lower takes one file, got %d", argc - optind);
  if (!a.tactics)
    return pt_cli_usage(&pt_cmd_lower, "--tactics is needed");
  a.file = argv[optind];
  pt_cli_sharded x;
  int status = pt_cli_shard(&pt_cmd_lower, &a, &x);
  if (status != PT_EXIT_OK) {
    pt_cli_sharded_free(&x);
    return status;
  }
  const char **names = pt_calloc((size_t)x.s->ntactics + 1, sizeof *names);
  for (int i = 0; i < x.s->ntactics; i++)
    names[i] = x.s->tactics[i].name;
  pt_lower_stats stats = {0};
  pt_func *g = NULL;
  status = pt_cli_lower(&x, a.optimizer != NULL, &stats, &g, x.d); /* as `train` runs it */
  if (status != PT_EXIT_OK)
    goto done;
  /* per tactic and kind */
  int ntac = x.s->ntactics + 1;
  int64_t *cnt = pt_calloc((size_t)ntac * 6, sizeof *cnt),
          *byt = pt_calloc((size_t)ntac * 6, sizeof *byt);
  int64_t kb[6] = {0};
  for (int i = 0; i < stats.nrecords; i++) {
    const pt_lower_record *r = &stats.records[i];
    int k = r->op->code - PT_OP_ALL_GATHER, t = r->tactic >= 0 ? r->tactic : x.s->ntactics;
    cnt[t * 6 + k]++;
    byt[t * 6 + k] += r->bytes;
    kb[k] += r->bytes;
  }
  char bb[32];
  if (json) {
    json_t *root = json_object(), *by = json_array(), *tac = json_array();
    json_object_set_new(root, "func", json_string(g->name));
    json_object_set_new(root, "ops", json_integer(g->nops));
    for (int k = 0; k < 6; k++) {
      if (!stats.count[k])
        continue;
      json_t *e = json_object();
      json_object_set_new(e, "kind", json_string(kinds[k]));
      json_object_set_new(e, "count", json_integer(stats.count[k]));
      json_object_set_new(e, "bytes_per_device", json_integer(kb[k]));
      json_array_append_new(by, e);
    }
    for (int t = 0; t < ntac; t++)
      for (int k = 0; k < 6; k++) {
        if (!cnt[t * 6 + k])
          continue;
        json_t *e = json_object();
        json_object_set_new(e, "tactic", t < x.s->ntactics ? json_string(names[t]) : json_null());
        json_object_set_new(e, "kind", json_string(kinds[k]));
        json_object_set_new(e, "count", json_integer(cnt[t * 6 + k]));
        json_object_set_new(e, "bytes_per_device", json_integer(byt[t * 6 + k]));
        json_array_append_new(tac, e);
      }
    json_object_set_new(root, "collectives", by);
    json_object_set_new(root, "by_tactic", tac);
    json_object_set_new(root, "bytes_per_device", json_integer(stats.bytes));
    json_dumpf(root, stdout, JSON_INDENT(2));
    fputc('\n', stdout);
    json_decref(root);
  } else {
    /* print the mesh with the program so the output parses on its own */
    printf("mesh {");
    for (int i = 0; i < x.m->mesh.naxes; i++)
      printf("%s%s = %lld", i ? ", " : "", x.m->mesh.names[i], (long long)x.m->mesh.sizes[i]);
    printf("}\n\n");
    pt_print_func(g, stdout);
    printf("\ncollectives per device and run (%d ops in the local program):\n", g->nops);
    if (!stats.nrecords)
      printf("  none: every op computes on local data\n");
    for (int k = 0; k < 6; k++)
      if (stats.count[k])
        printf("  %-20s %4d  %12s\n", kinds[k], stats.count[k],
               pt_cli_bytes((uint64_t)kb[k], bb, sizeof bb));
    if (stats.nrecords)
      printf("  %-20s %4d  %12s\n", "total", stats.nrecords,
             pt_cli_bytes((uint64_t)stats.bytes, bb, sizeof bb));
    if (stats.nrecords)
      printf("by tactic:\n");
    for (int t = 0; t < ntac; t++)
      for (int k = 0; k < 6; k++)
        if (cnt[t * 6 + k])
          printf("  %-24s %-20s %4lld  %12s\n", t < x.s->ntactics ? names[t] : "(program text)",
                 kinds[k], (long long)cnt[t * 6 + k],
                 pt_cli_bytes((uint64_t)byt[t * 6 + k], bb, sizeof bb));
  }
  pt_free(cnt);
  pt_free(byt);
done:
  pt_lower_stats_free(&stats);
  pt_free(names);
  pt_cli_sharded_free(&x);
  return status;
}
