/* `partita sim FILE --tactics T.yaml --hw HW.yaml`: how long a run of the
 * partitioned program takes on the described machine, and whether it fits. */
#include <getopt.h>
#include <string.h>

#include "json.h"
#include "simulate.h"

static int run(int argc, char **argv);

const pt_command pt_cmd_sim = {
    "sim", run, "predict the step time and memory of a partitioned program on a machine",
    "Usage: partita sim FILE --tactics T.yaml --hw HW.yaml [--func NAME] [--optimizer OPT]\n"
    "                    [--trace OUT.json] [--json]\n\n"
    "Applies the tactic script to a function of FILE, lowers it to the program each\n"
    "device runs (as `partita lower` does) and simulates one run of it on the machine\n"
    "the hardware file describes (docs/hardware.md): the step time split into compute\n"
    "and communication by collective kind, the bytes each device sends, the peak\n"
    "memory of each device (from the runtime's buffer planner) and whether it fits,\n"
    "and the ten most expensive ops with where they come from.\n\n"
    "Options:\n"
    "  -t, --tactics FILE   the tactic script (YAML)\n"
    "      --hw FILE        the hardware file (YAML), e.g. examples/hw/a100-cluster.yaml\n"
    "  -f, --func NAME      the function (default: the only one, or @loss;\n"
    "                       @train_step with --optimizer)\n"
    "      --optimizer OPT  first build train_step with sgd, momentum or adam\n"
    "      --trace FILE     also write the run as a Chrome trace-event JSON timeline\n"
    "                       (open it in https://ui.perfetto.dev or chrome://tracing)\n"
    "      --json           print the report as one JSON object instead\n"
    "  -h, --help           show this help\n\n"
    "Exit status: 0 success (whether or not the program fits), 1 bad input, 2 bad usage.\n"};

static char *flops_str(double f, char *buf, size_t cap) {
  static const char *const units[] = {"FLOP", "kFLOP", "MFLOP", "GFLOP", "TFLOP", "PFLOP"};
  int u = 0;
  while (f >= 1000 && u < 5)
    f /= 1000, u++;
  snprintf(buf, cap, u ? "%.1f %s" : "%.0f %s", f, units[u]);
  return buf;
}

/* "dot %xw1 : f32[32,1024]" or "all_reduce %0 over [batch] (2 devices, nvlink)" */
static void op_label(const pt_sim_result *r, const pt_sim_op *e, char *buf, size_t cap) {
  const pt_op *op = e->op;
  char ty[PT_TYPE_STRLEN];
  int k = snprintf(buf, cap, "%s %%%s", pt_op_name(op->code),
                   op->result ? r->names[op->result->id] : "?");
  if (e->kind >= 0 && e->kind != PT_SIM_AXIS_SLICE) {
    const pt_attr *a = pt_op_attr(op, PT_A_AXES);
    k += snprintf(buf + k, cap - (size_t)k, " over [");
    for (int i = 0; a && i < a->val.n && (size_t)k < cap; i++)
      k += snprintf(buf + k, cap - (size_t)k, "%s%s", i ? ", " : "", a->val.items[i].s);
    if ((size_t)k < cap)
      snprintf(buf + k, cap - (size_t)k, "] (%lld devices, %s)", (long long)e->group,
               e->link >= 0 ? r->hw->links[e->link].name : "?");
  } else if (op->result && (size_t)k < cap) {
    snprintf(buf + k, cap - (size_t)k, " : %s", pt_type_str(&op->result->type, ty, sizeof ty));
  }
}

static double share(double part, double whole) {
  return whole > 0 ? 100 * part / whole : 0;
}

