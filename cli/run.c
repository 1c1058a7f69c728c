/* `partita run FILE`: run a function in the reference interpreter. */
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "init.h"
#include "lower.h"
#include "sharded.h"
#include "vmesh.h"
#include "interp.h"
#include "safetensors.h"

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
  double min, max, mean;
  int64_t nans;
  uint64_t checksum;
} stats;

static stats tensor_stats(const pt_tensor *t) {
  stats s = {INFINITY, -INFINITY, 0, 0, 1469598103934665603ull};
  int64_t n = pt_type_numel(&t->type);
  double sum = 0;
  for (int64_t i = 0; i < n; i++) {
    double v = pt_tensor_get(t, i);
    if (isnan(v)) {
      s.nans++;
      continue;
    }
    if (v < s.min)
      s.min = v;
    if (v > s.max)
      s.max = v;
    sum += v;
  }
  s.mean = s.nans ? NAN : sum / (double)n;
  if (s.nans == n)
    s.min = s.max = NAN;
  const unsigned char *b = t->data;
  size_t nb = pt_type_bytes(&t->type);
  for (size_t i = 0; i < nb; i++)
    s.checksum = (s.checksum ^ b[i]) * 1099511628211ull;
  return s;
}

static json_t *json_num(double v) {
  /* JSON has no nan or inf: write them as strings */
  if (isnan(v))
    return json_string("nan");
  if (isinf(v))
    return json_string(v > 0 ? "inf" : "-inf");
  return json_real(v);
}

