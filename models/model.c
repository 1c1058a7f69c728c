/* The model library's writer (model.h): prints a GPT- or Llama-style
 * language model, or a multi-layer perceptron, as partita IR text (Griffin
 * is griffin.c, on the emitters writer.h shares). Every op gets a
 * comment-free line; each part (norm, attention, MLP, loss) is one emitter,
 * so the two families differ only in which emitters they call. */
#include "model.h"
#include "writer.h"

#include "ir.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { MAX_DIM = 1 << 24, MAX_LAYERS = 4096 };

pt_model_opts pt_model_defaults(pt_model_kind k) {
  pt_model_opts o = {.kind = k, .layers = 2, .d_model = 256, .heads = 4, .kv_heads = 4,
                     .mlp_hidden = 1024, .vocab = 512, .seq = 64, .batch = 8};
  if (k == PT_MODEL_MLP) /* examples/mlp.pir; the attention sizes are unused */
    o = (pt_model_opts){.kind = k, .layers = 2, .d_model = 1024, .heads = 1, .kv_heads = 1,
                        .mlp_hidden = 1024, .vocab = 1, .seq = 1, .batch = 64};
  if (k == PT_MODEL_LLAMA) {
    o.kv_heads = 2;     /* grouped-query attention: two query heads per key/value head */
    o.mlp_hidden = 704; /* ~8/3 of d_model, a multiple of 64, as SwiGLU models size it */
  }
  if (k == PT_MODEL_GRIFFIN) /* the pattern once: two recurrent blocks, one attention */
    o = (pt_model_opts){.kind = k,
                        .layers = 3,
                        .d_model = 192,
                        .heads = 4,
                        .kv_heads = 1,
                        .mlp_hidden = 3 * 192,
                        .vocab = 512,
                        .seq = 64,
                        .batch = 8,
                        .window = 16,
                        .lru_width = pt_model_griffin_lru_width(192, 4)};
  return o;
}

bool pt_model_kind_parse(const char *s, pt_model_kind *out) {
  if (strcmp(s, "gpt") == 0)
    *out = PT_MODEL_GPT;
  else if (strcmp(s, "llama") == 0)
    *out = PT_MODEL_LLAMA;
  else if (strcmp(s, "mlp") == 0)
    *out = PT_MODEL_MLP;
  else if (strcmp(s, "griffin") == 0)
    *out = PT_MODEL_GRIFFIN;
  else
    return false;
  return true;
}

const char *pt_model_kind_name(pt_model_kind k) {
  switch (k) {
  case PT_MODEL_GPT:
    return "gpt";
  case PT_MODEL_LLAMA:
    return "llama";
  case PT_MODEL_MLP:
    return "mlp";
  case PT_MODEL_GRIFFIN:
    return "griffin";
  }
  return "?";
}

int64_t pt_model_griffin_lru_width(int64_t d_model, int64_t heads) {
  if (d_model > MAX_DIM || heads < 1) /* an impossible size pt_model_check reports */
    return d_model;
  int64_t r = d_model * 4 / 3 / heads * heads;
  return r > heads ? r : heads;
}

/* Griffin's own sizes: the window tiles the sequence, the RG-LRU's gate
 * blocks split its width by heads, and the attention is multi-query. */
static bool griffin_check(const pt_model_opts *o, char *err, size_t n) {
  bool bad_window = o->window < 1 || o->window > MAX_DIM;
  if (bad_window || o->lru_width < 1 || o->lru_width > MAX_DIM) {
    snprintf(err, n, "%s needs an integer in [1, %d], not %lld",
             bad_window ? "--window" : "--lru-width", MAX_DIM,
             (long long)(bad_window ? o->window : o->lru_width));
    return false;
  }
  if (o->kv_heads != 1) {
    snprintf(err, n, "griffin's local attention is multi-query: --kv-heads must be 1, not %lld",
             (long long)o->kv_heads);
    return false;
  }
  if (o->seq % o->window) {
    snprintf(err, n,
             "--window %lld does not divide --seq %lld (the local attention works in "
             "blocks of the window)",
             (long long)o->window, (long long)o->seq);
    return false;
  }
  if (o->lru_width % o->heads) {
    snprintf(err, n,
             "--heads %lld does not divide --lru-width %lld (the RG-LRU's gates are "
             "block-diagonal over the heads)",
             (long long)o->heads, (long long)o->lru_width);
    return false;
  }
  return true;
}

