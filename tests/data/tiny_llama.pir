// A Llama-style language model, written by `partita model llama --layers 2 --d-model 32 --heads 8 --kv-heads 4 --mlp-hidden 64 --vocab 64 --seq 8 --batch 8`.
// Blocks: RMSNorm, rotary position embedding, grouped-query attention (8 query heads,
// 4 key/value heads), SwiGLU MLP, no biases.
// One pre-norm decoder block: x2 = x + attention(norm1(x)), out = x2 + mlp(norm2(x2)).
func @block(
    input %x: f32[8,8,32],
    input %rope.cos: f32[8,2],
    input %rope.sin: f32[8,2],
    param %norm1.scale: f32[32],
    param %attn.wq: f32[32,32],
    param %attn.wk: f32[32,16],
    param %attn.wv: f32[32,16],
    param %attn.wo: f32[32,32],
    param %norm2.scale: f32[32],
    param %mlp.w_gate: f32[32,64],
    param %mlp.w_in: f32[32,64],
    param %mlp.w_out: f32[64,32]
) -> (out: f32[8,8,32]) {
  // attention pre-norm (RMSNorm)
  %n1_sq = mul %x, %x : f32[8,8,32]
  %n1_sq_sum = reduce_sum %n1_sq {dims = [2]} : f32[8,8]
  %n1_width = constant {value = 32.0} : f32[8,8]
  %n1_ms = div %n1_sq_sum, %n1_width : f32[8,8]
  %n1_eps = constant {value = 1e-05} : f32[8,8]
  %n1_ms_eps = add %n1_ms, %n1_eps : f32[8,8]
  %n1_inv = rsqrt %n1_ms_eps : f32[8,8]
  %n1_inv_b = broadcast %n1_inv {dims = [0, 1]} : f32[8,8,32]
  %n1_normed = mul %x, %n1_inv_b : f32[8,8,32]
  %n1_one = constant {value = 1.0} : f32[32]
  %n1_gain = add %n1_one, %norm1.scale : f32[32]
  %n1_gain_b = broadcast %n1_gain {dims = [2]} : f32[8,8,32]
  %h1 = mul %n1_normed, %n1_gain_b : f32[8,8,32]
  // queries, keys and values split into 8 heads of 4: [batch, head, seq, dim], turned by the rotary embedding
  %q_proj = dot %h1, %attn.wq {lhs_contract = [2], rhs_contract = [0]} : f32[8,8,32]
  %q_heads = reshape %q_proj : f32[8,8,8,4]
  %q_heads_lo = slice %q_heads {start = [0, 0, 0, 0], limit = [8, 8, 8, 2]} : f32[8,8,8,2]
  %q_heads_hi = slice %q_heads {start = [0, 0, 0, 2], limit = [8, 8, 8, 4]} : f32[8,8,8,2]
  %q_heads_cos = broadcast %rope.cos {dims = [1, 3]} : f32[8,8,8,2]
  %q_heads_sin = broadcast %rope.sin {dims = [1, 3]} : f32[8,8,8,2]
  %q_heads_lo_c = mul %q_heads_lo, %q_heads_cos : f32[8,8,8,2]
  %q_heads_hi_s = mul %q_heads_hi, %q_heads_sin : f32[8,8,8,2]
  %q_heads_hi_c = mul %q_heads_hi, %q_heads_cos : f32[8,8,8,2]
  %q_heads_lo_s = mul %q_heads_lo, %q_heads_sin : f32[8,8,8,2]
  %q_heads_rlo = sub %q_heads_lo_c, %q_heads_hi_s : f32[8,8,8,2]
  %q_heads_rhi = add %q_heads_hi_c, %q_heads_lo_s : f32[8,8,8,2]
  %q_rot = concat %q_heads_rlo, %q_heads_rhi {dim = 3} : f32[8,8,8,4]
  %q = transpose %q_rot {perm = [0, 2, 1, 3]} : f32[8,8,8,4]
  %k_kv_proj = dot %h1, %attn.wk {lhs_contract = [2], rhs_contract = [0]} : f32[8,8,16]
  %k_kv_heads = reshape %k_kv_proj : f32[8,8,4,4]
  %k_kv_heads_lo = slice %k_kv_heads {start = [0, 0, 0, 0], limit = [8, 8, 4, 2]} : f32[8,8,4,2]
  %k_kv_heads_hi = slice %k_kv_heads {start = [0, 0, 0, 2], limit = [8, 8, 4, 4]} : f32[8,8,4,2]
  %k_kv_heads_cos = broadcast %rope.cos {dims = [1, 3]} : f32[8,8,4,2]
  %k_kv_heads_sin = broadcast %rope.sin {dims = [1, 3]} : f32[8,8,4,2]
  %k_kv_heads_lo_c = mul %k_kv_heads_lo, %k_kv_heads_cos : f32[8,8,4,2]
  %k_kv_heads_hi_s = mul %k_kv_heads_hi, %k_kv_heads_sin : f32[8,8,4,2]
  %k_kv_heads_hi_c = mul %k_kv_heads_hi, %k_kv_heads_cos : f32[8,8,4,2]
  %k_kv_heads_lo_s = mul %k_kv_heads_lo, %k_kv_heads_sin : f32[8,8,4,2]
  %k_kv_heads_rlo = sub %k_kv_heads_lo_c, %k_kv_heads_hi_s : f32[8,8,4,2]
  %k_kv_heads_rhi = add %k_kv_heads_hi_c, %k_kv_heads_lo_s : f32[8,8,4,2]
  %k_kv_rot = concat %k_kv_heads_rlo, %k_kv_heads_rhi {dim = 3} : f32[8,8,4,4]
  %k_kv = transpose %k_kv_rot {perm = [0, 2, 1, 3]} : f32[8,4,8,4]
  %v_kv_proj = dot %h1, %attn.wv {lhs_contract = [2], rhs_contract = [0]} : f32[8,8,16]
  %v_kv_heads = reshape %v_kv_proj : f32[8,8,4,4]
  %v_kv = transpose %v_kv_heads {perm = [0, 2, 1, 3]} : f32[8,4,8,4]
  // grouped-query attention: each key/value head serves 2 query heads
  %k_rep = broadcast %k_kv {dims = [0, 1, 3, 4]} : f32[8,4,2,8,4]
  %k = reshape %k_rep : f32[8,8,8,4]
  %v_rep = broadcast %v_kv {dims = [0, 1, 3, 4]} : f32[8,4,2,8,4]
  %v = reshape %v_rep : f32[8,8,8,4]
  // causal softmax(q . k^T / sqrt(4)) . v per batch and head
  %qk = dot %q, %k {lhs_batch = [0, 1], rhs_batch = [0, 1], lhs_contract = [3], rhs_contract = [3]} : f32[8,8,8,8]
  %score_scale = constant {value = 0.5} : f32[8,8,8,8]
  %scores = mul %qk, %score_scale : f32[8,8,8,8]
  %query_pos = iota {dim = 0} : i32[8,8]
  %key_pos = iota {dim = 1} : i32[8,8]
  %causal = compare %key_pos, %query_pos {dir = le} : pred[8,8]
  %causal_b = broadcast %causal {dims = [2, 3]} : pred[8,8,8,8]
  %masked_fill = constant {value = -1e+09} : f32[8,8,8,8]
  %masked = select %causal_b, %scores, %masked_fill : f32[8,8,8,8]
  %row_max = reduce_max %masked {dims = [3]} : f32[8,8,8]
  %row_max_s = stop_gradient %row_max : f32[8,8,8]
  %row_max_b = broadcast %row_max_s {dims = [0, 1, 2]} : f32[8,8,8,8]
  %shifted = sub %masked, %row_max_b : f32[8,8,8,8]
  %weights = exp %shifted : f32[8,8,8,8]
  %row_sum = reduce_sum %weights {dims = [3]} : f32[8,8,8]
  %row_sum_b = broadcast %row_sum {dims = [0, 1, 2]} : f32[8,8,8,8]
  %probs = div %weights, %row_sum_b : f32[8,8,8,8]
  %ctx = dot %probs, %v {lhs_batch = [0, 1], rhs_batch = [0, 1], lhs_contract = [3], rhs_contract = [2]} : f32[8,8,8,4]
  %ctx_t = transpose %ctx {perm = [0, 2, 1, 3]} : f32[8,8,8,4]
  %ctx_merged = reshape %ctx_t : f32[8,8,32]
  // output projection and the first residual
  %attn_out = dot %ctx_merged, %attn.wo {lhs_contract = [2], rhs_contract = [0]} : f32[8,8,32]
  %x2 = add %x, %attn_out : f32[8,8,32]
  // MLP pre-norm
  %n2_sq = mul %x2, %x2 : f32[8,8,32]
  %n2_sq_sum = reduce_sum %n2_sq {dims = [2]} : f32[8,8]
  %n2_width = constant {value = 32.0} : f32[8,8]
  %n2_ms = div %n2_sq_sum, %n2_width : f32[8,8]
  %n2_eps = constant {value = 1e-05} : f32[8,8]
  %n2_ms_eps = add %n2_ms, %n2_eps : f32[8,8]
  %n2_inv = rsqrt %n2_ms_eps : f32[8,8]
  %n2_inv_b = broadcast %n2_inv {dims = [0, 1]} : f32[8,8,32]
  %n2_normed = mul %x2, %n2_inv_b : f32[8,8,32]
  %n2_one = constant {value = 1.0} : f32[32]
  %n2_gain = add %n2_one, %norm2.scale : f32[32]
  %n2_gain_b = broadcast %n2_gain {dims = [2]} : f32[8,8,32]
  %h2 = mul %n2_normed, %n2_gain_b : f32[8,8,32]
  %u = dot %h2, %mlp.w_in {lhs_contract = [2], rhs_contract = [0]} : f32[8,8,64]
  // SwiGLU: silu(h2 . w_gate) * (h2 . w_in), silu(g) = g * logistic(g)
  %g = dot %h2, %mlp.w_gate {lhs_contract = [2], rhs_contract = [0]} : f32[8,8,64]
  %g_sig = logistic %g : f32[8,8,64]
  %silu = mul %g, %g_sig : f32[8,8,64]
  %act = mul %silu, %u : f32[8,8,64]
  // down-projection and the second residual
  %mlp_out = dot %act, %mlp.w_out {lhs_contract = [2], rhs_contract = [0]} : f32[8,8,32]
  %out = add %x2, %mlp_out : f32[8,8,32]
  return %out
}

