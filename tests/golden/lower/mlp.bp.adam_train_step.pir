// SPMD program of @train_step on mesh batch=2; global layouts:
//   %w1: f32[1024,1024] {[], []}
//   %b1: f32[1024] {[]}
//   %w2: f32[1024,1024] {[], []}
//   %b2: f32[1024] {[]}
//   %opt.w1.m: f32[1024,1024] {[], []}
//   %opt.w1.v: f32[1024,1024] {[], []}
//   %opt.b1.m: f32[1024] {[]}
//   %opt.b1.v: f32[1024] {[]}
//   %opt.w2.m: f32[1024,1024] {[], []}
//   %opt.w2.v: f32[1024,1024] {[], []}
//   %opt.b2.m: f32[1024] {[]}
//   %opt.b2.v: f32[1024] {[]}
//   %opt.step: f32[] {}
//   %x: f32[64,1024] {[batch], []}
//   %y: f32[64,1024] {[batch], []}
//   result w1: f32[1024,1024] {[], []}
//   result b1: f32[1024] {[]}
//   result w2: f32[1024,1024] {[], []}
//   result b2: f32[1024] {[]}
//   result opt.w1.m: f32[1024,1024] {[], []}
//   result opt.w1.v: f32[1024,1024] {[], []}
//   result opt.b1.m: f32[1024] {[]}
//   result opt.b1.v: f32[1024] {[]}
//   result opt.w2.m: f32[1024,1024] {[], []}
//   result opt.w2.v: f32[1024,1024] {[], []}
//   result opt.b2.m: f32[1024] {[]}
//   result opt.b2.v: f32[1024] {[]}
//   result opt.step: f32[] {}
//   result loss: f32[] {}
func @train_step_spmd(
    param %w1: f32[1024,1024],
    param %b1: f32[1024],
    param %w2: f32[1024,1024],
    param %b2: f32[1024],
    state %opt.w1.m: f32[1024,1024],
    state %opt.w1.v: f32[1024,1024],
    state %opt.b1.m: f32[1024],
    state %opt.b1.v: f32[1024],
    state %opt.w2.m: f32[1024,1024],
    state %opt.w2.v: f32[1024,1024],
    state %opt.b2.m: f32[1024],
    state %opt.b2.v: f32[1024],
    state %opt.step: f32[],
    input %x: f32[32,1024],
    input %y: f32[32,1024]
) -> (
    w1: f32[1024,1024],
    b1: f32[1024],
    w2: f32[1024,1024],
    b2: f32[1024],
    opt.w1.m: f32[1024,1024],
    opt.w1.v: f32[1024,1024],
    opt.b1.m: f32[1024],
    opt.b1.v: f32[1024],
    opt.w2.m: f32[1024,1024],
    opt.w2.v: f32[1024,1024],
    opt.b2.m: f32[1024],
    opt.b2.v: f32[1024],
    opt.step: f32[],
    loss: f32[]
) {
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
  %38 = broadcast %28 {dims = []} : f32[1024,1024]
  // gather (sharded update) a dot result {[batch], []} -> {[], []} for 'mul' at examples/mlp.pir:3:6 (data-parallel)
  %39 = all_gather %24 {dim = 0, axes = [batch]} : f32[1024,1024]
  %40 = mul %38, %39 : f32[1024,1024]
  %41 = broadcast %26 {dims = []} : f32[1024,1024]
  %42 = mul %41, %opt.w1.m : f32[1024,1024]
  %43 = add %42, %40 : f32[1024,1024]
  %44 = mul %39, %39 : f32[1024,1024]
  %45 = broadcast %25 {dims = []} : f32[1024,1024]
  %46 = mul %45, %44 : f32[1024,1024]
  %47 = broadcast %27 {dims = []} : f32[1024,1024]
  %48 = mul %47, %opt.w1.v : f32[1024,1024]
  %49 = add %48, %46 : f32[1024,1024]
  %50 = broadcast %34 {dims = []} : f32[1024,1024]
  %51 = div %43, %50 : f32[1024,1024]
  %52 = broadcast %37 {dims = []} : f32[1024,1024]
  %53 = div %49, %52 : f32[1024,1024]
  %54 = broadcast %29 {dims = []} : f32[1024,1024]
  %55 = sqrt %53 : f32[1024,1024]
  %56 = add %55, %54 : f32[1024,1024]
  %57 = div %51, %56 : f32[1024,1024]
  %58 = constant {value = 0.001} : f32[]
  %59 = broadcast %58 {dims = []} : f32[1024,1024]
  %60 = mul %59, %57 : f32[1024,1024]
  %61 = sub %w1, %60 : f32[1024,1024]
  %62 = broadcast %28 {dims = []} : f32[1024]
  // reshard a reduce_sum result {[]} partial(sum: batch) -> {[]} for 'mul' at examples/mlp.pir:3:6 (data-parallel)
  %63 = all_reduce %22 {reduce = sum, axes = [batch]} : f32[1024]
  %64 = mul %62, %63 : f32[1024]
  %65 = broadcast %26 {dims = []} : f32[1024]
  %66 = mul %65, %opt.b1.m : f32[1024]
  %67 = add %66, %64 : f32[1024]
  %68 = mul %63, %63 : f32[1024]
  %69 = broadcast %25 {dims = []} : f32[1024]
  %70 = mul %69, %68 : f32[1024]
  %71 = broadcast %27 {dims = []} : f32[1024]
  %72 = mul %71, %opt.b1.v : f32[1024]
  %73 = add %72, %70 : f32[1024]
  %74 = broadcast %34 {dims = []} : f32[1024]
  %75 = div %67, %74 : f32[1024]
  %76 = broadcast %37 {dims = []} : f32[1024]
  %77 = div %73, %76 : f32[1024]
  %78 = broadcast %29 {dims = []} : f32[1024]
  %79 = sqrt %77 : f32[1024]
  %80 = add %79, %78 : f32[1024]
  %81 = div %75, %80 : f32[1024]
  %82 = constant {value = 0.001} : f32[]
  %83 = broadcast %82 {dims = []} : f32[1024]
  %84 = mul %83, %81 : f32[1024]
  %85 = sub %b1, %84 : f32[1024]
  %86 = constant {value = 0.1} : f32[]
  %87 = broadcast %86 {dims = []} : f32[1024,1024]
  // gather (sharded update) a dot result {[batch], []} -> {[], []} for 'mul' at examples/mlp.pir:3:6 (data-parallel)
  %88 = all_gather %17 {dim = 0, axes = [batch]} : f32[1024,1024]
  %89 = mul %87, %88 : f32[1024,1024]
  %90 = constant {value = 0.9} : f32[]
  %91 = broadcast %90 {dims = []} : f32[1024,1024]
  %92 = mul %91, %opt.w2.m : f32[1024,1024]
  %93 = add %92, %89 : f32[1024,1024]
  %94 = mul %88, %88 : f32[1024,1024]
  %95 = constant {value = 0.001} : f32[]
  %96 = broadcast %95 {dims = []} : f32[1024,1024]
  %97 = mul %96, %94 : f32[1024,1024]
  %98 = constant {value = 0.999} : f32[]
  %99 = broadcast %98 {dims = []} : f32[1024,1024]
  %100 = mul %99, %opt.w2.v : f32[1024,1024]
  %101 = add %100, %97 : f32[1024,1024]
  %102 = broadcast %34 {dims = []} : f32[1024,1024]
  %103 = div %93, %102 : f32[1024,1024]
  %104 = broadcast %37 {dims = []} : f32[1024,1024]
  %105 = div %101, %104 : f32[1024,1024]
  %106 = sqrt %105 : f32[1024,1024]
  %107 = constant {value = 1e-08} : f32[]
  %108 = broadcast %107 {dims = []} : f32[1024,1024]
  %109 = add %106, %108 : f32[1024,1024]
  %110 = div %103, %109 : f32[1024,1024]
  %111 = constant {value = 0.001} : f32[]
  %112 = broadcast %111 {dims = []} : f32[1024,1024]
  %113 = mul %112, %110 : f32[1024,1024]
  %114 = sub %w2, %113 : f32[1024,1024]
  %115 = constant {value = 0.1} : f32[]
  %116 = broadcast %115 {dims = []} : f32[1024]
  // reshard a reduce_sum result {[]} partial(sum: batch) -> {[]} for 'mul' at examples/mlp.pir:3:6 (data-parallel)
  %117 = all_reduce %15 {reduce = sum, axes = [batch]} : f32[1024]
  %118 = mul %116, %117 : f32[1024]
  %119 = constant {value = 0.9} : f32[]
  %120 = broadcast %119 {dims = []} : f32[1024]
  %121 = mul %120, %opt.b2.m : f32[1024]
  %122 = add %121, %118 : f32[1024]
  %123 = mul %117, %117 : f32[1024]
  %124 = constant {value = 0.001} : f32[]
  %125 = broadcast %124 {dims = []} : f32[1024]
  %126 = mul %125, %123 : f32[1024]
  %127 = constant {value = 0.999} : f32[]
  %128 = broadcast %127 {dims = []} : f32[1024]
  %129 = mul %128, %opt.b2.v : f32[1024]
  %130 = add %129, %126 : f32[1024]
  %131 = broadcast %34 {dims = []} : f32[1024]
  %132 = div %122, %131 : f32[1024]
  %133 = broadcast %37 {dims = []} : f32[1024]
  %134 = div %130, %133 : f32[1024]
  %135 = sqrt %134 : f32[1024]
  %136 = constant {value = 1e-08} : f32[]
  %137 = broadcast %136 {dims = []} : f32[1024]
  %138 = add %135, %137 : f32[1024]
  %139 = div %132, %138 : f32[1024]
  %140 = constant {value = 0.001} : f32[]
  %141 = broadcast %140 {dims = []} : f32[1024]
  %142 = mul %141, %139 : f32[1024]
  %143 = sub %b2, %142 : f32[1024]
  return %61, %85, %114, %143, %43, %49, %67, %73, %93, %101, %122, %130, %31, %loss
}
