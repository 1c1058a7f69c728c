/* The model library (models/model.h, `partita model`): the shipped examples
 * are the generator's output, every size parses, verifies and inlines with
 * the naming convention tactic scripts glob, the cross-entropy gives ln V
 * for uniform logits, the synthetic labels are the tokens' permutation, and
 * impossible sizes are usage errors. (The models' sharded runs are in the
 * grid and tests/mpi_train.sh, which pick up examples/gpt.* and llama.*.) */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "init.h"
#include "lower.h"
#include "model.h"
#include "passes.h"
#include "sharding.h"
#include "tactics.h"
#include "testutil.h"
#include "train.h"

static pt_module *load_text(const char *text, const char *name) {
  pt_diag *d = pt_diag_create(stderr);
  pt_module *m = pt_parse(text, strlen(text), name, d);
  ck_assert_msg(m != NULL, "%s does not parse", name);
  ck_assert_msg(pt_verify_module(m, d) == PT_OK, "%s does not verify", name);
  ck_assert_msg(pt_pass_inline(m, "loss", d) == PT_OK, "%s does not inline", name);
  ck_assert_int_eq(pt_diag_error_count(d), 0);
  pt_diag_destroy(d);
  return m;
}

START_TEST(examples_are_the_generators_output) {
  const char *files[] = {"examples/gpt.pir", "examples/llama.pir", "examples/mlp.pir",
                         "examples/griffin.pir"};
  const pt_model_kind kinds[] = {PT_MODEL_GPT, PT_MODEL_LLAMA, PT_MODEL_MLP, PT_MODEL_GRIFFIN};
  for (int k = 0; k < 4; k++) {
    pt_model_opts o = pt_model_defaults(kinds[k]);
    char *want = pt_model_write(&o);
    char *path = pt_test_path(files[k]);
    char *have = pt_test_slurp(path);
    ck_assert_msg(strcmp(want, have) == 0,
                  "%s differs from `partita model %s`: regenerate it with -o %s", files[k],
                  pt_model_kind_name(o.kind), files[k]);
    free(want);
    pt_free(have);
    pt_free(path);
  }
}
END_TEST

/* Every size makes a module whose @loss takes tokens, labels and the
 * parameters under the naming convention, one block's worth per layer. */
START_TEST(sizes_and_names) {
  const pt_model_opts cases[] = {
      {PT_MODEL_GPT, 1, 8, 2, 2, 16, 11, 3, 1},
      {PT_MODEL_GPT, 48, 1024, 16, 16, 4096, 32000, 1024, 8},
      {PT_MODEL_LLAMA, 3, 64, 8, 1, 96, 100, 5, 2},  /* multi-query */
      {PT_MODEL_LLAMA, 32, 4096, 32, 8, 11008, 32000, 2048, 1}, /* a 7B-class Llama */
  };
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    const pt_model_opts *o = &cases[c];
    char err[160];
    ck_assert_msg(pt_model_check(o, err, sizeof err), "case %zu: %s", c, err);
    char *text = pt_model_write(o);
    /* the generator writes canonical text: it prints as itself */
    pt_diag *d = pt_diag_create(stderr);
    pt_module *raw = pt_parse(text, strlen(text), "generated.pir", d);
    ck_assert_ptr_nonnull(raw);
    char *printed = pt_print_module_str(raw);
    ck_assert_msg(strcmp(printed, text) == 0, "case %zu is not in canonical form", c);
    pt_free(printed);
    pt_module_destroy(raw);
    pt_diag_destroy(d);
    pt_module *m = load_text(text, "generated.pir");
    pt_func *f = pt_module_find_func(m, "loss");
    ck_assert_ptr_nonnull(f);
    bool gpt = o->kind == PT_MODEL_GPT;
    int per_layer = gpt ? 10 : 9;
    int want = 2 + 1 + (gpt ? 1 : 0) + per_layer * (int)o->layers + (gpt ? 2 : 1) + 1;
    ck_assert_msg(f->nargs == want, "case %zu: %d arguments, want %d", c, f->nargs, want);
    char name[64];
    snprintf(name, sizeof name, "layers.%lld.attn.wk", (long long)o->layers - 1);
    const pt_value *wk = pt_func_find_arg(f, name);
    ck_assert_msg(wk != NULL, "case %zu: no %s", c, name);
    ck_assert_int_eq(wk->type.dims[1], o->kv_heads * (o->d_model / o->heads));
    const char *always[] = {"tokens", "labels", "embed.table", "layers.0.mlp.w_in",
                            "final_norm.scale", "lm_head.w"};
    for (int i = 0; i < 6; i++)
      ck_assert_msg(pt_func_find_arg(f, always[i]), "case %zu: no %s", c, always[i]);
    ck_assert_int_eq(pt_func_find_arg(f, "lm_head.w")->type.dims[1], o->vocab);
    /* the labels index the vocabulary: seeded labels are valid tokens */
    pt_init_spec s = pt_init_spec_for(f, pt_func_find_arg(f, "labels"), 1);
    ck_assert_int_eq(s.bound, o->vocab);
    pt_module_destroy(m);
    free(text);
  }
}
END_TEST

/* Griffin at several depths and sizes: canonical text; one @recurrent_block
 * and (from 3 layers) one @attention_block, called in the pattern two
 * recurrent, one attention; each layer's parameters under its kind's names
 * and shapes; and the sequence-parallel contract (docs/models.md): every
 * pad is k zeros at the low end of the time dim (or the attention's block
 * dim), high 0, whose only use is the next op, a slice keeping [0, size)
 * there; every other slice is of the convolution's weights, and every
 * concat joins two key/value blocks along the within-block dim. */
