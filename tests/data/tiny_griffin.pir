// A Griffin language model, written by `partita model griffin --layers 3 --d-model 32 --heads 8 --kv-heads 1 --mlp-hidden 64 --vocab 64 --seq 32 --batch 8 --window 4 --lru-width 32`.
// Layers: two recurrent blocks (a GeLU branch times a causal Conv1D and an RG-LRU
// recurrence, computed with scan) then one local-attention block, repeated; RMSNorm,
// gated GeLU MLPs, no position embedding (the recurrence and the convolution carry
// order).
// The recurrent block: x2 = x + (gelu(h1 . wy) * rg_lru(conv(h1 . wx))) . wo with
// h1 = norm1(x); conv is causal, width 4 along time, per channel; the RG-LRU's gates
// are block-diagonal over 8 heads. Then out = x2 + mlp(norm2(x2)).
func @recurrent_block(
    input %x: f32[8,32,32],
    param %norm1.scale: f32[32],
    param %rg_lru.wx: f32[32,32],
    param %rg_lru.wy: f32[32,32],
    param %rg_lru.conv_w: f32[4,32],
    param %rg_lru.conv_b: f32[32],
    param %rg_lru.wa: f32[8,4,4],
    param %rg_lru.ba: f32[32],
    param %rg_lru.wi: f32[8,4,4],
    param %rg_lru.bi: f32[32],
    param %rg_lru.lambda: f32[32],
    param %rg_lru.wo: f32[32,32],
    param %norm2.scale: f32[32],
    param %mlp.w_gate: f32[32,64],
    param %mlp.w_in: f32[32,64],
    param %mlp.w_out: f32[64,32]
) -> (out: f32[8,32,32]) {
  // temporal-mixing pre-norm (RMSNorm)
  %n1_sq = mul %x, %x : f32[8,32,32]
  %n1_sq_sum = reduce_sum %n1_sq {dims = [2]} : f32[8,32]
  %n1_width = constant {value = 32.0} : f32[8,32]
  %n1_ms = div %n1_sq_sum, %n1_width : f32[8,32]
  %n1_eps = constant {value = 1e-05} : f32[8,32]
  %n1_ms_eps = add %n1_ms, %n1_eps : f32[8,32]
  %n1_inv = rsqrt %n1_ms_eps : f32[8,32]
  %n1_inv_b = broadcast %n1_inv {dims = [0, 1]} : f32[8,32,32]
  %n1_normed = mul %x, %n1_inv_b : f32[8,32,32]
  %n1_one = constant {value = 1.0} : f32[32]
  %n1_gain = add %n1_one, %norm1.scale : f32[32]
  %n1_gain_b = broadcast %n1_gain {dims = [2]} : f32[8,32,32]
  %h1 = mul %n1_normed, %n1_gain_b : f32[8,32,32]
  // the gate branch: gelu(h1 . wy)
  %y = dot %h1, %rg_lru.wy {lhs_contract = [2], rhs_contract = [0]} : f32[8,32,32]
  // GELU, tanh approximation: 0.5 * y * (1 + tanh(sqrt(2/pi) * (y + 0.044715 * y^3)))
  %y_sq = mul %y, %y : f32[8,32,32]
  %y_cube = mul %y_sq, %y : f32[8,32,32]
  %y_gelu_c = constant {value = 0.044715} : f32[8,32,32]
  %y_cube_c = mul %y_cube, %y_gelu_c : f32[8,32,32]
  %y_gelu_inner = add %y, %y_cube_c : f32[8,32,32]
  %y_sqrt_2_over_pi = constant {value = 0.7978845608} : f32[8,32,32]
  %y_gelu_arg = mul %y_gelu_inner, %y_sqrt_2_over_pi : f32[8,32,32]
  %y_gelu_tanh = tanh %y_gelu_arg : f32[8,32,32]
  %y_gelu_one = constant {value = 1.0} : f32[8,32,32]
  %y_gelu_gate = add %y_gelu_one, %y_gelu_tanh : f32[8,32,32]
  %y_gelu_half = constant {value = 0.5} : f32[8,32,32]
  %half_y = mul %y, %y_gelu_half : f32[8,32,32]
  %gate = mul %half_y, %y_gelu_gate : f32[8,32,32]
  // the recurrence branch: h1 . wx, then the causal convolution
  // conv[t] = conv_b + sum over k < 4 of conv_w[k] * xr[t - k] (zero before the start);
  // each shift by k is a pad of k zeros in front and a slice of the first 32 steps
  %xr = dot %h1, %rg_lru.wx {lhs_contract = [2], rhs_contract = [0]} : f32[8,32,32]
  %conv_zero = constant {value = 0.0} : f32[]
  %conv_w0 = slice %rg_lru.conv_w {start = [0, 0], limit = [1, 32]} : f32[1,32]
  %conv_w0_r = reshape %conv_w0 : f32[32]
  %conv_w0_b = broadcast %conv_w0_r {dims = [2]} : f32[8,32,32]
  %conv_acc0 = mul %xr, %conv_w0_b : f32[8,32,32]
  %xr_shift1_pad = pad %xr, %conv_zero {low = [0, 1, 0], high = [0, 0, 0]} : f32[8,33,32]
  %xr_shift1 = slice %xr_shift1_pad {start = [0, 0, 0], limit = [8, 32, 32]} : f32[8,32,32]
  %conv_w1 = slice %rg_lru.conv_w {start = [1, 0], limit = [2, 32]} : f32[1,32]
  %conv_w1_r = reshape %conv_w1 : f32[32]
  %conv_w1_b = broadcast %conv_w1_r {dims = [2]} : f32[8,32,32]
  %conv_tap1 = mul %xr_shift1, %conv_w1_b : f32[8,32,32]
  %conv_acc1 = add %conv_acc0, %conv_tap1 : f32[8,32,32]
  %xr_shift2_pad = pad %xr, %conv_zero {low = [0, 2, 0], high = [0, 0, 0]} : f32[8,34,32]
  %xr_shift2 = slice %xr_shift2_pad {start = [0, 0, 0], limit = [8, 32, 32]} : f32[8,32,32]
  %conv_w2 = slice %rg_lru.conv_w {start = [2, 0], limit = [3, 32]} : f32[1,32]
  %conv_w2_r = reshape %conv_w2 : f32[32]
  %conv_w2_b = broadcast %conv_w2_r {dims = [2]} : f32[8,32,32]
  %conv_tap2 = mul %xr_shift2, %conv_w2_b : f32[8,32,32]
  %conv_acc2 = add %conv_acc1, %conv_tap2 : f32[8,32,32]
  %xr_shift3_pad = pad %xr, %conv_zero {low = [0, 3, 0], high = [0, 0, 0]} : f32[8,35,32]
  %xr_shift3 = slice %xr_shift3_pad {start = [0, 0, 0], limit = [8, 32, 32]} : f32[8,32,32]
  %conv_w3 = slice %rg_lru.conv_w {start = [3, 0], limit = [4, 32]} : f32[1,32]
  %conv_w3_r = reshape %conv_w3 : f32[32]
  %conv_w3_b = broadcast %conv_w3_r {dims = [2]} : f32[8,32,32]
  %conv_tap3 = mul %xr_shift3, %conv_w3_b : f32[8,32,32]
  %conv_acc3 = add %conv_acc2, %conv_tap3 : f32[8,32,32]
  %conv_b_b = broadcast %rg_lru.conv_b {dims = [2]} : f32[8,32,32]
  %conv = add %conv_acc3, %conv_b_b : f32[8,32,32]
  // RG-LRU gates, block-diagonal: head n of conv times wa[n] (a dot with the head as
  // a batch dimension), then the bias: r = logistic(conv . wa + ba), i likewise
  %conv_heads = reshape %conv : f32[8,32,8,4]
  %r_heads = dot %conv_heads, %rg_lru.wa {lhs_batch = [2], rhs_batch = [0], lhs_contract = [3], rhs_contract = [1]} : f32[8,8,32,4]
  %r_heads_t = transpose %r_heads {perm = [1, 2, 0, 3]} : f32[8,32,8,4]
  %r_proj = reshape %r_heads_t : f32[8,32,32]
  %r_bias = broadcast %rg_lru.ba {dims = [2]} : f32[8,32,32]
  %r_pre = add %r_proj, %r_bias : f32[8,32,32]
  %r = logistic %r_pre : f32[8,32,32]
  %i_heads = dot %conv_heads, %rg_lru.wi {lhs_batch = [2], rhs_batch = [0], lhs_contract = [3], rhs_contract = [1]} : f32[8,8,32,4]
  %i_heads_t = transpose %i_heads {perm = [1, 2, 0, 3]} : f32[8,32,8,4]
  %i_proj = reshape %i_heads_t : f32[8,32,32]
  %i_bias = broadcast %rg_lru.bi {dims = [2]} : f32[8,32,32]
  %i_pre = add %i_proj, %i_bias : f32[8,32,32]
  %i = logistic %i_pre : f32[8,32,32]
  // log a = -8.0 * r * softplus(-lambda), softplus(z) = log(1 + exp(z))
  %neg_lambda = neg %rg_lru.lambda : f32[32]
  %exp_neg_lambda = exp %neg_lambda : f32[32]
  %lambda_one = constant {value = 1.0} : f32[32]
  %softplus_arg = add %lambda_one, %exp_neg_lambda : f32[32]
  %softplus = log %softplus_arg : f32[32]
  %minus_c = constant {value = -8.0} : f32[32]
  %decay_rate = mul %softplus, %minus_c : f32[32]
  %decay_rate_b = broadcast %decay_rate {dims = [2]} : f32[8,32,32]
  %log_a = mul %r, %decay_rate_b : f32[8,32,32]
  %a = exp %log_a : f32[8,32,32]
  // h[t] = a[t] * h[t-1] + sqrt(1 - a[t]^2) * (i[t] * conv[t]), h[-1] = 0
  %a_sq = mul %a, %a : f32[8,32,32]
  %lru_one = constant {value = 1.0} : f32[8,32,32]
  %one_minus_a_sq = sub %lru_one, %a_sq : f32[8,32,32]
  %input_scale = sqrt %one_minus_a_sq : f32[8,32,32]
  %gated_x = mul %i, %conv : f32[8,32,32]
  %lru_in = mul %input_scale, %gated_x : f32[8,32,32]
  %lru = scan %a, %lru_in {dim = 1, reverse = 0} : f32[8,32,32]
  // both branches, the output projection and the first residual
  %mixed = mul %gate, %lru : f32[8,32,32]
  %mix_out = dot %mixed, %rg_lru.wo {lhs_contract = [2], rhs_contract = [0]} : f32[8,32,32]
  %x2 = add %x, %mix_out : f32[8,32,32]
  // MLP pre-norm (RMSNorm)
  %n2_sq = mul %x2, %x2 : f32[8,32,32]
  %n2_sq_sum = reduce_sum %n2_sq {dims = [2]} : f32[8,32]
  %n2_width = constant {value = 32.0} : f32[8,32]
  %n2_ms = div %n2_sq_sum, %n2_width : f32[8,32]
  %n2_eps = constant {value = 1e-05} : f32[8,32]
  %n2_ms_eps = add %n2_ms, %n2_eps : f32[8,32]
  %n2_inv = rsqrt %n2_ms_eps : f32[8,32]
  %n2_inv_b = broadcast %n2_inv {dims = [0, 1]} : f32[8,32,32]
  %n2_normed = mul %x2, %n2_inv_b : f32[8,32,32]
  %n2_one = constant {value = 1.0} : f32[32]
  %n2_gain = add %n2_one, %norm2.scale : f32[32]
  %n2_gain_b = broadcast %n2_gain {dims = [2]} : f32[8,32,32]
  %h2 = mul %n2_normed, %n2_gain_b : f32[8,32,32]
  // gated MLP: gelu(h2 . w_gate) * (h2 . w_in), then w_out
  %g = dot %h2, %mlp.w_gate {lhs_contract = [2], rhs_contract = [0]} : f32[8,32,64]
  // GELU, tanh approximation: 0.5 * g * (1 + tanh(sqrt(2/pi) * (g + 0.044715 * g^3)))
  %g_sq = mul %g, %g : f32[8,32,64]
  %g_cube = mul %g_sq, %g : f32[8,32,64]
  %g_gelu_c = constant {value = 0.044715} : f32[8,32,64]
  %g_cube_c = mul %g_cube, %g_gelu_c : f32[8,32,64]
  %g_gelu_inner = add %g, %g_cube_c : f32[8,32,64]
  %g_sqrt_2_over_pi = constant {value = 0.7978845608} : f32[8,32,64]
  %g_gelu_arg = mul %g_gelu_inner, %g_sqrt_2_over_pi : f32[8,32,64]
  %g_gelu_tanh = tanh %g_gelu_arg : f32[8,32,64]
  %g_gelu_one = constant {value = 1.0} : f32[8,32,64]
  %g_gelu_gate = add %g_gelu_one, %g_gelu_tanh : f32[8,32,64]
  %g_gelu_half = constant {value = 0.5} : f32[8,32,64]
  %half_g = mul %g, %g_gelu_half : f32[8,32,64]
  %g_act = mul %half_g, %g_gelu_gate : f32[8,32,64]
  %u = dot %h2, %mlp.w_in {lhs_contract = [2], rhs_contract = [0]} : f32[8,32,64]
  %act = mul %g_act, %u : f32[8,32,64]
  // down-projection and the second residual
  %mlp_out = dot %act, %mlp.w_out {lhs_contract = [2], rhs_contract = [0]} : f32[8,32,32]
  %out = add %x2, %mlp_out : f32[8,32,32]
  return %out
}