bool pt_model_check(const pt_model_opts *o, char *err, size_t n) {
  const struct {
    const char *name;
    int64_t v, max;
  } sizes[] = {{"--layers", o->layers, MAX_LAYERS},   {"--d-model", o->d_model, MAX_DIM},
               {"--heads", o->heads, MAX_DIM},        {"--kv-heads", o->kv_heads, MAX_DIM},
               {"--mlp-hidden", o->mlp_hidden, MAX_DIM}, {"--vocab", o->vocab, MAX_DIM},
               {"--seq", o->seq, MAX_DIM},            {"--batch", o->batch, MAX_DIM}};
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
    if (sizes[i].v < 1 || sizes[i].v > sizes[i].max) {
      snprintf(err, n, "%s needs an integer in [1, %lld], not %lld", sizes[i].name,
               (long long)sizes[i].max, (long long)sizes[i].v);
      return false;
    }
  if (o->kind == PT_MODEL_MLP)
    return true; /* its largest tensor, [batch, max(d_model, hidden)], is below 2^48 */
  if (o->kind == PT_MODEL_GRIFFIN && !griffin_check(o, err, n))
    return false;
  if (o->d_model % o->heads) {
    snprintf(err, n, "--heads %lld does not divide --d-model %lld", (long long)o->heads,
             (long long)o->d_model);
    return false;
  }
  if (o->heads % o->kv_heads) {
    snprintf(err, n, "--kv-heads %lld does not divide --heads %lld", (long long)o->kv_heads,
             (long long)o->heads);
    return false;
  }
  if (o->kind == PT_MODEL_LLAMA && (o->d_model / o->heads) % 2) {
    snprintf(err, n, "rotary embeddings need an even head size, not %lld (--d-model / --heads)",
             (long long)(o->d_model / o->heads));
    return false;
  }
  /* the largest tensor, the attention scores [batch, heads, seq, seq]
   * (Griffin's [batch, heads, seq, 2 window]) or the logits [batch, seq,
   * vocab], must have fewer than 2^62 elements */
  double keys = o->kind == PT_MODEL_GRIFFIN ? 2 * (double)o->window : (double)o->seq;
  double scores = (double)o->batch * (double)o->heads * (double)o->seq * keys;
  double logits = (double)o->batch * (double)o->seq * (double)o->vocab;
  if (scores > 0x1p62 || logits > 0x1p62) {
    snprintf(err, n, "the model is too large: its attention scores or logits would have more "
                     "than 2^62 elements");
    return false;
  }
  return true;
}

/* ---- the writer ------------------------------------------------------------ */

typedef pt_mw W;
#define put pt_mw_put /* the short names the emitters below were written with */
#define num pt_mw_num

void pt_mw_put(W *w, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vfprintf(w->f, fmt, ap);
  va_end(ap);
}

const char *pt_mw_num(double v, char *buf) {
  pt_fmt_double(v, buf, 40);
  return buf;
}

/* RMSNorm (Llama, Griffin) or LayerNorm with a bias (GPT); gains are
 * written 1 + scale so that zero-initialised scales start as the identity. */
void pt_mw_norm(W *w, const char *p, const char *in, const char *scale, const char *bias,
                const char *out) {
  long long B = w->B, T = w->T, D = w->D;
  char nb[40];
  const char *src = in;
  char centred[64];
  if (bias) {
    put(w, "  %%%s_sum = reduce_sum %%%s {dims = [2]} : f32[%lld,%lld]\n", p, in, B, T);
    put(w, "  %%%s_width = constant {value = %s} : f32[%lld,%lld]\n", p, num((double)D, nb), B, T);
    put(w, "  %%%s_mean = div %%%s_sum, %%%s_width : f32[%lld,%lld]\n", p, p, p, B, T);
    put(w, "  %%%s_mean_b = broadcast %%%s_mean {dims = [0, 1]} : f32[%lld,%lld,%lld]\n", p, p, B,
        T, D);
    put(w, "  %%%s_centred = sub %%%s, %%%s_mean_b : f32[%lld,%lld,%lld]\n", p, in, p, B, T, D);
    snprintf(centred, sizeof centred, "%s_centred", p);
    src = centred;
  }
  put(w, "  %%%s_sq = mul %%%s, %%%s : f32[%lld,%lld,%lld]\n", p, src, src, B, T, D);
  put(w, "  %%%s_sq_sum = reduce_sum %%%s_sq {dims = [2]} : f32[%lld,%lld]\n", p, p, B, T);
  if (!bias)
    put(w, "  %%%s_width = constant {value = %s} : f32[%lld,%lld]\n", p, num((double)D, nb), B, T);
  put(w, "  %%%s_ms = div %%%s_sq_sum, %%%s_width : f32[%lld,%lld]\n", p, p, p, B, T);
  put(w, "  %%%s_eps = constant {value = 1e-05} : f32[%lld,%lld]\n", p, B, T);
  put(w, "  %%%s_ms_eps = add %%%s_ms, %%%s_eps : f32[%lld,%lld]\n", p, p, p, B, T);
  put(w, "  %%%s_inv = rsqrt %%%s_ms_eps : f32[%lld,%lld]\n", p, p, B, T);
  put(w, "  %%%s_inv_b = broadcast %%%s_inv {dims = [0, 1]} : f32[%lld,%lld,%lld]\n", p, p, B, T,
      D);
  put(w, "  %%%s_normed = mul %%%s, %%%s_inv_b : f32[%lld,%lld,%lld]\n", p, src, p, B, T, D);
  put(w, "  %%%s_one = constant {value = 1.0} : f32[%lld]\n", p, D);
  put(w, "  %%%s_gain = add %%%s_one, %%%s : f32[%lld]\n", p, p, scale, D);
  put(w, "  %%%s_gain_b = broadcast %%%s_gain {dims = [2]} : f32[%lld,%lld,%lld]\n", p, p, B, T,
      D);
  if (!bias) {
    put(w, "  %%%s = mul %%%s_normed, %%%s_gain_b : f32[%lld,%lld,%lld]\n", out, p, p, B, T, D);
    return;
  }
  put(w, "  %%%s_scaled = mul %%%s_normed, %%%s_gain_b : f32[%lld,%lld,%lld]\n", p, p, p, B, T, D);
  put(w, "  %%%s_bias_b = broadcast %%%s {dims = [2]} : f32[%lld,%lld,%lld]\n", p, bias, B, T, D);
  put(w, "  %%%s = add %%%s_scaled, %%%s_bias_b : f32[%lld,%lld,%lld]\n", out, p, p, B, T, D);
}