START_TEST(griffin_sizes_names_and_shifts) {
  const pt_model_opts cases[] = {
      /* layers, d, heads, kv, mlp, vocab, seq, batch, window, lru width */
      {PT_MODEL_GRIFFIN, 1, 8, 2, 1, 16, 11, 6, 1, 2, 6},
      {PT_MODEL_GRIFFIN, 3, 32, 4, 1, 96, 50, 16, 2, 4, 40},
      {PT_MODEL_GRIFFIN, 7, 16, 2, 1, 48, 20, 9, 3, 9, 16},
      {PT_MODEL_GRIFFIN, 4, 12, 3, 1, 36, 20, 5, 2, 1, 15}, /* window 1: itself only */
  };
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    const pt_model_opts *o = &cases[c];
    char err[160];
    ck_assert_msg(pt_model_check(o, err, sizeof err), "case %zu: %s", c, err);
    char *text = pt_model_write(o);
    pt_diag *d = pt_diag_create(stderr);
    pt_module *raw = pt_parse(text, strlen(text), "griffin.pir", d);
    ck_assert_ptr_nonnull(raw);
    char *printed = pt_print_module_str(raw);
    ck_assert_msg(strcmp(printed, text) == 0, "case %zu is not in canonical form", c);
    pt_free(printed);
    ck_assert_int_eq(raw->nfuncs, o->layers >= 3 ? 3 : 2);
    pt_func *lf = pt_module_find_func(raw, "loss");
    int calls = 0;
    for (int i = 0; i < lf->nops; i++)
      if (lf->ops[i]->code == PT_OP_CALL) {
        const char *want = calls % 3 == 2 ? "attention_block" : "recurrent_block";
        ck_assert_msg(strcmp(lf->ops[i]->callee, want) == 0, "case %zu: layer %d calls @%s", c,
                      calls, lf->ops[i]->callee);
        calls++;
      }
    ck_assert_int_eq(calls, o->layers);
    pt_module_destroy(raw);
    pt_diag_destroy(d);
    pt_module *m = load_text(text, "griffin.pir");
    pt_func *f = pt_module_find_func(m, "loss");
    int64_t L = o->layers, nattn = L / 3, H = o->heads, R = o->lru_width;
    ck_assert_int_eq(f->nargs, 2 + 1 + 15 * (int)(L - nattn) + 9 * (int)nattn + 2);
    const struct {
      int64_t layer;
      const char *leaf;
      int64_t d0, d1, d2;
    } shapes[] = {{0, "rg_lru.wa", H, R / H, R / H},
                  {0, "rg_lru.wi", H, R / H, R / H},
                  {0, "rg_lru.conv_w", 4, R, 0},
                  {0, "rg_lru.lambda", R, 0, 0},
                  {L - 1, "mlp.w_gate", o->d_model, o->mlp_hidden, 0},
                  {2, "attn.wk", o->d_model, o->d_model / H, 0},
                  {2, "attn.wq", o->d_model, o->d_model, 0}};
    for (size_t k = 0; k < sizeof shapes / sizeof shapes[0]; k++) {
      if (shapes[k].layer >= L)
        continue;
      char name[64];
      snprintf(name, sizeof name, "layers.%lld.%s", (long long)shapes[k].layer, shapes[k].leaf);
      const pt_value *v = pt_func_find_arg(f, name);
      ck_assert_msg(v != NULL, "case %zu: no %s", c, name);
      const int64_t want[3] = {shapes[k].d0, shapes[k].d1, shapes[k].d2};
      for (int j = 0; j < 3; j++)
        ck_assert_int_eq(j < v->type.rank ? v->type.dims[j] : 0, want[j]);
    }
    ck_assert_ptr_null(pt_func_find_arg(f, "layers.0.attn.wq"));
    if (L >= 3)
      ck_assert_ptr_null(pt_func_find_arg(f, "layers.2.rg_lru.wx"));
    /* the shift idiom, the only slicing, padding and concatenation there is */
    int pads = 0;
    for (int i = 0; i < f->nops; i++) {
      const pt_op *op = f->ops[i];
      if (op->code == PT_OP_PAD) {
        int64_t lo[PT_MAX_RANK], hi[PT_MAX_RANK];
        int rank = pt_op_ints(op, PT_A_LOW, lo, PT_MAX_RANK);
        pt_op_ints(op, PT_A_HIGH, hi, PT_MAX_RANK);
        int shifted = 0;
        for (int j = 0; j < rank; j++) {
          ck_assert_int_eq(hi[j], 0);
          shifted += lo[j] != 0;
        }
        ck_assert_msg(shifted == 1 && lo[1] >= 1 && lo[1] <= 3, "case %zu: a pad not on dim 1", c);
        ck_assert_msg(rank == 3 || lo[1] == 1, "case %zu: the attention shifts by one block", c);
        ck_assert_msg(i + 1 < f->nops && f->ops[i + 1]->code == PT_OP_SLICE &&
                          f->ops[i + 1]->operands[0] == op->result,
                      "case %zu: %s is not followed by its slice", c, op->result->name);
        int uses = 0;
        for (int u = 0; u < f->nops; u++)
          for (int j = 0; j < f->ops[u]->noperands; j++)
            uses += f->ops[u]->operands[j] == op->result;
        ck_assert_int_eq(uses, 1);
        int64_t st[PT_MAX_RANK], lim[PT_MAX_RANK];
        pt_op_ints(f->ops[i + 1], PT_A_START, st, PT_MAX_RANK);
        pt_op_ints(f->ops[i + 1], PT_A_LIMIT, lim, PT_MAX_RANK);
        ck_assert_ptr_null(pt_op_attr(f->ops[i + 1], PT_A_STRIDE));
        for (int j = 0; j < rank; j++)
          ck_assert_msg(st[j] == 0 && lim[j] == op->operands[0]->type.dims[j],
                        "case %zu: %s's slice is not [0, size)", c, op->result->name);
        pads++;
        i++; /* the slice is checked */
      } else if (op->code == PT_OP_SLICE) {
        ck_assert_msg(op->operands[0]->arg_index >= 0 && op->operands[0]->type.dims[0] == 4,
                      "case %zu: %s slices more than the convolution's weights", c,
                      op->result->name);
      } else if (op->code == PT_OP_CONCAT) {
        ck_assert_int_eq(op->noperands, 2);
        ck_assert_int_eq(op->result->type.rank, 4);
        ck_assert_int_eq(pt_op_int(op, PT_A_DIM, -1), 2);
      }
    }
    ck_assert_int_eq(pads, 3 * (int)(L - nattn) + 2 * (int)nattn);
    pt_module_destroy(m);
    free(text);
  }
}
END_TEST

/* ---- an independent float64 reference ----------------------------------- */

/* The loss computed straight from the definitions in docs/models.md, in
 * double, reading the same argument values: no IR, no interpreter. */
typedef struct {
  const pt_func *f;
  pt_tensor **args;
} ref_ctx;

