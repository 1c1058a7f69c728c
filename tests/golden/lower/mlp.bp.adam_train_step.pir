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
  %20 = constant {value = 0.001} : f32[]
  %21 = constant {value = 0.9} : f32[]
  %22 = constant {value = 0.999} : f32[]
  %23 = constant {value = 0.1} : f32[]
  %24 = constant {value = 1e-08} : f32[]
  %25 = constant {value = 1.0} : f32[]
  %26 = add %opt.step, %25 : f32[]
  %27 = pow %21, %26 : f32[]
  %28 = constant {value = 1.0} : f32[]
  %29 = sub %28, %27 : f32[]
  %30 = pow %22, %26 : f32[]
  %31 = constant {value = 1.0} : f32[]
  %32 = sub %31, %30 : f32[]
  %33 = broadcast %23 {dims = []} : f32[1024,1024]
  // gather (sharded update) a dot result {[batch], []} -> {[], []} for 'mul' at examples/mlp.pir:3:6 (data-parallel)
  %34 = all_gather %19 {dim = 0, axes = [batch]} : f32[1024,1024]
  %35 = mul %33, %34 : f32[1024,1024]
  %36 = broadcast %21 {dims = []} : f32[1024,1024]
  %37 = mul %36, %opt.w1.m : f32[1024,1024]
  %38 = add %37, %35 : f32[1024,1024]
  %39 = mul %34, %34 : f32[1024,1024]
  %40 = broadcast %20 {dims = []} : f32[1024,1024]
  %41 = mul %40, %39 : f32[1024,1024]
  %42 = broadcast %22 {dims = []} : f32[1024,1024]
  %43 = mul %42, %opt.w1.v : f32[1024,1024]
  %44 = add %43, %41 : f32[1024,1024]
  %45 = broadcast %29 {dims = []} : f32[1024,1024]
  %46 = div %38, %45 : f32[1024,1024]
  %47 = broadcast %32 {dims = []} : f32[1024,1024]
  %48 = div %44, %47 : f32[1024,1024]
  %49 = broadcast %24 {dims = []} : f32[1024,1024]
  %50 = sqrt %48 : f32[1024,1024]
  %51 = add %50, %49 : f32[1024,1024]
  %52 = div %46, %51 : f32[1024,1024]
  %53 = constant {value = 0.001} : f32[]
  %54 = broadcast %53 {dims = []} : f32[1024,1024]
  %55 = mul %54, %52 : f32[1024,1024]
  %56 = sub %w1, %55 : f32[1024,1024]
  %57 = broadcast %23 {dims = []} : f32[1024]
  // reshard a reduce_sum result {[]} partial(sum: batch) -> {[]} for 'mul' at examples/mlp.pir:3:6 (data-parallel)
  %58 = all_reduce %16 {reduce = sum, axes = [batch]} : f32[1024]
  %59 = mul %57, %58 : f32[1024]
  %60 = broadcast %21 {dims = []} : f32[1024]
  %61 = mul %60, %opt.b1.m : f32[1024]
  %62 = add %61, %59 : f32[1024]
  %63 = mul %58, %58 : f32[1024]
  %64 = broadcast %20 {dims = []} : f32[1024]
  %65 = mul %64, %63 : f32[1024]
  %66 = broadcast %22 {dims = []} : f32[1024]
  %67 = mul %66, %opt.b1.v : f32[1024]
  %68 = add %67, %65 : f32[1024]
  %69 = broadcast %29 {dims = []} : f32[1024]
  %70 = div %62, %69 : f32[1024]
  %71 = broadcast %32 {dims = []} : f32[1024]
  %72 = div %68, %71 : f32[1024]
  %73 = broadcast %24 {dims = []} : f32[1024]
  %74 = sqrt %72 : f32[1024]
  %75 = add %74, %73 : f32[1024]
  %76 = div %70, %75 : f32[1024]
  %77 = constant {value = 0.001} : f32[]
  %78 = broadcast %77 {dims = []} : f32[1024]
  %79 = mul %78, %76 : f32[1024]
  %80 = sub %b1, %79 : f32[1024]
  %81 = constant {value = 0.1} : f32[]
  %82 = broadcast %81 {dims = []} : f32[1024,1024]
  // gather (sharded update) a dot result {[batch], []} -> {[], []} for 'mul' at examples/mlp.pir:3:6 (data-parallel)
  %83 = all_gather %12 {dim = 0, axes = [batch]} : f32[1024,1024]
  %84 = mul %82, %83 : f32[1024,1024]
  %85 = constant {value = 0.9} : f32[]
  %86 = broadcast %85 {dims = []} : f32[1024,1024]
  %87 = mul %86, %opt.w2.m : f32[1024,1024]
  %88 = add %87, %84 : f32[1024,1024]
  %89 = mul %83, %83 : f32[1024,1024]
  %90 = constant {value = 0.001} : f32[]
  %91 = broadcast %90 {dims = []} : f32[1024,1024]
  %92 = mul %91, %89 : f32[1024,1024]
  %93 = constant {value = 0.999} : f32[]
  %94 = broadcast %93 {dims = []} : f32[1024,1024]
  %95 = mul %94, %opt.w2.v : f32[1024,1024]
  %96 = add %95, %92 : f32[1024,1024]
  %97 = broadcast %29 {dims = []} : f32[1024,1024]
  %98 = div %88, %97 : f32[1024,1024]
  %99 = broadcast %32 {dims = []} : f32[1024,1024]
  %100 = div %96, %99 : f32[1024,1024]
  %101 = sqrt %100 : f32[1024,1024]
  %102 = constant {value = 1e-08} : f32[]
  %103 = broadcast %102 {dims = []} : f32[1024,1024]
  %104 = add %101, %103 : f32[1024,1024]
  %105 = div %98, %104 : f32[1024,1024]
  %106 = constant {value = 0.001} : f32[]
  %107 = broadcast %106 {dims = []} : f32[1024,1024]
  %108 = mul %107, %105 : f32[1024,1024]
  %109 = sub %w2, %108 : f32[1024,1024]
  %110 = constant {value = 0.1} : f32[]
  %111 = broadcast %110 {dims = []} : f32[1024]
  // reshard a reduce_sum result {[]} partial(sum: batch) -> {[]} for 'mul' at examples/mlp.pir:3:6 (data-parallel)
  %112 = all_reduce %9 {reduce = sum, axes = [batch]} : f32[1024]
  %113 = mul %111, %112 : f32[1024]
  %114 = constant {value = 0.9} : f32[]
  %115 = broadcast %114 {dims = []} : f32[1024]
  %116 = mul %115, %opt.b2.m : f32[1024]
  %117 = add %116, %113 : f32[1024]
  %118 = mul %112, %112 : f32[1024]
  %119 = constant {value = 0.001} : f32[]
  %120 = broadcast %119 {dims = []} : f32[1024]
  %121 = mul %120, %118 : f32[1024]
  %122 = constant {value = 0.999} : f32[]
  %123 = broadcast %122 {dims = []} : f32[1024]
  %124 = mul %123, %opt.b2.v : f32[1024]
  %125 = add %124, %121 : f32[1024]
  %126 = broadcast %29 {dims = []} : f32[1024]
  %127 = div %117, %126 : f32[1024]
  %128 = broadcast %32 {dims = []} : f32[1024]
  %129 = div %125, %128 : f32[1024]
  %130 = sqrt %129 : f32[1024]
  %131 = constant {value = 1e-08} : f32[]
  %132 = broadcast %131 {dims = []} : f32[1024]
  %133 = add %130, %132 : f32[1024]
  %134 = div %127, %133 : f32[1024]
  %135 = constant {value = 0.001} : f32[]
  %136 = broadcast %135 {dims = []} : f32[1024]
  %137 = mul %136, %134 : f32[1024]
  %138 = sub %b2, %137 : f32[1024]
  return %56, %80, %109, %138, %38, %44, %62, %68, %88, %96, %117, %125, %26, %loss
}
