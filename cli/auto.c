/* `partita auto FILE --mesh batch=8,model=8 --hw HW.yaml`: searches for the
 * fastest strategy that fits (tactics/auto.h) and writes it as a tactic
 * script. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "autosearch.h"
#include "calibrate.h"
#include "json.h"
#include "sim.h"
#include "simulate.h"

static int run(int argc, char **argv);

const pt_command pt_cmd_auto = {
    "auto", run, "search for the fastest strategy that fits and write it as a tactic script",
    "Usage: partita auto FILE --mesh batch=8,model=8 --hw HW.yaml [--func NAME]\n"
    "                     [--optimizer OPT] [--tactics PREFIX.yaml] [--budget-s S] [--seed N]\n"
    "                     [--beam B] [--restarts R] [--args AXIS=ROLES] [-o STRATEGY.yaml]\n"
    "                     [--json]\n\n"
    "Searches the decisions a tactic script is made of -- shard an argument group on a\n"
    "dimension along a mesh axis, or replicate it -- for the strategy the simulator\n"
    "predicts fastest on the machine the hardware file describes, among those whose\n"
    "per-device peak memory fits it. Groups generalise names across layers\n"
    "(layers.*.attn.wq), so one decision covers every layer. Every candidate is\n"
    "propagated, lowered and simulated as `partita sim` would (docs/tactics.md,\n"
    "\"Automatic tactics\"). The result is an ordinary tactic script, whose comments\n"
    "give its predicted step time and memory and say which tactics the search found;\n"
    "partition, sim, explore and train take it like any other.\n\n"
    "With --tactics, the prefix's tactics come first and the search never undoes\n"
    "them; its automatic tactics ({name: rest, axis: model, auto: true}) name the\n"
    "axes to search, or, if it has none, every axis is searched after it.\n\n"
    "Along an axis called model, tensor, mp or tp the search seeds parameters and\n"
    "optimizer state (model parallelism); along any other axis every argument\n"
    "(batch parallelism, ZeRO, or model parallelism if that is faster).\n\n"
    "Options:\n"
    "      --mesh AXES        the mesh, NAME=SIZE pairs: batch=8,model=8 (or take the\n"
    "                         prefix's)\n"
    "      --hw FILE          the hardware file (YAML), e.g. examples/hw/a100-cluster.yaml\n"
    "  -t, --tactics FILE     a prefix script: manual tactics first, automatic ones to fill\n"
    "  -f, --func NAME        the function (default: the only one, or @loss;\n"
    "                         @train_step with --optimizer)\n"
    "      --optimizer OPT    first build train_step with sgd, momentum or adam\n"
    "      --budget-s S       stop searching after S seconds (default 60)\n"
    "      --seed N           orders ties and draws the restarts (default 0); the same\n"
    "                         seed gives the same search, unless the budget cuts it\n"
    "      --beam B           states kept per depth of the beam search (default 4)\n"
    "      --restarts R       greedy restarts from seeded random first decisions after\n"
    "                         the beam search (default 4)\n"
    "      --args AXIS=ROLES  what the search may seed along AXIS: roles joined by '+'\n"
    "                         (input+param+state), or all; may be repeated\n"
    "  -o, --output FILE      write the script to FILE (default: standard output)\n"
    "      --json             print the result as one JSON object (the script in it)\n"
    "  -h, --help             show this help\n\n"
    "On a terminal, a progress line shows the candidates tried and the best so far.\n"
    "Exit status: 0 success, 1 bad input or no strategy fits in memory (the smallest\n"
    "peak found is reported), 2 bad usage.\n"};

typedef struct {
  pt_cli_shard_args a;
  const char *mesh, *hwpath, *out, *args[PT_MAX_AXES];
  int nargs;
  bool json;
  pt_auto_opts o;
} options;

static int parse_roles(const char *spec, const pt_mesh *m, unsigned *roles) {
  const char *eq = strchr(spec, '=');
  int axis = eq ? pt_mesh_axis(m, spec, (size_t)(eq - spec)) : -1;
  if (!eq)
    return pt_cli_usage(&pt_cmd_auto, "--args needs AXIS=ROLES, like model=param+state, not '%s'",
                        spec);
  if (axis < 0)
    return pt_cli_usage(&pt_cmd_auto, "--args '%s': '%.*s' is not an axis of the mesh", spec,
                        (int)(eq - spec), spec);
  unsigned r = 0;
  if (strcmp(eq + 1, "all") == 0)
    r = (1u << PT_ROLE_COUNT) - 1;
  for (const char *p = eq + 1; !r && *p;) {
    const char *e = strchr(p, '+');
    size_t n = e ? (size_t)(e - p) : strlen(p);
    int role = -1;
    for (int k = 0; k < PT_ROLE_COUNT; k++)
      if (strlen(pt_role_name((pt_role)k)) == n && strncmp(p, pt_role_name((pt_role)k), n) == 0)
        role = k;
    if (role < 0)
      return pt_cli_usage(&pt_cmd_auto,
                          "--args '%s': '%.*s' is not a role (input, param, state, or all)", spec,
                          (int)n, p);
    roles[axis] |= 1u << role;
    p += n + (e != NULL);
  }
  roles[axis] |= r;
  return PT_EXIT_OK;
}

static int parse(int argc, char **argv, options *o) {
  enum { O_MESH = PT_CLI_OPT_NEXT, O_HW, O_BUDGET, O_SEED, O_BEAM, O_RESTARTS, O_ARGS, O_JSON };
  static const struct option opts[] = {{"tactics", required_argument, 0, 't'},
                                       {"func", required_argument, 0, 'f'},
                                       {"optimizer", required_argument, 0, PT_CLI_OPT_OPTIMIZER},
                                       {"mesh", required_argument, 0, O_MESH},
                                       {"hw", required_argument, 0, O_HW},
                                       {"budget-s", required_argument, 0, O_BUDGET},
                                       {"seed", required_argument, 0, O_SEED},
                                       {"beam", required_argument, 0, O_BEAM},
                                       {"restarts", required_argument, 0, O_RESTARTS},
                                       {"args", required_argument, 0, O_ARGS},
                                       {"output", required_argument, 0, 'o'},
                                       {"json", no_argument, 0, O_JSON},
                                       {0, 0, 0, 0}};
  o->o.budget_s = 60;
  o->o.restarts = -1;
  int c;
  opterr = 0;
  optind = 1;
  uint64_t u;
  while ((c = getopt_long(argc, argv, "t:f:o:", opts, NULL)) != -1) {
    if (pt_cli_shard_take(&o->a, c, optarg))
      continue;
    switch (c) {
    case O_MESH:
      o->mesh = optarg;
      break;
    case O_HW:
      o->hwpath = optarg;
      break;
    case 'o':
      o->out = optarg;
      break;
    case O_JSON:
      o->json = true;
      break;
    case O_BUDGET:
      if (!pt_cli_parse_double(optarg, &o->o.budget_s) || !(o->o.budget_s > 0))
        return pt_cli_usage(&pt_cmd_auto, "--budget-s needs a number of seconds above 0, not '%s'",
                            optarg);
      break;
    case O_SEED:
      if (!pt_cli_parse_u64(optarg, &o->o.seed))
        return pt_cli_usage(&pt_cmd_auto, "--seed needs a non-negative integer, not '%s'", optarg);
      break;
    case O_BEAM:
    case O_RESTARTS:
      if (!pt_cli_parse_u64(optarg, &u) || u > 1000 || (c == O_BEAM && u == 0))
        return pt_cli_usage(&pt_cmd_auto, "%s needs an integer in [%d, 1000], not '%s'",
                            c == O_BEAM ? "--beam" : "--restarts", c == O_BEAM, optarg);
      if (c == O_BEAM)
        o->o.beam = (int)u;
      else
        o->o.restarts = (int)u;
      break;
    case O_ARGS:
      if (o->nargs == PT_MAX_AXES)
        return pt_cli_usage(&pt_cmd_auto, "--args is given more than %d times", PT_MAX_AXES);
      o->args[o->nargs++] = optarg;
      break;
    default:
      return pt_cli_bad_option(&pt_cmd_auto, argc, argv);
    }
  }
  if (optind >= argc)
    return pt_cli_usage(&pt_cmd_auto, "no input file");
  if (argc - optind > 1)
    return pt_cli_usage(&pt_cmd_auto, "auto takes one file, got %d", argc - optind);
  o->a.file = argv[optind];
  if (!o->mesh && !o->a.tactics)
    return pt_cli_usage(&pt_cmd_auto, "--mesh is needed (like --mesh batch=2,model=2), or a "
                                      "prefix script with --tactics");
  if (!o->hwpath)
    return pt_cli_usage(&pt_cmd_auto, "--hw is needed (a hardware file, e.g. "
                                      "examples/hw/a100-cluster.yaml)");
  return PT_EXIT_OK;
}

/* The prefix: the script given, the mesh given, or both (which must agree). */
static int prefix(options *o, pt_schedule **out) {
  pt_schedule *m = NULL, *t = NULL;
  *out = NULL;
  if (o->mesh && !(m = pt_cli_mesh_schedule(&pt_cmd_auto, o->mesh)))
    return PT_EXIT_USAGE;
  if (o->a.tactics) {
    pt_diag *d = pt_diag_create(stderr);
    t = pt_schedule_read(o->a.tactics, d);
    pt_diag_destroy(d);
    if (!t) {
      pt_schedule_destroy(m);
      return PT_EXIT_INPUT;
    }
  }
  if (m && t) {
    bool same = m->mesh.naxes == t->mesh.naxes;
    for (int i = 0; same && i < m->mesh.naxes; i++)
      same =
          strcmp(m->mesh.names[i], t->mesh.names[i]) == 0 && m->mesh.sizes[i] == t->mesh.sizes[i];
    pt_schedule_destroy(m);
    if (!same) {
      pt_schedule_destroy(t);
      return pt_cli_usage(&pt_cmd_auto, "--mesh '%s' differs from the mesh of %s", o->mesh,
                          o->a.tactics);
    }
    m = NULL;
  }
  *out = t ? t : m;
  return PT_EXIT_OK;
}

