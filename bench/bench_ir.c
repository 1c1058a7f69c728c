/* bench_ir: how fast the IR front end is. Builds one function of N ops with
 * the builder API (a stack of attention-like layers: a chain with skip
 * connections, so values are reused), prints it, then times parse, verify,
 * print and parse+verify, and checks that print(parse(text)) == text. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "benchutil.h"
#include "ir.h"

#define DEFAULT_OPS 100000
#define DEFAULT_REPS 5
#define MAX_REPS 101

static const char usage[] =
    "Usage: bench_ir [--ops N] [--reps R] [--dump FILE]\n\n"
    "Builds a module with one function of N ops (default 100000) mixing dot,\n"
    "element-wise, broadcast, reduce, reshape, transpose, slice, concat,\n"
    "compare and select, prints it, and times parse, verify, print and\n"
    "parse+verify, each R times (default 5; the best and the median are\n"
    "shown). Exits 1 if the printed text of the parsed module differs from\n"
    "the original text, or if the built module does not verify.\n\n"
    "Options:\n"
    "  --ops N      number of ops in the function (at least 1)\n"
    "  --reps R     repetitions per timed stage (1..101)\n"
    "  --dump FILE  also write the generated text to FILE (for profiling)\n"
    "  -h, --help   show this help\n";

/* ---- the generated program ------------------------------------------ */

/* Shapes of one layer: batch 8, sequence 128, model 512 = 8 heads of 64. */
enum { B = 8, S = 128, D = 512, NH = 8, DH = 64 };

typedef struct {
  pt_func *f;
  pt_diag *d;
  int remaining; /* ops still to emit, the final reduction included */
  int layer;
  char prefix[32]; /* of every name: "l7." in layer 7 */
  char name[64];
} gen;

static pt_type ty(pt_dtype dt, int rank, int64_t a, int64_t b, int64_t c, int64_t e) {
  int64_t dims[4] = {a, b, c, e};
  return pt_type_make(dt, rank, dims);
}

/* Finishes op with an inferred type, or the declared one for ops whose
 * result cannot be inferred (constant, iota, broadcast, reshape). Every
 * fourth value stays unnamed so the printer's %N numbering round-trips too. */
static pt_value *fin(gen *g, pt_op *op, const char *what, const pt_type *declared) {
  int k = g->f->nops;
  const char *name = NULL;
  if (k % 4 != 3) {
    snprintf(g->name, sizeof g->name, "%s%s", g->prefix, what);
    name = g->name;
  }
  pt_value *v = pt_op_finish(op, name, declared, g->d);
  if (!v) {
    pt_diag_print(g->d, stderr);
    fprintf(stderr, "bench_ir: internal error: the generator built an ill-typed %s\n", what);
    exit(1);
  }
  g->remaining--;
  return v;
}

static pt_op *mk(gen *g, pt_opcode c, pt_value *a, pt_value *b, pt_value *e) {
  pt_value *ops[3] = {a, b, e};
  int n = e ? 3 : b ? 2 : a ? 1 : 0;
  return pt_op_create(g->f, c, ops, n, PT_NOLOC);
}

static pt_value *unary(gen *g, pt_opcode c, pt_value *a, const char *what) {
  return fin(g, mk(g, c, a, NULL, NULL), what, NULL);
}

static pt_value *binary(gen *g, pt_opcode c, pt_value *a, pt_value *b, const char *what) {
  return fin(g, mk(g, c, a, b, NULL), what, NULL);
}

static pt_value *constant(gen *g, double v, pt_type t, const char *what) {
  pt_op *op = mk(g, PT_OP_CONSTANT, NULL, NULL, NULL);
  pt_op_set_float(op, PT_A_VALUE, v);
  return fin(g, op, what, &t);
}

static pt_value *broadcast(gen *g, pt_value *a, const int64_t *dims, int n, pt_type t,
                           const char *what) {
  pt_op *op = mk(g, PT_OP_BROADCAST, a, NULL, NULL);
  pt_op_set_ints(op, PT_A_DIMS, dims, n);
  return fin(g, op, what, &t);
}

static pt_value *reduce(gen *g, pt_opcode c, pt_value *a, const int64_t *dims, int n,
                        const char *what) {
  pt_op *op = mk(g, c, a, NULL, NULL);
  pt_op_set_ints(op, PT_A_DIMS, dims, n);
  return fin(g, op, what, NULL);
}

static pt_value *transpose(gen *g, pt_value *a, const char *what) {
  static const int64_t perm[4] = {0, 2, 1, 3};
  pt_op *op = mk(g, PT_OP_TRANSPOSE, a, NULL, NULL);
  pt_op_set_ints(op, PT_A_PERM, perm, 4);
  return fin(g, op, what, NULL);
}

