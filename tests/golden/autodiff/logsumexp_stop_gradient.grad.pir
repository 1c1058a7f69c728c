func @loss_grad(param %w: f32[4], input %x: f32[4]) -> (loss: f32[], grad.w: f32[4]) {
  %0 = constant {value = 1.0} : f32[]
  %a = mul %w, %x : f32[4]
  %m = reduce_max %a {dims = [0]} : f32[]
  %ms = stop_gradient %m : f32[]
  %mb = broadcast %ms {dims = []} : f32[4]
  %s = sub %a, %mb : f32[4]
  %e = exp %s : f32[4]
  %t = reduce_sum %e {dims = [0]} : f32[]
  %l = log %t : f32[]
  %loss = add %l, %ms : f32[]
  %1 = div %0, %t : f32[]
  %2 = broadcast %1 {dims = []} : f32[4]
  %3 = mul %2, %e : f32[4]
  %4 = mul %3, %x : f32[4]
  return %loss, %4
}
