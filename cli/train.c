/* `partita train FILE`: N training steps, feeding each step's updated
 * params and optimizer state into the next -- in the reference interpreter,
 * one process, or with --tactics under mpirun (cli/train_run.c). The loop
 * is runtime/train.h's; this file parses the options, cli/train_run.c
 * runs and prints. */
#include <getopt.h>

#include "cli.h"
#include "train_run.h"

static int run(int argc, char **argv);

const pt_command pt_cmd_train = {
    "train", run, "train a loss for N steps in the reference interpreter",
    "Usage: partita train FILE --optimizer sgd|momentum|adam --steps N\n"
    "                     [--func NAME] [--lr X] [--momentum X] [--beta1 X]\n"
    "                     [--beta2 X] [--eps X] [--inputs IN.safetensors]\n"
    "                     [--seed N] [--out OUT.safetensors] [--json] [--every K]\n"
    "                     [--check-numerics]\n"
    "       mpirun -n N partita train FILE --tactics T.yaml --optimizer ... --steps S\n"
    "                     [--verify] [--checkpoint-dir D [--checkpoint-every K]]\n"
    "                     [--resume] [--real-data] [--inputs IN.safetensors]\n"
    "                     [--profile TRACE.json] [--timeout S]\n\n"
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
    "      --check-numerics  after each step also check every updated param and\n"
    "                      optimizer state for nan and inf (a nan or inf loss always\n"
    "                      stops training, before the step's state is written)\n"
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
    "      --timeout S     a rank that waits S seconds for the others (in a collective,\n"
    "                      the barrier before a step, a checkpoint) or computes one\n"
    "                      step for S seconds says what it waits in and for which\n"
    "                      ranks, and the job ends (exit 1); 0: no limit (default 600)\n"
    "  -h, --help          show this help\n\n"
    "Exit status: 0 success, 1 bad input or a runtime error, 2 bad usage.\n"};

/* Reads the options into *a (and the optimizer's into *oa); -1 when they
 * parse, else the exit status after the usage message. */
static int parse(int argc, char **argv, pt_cli_train_args *a, pt_cli_optim_args *oa,
                 bool *real_data, bool *timeout_given) {
  enum {
    STEPS = PT_CLI_OPT_NEXT,
    INPUTS,
    SEED,
    JSON,
    EVERY,
    VERIFY,
    DIR,
    CEVERY,
    RESUME,
    REAL,
    PROF,
    TIMEOUT,
    NUMERICS
  };
  static const struct option opts[] = {{"func", required_argument, 0, 'f'},
                                       {"out", required_argument, 0, 'o'},
                                       PT_CLI_OPTIM_OPTIONS,
                                       {"steps", required_argument, 0, STEPS},
                                       {"inputs", required_argument, 0, INPUTS},
                                       {"seed", required_argument, 0, SEED},
                                       {"json", no_argument, 0, JSON},
                                       {"every", required_argument, 0, EVERY},
                                       {"tactics", required_argument, 0, 't'},
                                       {"verify", no_argument, 0, VERIFY},
                                       {"checkpoint-dir", required_argument, 0, DIR},
                                       {"checkpoint-every", required_argument, 0, CEVERY},
                                       {"resume", no_argument, 0, RESUME},
                                       {"real-data", no_argument, 0, REAL},
                                       {"profile", required_argument, 0, PROF},
                                       {"timeout", required_argument, 0, TIMEOUT},
                                       {"check-numerics", no_argument, 0, NUMERICS},
                                       {0, 0, 0, 0}};
  pt_train_opts *t = &a->t;
  int c;
  opterr = 0;
  optind = 1;
  while ((c = getopt_long(argc, argv, "f:o:t:", opts, NULL)) != -1) {
    if (pt_cli_optim_take(oa, c, optarg))
      continue;
    /* the integer options: where each goes and its least value */
    uint64_t *u = c == STEPS    ? &t->steps
                  : c == SEED   ? &t->seed
                  : c == EVERY  ? &a->every
                  : c == CEVERY ? &t->ckpt_every
                                : NULL;
    const char *name = c == STEPS ? "--steps" : c == EVERY ? "--every" : "--checkpoint-every";
    if (u && c != SEED && (!pt_cli_parse_u64(optarg, u) || *u < 1))
      return pt_cli_usage(&pt_cmd_train, "%s needs an integer >= 1, not '%s'", name, optarg);
    if (u && c == SEED && !pt_cli_parse_u64(optarg, u))
      return pt_cli_usage(&pt_cmd_train, "--seed needs a non-negative integer, not '%s'", optarg);
    if (u)
      continue;
    switch (c) {
    case 't':
      t->tactics = optarg;
      break;
    case VERIFY:
      t->verify = true;
      break;
    case DIR:
      t->ckpt_dir = optarg;
      break;
    case RESUME:
      t->resume = true;
      break;
    case REAL:
      *real_data = true;
      break;
    case PROF:
      t->profile = optarg;
      break;
    case NUMERICS:
      t->check_numerics = true;
      break;
    case TIMEOUT:
      if (!pt_cli_parse_double(optarg, &t->timeout_s) || t->timeout_s < 0)
        return pt_cli_usage(&pt_cmd_train, "--timeout needs seconds >= 0 (0: no limit), not "
                            "'%s'", optarg);
      *timeout_given = true;
      break;
    case 'f':
      a->func = optarg;
      break;
    case 'o':
      t->out = optarg;
      break;
    case INPUTS:
      t->inputs = optarg;
      break;
    case JSON:
      a->json = true;
      break;
    default:
      return pt_cli_bad_option(&pt_cmd_train, argc, argv);
    }
  }
  return -1;
}

