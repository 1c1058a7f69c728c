/* `partita run FILE`: run a function in the reference interpreter (or,
 * with --tactics, partitioned on the virtual mesh). Starting values,
 * summaries and differences are runtime/run.h's; this file parses, runs and
 * prints. */
#include <getopt.h>
#include <string.h>

#include "json.h"
#include "run.h"
#include "sharded.h"
#include "vmesh.h"

static int run(int argc, char **argv);

const pt_command pt_cmd_run = {
    "run", run, "run a function in the reference interpreter",
    "Usage: partita run FILE [--func NAME] [--inputs IN.safetensors]\n"
    "                        [--out OUT.safetensors] [--seed N] [--json]\n"
    "                        [--tactics T.yaml [--optimizer OPT] [--compare]]\n\n"
    "Runs a function of FILE in the reference interpreter (the oracle every\n"
    "other execution path is checked against) and prints, per result, its\n"
    "name, shape, min, max, mean and a checksum (FNV-1a 64 of its bytes).\n\n"
    "Arguments are taken by name from --inputs; any argument not in that file\n"
    "is initialised from --seed (docs/cli.md, \"Initial values\"): params of\n"
    "rank >= 2 from a normal with std 1/sqrt(fan_in), other params and state\n"
    "zero, f32 inputs standard normal, i32 inputs uniform below their table's\n"
    "row count.\n\n"
    "Options:\n"
    "  -f, --func NAME     the function to run (default: the only one, or @loss)\n"
    "      --inputs FILE   read argument values from a safetensors file\n"
    "  -o, --out FILE      write the results to a safetensors file\n"
    "      --seed N        seed for arguments not in --inputs (default 0)\n"
    "      --json          print the summary as one JSON object\n"
    "  -t, --tactics FILE  partition with this tactic script and run the lowered\n"
    "                      program on the virtual mesh (every device in this\n"
    "                      process); results are joined from the devices' blocks\n"
    "      --optimizer OPT build train_step (sgd, momentum, adam) and run that\n"
    "      --compare       with --tactics: also run the reference interpreter and\n"
    "                      print, per result, the largest absolute difference and\n"
    "                      that difference relative to the result's largest\n"
    "                      magnitude; exit 1 if any relative difference exceeds\n"
    "                      1e-4\n"
    "  -h, --help          show this help\n\n"
    "Exit status: 0 success, 1 bad input or a runtime error, 2 bad usage.\n"};

typedef struct {
  const char *func, *inputs, *outpath, *tactics, *optim, *path;
  bool compare, json;
  uint64_t seed;
} options;

/* A run: the program (as loaded, or partitioned and lowered) and what
 * runtime/run.h made of it. */
typedef struct {
  pt_diag *d;
  pt_module *m;     /* without --tactics */
  pt_cli_sharded x; /* with --tactics */
  bool sharded;
  pt_func *f, *g; /* g: the lowered program, with --tactics */
  pt_st_file *in;
  pt_run_result r;
} job;

static const double tol = 1e-4;

static int parse(int argc, char **argv, options *o) {
  enum { OPT_INPUTS = 256, OPT_SEED, OPT_JSON, OPT_OPTIM, OPT_COMPARE };
  static const struct option opts[] = {{"func", required_argument, 0, 'f'},
                                       {"inputs", required_argument, 0, OPT_INPUTS},
                                       {"out", required_argument, 0, 'o'},
                                       {"seed", required_argument, 0, OPT_SEED},
                                       {"json", no_argument, 0, OPT_JSON},
                                       {"tactics", required_argument, 0, 't'},
                                       {"optimizer", required_argument, 0, OPT_OPTIM},
                                       {"compare", no_argument, 0, OPT_COMPARE},
                                       {0, 0, 0, 0}};
  int c;
  opterr = 0;
  optind = 1;
  while ((c = getopt_long(argc, argv, "f:o:t:", opts, NULL)) != -1) {
    switch (c) {
    case 't':
      o->tactics = optarg;
      break;
    case OPT_OPTIM:
      o->optim = optarg;
      break;
    case OPT_COMPARE:
      o->compare = true;
      break;
    case 'f':
      o->func = optarg;
      break;
    case OPT_INPUTS:
      o->inputs = optarg;
      break;
    case 'o':
      o->outpath = optarg;
      break;
    case OPT_SEED:
      if (!pt_cli_parse_u64(optarg, &o->seed))
        return pt_cli_usage(&pt_cmd_run, "--seed needs a non-negative integer, not '%s'", optarg);
      break;
    case OPT_JSON:
      o->json = true;
      break;
    default:
      return pt_cli_bad_option(&pt_cmd_run, argc, argv);
    }
  }
  if (optind >= argc)
    return pt_cli_usage(&pt_cmd_run, "no input file");
  if (argc - optind > 1)
    return pt_cli_usage(&pt_cmd_run, "run takes one file, got %d", argc - optind);
  o->path = argv[optind];
  if ((o->compare || o->optim) && !o->tactics)
    return pt_cli_usage(&pt_cmd_run, "%s needs --tactics",
                        o->compare ? "--compare" : "--optimizer");
  return PT_EXIT_OK;
}

