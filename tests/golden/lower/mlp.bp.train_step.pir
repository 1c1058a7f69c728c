// SPMD program of @train_step on mesh batch=2; global layouts:
//   %w1: f32[1024,1024] {[], []}
//   %b1: f32[1024] {[]}
//   %w2: f32[1024,1024] {[], []}
//   %b2: f32[1024] {[]}
//   %x: f32[64,1024] {[batch], []}
//   %y: f32[64,1024] {[batch], []}
//   result w1: f32[1024,1024] {[], []}
//   result b1: f32[1024] {[]}
//   result w2: f32[1024,1024] {[], []}
//   result b2: f32[1024] {[]}
//   result loss: f32[] {}
func @train_step_spmd(
    param %w1: f32[1024,1024],
    param %b1: f32[1024],
    param %w2: f32[1024,1024],
    param %b2: f32[1024],
    input %x: f32[32,1024],
    input %y: f32[32,1024]
) -> (w1: f32[1024,1024], b1: f32[1024], w2: f32[1024,1024], b2: f32[1024], loss: f32[]) {
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
  %20 = constant {value = 0.01} : f32[]
  %21 = broadcast %20 {dims = []} : f32[512,1024]
  %22 = mul %21, %19 : f32[512,1024]
  // reshard (sharded update) %w1 {[], []} -> {[batch], []} for 'sub' at examples/mlp.pir:3:6 (data-parallel)
  %23 = axis_slice %w1 {dim = 0, axes = [batch]} : f32[512,1024]
  %24 = sub %23, %22 : f32[512,1024]
  %25 = broadcast %20 {dims = []} : f32[1024]
  // reshard a reduce_sum result {[]} partial(sum: batch) -> {[]} for 'mul' at examples/mlp.pir:3:6 (data-parallel)
  %26 = all_reduce %16 {reduce = sum, axes = [batch]} : f32[1024]
  %27 = mul %25, %26 : f32[1024]
  %28 = sub %b1, %27 : f32[1024]
  %29 = constant {value = 0.01} : f32[]
  %30 = broadcast %29 {dims = []} : f32[512,1024]
  %31 = mul %30, %12 : f32[512,1024]
  // reshard (sharded update) %w2 {[], []} -> {[batch], []} for 'sub' at examples/mlp.pir:3:6 (data-parallel)
  %32 = axis_slice %w2 {dim = 0, axes = [batch]} : f32[512,1024]
  %33 = sub %32, %31 : f32[512,1024]
  %34 = constant {value = 0.01} : f32[]
  %35 = broadcast %34 {dims = []} : f32[1024]
  // reshard a reduce_sum result {[]} partial(sum: batch) -> {[]} for 'mul' at examples/mlp.pir:3:6 (data-parallel)
  %36 = all_reduce %9 {reduce = sum, axes = [batch]} : f32[1024]
  %37 = mul %35, %36 : f32[1024]
  %38 = sub %b2, %37 : f32[1024]
  // gather the sharded update a sub result {[batch], []} -> {[], []} (data-parallel)
  %39 = all_gather %24 {dim = 0, axes = [batch]} : f32[1024,1024]
  // gather the sharded update a sub result {[batch], []} -> {[], []} (data-parallel)
  %40 = all_gather %33 {dim = 0, axes = [batch]} : f32[1024,1024]
  return %39, %28, %40, %38, %loss
}