/* Rotary position embedding of %in [B,T,N,hd] into %out: the pair (lo[i],
 * hi[i]) of the head's two halves turns by the angle rope.cos/sin[t, i]. */
static void emit_rope(W *w, const char *in, long long N, const char *out) {
  long long B = w->B, T = w->T, hd = w->hd, h2 = w->hd / 2;
  put(w, "  %%%s_lo = slice %%%s {start = [0, 0, 0, 0], limit = [%lld, %lld, %lld, %lld]} : "
         "f32[%lld,%lld,%lld,%lld]\n", in, in, B, T, N, h2, B, T, N, h2);
  put(w, "  %%%s_hi = slice %%%s {start = [0, 0, 0, %lld], limit = [%lld, %lld, %lld, %lld]} : "
         "f32[%lld,%lld,%lld,%lld]\n", in, in, h2, B, T, N, hd, B, T, N, h2);
  put(w, "  %%%s_cos = broadcast %%rope.cos {dims = [1, 3]} : f32[%lld,%lld,%lld,%lld]\n", in, B,
      T, N, h2);
  put(w, "  %%%s_sin = broadcast %%rope.sin {dims = [1, 3]} : f32[%lld,%lld,%lld,%lld]\n", in, B,
      T, N, h2);
  const char *ops[4][4] = {{"lo_c", "lo", "cos", "mul"}, {"hi_s", "hi", "sin", "mul"},
                           {"hi_c", "hi", "cos", "mul"}, {"lo_s", "lo", "sin", "mul"}};
  for (int i = 0; i < 4; i++)
    put(w, "  %%%s_%s = %s %%%s_%s, %%%s_%s : f32[%lld,%lld,%lld,%lld]\n", in, ops[i][0],
        ops[i][3], in, ops[i][1], in, ops[i][2], B, T, N, h2);
  put(w, "  %%%s_rlo = sub %%%s_lo_c, %%%s_hi_s : f32[%lld,%lld,%lld,%lld]\n", in, in, in, B, T, N,
      h2);
  put(w, "  %%%s_rhi = add %%%s_hi_c, %%%s_lo_s : f32[%lld,%lld,%lld,%lld]\n", in, in, in, B, T, N,
      h2);
  put(w, "  %%%s = concat %%%s_rlo, %%%s_rhi {dim = 3} : f32[%lld,%lld,%lld,%lld]\n", out, in, in,
      B, T, N, hd);
}

/* One projection of %h1 split into N heads, [B,N,T,hd] in %name. */
static void emit_heads(W *w, const char *name, const char *weight, long long N, bool rope) {
  long long B = w->B, T = w->T, hd = w->hd;
  put(w, "  %%%s_proj = dot %%h1, %%%s {lhs_contract = [2], rhs_contract = [0]} : "
         "f32[%lld,%lld,%lld]\n", name, weight, B, T, N * hd);
  put(w, "  %%%s_heads = reshape %%%s_proj : f32[%lld,%lld,%lld,%lld]\n", name, name, B, T, N, hd);
  char src[64], rot[64];
  snprintf(src, sizeof src, "%s_heads", name);
  if (rope) {
    snprintf(rot, sizeof rot, "%s_rot", name);
    emit_rope(w, src, N, rot);
    snprintf(src, sizeof src, "%s", rot);
  }
  put(w, "  %%%s = transpose %%%s {perm = [0, 2, 1, 3]} : f32[%lld,%lld,%lld,%lld]\n", name, src, B,
      N, T, hd);
}