static pt_value *reshape(gen *g, pt_value *a, pt_type t, const char *what) {
  return fin(g, mk(g, PT_OP_RESHAPE, a, NULL, NULL), what, &t);
}

/* dot with batch dimensions [0, 1] when `batched`, contracting lc with rc. */
static pt_value *dot(gen *g, pt_value *a, pt_value *b, bool batched, int64_t lc, int64_t rc,
                     const char *what) {
  static const int64_t batch[2] = {0, 1};
  pt_op *op = mk(g, PT_OP_DOT, a, b, NULL);
  if (batched) {
    pt_op_set_ints(op, PT_A_LHS_BATCH, batch, 2);
    pt_op_set_ints(op, PT_A_RHS_BATCH, batch, 2);
  }
  pt_op_set_ints(op, PT_A_LHS_CONTRACT, &lc, 1);
  pt_op_set_ints(op, PT_A_RHS_CONTRACT, &rc, 1);
  return fin(g, op, what, NULL);
}

static pt_value *slice(gen *g, pt_value *a, int64_t lo, int64_t hi, const char *what) {
  const int64_t start[3] = {0, 0, lo}, limit[3] = {B, S, hi};
  pt_op *op = mk(g, PT_OP_SLICE, a, NULL, NULL);
  pt_op_set_ints(op, PT_A_START, start, 3);
  pt_op_set_ints(op, PT_A_LIMIT, limit, 3);
  return fin(g, op, what, NULL);
}

/* Ops one full layer emits (see layer()). */
#define LAYER_OPS 30

/* One attention-like layer over h: f32[8,128,512], with weight w: f32[512,512]
 * and a skip input from an earlier layer. */
static pt_value *layer(gen *g, pt_value *h, pt_value *w, pt_value *skip) {
  const pt_type act = ty(PT_F32, 3, B, S, D, 0);
  const pt_type heads = ty(PT_F32, 4, B, S, NH, DH);
  const pt_type sc = ty(PT_F32, 4, B, NH, S, S);
  const pt_type row = ty(PT_F32, 2, B, S, 0, 0);
  static const int64_t last3[1] = {2}, last4[1] = {3}, keep2[2] = {0, 1}, keep3[3] = {0, 1, 2};
  int before = g->f->nops;

  /* RMSNorm */
  pt_value *sq = binary(g, PT_OP_MUL, h, h, "sq");
  pt_value *ss = reduce(g, PT_OP_REDUCE_SUM, sq, last3, 1, "sq_sum");
  pt_value *eps = constant(g, 1e-6, row, "eps");
  pt_value *sse = binary(g, PT_OP_ADD, ss, eps, "sq_eps");
  pt_value *inv = unary(g, PT_OP_RSQRT, sse, "inv_rms");
  pt_value *invb = broadcast(g, inv, keep2, 2, act, "inv_rms_b");
  pt_value *hn = binary(g, PT_OP_MUL, h, invb, "normed");
  /* projection, split into heads */
  pt_value *p = dot(g, hn, w, false, 2, 0, "proj");
  pt_value *pr = reshape(g, p, heads, "proj_heads");
  pt_value *q = transpose(g, pr, "q");
  /* softmax(q . q^T) . q */
  pt_value *s = dot(g, q, q, true, 3, 3, "qk");
  pt_value *c = constant(g, 0.125, sc, "scale");
  pt_value *ssc = binary(g, PT_OP_MUL, s, c, "scores");
  pt_value *mx = reduce(g, PT_OP_REDUCE_MAX, ssc, last4, 1, "row_max");
  pt_value *mxb = broadcast(g, mx, keep3, 3, sc, "row_max_b");
  pt_value *sh = binary(g, PT_OP_SUB, ssc, mxb, "shifted");
  pt_value *e = unary(g, PT_OP_EXP, sh, "weights");
  pt_value *rs = reduce(g, PT_OP_REDUCE_SUM, e, last4, 1, "row_sum");
  pt_value *rsb = broadcast(g, rs, keep3, 3, sc, "row_sum_b");
  pt_value *pb = binary(g, PT_OP_DIV, e, rsb, "probs");
  pt_value *ctx = dot(g, pb, q, true, 3, 2, "ctx");
  pt_value *ct = transpose(g, ctx, "ctx_t");
  pt_value *cm = reshape(g, ct, act, "ctx_merged");
  /* a rotation of the features by half, through slice and concat */
  pt_value *t = unary(g, PT_OP_TANH, cm, "act");
  pt_value *lo = slice(g, t, 0, D / 2, "lo");
  pt_value *hi = slice(g, t, D / 2, D, "hi");
  pt_op *cat = mk(g, PT_OP_CONCAT, hi, lo, NULL);
  pt_op_set_int(cat, PT_A_DIM, 2);
  pt_value *rot = fin(g, cat, "rotated", NULL);
  /* a gate: keep the rotated features where they exceed the skip input */
  pt_op *cmp = mk(g, PT_OP_COMPARE, rot, skip, NULL);
  pt_op_set_ident(cmp, PT_A_DIR, "gt");
  pt_value *gt = fin(g, cmp, "gate", NULL);
  pt_value *sel = fin(g, mk(g, PT_OP_SELECT, gt, rot, skip), "gated", NULL);
  /* residual */
  pt_value *out = binary(g, PT_OP_ADD, h, sel, "out");
  PT_ASSERT(g->f->nops - before == LAYER_OPS);
  return out;
}

