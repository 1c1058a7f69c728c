/* `partita explore FILE --tactics A.yaml B.yaml ... --hw HW.yaml`: simulates
 * each strategy on one machine and ranks them, optionally as an SVG chart
 * (the ranking and the chart are simulator/explore.h's). */
#include <string.h>
#include <unistd.h>

#include "autosearch.h"
#include "explore.h"
#include "json.h"
#include "simulate.h"

static int run(int argc, char **argv);

const pt_command pt_cmd_explore = {
    "explore", run, "simulate several tactic scripts on a machine and rank them",
    "Usage: partita explore FILE --tactics A.yaml B.yaml ... --hw HW.yaml [--func NAME]\n"
    "                        [--optimizer OPT] [--auto MESH] [--budget-s S] [--seed N]\n"
    "                        [--svg CHART.svg] [--json]\n\n"
    "Simulates each strategy (a tactic script; each sets its own mesh) on the machine\n"
    "the hardware file describes, as `partita sim` does, and prints them ranked:\n"
    "strategies that fit in memory first, each group by predicted step time, with\n"
    "the communication share, the bytes each device sends and the peak memory per\n"
    "device. A strategy that fails (a script that does not apply, a mesh the\n"
    "machine does not have) is reported and listed last.\n\n"
    "With --auto MESH, the strategy `partita auto` finds on that mesh joins the table\n"
    "as a row of its own; a script with automatic tactics (auto: true) is searched the\n"
    "same way before it is ranked (docs/tactics.md, \"Automatic tactics\").\n\n"
    "Options:\n"
    "  -t, --tactics FILE...  the strategies: every argument after --tactics up to\n"
    "                         the next option (-t may also be repeated)\n"
    "      --hw FILE          the hardware file (YAML)\n"
    "  -f, --func NAME        the function (default: the only one, or @loss;\n"
    "                         @train_step with --optimizer)\n"
    "      --optimizer OPT    first build train_step with sgd, momentum or adam\n"
    "      --auto MESH        also search for a strategy on MESH (batch=2,model=2) and\n"
    "                         rank it beside the scripts (may be repeated)\n"
    "      --budget-s S       each search's time budget in seconds (default 60)\n"
    "      --seed N           the searches' seed (default 0)\n"
    "      --svg FILE         also draw the ranking as a bar chart (compute and\n"
    "                         communication stacked) in an SVG file\n"
    "      --json             print the ranking as one JSON object instead\n"
    "  -h, --help             show this help\n\n"
    "FILE comes before --tactics (or after another option).\n"
    "Exit status: 0 success, 1 bad input (any strategy failed), 2 bad usage.\n"};

/* ---- the command -------------------------------------------------------- */

/* The value of option `name` in argv[*i] ("--name=V" or "--name V"); NULL
 * if argv[*i] is not that option, and *missing set when it has no value. */
static const char *opt_value(int argc, char **argv, int *i, const char *name, const char *shrt,
                             bool *missing) {
  const char *s = argv[*i];
  size_t n = strlen(name);
  if (strncmp(s, name, n) == 0 && s[n] == '=')
    return s + n + 1;
  if (strcmp(s, name) == 0 || (shrt && strcmp(s, shrt) == 0)) {
    if (*i + 1 >= argc) {
      *missing = true;
      return NULL;
    }
    return argv[++*i];
  }
  return NULL;
}

typedef struct {
  const char *file, *hwpath, *func, *optimizer, *svg;
  bool json;
  const char **scripts;
  int nscripts;
  const char **autos; /* --auto meshes */
  int nautos;
  double budget_s;
  uint64_t seed;
  char (*labels)[300]; /* the searched rows' labels, one per argument at most */
  int nlabels;
} options;

/* Parses the command line (-t takes every argument up to the next option);
 * PT_EXIT_OK, or the usage error's status (printed). */
