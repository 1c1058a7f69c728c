/* Sequence parallelism: the distributed scan and halo shifts on random
 * shapes, device counts and layouts (forward and reverse, chunks of one
 * element, a dim split over two axes), checked on the virtual mesh against
 * the reference interpreter; the collectives a sequence-sharded train step
 * lowers to (halo permutes and scan carries, never a gathered sequence),
 * with a golden lowered program, and their price in the simulator; and the
 * located errors of a sharding the sequence cannot take. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lower.h"
#include "passes.h"
#include "shard_rules.h"
#include "sharding.h"
#include "sim.h"
#include "tactics.h"
#include "testutil.h"
#include "vmesh.h"

static uint64_t rng_state;
static int rnd(int n) {
  return pt_test_rnd(&rng_state, n);
}
static double uniform(double lo, double hi) {
  return lo + (hi - lo) * (double)rnd(1 << 20) / (double)(1 << 20);
}

/* Shards f's arguments named in `which` (a bit per argument) on `dim`
 * over every mesh axis in order, propagates, lowers; returns the lowered
 * function and fills *st. */
static pt_func *shard_and_lower(pt_module *m, pt_func *f, uint32_t which, int dim,
                                pt_lower_stats *st) {
  pt_diag *d = pt_diag_create(stderr);
  for (int a = 0; a < m->mesh.naxes; a++) {
    for (int i = 0; i < f->nargs; i++)
      if ((which >> i) & 1)
        pt_sharding_set(f->args[i], a, PT_SH_SHARDED, dim, a, NULL);
    pt_prop_report rep = {0};
    ck_assert_int_eq(pt_propagate_axis(f, a, a, &rep), PT_OK);
    for (int k = 0; k < rep.nconflicts; k++)
      ck_assert_msg(!rep.conflicts[k].fatal, "fatal conflict: %s", rep.conflicts[k].why);
    pt_prop_report_free(&rep);
  }
  pt_propagate_finish(f);
  pt_lower_opts lo = {NULL, NULL, 0, st};
  pt_func *g = NULL;
  ck_assert_int_eq(pt_pass_lower(m, f, &lo, &g, d), PT_OK);
  ck_assert_int_eq(pt_verify_func(g, d), PT_OK);
  pt_diag_destroy(d);
  return g;
}

/* A mesh of one or two axes whose product is n: "mesh {s = n}" or
 * "mesh {s = p, t = n/p}". */
static void mesh_text(int n, bool two, char *buf, size_t len) {
  int p = 1;
  for (int k = 2; k < n; k++)
    if (n % k == 0) {
      p = k;
      break;
    }
  if (two && p > 1)
    snprintf(buf, len, "mesh {s = %d, t = %d}\n\n", p, n / p);
  else
    snprintf(buf, len, "mesh {s = %d}\n\n", n);
}

static void type_text(const int64_t *dims, char *buf, size_t len) {
  snprintf(buf, len, "f32[%lld,%lld,%lld]", (long long)dims[0], (long long)dims[1],
           (long long)dims[2]);
}

/* ---- the distributed scan ---------------------------------------------- */

