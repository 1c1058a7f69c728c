/* `partita reshard`: plan (and check) the redistribution of one array
 * between two layouts, on a mesh given on the command line. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "json.h"
#include "redistribute.h"
#include "vmesh.h"

static int run(int argc, char **argv);

const pt_command pt_cmd_reshard = {
    "reshard", run, "plan the collectives between two layouts of an array",
    "Usage: partita reshard --mesh AXES --shape DIMS --from LAYOUT --to LAYOUT\n"
    "                       [--dtype f32|i32] [--json] [--check]\n\n"
    "Plans the redistribution of an array from one layout to another with the\n"
    "memory-efficient method of Rink et al. (docs/spmd.md): slices first, then\n"
    "all-to-alls and permutes, then gathers. Prints one collective per line with\n"
    "the elements each device holds after it and the bytes each device sends,\n"
    "the peak, and what the naive plan (gather everything, then slice) costs.\n\n"
    "Options:\n"
    "  --mesh AXES     mesh axes and sizes, e.g. 'x1=2,x2=2,y1=3,y2=2'\n"
    "  --shape DIMS    the array's global shape, e.g. 12,12\n"
    "  --from LAYOUT   source layout in the sharding syntax, e.g. '{[x1,x2],[y1]}'\n"
    "                  (may end with 'partial(sum: z)')\n"
    "  --to LAYOUT     target layout (no partial axes)\n"
    "  --dtype T       element type, f32 (default) or i32\n"
    "  --check         run the plan on the virtual mesh on an array whose elements\n"
    "                  are their own global indices and verify every device's block\n"
    "  --json          print the plan as one JSON object\n"
    "  -h, --help      show this help\n\n"
    "Exit status: 0 success, 1 a failed --check, 2 bad usage.\n"};

static bool parse_mesh(const char *s, pt_module *m, char *err, size_t n) {
  char *copy = pt_strdup(s), *save = NULL;
  bool ok = true;
  for (char *tok = strtok_r(copy, ",", &save); tok && ok; tok = strtok_r(NULL, ",", &save)) {
    char *eq = strchr(tok, '=');
    char *end = NULL;
    long long size = eq ? strtoll(eq + 1, &end, 10) : 0;
    if (!eq || eq == tok || !end || *end || size < 1 || size > (1 << 20)) {
      snprintf(err, n, "'%s' is not AXIS=SIZE with a size of at least 1", tok);
      ok = false;
      break;
    }
    *eq = 0;
    if (!pt_module_add_axis(m, tok, size)) {
      snprintf(err, n, "axis '%s' is given twice (or more than %d axes)", tok, PT_MAX_AXES);
      ok = false;
    }
  }
  if (ok && m->mesh.naxes == 0) {
    snprintf(err, n, "the mesh has no axes");
    ok = false;
  }
  pt_free(copy);
  return ok;
}

static bool parse_shape(const char *s, pt_type *t) {
  t->rank = 0;
  const char *p = s;
  while (*p) {
    char *end;
    long long v = strtoll(p, &end, 10);
    if (end == p || v < 1 || t->rank == PT_MAX_RANK)
      return false;
    t->dims[t->rank++] = v;
    p = end;
    if (*p == ',')
      p++;
    else if (*p)
      return false;
  }
  return t->rank > 0;
}

static const char *move_name(pt_move_kind k) {
  switch (k) {
  case PT_MOVE_SLICE:
    return "axis_slice";
  case PT_MOVE_GATHER:
    return "all_gather";
  case PT_MOVE_ALL_TO_ALL:
    return "all_to_all";
  case PT_MOVE_PERMUTE:
    return "collective_permute";
  case PT_MOVE_REDUCE_SCATTER:
    return "reduce_scatter";
  case PT_MOVE_ALL_REDUCE:
    return "all_reduce";
  }
  return "?";
}

static void move_text(const pt_mesh *m, const pt_move *mv, char *buf, size_t n) {
  char axes[128] = "";
  if (mv->axis >= 0 && mv->kind != PT_MOVE_PERMUTE)
    snprintf(axes, sizeof axes, "%s", m->names[mv->axis]);
  else
    for (int a = 0; a < m->naxes; a++)
      if ((mv->axes >> a) & 1)
        snprintf(axes + strlen(axes), sizeof axes - strlen(axes), "%s%s", axes[0] ? ", " : "",
                 m->names[a]);
  switch (mv->kind) {
  case PT_MOVE_SLICE:
  case PT_MOVE_GATHER:
  case PT_MOVE_REDUCE_SCATTER:
    snprintf(buf, n, "%s {dim = %d, axes = [%s]}", move_name(mv->kind), mv->dim, axes);
    break;
  case PT_MOVE_ALL_TO_ALL:
    snprintf(buf, n, "%s {split_dim = %d, concat_dim = %d, axes = [%s]}", move_name(mv->kind),
             mv->dim2, mv->dim, axes);
    break;
  case PT_MOVE_PERMUTE:
    snprintf(buf, n, "%s {axes = [%s]}", move_name(mv->kind), axes);
    break;
  case PT_MOVE_ALL_REDUCE:
    snprintf(buf, n, "%s {reduce = %s, axes = [%s]}", move_name(mv->kind),
             mv->max ? "max" : "sum", axes);
    break;
  }
}

typedef struct {
  const char *mesh, *shape, *from, *to, *dtype;
  bool json, check;
} options;

static int parse(int argc, char **argv, options *o) {
  enum { O_MESH = 256, O_SHAPE, O_FROM, O_TO, O_DTYPE, O_JSON, O_CHECK };
  static const struct option opts[] = {
      {"mesh", required_argument, 0, O_MESH}, {"shape", required_argument, 0, O_SHAPE},
      {"from", required_argument, 0, O_FROM}, {"to", required_argument, 0, O_TO},
      {"dtype", required_argument, 0, O_DTYPE}, {"json", no_argument, 0, O_JSON},
      {"check", no_argument, 0, O_CHECK},     {0, 0, 0, 0}};
  int c;
  opterr = 0;
  optind = 1;
  while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
    switch (c) {
    case O_MESH: o->mesh = optarg; break;
    case O_SHAPE: o->shape = optarg; break;
    case O_FROM: o->from = optarg; break;
    case O_TO: o->to = optarg; break;
    case O_DTYPE: o->dtype = optarg; break;
    case O_JSON: o->json = true; break;
    case O_CHECK: o->check = true; break;
    default: return pt_cli_bad_option(&pt_cmd_reshard, argc, argv);
    }
  }
  if (optind < argc)
    return pt_cli_usage(&pt_cmd_reshard, "unexpected argument '%s'", argv[optind]);
  if (!o->mesh || !o->shape || !o->from || !o->to)
    return pt_cli_usage(&pt_cmd_reshard, "--mesh, --shape, --from and --to are all needed");
  return PT_EXIT_OK;
}

/* Reads the mesh into m, the array's type into *t and the layouts; a usage
 * error (printed) for any that is malformed or does not fit. */