static int run(int argc, char **argv) {
  if (pt_cli_wants_help(&pt_cmd_train, argc, argv))
    return PT_EXIT_OK;
  pt_cli_train_args a = {.every = 1};
  pt_cli_optim_args oa = {0};
  bool real_data = false, timeout_given = false;
  a.t.timeout_s = 600; /* a rank that stops answering ends the job in 10 minutes */
  int st = parse(argc, argv, &a, &oa, &real_data, &timeout_given);
  if (st >= 0)
    return st;
  pt_train_opts *t = &a.t;
  if (optind >= argc)
    return pt_cli_usage(&pt_cmd_train, "no input file");
  if (argc - optind > 1)
    return pt_cli_usage(&pt_cmd_train, "train takes one file, got %d", argc - optind);
  if ((st = pt_cli_optimizer(&pt_cmd_train, &oa, &t->opt)) != PT_EXIT_OK)
    return st;
  if (!t->steps)
    return pt_cli_usage(&pt_cmd_train, "--steps is required");
  if (t->steps > 100000000)
    return pt_cli_usage(&pt_cmd_train, "--steps %llu is too many", (unsigned long long)t->steps);
  a.file = argv[optind];
  if (!t->tactics && (t->verify || t->ckpt_dir || t->resume || t->ckpt_every || real_data))
    return pt_cli_usage(&pt_cmd_train, "--verify, --checkpoint-dir, --checkpoint-every, "
                                       "--resume and --real-data need --tactics");
  if (!t->tactics && timeout_given)
    return pt_cli_usage(&pt_cmd_train, "--timeout needs --tactics (it watches the ranks of a "
                                       "distributed run)");
  if (!t->tactics && t->profile)
    return pt_cli_usage(&pt_cmd_train,
                        "--profile needs --tactics (it times the ops of the "
                        "lowered program; the reference interpreter runs without it)");
  if ((t->resume || t->ckpt_every) && !t->ckpt_dir)
    return pt_cli_usage(&pt_cmd_train, "%s needs --checkpoint-dir",
                        t->resume ? "--resume" : "--checkpoint-every");
  /* the teacher's targets, unless --real-data (distributed runs only) */
  if (t->tactics && !real_data)
    t->data = PT_TRAIN_DATA_TEACHER;
  return t->tactics ? pt_cli_train_distributed(&a) : pt_cli_train_one_rank(&a);
}
