/* Calibration as library code (simulator/calibrate.h), without MPI: the fit
 * recovers the parameters of synthetic figures made from known lines (a
 * pass spoilt by a slow spell of the machine left out by the median), keeps
 * alpha >= 0 and beta > 0, the file it writes reads back with the fitted
 * figures, and figures it cannot fit are errors, not nans in a file. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "calibrate.h"
#include "testutil.h"

static const int64_t gemm_shapes[][3] = {{64, 64, 64}, {256, 512, 128}};
static const int64_t ew_sizes[] = {256, 4096, 65536, 1048576, 4194304, 16777216};
static const int64_t coll_sizes[] = {1024, 65536, 1048576, 16777216};

/* The true parameters of the synthetic machine. */
#define OVERHEAD 2e-6                        /* seconds per element-wise op */
#define EW_BETA (1 / 20e9)                   /* seconds per byte moved: 20 GB/s */
#define CACHE_FASTER 2.5                     /* sizes under 1 MiB beat the line by this */
#define SPOILT 10.0                          /* pass 1 of every item ran this much slower */
static double gemm_true_rate(int i, int o) { /* flop/s */
  static const double scale[3] = {1.0, 0.8, 1.25};
  return (i ? 80e9 : 50e9) * scale[o];
}
static double fn_true_ns(int k) {
  return 0.5 * (k + 1);
}
static double coll_true_alpha(int g, int k) {
  return (1 + k) * 1e-6 * (g + 1);
}
static double coll_true_beta(int g, int k) {
  return (k + 1) * 0.1e-9 * (g + 2);
}

static pt_calibrate_plan test_plan(void) {
  return (pt_calibrate_plan){.gemm = gemm_shapes,
                             .ngemm = 2,
                             .ew = ew_sizes,
                             .nelem = 6,
                             .fn_n = 4096,
                             .coll = coll_sizes,
                             .ncoll = 4,
                             .passes = 3,
                             .runs = 3,
                             .target = 0.01,
                             .max_reps = 10};
}

/* ok when got is within rel of want. */
static bool near(double got, double want, double rel) {
  return fabs(got - want) <= rel * fabs(want);
}

/* Figures from the true lines on 4 ranks (groups of 2 and 4), every item's
 * pass 1 SPOILT times slower. */
static void synthetic(pt_calibrate_data *m) {
  pt_calibrate_plan plan = test_plan();
  pt_diag *d = pt_diag_create(stderr);
  ck_assert_int_eq(pt_calibrate_data_init(m, &plan, 4, d), PT_OK);
  pt_diag_destroy(d);
  m->machine = (pt_calibrate_machine){4, 1, 4, 4, 12.0, 0.2, 1};
  for (int p = 0; p < plan.passes; p++) {
    double slow = p == 1 ? SPOILT : 1;
    for (int i = 0; i < plan.nelem; i++) {
      double x = 3.0 * (double)plan.ew[i], t = OVERHEAD + EW_BETA * x;
      if (i == 0)
        t = OVERHEAD; /* next to no work: the overhead alone */
      else if (plan.ew[i] < ((int64_t)1 << 20))
        t /= CACHE_FASTER;
      pt_calibrate_ew(m, i, p)[0] = pt_calibrate_ew(m, i, p)[1] = slow * t;
    }
    for (int i = 0; i < plan.ngemm; i++) {
      const int64_t *s = plan.gemm[i];
      double flops = 2.0 * (double)s[0] * (double)s[1] * (double)s[2];
      for (int o = 0; o < 3; o++)
        pt_calibrate_gemm(m, i, p)[o] = slow * (OVERHEAD + flops / gemm_true_rate(i, o));
    }
    for (int k = 0; k < pt_sim_nelement_ops; k++)
      *pt_calibrate_fn(m, k, p) = slow * fn_true_ns(k) * 1e-9 * (double)plan.fn_n;
    for (int g = 0; g < m->ngroups; g++)
      for (int k = 0; k < PT_CALIBRATE_NKINDS; k++)
        for (int i = 0; i < plan.ncoll; i++) {
          double bytes = m->coll_bytes[g * plan.ncoll + i];
          *pt_calibrate_coll(m, g, k, i, p) =
              slow * (coll_true_alpha(g, k) + coll_true_beta(g, k) * bytes);
        }
  }
}