// The local-attention block: x2 = x + attention(norm1(x)) . wo, causal multi-query
// attention (8 query heads, one key/value head) over a window of 4 steps, computed
// in blocks of the window: each query block attends to its own key block and the one
// before, so the cost is O(seq * window). Then out = x2 + mlp(norm2(x2)).
func @attention_block(
    input %x: f32[8,32,32],
    param %norm1.scale: f32[32],
    param %attn.wq: f32[32,32],
    param %attn.wk: f32[32,4],
    param %attn.wv: f32[32,4],
    param %attn.wo: f32[32,32],
    param %norm2.scale: f32[32],
    param %mlp.w_gate: f32[32,64],
    param %mlp.w_in: f32[32,64],
    param %mlp.w_out: f32[64,32]
) -> (out: f32[8,32,32]) {
  // temporal-mixing pre-norm (RMSNorm)
  %n1_sq = mul %x, %x : f32[8,32,32]
  %n1_sq_sum = reduce_sum %n1_sq {dims = [2]} : f32[8,32]
  %n1_width = constant {value = 32.0} : f32[8,32]
  %n1_ms = div %n1_sq_sum, %n1_width : f32[8,32]
  %n1_eps = constant {value = 1e-05} : f32[8,32]
  %n1_ms_eps = add %n1_ms, %n1_eps : f32[8,32]
  %n1_inv = rsqrt %n1_ms_eps : f32[8,32]
  %n1_inv_b = broadcast %n1_inv {dims = [0, 1]} : f32[8,32,32]
  %n1_normed = mul %x, %n1_inv_b : f32[8,32,32]
  %n1_one = constant {value = 1.0} : f32[32]
  %n1_gain = add %n1_one, %norm1.scale : f32[32]
  %n1_gain_b = broadcast %n1_gain {dims = [2]} : f32[8,32,32]
  %h1 = mul %n1_normed, %n1_gain_b : f32[8,32,32]
  // queries in 8 heads of 4, one key and one value head; time in 8 blocks of 4
  %q = dot %h1, %attn.wq {lhs_contract = [2], rhs_contract = [0]} : f32[8,32,32]
  %k = dot %h1, %attn.wk {lhs_contract = [2], rhs_contract = [0]} : f32[8,32,4]
  %v = dot %h1, %attn.wv {lhs_contract = [2], rhs_contract = [0]} : f32[8,32,4]
  %q_blocks = reshape %q : f32[8,8,4,8,4]
  %kv_zero = constant {value = 0.0} : f32[]
  // keys: each block's previous block (zeros before the first) and its own
  %k_blocks = reshape %k : f32[8,8,4,4]
  %k_prev_pad = pad %k_blocks, %kv_zero {low = [0, 1, 0, 0], high = [0, 0, 0, 0]} : f32[8,9,4,4]
  %k_prev = slice %k_prev_pad {start = [0, 0, 0, 0], limit = [8, 8, 4, 4]} : f32[8,8,4,4]
  %k_window = concat %k_prev, %k_blocks {dim = 2} : f32[8,8,8,4]
  // values: each block's previous block (zeros before the first) and its own
  %v_blocks = reshape %v : f32[8,8,4,4]
  %v_prev_pad = pad %v_blocks, %kv_zero {low = [0, 1, 0, 0], high = [0, 0, 0, 0]} : f32[8,9,4,4]
  %v_prev = slice %v_prev_pad {start = [0, 0, 0, 0], limit = [8, 8, 4, 4]} : f32[8,8,4,4]
  %v_window = concat %v_prev, %v_blocks {dim = 2} : f32[8,8,8,4]
  // scores[b, n, i, head, j] = q . k / sqrt(4): query i of block n, key j of the
  // window (j < 4: block n - 1)
  %qk = dot %q_blocks, %k_window {lhs_batch = [0, 1], rhs_batch = [0, 1], lhs_contract = [4], rhs_contract = [3]} : f32[8,8,4,8,8]
  %score_scale = constant {value = 0.5} : f32[8,8,4,8,8]
  %scores = mul %qk, %score_scale : f32[8,8,4,8,8]
  // the mask, from absolute positions: query n*4 + i sees key n*4 + j - 4 when
  // the key is not after it, fewer than 4 steps before it, and not before step 0
  %block_index = iota {dim = 0} : i32[8,4,8]
  %query_offset = iota {dim = 1} : i32[8,4,8]
  %key_offset = iota {dim = 2} : i32[8,4,8]
  %window_len = constant {value = 4} : i32[8,4,8]
  %block_start = mul %block_index, %window_len : i32[8,4,8]
  %query_pos = add %block_start, %query_offset : i32[8,4,8]
  %key_pos_ahead = add %block_start, %key_offset : i32[8,4,8]
  %key_pos = sub %key_pos_ahead, %window_len : i32[8,4,8]
  %causal = compare %key_pos, %query_pos {dir = le} : pred[8,4,8]
  %distance = sub %query_pos, %key_pos : i32[8,4,8]
  %in_window = compare %distance, %window_len {dir = lt} : pred[8,4,8]
  %pos_zero = constant {value = 0} : i32[8,4,8]
  %key_started = compare %key_pos, %pos_zero {dir = ge} : pred[8,4,8]
  %recent = select %causal, %in_window, %causal : pred[8,4,8]
  %visible = select %key_started, %recent, %key_started : pred[8,4,8]
  %visible_b = broadcast %visible {dims = [1, 2, 4]} : pred[8,8,4,8,8]
  %masked_fill = constant {value = -1e+09} : f32[8,8,4,8,8]
  %masked = select %visible_b, %scores, %masked_fill : f32[8,8,4,8,8]
  // softmax over the window's keys
  %row_max = reduce_max %masked {dims = [4]} : f32[8,8,4,8]
  %row_max_s = stop_gradient %row_max : f32[8,8,4,8]
  %row_max_b = broadcast %row_max_s {dims = [0, 1, 2, 3]} : f32[8,8,4,8,8]
  %shifted = sub %masked, %row_max_b : f32[8,8,4,8,8]
  %weights = exp %shifted : f32[8,8,4,8,8]
  %row_sum = reduce_sum %weights {dims = [4]} : f32[8,8,4,8]
  %row_sum_b = broadcast %row_sum {dims = [0, 1, 2, 3]} : f32[8,8,4,8,8]
  %probs = div %weights, %row_sum_b : f32[8,8,4,8,8]
  %ctx = dot %probs, %v_window {lhs_batch = [0, 1], rhs_batch = [0, 1], lhs_contract = [4], rhs_contract = [2]} : f32[8,8,4,8,4]
  %ctx_merged = reshape %ctx : f32[8,32,32]
  // output projection and the first residual
  %attn_out = dot %ctx_merged, %attn.wo {lhs_contract = [2], rhs_contract = [0]} : f32[8,32,32]
  %x2 = add %x, %attn_out : f32[8,32,32]
  // MLP pre-norm (RMSNorm)
  %n2_sq = mul %x2, %x2 : f32[8,32,32]
  %n2_sq_sum = reduce_sum %n2_sq {dims = [2]} : f32[8,32]
  %n2_width = constant {value = 32.0} : f32[8,32]
  %n2_ms = div %n2_sq_sum, %n2_width : f32[8,32]
  %n2_eps = constant {value = 1e-05} : f32[8,32]
  %n2_ms_eps = add %n2_ms, %n2_eps : f32[8,32]
  %n2_inv = rsqrt %n2_ms_eps : f32[8,32]
  %n2_inv_b = broadcast %n2_inv {dims = [0, 1]} : f32[8,32,32]
  %n2_normed = mul %x2, %n2_inv_b : f32[8,32,32]
  %n2_one = constant {value = 1.0} : f32[32]
  %n2_gain = add %n2_one, %norm2.scale : f32[32]
  %n2_gain_b = broadcast %n2_gain {dims = [2]} : f32[8,32,32]
  %h2 = mul %n2_normed, %n2_gain_b : f32[8,32,32]
  // gated MLP: gelu(h2 . w_gate) * (h2 . w_in), then w_out
  %g = dot %h2, %mlp.w_gate {lhs_contract = [2], rhs_contract = [0]} : f32[8,32,64]
  // GELU, tanh approximation: 0.5 * g * (1 + tanh(sqrt(2/pi) * (g + 0.044715 * g^3)))
  %g_sq = mul %g, %g : f32[8,32,64]
  %g_cube = mul %g_sq, %g : f32[8,32,64]
  %g_gelu_c = constant {value = 0.044715} : f32[8,32,64]
  %g_cube_c = mul %g_cube, %g_gelu_c : f32[8,32,64]
  %g_gelu_inner = add %g, %g_cube_c : f32[8,32,64]
  %g_sqrt_2_over_pi = constant {value = 0.7978845608} : f32[8,32,64]
  %g_gelu_arg = mul %g_gelu_inner, %g_sqrt_2_over_pi : f32[8,32,64]
  %g_gelu_tanh = tanh %g_gelu_arg : f32[8,32,64]
  %g_gelu_one = constant {value = 1.0} : f32[8,32,64]
  %g_gelu_gate = add %g_gelu_one, %g_gelu_tanh : f32[8,32,64]
  %g_gelu_half = constant {value = 0.5} : f32[8,32,64]
  %half_g = mul %g, %g_gelu_half : f32[8,32,64]
  %g_act = mul %half_g, %g_gelu_gate : f32[8,32,64]
  %u = dot %h2, %mlp.w_in {lhs_contract = [2], rhs_contract = [0]} : f32[8,32,64]
  %act = mul %g_act, %u : f32[8,32,64]
  // down-projection and the second residual
  %mlp_out = dot %act, %mlp.w_out {lhs_contract = [2], rhs_contract = [0]} : f32[8,32,32]
  %out = add %x2, %mlp_out : f32[8,32,32]
  return %out
}

