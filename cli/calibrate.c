/* `mpirun -n N partita calibrate -o HW.yaml`: measures this machine through
 * the runtime's own code paths and writes a hardware file (docs/hardware.md)
 * whose predictions match what `partita train` runs. The measuring, the fit
 * and the file are simulator/calibrate.h's; this file parses the options,
 * checks the launch and prints the progress. */
#include <fcntl.h>
#include <getopt.h>
#include <mpi.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cblas.h>

#include "calibrate.h"
#include "cli.h"
#include "mpi_coll.h"

static int run(int argc, char **argv);

const pt_command pt_cmd_calibrate = {
    "calibrate", run, "measure this machine and write a hardware file for sim (under mpirun)",
    "Usage: mpirun -n N partita calibrate -o HW.yaml [--quick] [--memory SIZE]\n"
    "                                     [--name NAME]\n\n"
    "Measures this machine the way `partita train` uses it -- one MPI rank per\n"
    "device -- and writes a hardware file for `partita sim` and `partita explore`\n"
    "(docs/hardware.md, \"Calibrating\"). Every figure is measured through the\n"
    "runtime's own code: the executor's dot (cblas_sgemm) and element-wise kernels,\n"
    "and its MPI collectives on communicators of 2..N ranks:\n"
    "  - GEMM rates at a grid of shapes (those of the shipped examples among them),\n"
    "    each over the three orientations a training step uses\n"
    "  - the element-wise rate from memory (add and mul, 256 B to 16 MiB, the rate\n"
    "    fitted to the sizes from 1 MiB) and the fixed cost of an op\n"
    "  - alpha and beta of all_gather, reduce_scatter, all_reduce, all_to_all and\n"
    "    collective_permute for each group size (the divisors of N and the powers\n"
    "    of two up to N), least squares over operands from 1 KiB to 16 MiB\n"
    "Each figure is the median of three passes over all of them, a pass's the\n"
    "median of repeats averaged over the ranks, which measure at once as in a\n"
    "training step (compute on at most one rank per core: devices.cores says how\n"
    "many). Rank 0 shows progress on stderr and writes the file atomically, its\n"
    "comments saying when, where, how busy the machine was and how well the lines\n"
    "fit. A full run takes about 30 s with 2 ranks here; run it on an idle machine,\n"
    "one rank per core, with OPENBLAS_NUM_THREADS as you train (1 when ranks fill\n"
    "the cores).\n\n"
    "Options:\n"
    "  -o, --out FILE     the hardware file to write (required)\n"
    "      --quick        a few points of each, one pass (a second; for tests)\n"
    "      --memory SIZE  devices.memory as given, like 8GiB (default: this node's\n"
    "                     RAM divided by the ranks running on it)\n"
    "      --name NAME    the machine's name in the file (default: this-machine)\n"
    "  -h, --help         show this help\n\n"
    "Exit status: 0 success, 1 an unwritable file, too few ranks or an MPI error,\n"
    "2 bad usage.\n"};

typedef struct {
  const char *out, *memory, *name;
  bool quick;
} opts;

static int parse_opts(int argc, char **argv, opts *o) {
  static const struct option lopts[] = {{"out", required_argument, 0, 'o'},
                                        {"quick", no_argument, 0, 'q'},
                                        {"memory", required_argument, 0, 'm'},
                                        {"name", required_argument, 0, 'n'},
                                        {0, 0, 0, 0}};
  *o = (opts){NULL, NULL, "this-machine", false};
  int ch;
  opterr = 0;
  optind = 1;
  while ((ch = getopt_long(argc, argv, "o:", lopts, NULL)) != -1) {
    switch (ch) {
    case 'o':
      o->out = optarg;
      break;
    case 'q':
      o->quick = true;
      break;
    case 'm': {
      double b;
      if (pt_sim_parse_size(optarg, &b) <= 0)
        return pt_cli_usage(&pt_cmd_calibrate,
                            "--memory needs a size like 8GiB or 512MB (units B, KiB, MiB, GiB, "
                            "TiB, KB, MB, GB, TB), not '%s'",
                            optarg);
      o->memory = optarg;
      break;
    }
    case 'n':
      if (!pt_calibrate_name_ok(optarg))
        return pt_cli_usage(&pt_cmd_calibrate,
                            "--name needs a name of letters, digits, '_', '-' and '.', not '%s'",
                            optarg);
      o->name = optarg;
      break;
    default:
      return pt_cli_bad_option(&pt_cmd_calibrate, argc, argv);
    }
  }
  if (optind < argc)
    return pt_cli_usage(&pt_cmd_calibrate, "calibrate takes no file arguments, got '%s'",
                        argv[optind]);
  if (!o->out)
    return pt_cli_usage(&pt_cmd_calibrate, "-o HW.yaml is required (the file to write)");
  return PT_EXIT_OK;
}

/* Every rank parses the same command line; only the first one says what is
 * wrong with it (MPI is not running yet, so no rank waits for another). */
static int parse_quietly(int argc, char **argv, opts *o) {
  int saved = -1;
  if (pt_mpi_launcher_rank() > 0) {
    fflush(stderr);
    saved = dup(2);
    int null = open("/dev/null", O_WRONLY);
    if (null >= 0) {
      dup2(null, 2);
      close(null);
    }
  }
  int status = parse_opts(argc, argv, o);
  if (saved >= 0) {
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
  }
  return status;
}