static void fit_ok(const pt_calibrate_data *m, pt_calibrate_model *r) {
  pt_diag *d = pt_diag_create(stderr);
  ck_assert_int_eq(pt_calibrate_fit(m, r, d), PT_OK);
  pt_diag_destroy(d);
}

START_TEST(fit_recovers_known_parameters) {
  pt_calibrate_data m;
  synthetic(&m);
  ck_assert_int_eq(m.ngroups, 2);
  ck_assert_int_eq(m.groups[0], 2);
  ck_assert_int_eq(m.groups[1], 4);
  pt_calibrate_model r;
  fit_ok(&m, &r);

  const pt_calibrate_line *ew = &r.elementwise;
  ck_assert_msg(near(ew->alpha, OVERHEAD, 1e-12), "overhead %g, want %g", ew->alpha, OVERHEAD);
  ck_assert_msg(near(ew->beta, EW_BETA, 1e-9), "element-wise beta %g, want %g", ew->beta, EW_BETA);
  ck_assert_msg(ew->rms < 1e-9 && ew->max < 1e-9, "element-wise errors %g %g", ew->rms, ew->max);
  ck_assert_msg(near(r.ew_faster, CACHE_FASTER, 1e-9), "cache speed-up %g", r.ew_faster);

  for (int i = 0; i < r.plan.ngemm; i++) {
    const int64_t *s = gemm_shapes[i];
    double flops = 2.0 * (double)s[0] * (double)s[1] * (double)s[2], tot = 0;
    for (int o = 0; o < 3; o++) {
      ck_assert_msg(near(r.gemm_rates[i][o], gemm_true_rate(i, o), 1e-9),
                    "gemm %d orientation %d: %g flop/s, want %g", i, o, r.gemm_rates[i][o],
                    gemm_true_rate(i, o));
      tot += flops / gemm_true_rate(i, o);
    }
    ck_assert_msg(near(r.gemm_rate[i], 3 * flops / tot, 1e-9), "gemm %d: %g flop/s", i,
                  r.gemm_rate[i]);
  }
  for (int k = 0; k < pt_sim_nelement_ops; k++)
    ck_assert_msg(near(r.fn_secs[k] / (double)r.plan.fn_n * 1e9, fn_true_ns(k), 1e-9), "%s: %g ns",
                  pt_op_name(pt_sim_element_ops[k]), r.fn_secs[k] / (double)r.plan.fn_n * 1e9);

  ck_assert_int_eq(r.ngroups, 2);
  for (int g = 0; g < r.ngroups; g++)
    for (int k = 0; k < PT_CALIBRATE_NKINDS; k++) {
      const pt_calibrate_line *f = &r.groups[g].fit[k];
      const char *name = pt_sim_kind_name(pt_calibrate_kinds[k]);
      ck_assert_msg(near(f->alpha, coll_true_alpha(g, k), 1e-6), "%s over %lld: alpha %g, want %g",
                    name, (long long)r.groups[g].group, f->alpha, coll_true_alpha(g, k));
      ck_assert_msg(near(f->beta, coll_true_beta(g, k), 1e-9), "%s over %lld: beta %g, want %g",
                    name, (long long)r.groups[g].group, f->beta, coll_true_beta(g, k));
      ck_assert_msg(f->rms < 1e-9 && f->max < 1e-9, "%s: errors %g %g", name, f->rms, f->max);
    }
  pt_calibrate_model_free(&r);
  pt_calibrate_data_free(&m);
}
END_TEST

/* How the collectives' line behaves at its edges: every figure of
 * all_gather over 2 ranks made by the case. */
