/* Griffin (De et al., arXiv 2402.19427) as partita IR: residual blocks of
 * temporal mixing and a gated MLP, the temporal mixing a recurrent block
 * (GeLU branch times a causal Conv1D and an RG-LRU computed with `scan`) in
 * two layers of every three and a local multi-query attention, computed in
 * blocks of the window, in the third (docs/models.md).
 *
 * Requires: sizes accepted by pt_model_check (griffin: --heads divides
 * --d-model and --lru-width, --window divides --seq, one key/value head).
 * Provides: @recurrent_block, @attention_block (when some layer is one)
 * and @loss. Every shift along time by k steps is written one way, which
 * the sequence-parallel lowering recognises: `pad` of k zeros at the low
 * end of the time dim (high 0) immediately followed by a `slice` keeping
 * [0, size) of it; the model slices, pads and concatenates along no other
 * time dim (the attention's concat of the previous and the current key
 * blocks is along the within-block dim). */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>

#include "writer.h"

#define put pt_mw_put /* short names, as in model.c */
#define num pt_mw_num

enum { CONV_WIDTH = 4 };
static const double LRU_C = 8.0; /* log a = -c * r * softplus(-lambda) */

/* "f32[2,3]" for the element type and the n dims that follow, in buf[96]. */
static const char *ty(char *buf, const char *dt, int n, ...) {
  va_list ap;
  va_start(ap, n);
  int k = snprintf(buf, 96, "%s[", dt);
  for (int i = 0; i < n; i++)
    k += snprintf(buf + k, (size_t)(96 - k), "%s%lld", i ? "," : "", va_arg(ap, long long));
  snprintf(buf + k, (size_t)(96 - k), "]");
  va_end(ap);
  return buf;
}

/* %out = %in shifted k steps later along dim `dim` of an operand of rank
 * `rank` and shape `dims` (out[t] = in[t - k], zero for t < k): the
 * sequence-parallel idiom, pad low k then slice [0, size). */
static void emit_shift(pt_mw *w, const char *in, const char *out, int rank, const long long *dims,
                       int dim, long long k, const char *zero) {
  char lo[96] = "", hi[96] = "", st[96] = "", lim[96] = "", padded[96], res[96];
  int a = 0, b = 0, c = 0, d = 0, p = 0, r = 0;
  p += snprintf(padded + p, sizeof padded - (size_t)p, "f32[");
  r += snprintf(res + r, sizeof res - (size_t)r, "f32[");
  for (int i = 0; i < rank; i++) {
    const char *sep = i ? ", " : "";
    a += snprintf(lo + a, sizeof lo - (size_t)a, "%s%lld", sep, i == dim ? k : 0);
    b += snprintf(hi + b, sizeof hi - (size_t)b, "%s0", sep);
    c += snprintf(st + c, sizeof st - (size_t)c, "%s0", sep);
    d += snprintf(lim + d, sizeof lim - (size_t)d, "%s%lld", sep, dims[i]);
    p += snprintf(padded + p, sizeof padded - (size_t)p, "%s%lld", i ? "," : "",
                  dims[i] + (i == dim ? k : 0));
    r += snprintf(res + r, sizeof res - (size_t)r, "%s%lld", i ? "," : "", dims[i]);
  }
  snprintf(padded + p, sizeof padded - (size_t)p, "]");
  snprintf(res + r, sizeof res - (size_t)r, "]");
  put(w, "  %%%s_pad = pad %%%s, %%%s {low = [%s], high = [%s]} : %s\n", out, in, zero, lo, hi,
      padded);
  put(w, "  %%%s = slice %%%s_pad {start = [%s], limit = [%s]} : %s\n", out, out, st, lim, res);
}

/* The gated MLP of both block kinds and the second residual:
 * out = x2 + (gelu(h2 . w_gate) * (h2 . w_in)) . w_out. */
