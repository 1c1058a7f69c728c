// Sequence-parallelism test program (tests/test_spmd.c, tests/golden/lower): the
// shapes of a Griffin recurrent block at toy size (batch 2, sequence 16, width 4):
// shifts along time written as pad + slice (a causal conv of width 3), a shift the
// other way written as slice + pad with a non-zero pad value, the linear recurrence
// as `scan`, and a shift by one window of 2 after reshaping time into windows.
func @loss(
    input %x: f32[2,16,4],
    input %y: f32[2,16,4],
    param %w: f32[4,4],
    param %wa: f32[4,4],
    param %conv: f32[3,4]
) -> (loss: f32[]) {
  %u = dot %x, %w {lhs_contract = [2], rhs_contract = [0]} : f32[2,16,4]
  %zero = constant {value = 0.0} : f32[]
  // u shifted by 1 and 2 steps along time (zeros before the start)
  %u1p = pad %u, %zero {low = [0, 1, 0], high = [0, 0, 0]} : f32[2,17,4]
  %u1 = slice %u1p {start = [0, 0, 0], limit = [2, 16, 4]} : f32[2,16,4]
  %u2p = pad %u, %zero {low = [0, 2, 0], high = [0, 0, 0]} : f32[2,18,4]
  %u2 = slice %u2p {start = [0, 0, 0], limit = [2, 16, 4]} : f32[2,16,4]
  %c0s = slice %conv {start = [0, 0], limit = [1, 4]} : f32[1,4]
  %c0 = reshape %c0s : f32[4]
  %c1s = slice %conv {start = [1, 0], limit = [2, 4]} : f32[1,4]
  %c1 = reshape %c1s : f32[4]
  %c2s = slice %conv {start = [2, 0], limit = [3, 4]} : f32[1,4]
  %c2 = reshape %c2s : f32[4]
  %c0b = broadcast %c0 {dims = [2]} : f32[2,16,4]
  %c1b = broadcast %c1 {dims = [2]} : f32[2,16,4]
  %c2b = broadcast %c2 {dims = [2]} : f32[2,16,4]
  %t0 = mul %u, %c0b : f32[2,16,4]
  %t1 = mul %u1, %c1b : f32[2,16,4]
  %t2 = mul %u2, %c2b : f32[2,16,4]
  %t01 = add %t0, %t1 : f32[2,16,4]
  %conv_out = add %t01, %t2 : f32[2,16,4]
  // the recurrence h[t] = a[t] h[t-1] + conv_out[t], a in (0, 1)
  %za = dot %x, %wa {lhs_contract = [2], rhs_contract = [0]} : f32[2,16,4]
  %a = logistic %za : f32[2,16,4]
  %h = scan %a, %conv_out {dim = 1, reverse = 0} : f32[2,16,4]
  // the next step's value, 1.0 past the end (a shift toward the start)
  %one = constant {value = 1.0} : f32[]
  %hn_s = slice %h {start = [0, 1, 0], limit = [2, 16, 4]} : f32[2,15,4]
  %hn = pad %hn_s, %one {low = [0, 0, 0], high = [0, 1, 0]} : f32[2,16,4]
  %hh = mul %h, %hn : f32[2,16,4]
  // windows of 2: each window plus half of the window before it
  %win = reshape %hh : f32[2,8,2,4]
  %prev_p = pad %win, %zero {low = [0, 1, 0, 0], high = [0, 0, 0, 0]} : f32[2,9,2,4]
  %prev = slice %prev_p {start = [0, 0, 0, 0], limit = [2, 8, 2, 4]} : f32[2,8,2,4]
  %half = constant {value = 0.5} : f32[2,8,2,4]
  %prev_half = mul %prev, %half : f32[2,8,2,4]
  %mixed = add %win, %prev_half : f32[2,8,2,4]
  %out = reshape %mixed : f32[2,16,4]
  %err = sub %out, %y : f32[2,16,4]
  %err_sq = mul %err, %err : f32[2,16,4]
  %err_sum = reduce_sum %err_sq {dims = [0, 1, 2]} : f32[]
  %count = constant {value = 128.0} : f32[]
  %loss = div %err_sum, %count : f32[]
  return %loss
}