static double arg_at(const ref_ctx *c, const char *name, int64_t i) {
  const pt_value *v = pt_func_find_arg(c->f, name);
  ck_assert_msg(v != NULL, "reference: no argument %s", name);
  return pt_tensor_get(c->args[v->arg_index], i);
}

static void ref_norm(const ref_ctx *c, bool gpt, const char *scale, const char *bias,
                     const double *x, double *y, int64_t D) {
  double mean = 0, ms = 0;
  if (gpt)
    for (int64_t i = 0; i < D; i++)
      mean += x[i] / (double)D;
  for (int64_t i = 0; i < D; i++)
    ms += (x[i] - mean) * (x[i] - mean) / (double)D;
  double inv = 1.0 / sqrt(ms + 1e-5);
  for (int64_t i = 0; i < D; i++)
    y[i] = (x[i] - mean) * inv * (1 + arg_at(c, scale, i)) + (gpt ? arg_at(c, bias, i) : 0);
}

/* y[n] = x[m] . W[m, n] for W named name, [M, N] */
static void ref_matvec(const ref_ctx *c, const char *name, const double *x, int64_t M, int64_t N,
                       double *y) {
  for (int64_t n = 0; n < N; n++) {
    double a = 0;
    for (int64_t m = 0; m < M; m++)
      a += x[m] * arg_at(c, name, m * N + n);
    y[n] = a;
  }
}

static double reference_loss(const pt_model_opts *o, const ref_ctx *c) {
  bool gpt = o->kind == PT_MODEL_GPT;
  int64_t B = o->batch, T = o->seq, D = o->d_model, H = o->heads, K = o->kv_heads, hd = D / H,
          F = o->mlp_hidden, V = o->vocab, G = H / K;
  double *x = calloc((size_t)(T * D), sizeof *x), *h = calloc((size_t)(T * D), sizeof *h);
  double *q = calloc((size_t)(T * D), sizeof *q), *k = calloc((size_t)(T * K * hd), sizeof *k);
  double *v = calloc((size_t)(T * K * hd), sizeof *v), *ctx = calloc((size_t)D, sizeof *ctx);
  double *u = calloc((size_t)F, sizeof *u), *g = calloc((size_t)F, sizeof *g);
  double *tmp = calloc((size_t)D, sizeof *tmp), *p = calloc((size_t)T, sizeof *p);
  double *logits = calloc((size_t)V, sizeof *logits);
  double total = 0;
  char n1[96], n2[96], n3[96], n4[96];
  for (int64_t b = 0; b < B; b++) {
    for (int64_t t = 0; t < T; t++) {
      int64_t tok = (int64_t)arg_at(c, "tokens", b * T + t);
      for (int64_t i = 0; i < D; i++)
        x[t * D + i] = arg_at(c, "embed.table", tok * D + i) +
                       (gpt ? arg_at(c, "pos.table", t * D + i) : 0);
    }
    for (int64_t l = 0; l < o->layers; l++) {
#define NAME(buf, leaf) snprintf(buf, sizeof buf, "layers.%lld.%s", (long long)l, leaf)
      NAME(n1, "norm1.scale"), NAME(n2, "norm1.bias");
      for (int64_t t = 0; t < T; t++)
        ref_norm(c, gpt, n1, n2, x + t * D, h + t * D, D);
      NAME(n1, "attn.wq"), NAME(n2, "attn.wk"), NAME(n3, "attn.wv");
      for (int64_t t = 0; t < T; t++) {
        ref_matvec(c, n1, h + t * D, D, D, q + t * D);
        ref_matvec(c, n2, h + t * D, D, K * hd, k + t * K * hd);
        ref_matvec(c, n3, h + t * D, D, K * hd, v + t * K * hd);
      }
      if (!gpt) /* rotary: the pair (i, i + hd/2) of every head turns by t * 10000^(-2i/hd) */
        for (int64_t t = 0; t < T; t++)
          for (int which = 0; which < 2; which++) {
            double *z = which ? k + t * K * hd : q + t * D;
            int64_t nh = which ? K : H;
            for (int64_t n = 0; n < nh; n++)
              for (int64_t i = 0; i < hd / 2; i++) {
                double a = (double)t * pow(10000.0, -2.0 * (double)i / (double)hd);
                double lo = z[n * hd + i], hi = z[n * hd + hd / 2 + i];
                z[n * hd + i] = lo * cos(a) - hi * sin(a);
                z[n * hd + hd / 2 + i] = hi * cos(a) + lo * sin(a);
              }
          }
      NAME(n4, "attn.wo");
      for (int64_t t = 0; t < T; t++) {
        for (int64_t n = 0; n < H; n++) {
          int64_t kv = n / G; /* query head n uses key/value head n / G */
          double mx = -INFINITY, sum = 0;
          for (int64_t j = 0; j <= t; j++) {
            double sc = 0;
            for (int64_t i = 0; i < hd; i++)
              sc += q[t * D + n * hd + i] * k[j * K * hd + kv * hd + i];
            p[j] = sc / sqrt((double)hd);
            mx = fmax(mx, p[j]);
          }
          for (int64_t j = 0; j <= t; j++)
            sum += (p[j] = exp(p[j] - mx));
          for (int64_t i = 0; i < hd; i++) {
            double a = 0;
            for (int64_t j = 0; j <= t; j++)
              a += p[j] / sum * v[j * K * hd + kv * hd + i];
            ctx[n * hd + i] = a;
          }
        }
        ref_matvec(c, n4, ctx, D, D, tmp);
        for (int64_t i = 0; i < D; i++)
          x[t * D + i] += tmp[i]; /* x2 */
      }
      NAME(n1, "norm2.scale"), NAME(n2, "norm2.bias");
      for (int64_t t = 0; t < T; t++)
        ref_norm(c, gpt, n1, n2, x + t * D, h + t * D, D);
      for (int64_t t = 0; t < T; t++) {
        NAME(n1, "mlp.w_in"), NAME(n2, "mlp.w_gate"), NAME(n3, "mlp.w_out");
        ref_matvec(c, n1, h + t * D, D, F, u);
        if (gpt)
          for (int64_t i = 0; i < F; i++)
            u[i] = 0.5 * u[i] * (1 + tanh(sqrt(2 / M_PI) * (u[i] + 0.044715 * pow(u[i], 3))));
        else {
          ref_matvec(c, n2, h + t * D, D, F, g);
          for (int64_t i = 0; i < F; i++)
            u[i] *= g[i] / (1 + exp(-g[i]));
        }
        ref_matvec(c, n3, u, F, D, tmp);
        for (int64_t i = 0; i < D; i++)
          x[t * D + i] += tmp[i];
      }
#undef NAME
    }
    for (int64_t t = 0; t < T; t++) {
      ref_norm(c, gpt, "final_norm.scale", "final_norm.bias", x + t * D, h, D);
      ref_matvec(c, "lm_head.w", h, D, V, logits);
      double mx = -INFINITY, sum = 0;
      for (int64_t i = 0; i < V; i++)
        mx = fmax(mx, logits[i]);
      for (int64_t i = 0; i < V; i++)
        sum += exp(logits[i] - mx);
      int64_t label = (int64_t)arg_at(c, "labels", b * T + t);
      total += log(sum) + mx - logits[label];
    }
  }
  free(x), free(h), free(q), free(k), free(v), free(ctx), free(u), free(g), free(tmp), free(p);
  free(logits);
  return total / (double)(B * T);
}

