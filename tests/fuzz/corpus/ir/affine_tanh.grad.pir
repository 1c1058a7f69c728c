func @loss_grad(
    input %x: f32[4,3],
    param %w: f32[3,2],
    param %b: f32[2]
) -> (loss: f32[], grad.w: f32[3,2], grad.b: f32[2]) {
  %0 = constant {value = 1.0} : f32[]
  %xw = dot %x, %w {lhs_contract = [1], rhs_contract = [0]} : f32[4,2]
  %bb = broadcast %b {dims = [1]} : f32[4,2]
  %z = add %xw, %bb : f32[4,2]
  %h = tanh %z : f32[4,2]
  %1 = mul %h, %h : f32[4,2]
  %2 = constant {value = 1.0} : f32[4,2]
  %3 = sub %2, %1 : f32[4,2]
  %loss = reduce_sum %h {dims = [0, 1]} : f32[]
  %4 = broadcast %0 {dims = []} : f32[4,2]
  %5 = mul %4, %3 : f32[4,2]
  %6 = reduce_sum %5 {dims = [0]} : f32[2]
  %7 = dot %x, %5 {lhs_contract = [0], rhs_contract = [0]} : f32[3,2]
  return %loss, %7, %6
}