typedef struct {
  const char *name;
  double alpha, beta; /* the figures' line */
  double noise;       /* relative, alternating in sign */
  /* what the fit must give: alpha within alpha_tol (relative; absolute when
   * want_alpha is 0), beta in [beta_lo, beta_hi], rms in [rms_lo, rms_hi] */
  double want_alpha, alpha_tol, beta_lo, beta_hi, rms_lo, rms_hi;
} line_case;

static const line_case line_cases[] = {
    {"exact", 3e-6, 0.2e-9, 0, 3e-6, 1e-9, 0.2e-9 * (1 - 1e-9), 0.2e-9 * (1 + 1e-9), 0, 1e-9},
    {"noise of 2%", 3e-6, 0.2e-9, 0.02, 3e-6, 0.1, 0.19e-9, 0.21e-9, 0.01, 0.025},
    /* a flat line is all latency: beta as good as 0, but positive */
    {"latency only", 5e-6, 0, 0, 5e-6, 1e-9, 0, 1e-15, 0, 1e-4},
    /* a negative intercept is no latency: alpha 0, and beta through the
     * origin lies between the points' least and greatest t / x */
    {"negative intercept", -2e-6, 0.3e-9, 0, 0, 0, 0.17e-9, 0.3e-9, 0.01, 0.5},
};

START_TEST(fit_keeps_the_line_physical) {
  const line_case *c = &line_cases[_i];
  pt_calibrate_data m;
  synthetic(&m);
  for (int i = 0; i < m.plan.ncoll; i++) {
    /* 16 KiB and up, so that the negative intercept leaves times > 0 */
    double bytes = m.coll_bytes[i] * 16, e = (i % 2 ? -1 : 1) * c->noise;
    m.coll_bytes[i] = bytes;
    for (int p = 0; p < m.plan.passes; p++)
      *pt_calibrate_coll(&m, 0, 0, i, p) = (c->alpha + c->beta * bytes) * (1 + e);
  }
  pt_calibrate_model r;
  fit_ok(&m, &r);
  const pt_calibrate_line *f = &r.groups[0].fit[0];
  ck_assert_msg(f->alpha >= 0 && f->beta > 0, "%s: alpha %g, beta %g", c->name, f->alpha, f->beta);
  ck_assert_msg(c->want_alpha ? near(f->alpha, c->want_alpha, c->alpha_tol) : f->alpha == 0,
                "%s: alpha %g, want %g", c->name, f->alpha, c->want_alpha);
  ck_assert_msg(f->beta >= c->beta_lo && f->beta <= c->beta_hi, "%s: beta %g, want [%g, %g]",
                c->name, f->beta, c->beta_lo, c->beta_hi);
  ck_assert_msg(f->rms >= c->rms_lo && f->rms <= c->rms_hi && f->max >= f->rms,
                "%s: errors rms %g, max %g", c->name, f->rms, f->max);
  /* the other kinds keep their own lines */
  ck_assert(near(r.groups[0].fit[1].alpha, coll_true_alpha(0, 1), 1e-6));
  pt_calibrate_model_free(&r);
  pt_calibrate_data_free(&m);
}
END_TEST

