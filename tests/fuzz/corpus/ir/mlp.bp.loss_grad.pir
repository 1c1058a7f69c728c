// SPMD program of @loss_grad on mesh batch=2; global layouts:
//   %x: f32[64,1024] {[batch], []}
//   %y: f32[64,1024] {[batch], []}
//   %w1: f32[1024,1024] {[], []}
//   %b1: f32[1024] {[]}
//   %w2: f32[1024,1024] {[], []}
//   %b2: f32[1024] {[]}
//   result loss: f32[] {}
//   result grad.w1: f32[1024,1024] {[], []}
//   result grad.b1: f32[1024] {[]}
//   result grad.w2: f32[1024,1024] {[], []}
//   result grad.b2: f32[1024] {[]}
func @loss_grad_spmd(
    input %x: f32[32,1024],
    input %y: f32[32,1024],
    param %w1: f32[1024,1024],
    param %b1: f32[1024],
    param %w2: f32[1024,1024],
    param %b2: f32[1024]
) -> (
    loss: f32[],
    grad.w1: f32[1024,1024],
    grad.b1: f32[1024],
    grad.w2: f32[1024,1024],
    grad.b2: f32[1024]
) {
  %0 = constant {value = 1.0} : f32[]
  // layer 1: 1024 -> 1024, ReLU
  %xw1 = dot %x, %w1 {lhs_contract = [1], rhs_contract = [0]} : f32[32,1024]
  %b1b = broadcast %b1 {dims = [1]} : f32[32,1024]
  %h_pre = add %xw1, %b1b : f32[32,1024]
  %zero = constant {value = 0.0} : f32[32,1024]
  %h = max %h_pre, %zero : f32[32,1024]
  %1 = constant {value = 0.0} : f32[32,1024]
  %2 = compare %h_pre, %1 {dir = ge} : pred[32,1024]
  // layer 2: 1024 -> 1024
  %hw2 = dot %h, %w2 {lhs_contract = [1], rhs_contract = [0]} : f32[32,1024]
  %b2b = broadcast %b2 {dims = [1]} : f32[32,1024]
  %pred = add %hw2, %b2b : f32[32,1024]
  // mean squared error
  %err = sub %pred, %y : f32[32,1024]
  %sq = mul %err, %err : f32[32,1024]
  %sum = reduce_sum %sq {dims = [0, 1]} : f32[]
  %n = constant {value = 65536.0} : f32[]
  // reshard %sum {} partial(sum: batch) -> {} for 'div' at examples/mlp.pir:26:11 (data-parallel)
  %3 = all_reduce %sum {reduce = sum, axes = [batch]} : f32[]
  %loss = div %3, %n : f32[]
  %4 = constant {value = 65536.0} : f32[]
  %5 = div %0, %4 : f32[]
  %6 = broadcast %5 {dims = []} : f32[32,1024]
  %7 = mul %6, %err : f32[32,1024]
  %8 = add %7, %7 : f32[32,1024]
  %9 = reduce_sum %8 {dims = [0]} : f32[1024]
  %10 = dot %h, %8 {lhs_contract = [0], rhs_contract = [0]} : f32[1024,1024]
  %11 = dot %8, %w2 {lhs_contract = [1], rhs_contract = [1]} : f32[32,1024]
  %12 = constant {value = 0.0} : f32[32,1024]
  %13 = select %2, %11, %12 : f32[32,1024]
  %14 = reduce_sum %13 {dims = [0]} : f32[1024]
  %15 = dot %x, %13 {lhs_contract = [0], rhs_contract = [0]} : f32[1024,1024]
  // resolve result a dot result {[], []} partial(sum: batch) -> {[], []} (data-parallel)
  %16 = all_reduce %15 {reduce = sum, axes = [batch]} : f32[1024,1024]
  // resolve result a reduce_sum result {[]} partial(sum: batch) -> {[]} (data-parallel)
  %17 = all_reduce %14 {reduce = sum, axes = [batch]} : f32[1024]
  // resolve result a dot result {[], []} partial(sum: batch) -> {[], []} (data-parallel)
  %18 = all_reduce %10 {reduce = sum, axes = [batch]} : f32[1024,1024]
  // resolve result a reduce_sum result {[]} partial(sum: batch) -> {[]} (data-parallel)
  %19 = all_reduce %9 {reduce = sum, axes = [batch]} : f32[1024]
  return %loss, %16, %17, %18, %19
}
