/* `partita partition FILE --tactics T.yaml`: apply a tactic script to a
 * function and show the sharded function and a per-device table of its
 * arguments, results and large intermediates, and the conflicts; the
 * tables are tactics/analysis.h's, printed as text or JSON. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
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

static const char *kind_word(pt_shkind k) {
  switch (k) {
  case PT_SH_UNKNOWN:
    return "unknown";
  case PT_SH_REPLICATED:
    return "replicated";
  case PT_SH_SHARDED:
    return "sharded";
  case PT_SH_PARTIAL_SUM:
    return "partial_sum";
  case PT_SH_PARTIAL_MAX:
    return "partial_max";
  }
  return "unknown";
}

static json_t *tactic_json(const pt_cli_sharded *x, int t) {
  const char *name = pt_analysis_tactic(&x->an, t);
  return name ? json_string(name) : json_null();
}

static json_t *value_json(const pt_cli_sharded *x, const pt_value_row *row) {
  json_t *o = json_object();
  const pt_value *v = row->value;
  char sb[512];
  json_object_set_new(o, "name", json_string(row->label ? row->label : VNAME(x, v)));
  if (row->label)
    json_object_set_new(o, "value", json_string(VNAME(x, v)));
  if (!v->def)
    json_object_set_new(o, "role", json_string(pt_role_name(v->role)));
  json_object_set_new(o, "dtype", json_string(pt_dtype_name(v->type.dtype)));
  json_object_set_new(o, "shape", pt_cli_json_shape(&v->type));
  json_object_set_new(o, "sharding", json_string(pt_sharding_str(v, sb, sizeof sb)));
  json_object_set_new(o, "local_shape", pt_cli_json_shape(&row->local));
  json_object_set_new(o, "local_bytes", json_integer((json_int_t)row->local_bytes));
  json_object_set_new(o, "global_bytes", json_integer((json_int_t)row->global_bytes));
  json_t *axes = json_array();
  const pt_mesh *m = &x->m->mesh;
  for (int a = 0; a < m->naxes; a++) {
    pt_axis_state s = pt_sharding_axis(v, a);
    json_t *ao = json_object();
    json_object_set_new(ao, "axis", json_string(m->names[a]));
    json_object_set_new(ao, "state", json_string(kind_word((pt_shkind)s.kind)));
    if (s.kind == PT_SH_SHARDED)
      json_object_set_new(ao, "dim", json_integer(s.dim));
    json_object_set_new(ao, "tactic", tactic_json(x, s.tactic));
    json_array_append_new(axes, ao);
  }
  json_object_set_new(o, "axes", axes);
  return o;
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
      printf("  %-*s  %-*s  %-*s  %-*s  %-*s  %*s\n", wn, "name", wr, col2, wt, "global shape",
             ws, "sharding", wl, "per-device shape", wb, "bytes");
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

static json_t *conflicts_json(const pt_cli_sharded *x, const char *file) {
  json_t *jc = json_array();
  for (int i = 0; i < x->an.rep.nconflicts; i++) {
    const pt_conflict *c = &x->an.rep.conflicts[i];
    json_t *o = json_object();
    json_object_set_new(o, "file", json_string(c->op->loc.file ? c->op->loc.file : file));
    json_object_set_new(o, "line", json_integer(c->op->loc.line));
    json_object_set_new(o, "col", json_integer(c->op->loc.col));
    json_object_set_new(o, "op", json_string(pt_op_name(c->op->code)));
    json_object_set_new(o, "value", json_string(conflict_value(x, c)));
    json_object_set_new(o, "axis", json_string(x->m->mesh.names[c->axis]));
    json_object_set_new(o, "tactic", tactic_json(x, c->tactic));
    json_object_set_new(o, "why", json_string(c->why));
    json_array_append_new(jc, o);
  }
  return jc;
}

static void print_json(const options *o, const pt_cli_sharded *x, const pt_shard_tables *t) {
  const pt_mesh *mesh = &x->m->mesh;
  json_t *root = json_object();
  json_object_set_new(root, "file", json_string(o->a->file));
  json_object_set_new(root, "tactics", json_string(o->a->tactics));
  json_object_set_new(root, "func", json_string(x->f->name));
  json_t *jm = json_object();
  for (int i = 0; i < mesh->naxes; i++)
    json_object_set_new(jm, mesh->names[i], json_integer(mesh->sizes[i]));
  json_object_set_new(root, "mesh", jm);
  json_object_set_new(root, "devices", json_integer(pt_mesh_devices(mesh)));
  json_t *jt = json_array();
  for (int i = 0; i < x->s->ntactics; i++) {
    const pt_tactic *tc = &x->s->tactics[i];
    json_t *e = json_object();
    json_object_set_new(e, "name", json_string(tc->name));
    json_object_set_new(e, "axis", json_string(tc->axis_name));
    json_object_set_new(e, "line", json_integer(tc->loc.line));
    json_array_append_new(jt, e);
  }
  json_object_set_new(root, "schedule", jt);
  json_object_set_new(root, "sweeps", json_integer(x->an.rep.sweeps));
  json_object_set_new(root, "min_bytes", json_integer((json_int_t)t->min_bytes));
  json_object_set_new(root, "argument_bytes_per_device", json_integer((json_int_t)t->arg_local));
  json_object_set_new(root, "argument_bytes_global", json_integer((json_int_t)t->arg_global));
  const char *keys[3] = {"arguments", "results", "intermediates"};
  const pt_value_table *tabs[3] = {&t->args, &t->results, &t->inter};
  for (int s = 0; s < 3; s++) {
    json_t *arr = json_array();
    for (int i = 0; i < tabs[s]->n; i++)
      json_array_append_new(arr, value_json(x, &tabs[s]->rows[i]));
    json_object_set_new(root, keys[s], arr);
  }
  json_object_set_new(root, "conflicts", conflicts_json(x, o->a->file));
  char *text = NULL;
  size_t tlen = 0;
  FILE *mf = open_memstream(&text, &tlen);
  if (mf) {
    pt_print_func(x->f, mf);
    fclose(mf);
    json_object_set_new(root, "text", json_string(text));
    free(text);
  }
  pt_cli_json_print(root, 0);
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
    print_json(&o, &x, &t);
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
