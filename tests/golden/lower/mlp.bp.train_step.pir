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
  // reshard (split dot) %x {[batch], []} -> {[], [batch]} for 'dot' at examples/mlp.pir:12:10 (data-parallel)
  %1 = all_to_all %x {split_dim = 1, concat_dim = 0, axes = [batch]} : f32[64,512]
  // reshard (split dot) %w1 {[], []} -> {[batch], []} for 'dot' at examples/mlp.pir:12:10 (data-parallel)
  %2 = axis_slice %w1 {dim = 0, axes = [batch]} : f32[512,1024]
  // layer 1: 1024 -> 1024, ReLU
  %xw1 = dot %1, %2 {lhs_contract = [1], rhs_contract = [0]} : f32[64,1024]
  %b1b = broadcast %b1 {dims = [1]} : f32[32,1024]
  // reshard (split dot result) %xw1 {[], []} partial(sum: batch) -> {[batch], []} for 'add' at examples/mlp.pir:14:12 (data-parallel)
  %3 = reduce_scatter %xw1 {dim = 0, axes = [batch]} : f32[32,1024]
  %h_pre = add %3, %b1b : f32[32,1024]
  %zero = constant {value = 0.0} : f32[32,1024]
  %h = max %h_pre, %zero : f32[32,1024]
  %4 = constant {value = 0.0} : f32[32,1024]
  %5 = compare %h_pre, %4 {dir = ge} : pred[32,1024]
  // reshard (split dot) %h {[batch], []} -> {[], [batch]} for 'dot' at examples/mlp.pir:18:10 (data-parallel)
  %6 = all_to_all %h {split_dim = 1, concat_dim = 0, axes = [batch]} : f32[64,512]
  // reshard (split dot) %w2 {[], []} -> {[batch], []} for 'dot' at examples/mlp.pir:18:10 (data-parallel)
  %7 = axis_slice %w2 {dim = 0, axes = [batch]} : f32[512,1024]
  // layer 2: 1024 -> 1024
  %hw2 = dot %6, %7 {lhs_contract = [1], rhs_contract = [0]} : f32[64,1024]
  %b2b = broadcast %b2 {dims = [1]} : f32[32,1024]
  // reshard (split dot result) %hw2 {[], []} partial(sum: batch) -> {[batch], []} for 'add' at examples/mlp.pir:20:11 (data-parallel)
  %8 = reduce_scatter %hw2 {dim = 0, axes = [batch]} : f32[32,1024]
  %pred = add %8, %b2b : f32[32,1024]
  // mean squared error
  %err = sub %pred, %y : f32[32,1024]
  %sq = mul %err, %err : f32[32,1024]
  %sum = reduce_sum %sq {dims = [0, 1]} : f32[]
  %n = constant {value = 65536.0} : f32[]
  // reshard %sum {} partial(sum: batch) -> {} for 'div' at examples/mlp.pir:26:11 (data-parallel)
  %9 = all_reduce %sum {reduce = sum, axes = [batch]} : f32[]
  %loss = div %9, %n : f32[]
  %10 = constant {value = 65536.0} : f32[]
  %11 = div %0, %10 : f32[]
  %12 = broadcast %11 {dims = []} : f32[32,1024]
  %13 = mul %12, %err : f32[32,1024]
  %14 = add %13, %13 : f32[32,1024]
  %15 = reduce_sum %14 {dims = [0]} : f32[1024]
  // reshard (sharded update) a add result {[batch], []} -> {[], []} for 'dot' at examples/mlp.pir:18:10 (data-parallel)
  %16 = all_gather %14 {dim = 0, axes = [batch]} : f32[64,1024]
  %17 = dot %6, %16 {lhs_contract = [0], rhs_contract = [0]} : f32[512,1024]
  %18 = dot %16, %7 {lhs_contract = [1], rhs_contract = [1]} : f32[64,512]
  %19 = constant {value = 0.0} : f32[32,1024]
  // reshard (split dot result) a dot result {[], [batch]} -> {[batch], []} for 'select' at examples/mlp.pir:16:8 (data-parallel)
  %20 = all_to_all %18 {split_dim = 0, concat_dim = 1, axes = [batch]} : f32[32,1024]
  %21 = select %5, %20, %19 : f32[32,1024]
  %22 = reduce_sum %21 {dims = [0]} : f32[1024]
  // reshard (sharded update) a select result {[batch], []} -> {[], []} for 'dot' at examples/mlp.pir:12:10 (data-parallel)
  %23 = all_gather %21 {dim = 0, axes = [batch]} : f32[64,1024]
  %24 = dot %1, %23 {lhs_contract = [0], rhs_contract = [0]} : f32[512,1024]
  %25 = constant {value = 0.01} : f32[]
  %26 = broadcast %25 {dims = []} : f32[512,1024]
  %27 = mul %26, %24 : f32[512,1024]
  %28 = sub %2, %27 : f32[512,1024]
  %29 = broadcast %25 {dims = []} : f32[1024]
  // reshard a reduce_sum result {[]} partial(sum: batch) -> {[]} for 'mul' at examples/mlp.pir:3:6 (data-parallel)
  %30 = all_reduce %22 {reduce = sum, axes = [batch]} : f32[1024]
  %31 = mul %29, %30 : f32[1024]
  %32 = sub %b1, %31 : f32[1024]
  %33 = constant {value = 0.01} : f32[]
  %34 = broadcast %33 {dims = []} : f32[512,1024]
  %35 = mul %34, %17 : f32[512,1024]
  %36 = sub %7, %35 : f32[512,1024]
  %37 = constant {value = 0.01} : f32[]
  %38 = broadcast %37 {dims = []} : f32[1024]
  // reshard a reduce_sum result {[]} partial(sum: batch) -> {[]} for 'mul' at examples/mlp.pir:3:6 (data-parallel)
  %39 = all_reduce %15 {reduce = sum, axes = [batch]} : f32[1024]
  %40 = mul %38, %39 : f32[1024]
  %41 = sub %b2, %40 : f32[1024]
  // gather the sharded update a sub result {[batch], []} -> {[], []} (data-parallel)
  %42 = all_gather %28 {dim = 0, axes = [batch]} : f32[1024,1024]
  // gather the sharded update a sub result {[batch], []} -> {[], []} (data-parallel)
  %43 = all_gather %36 {dim = 0, axes = [batch]} : f32[1024,1024]
  return %42, %32, %43, %41, %loss
}