static double ref_gelu(double u) {
  return 0.5 * u * (1 + tanh(sqrt(2 / M_PI) * (u + 0.044715 * u * u * u)));
}

/* Griffin (docs/models.md) straight from its definition, in double: per
 * sequence and layer, the recurrent block as a loop over time carrying the
 * convolution's inputs and the RG-LRU's state, the local attention as a
 * loop over each query's window of keys (no blocks, no padding), and the
 * gated MLP. Layer l is attention when l % 3 == 2. */
static double griffin_reference_loss(const pt_model_opts *o, const ref_ctx *c) {
  int64_t B = o->batch, T = o->seq, D = o->d_model, H = o->heads, hd = D / H, F = o->mlp_hidden,
          V = o->vocab, R = o->lru_width, Rh = R / H, Wn = o->window;
  int64_t wide = R > D ? R : D;
  double *x = calloc((size_t)(T * D), sizeof *x), *h = calloc((size_t)(T * D), sizeof *h);
  double *gate = calloc((size_t)(T * wide), sizeof *gate),
         *xr = calloc((size_t)(T * R), sizeof *xr);
  double *state = calloc((size_t)R, sizeof *state), *mixed = calloc((size_t)wide, sizeof *mixed);
  double *q = calloc((size_t)(T * D), sizeof *q), *k = calloc((size_t)(T * hd), sizeof *k);
  double *v = calloc((size_t)(T * hd), sizeof *v), *p = calloc((size_t)Wn, sizeof *p);
  double *u = calloc((size_t)F, sizeof *u), *g = calloc((size_t)F, sizeof *g);
  double *tmp = calloc((size_t)D, sizeof *tmp), *logits = calloc((size_t)V, sizeof *logits);
  double total = 0;
  char n1[96], n2[96], n3[96];
  for (int64_t b = 0; b < B; b++) {
    for (int64_t t = 0; t < T; t++) {
      int64_t tok = (int64_t)arg_at(c, "tokens", b * T + t);
      for (int64_t i = 0; i < D; i++)
        x[t * D + i] = arg_at(c, "embed.table", tok * D + i);
    }
    for (int64_t l = 0; l < o->layers; l++) {
#define NAME(buf, leaf) snprintf(buf, sizeof buf, "layers.%lld.%s", (long long)l, leaf)
      NAME(n1, "norm1.scale");
      for (int64_t t = 0; t < T; t++)
        ref_norm(c, false, n1, NULL, x + t * D, h + t * D, D);
      if (l % 3 != 2) { /* the recurrent block */
        NAME(n1, "rg_lru.wy"), NAME(n2, "rg_lru.wx");
        for (int64_t t = 0; t < T; t++) {
          ref_matvec(c, n1, h + t * D, D, R, gate + t * R);
          for (int64_t j = 0; j < R; j++)
            gate[t * R + j] = ref_gelu(gate[t * R + j]);
          ref_matvec(c, n2, h + t * D, D, R, xr + t * R);
        }
        for (int64_t j = 0; j < R; j++)
          state[j] = 0;
        for (int64_t t = 0; t < T; t++) {
          double conv[1024], sp;
          ck_assert_int_le(R, 1024);
          for (int64_t j = 0; j < R; j++) {
            NAME(n1, "rg_lru.conv_b"), NAME(n2, "rg_lru.conv_w");
            conv[j] = arg_at(c, n1, j);
            for (int64_t s = 0; s < 4 && s <= t; s++)
              conv[j] += arg_at(c, n2, s * R + j) * xr[(t - s) * R + j];
          }
          for (int64_t j = 0; j < R; j++) {
            int64_t head = j / Rh, col = j % Rh;
            double za = 0, zi = 0;
            NAME(n1, "rg_lru.wa"), NAME(n2, "rg_lru.wi");
            for (int64_t e = 0; e < Rh; e++) {
              za += conv[head * Rh + e] * arg_at(c, n1, (head * Rh + e) * Rh + col);
              zi += conv[head * Rh + e] * arg_at(c, n2, (head * Rh + e) * Rh + col);
            }
            NAME(n1, "rg_lru.ba"), NAME(n2, "rg_lru.bi"), NAME(n3, "rg_lru.lambda");
            double r = 1 / (1 + exp(-(za + arg_at(c, n1, j))));
            double in = 1 / (1 + exp(-(zi + arg_at(c, n2, j))));
            sp = log1p(exp(-arg_at(c, n3, j))); /* softplus(-lambda) */
            double a = exp(-8.0 * r * sp);
            state[j] = a * state[j] + sqrt(1 - a * a) * (in * conv[j]);
            mixed[j] = gate[t * R + j] * state[j];
          }
          NAME(n1, "rg_lru.wo");
          ref_matvec(c, n1, mixed, R, D, tmp);
          for (int64_t i = 0; i < D; i++)
            x[t * D + i] += tmp[i];
        }
      } else { /* local multi-query attention over the keys t - W < s <= t */
        NAME(n1, "attn.wq"), NAME(n2, "attn.wk"), NAME(n3, "attn.wv");
        for (int64_t t = 0; t < T; t++) {
          ref_matvec(c, n1, h + t * D, D, D, q + t * D);
          ref_matvec(c, n2, h + t * D, D, hd, k + t * hd);
          ref_matvec(c, n3, h + t * D, D, hd, v + t * hd);
        }
        double ctx[1024];
        ck_assert_int_le(D, 1024);
        double *ctx_all = calloc((size_t)(T * D), sizeof *ctx_all);
        for (int64_t t = 0; t < T; t++) {
          int64_t first = t - Wn + 1 > 0 ? t - Wn + 1 : 0;
          for (int64_t n = 0; n < H; n++) {
            double mx = -INFINITY, sum = 0;
            for (int64_t s = first; s <= t; s++) {
              double sc = 0;
              for (int64_t i = 0; i < hd; i++)
                sc += q[t * D + n * hd + i] * k[s * hd + i];
              p[s - first] = sc / sqrt((double)hd);
              mx = fmax(mx, p[s - first]);
            }
            for (int64_t s = first; s <= t; s++)
              sum += (p[s - first] = exp(p[s - first] - mx));
            for (int64_t i = 0; i < hd; i++) {
              double a = 0;
              for (int64_t s = first; s <= t; s++)
                a += p[s - first] / sum * v[s * hd + i];
              ctx_all[t * D + n * hd + i] = a;
            }
          }
        }
        NAME(n1, "attn.wo");
        for (int64_t t = 0; t < T; t++) {
          for (int64_t i = 0; i < D; i++)
            ctx[i] = ctx_all[t * D + i];
          ref_matvec(c, n1, ctx, D, D, tmp);
          for (int64_t i = 0; i < D; i++)
            x[t * D + i] += tmp[i];
        }
        free(ctx_all);
      }
      NAME(n1, "norm2.scale");
      for (int64_t t = 0; t < T; t++)
        ref_norm(c, false, n1, NULL, x + t * D, h + t * D, D);
      NAME(n1, "mlp.w_gate"), NAME(n2, "mlp.w_in"), NAME(n3, "mlp.w_out");
      for (int64_t t = 0; t < T; t++) {
        ref_matvec(c, n1, h + t * D, D, F, g);
        ref_matvec(c, n2, h + t * D, D, F, u);
        for (int64_t i = 0; i < F; i++)
          u[i] *= ref_gelu(g[i]);
        ref_matvec(c, n3, u, F, D, tmp);
        for (int64_t i = 0; i < D; i++)
          x[t * D + i] += tmp[i];
      }
#undef NAME
    }
    for (int64_t t = 0; t < T; t++) {
      ref_norm(c, false, "final_norm.scale", NULL, x + t * D, h, D);
      ref_matvec(c, "lm_head.w", h, D, V, logits);
      double mx = -INFINITY, sum = 0;
      for (int64_t i = 0; i < V; i++)
        mx = fmax(mx, logits[i]);
      for (int64_t i = 0; i < V; i++)
        sum += exp(logits[i] - mx);
      total += log(sum) + mx - logits[(int64_t)arg_at(c, "labels", b * T + t)];
    }
  }
  free(x), free(h), free(gate), free(xr), free(state), free(mixed), free(q), free(k), free(v);
  free(p), free(u), free(g), free(tmp), free(logits);
  return total / (double)(B * T);
}

