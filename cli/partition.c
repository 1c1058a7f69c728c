/* `partita partition FILE --tactics T.yaml`: apply a tactic script to a
 * function and show the sharded function and a per-device table of its
 * arguments, results and large intermediates, and the conflicts; the
 * tables are tactics/analysis.h's, printed as text or JSON. */
#include <getopt.h>
#include <string.h>

#include "sharded.h"

static int run(int argc, char **argv);

const pt_command pt_cmd_partition = {
    "partition", run, "apply a tactic script and show every value's sharding",
    "Usage: partita partition FILE --tactics T.yaml [--func NAME]\n"
    "                         [--optimizer sgd|momentum|adam] [--min-bytes N]\n"
    "                         [-q] [--json] [-o OUT.pir]\n\n"
    "Reads the tactic script T.yaml (docs/tactics.md), gives FILE its mesh,\n"
    "applies the schedule to a function (each tactic seeds shardings, then\n"
    "propagation carries them through the program; axes no tactic decided\n"
    "end replicated) and prints the sharded function, then a table of every\n"
    "argument, every result and every intermediate of at least N bytes per\n"
    "device: global shape, sharding, per-device shape and bytes; then the\n"
    "conflicts, where two shardings of one axis met at an op and disagreed\n"
    "(the lowering will redistribute there).\n\n"
    "With --optimizer, @train_step is built first (as `partita train-step`\n"
    "does, default hyper-parameters) and partitioned, so a script can shard\n"
    "gradients and optimizer state (opt.<param>.<slot>).\n\n"
    "Options:\n"
    "  -t, --tactics FILE   the tactic script (required)\n"
    "  -f, --func NAME      the function to partition (default: @train_step with\n"
    "                       --optimizer, else the only function, or @loss)\n"
    "      --optimizer OPT  build @train_step with sgd, momentum or adam\n"
    "      --min-bytes N    show intermediates of at least N bytes per device\n"
    "                       (default 65536)\n"
    "  -q, --quiet          do not print the sharded function, only the tables\n"
    "      --json           print everything as one JSON object\n"
    "  -o, --out FILE       also write the sharded module to FILE (atomically)\n"
    "  -h, --help           show this help\n\n"
    "Exit status: 0 success, 1 bad input (program, script, or a tactic that\n"
    "cannot apply), 2 bad usage.\n"};

/* ---- printing ------------------------------------------------------------ */

typedef struct {
  const pt_cli_shard_args *a;
  const char *outpath;
  uint64_t min_bytes;
  bool json, quiet;
} options;

#define VNAME(x, v) pt_analysis_name(&(x)->an, v)

static void mesh_text(const pt_mesh *m, char *buf, size_t cap) {
  size_t k = (size_t)snprintf(buf, cap, "{");
  for (int i = 0; i < m->naxes && k < cap; i++)
    k += (size_t)snprintf(buf + k, cap - k, "%s%s = %lld", i ? ", " : "", m->names[i],
                          (long long)m->sizes[i]);
  if (k < cap)
    snprintf(buf + k, cap - k, "}");
}

static void print_section(const pt_cli_sharded *x, const char *title, const char *col2,
                          const pt_value_table *t) {
  printf("%s\n", title);
  if (t->n == 0) {
    printf("  (none)\n");
    return;
  }
  char tb[PT_TYPE_STRLEN], sb[512], bb[32];
  int wn = 4, wr = (int)strlen(col2), wt = 12, ws = 8, wl = 16, wb = 5;
  for (int pass = 0; pass < 2; pass++) {
    if (pass == 1)
      printf("  %-*s  %-*s  %-*s  %-*s  %-*s  %*s\n", wn, "name", wr, col2, wt, "global shape", ws,
             "sharding", wl, "per-device shape", wb, "bytes");
    for (int i = 0; i < t->n; i++) {
      const pt_value *v = t->rows[i].value;
      char name[256], role[256];
      if (t->rows[i].label) {
        snprintf(name, sizeof name, "%s", t->rows[i].label);
        snprintf(role, sizeof role, "%%%s", VNAME(x, v));
      } else {
        snprintf(name, sizeof name, "%%%s", VNAME(x, v));
        snprintf(role, sizeof role, "%s",
                 v->def ? pt_op_name(v->def->code) : pt_role_name(v->role));
      }
      char lts[PT_TYPE_STRLEN];
      pt_type_str(&t->rows[i].local, lts, sizeof lts);
      pt_type_str(&v->type, tb, sizeof tb);
      pt_sharding_str(v, sb, sizeof sb);
      pt_cli_bytes(t->rows[i].local_bytes, bb, sizeof bb);
      if (pass == 0) {
#define W(w, s) w = (int)strlen(s) > w ? (int)strlen(s) : w
        W(wn, name);
        W(wr, role);
        W(wt, tb);
        W(ws, sb);
        W(wl, lts);
        W(wb, bb);
#undef W
      } else {
        printf("  %-*s  %-*s  %-*s  %-*s  %-*s  %*s\n", wn, name, wr, role, wt, tb, ws, sb, wl, lts,
               wb, bb);
      }
    }
  }
}

static const char *conflict_value(const pt_cli_sharded *x, const pt_conflict *c) {
  return c->op->result ? VNAME(x, c->op->result) : "?";
}

