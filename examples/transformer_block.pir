// One pre-norm transformer decoder block (causal multi-head self-attention, then a GELU
// MLP, each with an RMSNorm in front and a residual connection around it), followed by a
// mean-squared-error loss against %y:
//   x2 = x + attention(rmsnorm(x) * (1 + norm1.scale))
//   out = x2 + gelu(rmsnorm(x2) * (1 + norm2.scale) . w_in) . w_out
//   loss = mean((out - y)^2)
// Sizes: batch 8, sequence 128, model 512, 8 heads of 64, MLP hidden 2048.
func @loss(
    input %x: f32[8,128,512],
    input %y: f32[8,128,512],
    param %attn.wq: f32[512,512],
    param %attn.wk: f32[512,512],
    param %attn.wv: f32[512,512],
    param %attn.wo: f32[512,512],
    param %mlp.w_in: f32[512,2048],
    param %mlp.w_out: f32[2048,512],
    param %norm1.scale: f32[512],
    param %norm2.scale: f32[512]
) -> (loss: f32[]) {
  // attention pre-norm: h1 = x * rsqrt(mean(x^2 over the model dim) + 1e-6) * (1 + norm1.scale)
  %x_sq = mul %x, %x : f32[8,128,512]
  %x_sq_sum = reduce_sum %x_sq {dims = [2]} : f32[8,128]
  %x_width = constant {value = 512.0} : f32[8,128]
  %x_ms = div %x_sq_sum, %x_width : f32[8,128]
  %x_eps = constant {value = 1e-06} : f32[8,128]
  %x_ms_eps = add %x_ms, %x_eps : f32[8,128]
  %x_inv_rms = rsqrt %x_ms_eps : f32[8,128]
  %x_inv_rms_b = broadcast %x_inv_rms {dims = [0, 1]} : f32[8,128,512]
  %x_normed = mul %x, %x_inv_rms_b : f32[8,128,512]
  %norm1_one = constant {value = 1.0} : f32[512]
  %norm1_gain = add %norm1_one, %norm1.scale : f32[512]
  %norm1_gain_b = broadcast %norm1_gain {dims = [2]} : f32[8,128,512]
  %h1 = mul %x_normed, %norm1_gain_b : f32[8,128,512]
  // query, key and value projections, split into 8 heads of 64: [batch, head, seq, dim]
  %q_proj = dot %h1, %attn.wq {lhs_contract = [2], rhs_contract = [0]} : f32[8,128,512]
  %q_heads = reshape %q_proj : f32[8,128,8,64]
  %q = transpose %q_heads {perm = [0, 2, 1, 3]} : f32[8,8,128,64]
  %k_proj = dot %h1, %attn.wk {lhs_contract = [2], rhs_contract = [0]} : f32[8,128,512]
  %k_heads = reshape %k_proj : f32[8,128,8,64]
  %k = transpose %k_heads {perm = [0, 2, 1, 3]} : f32[8,8,128,64]
  %v_proj = dot %h1, %attn.wv {lhs_contract = [2], rhs_contract = [0]} : f32[8,128,512]
  %v_heads = reshape %v_proj : f32[8,128,8,64]
  %v = transpose %v_heads {perm = [0, 2, 1, 3]} : f32[8,8,128,64]
  // scores = q . k^T / sqrt(64), per batch and head: [batch, head, query, key]
  %qk = dot %q, %k {lhs_batch = [0, 1], rhs_batch = [0, 1], lhs_contract = [3], rhs_contract = [3]} : f32[8,8,128,128]
  %score_scale = constant {value = 0.125} : f32[8,8,128,128]
  %scores = mul %qk, %score_scale : f32[8,8,128,128]
  // causal mask: query i attends to keys j <= i; the others get a large negative score
  // (finite, not -inf, so that no 0 * inf appears in the gradient)
  %query_pos = iota {dim = 0} : i32[128,128]
  %key_pos = iota {dim = 1} : i32[128,128]
  %causal = compare %key_pos, %query_pos {dir = le} : pred[128,128]
  %causal_b = broadcast %causal {dims = [2, 3]} : pred[8,8,128,128]
  %masked_fill = constant {value = -1e+09} : f32[8,8,128,128]
  %masked = select %causal_b, %scores, %masked_fill : f32[8,8,128,128]
  // softmax over keys, shifted by the row maximum so that exp cannot overflow
  %row_max = reduce_max %masked {dims = [3]} : f32[8,8,128]
  // the shift cancels in the softmax, so its derivative is 0: not differentiated
  %row_max_s = stop_gradient %row_max : f32[8,8,128]
  %row_max_b = broadcast %row_max_s {dims = [0, 1, 2]} : f32[8,8,128,128]
  %shifted = sub %masked, %row_max_b : f32[8,8,128,128]
  %weights = exp %shifted : f32[8,8,128,128]
  %row_sum = reduce_sum %weights {dims = [3]} : f32[8,8,128]
  %row_sum_b = broadcast %row_sum {dims = [0, 1, 2]} : f32[8,8,128,128]
  %probs = div %weights, %row_sum_b : f32[8,8,128,128]
  // context = probs . v per batch and head; heads merged back into the model dim
  %ctx = dot %probs, %v {lhs_batch = [0, 1], rhs_batch = [0, 1], lhs_contract = [3], rhs_contract = [2]} : f32[8,8,128,64]
  %ctx_t = transpose %ctx {perm = [0, 2, 1, 3]} : f32[8,128,8,64]
  %ctx_merged = reshape %ctx_t : f32[8,128,512]
  // output projection and the first residual
  %attn_out = dot %ctx_merged, %attn.wo {lhs_contract = [2], rhs_contract = [0]} : f32[8,128,512]
  %x2 = add %x, %attn_out : f32[8,128,512]
  // MLP pre-norm: h2 = rmsnorm(x2) * (1 + norm2.scale)
  %x2_sq = mul %x2, %x2 : f32[8,128,512]
  %x2_sq_sum = reduce_sum %x2_sq {dims = [2]} : f32[8,128]
  %x2_width = constant {value = 512.0} : f32[8,128]
  %x2_ms = div %x2_sq_sum, %x2_width : f32[8,128]
  %x2_eps = constant {value = 1e-06} : f32[8,128]
  %x2_ms_eps = add %x2_ms, %x2_eps : f32[8,128]
  %x2_inv_rms = rsqrt %x2_ms_eps : f32[8,128]
  %x2_inv_rms_b = broadcast %x2_inv_rms {dims = [0, 1]} : f32[8,128,512]
  %x2_normed = mul %x2, %x2_inv_rms_b : f32[8,128,512]
  %norm2_one = constant {value = 1.0} : f32[512]
  %norm2_gain = add %norm2_one, %norm2.scale : f32[512]
  %norm2_gain_b = broadcast %norm2_gain {dims = [2]} : f32[8,128,512]
  %h2 = mul %x2_normed, %norm2_gain_b : f32[8,128,512]
  // MLP up-projection
  %u = dot %h2, %mlp.w_in {lhs_contract = [2], rhs_contract = [0]} : f32[8,128,2048]
  // GELU, tanh approximation: 0.5 * u * (1 + tanh(sqrt(2/pi) * (u + 0.044715 * u^3)))
  %u_sq = mul %u, %u : f32[8,128,2048]
  %u_cube = mul %u_sq, %u : f32[8,128,2048]
  %gelu_c = constant {value = 0.044715} : f32[8,128,2048]
  %u_cube_c = mul %u_cube, %gelu_c : f32[8,128,2048]
  %gelu_inner = add %u, %u_cube_c : f32[8,128,2048]
  %sqrt_2_over_pi = constant {value = 0.7978845608} : f32[8,128,2048]
  %gelu_arg = mul %gelu_inner, %sqrt_2_over_pi : f32[8,128,2048]
  %gelu_tanh = tanh %gelu_arg : f32[8,128,2048]
  %gelu_one = constant {value = 1.0} : f32[8,128,2048]
  %gelu_gate = add %gelu_one, %gelu_tanh : f32[8,128,2048]
  %gelu_half = constant {value = 0.5} : f32[8,128,2048]
  %half_u = mul %u, %gelu_half : f32[8,128,2048]
  %gelu = mul %half_u, %gelu_gate : f32[8,128,2048]
  // MLP down-projection and the second residual
  %mlp_out = dot %gelu, %mlp.w_out {lhs_contract = [2], rhs_contract = [0]} : f32[8,128,512]
  %out = add %x2, %mlp_out : f32[8,128,512]
  // mean squared error over every element
  %err = sub %out, %y : f32[8,128,512]
  %err_sq = mul %err, %err : f32[8,128,512]
  %err_sum = reduce_sum %err_sq {dims = [0, 1, 2]} : f32[]
  %count = constant {value = 524288.0} : f32[]
  %loss = div %err_sum, %count : f32[]
  return %loss
}
