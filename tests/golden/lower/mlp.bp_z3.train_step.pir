// SPMD program of @train_step on mesh batch=2; global layouts:
//   %w1: f32[1024,1024] {[batch], []}
//   %b1: f32[1024] {[batch]}
//   %w2: f32[1024,1024] {[batch], []}
//   %b2: f32[1024] {[batch]}
//   %opt.w1.m: f32[1024,1024] {[batch], []}
//   %opt.w1.v: f32[1024,1024] {[batch], []}
//   %opt.b1.m: f32[1024] {[batch]}
//   %opt.b1.v: f32[1024] {[batch]}
//   %opt.w2.m: f32[1024,1024] {[batch], []}
//   %opt.w2.v: f32[1024,1024] {[batch], []}
//   %opt.b2.m: f32[1024] {[batch]}
//   %opt.b2.v: f32[1024] {[batch]}
//   %opt.step: f32[] {}
//   %x: f32[64,1024] {[batch], []}
//   %y: f32[64,1024] {[batch], []}
//   result w1: f32[1024,1024] {[batch], []}
//   result b1: f32[1024] {[batch]}
//   result w2: f32[1024,1024] {[batch], []}
//   result b2: f32[1024] {[batch]}
//   result opt.w1.m: f32[1024,1024] {[batch], []}
//   result opt.w1.v: f32[1024,1024] {[batch], []}
//   result opt.b1.m: f32[1024] {[batch]}
//   result opt.b1.v: f32[1024] {[batch]}
//   result opt.w2.m: f32[1024,1024] {[batch], []}
//   result opt.w2.v: f32[1024,1024] {[batch], []}
//   result opt.b2.m: f32[1024] {[batch]}
//   result opt.b2.v: f32[1024] {[batch]}
//   result opt.step: f32[] {}
//   result loss: f32[] {}
func @train_step_spmd(
    param %w1: f32[512,1024],
    param %b1: f32[512],
    param %w2: f32[512,1024],
    param %b2: f32[512],
    state %opt.w1.m: f32[512,1024],
    state %opt.w1.v: f32[512,1024],
    state %opt.b1.m: f32[512],
    state %opt.b1.v: f32[512],
    state %opt.w2.m: f32[512,1024],
    state %opt.w2.v: f32[512,1024],
    state %opt.b2.m: f32[512],
    state %opt.b2.v: f32[512],
    state %opt.step: f32[],
    input %x: f32[32,1024],
    input %y: f32[32,1024]
) -> (
    w1: f32[512,1024],
    b1: f32[512],
    w2: f32[512,1024],
    b2: f32[512],
    opt.w1.m: f32[512,1024],
    opt.w1.v: f32[512,1024],
    opt.b1.m: f32[512],
    opt.b1.v: f32[512],
    opt.w2.m: f32[512,1024],
    opt.w2.v: f32[512,1024],
    opt.b2.m: f32[512],
    opt.b2.v: f32[512],
    opt.step: f32[],
    loss: f32[]
) {
  %0 = constant {value = 1.0} : f32[]
  // reshard (split dot) %x {[batch], []} -> {[], [batch]} for 'dot' at examples/mlp.pir:12:10 (data-parallel)
  %1 = all_to_all %x {split_dim = 1, concat_dim = 0, axes = [batch]} : f32[64,512]
  // layer 1: 1024 -> 1024, ReLU
  %xw1 = dot %1, %w1 {lhs_contract = [1], rhs_contract = [0]} : f32[64,1024]
  // reshard %b1 {[batch]} -> {[]} for 'broadcast' at examples/mlp.pir:13:10 (zero-3)
  %2 = all_gather %b1 {dim = 0, axes = [batch]} : f32[1024]
  %b1b = broadcast %2 {dims = [1]} : f32[32,1024]
  // reshard (split dot result) %xw1 {[], []} partial(sum: batch) -> {[batch], []} for 'add' at examples/mlp.pir:14:12 (data-parallel)
  %3 = reduce_scatter %xw1 {dim = 0, axes = [batch]} : f32[32,1024]
  %h_pre = add %3, %b1b : f32[32,1024]
  %zero = constant {value = 0.0} : f32[32,1024]
  %h = max %h_pre, %zero : f32[32,1024]
  %4 = constant {value = 0.0} : f32[32,1024]
  %5 = compare %h_pre, %4 {dir = ge} : pred[32,1024]
  // reshard (split dot) %h {[batch], []} -> {[], [batch]} for 'dot' at examples/mlp.pir:18:10 (data-parallel)
  %6 = all_to_all %h {split_dim = 1, concat_dim = 0, axes = [batch]} : f32[64,512]
  // layer 2: 1024 -> 1024
  %hw2 = dot %6, %w2 {lhs_contract = [1], rhs_contract = [0]} : f32[64,1024]
  // reshard %b2 {[batch]} -> {[]} for 'broadcast' at examples/mlp.pir:19:10 (zero-3)
  %7 = all_gather %b2 {dim = 0, axes = [batch]} : f32[1024]
  %b2b = broadcast %7 {dims = [1]} : f32[32,1024]
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
  %18 = dot %16, %w2 {lhs_contract = [1], rhs_contract = [1]} : f32[64,512]
  %19 = constant {value = 0.0} : f32[32,1024]
  // reshard (split dot result) a dot result {[], [batch]} -> {[batch], []} for 'select' at examples/mlp.pir:16:8 (data-parallel)
  %20 = all_to_all %18 {split_dim = 0, concat_dim = 1, axes = [batch]} : f32[32,1024]
  %21 = select %5, %20, %19 : f32[32,1024]
  %22 = reduce_sum %21 {dims = [0]} : f32[1024]
  // reshard (sharded update) a select result {[batch], []} -> {[], []} for 'dot' at examples/mlp.pir:12:10 (data-parallel)
  %23 = all_gather %21 {dim = 0, axes = [batch]} : f32[64,1024]
  %24 = dot %1, %23 {lhs_contract = [0], rhs_contract = [0]} : f32[512,1024]
  %25 = constant {value = 0.001} : f32[]
  %26 = constant {value = 0.9} : f32[]
  %27 = constant {value = 0.999} : f32[]
  %28 = constant {value = 0.1} : f32[]
  %29 = constant {value = 1e-08} : f32[]
  %30 = constant {value = 1.0} : f32[]
  %31 = add %opt.step, %30 : f32[]
  %32 = pow %26, %31 : f32[]
  %33 = constant {value = 1.0} : f32[]
  %34 = sub %33, %32 : f32[]
  %35 = pow %27, %31 : f32[]
  %36 = constant {value = 1.0} : f32[]
  %37 = sub %36, %35 : f32[]
  %38 = broadcast %28 {dims = []} : f32[512,1024]
  %39 = mul %38, %24 : f32[512,1024]
  %40 = broadcast %26 {dims = []} : f32[512,1024]
  %41 = mul %40, %opt.w1.m : f32[512,1024]
  %42 = add %41, %39 : f32[512,1024]
  %43 = mul %24, %24 : f32[512,1024]
  %44 = broadcast %25 {dims = []} : f32[512,1024]
  %45 = mul %44, %43 : f32[512,1024]
  %46 = broadcast %27 {dims = []} : f32[512,1024]
  %47 = mul %46, %opt.w1.v : f32[512,1024]
  %48 = add %47, %45 : f32[512,1024]
  %49 = broadcast %34 {dims = []} : f32[512,1024]
  %50 = div %42, %49 : f32[512,1024]
  %51 = broadcast %37 {dims = []} : f32[512,1024]
  %52 = div %48, %51 : f32[512,1024]
  %53 = broadcast %29 {dims = []} : f32[512,1024]
  %54 = sqrt %52 : f32[512,1024]
  %55 = add %54, %53 : f32[512,1024]
  %56 = div %50, %55 : f32[512,1024]
  %57 = constant {value = 0.001} : f32[]
  %58 = broadcast %57 {dims = []} : f32[512,1024]
  %59 = mul %58, %56 : f32[512,1024]
  %60 = sub %w1, %59 : f32[512,1024]
  %61 = broadcast %28 {dims = []} : f32[512]
  // reshard a reduce_sum result {[]} partial(sum: batch) -> {[batch]} for 'mul' at examples/mlp.pir:3:6 (zero-3)
  %62 = reduce_scatter %22 {dim = 0, axes = [batch]} : f32[512]
  %63 = mul %61, %62 : f32[512]
  %64 = broadcast %26 {dims = []} : f32[512]
  %65 = mul %64, %opt.b1.m : f32[512]
  %66 = add %65, %63 : f32[512]
  %67 = mul %62, %62 : f32[512]
  %68 = broadcast %25 {dims = []} : f32[512]
  %69 = mul %68, %67 : f32[512]
  %70 = broadcast %27 {dims = []} : f32[512]
  %71 = mul %70, %opt.b1.v : f32[512]
  %72 = add %71, %69 : f32[512]
  %73 = broadcast %34 {dims = []} : f32[512]
  %74 = div %66, %73 : f32[512]
  %75 = broadcast %37 {dims = []} : f32[512]
  %76 = div %72, %75 : f32[512]
  %77 = broadcast %29 {dims = []} : f32[512]
  %78 = sqrt %76 : f32[512]
  %79 = add %78, %77 : f32[512]
  %80 = div %74, %79 : f32[512]
  %81 = constant {value = 0.001} : f32[]
  %82 = broadcast %81 {dims = []} : f32[512]
  %83 = mul %82, %80 : f32[512]
  %84 = sub %b1, %83 : f32[512]
  %85 = constant {value = 0.1} : f32[]
  %86 = broadcast %85 {dims = []} : f32[512,1024]
  %87 = mul %86, %17 : f32[512,1024]
  %88 = constant {value = 0.9} : f32[]
  %89 = broadcast %88 {dims = []} : f32[512,1024]
  %90 = mul %89, %opt.w2.m : f32[512,1024]
  %91 = add %90, %87 : f32[512,1024]
  %92 = mul %17, %17 : f32[512,1024]
  %93 = constant {value = 0.001} : f32[]
  %94 = broadcast %93 {dims = []} : f32[512,1024]
  %95 = mul %94, %92 : f32[512,1024]
  %96 = constant {value = 0.999} : f32[]
  %97 = broadcast %96 {dims = []} : f32[512,1024]
  %98 = mul %97, %opt.w2.v : f32[512,1024]
  %99 = add %98, %95 : f32[512,1024]
  %100 = broadcast %34 {dims = []} : f32[512,1024]
  %101 = div %91, %100 : f32[512,1024]
  %102 = broadcast %37 {dims = []} : f32[512,1024]
  %103 = div %99, %102 : f32[512,1024]
  %104 = sqrt %103 : f32[512,1024]
  %105 = constant {value = 1e-08} : f32[]
  %106 = broadcast %105 {dims = []} : f32[512,1024]
  %107 = add %104, %106 : f32[512,1024]
  %108 = div %101, %107 : f32[512,1024]
  %109 = constant {value = 0.001} : f32[]
  %110 = broadcast %109 {dims = []} : f32[512,1024]
  %111 = mul %110, %108 : f32[512,1024]
  %112 = sub %w2, %111 : f32[512,1024]
  %113 = constant {value = 0.1} : f32[]
  %114 = broadcast %113 {dims = []} : f32[512]
  // reshard a reduce_sum result {[]} partial(sum: batch) -> {[batch]} for 'mul' at examples/mlp.pir:3:6 (zero-3)
  %115 = reduce_scatter %15 {dim = 0, axes = [batch]} : f32[512]
  %116 = mul %114, %115 : f32[512]
  %117 = constant {value = 0.9} : f32[]
  %118 = broadcast %117 {dims = []} : f32[512]
  %119 = mul %118, %opt.b2.m : f32[512]
  %120 = add %119, %116 : f32[512]
  %121 = mul %115, %115 : f32[512]
  %122 = constant {value = 0.001} : f32[]
  %123 = broadcast %122 {dims = []} : f32[512]
  %124 = mul %123, %121 : f32[512]
  %125 = constant {value = 0.999} : f32[]
  %126 = broadcast %125 {dims = []} : f32[512]
  %127 = mul %126, %opt.b2.v : f32[512]
  %128 = add %127, %124 : f32[512]
  %129 = broadcast %34 {dims = []} : f32[512]
  %130 = div %120, %129 : f32[512]
  %131 = broadcast %37 {dims = []} : f32[512]
  %132 = div %128, %131 : f32[512]
  %133 = sqrt %132 : f32[512]
  %134 = constant {value = 1e-08} : f32[]
  %135 = broadcast %134 {dims = []} : f32[512]
  %136 = add %133, %135 : f32[512]
  %137 = div %130, %136 : f32[512]
  %138 = constant {value = 0.001} : f32[]
  %139 = broadcast %138 {dims = []} : f32[512]
  %140 = mul %139, %137 : f32[512]
  %141 = sub %b2, %140 : f32[512]
  return %60, %84, %112, %141, %42, %48, %66, %72, %91, %99, %120, %128, %31, %loss
}