static void emit_gated_mlp(pt_mw *w) {
  long long B = w->B, T = w->T, D = w->D, F = w->F;
  char t[96];
  const char *dot = "{lhs_contract = [2], rhs_contract = [0]}";
  put(w, "  // MLP pre-norm (RMSNorm)\n");
  pt_mw_norm(w, "n2", "x2", "norm2.scale", NULL, "h2");
  put(w, "  // gated MLP: gelu(h2 . w_gate) * (h2 . w_in), then w_out\n");
  ty(t, "f32", 3, B, T, F);
  put(w, "  %%g = dot %%h2, %%mlp.w_gate %s : %s\n", dot, t);
  pt_mw_gelu(w, "g", "g_", "g_act", t);
  put(w, "  %%u = dot %%h2, %%mlp.w_in %s : %s\n", dot, t);
  put(w, "  %%act = mul %%g_act, %%u : %s\n", t);
  put(w, "  // down-projection and the second residual\n");
  put(w, "  %%mlp_out = dot %%act, %%mlp.w_out %s : %s\n", dot, ty(t, "f32", 3, B, T, D));
  put(w, "  %%out = add %%x2, %%mlp_out : %s\n", t);
  put(w, "  return %%out\n}\n\n");
}

typedef struct {
  const char *name;
  long long d[3]; /* trailing zeros: a lower rank */
} param;

/* The parameters of one block kind, in order. */
static int block_params(const pt_mw *w, bool attention, param *ps) {
  long long D = w->D, R = w->o->lru_width, H = w->H, F = w->F;
  const param rec[] = {{"norm1.scale", {D}},   {"rg_lru.wx", {D, R}},
                       {"rg_lru.wy", {D, R}},  {"rg_lru.conv_w", {CONV_WIDTH, R}},
                       {"rg_lru.conv_b", {R}}, {"rg_lru.wa", {H, R / H, R / H}},
                       {"rg_lru.ba", {R}},     {"rg_lru.wi", {H, R / H, R / H}},
                       {"rg_lru.bi", {R}},     {"rg_lru.lambda", {R}},
                       {"rg_lru.wo", {R, D}}};
  const param att[] = {{"norm1.scale", {D}},
                       {"attn.wq", {D, D}},
                       {"attn.wk", {D, w->hd}},
                       {"attn.wv", {D, w->hd}},
                       {"attn.wo", {D, D}}};
  const param mlp[] = {
      {"norm2.scale", {D}}, {"mlp.w_gate", {D, F}}, {"mlp.w_in", {D, F}}, {"mlp.w_out", {F, D}}};
  int n = 0;
  const param *first = attention ? att : rec;
  int nfirst = attention ? (int)(sizeof att / sizeof *att) : (int)(sizeof rec / sizeof *rec);
  for (int i = 0; i < nfirst; i++)
    ps[n++] = first[i];
  for (size_t i = 0; i < sizeof mlp / sizeof *mlp; i++)
    ps[n++] = mlp[i];
  return n;
}

enum { MAX_BLOCK_PARAMS = 16 };

/* The block's parameters under prefix pre ("" in the block function,
 * "layers.N." in @loss): declared with their types, or passed. */
static void put_params(pt_mw *w, bool attention, const char *pre, bool decl) {
  param ps[MAX_BLOCK_PARAMS];
  int n = block_params(w, attention, ps);
  for (int i = 0; i < n; i++) {
    if (!decl) {
      put(w, ", %%%s%s", pre, ps[i].name);
      continue;
    }
    put(w, ",\n    param %%%s%s: f32[%lld", pre, ps[i].name, ps[i].d[0]);
    for (int k = 1; k < 3 && ps[i].d[k]; k++)
      put(w, ",%lld", ps[i].d[k]);
    put(w, "]");
  }
}

static void block_header(pt_mw *w, bool attention) {
  char t[96];
  ty(t, "f32", 3, w->B, w->T, w->D);
  put(w, "func @%s_block(\n    input %%x: %s", attention ? "attention" : "recurrent", t);
  put_params(w, attention, "", true);
  put(w, "\n) -> (out: %s) {\n", t);
  put(w, "  // temporal-mixing pre-norm (RMSNorm)\n");
  pt_mw_norm(w, "n1", "x", "norm1.scale", NULL, "h1");
}