/* Rank 0's progress on stderr: what is measured and whether the cores are
 * oversubscribed, then one line per item. */
static void progress(void *ctx, const pt_calibrate_event *ev) {
  (void)ctx;
  if (ev->rank != 0)
    return;
  char line[512];
  pt_calibrate_event_str(ev, line, sizeof line);
  if (ev->kind != PT_CALIBRATE_STARTED) {
    fprintf(stderr, "calibrate: [%3d%%] %s\n", ev->total ? 100 * ev->done / ev->total : 100, line);
    return;
  }
  fprintf(stderr, "calibrate: %s\n", line);
  int per_node = ev->data->machine.per_node, threads = openblas_get_num_threads();
  long nproc = sysconf(_SC_NPROCESSORS_ONLN);
  if (threads > 1 && (long)per_node * threads > nproc)
    fprintf(stderr,
            "calibrate: warning: %d ranks x %d OpenBLAS threads on %ld cores: the GEMM rates "
            "will be those of oversubscribed cores; set OPENBLAS_NUM_THREADS=1 (for training "
            "too)\n",
            per_node, threads, nproc);
  else if (per_node > nproc)
    fprintf(stderr,
            "calibrate: warning: %d ranks on %ld cores: the collectives are measured on "
            "time-shared cores, as an oversubscribed `train` runs them, and are noisy (compute "
            "runs on one rank per core)\n",
            per_node, nproc);
}

/* Rank 0 fits and writes the file; true if it did. */
static bool write_file(const opts *o, const pt_calibrate_data *m, int argc, char **argv) {
  const pt_calibrate_machine *mc = &m->machine;
  if (mc->others >= 0.5)
    fprintf(stderr,
            "calibrate: warning: other processes competed for the cores (%.1f runnable on "
            "average besides the %d ranks, at most %.0f): the figures are pessimistic; "
            "calibrate again on an idle machine\n",
            mc->others, mc->per_node, mc->others_max);
  pt_diag *d = pt_diag_create(stderr);
  pt_calibrate_model R;
  pt_calibrate_file f = {o->name, o->memory, argc, argv};
  bool ok =
      pt_calibrate_fit(m, &R, d) == PT_OK && pt_calibrate_write_yaml(&R, &f, o->out, d) == PT_OK;
  if (ok) {
    const pt_calibrate_group *g0 = &R.groups[0]; /* fit[] by pt_calibrate_kinds */
    const pt_calibrate_line *ew = &R.elementwise, *ar = &g0->fit[2], *ag = &g0->fit[0];
    fprintf(stderr,
            "calibrate: wrote %s in %.1f s: element-wise %.1f GB/s + %.2f us per op; over "
            "%lld ranks all_reduce %.2f us + %.3f ns/byte, all_gather %.2f us + %.3f "
            "ns/byte\n",
            o->out, mc->seconds, 1e-9 / ew->beta, 1e6 * ew->alpha, (long long)g0->group,
            1e6 * ar->alpha, 1e9 * ar->beta, 1e6 * ag->alpha, 1e9 * ag->beta);
  }
  pt_calibrate_model_free(&R);
  pt_diag_destroy(d);
  return ok;
}

static int run(int argc, char **argv) {
  if (pt_cli_wants_help(&pt_cmd_calibrate, argc, argv))
    return PT_EXIT_OK;
  opts o;
  int status = parse_quietly(argc, argv, &o);
  if (status != PT_EXIT_OK)
    return status;
  int rank, size;
  pt_mpi_init();
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  status = PT_EXIT_INPUT;

  /* launch checks, all decided by rank 0 */
  int ok = 1;
  if (rank == 0) {
    long nproc = sysconf(_SC_NPROCESSORS_ONLN);
    if (size < 2) {
      fprintf(stderr,
              "partita calibrate: error: the links need at least 2 MPI ranks to measure; start "
              "it with mpirun -n N (one rank per core: mpirun -n %ld)\n",
              nproc > 1 ? nproc : 2);
      ok = 0;
    } else {
      pt_diag *d = pt_diag_create(stderr);
      ok = pt_calibrate_check_writable(o.out, d) == PT_OK;
      pt_diag_destroy(d);
    }
  }
  MPI_Bcast(&ok, 1, MPI_INT, 0, MPI_COMM_WORLD);
  if (ok) {
    pt_diag *d = pt_diag_create(NULL);
    pt_calibrate_opts co = {pt_calibrate_default_plan(o.quick), progress, NULL};
    pt_calibrate_data m;
    if (pt_calibrate_measure(&co, &m, d) == PT_OK) {
      ok = rank == 0 ? write_file(&o, &m, argc, argv) : 1;
      MPI_Bcast(&ok, 1, MPI_INT, 0, MPI_COMM_WORLD);
      if (ok)
        status = PT_EXIT_OK;
    } else {
      for (int i = 0; i < pt_diag_count(d); i++)
        fprintf(stderr, "partita calibrate (rank %d of %d): %s\n", rank, size,
                pt_diag_message(d, i));
    }
    pt_calibrate_data_free(&m);
    pt_diag_destroy(d);
  }
  MPI_Finalize();
  return status;
}
