/* `partita partition FILE --tactics T.yaml`: apply a tactic script to a
 * function and show the sharded function and a per-device table of its
 * arguments, results and large intermediates, and the conflicts. Also the
 * loading and naming that `partita explain` shares (cli/sharded.h). */
#include <getopt.h>
#include <jansson.h>
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

/* ---- shared with explain ---------------------------------------------- */

bool pt_cli_shard_take(pt_cli_shard_args *a, int c, const char *arg) {
  const char **slot = c == 't'                    ? &a->tactics
                      : c == 'f'                  ? &a->func
                      : c == PT_CLI_OPT_OPTIMIZER ? &a->optimizer
                                                  : NULL;
  if (slot)
    *slot = arg;
  return slot != NULL;
}

int pt_cli_shard(const pt_command *c, const pt_cli_shard_args *a, pt_cli_sharded *x) {
  memset(x, 0, sizeof *x);
  pt_optimizer opt;
  if (a->optimizer) {
    pt_cli_optim_args oa = {a->optimizer, NULL, NULL, NULL, NULL, NULL};
    int st = pt_cli_optimizer(c, &oa, &opt);
    if (st != PT_EXIT_OK)
      return st;
  }
  x->d = pt_diag_create(stderr);
  x->m = pt_cli_load(a->file, x->d);
  if (!x->m)
    return PT_EXIT_INPUT;
  x->s = pt_schedule_read(a->tactics, x->d);
  if (!x->s)
    return PT_EXIT_INPUT;
  const char *func = a->func;
  if (a->optimizer) {
    pt_func *loss = pt_cli_pick_func(x->m, NULL, c->name);
    if (!loss || pt_pass_train_step(x->m, loss->name, &opt, NULL, NULL, x->d) != PT_OK)
      return PT_EXIT_INPUT;
    if (!func)
      func = "train_step";
  }
  x->f = pt_cli_pick_func(x->m, func, c->name);
  if (!x->f)
    return PT_EXIT_INPUT;
  if (pt_schedule_set_mesh(x->m, x->s, x->d) != PT_OK)
    return PT_EXIT_INPUT;
  pt_func *f = x->f;
  x->ntext = f->nvalues;
  x->in_text = pt_calloc((size_t)f->nvalues + 1, sizeof *x->in_text);
  for (int i = 0; i < f->nargs + f->nops; i++) {
    pt_value *v = i < f->nargs ? f->args[i] : f->ops[i - f->nargs]->result;
    for (int ax = 0; ax < x->m->mesh.naxes; ax++)
      x->in_text[v->id][ax] = pt_sharding_axis(v, ax).kind != PT_SH_UNKNOWN;
  }
  if (pt_schedule_apply(f, x->s, &x->rep, x->d) != PT_OK)
    return PT_EXIT_INPUT;
  x->names = pt_value_names(f);
  return PT_EXIT_OK;
}

void pt_cli_sharded_free(pt_cli_sharded *x) {
  if (x->f)
    pt_value_names_free(x->f, x->names);
  pt_free(x->in_text);
  pt_prop_report_free(&x->rep);
  pt_schedule_destroy(x->s);
  pt_module_destroy(x->m);
  pt_diag_destroy(x->d);
  memset(x, 0, sizeof *x);
}

bool pt_cli_in_text(const pt_cli_sharded *x, const pt_value *v, int axis) {
  return v->id < x->ntext && x->in_text[v->id][axis];
}

const char *pt_cli_vname(const pt_cli_sharded *x, const pt_value *v) {
  return x->names && v->id < x->f->nvalues && x->names[v->id] ? x->names[v->id] : "?";
}

pt_value *pt_cli_find_value(const pt_cli_sharded *x, const char *name) {
  if (name[0] == '%')
    name++;
  const pt_func *f = x->f;
  for (int i = 0; i < f->nargs + f->nops; i++) {
    pt_value *v = i < f->nargs ? f->args[i] : f->ops[i - f->nargs]->result;
    if (v && strcmp(pt_cli_vname(x, v), name) == 0)
      return v;
  }
  return NULL;
}

char *pt_cli_bytes(uint64_t n, char *buf, size_t cap) {
  static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = (double)n;
  int u = 0;
  while (v >= 1024 && u < 4) {
    v /= 1024;
    u++;
  }
  if (u == 0 || v == (double)(uint64_t)v)
    snprintf(buf, cap, "%llu %s", (unsigned long long)v, units[u]);
  else
    snprintf(buf, cap, "%.1f %s", v, units[u]);
  return buf;
}

/* ---- the tables -------------------------------------------------------- */

typedef struct {
  const char *title;
  const char *col2; /* heading of the second column */
  const pt_value **vals;
  const char **labels; /* result names (results only) */
  int n;
} section;