/* The interpreter's loss of every language model equals the float64
 * reference's, with every parameter random (norm scales and biases, and
 * Griffin's gate biases, convolution bias and lambda too, which the seeded
 * initialisation leaves zero). Griffin twice: the window a third of the
 * sequence (keys from the previous block, the first block's padding
 * masked) and the whole of it (one block), with an RG-LRU wider than the
 * model and one narrower. */
START_TEST(loss_matches_a_float64_reference) {
  pt_model_opts cases[4] = {pt_model_defaults(PT_MODEL_GPT), pt_model_defaults(PT_MODEL_LLAMA),
                            pt_model_defaults(PT_MODEL_GRIFFIN),
                            pt_model_defaults(PT_MODEL_GRIFFIN)};
  for (int kk = 0; kk < 2; kk++) {
    pt_model_opts *o = &cases[kk];
    o->layers = 2, o->d_model = 32, o->heads = 4, o->kv_heads = kk ? 2 : 4, o->mlp_hidden = 48,
    o->vocab = 29, o->seq = 7, o->batch = 2;
  }
  for (int kk = 2; kk < 4; kk++) {
    pt_model_opts *o = &cases[kk];
    o->layers = kk == 2 ? 3 : 6, o->d_model = 16, o->heads = 2, o->mlp_hidden = 24, o->vocab = 29,
    o->seq = 12, o->batch = 2, o->window = kk == 2 ? 4 : 12, o->lru_width = kk == 2 ? 20 : 12;
  }
  for (int kk = 0; kk < 4; kk++) {
    const pt_model_opts o = cases[kk];
    char *text = pt_model_write(&o);
    ck_assert_ptr_nonnull(text);
    pt_module *m = load_text(text, "model.pir");
    pt_func *f = pt_module_find_func(m, "loss");
    pt_tensor **args = pt_calloc((size_t)f->nargs, sizeof *args);
    uint64_t state = 42;
    for (int i = 0; i < f->nargs; i++) {
      pt_init_spec s = pt_init_spec_for(f, f->args[i], 5);
      args[i] = pt_init_tensor(&s, f->args[i]->type);
      if (f->args[i]->type.rank == 1) /* norm scales and biases: random too */
        for (int64_t e = 0; e < pt_type_numel(&f->args[i]->type); e++)
          pt_tensor_set(args[i], e, (pt_test_rnd(&state, 2001) - 1000) / 2500.0);
    }
    pt_tensor *out = NULL;
    pt_diag *d = pt_diag_create(stderr);
    ck_assert_int_eq(pt_interp_run(f, args, &out, d), PT_OK);
    double got = pt_tensor_get(out, 0);
    ref_ctx c = {f, args};
    double want =
        o.kind == PT_MODEL_GRIFFIN ? griffin_reference_loss(&o, &c) : reference_loss(&o, &c);
    double rel = fabs(got - want) / fabs(want);
    fprintf(stderr,
            "models: case %d (%s): interpreter %.9g, float64 reference %.9g, relative "
            "error %.2g\n",
            kk, pt_model_kind_name(o.kind), got, want, rel);
    ck_assert_msg(rel <= 1e-4, "case %d (%s): interpreter %.9g, reference %.9g", kk,
                  pt_model_kind_name(o.kind), got, want);
    ck_assert_msg(fabs(want - log(29.0)) > 1e-3, "case %d (%s): the reference is just ln V (%g)",
                  kk, pt_model_kind_name(o.kind), want);
    pt_tensor_destroy(out);
    pt_tensors_destroy(args, f->nargs);
    pt_diag_destroy(d);
    pt_module_destroy(m);
    free(text);
  }
}
END_TEST

