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
  // reshard (sharded update) %h {[batch], []} -> {[], [batch]} for 'dot' at examples/mlp.pir:18:10 (data-parallel)
  %10 = all_to_all %h {split_dim = 1, concat_dim = 0, axes = [batch]} : f32[64,512]
  // reshard (sharded update) a add result {[batch], []} -> {[], []} for 'dot' at examples/mlp.pir:18:10 (data-parallel)
  %11 = all_gather %8 {dim = 0, axes = [batch]} : f32[64,1024]
  %12 = dot %10, %11 {lhs_contract = [0], rhs_contract = [0]} : f32[512,1024]
  %13 = dot %8, %w2 {lhs_contract = [1], rhs_contract = [1]} : f32[32,1024]
  %14 = constant {value = 0.0} : f32[32,1024]
  %15 = select %2, %13, %14 : f32[32,1024]
  %16 = reduce_sum %15 {dims = [0]} : f32[1024]
  // reshard (sharded update) %x {[batch], []} -> {[], [batch]} for 'dot' at examples/mlp.pir:12:10 (data-parallel)
  %17 = all_to_all %x {split_dim = 1, concat_dim = 0, axes = [batch]} : f32[64,512]
  // reshard (sharded update) a select result {[batch], []} -> {[], []} for 'dot' at examples/mlp.pir:12:10 (data-parallel)
  %18 = all_gather %15 {dim = 0, axes = [batch]} : f32[64,1024]
  %19 = dot %17, %18 {lhs_contract = [0], rhs_contract = [0]} : f32[512,1024]
  // gather the sharded update a dot result {[batch], []} -> {[], []} (data-parallel)
  %20 = all_gather %19 {dim = 0, axes = [batch]} : f32[1024,1024]
  // resolve result a reduce_sum result {[]} partial(sum: batch) -> {[]} (data-parallel)
  %21 = all_reduce %16 {reduce = sum, axes = [batch]} : f32[1024]
  // gather the sharded update a dot result {[batch], []} -> {[], []} (data-parallel)
  %22 = all_gather %12 {dim = 0, axes = [batch]} : f32[1024,1024]
  // resolve result a reduce_sum result {[]} partial(sum: batch) -> {[]} (data-parallel)
  %23 = all_reduce %9 {reduce = sum, axes = [batch]} : f32[1024]
  return %loss, %20, %21, %22, %23
}