static void mesh_text(const pt_mesh *m, char *buf, size_t cap) {
  size_t k = (size_t)snprintf(buf, cap, "{");
  for (int i = 0; i < m->naxes && k < cap; i++)
    k += (size_t)snprintf(buf + k, cap - k, "%s%s = %lld", i ? ", " : "", m->names[i],
                          (long long)m->sizes[i]);
  if (k < cap)
    snprintf(buf + k, cap - k, "}");
}

static int64_t devices(const pt_mesh *m) {
  int64_t n = 1;
  for (int i = 0; i < m->naxes; i++)
    n *= m->sizes[i];
  return n;
}

static size_t local_bytes(const pt_value *v) {
  pt_type t = pt_sharding_local_type(v);
  return pt_type_bytes(&t);
}

static json_t *shape_json(const pt_type *t) {
  json_t *a = json_array();
  for (int i = 0; i < t->rank; i++)
    json_array_append_new(a, json_integer(t->dims[i]));
  return a;
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

static json_t *value_json(const pt_cli_sharded *x, const pt_value *v, const char *label) {
  json_t *o = json_object();
  char sb[512];
  pt_type lt = pt_sharding_local_type(v);
  json_object_set_new(o, "name", json_string(label ? label : pt_cli_vname(x, v)));
  if (label)
    json_object_set_new(o, "value", json_string(pt_cli_vname(x, v)));
  if (!v->def)
    json_object_set_new(o, "role", json_string(pt_role_name(v->role)));
  json_object_set_new(o, "dtype", json_string(pt_dtype_name(v->type.dtype)));
  json_object_set_new(o, "shape", shape_json(&v->type));
  json_object_set_new(o, "sharding", json_string(pt_sharding_str(v, sb, sizeof sb)));
  json_object_set_new(o, "local_shape", shape_json(&lt));
  json_object_set_new(o, "local_bytes", json_integer((json_int_t)pt_type_bytes(&lt)));
  json_object_set_new(o, "global_bytes", json_integer((json_int_t)pt_type_bytes(&v->type)));
  json_t *axes = json_array();
  const pt_mesh *m = &x->m->mesh;
  for (int a = 0; a < m->naxes; a++) {
    pt_axis_state s = pt_sharding_axis(v, a);
    json_t *ao = json_object();
    json_object_set_new(ao, "axis", json_string(m->names[a]));
    json_object_set_new(ao, "state", json_string(kind_word((pt_shkind)s.kind)));
    if (s.kind == PT_SH_SHARDED)
      json_object_set_new(ao, "dim", json_integer(s.dim));
    json_object_set_new(ao, "tactic",
                        s.tactic >= 0 && s.tactic < x->s->ntactics
                            ? json_string(x->s->tactics[s.tactic].name)
                            : json_null());
    json_array_append_new(axes, ao);
  }
  json_object_set_new(o, "axes", axes);
  return o;
}

static void print_section(const pt_cli_sharded *x, const section *sec) {
  printf("%s\n", sec->title);
  if (sec->n == 0) {
    printf("  (none)\n");
    return;
  }
  char tb[PT_TYPE_STRLEN], sb[512], bb[32];
  int wn = 4, wr = (int)strlen(sec->col2), wt = 12, ws = 8, wl = 16, wb = 5;
  for (int pass = 0; pass < 2; pass++) {
    if (pass == 1)
      printf("  %-*s  %-*s  %-*s  %-*s  %-*s  %*s\n", wn, "name", wr, sec->col2, wt, "global shape",
             ws, "sharding", wl, "per-device shape", wb, "bytes");
    for (int i = 0; i < sec->n; i++) {
      const pt_value *v = sec->vals[i];
      char name[256], role[256];
      if (sec->labels) {
        snprintf(name, sizeof name, "%s", sec->labels[i]);
        snprintf(role, sizeof role, "%%%s", pt_cli_vname(x, v));
      } else {
        snprintf(name, sizeof name, "%%%s", pt_cli_vname(x, v));
        snprintf(role, sizeof role, "%s",
                 v->def ? pt_op_name(v->def->code) : pt_role_name(v->role));
      }
      pt_type lt = pt_sharding_local_type(v);
      char lts[PT_TYPE_STRLEN];
      pt_type_str(&lt, lts, sizeof lts);
      pt_type_str(&v->type, tb, sizeof tb);
      pt_sharding_str(v, sb, sizeof sb);
      pt_cli_bytes(pt_type_bytes(&lt), bb, sizeof bb);
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
  return c->op->result ? pt_cli_vname(x, c->op->result) : "?";
}

static int run(int argc, char **argv) {
  if (pt_cli_wants_help(&pt_cmd_partition, argc, argv))
    return PT_EXIT_OK;
  enum { OPT_JSON = PT_CLI_OPT_NEXT, OPT_MIN };
  static const struct option opts[] = {{"tactics", required_argument, 0, 't'},
                                       {"func", required_argument, 0, 'f'},
                                       {"optimizer", required_argument, 0, PT_CLI_OPT_OPTIMIZER},
                                       {"min-bytes", required_argument, 0, OPT_MIN},
                                       {"quiet", no_argument, 0, 'q'},
                                       {"json", no_argument, 0, OPT_JSON},
                                       {"out", required_argument, 0, 'o'},
                                       {0, 0, 0, 0}};
  pt_cli_shard_args a = {0};
  const char *outpath = NULL;
  uint64_t min_bytes = 65536;
  bool json = false, quiet = false;
  int c;
  opterr = 0;
  optind = 1;
  while ((c = getopt_long(argc, argv, "t:f:qo:", opts, NULL)) != -1) {
    if (pt_cli_shard_take(&a, c, optarg))
      continue;
    switch (c) {
    case OPT_MIN:
      if (!pt_cli_parse_u64(optarg, &min_bytes))
        return pt_cli_usage(&pt_cmd_partition, "--min-bytes needs a non-negative integer, not '%s'",
                            optarg);
      break;
    case 'q':
      quiet = true;
      break;
    case OPT_JSON:
      json = true;
      break;
    case 'o':
      outpath = optarg;
      break;
    default:
      return pt_cli_bad_option(&pt_cmd_partition, argc, argv);
    }
  }
  if (optind >= argc)
    return pt_cli_usage(&pt_cmd_partition, "no input file");
  if (argc - optind > 1)
    return pt_cli_usage(&pt_cmd_partition, "partition takes one file, got %d", argc - optind);
  if (!a.tactics)
    return pt_cli_usage(&pt_cmd_partition, "--tactics is required (a tactic script, "
                                           "docs/tactics.md)");
  a.file = argv[optind];

  pt_cli_sharded x;
  int status = pt_cli_shard(&pt_cmd_partition, &a, &x);
  if (status != PT_EXIT_OK) {
    pt_cli_sharded_free(&x);
    return status;
  }
  status = PT_EXIT_INPUT;
  pt_func *f = x.f;
  const pt_mesh *mesh = &x.m->mesh;

  section secs[3] = {{"arguments", "role", NULL, NULL, 0},
                     {"results", "value", NULL, NULL, 0},
                     {NULL, "op", NULL, NULL, 0}};
  secs[0].vals = pt_calloc((size_t)f->nargs + 1, sizeof *secs[0].vals);
  for (int i = 0; i < f->nargs; i++)
    secs[0].vals[secs[0].n++] = f->args[i];
  secs[1].vals = pt_calloc((size_t)f->nresults + 1, sizeof *secs[1].vals);
  secs[1].labels = pt_calloc((size_t)f->nresults + 1, sizeof *secs[1].labels);
  for (int i = 0; i < f->nresults; i++) {
    secs[1].labels[secs[1].n] = f->results[i].name;
    secs[1].vals[secs[1].n++] = f->results[i].value;
  }
  secs[2].vals = pt_calloc((size_t)f->nops + 1, sizeof *secs[2].vals);
  for (int i = 0; i < f->nops; i++)
    if (f->ops[i]->result && local_bytes(f->ops[i]->result) >= min_bytes)
      secs[2].vals[secs[2].n++] = f->ops[i]->result;
  char title[160], mb[32], meshs[512];
  pt_cli_bytes(min_bytes, mb, sizeof mb);
  snprintf(title, sizeof title, "intermediates of at least %s per device (%d of %d)", mb, secs[2].n,
           f->nops);
  secs[2].title = title;
  mesh_text(mesh, meshs, sizeof meshs);
  uint64_t arg_local = 0, arg_global = 0;
  for (int i = 0; i < f->nargs; i++) {
    arg_local += local_bytes(f->args[i]);
    arg_global += pt_type_bytes(&f->args[i]->type);
  }

  if (outpath) {
    char *text = pt_print_module_str(x.m);
    bool ok = pt_cli_write_text(outpath, text);
    pt_free(text);
    if (!ok)
      goto done;
  }

  if (json) {
    json_t *root = json_object();
    json_object_set_new(root, "file", json_string(a.file));
    json_object_set_new(root, "tactics", json_string(a.tactics));
    json_object_set_new(root, "func", json_string(f->name));
    json_t *jm = json_object();
    for (int i = 0; i < mesh->naxes; i++)
      json_object_set_new(jm, mesh->names[i], json_integer(mesh->sizes[i]));
    json_object_set_new(root, "mesh", jm);
    json_object_set_new(root, "devices", json_integer(devices(mesh)));
    json_t *jt = json_array();
    for (int i = 0; i < x.s->ntactics; i++) {
      const pt_tactic *t = &x.s->tactics[i];
      json_t *o = json_object();
      json_object_set_new(o, "name", json_string(t->name));
      json_object_set_new(o, "axis", json_string(t->axis_name));
      json_object_set_new(o, "line", json_integer(t->loc.line));
      json_array_append_new(jt, o);
    }
    json_object_set_new(root, "schedule", jt);
    json_object_set_new(root, "sweeps", json_integer(x.rep.sweeps));
    json_object_set_new(root, "min_bytes", json_integer((json_int_t)min_bytes));
    json_object_set_new(root, "argument_bytes_per_device", json_integer((json_int_t)arg_local));
    json_object_set_new(root, "argument_bytes_global", json_integer((json_int_t)arg_global));
    const char *keys[3] = {"arguments", "results", "intermediates"};
    for (int s = 0; s < 3; s++) {
      json_t *arr = json_array();
      for (int i = 0; i < secs[s].n; i++)
        json_array_append_new(
            arr, value_json(&x, secs[s].vals[i], secs[s].labels ? secs[s].labels[i] : NULL));
      json_object_set_new(root, keys[s], arr);
    }
    json_t *jc = json_array();
    for (int i = 0; i < x.rep.nconflicts; i++) {
      const pt_conflict *c = &x.rep.conflicts[i];
      json_t *o = json_object();
      json_object_set_new(o, "file", json_string(c->op->loc.file ? c->op->loc.file : a.file));
      json_object_set_new(o, "line", json_integer(c->op->loc.line));
      json_object_set_new(o, "col", json_integer(c->op->loc.col));
      json_object_set_new(o, "op", json_string(pt_op_name(c->op->code)));
      json_object_set_new(o, "value", json_string(conflict_value(&x, c)));
      json_object_set_new(o, "axis", json_string(mesh->names[c->axis]));
      json_object_set_new(o, "tactic",
                          c->tactic >= 0 && c->tactic < x.s->ntactics
                              ? json_string(x.s->tactics[c->tactic].name)
                              : json_null());
      json_object_set_new(o, "why", json_string(c->why));
      json_array_append_new(jc, o);
    }
    json_object_set_new(root, "conflicts", jc);
    char *text = NULL;
    size_t tlen = 0;
    FILE *mf = open_memstream(&text, &tlen);
    if (mf) {
      pt_print_func(f, mf);
      fclose(mf);
      json_object_set_new(root, "text", json_string(text));
      free(text);
    }
    json_dumpf(root, stdout, JSON_INDENT(2));
    fputc('\n', stdout);
    json_decref(root);
  } else {
    if (!quiet) {
      printf("mesh %s\n\n", meshs);
      pt_print_func(f, stdout);
      putchar('\n');
    }
    printf("@%s on mesh %s (%lld devices), %s:", f->name, meshs, (long long)devices(mesh),
           a.tactics);
    for (int i = 0; i < x.s->ntactics; i++)
      printf("%s %s (%s)", i ? "," : "", x.s->tactics[i].name, x.s->tactics[i].axis_name);
    printf("; %d propagation sweeps\n", x.rep.sweeps);
    char b1[32], b2[32];
    printf("arguments take %s per device (%s in all)\n\n", pt_cli_bytes(arg_local, b1, sizeof b1),
           pt_cli_bytes(arg_global, b2, sizeof b2));
    for (int s = 0; s < 3; s++) {
      print_section(&x, &secs[s]);
      putchar('\n');
    }
    printf("conflicts (%d)\n", x.rep.nconflicts);
    if (x.rep.nconflicts == 0)
      printf("  (none)\n");
    for (int i = 0; i < x.rep.nconflicts; i++) {
      const pt_conflict *c = &x.rep.conflicts[i];
      printf("  %s:%d:%d: %s %%%s along '%s' (tactic '%s'): %s\n",
             c->op->loc.file ? c->op->loc.file : a.file, c->op->loc.line, c->op->loc.col,
             pt_op_name(c->op->code), conflict_value(&x, c), mesh->names[c->axis],
             c->tactic >= 0 && c->tactic < x.s->ntactics ? x.s->tactics[c->tactic].name : "?",
             c->why);
    }
  }
  if (outpath && !json)
    printf("\nwrote %s\n", outpath);
  status = PT_EXIT_OK;
done:
  for (int s = 0; s < 3; s++)
    pt_free(secs[s].vals);
  pt_free(secs[1].labels);
  pt_cli_sharded_free(&x);
  return status;
}
