/* From raw figures to the hardware model and its file (calibrate.h): the
 * medians over the passes, the alpha-beta and element-wise fits, and the
 * YAML that simulator/hw.c reads, with comments on how it was measured.
 * No MPI and no clock here: tests fit synthetic figures directly. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cblas.h>

#include "calibrate.h"

/* Operands of this many bytes and more stream from memory, as a step's
 * large tensors do: the element-wise rate is fitted to them. */
#define EW_FROM_MEMORY ((int64_t)1 << 20)

char *pt_calibrate_bytes_str(double b, char *buf, size_t cap) {
  static const char *const units[] = {"B", "KiB", "MiB", "GiB"};
  int u = 0;
  while (b >= 1024 && u < 3)
    b /= 1024, u++;
  snprintf(buf, cap, b == floor(b) ? "%.0f %s" : "%.1f %s", b, units[u]);
  return buf;
}

char *pt_calibrate_secs_str(double s, char *buf, size_t cap) {
  if (s < 1e-3)
    snprintf(buf, cap, "%.3g us", s * 1e6);
  else if (s < 1)
    snprintf(buf, cap, "%.3g ms", s * 1e3);
  else
    snprintf(buf, cap, "%.3g s", s);
  return buf;
}

bool pt_calibrate_name_ok(const char *s) {
  if (!*s || !((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || *s == '_'))
    return false;
  for (; *s; s++)
    if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
          *s == '_' || *s == '-' || *s == '.'))
      return false;
  return true;
}

/* ---- fitting ------------------------------------------------------------- */

/* The relative errors of line r at the points from..n-1. */
static void line_errors(pt_calibrate_line *r, const double *x, const double *t, int from, int n) {
  r->rms = r->max = 0;
  for (int i = from; i < n; i++) {
    double e = fabs(r->alpha + r->beta * x[i] - t[i]) / t[i];
    r->rms += e * e;
    r->max = e > r->max ? e : r->max;
  }
  r->rms = sqrt(r->rms / (n - from));
}

/* t = alpha + beta x by least squares on relative errors (weights 1/t^2),
 * so that small sizes (alpha) and large ones (beta) both count; alpha is
 * kept >= 0 and beta > 0. */
static pt_calibrate_line fit_ab(const double *x, const double *t, int n) {
  double s = 0, sx = 0, sxx = 0, st = 0, sxt = 0;
  for (int i = 0; i < n; i++) {
    double w = 1 / (t[i] * t[i]);
    s += w, sx += w * x[i], sxx += w * x[i] * x[i], st += w * t[i], sxt += w * x[i] * t[i];
  }
  pt_calibrate_line r = {0, 0, 0, 0};
  double det = s * sxx - sx * sx;
  if (det > 0) {
    r.alpha = (sxx * st - sx * sxt) / det;
    r.beta = (s * sxt - sx * st) / det;
  }
  if (r.alpha < 0 || det <= 0) {
    r.alpha = 0;
    r.beta = sxt / sxx;
  }
  if (r.beta <= 0) { /* flat: all latency */
    r.alpha = st / s;
    r.beta = 1e-18;
  }
  line_errors(&r, x, t, 0, n);
  return r;
}

/* The element-wise model (calibrate.h) from add and mul at each size (x:
 * bytes moved, t: seconds; two points per size, smallest size first). */
static pt_calibrate_line fit_elementwise(const double *x, const double *t, int n, double *faster) {
  double alpha = 0.5 * (t[0] + t[1]);
  int from = n - 2; /* the largest size, if none is large enough */
  while (from >= 2 && x[from - 2] >= 3.0 * EW_FROM_MEMORY)
    from -= 2;
  double sxx = 0, sxt = 0;
  for (int i = from; i < n; i++) {
    double w = 1 / (t[i] * t[i]);
    sxx += w * x[i] * x[i], sxt += w * x[i] * (t[i] - alpha);
  }
  pt_calibrate_line r = {alpha, sxt > 0 ? sxt / sxx : 1e-18, 0, 0};
  line_errors(&r, x, t, from, n);
  *faster = 1;
  for (int i = 2; i < from; i++)
    if ((r.alpha + r.beta * x[i]) / t[i] > *faster)
      *faster = (r.alpha + r.beta * x[i]) / t[i];
  return r;
}