/* The MLP at 1 to 4 layers: canonical text, parameters w1, b1, ... wN, bN of
 * the right shapes, and a loss equal to a float64 computation straight from
 * its definition (ReLU between the layers, mean-squared error). */
START_TEST(mlp_at_any_depth) {
  for (int64_t N = 1; N <= 4; N++) {
    pt_model_opts o = pt_model_defaults(PT_MODEL_MLP);
    o.layers = N, o.d_model = 6, o.mlp_hidden = 10, o.batch = 5;
    char *text = pt_model_write(&o);
    pt_diag *d = pt_diag_create(stderr);
    pt_module *raw = pt_parse(text, strlen(text), "mlp.pir", d);
    ck_assert_ptr_nonnull(raw);
    char *printed = pt_print_module_str(raw);
    ck_assert_msg(strcmp(printed, text) == 0, "%lld layers: not in canonical form", (long long)N);
    pt_free(printed);
    pt_module_destroy(raw);
    pt_module *m = load_text(text, "mlp.pir");
    pt_func *f = pt_module_find_func(m, "loss");
    ck_assert_int_eq(f->nargs, 2 + 2 * (int)N);
    pt_tensor **args = pt_calloc((size_t)f->nargs, sizeof *args);
    uint64_t state = 7 + (uint64_t)N;
    for (int i = 0; i < f->nargs; i++) {
      args[i] = pt_tensor_create(f->args[i]->type);
      for (int64_t e = 0; e < pt_type_numel(&f->args[i]->type); e++)
        pt_tensor_set(args[i], e, (pt_test_rnd(&state, 2001) - 1000) / 1000.0);
    }
    /* the reference: h <- relu(h . wk + bk), the last layer without relu */
    double h[5][16], next[5][16];
    int64_t width = 6;
    for (int r = 0; r < 5; r++)
      for (int c = 0; c < 6; c++)
        h[r][c] = pt_tensor_get(args[0], r * 6 + c);
    for (int64_t k = 1; k <= N; k++) {
      char wn[16], bn[16];
      snprintf(wn, sizeof wn, "w%lld", (long long)k);
      snprintf(bn, sizeof bn, "b%lld", (long long)k);
      const pt_value *w = pt_func_find_arg(f, wn), *b = pt_func_find_arg(f, bn);
      ck_assert_msg(w && b, "%lld layers: no %s or %s", (long long)N, wn, bn);
      int64_t out = k == N ? 6 : 10;
      ck_assert_int_eq(w->type.dims[0], width);
      ck_assert_int_eq(w->type.dims[1], out);
      for (int r = 0; r < 5; r++)
        for (int64_t c = 0; c < out; c++) {
          double acc = pt_tensor_get(args[b->arg_index], c);
          for (int64_t j = 0; j < width; j++)
            acc += h[r][j] * pt_tensor_get(args[w->arg_index], j * out + c);
          next[r][c] = k < N && acc < 0 ? 0 : acc;
        }
      memcpy(h, next, sizeof h);
      width = out;
    }
    double want = 0;
    for (int r = 0; r < 5; r++)
      for (int c = 0; c < 6; c++) {
        double e = h[r][c] - pt_tensor_get(args[1], r * 6 + c);
        want += e * e / 30.0;
      }
    pt_tensor *y = NULL;
    ck_assert_int_eq(pt_interp_run(f, args, &y, d), PT_OK);
    double got = pt_tensor_get(y, 0);
    ck_assert_msg(fabs(got - want) <= 1e-5 * fabs(want), "%lld layers: interpreter %.9g, "
                  "reference %.9g", (long long)N, got, want);
    pt_tensor_destroy(y);
    pt_tensors_destroy(args, f->nargs);
    pt_diag_destroy(d);
    pt_module_destroy(m);
    free(text);
  }
}
END_TEST

/* With the LM head zero every logit is 0, so the cross-entropy of every
 * token is ln V, whatever the blocks computed. */
START_TEST(uniform_logits_give_ln_vocab) {
  const pt_model_kind kinds[] = {PT_MODEL_GPT, PT_MODEL_LLAMA, PT_MODEL_GRIFFIN};
  for (int k = 0; k < 3; k++) {
    pt_model_opts o = pt_model_defaults(kinds[k]);
    o.d_model = 32, o.heads = 4,
    o.kv_heads = k == 1   ? 2
                 : k == 2 ? 1
                          : 4,
    o.mlp_hidden = 64, o.vocab = 37, o.seq = 6, o.batch = 2, o.window = 3, o.lru_width = 24;
    char *text = pt_model_write(&o);
    pt_module *m = load_text(text, "small.pir");
    pt_func *f = pt_module_find_func(m, "loss");
    pt_tensor **args = pt_calloc((size_t)f->nargs, sizeof *args);
    for (int i = 0; i < f->nargs; i++) {
      pt_init_spec s = pt_init_spec_for(f, f->args[i], 9);
      args[i] = pt_init_tensor(&s, f->args[i]->type);
    }
    pt_tensor *out = NULL;
    pt_diag *d = pt_diag_create(stderr);
    ck_assert_int_eq(pt_interp_run(f, args, &out, d), PT_OK);
    double random_head = pt_tensor_get(out, 0);
    pt_tensor_destroy(out);
    int head = pt_func_find_arg(f, "lm_head.w")->arg_index;
    pt_tensor_destroy(args[head]);
    args[head] = pt_tensor_create(f->args[head]->type); /* zeros */
    ck_assert_int_eq(pt_interp_run(f, args, &out, d), PT_OK);
    double uniform = pt_tensor_get(out, 0);
    ck_assert_msg(fabs(uniform - log(37.0)) < 1e-5, "%s: loss %.8g, ln 37 = %.8g",
                  pt_model_kind_name(o.kind), uniform, log(37.0));
    ck_assert_msg(isfinite(random_head) && random_head != uniform, "random head: %g",
                  random_head);
    pt_tensor_destroy(out);
    pt_tensors_destroy(args, f->nargs);
    pt_diag_destroy(d);
    pt_module_destroy(m);
    free(text);
  }
}
END_TEST

