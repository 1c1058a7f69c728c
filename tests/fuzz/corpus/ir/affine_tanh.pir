// loss = sum(tanh(x . w + b))
func @loss(input %x: f32[4,3], param %w: f32[3,2], param %b: f32[2]) -> (loss: f32[]) {
  %xw = dot %x, %w {lhs_contract = [1], rhs_contract = [0]} : f32[4,2]
  %bb = broadcast %b {dims = [1]} : f32[4,2]
  %z = add %xw, %bb : f32[4,2]
  %h = tanh %z : f32[4,2]
  %loss = reduce_sum %h {dims = [0, 1]} : f32[]
  return %loss
}