/* x2 = x + ((gelu(h1 . wy)) * rg_lru(conv(h1 . wx))) . wo */
static void emit_recurrent_block(pt_mw *w) {
  long long B = w->B, T = w->T, D = w->D, H = w->H, R = w->o->lru_width, Rh = R / H;
  char btr[96], r1[96], bthr[96], t[96], nb[40];
  const char *dot = "{lhs_contract = [2], rhs_contract = [0]}";
  ty(btr, "f32", 3, B, T, R);
  ty(r1, "f32", 1, R);
  ty(bthr, "f32", 4, B, T, H, Rh);
  put(w,
      "// The recurrent block: x2 = x + (gelu(h1 . wy) * rg_lru(conv(h1 . wx))) . wo with\n"
      "// h1 = norm1(x); conv is causal, width %d along time, per channel; the RG-LRU's gates\n"
      "// are block-diagonal over %lld heads. Then out = x2 + mlp(norm2(x2)).\n",
      CONV_WIDTH, H);
  block_header(w, false);
  put(w, "  // the gate branch: gelu(h1 . wy)\n");
  put(w, "  %%y = dot %%h1, %%rg_lru.wy %s : %s\n", dot, btr);
  pt_mw_gelu(w, "y", "y_", "gate", btr);
  put(w,
      "  // the recurrence branch: h1 . wx, then the causal convolution\n"
      "  // conv[t] = conv_b + sum over k < %d of conv_w[k] * xr[t - k] (zero before the start);\n"
      "  // each shift by k is a pad of k zeros in front and a slice of the first %lld steps\n",
      CONV_WIDTH, T);
  put(w, "  %%xr = dot %%h1, %%rg_lru.wx %s : %s\n", dot, btr);
  put(w, "  %%conv_zero = constant {value = 0.0} : f32[]\n");
  const long long dims[3] = {B, T, R};
  for (int k = 0; k < CONV_WIDTH; k++) {
    char src[32] = "xr", tap[32];
    if (k) {
      snprintf(src, sizeof src, "xr_shift%d", k);
      emit_shift(w, "xr", src, 3, dims, 1, k, "conv_zero");
    }
    put(w,
        "  %%conv_w%d = slice %%rg_lru.conv_w {start = [%d, 0], limit = [%d, %lld]} : "
        "f32[1,%lld]\n",
        k, k, k + 1, R, R);
    put(w, "  %%conv_w%d_r = reshape %%conv_w%d : %s\n", k, k, r1);
    put(w, "  %%conv_w%d_b = broadcast %%conv_w%d_r {dims = [2]} : %s\n", k, k, btr);
    if (k)
      snprintf(tap, sizeof tap, "conv_tap%d", k);
    else
      snprintf(tap, sizeof tap, "conv_acc0");
    put(w, "  %%%s = mul %%%s, %%conv_w%d_b : %s\n", tap, src, k, btr);
    if (k)
      put(w, "  %%conv_acc%d = add %%conv_acc%d, %%conv_tap%d : %s\n", k, k - 1, k, btr);
  }
  put(w, "  %%conv_b_b = broadcast %%rg_lru.conv_b {dims = [2]} : %s\n", btr);
  put(w, "  %%conv = add %%conv_acc%d, %%conv_b_b : %s\n", CONV_WIDTH - 1, btr);
  put(w, "  // RG-LRU gates, block-diagonal: head n of conv times wa[n] (a dot with the head as\n"
         "  // a batch dimension), then the bias: r = logistic(conv . wa + ba), i likewise\n");
  put(w, "  %%conv_heads = reshape %%conv : %s\n", bthr);
  const char *gates[2][3] = {{"r", "wa", "ba"}, {"i", "wi", "bi"}};
  for (int g = 0; g < 2; g++) {
    const char *n = gates[g][0];
    put(w,
        "  %%%s_heads = dot %%conv_heads, %%rg_lru.%s {lhs_batch = [2], rhs_batch = [0], "
        "lhs_contract = [3], rhs_contract = [1]} : %s\n",
        n, gates[g][1], ty(t, "f32", 4, H, B, T, Rh));
    put(w, "  %%%s_heads_t = transpose %%%s_heads {perm = [1, 2, 0, 3]} : %s\n", n, n, bthr);
    put(w, "  %%%s_proj = reshape %%%s_heads_t : %s\n", n, n, btr);
    put(w, "  %%%s_bias = broadcast %%rg_lru.%s {dims = [2]} : %s\n", n, gates[g][2], btr);
    put(w, "  %%%s_pre = add %%%s_proj, %%%s_bias : %s\n", n, n, n, btr);
    put(w, "  %%%s = logistic %%%s_pre : %s\n", n, n, btr);
  }
  put(w, "  // log a = -%s * r * softplus(-lambda), softplus(z) = log(1 + exp(z))\n",
      num(LRU_C, nb));
  put(w, "  %%neg_lambda = neg %%rg_lru.lambda : %s\n", r1);
  put(w, "  %%exp_neg_lambda = exp %%neg_lambda : %s\n", r1);
  put(w, "  %%lambda_one = constant {value = 1.0} : %s\n", r1);
  put(w, "  %%softplus_arg = add %%lambda_one, %%exp_neg_lambda : %s\n", r1);
  put(w, "  %%softplus = log %%softplus_arg : %s\n", r1);
  put(w, "  %%minus_c = constant {value = %s} : %s\n", num(-LRU_C, nb), r1);
  put(w, "  %%decay_rate = mul %%softplus, %%minus_c : %s\n", r1);
  put(w, "  %%decay_rate_b = broadcast %%decay_rate {dims = [2]} : %s\n", btr);
  put(w, "  %%log_a = mul %%r, %%decay_rate_b : %s\n", btr);
  put(w, "  %%a = exp %%log_a : %s\n", btr);
  put(w, "  // h[t] = a[t] * h[t-1] + sqrt(1 - a[t]^2) * (i[t] * conv[t]), h[-1] = 0\n");
  put(w, "  %%a_sq = mul %%a, %%a : %s\n", btr);
  put(w, "  %%lru_one = constant {value = 1.0} : %s\n", btr);
  put(w, "  %%one_minus_a_sq = sub %%lru_one, %%a_sq : %s\n", btr);
  put(w, "  %%input_scale = sqrt %%one_minus_a_sq : %s\n", btr);
  put(w, "  %%gated_x = mul %%i, %%conv : %s\n", btr);
  put(w, "  %%lru_in = mul %%input_scale, %%gated_x : %s\n", btr);
  put(w, "  %%lru = scan %%a, %%lru_in {dim = 1, reverse = 0} : %s\n", btr);
  put(w, "  // both branches, the output projection and the first residual\n");
  put(w, "  %%mixed = mul %%gate, %%lru : %s\n", btr);
  put(w, "  %%mix_out = dot %%mixed, %%rg_lru.wo %s : %s\n", dot, ty(t, "f32", 3, B, T, D));
  put(w, "  %%x2 = add %%x, %%mix_out : %s\n", t);
  emit_gated_mlp(w);
}