START_TEST(random_distributed_scans) {
  rng_state = 20261205;
  static const int devices[] = {1, 2, 3, 4, 6, 8};
  int iters = getenv("PT_SANITIZE_BUILD") ? 40 : 120, ones = 0, reverses = 0, multi = 0;
  for (int iter = 0; iter < iters; iter++) {
    int n = devices[rnd(6)], chunk = 1 + rnd(5), dim = rnd(3);
    bool rev = rnd(2), two = rnd(2);
    int64_t dims[3] = {1 + rnd(3), 1 + rnd(3), 1 + rnd(3)};
    dims[dim] = (int64_t)n * chunk;
    char mesh[64], ty[64], text[1024];
    mesh_text(n, two, mesh, sizeof mesh);
    type_text(dims, ty, sizeof ty);
    snprintf(text, sizeof text,
             "%sfunc @f(input %%a: %s, input %%b: %s) -> (h: %s) {\n"
             "  %%h = scan %%a, %%b {dim = %d, reverse = %d} : %s\n"
             "  return %%h\n}\n",
             mesh, ty, ty, ty, dim, rev, ty);
    pt_module *m = pt_test_parse_ok(text);
    pt_func *f = m->funcs[0];
    pt_lower_stats st = {0};
    pt_func *g = shard_and_lower(m, f, 3u, dim, &st);
    /* one all_gather of the summaries when split: 2 elements of the time
     * dim per device, whatever the length */
    int gathers = 0;
    for (int i = 0; i < g->nops; i++)
      if (g->ops[i]->code == PT_OP_ALL_GATHER) {
        gathers++;
        ck_assert_int_eq(g->ops[i]->operands[0]->type.dims[dim], 2);
      }
    ck_assert_int_eq(gathers, n > 1 ? 1 : 0);
    ck_assert_int_eq(st.count[0], gathers);
    pt_tensor *args[2];
    for (int i = 0; i < 2; i++) {
      args[i] = pt_tensor_create(f->args[i]->type);
      for (int64_t k = 0; k < pt_type_numel(&f->args[i]->type); k++)
        /* a in (-1.1, 1.1): decays, flips sign and grows */
        pt_tensor_set(args[i], k, i == 0 ? uniform(-1.1, 1.1) : uniform(-1, 1));
    }
    double diff = pt_test_mesh_difference(f, g, args, "seq", NULL);
    ck_assert_msg(diff <= 1e-5,
                  "scan dim %d reverse %d over %s of %d chunks of %d: relative "
                  "difference %g",
                  dim, rev, mesh, n, chunk, diff);
    ones += chunk == 1 && n > 1;
    reverses += rev && n > 1;
    multi += strstr(mesh, "t =") != NULL;
    for (int i = 0; i < 2; i++)
      pt_tensor_destroy(args[i]);
    pt_lower_stats_free(&st);
    pt_module_destroy(m);
  }
  /* the draw covers the cases that matter */
  ck_assert_int_gt(ones, 2);
  ck_assert_int_gt(reverses, 5);
  ck_assert_int_gt(multi, 5);
}
END_TEST

/* ---- halo shifts -------------------------------------------------------- */