/* The median over the passes of n items of k figures each, figure j of
 * item i in pass p at v[(i * passes + p) * k + j], into out[i * k + j]. */
static void medians(const double *v, int n, int k, int passes, double *out) {
  double *tmp = pt_malloc((size_t)passes * sizeof *tmp);
  for (int i = 0; i < n; i++)
    for (int j = 0; j < k; j++) {
      for (int p = 0; p < passes; p++)
        tmp[p] = v[((size_t)i * (size_t)passes + (size_t)p) * (size_t)k + (size_t)j];
      out[(size_t)i * (size_t)k + (size_t)j] = pt_calibrate_median(tmp, passes);
    }
  pt_free(tmp);
}

/* Whether every one of the n figures is a time that can be fitted. */
static bool fittable(const double *v, size_t n, const char *what, pt_diag *d) {
  for (size_t i = 0; i < n; i++)
    if (!(v[i] > 0) || !isfinite(v[i])) {
      pt_diag_error(d, PT_NOLOC, "calibrate: cannot fit %s figure %zu: %g s is no time", what, i,
                    v[i]);
      return false;
    }
  return true;
}

/* The GEMM rates, each orientation's time less the op overhead (at most
 * half of it). */
static void gemm_rates(pt_calibrate_model *r) {
  double ov = r->elementwise.alpha;
  for (int i = 0; i < r->plan.ngemm; i++) {
    const int64_t *s = r->plan.gemm[i];
    double flops = 2.0 * (double)s[0] * (double)s[1] * (double)s[2], tot = 0;
    for (int o = 0; o < 3; o++) {
      double t = r->gemm_secs[i][o], ts = t - ov > 0.5 * t ? t - ov : 0.5 * t;
      tot += ts;
      r->gemm_rates[i][o] = flops / ts;
    }
    r->gemm_rate[i] = 3 * flops / tot;
  }
}

pt_status pt_calibrate_fit(const pt_calibrate_data *m, pt_calibrate_model *out, pt_diag *d) {
  *out = (pt_calibrate_model){0};
  const pt_calibrate_plan *p = &m->plan;
  size_t passes = (size_t)p->passes, ncoll = (size_t)p->ncoll;
  if (!fittable(m->ew, 2 * (size_t)p->nelem * passes, "an element-wise", d) ||
      !fittable(m->gemm, 3 * (size_t)p->ngemm * passes, "a GEMM", d) ||
      !fittable(m->fn, (size_t)pt_sim_nelement_ops * passes, "a function op's", d) ||
      !fittable(m->coll, (size_t)m->ngroups * PT_CALIBRATE_NKINDS * ncoll * passes,
                "a collective's", d))
    return PT_ERR;
  out->plan = *p;
  out->machine = m->machine;
  out->ew_secs = pt_calloc((size_t)p->nelem, sizeof *out->ew_secs);
  out->gemm_secs = pt_calloc((size_t)p->ngemm, sizeof *out->gemm_secs);
  out->gemm_rate = pt_calloc((size_t)p->ngemm, sizeof *out->gemm_rate);
  out->gemm_rates = pt_calloc((size_t)p->ngemm, sizeof *out->gemm_rates);
  out->fn_secs = pt_calloc((size_t)pt_sim_nelement_ops, sizeof *out->fn_secs);
  medians(m->ew, p->nelem, 2, p->passes, out->ew_secs[0]);
  medians(m->gemm, p->ngemm, 3, p->passes, out->gemm_secs[0]);
  medians(m->fn, pt_sim_nelement_ops, 1, p->passes, out->fn_secs);

  double *ex = pt_malloc(2 * (size_t)p->nelem * sizeof *ex);
  for (int i = 0; i < p->nelem; i++)
    ex[2 * i] = ex[2 * i + 1] = 3.0 * (double)p->ew[i];
  out->elementwise = fit_elementwise(ex, out->ew_secs[0], 2 * p->nelem, &out->ew_faster);
  pt_free(ex);
  gemm_rates(out);

  out->ngroups = m->ngroups;
  out->groups = pt_calloc((size_t)m->ngroups, sizeof *out->groups);
  for (int g = 0; g < m->ngroups; g++) {
    pt_calibrate_group *gr = &out->groups[g];
    gr->group = m->groups[g];
    gr->bytes = pt_malloc(ncoll * sizeof *gr->bytes);
    memcpy(gr->bytes, m->coll_bytes + (size_t)g * ncoll, ncoll * sizeof *gr->bytes);
    for (int k = 0; k < PT_CALIBRATE_NKINDS; k++) {
      gr->secs[k] = pt_malloc(ncoll * sizeof *gr->secs[k]);
      medians(pt_calibrate_coll(m, g, k, 0, 0), p->ncoll, 1, p->passes, gr->secs[k]);
      gr->fit[k] = fit_ab(gr->bytes, gr->secs[k], p->ncoll);
    }
  }
  return PT_OK;
}