static void print_text(const pt_cli_shard_args *a, const pt_cli_sim *s) {
  const pt_sim_result *r = &s->r;
  const pt_sim_hw *hw = r->hw;
  char t1[32], t2[32], b1[32], b2[32], b3[32], ms[512];
  printf("@%s of %s under %s on %s\n", s->x.f->name, a->file, a->tactics, hw->name);
  printf("mesh %s: %lld device%s", pt_cli_mesh_str(&s->x.m->mesh, ms, sizeof ms),
         (long long)r->devices, r->devices == 1 ? "" : "s");
  if (hw->count)
    printf(" of the %lld the machine has", (long long)hw->count);
  printf("; %d ops in the per-device program\n\n", r->nops);
  printf("%-24s", "step time");
  pt_cli_col(pt_sim_time_str(r->step, t1, sizeof t1), 11);
  printf("\n%-24s", "  compute");
  pt_cli_col(pt_sim_time_str(r->compute, t1, sizeof t1), 11);
  printf("  %5.1f%%  %s per device\n", share(r->compute, r->step),
         flops_str(r->flops, t2, sizeof t2));
  printf("%-24s", "  communication");
  pt_cli_col(pt_sim_time_str(r->comm, t1, sizeof t1), 11);
  printf("  %5.1f%%\n", share(r->comm, r->step));
  for (int k = 0; k < PT_SIM_NKINDS; k++)
    if (r->count_kind[k]) {
      char label[64];
      snprintf(label, sizeof label, "    %s x%d", pt_sim_kind_name(k), r->count_kind[k]);
      printf("%-24s", label);
      pt_cli_col(pt_sim_time_str(r->comm_kind[k], t1, sizeof t1), 11);
      printf("  %5.1f%%  %s sent\n", share(r->comm_kind[k], r->step),
             pt_cli_bytes((uint64_t)r->bytes_kind[k], b1, sizeof b1));
    }
  printf("%-24s", "bytes sent per device");
  pt_cli_col(pt_cli_bytes((uint64_t)r->bytes_sent, b1, sizeof b1), 11);
  printf("\n%-24s", "peak memory per device");
  pt_cli_col(pt_cli_bytes((uint64_t)r->memory.peak_bytes, b1, sizeof b1), 11);
  printf("  of %s: %s (arguments %s, results %s, temporaries %s)\n",
         pt_cli_bytes((uint64_t)r->capacity, b2, sizeof b2), r->fits ? "fits" : "DOES NOT FIT",
         pt_cli_bytes((uint64_t)r->memory.argument_bytes, b1, sizeof b1),
         pt_cli_bytes((uint64_t)r->memory.result_bytes, b3, sizeof b3),
         pt_cli_bytes((uint64_t)r->memory.temp_bytes, t1, sizeof t1));
  printf("\ntop %d ops by time:\n", r->ntop);
  char(*labels)[256] = pt_calloc((size_t)r->ntop + 1, sizeof *labels);
  int lw = 2;
  for (int i = 0; i < r->ntop; i++) {
    op_label(r, &r->ops[r->top[i]], labels[i], sizeof labels[i]);
    lw = pt_cli_width(labels[i]) > lw ? pt_cli_width(labels[i]) : lw;
  }
  printf("   #        time   share  ");
  pt_cli_col("op", -lw);
  printf("  where\n");
  for (int i = 0; i < r->ntop; i++) {
    const pt_sim_op *e = &r->ops[r->top[i]];
    char where[256];
    printf("  %2d  ", i + 1);
    pt_cli_col(pt_sim_time_str(e->time, t1, sizeof t1), 10);
    printf("  %5.1f%%  ", share(e->time, r->step));
    pt_cli_col(labels[i], -lw);
    const char *tac = s->tactic_of ? s->tactic_of[r->top[i]] : NULL;
    printf("  %s%s%s%s\n", pt_sim_where(e->op, where, sizeof where), tac ? " (" : "",
           tac ? tac : "", tac ? ")" : "");
  }
  pt_free(labels);
}