static int parse(int argc, char **argv, options *o) {
  bool collecting = false;
  for (int i = 1; i < argc; i++) {
    const char *s = argv[i], *v;
    bool missing = false;
    if (s[0] != '-' || strcmp(s, "-") == 0) {
      if (collecting)
        o->scripts[o->nscripts++] = s;
      else if (!o->file)
        o->file = s;
      else
        return pt_cli_usage(&pt_cmd_explore, "explore takes one program file, got '%s' and '%s'",
                            o->file, s);
      continue;
    }
    collecting = false;
    if ((v = opt_value(argc, argv, &i, "--tactics", "-t", &missing))) {
      o->scripts[o->nscripts++] = v;
      collecting = true;
    } else if ((v = opt_value(argc, argv, &i, "--hw", NULL, &missing))) {
      o->hwpath = v;
    } else if ((v = opt_value(argc, argv, &i, "--func", "-f", &missing))) {
      o->func = v;
    } else if ((v = opt_value(argc, argv, &i, "--optimizer", NULL, &missing))) {
      o->optimizer = v;
    } else if ((v = opt_value(argc, argv, &i, "--auto", NULL, &missing))) {
      o->autos[o->nautos++] = v;
    } else if ((v = opt_value(argc, argv, &i, "--budget-s", NULL, &missing))) {
      if (!pt_cli_parse_double(v, &o->budget_s) || !(o->budget_s > 0))
        return pt_cli_usage(&pt_cmd_explore,
                            "--budget-s needs a number of seconds above 0, not '%s'", v);
    } else if ((v = opt_value(argc, argv, &i, "--seed", NULL, &missing))) {
      if (!pt_cli_parse_u64(v, &o->seed))
        return pt_cli_usage(&pt_cmd_explore, "--seed needs a non-negative integer, not '%s'", v);
    } else if ((v = opt_value(argc, argv, &i, "--svg", NULL, &missing))) {
      o->svg = v;
    } else if (strcmp(s, "--json") == 0) {
      o->json = true;
    } else if (missing) {
      return pt_cli_usage(&pt_cmd_explore, "option '%s' needs a value", s);
    } else {
      return pt_cli_usage(&pt_cmd_explore, "unknown option '%s'", s);
    }
  }
  if (!o->file)
    return pt_cli_usage(&pt_cmd_explore, "no input file (FILE comes before --tactics)");
  if (!o->budget_s)
    o->budget_s = 60;
  if (!o->nscripts && !o->nautos)
    return pt_cli_usage(&pt_cmd_explore,
                        "--tactics is needed: one or more tactic scripts (or --auto MESH)");
  if (!o->hwpath)
    return pt_cli_usage(&pt_cmd_explore, "--hw is needed (a hardware file, e.g. "
                                         "examples/hw/a100-cluster.yaml)");
  return PT_EXIT_OK;
}

/* Whether the script at path has an automatic tactic (a script that does
 * not read is left to the simulation, which reports why). */
static bool script_is_auto(const char *path) {
  pt_diag *d = pt_diag_create(NULL);
  pt_schedule *s = pt_schedule_read(path, d);
  bool is = s && pt_schedule_has_auto(s, NULL);
  pt_schedule_destroy(s);
  pt_diag_destroy(d);
  return is;
}

/* Searches from the script at path, or the mesh `mesh` (one is NULL), and
 * fills row with the strategy found; the row's label is owned by labels. */
static int search_row(options *o, const char *path, const char *mesh, const pt_sim_hw *hw,
                      pt_sim_strategy *row, char *fname, size_t cap) {
  char *label = o->labels[o->nlabels++];
  snprintf(label, sizeof o->labels[0], "%s%s (searched)", path ? path : "auto ", path ? "" : mesh);
  row->script = label;
  snprintf(row->mesh, sizeof row->mesh, "?");
  pt_schedule *given = NULL;
  if (mesh && !(given = pt_cli_mesh_schedule(&pt_cmd_explore, mesh)))
    return PT_EXIT_USAGE;
  pt_cli_shard_args a = {o->file, path, o->func, o->optimizer};
  pt_cli_sharded x;
  pt_auto_opts ao = {.budget_s = o->budget_s, .seed = o->seed, .restarts = -1};
  pt_auto_result r = {0};
  int st = pt_cli_prepare(&pt_cmd_explore, &a, given, &x);
  if (st == PT_EXIT_OK)
    st = pt_cli_auto(&x, hw, &ao, !o->json && isatty(2), &r);
  if (x.f)
    snprintf(fname, cap, "%s", x.f->name);
  if (r.schedule) {
    pt_cli_mesh_str(&r.schedule->mesh, row->mesh, sizeof row->mesh);
    row->ok = true;
    row->fits = r.fits;
    row->devices = 1;
    for (int k = 0; k < r.schedule->mesh.naxes; k++)
      row->devices *= r.schedule->mesh.sizes[k];
    row->peak = r.peak;
    row->bytes = r.bytes_sent;
    row->step = r.step;
    row->compute = r.compute;
    row->comm = r.comm;
    st = PT_EXIT_OK; /* a strategy that does not fit is ranked as such */
  } else if (st != PT_EXIT_USAGE) {
    fprintf(stderr, "partita explore: the search for %s failed (above)\n", label);
  }
  pt_auto_result_free(&r);
  pt_cli_sharded_free(&x);
  return st;
}