void pt_calibrate_model_free(pt_calibrate_model *m) {
  for (int g = 0; g < m->ngroups; g++) {
    pt_free(m->groups[g].bytes);
    for (int k = 0; k < PT_CALIBRATE_NKINDS; k++)
      pt_free(m->groups[g].secs[k]);
  }
  pt_free(m->groups);
  pt_free(m->ew_secs);
  pt_free(m->gemm_secs);
  pt_free(m->gemm_rate);
  pt_free(m->gemm_rates);
  pt_free(m->fn_secs);
  *m = (pt_calibrate_model){0};
}

/* ---- the file ------------------------------------------------------------ */

/* "  key: value" (printf-style) with a comment, the comments in one column. */
static void kv(FILE *f, const char *comment, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void kv(FILE *f, const char *comment, const char *fmt, ...) {
  char buf[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  fprintf(f, "%-27s # %s\n", buf, comment);
}

/* An argument as a shell would need it quoted. */
static void shell_arg(FILE *f, const char *a) {
  bool plain = *a != 0;
  for (const char *p = a; *p; p++)
    plain &= strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./=:,+-@%",
                    *p) != NULL;
  if (plain) {
    fprintf(f, " %s", a);
    return;
  }
  fputs(" '", f);
  for (const char *p = a; *p; p++)
    fputs(*p == '\'' ? "'\\''" : (char[2]){*p, 0}, f);
  fputc('\'', f);
}

/* %.4g, never "0" for a positive figure the reader needs positive. */
static char *num(double v, char *buf, size_t cap) {
  snprintf(buf, cap, "%.4g", v);
  return buf;
}

/* The comments on when, where and how, then name and devices' count,
 * cores and memory. */
static void write_header(FILE *f, const pt_calibrate_model *R, const pt_calibrate_file *F) {
  const pt_calibrate_machine *M = &R->machine;
  char date[64], host[256] = "?", model[256], s1[32];
  time_t t = time(NULL);
  strftime(date, sizeof date, "%Y-%m-%d %H:%M %Z", localtime(&t));
  gethostname(host, sizeof host - 1);
  pt_cpu_model(model, sizeof model);
  const char *coretype = getenv("OPENBLAS_CORETYPE"), *threads = getenv("OPENBLAS_NUM_THREADS");
  fprintf(f,
          "# Measured by `partita calibrate` (docs/hardware.md, \"Calibrating\"):\n"
          "#   mpirun -n %d partita",
          M->ranks);
  for (int i = 0; i < F->argc; i++)
    shell_arg(f, F->argv[i]);
  fprintf(f, "\n# on %s, host %s: nproc %ld, cpu \"%s\", %d rank%s on %d node%s, in %.0f s.\n",
          date, host, sysconf(_SC_NPROCESSORS_ONLN), model, M->ranks, M->ranks == 1 ? "" : "s",
          M->nodes, M->nodes == 1 ? "" : "s", M->seconds);
  fprintf(f,
          "# %s\n#   (kernels %s, %d thread%s); OPENBLAS_CORETYPE %s, OPENBLAS_NUM_THREADS %s.\n",
          openblas_get_config(), openblas_get_corename(), openblas_get_num_threads(),
          openblas_get_num_threads() == 1 ? "" : "s", coretype ? coretype : "unset",
          threads ? threads : "unset");
  fprintf(f,
          "# Every figure is measured through the runtime (runtime/exec.c, runtime/mpi_coll.c)\n"
          "# with the ranks busy at once, as in a training step: the median of %d pass%s, a\n"
          "# pass's the median of repeats on each rank, averaged over the ranks.%s\n",
          R->plan.passes, R->plan.passes == 1 ? "" : "es",
          R->plan.quick ? "\n# QUICK RUN (--quick): a few points only, for tests." : "");
  fprintf(f, "# Other processes runnable while measuring: %.1f on average, at most %.0f%s\n",
          M->others, M->others_max,
          M->others >= 0.5 ? " -- the machine was busy: these figures are pessimistic." : ".");
  fprintf(f, "name: %s\ndevices:\n", F->name);
  kv(f, "left out, so that larger meshes can be simulated", "  # count: %d", M->ranks);
  kv(f, "a mesh of more devices time-shares them", "  cores: %ld", M->cores);
  if (F->memory) {
    kv(f, "as given (--memory)", "  memory: %s", F->memory);
  } else {
    double ram = (double)sysconf(_SC_PHYS_PAGES) * (double)sysconf(_SC_PAGESIZE);
    char why[96];
    snprintf(why, sizeof why, "%s of RAM / %d rank%s on this node",
             pt_calibrate_bytes_str(ram, s1, sizeof s1), M->per_node, M->per_node == 1 ? "" : "s");
    kv(f, why, "  memory: %lldMiB", (long long)(ram / M->per_node / 1048576.0));
  }
}

/* devices: the GEMM rates, the element-wise model and element_ns. */
static void write_compute(FILE *f, const pt_calibrate_model *R) {
  char a[32], b[32], s1[32];
  fprintf(f, "  # GFLOP/s of the executor's dot (cblas_sgemm) at each shape m x k by k x n: the\n"
             "  # three orientations a training step has (A.B, A.B^T, A^T.B) by their total time,\n"
             "  # less op_overhead_us; each one's own rate in the comment.\n"
             "  gemm:\n");
  for (int i = 0; i < R->plan.ngemm; i++) {
    const int64_t *s = R->plan.gemm[i];
    char line[160];
    snprintf(line, sizeof line, "    - {m: %lld, n: %lld, k: %lld, gflops: %s}", (long long)s[0],
             (long long)s[1], (long long)s[2], num(R->gemm_rate[i] / 1e9, a, sizeof a));
    fprintf(f, "%-56s # %.1f, %.1f, %.1f\n", line, R->gemm_rates[i][0] / 1e9,
            R->gemm_rates[i][1] / 1e9, R->gemm_rates[i][2] / 1e9);
  }
  fprintf(f, "  # add and mul of two vectors (each moves 3x its operand's bytes), inputs rotating\n"
             "  # over 64 MiB; measured:\n");
  for (int i = 0; i < R->plan.nelem; i++)
    fprintf(f, "  #   %-8s add %-9s mul %s\n",
            pt_calibrate_bytes_str((double)R->plan.ew[i], s1, sizeof s1),
            pt_calibrate_secs_str(R->ew_secs[i][0], a, sizeof a),
            pt_calibrate_secs_str(R->ew_secs[i][1], b, sizeof b));
  const pt_calibrate_line *ew = &R->elementwise;
  fprintf(f,
          "  # The rate is fitted to the operands of 1 MiB and more, which stream from memory\n"
          "  # as a step's large tensors do (fit error rms %.1f%%, max %.1f%%); the overhead is\n"
          "  # the smallest ops' time. Operands between, served from the caches, ran up to\n"
          "  # %.1fx faster than the line.\n",
          100 * ew->rms, 100 * ew->max, R->ew_faster);
  fprintf(f, "  elementwise_gbps: %s\n", num(1e-9 / ew->beta, a, sizeof a));
  fprintf(f, "  op_overhead_us: %s\n", num(ew->alpha * 1e6, a, sizeof a));
  fprintf(f,
          "  # Nanoseconds per element of the ops bound by computing, not by memory (the C\n"
          "  # library's functions; reductions of a last dimension of 512), each measured over\n"
          "  # %lld elements; the simulator charges an op or fused loop the longer of its\n"
          "  # memory traffic and these.\n"
          "  element_ns:\n",
          (long long)R->plan.fn_n);
  for (int k = 0; k < pt_sim_nelement_ops; k++)
    fprintf(f, "    %s: %s\n", pt_op_name(pt_sim_element_ops[k]),
            num(R->fn_secs[k] / (double)R->plan.fn_n * 1e9, a, sizeof a));
}

/* links and axes: one link, shm or net, with every collective's table. */
static void write_links(FILE *f, const pt_calibrate_model *R) {
  char a[32], b[32], s1[32], s2[32];
  const char *link = R->machine.nodes == 1 ? "shm" : "net";
  const pt_calibrate_group *g0 = &R->groups[0];
  const pt_calibrate_line *p2p = &g0->fit[PT_CALIBRATE_NKINDS - 1];
  int ncoll = R->plan.ncoll;
  fprintf(f,
          "links:\n  # Open MPI between the ranks%s. A collective takes alpha + beta x\n"
          "  # its operand's bytes on one device, fitted by least squares on the relative\n"
          "  # error to operands of %s to %s; the point-to-point model is\n"
          "  # collective_permute's over %lld ranks (one message each way).\n",
          R->machine.nodes == 1 ? " over shared memory" : "",
          pt_calibrate_bytes_str((double)R->plan.coll[0], s1, sizeof s1),
          pt_calibrate_bytes_str((double)R->plan.coll[ncoll - 1], s2, sizeof s2),
          (long long)g0->group);
  fprintf(f, "  %s:\n    alpha_us: %s\n    beta_ns_per_byte: %s\n    collectives:\n", link,
          num(p2p->alpha * 1e6, a, sizeof a), num(p2p->beta * 1e9, b, sizeof b));
  for (int k = 0; k < PT_CALIBRATE_NKINDS; k++) {
    fprintf(f, "      %s:\n", pt_sim_kind_name(pt_calibrate_kinds[k]));
    for (int gi = 0; gi < R->ngroups; gi++) {
      const pt_calibrate_group *g = &R->groups[gi];
      const pt_calibrate_line *ft = &g->fit[k];
      fprintf(f, "        # measured:");
      for (int i = 0; i < ncoll; i++)
        fprintf(f, "%s %s %s", i ? "," : "", pt_calibrate_bytes_str(g->bytes[i], s1, sizeof s1),
                pt_calibrate_secs_str(g->secs[k][i], s2, sizeof s2));
      fprintf(f,
              "\n        %lld: {alpha_us: %s, beta_ns_per_byte: %s}   # fit error rms %.1f%%, "
              "max %.1f%%\n",
              (long long)g->group, num(ft->alpha * 1e6, a, sizeof a),
              num(ft->beta * 1e9, b, sizeof b), 100 * ft->rms, 100 * ft->max);
    }
  }
  fprintf(f, "axes:\n");
  kv(f, "every mesh axis", "  default: %s", link);
}

char *pt_calibrate_yaml(const pt_calibrate_model *m, const pt_calibrate_file *f) {
  char *text = NULL;
  size_t len = 0;
  FILE *out = open_memstream(&text, &len);
  PT_ASSERT(out);
  write_header(out, m, f);
  write_compute(out, m);
  write_links(out, m);
  fclose(out);
  /* what is written must read back: a failure here is a bug */
  pt_diag *check = pt_diag_create(stderr);
  pt_sim_hw *hw = pt_sim_hw_parse(text, len, "<calibrate>", check);
  PT_ASSERT(hw);
  pt_sim_hw_destroy(hw);
  pt_diag_destroy(check);
  char *copy = pt_strdup(text);
  free(text);
  return copy;
}

pt_status pt_calibrate_write_yaml(const pt_calibrate_model *m, const pt_calibrate_file *f,
                                  const char *path, pt_diag *d) {
  char *text = pt_calibrate_yaml(m, f);
  bool ok = pt_write_file_atomic(path, text, d);
  pt_free(text);
  return ok ? PT_OK : PT_ERR;
}

pt_status pt_calibrate_check_writable(const char *path, pt_diag *d) {
  struct stat st;
  if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
    pt_diag_error(d, (pt_loc){path, 0, 0, NULL}, "cannot write: it is a directory");
    return PT_ERR;
  }
  size_t len = strlen(path) + 32;
  char *tmp = pt_malloc(len);
  snprintf(tmp, len, "%s.tmp.%ld", path, (long)getpid());
  int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL, 0644);
  int err = errno;
  if (fd >= 0) {
    close(fd);
    unlink(tmp);
  } else {
    pt_diag_error(d, (pt_loc){path, 0, 0, NULL}, "cannot write: %s", strerror(err));
  }
  pt_free(tmp);
  return fd >= 0 ? PT_OK : PT_ERR;
}