static void print_json(const pt_cli_shard_args *a, const pt_cli_sim *s, const char *hwpath) {
  const pt_sim_result *r = &s->r;
  json_t *root = json_object(), *mesh = json_object(), *coll = json_array(), *top = json_array();
  json_object_set_new(root, "file", json_string(a->file));
  json_object_set_new(root, "tactics", json_string(a->tactics));
  json_object_set_new(root, "hardware", json_string(r->hw->name));
  json_object_set_new(root, "hardware_file", json_string(hwpath));
  json_object_set_new(root, "func", json_string(s->x.f->name));
  for (int i = 0; i < s->x.m->mesh.naxes; i++)
    json_object_set_new(mesh, s->x.m->mesh.names[i], json_integer(s->x.m->mesh.sizes[i]));
  json_object_set_new(root, "mesh", mesh);
  json_object_set_new(root, "devices", json_integer(r->devices));
  json_object_set_new(root, "ops", json_integer(r->nops));
  json_object_set_new(root, "step_s", json_real(r->step));
  json_object_set_new(root, "compute_s", json_real(r->compute));
  json_object_set_new(root, "communication_s", json_real(r->comm));
  json_object_set_new(root, "flops_per_device", json_real(r->flops));
  for (int k = 0; k < PT_SIM_NKINDS; k++) {
    if (!r->count_kind[k])
      continue;
    json_t *e = json_object();
    json_object_set_new(e, "kind", json_string(pt_sim_kind_name(k)));
    json_object_set_new(e, "count", json_integer(r->count_kind[k]));
    json_object_set_new(e, "time_s", json_real(r->comm_kind[k]));
    json_object_set_new(e, "bytes_per_device", json_integer(r->bytes_kind[k]));
    json_array_append_new(coll, e);
  }
  json_object_set_new(root, "collectives", coll);
  json_object_set_new(root, "bytes_per_device", json_integer(r->bytes_sent));
  json_object_set_new(root, "peak_memory_bytes", json_integer(r->memory.peak_bytes));
  json_object_set_new(root, "argument_bytes", json_integer(r->memory.argument_bytes));
  json_object_set_new(root, "result_bytes", json_integer(r->memory.result_bytes));
  json_object_set_new(root, "temporary_bytes", json_integer(r->memory.temp_bytes));
  json_object_set_new(root, "memory_capacity_bytes", json_integer(r->capacity));
  json_object_set_new(root, "fits", json_boolean(r->fits));
  for (int i = 0; i < r->ntop; i++) {
    const pt_sim_op *e = &r->ops[r->top[i]];
    char where[256];
    json_t *o = json_object();
    json_object_set_new(o, "index", json_integer(r->top[i]));
    json_object_set_new(o, "op", json_string(pt_op_name(e->op->code)));
    json_object_set_new(o, "value", json_string(e->op->result ? r->names[e->op->result->id] : ""));
    json_object_set_new(o, "where", json_string(pt_sim_where(e->op, where, sizeof where)));
    if (s->tactic_of && s->tactic_of[r->top[i]])
      json_object_set_new(o, "tactic", json_string(s->tactic_of[r->top[i]]));
    json_object_set_new(o, "time_s", json_real(e->time));
    json_object_set_new(
        o, "lane",
        json_string(e->kind >= 0 && e->kind != PT_SIM_AXIS_SLICE ? "communication" : "compute"));
    if (e->flops > 0)
      json_object_set_new(o, "flops", json_real(e->flops));
    json_object_set_new(o, "bytes", json_integer(e->bytes));
    json_array_append_new(top, o);
  }
  json_object_set_new(root, "top_ops", top);
  pt_cli_json_print(root, 0);
}

static int run(int argc, char **argv) {
  if (pt_cli_wants_help(&pt_cmd_sim, argc, argv))
    return PT_EXIT_OK;
  enum { O_JSON = PT_CLI_OPT_NEXT, O_HW, O_TRACE };
  static const struct option opts[] = {{"tactics", required_argument, 0, 't'},
                                       {"hw", required_argument, 0, O_HW},
                                       {"func", required_argument, 0, 'f'},
                                       {"optimizer", required_argument, 0, PT_CLI_OPT_OPTIMIZER},
                                       {"trace", required_argument, 0, O_TRACE},
                                       {"json", no_argument, 0, O_JSON},
                                       {0, 0, 0, 0}};
  pt_cli_shard_args a = {0};
  const char *hwpath = NULL, *trace = NULL;
  bool json = false;
  int c;
  opterr = 0;
  optind = 1;
  while ((c = getopt_long(argc, argv, "t:f:", opts, NULL)) != -1) {
    if (pt_cli_shard_take(&a, c, optarg))
      continue;
    switch (c) {
    case O_HW:
      hwpath = optarg;
      break;
    case O_TRACE:
      trace = optarg;
      break;
    case O_JSON:
      json = true;
      break;
    default:
      return pt_cli_bad_option(&pt_cmd_sim, argc, argv);
    }
  }
  if (optind >= argc)
    return pt_cli_usage(&pt_cmd_sim, "no input file");
  if (argc - optind > 1)
    return pt_cli_usage(&pt_cmd_sim, "sim takes one file, got %d", argc - optind);
  if (!a.tactics)
    return pt_cli_usage(&pt_cmd_sim, "--tactics is needed");
  if (!hwpath)
    return pt_cli_usage(&pt_cmd_sim, "--hw is needed (a hardware file, e.g. "
                                     "examples/hw/this-machine.yaml)");
  a.file = argv[optind];
  pt_diag *hwd;
  pt_sim_hw *hw = pt_cli_read_hw(hwpath, &hwd);
  if (!hw) {
    pt_diag_destroy(hwd);
    return PT_EXIT_INPUT;
  }
  pt_cli_sim s;
  int status = pt_cli_simulate(&pt_cmd_sim, &a, hw, hwd, &s);
  if (status == PT_EXIT_OK && trace) {
    char title[512];
    snprintf(title, sizeof title, "@%s on %s (one device)", s.g->name, hw->name);
    char *text = pt_sim_trace_json(&s.r, title);
    if (!pt_cli_write_text(trace, text))
      status = PT_EXIT_INPUT;
    pt_free(text);
  }
  if (status == PT_EXIT_OK) {
    if (json)
      print_json(&a, &s, hwpath);
    else
      print_text(&a, &s);
  }
  pt_cli_sim_free(&s);
  pt_sim_hw_destroy(hw);
  pt_diag_destroy(hwd);
  return status;
}