/* The whole module: layers while a full one fits, element-wise filler up to
 * exactly nops ops, then a reduction to the scalar result. Layer i reads the
 * output of layer i-1 and, as its skip input, that of layer i-4. */
static pt_module *build(int nops, pt_diag *d, int *nlayers) {
  pt_module *m = pt_module_create("<bench>");
  pt_func *f = pt_func_create(m, "loss", PT_NOLOC);
  f->comment =
      pt_arena_strdup(m->arena, "// generated by bench_ir: a stack of attention-like layers");
  gen g = {.f = f, .d = d, .remaining = nops, .layer = 0};
  const pt_type act = ty(PT_F32, 3, B, S, D, 0);
  const pt_type wt = ty(PT_F32, 2, D, D, 0, 0);
  pt_value *x = pt_func_add_arg(f, "x", PT_ROLE_INPUT, act, PT_NOLOC);
  pt_value *hist[4] = {x, x, x, x}; /* the last four layer outputs */
  pt_value *h = x;
  char name[64];
  while (g.remaining >= LAYER_OPS + 1) {
    snprintf(name, sizeof name, "layers.%d.w", g.layer);
    pt_value *w = pt_func_add_arg(f, name, PT_ROLE_PARAM, wt, PT_NOLOC);
    int first = f->nops;
    snprintf(g.prefix, sizeof g.prefix, "l%d.", g.layer);
    h = layer(&g, h, w, hist[g.layer % 4]);
    snprintf(name, sizeof name, "// layer %d", g.layer);
    f->ops[first]->comment = pt_arena_strdup(m->arena, name);
    hist[g.layer % 4] = h;
    g.layer++;
  }
  static const pt_opcode filler[] = {PT_OP_TANH, PT_OP_ADD, PT_OP_NEG, PT_OP_MUL, PT_OP_EXP};
  for (int i = 0; g.remaining > 1; i++) {
    pt_opcode c = filler[i % 5];
    snprintf(g.prefix, sizeof g.prefix, "tail.%d", i);
    h = pt_optab[c].arity == 1 ? unary(&g, c, h, "") : binary(&g, c, h, x, "");
  }
  static const int64_t all[3] = {0, 1, 2};
  g.prefix[0] = 0;
  pt_value *loss = reduce(&g, PT_OP_REDUCE_SUM, h, all, 3, "loss");
  pt_func_add_result(f, "loss", loss->type, loss, PT_NOLOC);
  PT_ASSERT(f->nops == nops && g.remaining == 0);
  *nlayers = g.layer;
  return m;
}

/* ---- timing ----------------------------------------------------------- */

typedef struct {
  const char *name;
  double t[MAX_REPS];
  double best, median;
} stage;

static void summarize(stage *s, int reps) {
  double sorted[MAX_REPS];
  memcpy(sorted, s->t, (size_t)reps * sizeof *sorted);
  qsort(sorted, (size_t)reps, sizeof *sorted, pt_bench_cmp_double);
  s->best = sorted[0];
  s->median = reps % 2 ? sorted[reps / 2] : 0.5 * (sorted[reps / 2 - 1] + sorted[reps / 2]);
}

/* Parses text, failing the whole benchmark on an error. */
static pt_module *parse_or_die(const char *text, size_t len, pt_diag *d) {
  pt_module *m = pt_parse(text, len, "<bench>", d);
  if (!m) {
    pt_diag_print(d, stderr);
    fprintf(stderr, "bench_ir: error: the generated text does not parse\n");
    exit(1);
  }
  return m;
}