static json_t *shape_json(const pt_type *t) {
  json_t *a = json_array();
  for (int i = 0; i < t->rank; i++)
    json_array_append_new(a, json_integer(t->dims[i]));
  return a;
}

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int run(int argc, char **argv) {
  if (pt_cli_wants_help(&pt_cmd_run, argc, argv))
    return PT_EXIT_OK;
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
  const char *func = NULL, *inputs = NULL, *outpath = NULL, *tactics = NULL, *optim = NULL;
  bool compare = false;
  uint64_t seed = 0;
  bool json = false;
  int c;
  opterr = 0;
  optind = 1;
  while ((c = getopt_long(argc, argv, "f:o:t:", opts, NULL)) != -1) {
    switch (c) {
    case 't':
      tactics = optarg;
      break;
    case OPT_OPTIM:
      optim = optarg;
      break;
    case OPT_COMPARE:
      compare = true;
      break;
    case 'f':
      func = optarg;
      break;
    case OPT_INPUTS:
      inputs = optarg;
      break;
    case 'o':
      outpath = optarg;
      break;
    case OPT_SEED:
      if (!pt_cli_parse_u64(optarg, &seed))
        return pt_cli_usage(&pt_cmd_run, "--seed needs a non-negative integer, not '%s'", optarg);
      break;
    case OPT_JSON:
      json = true;
      break;
    default:
      return pt_cli_bad_option(&pt_cmd_run, argc, argv);
    }
  }
  if (optind >= argc)
    return pt_cli_usage(&pt_cmd_run, "no input file");
  if (argc - optind > 1)
    return pt_cli_usage(&pt_cmd_run, "run takes one file, got %d", argc - optind);
  const char *path = argv[optind];
  if ((compare || optim) && !tactics)
    return pt_cli_usage(&pt_cmd_run, "%s needs --tactics", compare ? "--compare" : "--optimizer");

  int status = PT_EXIT_INPUT;
  pt_diag *d = pt_diag_create(stderr);
  pt_module *m = NULL;
  pt_st_file *in = NULL;
  pt_tensor **args = NULL, **results = NULL, **ref = NULL;
  pt_func *f = NULL, *g = NULL;
  pt_cli_sharded x = {0};
  bool sharded = false;
  if (tactics) {
    pt_cli_shard_args sa = {path, tactics, func, optim};
    status = pt_cli_shard(&pt_cmd_run, &sa, &x);
    sharded = true;
    if (status != PT_EXIT_OK)
      goto done;
    status = PT_EXIT_INPUT;
    f = x.f;
    const char **names = pt_calloc((size_t)x.s->ntactics + 1, sizeof *names);
    for (int i = 0; i < x.s->ntactics; i++)
      names[i] = x.s->tactics[i].name;
    pt_lower_opts lo = {NULL, names, x.s->ntactics, NULL};
    pt_status ls = pt_pass_lower(x.m, f, &lo, &g, d);
    pt_free(names);
    if (ls != PT_OK || pt_verify_func(g, d) != PT_OK)
      goto done;
  } else {
    m = pt_cli_load(path, d);
    if (!m)
      goto done;
    f = pt_cli_pick_func(m, func, "run");
    if (!f)
      goto done;
  }
  if (inputs && !(in = pt_st_read(inputs, d)))
    goto done;
  args = pt_calloc((size_t)f->nargs + 1, sizeof *args);
  results = pt_calloc((size_t)f->nresults + 1, sizeof *results);
  json_t *seeded = json_array(), *given = json_array();
  bool bad = false;
  for (int i = 0; i < f->nargs; i++) {
    const pt_value *a = f->args[i];
    const pt_tensor *t = in ? pt_st_find(in, a->name) : NULL;
    char b1[PT_TYPE_STRLEN], b2[PT_TYPE_STRLEN];
    if (t && !pt_type_equal(&t->type, &a->type)) {
      pt_diag_error(d, (pt_loc){inputs, 0, 0},
                    "tensor '%s' is %s but argument %%%s of @%s is %s", a->name,
                    pt_type_str(&t->type, b1, sizeof b1), a->name, f->name,
                    pt_type_str(&a->type, b2, sizeof b2));
      bad = true;
      continue;
    }
    if (t) {
      args[i] = pt_tensor_clone(t);
      json_array_append_new(given, json_string(a->name));
    } else {
      pt_init_spec s = pt_init_spec_for(f, a, seed);
      args[i] = pt_init_tensor(&s, a->type);
      json_array_append_new(seeded, json_string(a->name));
    }
  }
  if (in)
    for (int i = 0; i < pt_st_count(in); i++)
      if (!pt_func_find_arg(f, pt_st_name(in, i)))
        pt_diag_report(d, PT_SEV_WARNING, (pt_loc){inputs, 0, 0},
                       "tensor '%s' is not an argument of @%s; ignored", pt_st_name(in, i),
                       f->name);
  if (bad) {
    json_decref(seeded);
    json_decref(given);
    goto done;
  }
  double t0 = now();
  if ((g ? pt_vmesh_run_global(f, g, args, results, d) : pt_interp_run(f, args, results, d)) !=
      PT_OK) {
    json_decref(seeded);
    json_decref(given);
    goto done;
  }
  double elapsed = now() - t0;
  /* --compare: the reference interpreter on the global program */
  double *maxabs = NULL, *maxrel = NULL;
  bool within = true;
  const double tol = 1e-4;
  if (compare) {
    ref = pt_calloc((size_t)f->nresults + 1, sizeof *ref);
    if (pt_interp_run(f, args, ref, d) != PT_OK) {
      json_decref(seeded);
      json_decref(given);
      goto done;
    }
    maxabs = pt_calloc((size_t)f->nresults + 1, sizeof *maxabs);
    maxrel = pt_calloc((size_t)f->nresults + 1, sizeof *maxrel);
    for (int i = 0; i < f->nresults; i++) {
      double scale = 0;
      bool nan_mismatch = false;
      for (int64_t k = 0; k < pt_type_numel(&ref[i]->type); k++) {
        double a = pt_tensor_get(results[i], k), b = pt_tensor_get(ref[i], k);
        if (isnan(a) != isnan(b))
          nan_mismatch = true;
        if (!isnan(a) && !isnan(b) && fabs(a - b) > maxabs[i])
          maxabs[i] = fabs(a - b);
        if (!isnan(b) && fabs(b) > scale)
          scale = fabs(b);
      }
      maxrel[i] = nan_mismatch ? INFINITY : maxabs[i] / (scale > 0 ? scale : 1.0);
      if (!(maxrel[i] <= tol))
        within = false;
    }
  }
  if (outpath) {
    const char **names = pt_calloc((size_t)f->nresults, sizeof *names);
    for (int i = 0; i < f->nresults; i++)
      names[i] = f->results[i].name;
    char seedbuf[32];
    snprintf(seedbuf, sizeof seedbuf, "%llu", (unsigned long long)seed);
    const char *meta[] = {"partita.func", f->name, "partita.source", path, "partita.seed",
                          seedbuf};
    pt_status st = pt_st_write(outpath, f->nresults, names,
                               (const pt_tensor *const *)results, 3, meta, d);
    pt_free(names);
    if (st != PT_OK) {
      json_decref(seeded);
      json_decref(given);
      goto done;
    }
  }
  char tb[PT_TYPE_STRLEN];
  if (json) {
    json_t *root = json_object(), *res = json_array();
    json_object_set_new(root, "file", json_string(path));
    json_object_set_new(root, "func", json_string(f->name));
    json_object_set_new(root, "seed", json_integer((json_int_t)seed));
    json_object_set_new(root, "seconds", json_real(elapsed));
    json_object_set_new(root, "seeded", seeded);
    json_object_set_new(root, "from_inputs", given);
    for (int i = 0; i < f->nresults; i++) {
      stats s = tensor_stats(results[i]);
      char ck[24];
      snprintf(ck, sizeof ck, "%016llx", (unsigned long long)s.checksum);
      json_t *r = json_object();
      json_object_set_new(r, "name", json_string(f->results[i].name));
      json_object_set_new(r, "dtype", json_string(pt_dtype_name(results[i]->type.dtype)));
      json_object_set_new(r, "shape", shape_json(&results[i]->type));
      json_object_set_new(r, "min", json_num(s.min));
      json_object_set_new(r, "max", json_num(s.max));
      json_object_set_new(r, "mean", json_num(s.mean));
      json_object_set_new(r, "nans", json_integer(s.nans));
      json_object_set_new(r, "checksum", json_string(ck));
      if (compare) {
        json_object_set_new(r, "max_abs_diff", json_num(maxabs[i]));
        json_object_set_new(r, "max_rel_diff", json_num(maxrel[i]));
      }
      json_array_append_new(res, r);
    }
    json_object_set_new(root, "results", res);
    if (g) {
      json_object_set_new(root, "tactics", json_string(tactics));
      json_object_set_new(root, "devices", json_integer(pt_mesh_devices(&x.m->mesh)));
    }
    if (compare) {
      json_object_set_new(root, "tolerance", json_real(tol));
      json_object_set_new(root, "within_tolerance", json_boolean(within));
    }
    json_dumpf(root, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(9));
    fputc('\n', stdout);
    json_decref(root);
  } else {
    json_decref(seeded);
    json_decref(given);
    if (g)
      printf("@%s on the virtual mesh (%lld devices, %s): %d result%s in %.3f s\n", f->name,
             (long long)pt_mesh_devices(&x.m->mesh), tactics, f->nresults,
             f->nresults == 1 ? "" : "s", elapsed);
    else
      printf("@%s: %d result%s in %.3f s\n", f->name, f->nresults, f->nresults == 1 ? "" : "s",
             elapsed);
    size_t wname = 6, wtype = 5;
    for (int i = 0; i < f->nresults; i++) {
      size_t n = strlen(f->results[i].name);
      wname = n > wname ? n : wname;
      n = strlen(pt_type_str(&results[i]->type, tb, sizeof tb));
      wtype = n > wtype ? n : wtype;
    }
    printf("  %-*s  %-*s  %14s  %14s  %14s  %s\n", (int)wname, "result", (int)wtype, "shape",
           "min", "max", "mean", "checksum");
    for (int i = 0; i < f->nresults; i++) {
      stats s = tensor_stats(results[i]);
      printf("  %-*s  %-*s  %14.7g  %14.7g  %14.7g  %016llx", (int)wname, f->results[i].name,
             (int)wtype, pt_type_str(&results[i]->type, tb, sizeof tb), s.min, s.max, s.mean,
             (unsigned long long)s.checksum);
      if (s.nans)
        printf("  (%lld nan)", (long long)s.nans);
      putchar('\n');
    }
    if (compare) {
      printf("compared with the reference interpreter (tolerance: relative difference <= %g,\n"
             "relative to the result's largest magnitude):\n", tol);
      for (int i = 0; i < f->nresults; i++)
        printf("  %-*s  max abs diff %10.3g  max rel diff %10.3g  %s\n", (int)wname,
               f->results[i].name, maxabs[i], maxrel[i], maxrel[i] <= tol ? "ok" : "EXCEEDS");
    }
  }
  if (outpath && !json)
    printf("wrote %s\n", outpath);
  status = within ? PT_EXIT_OK : PT_EXIT_INPUT;
  if (!within)
    fprintf(stderr, "partita run: error: the partitioned program differs from the reference "
                    "beyond the tolerance\n");
  pt_free(maxabs);
  pt_free(maxrel);
done:
  if (args)
    for (int i = 0; i < f->nargs; i++)
      pt_tensor_destroy(args[i]);
  if (results)
    for (int i = 0; i < f->nresults; i++)
      pt_tensor_destroy(results[i]);
  if (ref)
    for (int i = 0; i < f->nresults; i++)
      pt_tensor_destroy(ref[i]);
  pt_free(ref);
  pt_free(args);
  pt_free(results);
  pt_st_close(in);
  pt_module_destroy(m);
  if (sharded)
    pt_cli_sharded_free(&x);
  pt_diag_destroy(d);
  return status;
}
