// A GPT-style language model, written by `partita model gpt --layers 2 --d-model 32 --heads 8 --kv-heads 8 --mlp-hidden 64 --vocab 64 --seq 8 --batch 8`.
// Blocks: LayerNorm (scale and bias), causal multi-head attention, GELU MLP, biases in
// the norms only; learned positions.
// One pre-norm decoder block: x2 = x + attention(norm1(x)), out = x2 + mlp(norm2(x2)).
func @block(
    input %x: f32[8,8,32],
    param %norm1.scale: f32[32],
    param %norm1.bias: f32[32],
    param %attn.wq: f32[32,32],
    param %attn.wk: f32[32,32],
    param %attn.wv: f32[32,32],
    param %attn.wo: f32[32,32],
    param %norm2.scale: f32[32],
    param %norm2.bias: f32[32],
    param %mlp.w_in: f32[32,64],
    param %mlp.w_out: f32[64,32]
) -> (out: f32[8,8,32]) {
  // attention pre-norm (LayerNorm)
  %n1_sum = reduce_sum %x {dims = [2]} : f32[8,8]
  %n1_width = constant {value = 32.0} : f32[8,8]
  %n1_mean = div %n1_sum, %n1_width : f32[8,8]
  %n1_mean_b = broadcast %n1_mean {dims = [0, 1]} : f32[8,8,32]
  %n1_centred = sub %x, %n1_mean_b : f32[8,8,32]
  %n1_sq = mul %n1_centred, %n1_centred : f32[8,8,32]
  %n1_sq_sum = reduce_sum %n1_sq {dims = [2]} : f32[8,8]
  %n1_ms = div %n1_sq_sum, %n1_width : f32[8,8]
  %n1_eps = constant {value = 1e-05} : f32[8,8]
  %n1_ms_eps = add %n1_ms, %n1_eps : f32[8,8]
  %n1_inv = rsqrt %n1_ms_eps : f32[8,8]
  %n1_inv_b = broadcast %n1_inv {dims = [0, 1]} : f32[8,8,32]
  %n1_normed = mul %n1_centred, %n1_inv_b : f32[8,8,32]
  %n1_one = constant {value = 1.0} : f32[32]
  %n1_gain = add %n1_one, %norm1.scale : f32[32]
  %n1_gain_b = broadcast %n1_gain {dims = [2]} : f32[8,8,32]
  %n1_scaled = mul %n1_normed, %n1_gain_b : f32[8,8,32]
  %n1_bias_b = broadcast %norm1.bias {dims = [2]} : f32[8,8,32]
  %h1 = add %n1_scaled, %n1_bias_b : f32[8,8,32]
  // queries, keys and values split into 8 heads of 4: [batch, head, seq, dim]
  %q_proj = dot %h1, %attn.wq {lhs_contract = [2], rhs_contract = [0]} : f32[8,8,32]
  %q_heads = reshape %q_proj : f32[8,8,8,4]
  %q = transpose %q_heads {perm = [0, 2, 1, 3]} : f32[8,8,8,4]
  %k_proj = dot %h1, %attn.wk {lhs_contract = [2], rhs_contract = [0]} : f32[8,8,32]
  %k_heads = reshape %k_proj : f32[8,8,8,4]
  %k = transpose %k_heads {perm = [0, 2, 1, 3]} : f32[8,8,8,4]
  %v_proj = dot %h1, %attn.wv {lhs_contract = [2], rhs_contract = [0]} : f32[8,8,32]
  %v_heads = reshape %v_proj : f32[8,8,8,4]
  %v = transpose %v_heads {perm = [0, 2, 1, 3]} : f32[8,8,8,4]
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
  %n2_sum = reduce_sum %x2 {dims = [2]} : f32[8,8]
  %n2_width = constant {value = 32.0} : f32[8,8]
  %n2_mean = div %n2_sum, %n2_width : f32[8,8]
  %n2_mean_b = broadcast %n2_mean {dims = [0, 1]} : f32[8,8,32]
  %n2_centred = sub %x2, %n2_mean_b : f32[8,8,32]
  %n2_sq = mul %n2_centred, %n2_centred : f32[8,8,32]
  %n2_sq_sum = reduce_sum %n2_sq {dims = [2]} : f32[8,8]
  %n2_ms = div %n2_sq_sum, %n2_width : f32[8,8]
  %n2_eps = constant {value = 1e-05} : f32[8,8]
  %n2_ms_eps = add %n2_ms, %n2_eps : f32[8,8]
  %n2_inv = rsqrt %n2_ms_eps : f32[8,8]
  %n2_inv_b = broadcast %n2_inv {dims = [0, 1]} : f32[8,8,32]
  %n2_normed = mul %n2_centred, %n2_inv_b : f32[8,8,32]
  %n2_one = constant {value = 1.0} : f32[32]
  %n2_gain = add %n2_one, %norm2.scale : f32[32]
  %n2_gain_b = broadcast %n2_gain {dims = [2]} : f32[8,8,32]
  %n2_scaled = mul %n2_normed, %n2_gain_b : f32[8,8,32]
  %n2_bias_b = broadcast %norm2.bias {dims = [2]} : f32[8,8,32]
  %h2 = add %n2_scaled, %n2_bias_b : f32[8,8,32]
  %u = dot %h2, %mlp.w_in {lhs_contract = [2], rhs_contract = [0]} : f32[8,8,64]
  // GELU, tanh approximation: 0.5 * u * (1 + tanh(sqrt(2/pi) * (u + 0.044715 * u^3)))
  %u_sq = mul %u, %u : f32[8,8,64]
  %u_cube = mul %u_sq, %u : f32[8,8,64]
  %gelu_c = constant {value = 0.044715} : f32[8,8,64]
  %u_cube_c = mul %u_cube, %gelu_c : f32[8,8,64]
  %gelu_inner = add %u, %u_cube_c : f32[8,8,64]
  %sqrt_2_over_pi = constant {value = 0.7978845608} : f32[8,8,64]
  %gelu_arg = mul %gelu_inner, %sqrt_2_over_pi : f32[8,8,64]
  %gelu_tanh = tanh %gelu_arg : f32[8,8,64]
  %gelu_one = constant {value = 1.0} : f32[8,8,64]
  %gelu_gate = add %gelu_one, %gelu_tanh : f32[8,8,64]
  %gelu_half = constant {value = 0.5} : f32[8,8,64]
  %half_u = mul %u, %gelu_half : f32[8,8,64]
  %act = mul %half_u, %gelu_gate : f32[8,8,64]
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
    param %pos.table: f32[8,32],
    param %layers.0.norm1.scale: f32[32],
    param %layers.0.norm1.bias: f32[32],
    param %layers.0.attn.wq: f32[32,32],
    param %layers.0.attn.wk: f32[32,32],
    param %layers.0.attn.wv: f32[32,32],
    param %layers.0.attn.wo: f32[32,32],
    param %layers.0.norm2.scale: f32[32],
    param %layers.0.norm2.bias: f32[32],
    param %layers.0.mlp.w_in: f32[32,64],
    param %layers.0.mlp.w_out: f32[64,32],
    param %layers.1.norm1.scale: f32[32],
    param %layers.1.norm1.bias: f32[32],
    param %layers.1.attn.wq: f32[32,32],
    param %layers.1.attn.wk: f32[32,32],
    param %layers.1.attn.wv: f32[32,32],
    param %layers.1.attn.wo: f32[32,32],
    param %layers.1.norm2.scale: f32[32],
    param %layers.1.norm2.bias: f32[32],
    param %layers.1.mlp.w_in: f32[32,64],
    param %layers.1.mlp.w_out: f32[64,32],
    param %final_norm.scale: f32[32],
    param %final_norm.bias: f32[32],
    param %lm_head.w: f32[32,64]
) -> (loss: f32[]) {
  // token embeddings plus learned positions
  %tok = take %embed.table, %tokens : f32[8,8,32]
  %pos = broadcast %pos.table {dims = [1, 2]} : f32[8,8,32]
  %embed = add %tok, %pos : f32[8,8,32]
  // the decoder blocks: %layers.N is block N's output; inlined, its values are
  // named layers.N/...
  %layers.0 = call @block(%embed, %layers.0.norm1.scale, %layers.0.norm1.bias, %layers.0.attn.wq, %layers.0.attn.wk, %layers.0.attn.wv, %layers.0.attn.wo, %layers.0.norm2.scale, %layers.0.norm2.bias, %layers.0.mlp.w_in, %layers.0.mlp.w_out) : f32[8,8,32]
  %layers.1 = call @block(%layers.0, %layers.1.norm1.scale, %layers.1.norm1.bias, %layers.1.attn.wq, %layers.1.attn.wk, %layers.1.attn.wv, %layers.1.attn.wo, %layers.1.norm2.scale, %layers.1.norm2.bias, %layers.1.mlp.w_in, %layers.1.mlp.w_out) : f32[8,8,32]
  // final norm and the LM head
  %nf_sum = reduce_sum %layers.1 {dims = [2]} : f32[8,8]
  %nf_width = constant {value = 32.0} : f32[8,8]
  %nf_mean = div %nf_sum, %nf_width : f32[8,8]
  %nf_mean_b = broadcast %nf_mean {dims = [0, 1]} : f32[8,8,32]
  %nf_centred = sub %layers.1, %nf_mean_b : f32[8,8,32]
  %nf_sq = mul %nf_centred, %nf_centred : f32[8,8,32]
  %nf_sq_sum = reduce_sum %nf_sq {dims = [2]} : f32[8,8]
  %nf_ms = div %nf_sq_sum, %nf_width : f32[8,8]
  %nf_eps = constant {value = 1e-05} : f32[8,8]
  %nf_ms_eps = add %nf_ms, %nf_eps : f32[8,8]
  %nf_inv = rsqrt %nf_ms_eps : f32[8,8]
  %nf_inv_b = broadcast %nf_inv {dims = [0, 1]} : f32[8,8,32]
  %nf_normed = mul %nf_centred, %nf_inv_b : f32[8,8,32]
  %nf_one = constant {value = 1.0} : f32[32]
  %nf_gain = add %nf_one, %final_norm.scale : f32[32]
  %nf_gain_b = broadcast %nf_gain {dims = [2]} : f32[8,8,32]
  %nf_scaled = mul %nf_normed, %nf_gain_b : f32[8,8,32]
  %nf_bias_b = broadcast %final_norm.bias {dims = [2]} : f32[8,8,32]
  %hf = add %nf_scaled, %nf_bias_b : f32[8,8,32]
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