START_TEST(random_shifts) {
  rng_state = 77;
  static const int devices[] = {1, 2, 3, 4, 8};
  int iters = getenv("PT_SANITIZE_BUILD") ? 40 : 120;
  for (int iter = 0; iter < iters; iter++) {
    int n = devices[rnd(5)], chunk = 1 + rnd(4), dim = rnd(3);
    int k = 1 + rnd(chunk); /* the halo fits a block */
    bool left = rnd(2), pad_first = rnd(2), zero = rnd(2), two = rnd(2);
    int64_t dims[3] = {1 + rnd(2), 1 + rnd(2), 1 + rnd(2)};
    dims[dim] = (int64_t)n * chunk;
    int64_t T = dims[dim];
    if (k >= T)
      k = (int)T - 1;
    if (k < 1)
      continue;
    char mesh[64], ty[64], mid[64], text[2048], lo[64], hi[64], st[64], li[64];
    mesh_text(n, two, mesh, sizeof mesh);
    type_text(dims, ty, sizeof ty);
    int64_t md[3] = {dims[0], dims[1], dims[2]};
    int64_t plo[3] = {0}, phi[3] = {0}, s0[3] = {0}, s1[3] = {dims[0], dims[1], dims[2]};
    if (pad_first) { /* pad by k, keep T: out[t] = x[t - k] or x[t + k] */
      md[dim] = T + k;
      (left ? phi : plo)[dim] = k;
      s0[dim] = left ? k : 0;
      s1[dim] = s0[dim] + T;
    } else { /* keep T - k, pad k back */
      md[dim] = T - k;
      s0[dim] = left ? k : 0;
      s1[dim] = left ? T : T - k;
      (left ? phi : plo)[dim] = k;
    }
    type_text(md, mid, sizeof mid);
    snprintf(lo, sizeof lo, "[%lld, %lld, %lld]", (long long)plo[0], (long long)plo[1],
             (long long)plo[2]);
    snprintf(hi, sizeof hi, "[%lld, %lld, %lld]", (long long)phi[0], (long long)phi[1],
             (long long)phi[2]);
    snprintf(st, sizeof st, "[%lld, %lld, %lld]", (long long)s0[0], (long long)s0[1],
             (long long)s0[2]);
    snprintf(li, sizeof li, "[%lld, %lld, %lld]", (long long)s1[0], (long long)s1[1],
             (long long)s1[2]);
    const char *pv = zero ? "  %v0 = constant {value = 0.0} : f32[]\n" : "";
    const char *pvn = zero ? "%v0" : "%v";
    char body[1024];
    if (pad_first)
      snprintf(body, sizeof body,
               "  %%p = pad %%x, %s {low = %s, high = %s} : %s\n"
               "  %%y = slice %%p {start = %s, limit = %s} : %s\n",
               pvn, lo, hi, mid, st, li, ty);
    else
      snprintf(body, sizeof body,
               "  %%p = slice %%x {start = %s, limit = %s} : %s\n"
               "  %%y = pad %%p, %s {low = %s, high = %s} : %s\n",
               st, li, mid, pvn, lo, hi, ty);
    /* the shifted value is used next to the unshifted one, as in a conv */
    snprintf(text, sizeof text,
             "%sfunc @f(input %%x: %s, input %%v: f32[]) -> (z: %s) {\n%s%s"
             "  %%z = add %%y, %%x : %s\n  return %%z\n}\n",
             mesh, ty, ty, pv, body, ty);
    pt_module *m = pt_test_parse_ok(text);
    pt_func *f = m->funcs[0];
    pt_lower_stats sts = {0};
    pt_func *g = shard_and_lower(m, f, 1u, dim, &sts);
    /* one halo permute of k elements along the dim, nothing gathered */
    ck_assert_int_eq(sts.count[0], 0);
    ck_assert_int_eq(sts.count[5], n > 1 ? 1 : 0);
    for (int i = 0; i < g->nops; i++)
      if (g->ops[i]->code == PT_OP_COLLECTIVE_PERMUTE)
        ck_assert_int_eq(g->ops[i]->result->type.dims[dim], k);
    pt_tensor *args[2] = {pt_tensor_create(f->args[0]->type), pt_tensor_create(f->args[1]->type)};
    for (int64_t e = 0; e < pt_type_numel(&f->args[0]->type); e++)
      pt_tensor_set(args[0], e, uniform(-1, 1));
    pt_tensor_set(args[1], 0, 2.5);
    double diff = pt_test_mesh_difference(f, g, args, "seq", NULL);
    ck_assert_msg(diff == 0, "shift by %d (%s, %s) over %s: relative difference %g\n%s", k,
                  left ? "left" : "right", pad_first ? "pad then slice" : "slice then pad", mesh,
                  diff, text);
    pt_tensor_destroy(args[0]);
    pt_tensor_destroy(args[1]);
    pt_lower_stats_free(&sts);
    pt_module_destroy(m);
  }
}
END_TEST

/* ---- a whole program: golden, counts and the train step ---------------- */

/* A model's Adam train step under a script, lowered. */
typedef struct {
  pt_diag *d;
  pt_module *m;
  pt_schedule *s;
  pt_func *f, *g;
  pt_lower_stats st;
} lowered_step;

/* Parses `model` (a path in the tree, under that relative name, so golden
 * text does not depend on where the tree is checked out), inlines its
 * calls, builds the Adam train step, applies `script` (YAML text, its
 * tactics named "sequence"...) and lowers it, recording the collectives. */
static void lower_step(const char *model, const char *script, lowered_step *x) {
  memset(x, 0, sizeof *x);
  x->d = pt_diag_create(stderr);
  char *path = pt_test_path(model), *text = pt_test_slurp(path);
  x->m = pt_parse(text, strlen(text), model, x->d);
  pt_free(text);
  pt_free(path);
  ck_assert_ptr_nonnull(x->m);
  ck_assert_int_eq(pt_pass_inline(x->m, "loss", x->d), PT_OK);
  pt_optimizer opt = pt_optimizer_default(PT_OPTIM_ADAM);
  ck_assert_int_eq(pt_pass_train_step(x->m, "loss", &opt, NULL, &x->f, x->d), PT_OK);
  x->s = pt_schedule_parse(script, strlen(script), "seq.yaml", x->d);
  ck_assert_ptr_nonnull(x->s);
  ck_assert_int_eq(pt_schedule_set_mesh(x->m, x->s, x->d), PT_OK);
  ck_assert_int_eq(pt_schedule_apply(x->f, x->s, NULL, x->d), PT_OK);
  const char *names[8];
  for (int i = 0; i < x->s->ntactics && i < 8; i++)
    names[i] = x->s->tactics[i].name;
  pt_lower_opts lo = {NULL, names, x->s->ntactics, &x->st};
  ck_assert_int_eq(pt_pass_lower(x->m, x->f, &lo, &x->g, x->d), PT_OK);
  ck_assert_int_eq(pt_verify_func(x->g, x->d), PT_OK);
}