// The language model: embed the tokens, 3 blocks, final norm, LM head (untied from the
// embedding), and softmax cross-entropy against the labels, the mean over every token.
func @loss(
    input %tokens: i32[8,32],
    input %labels: i32[8,32],
    param %embed.table: f32[64,32],
    param %layers.0.norm1.scale: f32[32],
    param %layers.0.rg_lru.wx: f32[32,32],
    param %layers.0.rg_lru.wy: f32[32,32],
    param %layers.0.rg_lru.conv_w: f32[4,32],
    param %layers.0.rg_lru.conv_b: f32[32],
    param %layers.0.rg_lru.wa: f32[8,4,4],
    param %layers.0.rg_lru.ba: f32[32],
    param %layers.0.rg_lru.wi: f32[8,4,4],
    param %layers.0.rg_lru.bi: f32[32],
    param %layers.0.rg_lru.lambda: f32[32],
    param %layers.0.rg_lru.wo: f32[32,32],
    param %layers.0.norm2.scale: f32[32],
    param %layers.0.mlp.w_gate: f32[32,64],
    param %layers.0.mlp.w_in: f32[32,64],
    param %layers.0.mlp.w_out: f32[64,32],
    param %layers.1.norm1.scale: f32[32],
    param %layers.1.rg_lru.wx: f32[32,32],
    param %layers.1.rg_lru.wy: f32[32,32],
    param %layers.1.rg_lru.conv_w: f32[4,32],
    param %layers.1.rg_lru.conv_b: f32[32],
    param %layers.1.rg_lru.wa: f32[8,4,4],
    param %layers.1.rg_lru.ba: f32[32],
    param %layers.1.rg_lru.wi: f32[8,4,4],
    param %layers.1.rg_lru.bi: f32[32],
    param %layers.1.rg_lru.lambda: f32[32],
    param %layers.1.rg_lru.wo: f32[32,32],
    param %layers.1.norm2.scale: f32[32],
    param %layers.1.mlp.w_gate: f32[32,64],
    param %layers.1.mlp.w_in: f32[32,64],
    param %layers.1.mlp.w_out: f32[64,32],
    param %layers.2.norm1.scale: f32[32],
    param %layers.2.attn.wq: f32[32,32],
    param %layers.2.attn.wk: f32[32,4],
    param %layers.2.attn.wv: f32[32,4],
    param %layers.2.attn.wo: f32[32,32],
    param %layers.2.norm2.scale: f32[32],
    param %layers.2.mlp.w_gate: f32[32,64],
    param %layers.2.mlp.w_in: f32[32,64],
    param %layers.2.mlp.w_out: f32[64,32],
    param %final_norm.scale: f32[32],
    param %lm_head.w: f32[32,64]
) -> (loss: f32[]) {
  %embed = take %embed.table, %tokens : f32[8,32,32]
  // the blocks: %layers.N is block N's output; inlined, its values are named
  // layers.N/...
  %layers.0 = call @recurrent_block(%embed, %layers.0.norm1.scale, %layers.0.rg_lru.wx, %layers.0.rg_lru.wy, %layers.0.rg_lru.conv_w, %layers.0.rg_lru.conv_b, %layers.0.rg_lru.wa, %layers.0.rg_lru.ba, %layers.0.rg_lru.wi, %layers.0.rg_lru.bi, %layers.0.rg_lru.lambda, %layers.0.rg_lru.wo, %layers.0.norm2.scale, %layers.0.mlp.w_gate, %layers.0.mlp.w_in, %layers.0.mlp.w_out) : f32[8,32,32]
  %layers.1 = call @recurrent_block(%layers.0, %layers.1.norm1.scale, %layers.1.rg_lru.wx, %layers.1.rg_lru.wy, %layers.1.rg_lru.conv_w, %layers.1.rg_lru.conv_b, %layers.1.rg_lru.wa, %layers.1.rg_lru.ba, %layers.1.rg_lru.wi, %layers.1.rg_lru.bi, %layers.1.rg_lru.lambda, %layers.1.rg_lru.wo, %layers.1.norm2.scale, %layers.1.mlp.w_gate, %layers.1.mlp.w_in, %layers.1.mlp.w_out) : f32[8,32,32]
  %layers.2 = call @attention_block(%layers.1, %layers.2.norm1.scale, %layers.2.attn.wq, %layers.2.attn.wk, %layers.2.attn.wv, %layers.2.attn.wo, %layers.2.norm2.scale, %layers.2.mlp.w_gate, %layers.2.mlp.w_in, %layers.2.mlp.w_out) : f32[8,32,32]
  // final norm and the LM head
  %nf_sq = mul %layers.2, %layers.2 : f32[8,32,32]
  %nf_sq_sum = reduce_sum %nf_sq {dims = [2]} : f32[8,32]
  %nf_width = constant {value = 32.0} : f32[8,32]
  %nf_ms = div %nf_sq_sum, %nf_width : f32[8,32]
  %nf_eps = constant {value = 1e-05} : f32[8,32]
  %nf_ms_eps = add %nf_ms, %nf_eps : f32[8,32]
  %nf_inv = rsqrt %nf_ms_eps : f32[8,32]
  %nf_inv_b = broadcast %nf_inv {dims = [0, 1]} : f32[8,32,32]
  %nf_normed = mul %layers.2, %nf_inv_b : f32[8,32,32]
  %nf_one = constant {value = 1.0} : f32[32]
  %nf_gain = add %nf_one, %final_norm.scale : f32[32]
  %nf_gain_b = broadcast %nf_gain {dims = [2]} : f32[8,32,32]
  %hf = mul %nf_normed, %nf_gain_b : f32[8,32,32]
  %logits = dot %hf, %lm_head.w {lhs_contract = [2], rhs_contract = [0]} : f32[8,32,64]
  // cross-entropy: logsumexp(logits) - logits[label], shifted by the row maximum (whose
  // derivative is 0 as the shift cancels: stop_gradient, so it is not differentiated)
  %lmax = reduce_max %logits {dims = [2]} : f32[8,32]
  %lmax_s = stop_gradient %lmax : f32[8,32]
  %lmax_b = broadcast %lmax_s {dims = [0, 1]} : f32[8,32,64]
  %lshift = sub %logits, %lmax_b : f32[8,32,64]
  %lexp = exp %lshift : f32[8,32,64]
  %lsum = reduce_sum %lexp {dims = [2]} : f32[8,32]
  %llog = log %lsum : f32[8,32]
  %lse = add %llog, %lmax_s : f32[8,32]
  %vocab_pos = iota {dim = 2} : i32[8,32,64]
  %labels_b = broadcast %labels {dims = [0, 1]} : i32[8,32,64]
  %is_label = compare %labels_b, %vocab_pos {dir = eq} : pred[8,32,64]
  %zeros = constant {value = 0.0} : f32[8,32,64]
  %label_logits = select %is_label, %logits, %zeros : f32[8,32,64]
  %label_logit = reduce_sum %label_logits {dims = [2]} : f32[8,32]
  %nll = sub %lse, %label_logit : f32[8,32]
  %nll_sum = reduce_sum %nll {dims = [0, 1]} : f32[]
  %tokens_n = constant {value = 256.0} : f32[]
  %loss = div %nll_sum, %tokens_n : f32[]
  return %loss
}