static void emit_attention(W *w, bool rope) {
  long long B = w->B, T = w->T, D = w->D, H = w->H, K = w->K, hd = w->hd, G = H / K;
  put(w, "  // queries, keys and values split into %lld heads of %lld: [batch, head, seq, dim]%s\n",
      H, hd, rope ? ", turned by the rotary embedding" : "");
  emit_heads(w, "q", "attn.wq", H, rope);
  emit_heads(w, G > 1 ? "k_kv" : "k", "attn.wk", K, rope);
  emit_heads(w, G > 1 ? "v_kv" : "v", "attn.wv", K, false);
  if (G > 1) {
    put(w, "  // grouped-query attention: each key/value head serves %lld query heads\n", G);
    for (int i = 0; i < 2; i++) {
      const char *n = i ? "v" : "k";
      put(w, "  %%%s_rep = broadcast %%%s_kv {dims = [0, 1, 3, 4]} : f32[%lld,%lld,%lld,%lld,%lld]\n",
          n, n, B, K, G, T, hd);
      put(w, "  %%%s = reshape %%%s_rep : f32[%lld,%lld,%lld,%lld]\n", n, n, B, H, T, hd);
    }
  }
  put(w, "  // causal softmax(q . k^T / sqrt(%lld)) . v per batch and head\n", hd);
  put(w, "  %%qk = dot %%q, %%k {lhs_batch = [0, 1], rhs_batch = [0, 1], lhs_contract = [3], "
         "rhs_contract = [3]} : f32[%lld,%lld,%lld,%lld]\n", B, H, T, T);
  char nb[40];
  put(w, "  %%score_scale = constant {value = %s} : f32[%lld,%lld,%lld,%lld]\n",
      num(1.0 / sqrt((double)hd), nb), B, H, T, T);
  put(w, "  %%scores = mul %%qk, %%score_scale : f32[%lld,%lld,%lld,%lld]\n", B, H, T, T);
  put(w, "  %%query_pos = iota {dim = 0} : i32[%lld,%lld]\n", T, T);
  put(w, "  %%key_pos = iota {dim = 1} : i32[%lld,%lld]\n", T, T);
  put(w, "  %%causal = compare %%key_pos, %%query_pos {dir = le} : pred[%lld,%lld]\n", T, T);
  put(w, "  %%causal_b = broadcast %%causal {dims = [2, 3]} : pred[%lld,%lld,%lld,%lld]\n", B, H, T,
      T);
  put(w, "  %%masked_fill = constant {value = -1e+09} : f32[%lld,%lld,%lld,%lld]\n", B, H, T, T);
  put(w, "  %%masked = select %%causal_b, %%scores, %%masked_fill : f32[%lld,%lld,%lld,%lld]\n", B,
      H, T, T);
  put(w, "  %%row_max = reduce_max %%masked {dims = [3]} : f32[%lld,%lld,%lld]\n", B, H, T);
  put(w, "  %%row_max_s = stop_gradient %%row_max : f32[%lld,%lld,%lld]\n", B, H, T);
  put(w, "  %%row_max_b = broadcast %%row_max_s {dims = [0, 1, 2]} : f32[%lld,%lld,%lld,%lld]\n",
      B, H, T, T);
  put(w, "  %%shifted = sub %%masked, %%row_max_b : f32[%lld,%lld,%lld,%lld]\n", B, H, T, T);
  put(w, "  %%weights = exp %%shifted : f32[%lld,%lld,%lld,%lld]\n", B, H, T, T);
  put(w, "  %%row_sum = reduce_sum %%weights {dims = [3]} : f32[%lld,%lld,%lld]\n", B, H, T);
  put(w, "  %%row_sum_b = broadcast %%row_sum {dims = [0, 1, 2]} : f32[%lld,%lld,%lld,%lld]\n", B,
      H, T, T);
  put(w, "  %%probs = div %%weights, %%row_sum_b : f32[%lld,%lld,%lld,%lld]\n", B, H, T, T);
  put(w, "  %%ctx = dot %%probs, %%v {lhs_batch = [0, 1], rhs_batch = [0, 1], lhs_contract = [3], "
         "rhs_contract = [2]} : f32[%lld,%lld,%lld,%lld]\n", B, H, T, hd);
  put(w, "  %%ctx_t = transpose %%ctx {perm = [0, 2, 1, 3]} : f32[%lld,%lld,%lld,%lld]\n", B, T, H,
      hd);
  put(w, "  %%ctx_merged = reshape %%ctx_t : f32[%lld,%lld,%lld]\n", B, T, D);
  put(w, "  // output projection and the first residual\n");
  put(w, "  %%attn_out = dot %%ctx_merged, %%attn.wo {lhs_contract = [2], rhs_contract = [0]} : "
         "f32[%lld,%lld,%lld]\n", B, T, D);
  put(w, "  %%x2 = add %%x, %%attn_out : f32[%lld,%lld,%lld]\n", B, T, D);
}