/* Loads (and with --tactics partitions and lowers) the program, makes its
 * arguments, runs it, compares and writes the results. */
static int execute(const options *o, job *j) {
  if (o->tactics) {
    pt_cli_shard_args sa = {o->path, o->tactics, o->func, o->optim};
    int status = pt_cli_shard(&pt_cmd_run, &sa, &j->x);
    j->sharded = true;
    if (status != PT_EXIT_OK)
      return status;
    j->f = j->x.f;
    if (pt_cli_lower(&j->x, false, NULL, &j->g, j->d) != PT_EXIT_OK)
      return PT_EXIT_INPUT;
  } else {
    if (!(j->m = pt_cli_load(o->path, j->d)) || !(j->f = pt_cli_pick_func(j->m, o->func, "run")))
      return PT_EXIT_INPUT;
  }
  pt_func *f = j->f;
  if (o->inputs && !(j->in = pt_st_read(o->inputs, j->d)))
    return PT_EXIT_INPUT;
  pt_run_opts ro = {f, j->g, j->in, o->seed, o->compare, tol};
  if (pt_run(&ro, &j->r, j->d) != PT_OK)
    return PT_EXIT_INPUT;
  if (o->outpath) {
    const char **names = pt_calloc((size_t)f->nresults, sizeof *names);
    for (int i = 0; i < f->nresults; i++)
      names[i] = f->results[i].name;
    char seedbuf[32];
    snprintf(seedbuf, sizeof seedbuf, "%llu", (unsigned long long)o->seed);
    const char *meta[] = {"partita.func", f->name,        "partita.source",
                          o->path,        "partita.seed", seedbuf};
    pt_status st = pt_st_write(o->outpath, f->nresults, names,
                               (const pt_tensor *const *)j->r.results, 3, meta, j->d);
    pt_free(names);
    if (st != PT_OK)
      return PT_EXIT_INPUT;
  }
  return PT_EXIT_OK;
}

static void print_json(const options *o, const job *j) {
  const pt_func *f = j->f;
  json_t *root = json_object(), *res = json_array(), *seeded = json_array(), *given = json_array();
  for (int i = 0; i < f->nargs; i++)
    json_array_append_new(j->r.from_input[i] ? given : seeded, json_string(f->args[i]->name));
  json_object_set_new(root, "file", json_string(o->path));
  json_object_set_new(root, "func", json_string(f->name));
  json_object_set_new(root, "seed", json_integer((json_int_t)o->seed));
  json_object_set_new(root, "seconds", json_real(j->r.seconds));
  json_object_set_new(root, "seeded", seeded);
  json_object_set_new(root, "from_inputs", given);
  for (int i = 0; i < f->nresults; i++) {
    pt_tensor_summary s = pt_tensor_summarize(j->r.results[i]);
    char ck[24];
    snprintf(ck, sizeof ck, "%016llx", (unsigned long long)s.checksum);
    json_t *r = json_object();
    json_object_set_new(r, "name", json_string(f->results[i].name));
    json_object_set_new(r, "dtype", json_string(pt_dtype_name(j->r.results[i]->type.dtype)));
    json_object_set_new(r, "shape", pt_cli_json_shape(&j->r.results[i]->type));
    json_object_set_new(r, "min", pt_cli_json_num(s.min));
    json_object_set_new(r, "max", pt_cli_json_num(s.max));
    json_object_set_new(r, "mean", pt_cli_json_num(s.mean));
    json_object_set_new(r, "nans", json_integer(s.nans));
    json_object_set_new(r, "checksum", json_string(ck));
    if (o->compare) {
      json_object_set_new(r, "max_abs_diff", pt_cli_json_num(j->r.maxabs[i]));
      json_object_set_new(r, "max_rel_diff", pt_cli_json_num(j->r.maxrel[i]));
    }
    json_array_append_new(res, r);
  }
  json_object_set_new(root, "results", res);
  if (j->g) {
    json_object_set_new(root, "tactics", json_string(o->tactics));
    json_object_set_new(root, "devices", json_integer(pt_mesh_devices(&j->x.m->mesh)));
  }
  if (o->compare) {
    json_object_set_new(root, "tolerance", json_real(tol));
    json_object_set_new(root, "within_tolerance", json_boolean(j->r.within));
  }
  pt_cli_json_print(root, JSON_REAL_PRECISION(9));
}