static void print_text(const options *o, const pt_cli_sharded *x, const pt_shard_tables *t) {
  const pt_mesh *mesh = &x->m->mesh;
  const pt_func *f = x->f;
  char meshs[512];
  mesh_text(mesh, meshs, sizeof meshs);
  if (!o->quiet) {
    printf("mesh %s\n\n", meshs);
    pt_print_func(f, stdout);
    putchar('\n');
  }
  printf("@%s on mesh %s (%lld devices), %s:", f->name, meshs, (long long)pt_mesh_devices(mesh),
         o->a->tactics);
  for (int i = 0; i < x->s->ntactics; i++)
    printf("%s %s (%s)", i ? "," : "", x->s->tactics[i].name, x->s->tactics[i].axis_name);
  printf("; %d propagation sweeps\n", x->an.rep.sweeps);
  char b1[32], b2[32], title[160];
  printf("arguments take %s per device (%s in all)\n\n", pt_cli_bytes(t->arg_local, b1, sizeof b1),
         pt_cli_bytes(t->arg_global, b2, sizeof b2));
  snprintf(title, sizeof title, "intermediates of at least %s per device (%d of %d)",
           pt_cli_bytes(t->min_bytes, b1, sizeof b1), t->inter.n, f->nops);
  print_section(x, "arguments", "role", &t->args);
  putchar('\n');
  print_section(x, "results", "value", &t->results);
  putchar('\n');
  print_section(x, title, "op", &t->inter);
  putchar('\n');
  const pt_prop_report *rep = &x->an.rep;
  printf("conflicts (%d)\n", rep->nconflicts);
  if (rep->nconflicts == 0)
    printf("  (none)\n");
  for (int i = 0; i < rep->nconflicts; i++) {
    const pt_conflict *c = &rep->conflicts[i];
    const char *tac = pt_analysis_tactic(&x->an, c->tactic);
    printf("  %s:%d:%d: %s %%%s along '%s' (tactic '%s'): %s\n",
           c->op->loc.file ? c->op->loc.file : o->a->file, c->op->loc.line, c->op->loc.col,
           pt_op_name(c->op->code), conflict_value(x, c), mesh->names[c->axis], tac ? tac : "?",
           c->why);
  }
}

/* ---- the command --------------------------------------------------------- */

/* Parses the command line into *o and *a; PT_EXIT_OK, or the usage error's
 * status (printed). */
static int parse(int argc, char **argv, options *o, pt_cli_shard_args *a) {
  enum { OPT_JSON = PT_CLI_OPT_NEXT, OPT_MIN };
  static const struct option opts[] = {{"tactics", required_argument, 0, 't'},
                                       {"func", required_argument, 0, 'f'},
                                       {"optimizer", required_argument, 0, PT_CLI_OPT_OPTIMIZER},
                                       {"min-bytes", required_argument, 0, OPT_MIN},
                                       {"quiet", no_argument, 0, 'q'},
                                       {"json", no_argument, 0, OPT_JSON},
                                       {"out", required_argument, 0, 'o'},
                                       {0, 0, 0, 0}};
  int c;
  opterr = 0;
  optind = 1;
  while ((c = getopt_long(argc, argv, "t:f:qo:", opts, NULL)) != -1) {
    if (pt_cli_shard_take(a, c, optarg))
      continue;
    switch (c) {
    case OPT_MIN:
      if (!pt_cli_parse_u64(optarg, &o->min_bytes))
        return pt_cli_usage(&pt_cmd_partition, "--min-bytes needs a non-negative integer, not '%s'",
                            optarg);
      break;
    case 'q':
      o->quiet = true;
      break;
    case OPT_JSON:
      o->json = true;
      break;
    case 'o':
      o->outpath = optarg;
      break;
    default:
      return pt_cli_bad_option(&pt_cmd_partition, argc, argv);
    }
  }
  if (optind >= argc)
    return pt_cli_usage(&pt_cmd_partition, "no input file");
  if (argc - optind > 1)
    return pt_cli_usage(&pt_cmd_partition, "partition takes one file, got %d", argc - optind);
  if (!a->tactics)
    return pt_cli_usage(&pt_cmd_partition, "--tactics is required (a tactic script, "
                                           "docs/tactics.md)");
  a->file = argv[optind];
  return PT_EXIT_OK;
}

static int run(int argc, char **argv) {
  if (pt_cli_wants_help(&pt_cmd_partition, argc, argv))
    return PT_EXIT_OK;
  pt_cli_shard_args a = {0};
  options o = {&a, NULL, 65536, false, false};
  int status = parse(argc, argv, &o, &a);
  if (status != PT_EXIT_OK)
    return status;
  pt_cli_sharded x;
  status = pt_cli_shard(&pt_cmd_partition, &a, &x);
  if (status != PT_EXIT_OK) {
    pt_cli_sharded_free(&x);
    return status;
  }
  pt_shard_tables t;
  pt_analysis_tables(&x.an, o.min_bytes, &t);
  status = PT_EXIT_INPUT;
  if (o.outpath) {
    char *text = pt_print_module_str(x.m);
    bool ok = pt_cli_write_text(o.outpath, text);
    pt_free(text);
    if (!ok)
      goto done;
  }
  if (o.json)
    pt_cli_partition_json(&x, &a, &t);
  else
    print_text(&o, &x, &t);
  if (o.outpath && !o.json)
    printf("\nwrote %s\n", o.outpath);
  status = PT_EXIT_OK;
done:
  pt_shard_tables_free(&t);
  pt_cli_sharded_free(&x);
  return status;
}