/* Simulates every strategy into rows (the function's name into fname);
 * returns the worst status of any (a usage error stops at once). */
static int simulate_all(options *o, const pt_sim_hw *hw, pt_diag *hwd, pt_sim_strategy *rows,
                        char *fname, size_t cap) {
  int status = PT_EXIT_OK;
  for (int i = 0; i < o->nscripts; i++) {
    pt_sim_strategy *r = &rows[i];
    r->script = o->scripts[i];
    snprintf(r->mesh, sizeof r->mesh, "?");
    pt_cli_shard_args a = {o->file, o->scripts[i], o->func, o->optimizer};
    if (script_is_auto(o->scripts[i])) {
      int st = search_row(o, o->scripts[i], NULL, hw, r, fname, cap);
      status = st > status ? st : status;
      continue;
    }
    pt_cli_sim s;
    int st = pt_cli_simulate(&pt_cmd_explore, &a, hw, hwd, &s);
    if (s.x.m && s.x.s)
      pt_cli_mesh_str(&s.x.s->mesh, r->mesh, sizeof r->mesh);
    if (s.x.f)
      snprintf(fname, cap, "%s", s.x.f->name);
    if (st == PT_EXIT_OK) {
      pt_sim_strategy_set(r, &s.r);
    } else {
      fprintf(stderr, "partita explore: strategy %s failed (above)\n", o->scripts[i]);
      if (st > status)
        status = st;
    }
    pt_cli_sim_free(&s);
    if (st == PT_EXIT_USAGE)
      break;
  }
  for (int i = 0; i < o->nautos && status != PT_EXIT_USAGE; i++) {
    int st = search_row(o, NULL, o->autos[i], hw, &rows[o->nscripts + i], fname, cap);
    status = st > status ? st : status;
  }
  return status;
}

static void print_json(const options *o, const pt_sim_hw *hw, const pt_sim_strategy *rows,
                       const char *fname) {
  json_t *root = json_object(), *arr = json_array();
  json_object_set_new(root, "file", json_string(o->file));
  json_object_set_new(root, "func", json_string(fname));
  json_object_set_new(root, "hardware", json_string(hw->name));
  json_object_set_new(root, "memory_capacity_bytes", json_integer(hw->memory));
  for (int i = 0; i < o->nscripts + o->nautos; i++) {
    const pt_sim_strategy *r = &rows[i];
    json_t *e = json_object();
    json_object_set_new(e, "rank", json_integer(i + 1));
    json_object_set_new(e, "tactics", json_string(r->script));
    json_object_set_new(e, "mesh", json_string(r->mesh));
    json_object_set_new(e, "ok", json_boolean(r->ok));
    if (r->ok) {
      json_object_set_new(e, "devices", json_integer(r->devices));
      json_object_set_new(e, "step_s", json_real(r->step));
      json_object_set_new(e, "compute_s", json_real(r->compute));
      json_object_set_new(e, "communication_s", json_real(r->comm));
      json_object_set_new(e, "communication_share", json_real(r->step > 0 ? r->comm / r->step : 0));
      json_object_set_new(e, "bytes_per_device", json_integer(r->bytes));
      json_object_set_new(e, "peak_memory_bytes", json_integer(r->peak));
      json_object_set_new(e, "fits", json_boolean(r->fits));
    }
    json_array_append_new(arr, e);
  }
  json_object_set_new(root, "strategies", arr);
  pt_cli_json_print(root, 0);
}