static void lowered_step_free(lowered_step *x) {
  pt_lower_stats_free(&x->st);
  pt_schedule_destroy(x->s);
  pt_module_destroy(x->m);
  pt_diag_destroy(x->d);
}

static void check_counts(const lowered_step *x, const int *want, const char *what) {
  for (int k = 0; k < 6; k++)
    ck_assert_msg(x->st.count[k] == want[k], "%s: %d collectives of kind %d, expected %d", what,
                  x->st.count[k], k, want[k]);
}

/* tests/data/seq_mix.pir's train step under the sequence script on n
 * devices: its collectives counted, every all_gather a scan's summaries,
 * the results those of the interpreter. */
START_TEST(seq_mix_train_step) {
  static const int ns[] = {2, 4, 8};
  int n = ns[_i];
  char script[256], what[32];
  snprintf(script, sizeof script,
           "mesh: {seq: %d}\nschedule:\n  - name: sequence\n    axis: seq\n"
           "    shard: {x: 1, y: 1}\n",
           n);
  snprintf(what, sizeof what, "seq %d", n);
  lowered_step x;
  lower_step("tests/data/seq_mix.pir", script, &x);
  pt_func *f = x.f, *g = x.g;
  /* forward: 4 shifts (conv taps 1 and 2, the next step, the previous
   * window) and 1 scan; backward: the 4 shifts transposed, the 2 shifts of
   * the scan's own derivative and its reverse scan. Each scan: one
   * all_gather of summaries and one axis_slice of its carry. The partial
   * sums over the sequence all-reduced: the loss, the gradients of w and wa
   * and of the 3 conv taps (before they are padded back into %conv's
   * gradient) */
  check_counts(&x, (const int[]){2, 0, 6, 0, 2, 10}, what);
  for (int i = 0; i < g->nops; i++) {
    const pt_op *op = g->ops[i];
    if (op->code == PT_OP_ALL_GATHER) {
      /* the summaries, (product, last state) per device: never the sequence */
      ck_assert_int_eq(op->result->type.dims[1], 2 * n);
      ck_assert_ptr_nonnull(strstr(op->comment, "carries of the"));
    }
    if (op->code == PT_OP_COLLECTIVE_PERMUTE)
      ck_assert_ptr_nonnull(strstr(op->comment, "halo of"));
  }
  if (n == 2) {
    char *got = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&got, &len);
    pt_print_func(g, out);
    fclose(out);
    char *gpath = pt_test_path("tests/golden/lower/seq_mix.seq.train_step.pir");
    if (getenv("PT_UPDATE_GOLDEN")) {
      FILE *w = fopen(gpath, "w");
      ck_assert_ptr_nonnull(w);
      fputs(got, w);
      fclose(w);
    }
    char *want_text = pt_test_slurp(gpath);
    ck_assert_msg(strcmp(got, want_text) == 0, "the lowered program differs from %s", gpath);
    pt_free(want_text);
    pt_free(gpath);
    free(got);
  }
  pt_tensor **args = pt_calloc((size_t)f->nargs, sizeof *args);
  for (int i = 0; i < f->nargs; i++) {
    args[i] = pt_tensor_create(f->args[i]->type);
    for (int64_t k = 0; k < pt_type_numel(&f->args[i]->type); k++)
      pt_tensor_set(args[i], k,
                    strncmp(f->args[i]->name, "opt.", 4) == 0
                        ? 0.01 * fabs(sin(0.3 * (double)k + i))
                        : sin(0.37 * (double)k + i) * 0.5);
  }
  double diff = pt_test_mesh_difference(f, g, args, "seq", NULL);
  ck_assert_msg(diff <= 1e-4, "seq %d: relative difference %g", n, diff);
  for (int i = 0; i < f->nargs; i++)
    pt_tensor_destroy(args[i]);
  pt_free(args);
  lowered_step_free(&x);
}
END_TEST