static char *command_line(int argc, char **argv) {
  size_t n = 16;
  for (int i = 0; i < argc; i++)
    n += strlen(argv[i]) + 1;
  char *s = pt_malloc(n), *p = s;
  p += sprintf(p, "partita");
  for (int i = 0; i < argc; i++)
    p += sprintf(p, " %s", argv[i]);
  return s;
}

static void print_json(const options *o, const pt_cli_sharded *x, const pt_auto_result *r,
                       const char *script) {
  json_t *root = json_object(), *mesh = json_object(), *tactics = json_array();
  json_object_set_new(root, "file", json_string(o->a.file));
  json_object_set_new(root, "func", json_string(x->f->name));
  json_object_set_new(root, "hardware_file", json_string(o->hwpath));
  for (int i = 0; i < x->m->mesh.naxes; i++)
    json_object_set_new(mesh, x->m->mesh.names[i], json_integer(x->m->mesh.sizes[i]));
  json_object_set_new(root, "mesh", mesh);
  json_object_set_new(root, "fits", json_boolean(r->fits));
  json_object_set_new(root, "step_s", json_real(r->step));
  json_object_set_new(root, "compute_s", json_real(r->compute));
  json_object_set_new(root, "communication_s", json_real(r->comm));
  json_object_set_new(root, "peak_memory_bytes", json_integer(r->peak));
  json_object_set_new(root, "memory_capacity_bytes", json_integer(r->capacity));
  json_object_set_new(root, "bytes_per_device", json_integer(r->bytes_sent));
  json_object_set_new(root, "baseline_step_s", json_real(r->baseline_step));
  json_object_set_new(root, "baseline_peak_memory_bytes", json_integer(r->baseline_peak));
  json_object_set_new(root, "candidates", json_integer(r->stats.candidates));
  json_object_set_new(root, "simulated", json_integer(r->stats.simulated));
  json_object_set_new(root, "search_s", json_real(r->stats.seconds));
  json_object_set_new(root, "stopped", json_string(r->stopped));
  const pt_schedule *s = r->schedule;
  for (int i = 0; i < s->ntactics; i++) {
    const pt_tactic *t = &s->tactics[i];
    json_t *e = json_object(), *sh = json_object(), *rep = json_array();
    json_object_set_new(e, "name", json_string(t->name));
    json_object_set_new(e, "axis", json_string(s->mesh.names[t->axis]));
    json_object_set_new(e, "searched", json_boolean(r->info[i].searched));
    for (int k = 0; k < t->nshard; k++)
      json_object_set_new(sh, t->shard[k].glob, json_integer(t->shard[k].dim));
    for (int k = 0; k < t->nreplicate; k++)
      json_array_append_new(rep, json_string(t->replicate[k].glob));
    json_object_set_new(e, "shard", sh);
    json_object_set_new(e, "replicate", rep);
    json_array_append_new(tactics, e);
  }
  json_object_set_new(root, "tactics", tactics);
  json_object_set_new(root, "script", json_string(script));
  pt_cli_json_print(root, 0);
}