/* x2 = x + local_attention(norm1(x)) . wo: query block n (steps nW ..
 * nW + W - 1) attends to key blocks n - 1 and n, masked to the keys at most
 * W - 1 steps before the query and none after it or before the start. */
static void emit_attention_block(pt_mw *w) {
  long long B = w->B, T = w->T, D = w->D, H = w->H, hd = w->hd, W = w->o->window, NB = T / W;
  char t[96], qb[96], kb[96], kw[96], sc[96], mi[96], mp[96], nb[40];
  const char *dot = "{lhs_contract = [2], rhs_contract = [0]}";
  ty(qb, "f32", 5, B, NB, W, H, hd);
  ty(kb, "f32", 4, B, NB, W, hd);
  ty(kw, "f32", 4, B, NB, 2 * W, hd);
  ty(sc, "f32", 5, B, NB, W, H, 2 * W);
  ty(mi, "i32", 3, NB, W, 2 * W);
  ty(mp, "pred", 3, NB, W, 2 * W);
  put(w,
      "// The local-attention block: x2 = x + attention(norm1(x)) . wo, causal multi-query\n"
      "// attention (%lld query heads, one key/value head) over a window of %lld steps, computed\n"
      "// in blocks of the window: each query block attends to its own key block and the one\n"
      "// before, so the cost is O(seq * window). Then out = x2 + mlp(norm2(x2)).\n",
      H, W);
  block_header(w, true);
  put(w,
      "  // queries in %lld heads of %lld, one key and one value head; time in %lld blocks of "
      "%lld\n",
      H, hd, NB, W);
  put(w, "  %%q = dot %%h1, %%attn.wq %s : %s\n", dot, ty(t, "f32", 3, B, T, D));
  put(w, "  %%k = dot %%h1, %%attn.wk %s : %s\n", dot, ty(t, "f32", 3, B, T, hd));
  put(w, "  %%v = dot %%h1, %%attn.wv %s : %s\n", dot, t);
  put(w, "  %%q_blocks = reshape %%q : %s\n", qb);
  put(w, "  %%kv_zero = constant {value = 0.0} : f32[]\n");
  const long long dims[4] = {B, NB, W, hd};
  for (int i = 0; i < 2; i++) {
    const char *n = i ? "v" : "k";
    char in[32], prev[32];
    snprintf(in, sizeof in, "%s_blocks", n);
    snprintf(prev, sizeof prev, "%s_prev", n);
    put(w, "  // %s: each block's previous block (zeros before the first) and its own\n",
        i ? "values" : "keys");
    put(w, "  %%%s = reshape %%%s : %s\n", in, n, kb);
    emit_shift(w, in, prev, 4, dims, 1, 1, "kv_zero");
    put(w, "  %%%s_window = concat %%%s, %%%s {dim = 2} : %s\n", n, prev, in, kw);
  }
  put(w,
      "  // scores[b, n, i, head, j] = q . k / sqrt(%lld): query i of block n, key j of the\n"
      "  // window (j < %lld: block n - 1)\n",
      hd, W);
  put(w,
      "  %%qk = dot %%q_blocks, %%k_window {lhs_batch = [0, 1], rhs_batch = [0, 1], "
      "lhs_contract = [4], rhs_contract = [3]} : %s\n",
      sc);
  put(w, "  %%score_scale = constant {value = %s} : %s\n", num(1.0 / sqrt((double)hd), nb), sc);
  put(w, "  %%scores = mul %%qk, %%score_scale : %s\n", sc);
  put(w,
      "  // the mask, from absolute positions: query n*%lld + i sees key n*%lld + j - %lld when\n"
      "  // the key is not after it, fewer than %lld steps before it, and not before step 0\n",
      W, W, W, W);
  put(w, "  %%block_index = iota {dim = 0} : %s\n", mi);
  put(w, "  %%query_offset = iota {dim = 1} : %s\n", mi);
  put(w, "  %%key_offset = iota {dim = 2} : %s\n", mi);
  put(w, "  %%window_len = constant {value = %lld} : %s\n", W, mi);
  put(w, "  %%block_start = mul %%block_index, %%window_len : %s\n", mi);
  put(w, "  %%query_pos = add %%block_start, %%query_offset : %s\n", mi);
  put(w, "  %%key_pos_ahead = add %%block_start, %%key_offset : %s\n", mi);
  put(w, "  %%key_pos = sub %%key_pos_ahead, %%window_len : %s\n", mi);
  put(w, "  %%causal = compare %%key_pos, %%query_pos {dir = le} : %s\n", mp);
  put(w, "  %%distance = sub %%query_pos, %%key_pos : %s\n", mi);
  put(w, "  %%in_window = compare %%distance, %%window_len {dir = lt} : %s\n", mp);
  put(w, "  %%pos_zero = constant {value = 0} : %s\n", mi);
  put(w, "  %%key_started = compare %%key_pos, %%pos_zero {dir = ge} : %s\n", mp);
  put(w, "  %%recent = select %%causal, %%in_window, %%causal : %s\n", mp);
  put(w, "  %%visible = select %%key_started, %%recent, %%key_started : %s\n", mp);
  put(w, "  %%visible_b = broadcast %%visible {dims = [1, 2, 4]} : %s\n",
      ty(t, "pred", 5, B, NB, W, H, 2 * W));
  put(w, "  %%masked_fill = constant {value = -1e+09} : %s\n", sc);
  put(w, "  %%masked = select %%visible_b, %%scores, %%masked_fill : %s\n", sc);
  put(w, "  // softmax over the window's keys\n");
  ty(t, "f32", 4, B, NB, W, H);
  put(w, "  %%row_max = reduce_max %%masked {dims = [4]} : %s\n", t);
  put(w, "  %%row_max_s = stop_gradient %%row_max : %s\n", t);
  put(w, "  %%row_max_b = broadcast %%row_max_s {dims = [0, 1, 2, 3]} : %s\n", sc);
  put(w, "  %%shifted = sub %%masked, %%row_max_b : %s\n", sc);
  put(w, "  %%weights = exp %%shifted : %s\n", sc);
  put(w, "  %%row_sum = reduce_sum %%weights {dims = [4]} : %s\n", t);
  put(w, "  %%row_sum_b = broadcast %%row_sum {dims = [0, 1, 2, 3]} : %s\n", sc);
  put(w, "  %%probs = div %%weights, %%row_sum_b : %s\n", sc);
  put(w,
      "  %%ctx = dot %%probs, %%v_window {lhs_batch = [0, 1], rhs_batch = [0, 1], "
      "lhs_contract = [4], rhs_contract = [2]} : %s\n",
      qb);
  put(w, "  %%ctx_merged = reshape %%ctx : %s\n", ty(t, "f32", 3, B, T, D));
  put(w, "  // output projection and the first residual\n");
  put(w, "  %%attn_out = dot %%ctx_merged, %%attn.wo %s : %s\n", dot, t);
  put(w, "  %%x2 = add %%x, %%attn_out : %s\n", t);
  emit_gated_mlp(w);
}