/* tests/data/tiny_griffin.pir's train step under examples/griffin.seq.yaml
 * (3 layers: two recurrent blocks and one local-attention block; sequence 32
 * over 2 devices): per recurrent block, the conv's 3 shifts forward and 3
 * transposed, and the 2 shifts of the scan's derivative; per attention
 * block, the previous window of the keys and of the values, forward and
 * transposed. One summary all_gather and one carry axis_slice per scan,
 * forward and reverse. The 49 all_reduces are the parameter gradients'
 * sums over the sequence and the loss, as BP's over the batch. Nothing
 * else moves: no all_gather of a sequence, no all_to_all. */
START_TEST(griffin_seq_collectives) {
  char *spath = pt_test_path("examples/griffin.seq.yaml"), *script = pt_test_slurp(spath);
  lowered_step x;
  lower_step("tests/data/tiny_griffin.pir", script, &x);
  pt_free(script);
  pt_free(spath);
  pt_func *f = x.f, *g = x.g;
  int scans = 0, shifts = 0;
  pt_shift *sh = pt_shifts_find(f);
  for (int i = 0; i < f->nops; i++) {
    scans += f->ops[i]->code == PT_OP_SCAN;
    shifts += sh[f->ops[i]->result->id].role == PT_SHIFT_OUTER;
  }
  pt_free(sh);
  ck_assert_int_eq(scans, 4);
  ck_assert_int_eq(shifts, 20);
  check_counts(&x, (const int[]){4, 0, 49, 0, 4, 20}, "griffin");
  int64_t carry_bytes = 0;
  for (int i = 0; i < g->nops; i++) {
    const pt_op *op = g->ops[i];
    if (op->code == PT_OP_ALL_GATHER) {
      ck_assert_int_eq(op->result->type.dims[1], 4); /* 2 summaries x 2 devices */
      ck_assert_ptr_nonnull(strstr(op->comment, "carries of the"));
      ck_assert_ptr_nonnull(strstr(op->comment, "(sequence)"));
      carry_bytes += (int64_t)pt_type_bytes(&op->operands[0]->type);
    }
    if (op->code == PT_OP_COLLECTIVE_PERMUTE) {
      ck_assert_ptr_nonnull(strstr(op->comment, "halo of"));
      ck_assert_ptr_nonnull(strstr(op->comment, "(sequence)"));
      /* at most 3 steps (the conv) or one window of 4 */
      ck_assert_int_le(op->result->type.dims[1], 4);
    }
  }
  /* each summary: batch 8 x 2 x lru width 32 floats, whatever the length */
  ck_assert_int_eq(carry_bytes, 4 * 8 * 2 * 32 * 4);
  /* the simulator prices the halos and the carries: the bytes the lowering
   * says each device sends, at a cost */
  char *hpath = pt_test_path("examples/hw/a100-cluster.yaml");
  pt_sim_hw *hw = pt_sim_hw_read(hpath, x.d);
  ck_assert_ptr_nonnull(hw);
  pt_sim_result r;
  ck_assert_int_eq(pt_sim_run(hw, g, &r, x.d), PT_OK);
  int64_t halo_bytes = 0;
  for (int i = 0; i < x.st.nrecords; i++)
    if (x.st.records[i].op->code == PT_OP_COLLECTIVE_PERMUTE)
      halo_bytes += x.st.records[i].bytes;
  ck_assert_int_eq(r.bytes_kind[PT_SIM_PERMUTE], halo_bytes);
  ck_assert_int_eq(r.bytes_kind[PT_SIM_ALL_GATHER], carry_bytes);
  ck_assert(r.comm_kind[PT_SIM_PERMUTE] > 0 && r.comm_kind[PT_SIM_ALL_GATHER] > 0);
  pt_sim_result_free(&r);
  pt_sim_hw_destroy(hw);
  pt_free(hpath);
  lowered_step_free(&x);
}
END_TEST

/* ---- bad input ---------------------------------------------------------- */

typedef struct {
  const char *name;
  const char *edits[3][2]; /* textual edits of seq_mix.pir: from, to */
  int devices;
  int line, col;    /* of the error */
  const char *want; /* in the error */
} bad_case;