START_TEST(the_file_reads_back_the_fit) {
  pt_calibrate_data m;
  synthetic(&m);
  pt_calibrate_model r;
  fit_ok(&m, &r);
  char *argv[] = {"calibrate", "-o", "a b.yaml"};
  pt_calibrate_file f = {"test-box", "8GiB", 3, argv};
  char *text = pt_calibrate_yaml(&r, &f);
  ck_assert_msg(strstr(text, "#   mpirun -n 4 partita calibrate -o 'a b.yaml'\n"), "%s", text);
  ck_assert_ptr_null(strstr(text, "QUICK RUN"));
  ck_assert_ptr_nonnull(strstr(text, "the median of 3 passes"));
  ck_assert_ptr_nonnull(strstr(text, "\n  default: shm "));
  pt_diag *d = pt_diag_create(stderr);
  pt_sim_hw *hw = pt_sim_hw_parse(text, strlen(text), "test.yaml", d);
  ck_assert_ptr_nonnull(hw);
  ck_assert_str_eq(hw->name, "test-box");
  ck_assert_int_eq(hw->memory, (int64_t)8 << 30);
  ck_assert_int_eq(hw->cores, 4);
  ck_assert_int_eq(hw->count, 0); /* left out: larger meshes simulate */
  /* the file's figures have 4 significant digits */
  ck_assert_msg(near(hw->elementwise_rate, 1 / EW_BETA, 1e-3), "%g", hw->elementwise_rate);
  ck_assert_msg(near(hw->op_overhead, OVERHEAD, 1e-3), "%g", hw->op_overhead);
  ck_assert_int_eq(hw->ngemm, 2);
  for (int i = 0; i < 2; i++)
    ck_assert_msg(near(hw->gemm[i].rate, r.gemm_rate[i], 1e-3) &&
                      hw->gemm[i].m == gemm_shapes[i][0],
                  "gemm %d: %g", i, hw->gemm[i].rate);
  for (int k = 0; k < pt_sim_nelement_ops; k++)
    ck_assert(near(hw->element_time[pt_sim_element_ops[k]], fn_true_ns(k) * 1e-9, 1e-3));
  for (int g = 0; g < 2; g++)
    for (int k = 0; k < PT_CALIBRATE_NKINDS; k++) {
      pt_sim_ab ab =
          pt_sim_collective_ab(hw, hw->default_link, pt_calibrate_kinds[k], r.groups[g].group);
      ck_assert_msg(near(ab.alpha, coll_true_alpha(g, k), 1e-3) &&
                        near(ab.beta, coll_true_beta(g, k), 1e-3),
                    "%s over %lld: %g + %g", pt_sim_kind_name(pt_calibrate_kinds[k]),
                    (long long)r.groups[g].group, ab.alpha, ab.beta);
    }
  pt_sim_hw_destroy(hw);
  pt_free(text);
  /* over two nodes the link is the network */
  r.machine.nodes = 2;
  text = pt_calibrate_yaml(&r, &f);
  ck_assert_ptr_nonnull(strstr(text, "\n  default: net "));
  pt_free(text);
  /* and the file on disk */
  pt_diag_destroy(d);
  d = pt_diag_create(NULL);
  char path[] = "/tmp/partita-calibratelib-XXXXXX";
  ck_assert_ptr_nonnull(mkdtemp(path));
  ck_assert_int_eq(pt_calibrate_check_writable(path, d), PT_ERR);
  ck_assert_ptr_nonnull(strstr(pt_diag_message(d, 0), "cannot write: it is a directory"));
  char file[96];
  snprintf(file, sizeof file, "%s/hw.yaml", path);
  ck_assert_int_eq(pt_calibrate_check_writable(file, d), PT_OK);
  ck_assert_int_eq(pt_calibrate_write_yaml(&r, &f, file, d), PT_OK);
  ck_assert_ptr_nonnull(hw = pt_sim_hw_read(file, d));
  pt_sim_hw_destroy(hw);
  ck_assert_int_eq(unlink(file), 0);
  ck_assert_int_eq(rmdir(path), 0);
  pt_diag_destroy(d);
  pt_calibrate_model_free(&r);
  pt_calibrate_data_free(&m);
}
END_TEST

START_TEST(figures_that_cannot_be_fitted_are_errors) {
  static const double bad[] = {0, -1e-6, NAN, INFINITY};
  for (int b = 0; b < 4; b++) {
    pt_calibrate_data m;
    synthetic(&m);
    *pt_calibrate_coll(&m, 1, 3, 2, 0) = bad[b];
    pt_diag *d = pt_diag_create(NULL);
    pt_calibrate_model r;
    ck_assert_int_eq(pt_calibrate_fit(&m, &r, d), PT_ERR);
    ck_assert_int_eq(pt_diag_error_count(d), 1);
    ck_assert_msg(strstr(pt_diag_message(d, 0), "cannot fit a collective's figure"), "%s",
                  pt_diag_message(d, 0));
    ck_assert(!r.groups && !r.gemm_rate && r.ngroups == 0);
    pt_calibrate_model_free(&r);
    pt_diag_destroy(d);
    pt_calibrate_data_free(&m);
  }
}
END_TEST