void pt_mw_gelu(W *w, const char *in, const char *pre, const char *out, const char *ty) {
  put(w,
      "  // GELU, tanh approximation: 0.5 * %s * (1 + tanh(sqrt(2/pi) * (%s + 0.044715 * %s^3)))\n",
      in, in, in);
  put(w, "  %%%s_sq = mul %%%s, %%%s : %s\n", in, in, in, ty);
  put(w, "  %%%s_cube = mul %%%s_sq, %%%s : %s\n", in, in, in, ty);
  put(w, "  %%%sgelu_c = constant {value = 0.044715} : %s\n", pre, ty);
  put(w, "  %%%s_cube_c = mul %%%s_cube, %%%sgelu_c : %s\n", in, in, pre, ty);
  put(w, "  %%%sgelu_inner = add %%%s, %%%s_cube_c : %s\n", pre, in, in, ty);
  put(w, "  %%%ssqrt_2_over_pi = constant {value = 0.7978845608} : %s\n", pre, ty);
  put(w, "  %%%sgelu_arg = mul %%%sgelu_inner, %%%ssqrt_2_over_pi : %s\n", pre, pre, pre, ty);
  put(w, "  %%%sgelu_tanh = tanh %%%sgelu_arg : %s\n", pre, pre, ty);
  put(w, "  %%%sgelu_one = constant {value = 1.0} : %s\n", pre, ty);
  put(w, "  %%%sgelu_gate = add %%%sgelu_one, %%%sgelu_tanh : %s\n", pre, pre, pre, ty);
  put(w, "  %%%sgelu_half = constant {value = 0.5} : %s\n", pre, ty);
  put(w, "  %%half_%s = mul %%%s, %%%sgelu_half : %s\n", in, in, pre, ty);
  put(w, "  %%%s = mul %%half_%s, %%%sgelu_gate : %s\n", out, in, pre, ty);
}

static void emit_mlp(W *w, bool swiglu) {
  long long B = w->B, T = w->T, D = w->D, F = w->F;
  const char *dot = "{lhs_contract = [2], rhs_contract = [0]}";
  put(w, "  %%u = dot %%h2, %%mlp.w_in %s : f32[%lld,%lld,%lld]\n", dot, B, T, F);
  if (swiglu) {
    put(w, "  // SwiGLU: silu(h2 . w_gate) * (h2 . w_in), silu(g) = g * logistic(g)\n");
    put(w, "  %%g = dot %%h2, %%mlp.w_gate %s : f32[%lld,%lld,%lld]\n", dot, B, T, F);
    put(w, "  %%g_sig = logistic %%g : f32[%lld,%lld,%lld]\n", B, T, F);
    put(w, "  %%silu = mul %%g, %%g_sig : f32[%lld,%lld,%lld]\n", B, T, F);
    put(w, "  %%act = mul %%silu, %%u : f32[%lld,%lld,%lld]\n", B, T, F);
  } else {
    char ty[64];
    snprintf(ty, sizeof ty, "f32[%lld,%lld,%lld]", B, T, F);
    pt_mw_gelu(w, "u", "", "act", ty);
  }
  put(w, "  // down-projection and the second residual\n");
  put(w, "  %%mlp_out = dot %%act, %%mlp.w_out %s : f32[%lld,%lld,%lld]\n", dot, B, T, D);
  put(w, "  %%out = add %%x2, %%mlp_out : f32[%lld,%lld,%lld]\n", B, T, D);
}

/* The block's parameters in order, with their shapes, under prefix pre
 * ("" in @block, "layers.N." in @loss); sep goes between them. */
static void put_block_params(W *w, const char *pre, bool decl) {
  bool gpt = w->o->kind == PT_MODEL_GPT;
  long long D = w->D, Dkv = w->K * w->hd, F = w->F;
  struct {
    const char *name;
    long long d0, d1; /* d1 = 0: a vector */
    bool on;
  } ps[] = {{"norm1.scale", D, 0, true},  {"norm1.bias", D, 0, gpt},  {"attn.wq", D, D, true},
            {"attn.wk", D, Dkv, true},    {"attn.wv", D, Dkv, true},  {"attn.wo", D, D, true},
            {"norm2.scale", D, 0, true},  {"norm2.bias", D, 0, gpt},  {"mlp.w_gate", D, F, !gpt},
            {"mlp.w_in", D, F, true},     {"mlp.w_out", F, D, true}};
  for (size_t i = 0; i < sizeof ps / sizeof ps[0]; i++) {
    if (!ps[i].on)
      continue;
    if (!decl) {
      put(w, ", %%%s%s", pre, ps[i].name);
      continue;
    }
    if (ps[i].d1)
      put(w, ",\n    param %%%s%s: f32[%lld,%lld]", pre, ps[i].name, ps[i].d0, ps[i].d1);
    else
      put(w, ",\n    param %%%s%s: f32[%lld]", pre, ps[i].name, ps[i].d0);
  }
}