/* The training loop's synthetic labels (runtime/train.h) are a fixed
 * permutation of the seeded tokens: label = (a t + 1) mod V with a coprime
 * to V, so every token has one label and the map is learnable. */
START_TEST(synthetic_labels_permute_the_tokens) {
  pt_model_opts o = pt_model_defaults(PT_MODEL_GPT);
  o.vocab = 40; /* 5 divides 40: the multiplier moves on to 7 */
  char *text = pt_model_write(&o);
  pt_module *m = load_text(text, "gpt.pir");
  pt_func *f = pt_module_find_func(m, "loss");
  const pt_value *labels = pt_func_find_arg(f, "labels"), *tokens = pt_func_find_arg(f, "tokens");
  ck_assert_ptr_null(pt_train_data_teacher(NULL, f, tokens, 3));
  pt_tensor *l = pt_train_data_teacher(NULL, f, labels, 3);
  ck_assert_ptr_nonnull(l);
  pt_init_spec ts = pt_init_spec_for(f, tokens, 3);
  pt_tensor *t = pt_init_tensor(&ts, tokens->type);
  int64_t n = pt_type_numel(&labels->type);
  int distinct_tokens = 0;
  bool seen[40] = {0};
  for (int64_t i = 0; i < n; i++) {
    int64_t tok = (int64_t)pt_tensor_get(t, i);
    ck_assert(tok >= 0 && tok < 40);
    ck_assert_int_eq((int64_t)pt_tensor_get(l, i), (7 * tok + 1) % 40);
    distinct_tokens += !seen[tok];
    seen[tok] = true;
  }
  ck_assert_int_ge(distinct_tokens, 30); /* 512 seeded tokens cover the vocabulary */
  pt_tensor_destroy(l);
  pt_tensor_destroy(t);
  pt_module_destroy(m);
  free(text);
}
END_TEST

static char tmpdir[] = "/tmp/partita-models-XXXXXX";

/* Megatron with the vocabulary split (examples/<model>.mp.yaml): the
 * embedding's rows and the LM head's columns, with their gradients and Adam
 * moments, stay split; the embedding gradient's scatter_add and the
 * cross-entropy's one-hot iota compute their blocks in place, so the whole
 * train step needs all-reduces only and propagation meets no conflict.
 * Griffin's RG-LRU split by heads (block-diagonal gates) adds none: its
 * scans run on each device's channels. */
START_TEST(vocabulary_parallel_needs_only_all_reduces) {
  const char *models[] = {"gpt", "llama", "griffin"};
  char rel[128];
  snprintf(rel, sizeof rel, "tests/data/tiny_%s.pir", models[_i]);
  char *path = pt_test_path(rel), *text = pt_test_slurp(path);
  pt_module *m = load_text(text, rel);
  pt_diag *d = pt_diag_create(stderr);
  pt_func *f = NULL;
  pt_optimizer o = pt_optimizer_default(PT_OPTIM_ADAM);
  ck_assert(pt_pass_train_step(m, "loss", &o, NULL, &f, d) == PT_OK);
  snprintf(rel, sizeof rel, "examples/%s.mp.yaml", models[_i]);
  char *spath = pt_test_path(rel);
  pt_schedule *sc = pt_schedule_read(spath, d);
  ck_assert(sc && pt_schedule_set_mesh(m, sc, d) == PT_OK);
  pt_prop_report rep = {0};
  ck_assert(pt_schedule_apply(f, sc, &rep, d) == PT_OK);
  ck_assert_msg(rep.nconflicts == 0, "%s: %d conflicts, the first: %s", rel, rep.nconflicts,
                rep.nconflicts ? rep.conflicts[0].why : "");
  int64_t V = pt_func_find_arg(f, "embed.table")->type.dims[0];
  const char *rows[] = {"embed.table", "opt.embed.table.m", "opt.embed.table.v"};
  const char *cols[] = {"lm_head.w", "opt.lm_head.w.m", "opt.lm_head.w.v"};
  for (int k = 0; k < 3; k++) {
    ck_assert_int_eq(pt_sharding_local_type(pt_func_find_arg(f, rows[k])).dims[0], V / 2);
    ck_assert_int_eq(pt_sharding_local_type(pt_func_find_arg(f, cols[k])).dims[1], V / 2);
  }
  int scatters = 0, iotas = 0, scans = 0;
  for (int i = 0; i < f->nops; i++) {
    const pt_op *op = f->ops[i];
    pt_axis_state s = pt_sharding_axis(op->result, 0);
    /* Griffin: the recurrence (and its reverse in the gradient) runs on
     * each device's channels, split on the width dim, whole along time */
    if (op->code == PT_OP_SCAN) {
      ck_assert_msg(s.kind == PT_SH_SHARDED && s.dim == 2, "%s: a scan is not split by channel",
                    rel);
      scans++;
    }
    if (op->code == PT_OP_SCATTER_ADD) {
      ck_assert_msg(s.kind == PT_SH_SHARDED && s.dim == 0, "the embedding gradient is not split");
      scatters++;
    }
    if (op->code == PT_OP_IOTA && op->result->type.rank == 3 &&
        op->result->type.dims[2] == V) {
      ck_assert_msg(s.kind == PT_SH_SHARDED && s.dim == 2, "the vocabulary's iota is not split");
      iotas++;
    }
  }
  ck_assert_int_eq(scatters, 1);
  ck_assert_int_ge(iotas, 1);
  /* two recurrent layers: a scan forward and a reverse one backward each */
  ck_assert_int_eq(scans, strcmp(models[_i], "griffin") == 0 ? 4 : 0);
  pt_lower_stats st = {0};
  pt_lower_opts lo = {NULL, NULL, 0, &st};
  pt_func *g = NULL;
  ck_assert(pt_pass_lower(m, f, &lo, &g, d) == PT_OK && pt_verify_func(g, d) == PT_OK);
  ck_assert_int_gt(st.count[2], 0);
  for (int k = 0; k < 6; k++)
    ck_assert_msg(k == 2 || st.count[k] == 0, "%s: %d collectives of kind %d besides all-reduces",
                  rel, st.count[k], k);
  pt_lower_stats_free(&st);
  pt_prop_report_free(&rep);
  pt_schedule_destroy(sc);
  pt_module_destroy(m);
  pt_diag_destroy(d);
  pt_free(spath);
  pt_free(text);
  pt_free(path);
}
END_TEST