static int layouts(const options *o, pt_module *m, pt_type *t, pt_layout *from, pt_layout *to) {
  char err[256];
  if (!parse_mesh(o->mesh, m, err, sizeof err))
    return pt_cli_usage(&pt_cmd_reshard, "--mesh: %s", err);
  if (!pt_dtype_parse(o->dtype, strlen(o->dtype), &t->dtype) || t->dtype == PT_PRED)
    return pt_cli_usage(&pt_cmd_reshard, "--dtype must be f32 or i32, not '%s'", o->dtype);
  if (!parse_shape(o->shape, t))
    return pt_cli_usage(&pt_cmd_reshard,
                        "--shape must be sizes like 12,12 (each at least 1), not '%s'", o->shape);
  if (!pt_layout_parse(&m->mesh, o->from, t->rank, from, err, sizeof err))
    return pt_cli_usage(&pt_cmd_reshard, "--from: %s", err);
  if (!pt_layout_parse(&m->mesh, o->to, t->rank, to, err, sizeof err))
    return pt_cli_usage(&pt_cmd_reshard, "--to: %s", err);
  if (to->partial_sum || to->partial_max)
    return pt_cli_usage(&pt_cmd_reshard, "--to cannot be partial: a redistribution resolves sums");
  if (from->partial_max && o->check)
    return pt_cli_usage(&pt_cmd_reshard, "--check supports partial sums, not partial maxima");
  const char *bad = !pt_layout_valid(&m->mesh, t, from) ? "--from"
                    : !pt_layout_valid(&m->mesh, t, to) ? "--to"
                                                        : NULL;
  if (bad)
    return pt_cli_usage(&pt_cmd_reshard, "%s does not fit the shape: each dimension's size must be "
                        "divisible by the product of its axes", bad);
  return PT_EXIT_OK;
}