// The language model: embed the tokens, 2 blocks, final norm, LM head (untied from the
// embedding), and softmax cross-entropy against the labels, the mean over every token.
func @loss(
    input %tokens: i32[8,8],
    input %labels: i32[8,8],
    param %embed.table: f32[64,32],
    param %layers.0.norm1.scale: f32[32],
    param %layers.0.attn.wq: f32[32,32],
    param %layers.0.attn.wk: f32[32,16],
    param %layers.0.attn.wv: f32[32,16],
    param %layers.0.attn.wo: f32[32,32],
    param %layers.0.norm2.scale: f32[32],
    param %layers.0.mlp.w_gate: f32[32,64],
    param %layers.0.mlp.w_in: f32[32,64],
    param %layers.0.mlp.w_out: f32[64,32],
    param %layers.1.norm1.scale: f32[32],
    param %layers.1.attn.wq: f32[32,32],
    param %layers.1.attn.wk: f32[32,16],
    param %layers.1.attn.wv: f32[32,16],
    param %layers.1.attn.wo: f32[32,32],
    param %layers.1.norm2.scale: f32[32],
    param %layers.1.mlp.w_gate: f32[32,64],
    param %layers.1.mlp.w_in: f32[32,64],
    param %layers.1.mlp.w_out: f32[64,32],
    param %final_norm.scale: f32[32],
    param %lm_head.w: f32[32,64]
) -> (loss: f32[]) {
  // token embeddings; positions enter every block's attention as rotations
  %embed = take %embed.table, %tokens : f32[8,8,32]
  // rotary tables: angle[t, i] = t * 10000^(-2i/4)
  %rope_t = iota {dim = 0} : f32[8,2]
  %rope_i = iota {dim = 1} : f32[8,2]
  %rope_rate = constant {value = -4.605170185988092} : f32[8,2]
  %rope_e = mul %rope_i, %rope_rate : f32[8,2]
  %rope_freq = exp %rope_e : f32[8,2]
  %rope_angle = mul %rope_t, %rope_freq : f32[8,2]
  %rope.cos = cos %rope_angle : f32[8,2]
  %rope.sin = sin %rope_angle : f32[8,2]
  // the decoder blocks: %layers.N is block N's output; inlined, its values are
  // named layers.N/...
  %layers.0 = call @block(%embed, %rope.cos, %rope.sin, %layers.0.norm1.scale, %layers.0.attn.wq, %layers.0.attn.wk, %layers.0.attn.wv, %layers.0.attn.wo, %layers.0.norm2.scale, %layers.0.mlp.w_gate, %layers.0.mlp.w_in, %layers.0.mlp.w_out) : f32[8,8,32]
  %layers.1 = call @block(%layers.0, %rope.cos, %rope.sin, %layers.1.norm1.scale, %layers.1.attn.wq, %layers.1.attn.wk, %layers.1.attn.wv, %layers.1.attn.wo, %layers.1.norm2.scale, %layers.1.mlp.w_gate, %layers.1.mlp.w_in, %layers.1.mlp.w_out) : f32[8,8,32]
  // final norm and the LM head
  %nf_sq = mul %layers.1, %layers.1 : f32[8,8,32]
  %nf_sq_sum = reduce_sum %nf_sq {dims = [2]} : f32[8,8]
  %nf_width = constant {value = 32.0} : f32[8,8]
  %nf_ms = div %nf_sq_sum, %nf_width : f32[8,8]
  %nf_eps = constant {value = 1e-05} : f32[8,8]
  %nf_ms_eps = add %nf_ms, %nf_eps : f32[8,8]
  %nf_inv = rsqrt %nf_ms_eps : f32[8,8]
  %nf_inv_b = broadcast %nf_inv {dims = [0, 1]} : f32[8,8,32]
  %nf_normed = mul %layers.1, %nf_inv_b : f32[8,8,32]
  %nf_one = constant {value = 1.0} : f32[32]
  %nf_gain = add %nf_one, %final_norm.scale : f32[32]
  %nf_gain_b = broadcast %nf_gain {dims = [2]} : f32[8,8,32]
  %hf = mul %nf_normed, %nf_gain_b : f32[8,8,32]
  %logits = dot %hf, %lm_head.w {lhs_contract = [2], rhs_contract = [0]} : f32[8,8,64]
  // cross-entropy: logsumexp(logits) - logits[label], shifted by the row maximum (whose
  // derivative is 0 as the shift cancels: stop_gradient, so it is not differentiated)
  %lmax = reduce_max %logits {dims = [2]} : f32[8,8]
  %lmax_s = stop_gradient %lmax : f32[8,8]
  %lmax_b = broadcast %lmax_s {dims = [0, 1]} : f32[8,8,64]
  %lshift = sub %logits, %lmax_b : f32[8,8,64]
  %lexp = exp %lshift : f32[8,8,64]
  %lsum = reduce_sum %lexp {dims = [2]} : f32[8,8]
  %llog = log %lsum : f32[8,8]
  %lse = add %llog, %lmax_s : f32[8,8]
  %vocab_pos = iota {dim = 2} : i32[8,8,64]
  %labels_b = broadcast %labels {dims = [0, 1]} : i32[8,8,64]
  %is_label = compare %labels_b, %vocab_pos {dir = eq} : pred[8,8,64]
  %zeros = constant {value = 0.0} : f32[8,8,64]
  %label_logits = select %is_label, %logits, %zeros : f32[8,8,64]
  %label_logit = reduce_sum %label_logits {dims = [2]} : f32[8,8]
  %nll = sub %lse, %label_logit : f32[8,8]
  %nll_sum = reduce_sum %nll {dims = [0, 1]} : f32[]
  %tokens_n = constant {value = 64.0} : f32[]
  %loss = div %nll_sum, %tokens_n : f32[]
  return %loss
}