static void print_text(const options *o, const job *j) {
  const pt_func *f = j->f;
  char tb[PT_TYPE_STRLEN];
  if (j->g)
    printf("@%s on the virtual mesh (%lld devices, %s): %d result%s in %.3f s\n", f->name,
           (long long)pt_mesh_devices(&j->x.m->mesh), o->tactics, f->nresults,
           f->nresults == 1 ? "" : "s", j->r.seconds);
  else
    printf("@%s: %d result%s in %.3f s\n", f->name, f->nresults, f->nresults == 1 ? "" : "s",
           j->r.seconds);
  size_t wname = 6, wtype = 5;
  for (int i = 0; i < f->nresults; i++) {
    size_t n = strlen(f->results[i].name);
    wname = n > wname ? n : wname;
    n = strlen(pt_type_str(&j->r.results[i]->type, tb, sizeof tb));
    wtype = n > wtype ? n : wtype;
  }
  printf("  %-*s  %-*s  %14s  %14s  %14s  %s\n", (int)wname, "result", (int)wtype, "shape", "min",
         "max", "mean", "checksum");
  for (int i = 0; i < f->nresults; i++) {
    pt_tensor_summary s = pt_tensor_summarize(j->r.results[i]);
    printf("  %-*s  %-*s  %14.7g  %14.7g  %14.7g  %016llx", (int)wname, f->results[i].name,
           (int)wtype, pt_type_str(&j->r.results[i]->type, tb, sizeof tb), s.min, s.max, s.mean,
           (unsigned long long)s.checksum);
    if (s.nans)
      printf("  (%lld nan)", (long long)s.nans);
    putchar('\n');
  }
  if (o->compare) {
    printf("compared with the reference interpreter (tolerance: relative difference <= %g,\n"
           "relative to the result's largest magnitude):\n",
           tol);
    for (int i = 0; i < f->nresults; i++)
      printf("  %-*s  max abs diff %10.3g  max rel diff %10.3g  %s\n", (int)wname,
             f->results[i].name, j->r.maxabs[i], j->r.maxrel[i],
             j->r.maxrel[i] <= tol ? "ok" : "EXCEEDS");
  }
}

static void job_free(job *j) {
  pt_run_result_free(&j->r);
  pt_st_close(j->in);
  pt_module_destroy(j->m);
  if (j->sharded)
    pt_cli_sharded_free(&j->x);
  pt_diag_destroy(j->d);
}

static int run(int argc, char **argv) {
  if (pt_cli_wants_help(&pt_cmd_run, argc, argv))
    return PT_EXIT_OK;
  options o = {0};
  int status = parse(argc, argv, &o);
  if (status != PT_EXIT_OK)
    return status;
  job j = {0};
  j.d = pt_diag_create(stderr);
  status = execute(&o, &j);
  if (status == PT_EXIT_OK) {
    if (o.json)
      print_json(&o, &j);
    else
      print_text(&o, &j);
    if (o.outpath && !o.json)
      printf("wrote %s\n", o.outpath);
    status = j.r.within ? PT_EXIT_OK : PT_EXIT_INPUT;
    if (!j.r.within)
      fprintf(stderr, "partita run: error: the partitioned program differs from the reference "
                      "beyond the tolerance\n");
  }
  job_free(&j);
  return status;
}