static void emit_block(W *w) {
  bool gpt = w->o->kind == PT_MODEL_GPT;
  long long B = w->B, T = w->T, D = w->D;
  put(w, "// One pre-norm decoder block: x2 = x + attention(norm1(x)), out = x2 + mlp(norm2(x2)).\n");
  put(w, "func @block(\n    input %%x: f32[%lld,%lld,%lld]", B, T, D);
  if (!gpt)
    put(w, ",\n    input %%rope.cos: f32[%lld,%lld],\n    input %%rope.sin: f32[%lld,%lld]", T,
        w->hd / 2, T, w->hd / 2);
  put_block_params(w, "", true);
  put(w, "\n) -> (out: f32[%lld,%lld,%lld]) {\n", B, T, D);
  put(w, "  // attention pre-norm (%s)\n", gpt ? "LayerNorm" : "RMSNorm");
  pt_mw_norm(w, "n1", "x", "norm1.scale", gpt ? "norm1.bias" : NULL, "h1");
  emit_attention(w, !gpt);
  put(w, "  // MLP pre-norm\n");
  pt_mw_norm(w, "n2", "x2", "norm2.scale", gpt ? "norm2.bias" : NULL, "h2");
  emit_mlp(w, !gpt);
  put(w, "  return %%out\n}\n\n");
}

static void emit_loss(W *w) {
  bool gpt = w->o->kind == PT_MODEL_GPT;
  long long B = w->B, T = w->T, D = w->D, V = w->V, h2 = w->hd / 2;
  char nb[40];
  put(w, "// The language model: embed the tokens, %lld blocks, final norm, LM head (untied from the\n"
         "// embedding), and softmax cross-entropy against the labels, the mean over every token.\n",
      (long long)w->o->layers);
  put(w, "func @loss(\n    input %%tokens: i32[%lld,%lld],\n    input %%labels: i32[%lld,%lld],\n"
         "    param %%embed.table: f32[%lld,%lld]", B, T, B, T, V, D);
  if (gpt)
    put(w, ",\n    param %%pos.table: f32[%lld,%lld]", T, D);
  char pre[48];
  for (long long l = 0; l < w->o->layers; l++) {
    snprintf(pre, sizeof pre, "layers.%lld.", l);
    put_block_params(w, pre, true);
  }
  put(w, ",\n    param %%final_norm.scale: f32[%lld]", D);
  if (gpt)
    put(w, ",\n    param %%final_norm.bias: f32[%lld]", D);
  put(w, ",\n    param %%lm_head.w: f32[%lld,%lld]\n) -> (loss: f32[]) {\n", D, V);
  if (gpt) {
    put(w, "  // token embeddings plus learned positions\n");
    put(w, "  %%tok = take %%embed.table, %%tokens : f32[%lld,%lld,%lld]\n", B, T, D);
    put(w, "  %%pos = broadcast %%pos.table {dims = [1, 2]} : f32[%lld,%lld,%lld]\n", B, T, D);
    put(w, "  %%embed = add %%tok, %%pos : f32[%lld,%lld,%lld]\n", B, T, D);
  } else {
    put(w, "  // token embeddings; positions enter every block's attention as rotations\n");
    put(w, "  %%embed = take %%embed.table, %%tokens : f32[%lld,%lld,%lld]\n", B, T, D);
    put(w, "  // rotary tables: angle[t, i] = t * 10000^(-2i/%lld)\n", w->hd);
    put(w, "  %%rope_t = iota {dim = 0} : f32[%lld,%lld]\n", T, h2);
    put(w, "  %%rope_i = iota {dim = 1} : f32[%lld,%lld]\n", T, h2);
    put(w, "  %%rope_rate = constant {value = %s} : f32[%lld,%lld]\n",
        num(-2.0 * log(10000.0) / (double)w->hd, nb), T, h2);
    put(w, "  %%rope_e = mul %%rope_i, %%rope_rate : f32[%lld,%lld]\n", T, h2);
    put(w, "  %%rope_freq = exp %%rope_e : f32[%lld,%lld]\n", T, h2);
    put(w, "  %%rope_angle = mul %%rope_t, %%rope_freq : f32[%lld,%lld]\n", T, h2);
    put(w, "  %%rope.cos = cos %%rope_angle : f32[%lld,%lld]\n", T, h2);
    put(w, "  %%rope.sin = sin %%rope_angle : f32[%lld,%lld]\n", T, h2);
  }
  put(w, "  // the decoder blocks: %%layers.N is block N's output; inlined, its values are\n"
         "  // named layers.N/...\n");
  for (long long l = 0; l < w->o->layers; l++) {
    snprintf(pre, sizeof pre, "layers.%lld.", l);
    if (l == 0)
      put(w, "  %%layers.0 = call @block(%%embed");
    else
      put(w, "  %%layers.%lld = call @block(%%layers.%lld", l, l - 1);
    if (!gpt)
      put(w, ", %%rope.cos, %%rope.sin");
    put_block_params(w, pre, false);
    put(w, ") : f32[%lld,%lld,%lld]\n", B, T, D);
  }
  char last[32];
  snprintf(last, sizeof last, "layers.%lld", (long long)w->o->layers - 1);
  pt_mw_lm_head(w, last, gpt);
}