static void verify_or_die(const pt_module *m, pt_diag *d, const char *what) {
  if (pt_verify_module(m, d) != PT_OK) {
    pt_diag_print(d, stderr);
    fprintf(stderr, "bench_ir: error: the %s module does not verify\n", what);
    exit(1);
  }
}

int main(int argc, char **argv) {
  long nops = DEFAULT_OPS, reps = DEFAULT_REPS;
  const char *dump = NULL;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
      fputs(usage, stdout);
      return 0;
    }
    bool has_value = !strcmp(a, "--ops") || !strcmp(a, "--reps") || !strcmp(a, "--dump");
    if (!has_value) {
      fprintf(stderr, "bench_ir: error: unknown option '%s'\n\n%s", a, usage);
      return 2;
    }
    if (i + 1 >= argc) {
      fprintf(stderr, "bench_ir: error: %s needs a value\n", a);
      return 2;
    }
    const char *v = argv[++i];
    if (!strcmp(a, "--dump")) {
      dump = v;
    } else if (!strcmp(a, "--ops") ? !pt_bench_parse_count(v, 1, 100000000, &nops)
                                   : !pt_bench_parse_count(v, 1, MAX_REPS, &reps)) {
      fprintf(stderr, "bench_ir: error: bad value '%s' for %s\n", v, a);
      return 2;
    }
  }

  pt_diag *d = pt_diag_create(NULL);
  double t0 = pt_bench_now();
  int nlayers;
  pt_module *built = build((int)nops, d, &nlayers);
  double t_build = pt_bench_now() - t0;
  verify_or_die(built, d, "built");
  char *text = pt_print_module_str(built);
  size_t len = strlen(text);
  int nargs = built->funcs[0]->nargs;
  pt_module_destroy(built);
  if (dump) {
    FILE *f = fopen(dump, "w");
    if (!f || fputs(text, f) < 0 || fclose(f) != 0) {
      fprintf(stderr, "bench_ir: error: cannot write %s: %s\n", dump, strerror(errno));
      return 1;
    }
  }

  /* correctness, not timing: the printer writes exactly what the parser reads */
  pt_module *m = parse_or_die(text, len, d);
  verify_or_die(m, d, "parsed");
  char *again = pt_print_module_str(m);
  bool round_trip = strcmp(again, text) == 0;
  if (!round_trip) {
    size_t k = 0;
    while (again[k] && again[k] == text[k])
      k++;
    int line = 1;
    for (size_t i = 0; i < k; i++)
      line += text[i] == '\n';
    fprintf(stderr, "bench_ir: error: print(parse(text)) differs from text at line %d\n", line);
  }
  pt_free(again);

  stage st[4] = {
      {.name = "parse"}, {.name = "verify"}, {.name = "print"}, {.name = "parse+verify"}};
  for (int r = 0; r < reps; r++) {
    pt_diag *dr = pt_diag_create(NULL);
    double a = pt_bench_now();
    pt_module *p = parse_or_die(text, len, dr);
    st[0].t[r] = pt_bench_now() - a;
    pt_module_destroy(p);
    pt_diag_destroy(dr);

    a = pt_bench_now();
    verify_or_die(m, d, "parsed");
    st[1].t[r] = pt_bench_now() - a;

    a = pt_bench_now();
    char *s = pt_print_module_str(m);
    st[2].t[r] = pt_bench_now() - a;
    pt_free(s);

    dr = pt_diag_create(NULL);
    a = pt_bench_now();
    p = parse_or_die(text, len, dr);
    verify_or_die(p, dr, "parsed");
    st[3].t[r] = pt_bench_now() - a;
    pt_module_destroy(p);
    pt_diag_destroy(dr);
  }

  double mb = (double)len / 1e6;
  printf("bench_ir: %ld ops in 1 function (%d layers of %d ops), %d arguments\n", nops, nlayers,
         LAYER_OPS, nargs);
  printf("text: %.2f MB, %.1f bytes/op; built in %.3f s; %ld reps per stage\n", mb,
         (double)len / (double)nops, t_build, reps);
  pt_bench_machine_line();
  printf("round trip print(parse(text)) == text: %s\n\n", round_trip ? "ok" : "DIFFERS");
  printf("%-13s %10s %10s %14s %10s\n", "stage", "best s", "median s", "ops/s (best)", "MB/s");
  for (int i = 0; i < 4; i++) {
    summarize(&st[i], (int)reps);
    printf("%-13s %10.4f %10.4f %14.0f %10.1f\n", st[i].name, st[i].best, st[i].median,
           (double)nops / st[i].best, mb / st[i].best);
  }

  pt_module_destroy(m);
  pt_free(text);
  pt_diag_destroy(d);
  return round_trip ? 0 : 1;
}