static void summary(FILE *out, const pt_auto_result *r, const char *dest) {
  char t1[32], t2[32], b1[32], b2[32];
  fprintf(out, "auto: %s per step (%s with the prefix alone), peak memory %s of %s: %s\n",
          pt_sim_time_str(r->step, t1, sizeof t1), pt_sim_time_str(r->baseline_step, t2, sizeof t2),
          pt_calibrate_bytes_str((double)r->peak, b1, sizeof b1),
          pt_calibrate_bytes_str((double)r->capacity, b2, sizeof b2),
          r->fits ? "fits" : "DOES NOT FIT");
  fprintf(out, "auto: %d candidates (%d lowered and simulated) in %.1f s; stopped: %s\n",
          r->stats.candidates, r->stats.simulated, r->stats.seconds, r->stopped);
  if (dest)
    fprintf(out, "auto: wrote %s\n", dest);
}

/* Reads the prefix and --args, then searches and writes the script. */
static int search_and_write(options *o, const char *cmd) {
  pt_schedule *given;
  int status = prefix(o, &given);
  if (status != PT_EXIT_OK)
    return status;
  unsigned roles[PT_MAX_AXES] = {0};
  for (int i = 0; i < o->nargs && status == PT_EXIT_OK; i++)
    status = parse_roles(o->args[i], &given->mesh, roles);
  if (status == PT_EXIT_OK && o->nargs && pt_schedule_has_auto(given, NULL))
    status = pt_cli_usage(&pt_cmd_auto, "--args applies when the prefix has no automatic "
                                        "tactic; say 'args:' in the automatic tactics instead");
  if (status != PT_EXIT_OK) {
    pt_schedule_destroy(given);
    return status;
  }
  if (o->nargs) /* axes --args leaves out keep their default */
    for (int a = 0; a < given->mesh.naxes; a++)
      if (!roles[a])
        roles[a] = pt_auto_default_roles(given->mesh.names[a]);
  o->o.roles = o->nargs ? roles : NULL;
  pt_diag *hwd;
  pt_sim_hw *hw = pt_cli_read_hw(o->hwpath, &hwd);
  if (!hw) {
    pt_schedule_destroy(given);
    pt_diag_destroy(hwd);
    return PT_EXIT_INPUT;
  }
  pt_cli_sharded x;
  pt_auto_result r = {0};
  status = pt_cli_prepare(&pt_cmd_auto, &o->a, given, &x);
  if (status == PT_EXIT_OK)
    status = pt_cli_auto(&x, hw, &o->o, !o->json && isatty(2), &r);
  if (r.schedule) {
    char *script = pt_auto_script(&r, cmd);
    if (status == PT_EXIT_OK && o->out && !pt_cli_write_text(o->out, script))
      status = PT_EXIT_INPUT;
    if (o->json)
      print_json(o, &x, &r, script);
    else if (status == PT_EXIT_OK && !o->out)
      fputs(script, stdout);
    fflush(stdout);
    if (!o->json)
      summary(o->out ? stdout : stderr, &r, status == PT_EXIT_OK ? o->out : NULL);
    pt_free(script);
  }
  pt_auto_result_free(&r);
  pt_cli_sharded_free(&x);
  pt_sim_hw_destroy(hw);
  pt_diag_destroy(hwd);
  return status;
}

static int run(int argc, char **argv) {
  if (pt_cli_wants_help(&pt_cmd_auto, argc, argv))
    return PT_EXIT_OK;
  options o = {0};
  char *cmd = command_line(argc, argv); /* before getopt reorders argv */
  int status = parse(argc, argv, &o);
  if (status == PT_EXIT_OK)
    status = search_and_write(&o, cmd);
  pt_free(cmd);
  return status;
}