void pt_mw_lm_head(W *w, const char *last, bool bias) {
  long long B = w->B, T = w->T, V = w->V;
  char nb[40];
  put(w, "  // final norm and the LM head\n");
  pt_mw_norm(w, "nf", last, "final_norm.scale", bias ? "final_norm.bias" : NULL, "hf");
  put(w, "  %%logits = dot %%hf, %%lm_head.w {lhs_contract = [2], rhs_contract = [0]} : "
         "f32[%lld,%lld,%lld]\n", B, T, V);
  put(w, "  // cross-entropy: logsumexp(logits) - logits[label], shifted by the row maximum (whose\n");
  put(w, "  // derivative is 0 as the shift cancels: stop_gradient, so it is not differentiated)\n");
  put(w, "  %%lmax = reduce_max %%logits {dims = [2]} : f32[%lld,%lld]\n", B, T);
  put(w, "  %%lmax_s = stop_gradient %%lmax : f32[%lld,%lld]\n", B, T);
  put(w, "  %%lmax_b = broadcast %%lmax_s {dims = [0, 1]} : f32[%lld,%lld,%lld]\n", B, T, V);
  put(w, "  %%lshift = sub %%logits, %%lmax_b : f32[%lld,%lld,%lld]\n", B, T, V);
  put(w, "  %%lexp = exp %%lshift : f32[%lld,%lld,%lld]\n", B, T, V);
  put(w, "  %%lsum = reduce_sum %%lexp {dims = [2]} : f32[%lld,%lld]\n", B, T);
  put(w, "  %%llog = log %%lsum : f32[%lld,%lld]\n", B, T);
  put(w, "  %%lse = add %%llog, %%lmax_s : f32[%lld,%lld]\n", B, T);
  put(w, "  %%vocab_pos = iota {dim = 2} : i32[%lld,%lld,%lld]\n", B, T, V);
  put(w, "  %%labels_b = broadcast %%labels {dims = [0, 1]} : i32[%lld,%lld,%lld]\n", B, T, V);
  put(w, "  %%is_label = compare %%labels_b, %%vocab_pos {dir = eq} : pred[%lld,%lld,%lld]\n", B, T,
      V);
  put(w, "  %%zeros = constant {value = 0.0} : f32[%lld,%lld,%lld]\n", B, T, V);
  put(w, "  %%label_logits = select %%is_label, %%logits, %%zeros : f32[%lld,%lld,%lld]\n", B, T, V);
  put(w, "  %%label_logit = reduce_sum %%label_logits {dims = [2]} : f32[%lld,%lld]\n", B, T);
  put(w, "  %%nll = sub %%lse, %%label_logit : f32[%lld,%lld]\n", B, T);
  put(w, "  %%nll_sum = reduce_sum %%nll {dims = [0, 1]} : f32[]\n");
  put(w, "  %%tokens_n = constant {value = %s} : f32[]\n", num((double)(B * T), nb));
  put(w, "  %%loss = div %%nll_sum, %%tokens_n : f32[]\n");
  put(w, "  return %%loss\n}\n");
}

/* ---- the perceptron ---------------------------------------------------------- */

/* examples/mlp.pir at any depth and width: layer k of N multiplies by wk and
 * adds bk, ReLU after every layer but the last. One hidden layer is %h_pre,
 * %h; several are %h1_pre, %h1, %h2_pre, ... */