static void print_text(const options *o, const pt_sim_hw *hw, const pt_sim_strategy *rows,
                       const char *title) {
  char b1[32], b2[32], t1[32];
  int n = o->nscripts + o->nautos;
  printf("%s (%s per device", title, pt_cli_bytes((uint64_t)hw->memory, b1, sizeof b1));
  if (hw->count)
    printf(", %lld devices", (long long)hw->count);
  printf("): %d strateg%s\n", n, n == 1 ? "y" : "ies");
  size_t w = strlen("strategy");
  for (int i = 0; i < n; i++)
    w = (size_t)pt_cli_width(rows[i].script) > w ? (size_t)pt_cli_width(rows[i].script) : w;
  printf("  rank  ");
  pt_cli_col("strategy", -(int)w);
  printf("  %-18s %7s %11s %11s %11s %6s %10s %11s  %s\n", "mesh", "devices", "step time",
         "compute", "comm", "comm%", "sent", "peak mem", "fits");
  for (int i = 0; i < n; i++) {
    const pt_sim_strategy *r = &rows[i];
    if (!r->ok) {
      printf("  %4s  ", "-");
      pt_cli_col(r->script, -(int)w);
      printf("  %-18s  failed (see the messages above)\n", r->mesh);
      continue;
    }
    char tc[32], tm[32];
    printf("  %4d  ", i + 1);
    pt_cli_col(r->script, -(int)w);
    printf("  %-18s %7lld ", r->mesh, (long long)r->devices);
    pt_cli_col(pt_sim_time_str(r->step, t1, sizeof t1), 11);
    putchar(' ');
    pt_cli_col(pt_sim_time_str(r->compute, tc, sizeof tc), 11);
    putchar(' ');
    pt_cli_col(pt_sim_time_str(r->comm, tm, sizeof tm), 11);
    printf(" %5.1f%% ", r->step > 0 ? 100 * r->comm / r->step : 0.0);
    pt_cli_col(pt_cli_bytes((uint64_t)r->bytes, b1, sizeof b1), 10);
    putchar(' ');
    pt_cli_col(pt_cli_bytes((uint64_t)r->peak, b2, sizeof b2), 11);
    printf("  %s\n", r->fits ? "yes" : "NO");
  }
}

static int run(int argc, char **argv) {
  if (pt_cli_wants_help(&pt_cmd_explore, argc, argv))
    return PT_EXIT_OK;
  options o = {0};
  o.scripts = pt_calloc((size_t)argc, sizeof *o.scripts);
  o.autos = pt_calloc((size_t)argc, sizeof *o.autos);
  o.labels = pt_calloc((size_t)argc, sizeof *o.labels);
  int status = parse(argc, argv, &o);
  if (status != PT_EXIT_OK) {
    pt_free(o.scripts);
    pt_free(o.autos);
    pt_free(o.labels);
    return status;
  }
  pt_diag *hwd;
  pt_sim_hw *hw = pt_cli_read_hw(o.hwpath, &hwd);
  if (!hw) {
    pt_diag_destroy(hwd);
    pt_free(o.scripts);
    pt_free(o.autos);
    pt_free(o.labels);
    return PT_EXIT_INPUT;
  }
  int nrows = o.nscripts + o.nautos;
  pt_sim_strategy *rows = pt_calloc((size_t)nrows, sizeof *rows);
  char fname[256] = "";
  status = simulate_all(&o, hw, hwd, rows, fname, sizeof fname);
  if (status != PT_EXIT_USAGE) {
    pt_sim_rank(rows, nrows);
    char title[768];
    snprintf(title, sizeof title, "@%s of %s on %s", fname[0] ? fname : "?", o.file, hw->name);
    if (o.svg) {
      char *text = pt_sim_explore_svg(rows, nrows, title);
      if (!pt_cli_write_text(o.svg, text))
        status = PT_EXIT_INPUT;
      pt_free(text);
    }
    if (o.json)
      print_json(&o, hw, rows, fname);
    else
      print_text(&o, hw, rows, title);
  }
  pt_free(rows);
  pt_sim_hw_destroy(hw);
  pt_diag_destroy(hwd);
  pt_free(o.scripts);
  pt_free(o.autos);
  pt_free(o.labels);
  return status;
}