static void print_json(const pt_mesh *mesh, const pt_layout *from, const pt_layout *to,
                       const pt_plan *plan, const options *o, bool checked, const char *checkmsg) {
  char lb[256], mb[256];
  json_t *root = json_object(), *steps = json_array();
  json_object_set_new(root, "from", json_string(pt_layout_str(mesh, from, lb, sizeof lb)));
  json_object_set_new(root, "to", json_string(pt_layout_str(mesh, to, lb, sizeof lb)));
  json_object_set_new(root, "elements_before", json_integer(plan->elements_before));
  for (int i = 0; i < plan->nmoves; i++) {
    json_t *s = json_object();
    move_text(mesh, &plan->moves[i], mb, sizeof mb);
    json_object_set_new(s, "collective", json_string(move_name(plan->moves[i].kind)));
    json_object_set_new(s, "op", json_string(mb));
    json_object_set_new(s, "layout",
                        json_string(pt_layout_str(mesh, &plan->moves[i].after, lb, sizeof lb)));
    json_object_set_new(s, "elements_after", json_integer(plan->moves[i].elements_after));
    json_object_set_new(s, "bytes_sent", json_integer(plan->moves[i].bytes_sent));
    json_array_append_new(steps, s);
  }
  json_object_set_new(root, "steps", steps);
  json_object_set_new(root, "peak_elements", json_integer(plan->peak_elements));
  json_object_set_new(root, "bytes_sent", json_integer(plan->bytes_sent));
  json_object_set_new(root, "naive_peak_elements", json_integer(plan->naive_peak_elements));
  json_object_set_new(root, "naive_bytes_sent", json_integer(plan->naive_bytes_sent));
  if (o->check) {
    json_object_set_new(root, "check", json_boolean(checked));
    json_object_set_new(root, "check_message", json_string(checkmsg));
  }
  pt_cli_json_print(root, 0);
}

static void print_text(const pt_mesh *mesh, const pt_type *t, const pt_layout *from,
                       const pt_layout *to, const pt_plan *plan, const options *o,
                       const char *checkmsg) {
  char lb[256], mb[256];
  printf("%s -> %s", pt_layout_str(mesh, from, lb, sizeof lb), pt_layout_str(mesh, to, mb, sizeof mb));
  printf(" on %s[", pt_dtype_name(t->dtype));
  for (int d = 0; d < t->rank; d++)
    printf(d ? ",%lld" : "%lld", (long long)t->dims[d]);
  printf("], %lld devices\n", (long long)pt_mesh_devices(mesh));
  printf("  %-4s %-58s %-28s %10s %12s\n", "step", "collective", "layout after", "elements",
         "bytes sent");
  printf("  %-4s %-58s %-28s %10lld %12s\n", "", "(start)", pt_layout_str(mesh, from, lb, sizeof lb),
         (long long)plan->elements_before, "");
  for (int i = 0; i < plan->nmoves; i++) {
    move_text(mesh, &plan->moves[i], mb, sizeof mb);
    printf("  %-4d %-58s %-28s %10lld %12lld\n", i + 1, mb,
           pt_layout_str(mesh, &plan->moves[i].after, lb, sizeof lb),
           (long long)plan->moves[i].elements_after, (long long)plan->moves[i].bytes_sent);
  }
  if (!plan->nmoves)
    printf("  (nothing to do: the layouts are the same)\n");
  printf("peak local elements: %lld\n", (long long)plan->peak_elements);
  printf("bytes sent per device: %lld\n", (long long)(plan->bytes_sent));
  printf("naive plan (gather everything, then slice): peak local elements %lld, bytes sent "
         "per device %lld\n",
         (long long)plan->naive_peak_elements, (long long)plan->naive_bytes_sent);
  if (o->check)
    printf("check: %s\n", checkmsg);
}

static int run(int argc, char **argv) {
  if (pt_cli_wants_help(&pt_cmd_reshard, argc, argv))
    return PT_EXIT_OK;
  options o = {NULL, NULL, NULL, NULL, "f32", false, false};
  int status = parse(argc, argv, &o);
  if (status != PT_EXIT_OK)
    return status;
  pt_module *m = pt_module_create("reshard");
  pt_type t;
  memset(&t, 0, sizeof t);
  pt_layout from, to;
  status = layouts(&o, m, &t, &from, &to);
  if (status == PT_EXIT_OK) {
    pt_plan plan;
    pt_plan_redistribution(&m->mesh, &t, &from, &to, &plan);
    char checkmsg[256] = "";
    bool checked = o.check ? pt_vmesh_check_plan(m, &t, &plan, checkmsg, sizeof checkmsg) : true;
    if (o.json)
      print_json(&m->mesh, &from, &to, &plan, &o, checked, checkmsg);
    else
      print_text(&m->mesh, &t, &from, &to, &plan, &o, checkmsg);
    if (!checked)
      status = PT_EXIT_INPUT;
    pt_plan_free(&plan);
  }
  pt_module_destroy(m);
  return status;
}
