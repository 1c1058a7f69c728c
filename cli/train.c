/* `partita train FILE`: run N training steps in the reference interpreter,
 * one process, feeding each step's updated params and optimizer state into
 * the next. */
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "init.h"
#include "interp.h"
#include "safetensors.h"
#include "train_dist.h"

static int run(int argc, char **argv);

const pt_command pt_cmd_train = {
    "train", run, "train a loss for N steps in the reference interpreter",
    "Usage: partita train FILE --optimizer sgd|momentum|adam --steps N\n"
    "                     [--func NAME] [--lr X] [--momentum X] [--beta1 X]\n"
    "                     [--beta2 X] [--eps X] [--inputs IN.safetensors]\n"
    "                     [--seed N] [--out OUT.safetensors] [--json] [--every K]\n"
    "       mpirun -n N partita train FILE --tactics T.yaml --optimizer ... --steps S\n"
    "                     [--verify] [--checkpoint-dir D [--checkpoint-every K]]\n"
    "                     [--resume] [--real-data] [--inputs IN.safetensors]\n"
    "                     [--profile TRACE.json]\n\n"
    "Builds the loss's train step (as 'partita train-step' does) and runs it N\n"
    "times in the reference interpreter, each step taking the params and\n"
    "optimizer state the previous one returned. Params, inputs and optimizer\n"
    "state are read by name from --inputs; what it does not give is\n"
    "initialised from --seed exactly as 'partita run' initialises the loss\n"
    "function's arguments, and optimizer state starts at zero. Inputs stay the\n"
    "same every step.\n\n"
    "Prints one line per step (step, loss, milliseconds), then the first and\n"
    "final loss and their ratio. A step's loss is computed before its update.\n\n"
    "Options:\n"
    "  -f, --func NAME     the loss function (default: the only one, or @loss)\n"
    "      --optimizer K   sgd, momentum or adam (required)\n"
    "      --steps N       how many steps, >= 1 (required)\n"
    "      --lr X          learning rate (default 1e-3 for adam, 1e-2 otherwise)\n"
    "      --momentum X    momentum only: the momentum, >= 0 (default 0.9)\n"
    "      --beta1 X       adam only: in [0, 1) (default 0.9)\n"
    "      --beta2 X       adam only: in [0, 1) (default 0.999)\n"
    "      --eps X         adam only: > 0 (default 1e-8)\n"
    "      --inputs FILE   read params, optimizer state and inputs from safetensors\n"
    "      --seed N        seed for what --inputs does not give (default 0)\n"
    "  -o, --out FILE      write the final params and optimizer state (safetensors)\n"
    "      --json          print one JSON summary instead of the lines (progress\n"
    "                      goes to stderr)\n"
    "      --every K       print every K-th step (and always the first and last)\n"
    "\nSharded, under mpirun (docs/cli.md, \"partita train under mpirun\"):\n"
    "  -t, --tactics FILE  partition with this tactic script and run one MPI rank per\n"
    "                      device of its mesh (mpirun -n DEVICES); each rank makes\n"
    "                      only its own blocks of the params and data\n"
    "      --verify        rank 0 also runs the first two steps in the reference\n"
    "                      interpreter and stops with an error if they differ\n"
    "      --checkpoint-dir D  write D/checkpoint.safetensors (MPI-IO, atomic) at\n"
    "                      the end and every --checkpoint-every K steps\n"
    "      --resume        continue from D/checkpoint.safetensors, onto any mesh and\n"
    "                      script\n"
    "      --real-data     inputs from --seed as `run` makes them, instead of targets\n"
    "                      from a fixed random teacher (the default: learnable)\n"
    "      --inputs FILE   as above; each rank reads only its own blocks, and a\n"
    "                      tensor that is not an argument of train_step is an error\n"
    "      --profile FILE  time every op of the steps after the first (at most 10)\n"
    "                      on every rank and write one Chrome trace-event JSON file,\n"
    "                      a process per rank, as `partita sim --trace` writes\n"
    "  -h, --help          show this help\n\n"
    "Exit status: 0 success, 1 bad input or a runtime error, 2 bad usage.\n"};

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static json_t *json_num(double v) {
  /* JSON has no nan or inf: write them as strings, as `run --json` does */
  if (isnan(v))
    return json_string("nan");
  if (isinf(v))
    return json_string(v > 0 ? "inf" : "-inf");
  return json_real(v);
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static double median(const double *v, int64_t n) {
  double *s = pt_malloc((size_t)n * sizeof *s);
  memcpy(s, v, (size_t)n * sizeof *s);
  qsort(s, (size_t)n, sizeof *s, cmp_double);
  double m = n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
  pt_free(s);
  return m;
}

static const char *optim_name(pt_optim_kind k) {
  switch (k) {
  case PT_OPTIM_SGD:
    return "sgd";
  case PT_OPTIM_MOMENTUM:
    return "momentum";
  case PT_OPTIM_ADAM:
    return "adam";
  }
  PT_UNREACHABLE();
}

/* Initial values of train_step's arguments: from the inputs file, else the
 * loss function's seeded rule (specs[] taken before the pass touched the
 * module), else zero (optimizer state). NULL after reporting a mismatch. */
static pt_tensor **initial_args(const pt_func *ts, const pt_func *loss, const pt_init_spec *specs,
                                const pt_st_file *in, const char *inputs, pt_diag *d) {
  pt_tensor **args = pt_calloc((size_t)ts->nargs + 1, sizeof *args);
  bool bad = false;
  for (int i = 0; i < ts->nargs; i++) {
    const pt_value *a = ts->args[i];
    const pt_tensor *t = in ? pt_st_find(in, a->name) : NULL;
    const pt_value *la = pt_func_find_arg(loss, a->name);
    if (t && !pt_type_equal(&t->type, &a->type)) {
      char b1[PT_TYPE_STRLEN], b2[PT_TYPE_STRLEN];
      pt_diag_error(d, (pt_loc){inputs, 0, 0}, "tensor '%s' is %s but argument %%%s of @%s is %s",
                    a->name, pt_type_str(&t->type, b1, sizeof b1), a->name, ts->name,
                    pt_type_str(&a->type, b2, sizeof b2));
      bad = true;
    } else if (t) {
      args[i] = pt_tensor_clone(t);
    } else if (la) {
      args[i] = pt_init_tensor(&specs[la->arg_index], a->type);
    } else {
      args[i] = pt_tensor_create(a->type);
    }
  }
  for (int i = 0; in && i < pt_st_count(in); i++)
    bad |= !pt_cli_input_is_argument(ts, pt_st_name(in, i), inputs, d);
  if (!bad)
    return args;
  for (int i = 0; i < ts->nargs; i++)
    pt_tensor_destroy(args[i]);
  pt_free(args);
  return NULL;
}

static bool write_out(const char *outpath, const pt_func *ts, pt_tensor *const *args, int nupd,
                      const char *path, const pt_func *loss, const pt_optimizer *opt,
                      uint64_t steps, uint64_t seed, pt_diag *d) {
  const char **names = pt_calloc((size_t)nupd + 1, sizeof *names);
  for (int i = 0; i < nupd; i++)
    names[i] = ts->args[i]->name;
  char sb[32], seedb[32], lrb[40], mb[40], b1b[40], b2b[40], eb[40];
  snprintf(sb, sizeof sb, "%llu", (unsigned long long)steps);
  snprintf(seedb, sizeof seedb, "%llu", (unsigned long long)seed);
  pt_fmt_double(opt->lr, lrb, sizeof lrb);
  pt_fmt_double(opt->momentum, mb, sizeof mb);
  pt_fmt_double(opt->beta1, b1b, sizeof b1b);
  pt_fmt_double(opt->beta2, b2b, sizeof b2b);
  pt_fmt_double(opt->eps, eb, sizeof eb);
  const char *meta[20] = {"partita.func",      loss->name,
                          "partita.source",    path,
                          "partita.steps",     sb,
                          "partita.seed",      seedb,
                          "partita.optimizer", optim_name(opt->kind),
                          "partita.lr",        lrb};
  int nmeta = 6;
  if (opt->kind == PT_OPTIM_MOMENTUM) {
    meta[2 * nmeta] = "partita.momentum";
    meta[2 * nmeta++ + 1] = mb;
  }
  if (opt->kind == PT_OPTIM_ADAM) {
    const char *kv[] = {"partita.beta1", b1b, "partita.beta2", b2b, "partita.eps", eb};
    for (int k = 0; k < 3; k++) {
      meta[2 * nmeta] = kv[2 * k];
      meta[2 * nmeta++ + 1] = kv[2 * k + 1];
    }
  }
  pt_status st = pt_st_write(outpath, nupd, names, (const pt_tensor *const *)args, nmeta, meta, d);
  pt_free(names);
  return st == PT_OK;
}

static int run(int argc, char **argv) {
  if (pt_cli_wants_help(&pt_cmd_train, argc, argv))
    return PT_EXIT_OK;
  enum {
    OPT_STEPS = PT_CLI_OPT_NEXT,
    OPT_INPUTS,
    OPT_SEED,
    OPT_JSON,
    OPT_EVERY,
    OPT_VERIFY,
    OPT_CKPT_DIR,
    OPT_CKPT_EVERY,
    OPT_RESUME,
    OPT_REAL,
    OPT_PROFILE
  };
  static const struct option opts[] = {{"func", required_argument, 0, 'f'},
                                       {"out", required_argument, 0, 'o'},
                                       PT_CLI_OPTIM_OPTIONS,
                                       {"steps", required_argument, 0, OPT_STEPS},
                                       {"inputs", required_argument, 0, OPT_INPUTS},
                                       {"seed", required_argument, 0, OPT_SEED},
                                       {"json", no_argument, 0, OPT_JSON},
                                       {"every", required_argument, 0, OPT_EVERY},
                                       {"tactics", required_argument, 0, 't'},
                                       {"verify", no_argument, 0, OPT_VERIFY},
                                       {"checkpoint-dir", required_argument, 0, OPT_CKPT_DIR},
                                       {"checkpoint-every", required_argument, 0, OPT_CKPT_EVERY},
                                       {"resume", no_argument, 0, OPT_RESUME},
                                       {"real-data", no_argument, 0, OPT_REAL},
                                       {"profile", required_argument, 0, OPT_PROFILE},
                                       {0, 0, 0, 0}};
  const char *tactics = NULL, *ckpt_dir = NULL, *profile = NULL;
  uint64_t ckpt_every = 0;
  bool verify = false, resume = false, real_data = false;
  const char *func = NULL, *outpath = NULL, *inputs = NULL;
  pt_cli_optim_args oa = {0};
  uint64_t steps = 0, seed = 0, every = 1;
  bool have_steps = false, json = false;
  int c;
  opterr = 0;
  optind = 1;
  while ((c = getopt_long(argc, argv, "f:o:t:", opts, NULL)) != -1) {
    if (pt_cli_optim_take(&oa, c, optarg))
      continue;
    switch (c) {
    case 't':
      tactics = optarg;
      break;
    case OPT_VERIFY:
      verify = true;
      break;
    case OPT_CKPT_DIR:
      ckpt_dir = optarg;
      break;
    case OPT_CKPT_EVERY:
      if (!pt_cli_parse_u64(optarg, &ckpt_every) || ckpt_every < 1)
        return pt_cli_usage(&pt_cmd_train, "--checkpoint-every needs an integer >= 1, not '%s'",
                            optarg);
      break;
    case OPT_RESUME:
      resume = true;
      break;
    case OPT_REAL:
      real_data = true;
      break;
    case OPT_PROFILE:
      profile = optarg;
      break;
    case 'f':
      func = optarg;
      break;
    case 'o':
      outpath = optarg;
      break;
    case OPT_STEPS:
      if (!pt_cli_parse_u64(optarg, &steps) || steps < 1)
        return pt_cli_usage(&pt_cmd_train, "--steps needs an integer >= 1, not '%s'", optarg);
      have_steps = true;
      break;
    case OPT_INPUTS:
      inputs = optarg;
      break;
    case OPT_SEED:
      if (!pt_cli_parse_u64(optarg, &seed))
        return pt_cli_usage(&pt_cmd_train, "--seed needs a non-negative integer, not '%s'", optarg);
      break;
    case OPT_JSON:
      json = true;
      break;
    case OPT_EVERY:
      if (!pt_cli_parse_u64(optarg, &every) || every < 1)
        return pt_cli_usage(&pt_cmd_train, "--every needs an integer >= 1, not '%s'", optarg);
      break;
    default:
      return pt_cli_bad_option(&pt_cmd_train, argc, argv);
    }
  }
  if (optind >= argc)
    return pt_cli_usage(&pt_cmd_train, "no input file");
  if (argc - optind > 1)
    return pt_cli_usage(&pt_cmd_train, "train takes one file, got %d", argc - optind);
  pt_optimizer opt;
  int st = pt_cli_optimizer(&pt_cmd_train, &oa, &opt);
  if (st != PT_EXIT_OK)
    return st;
  if (!have_steps)
    return pt_cli_usage(&pt_cmd_train, "--steps is required");
  if (steps > 100000000)
    return pt_cli_usage(&pt_cmd_train, "--steps %llu is too many", (unsigned long long)steps);
  const char *path = argv[optind];
  if (!tactics && (verify || ckpt_dir || resume || ckpt_every || real_data))
    return pt_cli_usage(&pt_cmd_train, "--verify, --checkpoint-dir, --checkpoint-every, "
                                       "--resume and --real-data need --tactics");
  if (!tactics && profile)
    return pt_cli_usage(&pt_cmd_train,
                        "--profile needs --tactics (it times the ops of the "
                        "lowered program; the reference interpreter runs without it)");
  if ((resume || ckpt_every) && !ckpt_dir)
    return pt_cli_usage(&pt_cmd_train, "%s needs --checkpoint-dir",
                        resume ? "--resume" : "--checkpoint-every");
  if (tactics) {
    pt_train_dist_opts o = {.file = path,
                            .func = func,
                            .tactics = tactics,
                            .outpath = outpath,
                            .ckpt_dir = ckpt_dir,
                            .inputs = inputs,
                            .profile = profile,
                            .optimizer_name = oa.optimizer,
                            .opt = opt,
                            .steps = steps,
                            .seed = seed,
                            .every = every,
                            .ckpt_every = ckpt_every,
                            .json = json,
                            .verify = verify,
                            .resume = resume,
                            .synthetic = !real_data};
    return pt_cli_train_distributed(&o);
  }

  int status = PT_EXIT_INPUT;
  pt_diag *d = pt_diag_create(stderr);
  pt_module *m = pt_cli_load(path, d);
  pt_st_file *in = NULL;
  pt_init_spec *specs = NULL;
  pt_tensor **args = NULL, **results = NULL;
  double *losses = NULL, *secs = NULL;
  pt_func *f = m ? pt_cli_pick_func(m, func, "train") : NULL, *ts = NULL;
  if (!f)
    goto done;
  /* the initial values are those `run` gives the loss function's arguments,
   * fixed before any pass rewrites the module */
  specs = pt_calloc((size_t)f->nargs + 1, sizeof *specs);
  for (int i = 0; i < f->nargs; i++)
    specs[i] = pt_init_spec_for(f, f->args[i], seed);
  char tsname[64] = "train_step";
  for (int k = 2; pt_module_find_func(m, tsname); k++)
    snprintf(tsname, sizeof tsname, "train_step.%d", k);
  if (pt_pass_train_step(m, f->name, &opt, tsname, &ts, d) != PT_OK)
    goto done;
  if (inputs && !(in = pt_st_read(inputs, d)))
    goto done;
  if (!(args = initial_args(ts, f, specs, in, inputs, d)))
    goto done;
  /* results 0..nupd-1 are the next step's arguments 0..nupd-1 */
  int nupd = ts->nresults - 1;
  for (int i = 0; i < nupd; i++)
    PT_ASSERT(strcmp(ts->results[i].name, ts->args[i]->name) == 0);
  results = pt_calloc((size_t)ts->nresults, sizeof *results);
  losses = pt_calloc((size_t)steps, sizeof *losses);
  secs = pt_calloc((size_t)steps, sizeof *secs);
  FILE *progress = json ? stderr : stdout;
  int width = snprintf(NULL, 0, "%llu", (unsigned long long)steps);
  if (!json)
    printf("training @%s with %s (lr %g) for %llu step%s\n", f->name, optim_name(opt.kind), opt.lr,
           (unsigned long long)steps, steps == 1 ? "" : "s");
  int64_t first_bad = -1;
  for (uint64_t s = 0; s < steps; s++) {
    double t0 = now();
    if (pt_interp_run(ts, args, results, d) != PT_OK)
      goto done;
    secs[s] = now() - t0;
    for (int i = 0; i < nupd; i++) {
      pt_tensor_destroy(args[i]);
      args[i] = results[i];
      results[i] = NULL;
    }
    losses[s] = pt_tensor_get(results[nupd], 0);
    pt_tensor_destroy(results[nupd]);
    results[nupd] = NULL;
    if (!isfinite(losses[s]) && first_bad < 0)
      first_bad = (int64_t)s;
    if (s == 0 || s + 1 == steps || (s + 1) % every == 0) {
      fprintf(progress, "step %*llu  loss %-14.7g  %10.3f ms\n", width, (unsigned long long)s + 1,
              losses[s], secs[s] * 1e3);
      fflush(progress);
    }
  }
  double first = losses[0], final = losses[steps - 1];
  if (first_bad >= 0)
    pt_diag_report(d, PT_SEV_WARNING, PT_NOLOC, "the loss is %g at step %lld", losses[first_bad],
                   (long long)first_bad + 1);
  if (outpath && !write_out(outpath, ts, args, nupd, path, f, &opt, steps, seed, d))
    goto done;
  if (json) {
    json_t *root = json_object(), *ls = json_array();
    for (uint64_t s = 0; s < steps; s++)
      json_array_append_new(ls, json_num(losses[s]));
    json_object_set_new(root, "file", json_string(path));
    json_object_set_new(root, "func", json_string(f->name));
    json_object_set_new(root, "optimizer", json_string(optim_name(opt.kind)));
    json_object_set_new(root, "lr", json_real(opt.lr));
    json_object_set_new(root, "seed", json_integer((json_int_t)seed));
    json_object_set_new(root, "steps", json_integer((json_int_t)steps));
    json_object_set_new(root, "first_loss", json_num(first));
    json_object_set_new(root, "final_loss", json_num(final));
    json_object_set_new(root, "ratio", json_num(first / final));
    json_object_set_new(root, "median_step_seconds", json_real(median(secs, (int64_t)steps)));
    json_object_set_new(root, "losses", ls);
    json_dumpf(root, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(9));
    fputc('\n', stdout);
    json_decref(root);
  } else {
    printf("first loss %.7g, final loss %.7g, first/final %.4g; median step %.3f ms\n", first,
           final, first / final, median(secs, (int64_t)steps) * 1e3);
    if (outpath)
      printf("wrote %s\n", outpath);
  }
  status = PT_EXIT_OK;
done:
  if (args)
    for (int i = 0; i < ts->nargs; i++)
      pt_tensor_destroy(args[i]);
  if (results)
    for (int i = 0; i < ts->nresults; i++)
      pt_tensor_destroy(results[i]);
  pt_free(args);
  pt_free(results);
  pt_free(losses);
  pt_free(secs);
  pt_free(specs);
  pt_st_close(in);
  pt_module_destroy(m);
  pt_diag_destroy(d);
  return status;
}