/* Layer l is a local-attention block every third layer, a recurrent block
 * otherwise: the paper's pattern, two recurrent blocks then one attention. */
static bool is_attention(long long l) {
  return l % 3 == 2;
}

void pt_mw_griffin(pt_mw *w) {
  const pt_model_opts *o = w->o;
  long long B = w->B, T = w->T, D = w->D, V = w->V, L = (long long)o->layers;
  put(w,
      "// A Griffin language model, written by `partita model griffin --layers %lld --d-model "
      "%lld --heads %lld --kv-heads %lld --mlp-hidden %lld --vocab %lld --seq %lld --batch %lld "
      "--window %lld --lru-width %lld`.\n",
      L, D, w->H, w->K, w->F, V, T, B, (long long)o->window, (long long)o->lru_width);
  put(w, "// Layers: two recurrent blocks (a GeLU branch times a causal Conv1D and an RG-LRU\n"
         "// recurrence, computed with scan) then one local-attention block, repeated; RMSNorm,\n"
         "// gated GeLU MLPs, no position embedding (the recurrence and the convolution carry\n"
         "// order).\n");
  emit_recurrent_block(w);
  if (L >= 3)
    emit_attention_block(w);
  put(w,
      "// The language model: embed the tokens, %lld blocks, final norm, LM head (untied from the\n"
      "// embedding), and softmax cross-entropy against the labels, the mean over every token.\n",
      L);
  put(w,
      "func @loss(\n    input %%tokens: i32[%lld,%lld],\n    input %%labels: i32[%lld,%lld],\n"
      "    param %%embed.table: f32[%lld,%lld]",
      B, T, B, T, V, D);
  char pre[48];
  for (long long l = 0; l < L; l++) {
    snprintf(pre, sizeof pre, "layers.%lld.", l);
    put_params(w, is_attention(l), pre, true);
  }
  put(w, ",\n    param %%final_norm.scale: f32[%lld]", D);
  put(w, ",\n    param %%lm_head.w: f32[%lld,%lld]\n) -> (loss: f32[]) {\n", D, V);
  put(w, "  %%embed = take %%embed.table, %%tokens : f32[%lld,%lld,%lld]\n", B, T, D);
  put(w, "  // the blocks: %%layers.N is block N's output; inlined, its values are named\n"
         "  // layers.N/...\n");
  for (long long l = 0; l < L; l++) {
    snprintf(pre, sizeof pre, "layers.%lld.", l);
    put(w, "  %%layers.%lld = call @%s_block(%%", l, is_attention(l) ? "attention" : "recurrent");
    if (l == 0)
      put(w, "embed");
    else
      put(w, "layers.%lld", l - 1);
    put_params(w, is_attention(l), pre, false);
    put(w, ") : f32[%lld,%lld,%lld]\n", B, T, D);
  }
  char last[32];
  snprintf(last, sizeof last, "layers.%lld", L - 1);
  pt_mw_lm_head(w, last, false);
}