static const bad_case bads[] = {
    /* 16 steps over 16 devices: one each, and a conv tap shifts by 2 */
    {"halo larger than a block",
     {{NULL, NULL}},
     16,
     19,
     9,
     "'slice' cannot be sharded along 'seq' by tactic 'sequence': it shifts dimension 1 by 2 "
     "elements, more than the 1 each device holds when split over 'seq' (16 devices)"},
    /* windows of 4 (4 of them) over 8 devices */
    {"window does not divide a device's sequence",
     {{"f32[2,8,2,4]", "f32[2,4,4,4]"},
      {"f32[2,9,2,4]", "f32[2,5,4,4]"},
      {"limit = [2, 8, 2, 4]", "limit = [2, 4, 4, 4]"}},
     8,
     44,
     10,
     "'reshape' cannot be sharded along 'seq' by tactic 'sequence': it splits the sharded "
     "sequence into 4 windows that 'seq' (8 devices) cannot share out whole, and a later shift "
     "moves along them"},
    /* the recurrence over 4 steps of 4 merged from the sequence, on 8 devices */
    {"scan over steps the axis cannot split",
     {{"%h = scan %a, %conv_out {dim = 1, reverse = 0} : f32[2,16,4]",
       "%ar = reshape %a : f32[2,4,16]\n  %cr = reshape %conv_out : f32[2,4,16]\n"
       "  %hr = scan %ar, %cr {dim = 1, reverse = 0} : f32[2,4,16]\n"
       "  %h = reshape %hr : f32[2,16,4]"}},
     8,
     37,
     9,
     "'reshape' cannot be sharded along 'seq' by tactic 'sequence': it splits the sharded "
     "sequence into 4 steps that 'seq' (8 devices) cannot share out whole, and a later 'scan' "
     "runs along them"},
};

START_TEST(bad_sequence_shardings) {
  const bad_case *c = &bads[_i];
  char *path = pt_test_path("tests/data/seq_mix.pir");
  char *text = pt_test_slurp(path);
  static char edited[1 << 14], from[1 << 14];
  snprintf(edited, sizeof edited, "%s", text);
  for (int e = 0; e < 3 && c->edits[e][0]; e++) {
    /* every occurrence */
    memcpy(from, edited, sizeof from);
    size_t k = 0, nf = strlen(c->edits[e][0]), nt = strlen(c->edits[e][1]);
    for (const char *p = from; *p;) {
      if (strncmp(p, c->edits[e][0], nf) == 0) {
        memcpy(edited + k, c->edits[e][1], nt);
        k += nt;
        p += nf;
      } else {
        edited[k++] = *p++;
      }
      ck_assert(k < sizeof edited - 256);
    }
    edited[k] = 0;
  }
  pt_diag *d = pt_diag_create(NULL);
  pt_module *m = pt_parse(edited, strlen(edited), "seq_mix.pir", d);
  ck_assert_msg(m != NULL, "%s: %s", c->name, pt_diag_count(d) ? pt_diag_text(d, 0) : "?");
  char script[256];
  snprintf(script, sizeof script,
           "mesh: {seq: %d}\nschedule:\n  - name: sequence\n    axis: seq\n"
           "    shard: {x: 1, y: 1}\n",
           c->devices);
  pt_schedule *s = pt_schedule_parse(script, strlen(script), "seq.yaml", d);
  ck_assert_ptr_nonnull(s);
  ck_assert_int_eq(pt_schedule_set_mesh(m, s, d), PT_OK);
  ck_assert_int_eq(pt_schedule_apply(m->funcs[0], s, NULL, d), PT_ERR);
  ck_assert_int_ge(pt_diag_error_count(d), 1);
  const char *got = pt_diag_text(d, 0);
  ck_assert_msg(strstr(got, c->want) != NULL, "%s: got\n%s\nwanted\n%s", c->name, got, c->want);
  pt_loc at = pt_diag_loc(d, 0);
  ck_assert_msg(at.line == c->line && at.col == c->col, "%s: at %d:%d, expected %d:%d", c->name,
                at.line, at.col, c->line, c->col);
  pt_schedule_destroy(s);
  pt_module_destroy(m);
  pt_diag_destroy(d);
  pt_free(text);
  pt_free(path);
}
END_TEST

int main(void) {
  Suite *s = suite_create("seq");
  TCase *tc = tcase_create("seq");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, random_distributed_scans);
  tcase_add_test(tc, random_shifts);
  tcase_add_loop_test(tc, seq_mix_train_step, 0, 3);
  tcase_add_test(tc, griffin_seq_collectives);
  tcase_add_loop_test(tc, bad_sequence_shardings, 0, (int)(sizeof bads / sizeof bads[0]));
  suite_add_tcase(s, tc);
  return pt_test_main(s);
}