static void emit_mlp_model(W *w) {
  long long N = (long long)w->o->layers, B = w->B, D = w->D, F = w->F;
  char nb[40];
  put(w, "// A perceptron, `partita model mlp --layers %lld --d-model %lld --mlp-hidden %lld "
         "--batch %lld`:\n", N, D, F, B);
  if (N == 1)
    put(w, "//   loss = mean((x . w1 + b1 - y)^2)\n");
  else if (N == 2)
    put(w, "//   loss = mean((relu(x . w1 + b1) . w2 + b2 - y)^2)\n");
  else
    put(w, "//   loss = mean((h%lld . w%lld + b%lld - y)^2), h0 = x, hk = relu(hk-1 . wk + bk)\n",
        N - 1, N, N);
  put(w, "func @loss(\n    input %%x: f32[%lld,%lld],\n    input %%y: f32[%lld,%lld]", B, D, B, D);
  for (long long k = 1; k <= N; k++) {
    long long in = k == 1 ? D : F, out = k == N ? D : F;
    put(w, ",\n    param %%w%lld: f32[%lld,%lld],\n    param %%b%lld: f32[%lld]", k, in, out, k, out);
  }
  put(w, "\n) -> (loss: f32[]) {\n");
  char prev[32] = "x", h[32] = "h";
  for (long long k = 1; k <= N; k++) {
    long long out = k == N ? D : F;
    if (N != 2)
      snprintf(h, sizeof h, "h%lld", k);
    put(w, "  // layer %lld: %lld -> %lld%s\n", k, k == 1 ? D : F, out, k < N ? ", ReLU" : "");
    put(w, "  %%%sw%lld = dot %%%s, %%w%lld {lhs_contract = [1], rhs_contract = [0]} : "
           "f32[%lld,%lld]\n", prev, k, prev, k, B, out);
    put(w, "  %%b%lldb = broadcast %%b%lld {dims = [1]} : f32[%lld,%lld]\n", k, k, B, out);
    if (k == N) {
      put(w, "  %%pred = add %%%sw%lld, %%b%lldb : f32[%lld,%lld]\n", prev, k, k, B, out);
      break;
    }
    put(w, "  %%%s_pre = add %%%sw%lld, %%b%lldb : f32[%lld,%lld]\n", h, prev, k, k, B, out);
    if (k == 1)
      put(w, "  %%zero = constant {value = 0.0} : f32[%lld,%lld]\n", B, F);
    put(w, "  %%%s = max %%%s_pre, %%zero : f32[%lld,%lld]\n", h, h, B, out);
    snprintf(prev, sizeof prev, "%s", h);
  }
  put(w, "  // mean squared error\n");
  put(w, "  %%err = sub %%pred, %%y : f32[%lld,%lld]\n", B, D);
  put(w, "  %%sq = mul %%err, %%err : f32[%lld,%lld]\n", B, D);
  put(w, "  %%sum = reduce_sum %%sq {dims = [0, 1]} : f32[]\n");
  put(w, "  %%n = constant {value = %s} : f32[]\n", num((double)(B * D), nb));
  put(w, "  %%loss = div %%sum, %%n : f32[]\n");
  put(w, "  return %%loss\n}\n");
}

/* A GPT- or Llama-style language model: the header, @block and @loss. */
static void emit_lm(W *w) {
  const pt_model_opts *o = w->o;
  bool gpt = o->kind == PT_MODEL_GPT;
  put(w, "// A %s-style language model, written by `partita model %s --layers %lld --d-model %lld "
         "--heads %lld --kv-heads %lld --mlp-hidden %lld --vocab %lld --seq %lld --batch %lld`.\n",
      gpt ? "GPT" : "Llama", pt_model_kind_name(o->kind), (long long)o->layers, w->D, w->H, w->K,
      w->F, w->V, w->T, w->B);
  if (gpt)
    put(w, "// Blocks: LayerNorm (scale and bias), causal multi-head attention, GELU MLP, biases in\n"
           "// the norms only; learned positions.\n");
  else
    put(w, "// Blocks: RMSNorm, rotary position embedding, grouped-query attention (%lld query heads,\n"
           "// %lld key/value heads), SwiGLU MLP, no biases.\n", w->H, w->K);
  emit_block(w);
  emit_loss(w);
}

char *pt_model_write(const pt_model_opts *o) {
  char err[160];
  if (!pt_model_check(o, err, sizeof err))
    return NULL;
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  if (!f)
    return NULL;
  W w = {f, o, o->batch, o->seq, o->d_model, o->heads, o->kv_heads, o->d_model / o->heads,
         o->mlp_hidden, o->vocab};
  if (o->kind == PT_MODEL_MLP)
    emit_mlp_model(&w);
  else if (o->kind == PT_MODEL_GRIFFIN)
    pt_mw_griffin(&w);
  else
    emit_lm(&w);
  if (fclose(f) != 0) {
    free(text);
    return NULL;
  }
  return text;
}