static const pt_test_usage_case bad[] = {
    {"no kind", "model", 2, "which model? gpt, llama, griffin or mlp"},
    {"unknown kind", "model bert", 2,
     "unknown model 'bert' (the models: gpt, llama, griffin, mlp)"},
    {"mlp with heads", "model mlp --heads 4", 2,
     "--heads is not a size of the mlp model (it takes --layers, --d-model, --mlp-hidden and "
     "--batch)"},
    {"mlp with a vocabulary", "model mlp --vocab 10", 2, "--vocab is not a size of the mlp model"},
    {"mlp too wide", "model mlp --mlp-hidden 20000000", 2,
     "--mlp-hidden needs an integer in [1, 16777216], not 20000000"},
    {"two kinds", "model gpt llama", 2, "model takes one kind, got 2 words"},
    {"heads not dividing", "model gpt --d-model 256 --heads 5", 2,
     "--heads 5 does not divide --d-model 256"},
    {"kv heads not dividing", "model llama --heads 8 --kv-heads 3", 2,
     "--kv-heads 3 does not divide --heads 8"},
    {"odd rotary head", "model llama --d-model 36 --heads 4", 2,
     "rotary embeddings need an even head size, not 9"},
    {"zero layers", "model gpt --layers 0", 2, "--layers needs an integer >= 1, not '0'"},
    {"garbage size", "model gpt --vocab lots", 2, "--vocab needs an integer >= 1, not 'lots'"},
    {"too many layers", "model gpt --layers 5000", 2, "--layers needs an integer in [1, 4096]"},
    {"too large", "model gpt --seq 16000000 --batch 16000000 --vocab 16000000", 2,
     "the model is too large"},
    {"unknown option", "model gpt --depth 3", 2, "--depth"},
    {"griffin window not dividing", "model griffin --window 5", 2,
     "--window 5 does not divide --seq 64 (the local attention works in blocks of the window)"},
    {"griffin with key/value heads", "model griffin --kv-heads 2", 2,
     "griffin's local attention is multi-query: --kv-heads must be 1, not 2"},
    {"griffin gate blocks not dividing", "model griffin --lru-width 30", 2,
     "--heads 4 does not divide --lru-width 30 (the RG-LRU's gates are block-diagonal over the "
     "heads)"},
    {"griffin zero window", "model griffin --window 0", 2, "--window needs an integer >= 1"},
    {"griffin too wide", "model griffin --lru-width 20000000", 2,
     "--lru-width needs an integer in [1, 16777216], not 20000000"},
    {"window on gpt", "model gpt --window 4", 2, "--window is a size of the griffin model only"},
    {"lru width on mlp", "model mlp --lru-width 4", 2, "--lru-width is not a size of the mlp"},
    {"unwritable output", "model gpt -o /nonexistent/dir/m.pir", 1, "/nonexistent/dir/m.pir"},
};

START_TEST(command_errors) { pt_test_check_usage(tmpdir, &bad[_i]); }
END_TEST

START_TEST(command_writes_a_model) {
  pt_test_result r = pt_test_partita_run(tmpdir, "model llama --layers 3 -o $T/l.pir && "
                                                 "\"$PT_PARTITA\" check $T/l.pir");
  ck_assert_msg(r.status == 0, "status %d: %s", r.status, r.err);
  ck_assert_msg(strstr(r.out, "ok (2 functions") && strstr(r.out, "3 calls"), "%s", r.out);
  pt_test_result_free(&r);
  r = pt_test_partita_run(tmpdir, "model gpt --help");
  ck_assert_int_eq(r.status, 0);
  ck_assert_ptr_nonnull(strstr(r.out, "Usage: partita model gpt|llama"));
  ck_assert_ptr_nonnull(strstr(r.out, "partita model mlp [--layers N]"));
  pt_test_result_free(&r);
  r = pt_test_partita_run(tmpdir, "model mlp --layers 4 --d-model 64 -o $T/m.pir && "
                                  "\"$PT_PARTITA\" check $T/m.pir");
  ck_assert_msg(r.status == 0 && strstr(r.out, "ok (1 function, 21 ops)"), "%s%s", r.out, r.err);
  pt_test_result_free(&r);
  r = pt_test_partita_run(tmpdir, "model griffin --layers 4 --d-model 64 --heads 2 --seq 32 "
                                  "--window 8 -o $T/g.pir && \"$PT_PARTITA\" check $T/g.pir");
  ck_assert_msg(r.status == 0 && strstr(r.out, "ok (3 functions") && strstr(r.out, "4 calls"),
                "%s%s", r.out, r.err);
  pt_test_result_free(&r);
  r = pt_test_partita_run(tmpdir, "model griffin --d-model 64 --heads 2 --seq 32 --window 8 | "
                                  "head -1");
  ck_assert_msg(strstr(r.out, "--layers 3 --d-model 64 --heads 2 --kv-heads 1 --mlp-hidden 192 "
                              "--vocab 512 --seq 32 --batch 8 --window 8 --lru-width 84`"),
                "the widths follow --d-model: %s", r.out);
  pt_test_result_free(&r);
  r = pt_test_partita_run(tmpdir, "model gpt | head -1");
  ck_assert_ptr_nonnull(strstr(r.out, "// A GPT-style language model, written by `partita model gpt"));
  pt_test_result_free(&r);
}
END_TEST

int main(void) {
  if (!mkdtemp(tmpdir)) {
    perror("test_models: mkdtemp");
    return 1;
  }
  Suite *s = suite_create("models");
  TCase *tc = tcase_create("models");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, examples_are_the_generators_output);
  tcase_add_test(tc, sizes_and_names);
  tcase_add_test(tc, griffin_sizes_names_and_shifts);
  tcase_add_test(tc, loss_matches_a_float64_reference);
  tcase_add_test(tc, uniform_logits_give_ln_vocab);
  tcase_add_test(tc, mlp_at_any_depth);
  tcase_add_test(tc, synthetic_labels_permute_the_tokens);
  tcase_add_loop_test(tc, vocabulary_parallel_needs_only_all_reduces, 0, 3);
  tcase_add_loop_test(tc, command_errors, 0, (int)(sizeof bad / sizeof bad[0]));
  tcase_add_test(tc, command_writes_a_model);
  suite_add_tcase(s, tc);
  int rc = pt_test_main(s);
  char cmd[300];
  snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
  if (system(cmd) != 0)
    rc = 1;
  return rc;
}