START_TEST(plans_and_groups) {
  pt_calibrate_plan q = pt_calibrate_default_plan(true), f = pt_calibrate_default_plan(false);
  ck_assert(q.quick && !f.quick);
  ck_assert_int_eq(q.passes, 1);
  ck_assert_int_eq(f.passes, 3);
  ck_assert(q.ngemm == 3 && q.nelem == 3 && q.ncoll == 3);
  ck_assert(f.ngemm == 26 && f.nelem == 9 && f.ncoll == 8);
  pt_diag *d = pt_diag_create(NULL);
  pt_calibrate_data m;
  ck_assert_int_eq(pt_calibrate_data_init(&m, &q, 6, d), PT_OK);
  ck_assert_int_eq(m.ngroups, 4); /* 2, 3, 4 (a power of two), 6 */
  ck_assert(m.groups[0] == 2 && m.groups[1] == 3 && m.groups[2] == 4 && m.groups[3] == 6);
  ck_assert(m.coll_bytes[1 * q.ncoll + 0] == 1032); /* 256 floats up to 258 for 3 ranks */
  ck_assert(m.coll_bytes[0] == 1024);
  /* an event as calibrate prints it */
  double secs[3] = {6.5536e-6, 13.1072e-6, 26.2144e-6};
  pt_calibrate_event ev = {.kind = PT_CALIBRATE_GEMM, .item = 0, .secs = secs, .data = &m};
  char line[256];
  ck_assert_str_eq(pt_calibrate_event_str(&ev, line, sizeof line),
                   "gemm 8x64x64: 4.3 GFLOP/s (A.B 10.0, A.B^T 5.0, A^T.B 2.5)");
  ev = (pt_calibrate_event){.kind = PT_CALIBRATE_COLLECTIVE,
                            .item = 0,
                            .group = 1,
                            .coll_kind = 2,
                            .secs = secs,
                            .data = &m};
  ck_assert_str_eq(pt_calibrate_event_str(&ev, line, sizeof line),
                   "all_reduce over 3 ranks, 1.0 KiB: 6.55 us");
  pt_calibrate_data_free(&m);
  /* what cannot be measured */
  ck_assert_int_eq(pt_calibrate_data_init(&m, &q, 1, d), PT_ERR);
  ck_assert_ptr_nonnull(strstr(pt_diag_message(d, 0), "at least 2 MPI ranks"));
  static const int64_t descending[] = {4096, 256};
  pt_calibrate_plan bad = q;
  bad.ew = descending;
  bad.nelem = 2;
  ck_assert_int_eq(pt_calibrate_data_init(&m, &bad, 2, d), PT_ERR);
  ck_assert_ptr_nonnull(strstr(pt_diag_message(d, 1), "element-wise sizes must be ascending"));
  ck_assert(!m.ew && !m.groups);
  pt_calibrate_data_free(&m);
  pt_diag_destroy(d);
}
END_TEST

int main(void) {
  Suite *s = suite_create("calibratelib");
  TCase *tc = tcase_create("fit");
  tcase_add_test(tc, fit_recovers_known_parameters);
  tcase_add_loop_test(tc, fit_keeps_the_line_physical, 0,
                      (int)(sizeof line_cases / sizeof line_cases[0]));
  tcase_add_test(tc, the_file_reads_back_the_fit);
  tcase_add_test(tc, figures_that_cannot_be_fitted_are_errors);
  tcase_add_test(tc, plans_and_groups);
  suite_add_tcase(s, tc);
  return pt_test_main(s);
}
