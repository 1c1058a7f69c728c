/* Shared helpers for the Check test programs. */
#include "testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "vmesh.h"

const char *pt_test_source_dir(void) {
  const char *s = getenv("PT_SOURCE_DIR");
  return s ? s : ".";
}

char *pt_test_path(const char *rel) {
  const char *dir = pt_test_source_dir();
  size_t n = strlen(dir) + strlen(rel) + 2;
  char *p = pt_malloc(n);
  snprintf(p, n, "%s/%s", dir, rel);
  return p;
}

const char *pt_test_partita(void) {
  const char *s = getenv("PT_PARTITA");
  return s ? s : "./partita";
}

pt_module *pt_test_parse(const char *text, pt_diag *d) {
  return pt_parse(text, strlen(text), "test.pir", d);
}

pt_module *pt_test_parse_ok(const char *text) {
  pt_diag *d = pt_diag_create(NULL);
  pt_module *m = pt_test_parse(text, d);
  if (m && pt_verify_module(m, d) != PT_OK) {
    pt_module_destroy(m);
    m = NULL;
  }
  if (!m) {
    pt_diag_print(d, stderr);
    const char *first = pt_diag_count(d) ? pt_diag_message(d, 0) : "?";
    char buf[512];
    snprintf(buf, sizeof buf, "parse/verify failed: %s", first);
    pt_diag_destroy(d);
    ck_abort_msg("%s", buf);
  }
  pt_diag_destroy(d);
  return m;
}

int pt_test_rnd(uint64_t *state, int n) {
  *state = *state * 6364136223846793005ull + 1442695040888963407ull;
  return (int)((*state >> 33) % (uint64_t)n);
}

pt_type pt_test_random_type(uint64_t *state, pt_dtype dtype, int min_rank, int max_rank,
                            const pt_mesh *m) {
  pt_type t;
  memset(&t, 0, sizeof t);
  t.dtype = dtype;
  t.rank = min_rank + pt_test_rnd(state, max_rank - min_rank + 1);
  for (int d = 0; d < t.rank; d++) {
    t.dims[d] = 1 + pt_test_rnd(state, 3);
    for (int a = 0; a < m->naxes; a++)
      if (pt_test_rnd(state, 2))
        t.dims[d] *= m->sizes[a];
  }
  return t;
}

pt_layout pt_test_random_layout(uint64_t *state, const pt_mesh *m, const pt_type *t,
                                bool allow_partial) {
  pt_layout l;
  memset(&l, 0, sizeof l);
  l.rank = t->rank;
  int64_t local[PT_MAX_RANK];
  for (int d = 0; d < t->rank; d++)
    local[d] = t->dims[d];
  int order[PT_MAX_AXES];
  for (int a = 0; a < m->naxes; a++)
    order[a] = a;
  for (int a = m->naxes - 1; a > 0; a--) {
    int j = pt_test_rnd(state, a + 1), tmp = order[a];
    order[a] = order[j];
    order[j] = tmp;
  }
  /* a scalar has no dim to put an axis on (and no numbers are drawn) */
  for (int k = 0; k < m->naxes && t->rank > 0; k++) {
    int a = order[k], r = pt_test_rnd(state, 10);
    if (r < 3)
      continue;
    if (r < 5 && allow_partial) {
      l.partial_sum |= 1u << a;
      continue;
    }
    int d = pt_test_rnd(state, t->rank);
    if (local[d] % m->sizes[a])
      continue;
    local[d] /= m->sizes[a];
    l.axes[d][l.naxes[d]++] = (int8_t)a;
  }
  return l;
}

int pt_test_main(Suite *s) {
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

char *pt_test_slurp(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f)
    return pt_strdup("");
  char *buf = NULL;
  size_t n = 0, cap = 0;
  for (;;) {
    PT_GROW(buf, cap, n + 4096);
    size_t k = fread(buf + n, 1, cap - n - 1, f);
    n += k;
    if (!k)
      break;
  }
  buf[n] = 0;
  fclose(f);
  return buf;
}

pt_test_result pt_test_partita_run(const char *tmpdir, const char *args) {
  char cmd[8192];
  snprintf(cmd, sizeof cmd, "cd '%s' && T='%s' && '%s' %s >'%s/out' 2>'%s/err'",
           pt_test_source_dir(), tmpdir, pt_test_partita(), args, tmpdir, tmpdir);
  int st = system(cmd);
  pt_test_result r;
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128;
  char p[1024];
  snprintf(p, sizeof p, "%s/out", tmpdir);
  r.out = pt_test_slurp(p);
  snprintf(p, sizeof p, "%s/err", tmpdir);
  r.err = pt_test_slurp(p);
  return r;
}

void pt_test_result_free(pt_test_result *r) {
  pt_free(r->out);
  pt_free(r->err);
}

void pt_test_check_usage(const char *tmpdir, const pt_test_usage_case *c) {
  pt_test_result r = pt_test_partita_run(tmpdir, c->args);
  ck_assert_msg(r.status == c->status, "case '%s': exit %d, expected %d; stderr:\n%s", c->name,
                r.status, c->status, r.err);
  ck_assert_msg(strstr(r.err, c->want), "case '%s': stderr lacks '%s':\n%s", c->name, c->want,
                r.err);
  pt_test_result_free(&r);
}

double pt_test_mesh_difference(const pt_func *f, const pt_func *g, pt_tensor *const *args,
                               const char *what, int *worst) {
  pt_diag *d = pt_diag_create(NULL);
  pt_tensor **ref = pt_calloc((size_t)f->nresults + 1, sizeof *ref);
  pt_tensor **got = pt_calloc((size_t)f->nresults + 1, sizeof *got);
  ck_assert_msg(pt_interp_run(f, args, ref, d) == PT_OK, "%s: the interpreter failed: %s", what,
                pt_diag_count(d) ? pt_diag_message(d, 0) : "");
  ck_assert_msg(pt_vmesh_run_global(f, g, args, got, d) == PT_OK, "%s: the virtual mesh failed: %s",
                what, pt_diag_count(d) ? pt_diag_message(d, 0) : "");
  double max_rel = 0;
  for (int i = 0; i < f->nresults; i++) {
    double mx = 0, scale = 0;
    bool nan = false;
    /* no ck_assert per element: each one costs Check a write(2) */
    for (int64_t e = 0; e < pt_type_numel(&ref[i]->type); e++) {
      double a = pt_tensor_get(got[i], e), b = pt_tensor_get(ref[i], e);
      nan |= isnan(a) || isnan(b);
      mx = fmax(mx, fabs(a - b));
      scale = fmax(scale, fabs(b));
    }
    ck_assert_msg(!nan, "%s: nan in result %s", what, f->results[i].name);
    double rel = mx / (scale > 0 ? scale : 1);
    if (i == 0 || rel > max_rel) {
      max_rel = rel;
      if (worst)
        *worst = i;
    }
    pt_tensor_destroy(ref[i]);
    pt_tensor_destroy(got[i]);
  }
  pt_free(ref);
  pt_free(got);
  pt_diag_destroy(d);
  return max_rel;
}
