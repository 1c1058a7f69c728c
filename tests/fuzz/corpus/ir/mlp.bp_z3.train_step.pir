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
  // reshard %w1 {[batch], []} -> {[], []} for 'dot' at examples/mlp.pir:12:10 (zero-3)
  %1 = all_gather %w1 {dim = 0, axes = [batch]} : f32[1024,1024]
  // layer 1: 1024 -> 1024, ReLU
  %xw1 = dot %x, %1 {lhs_contract = [1], rhs_contract = [0]} : f32[32,1024]
  // reshard %b1 {[batch]} -> {[]} for 'broadcast' at examples/mlp.pir:13:10 (zero-3)
  %2 = all_gather %b1 {dim = 0, axes = [batch]} : f32[1024]
  %b1b = broadcast %2 {dims = [1]} : f32[32,1024]
  %h_pre = add %xw1, %b1b : f32[32,1024]
  %zero = constant {value = 0.0} : f32[32,1024]
  %h = max %h_pre, %zero : f32[32,1024]
  %3 = constant {value = 0.0} : f32[32,1024]
  %4 = compare %h_pre, %3 {dir = ge} : pred[32,1024]
  // reshard %w2 {[batch], []} -> {[], []} for 'dot' at examples/mlp.pir:18:10 (zero-3)
  %5 = all_gather %w2 {dim = 0, axes = [batch]} : f32[1024,1024]
  // layer 2: 1024 -> 1024
  %hw2 = dot %h, %5 {lhs_contract = [1], rhs_contract = [0]} : f32[32,1024]
  // reshard %b2 {[batch]} -> {[]} for 'broadcast' at examples/mlp.pir:19:10 (zero-3)
  %6 = all_gather %b2 {dim = 0, axes = [batch]} : f32[1024]
  %b2b = broadcast %6 {dims = [1]} : f32[32,1024]
  %pred = add %hw2, %b2b : f32[32,1024]
  // mean squared error
  %err = sub %pred, %y : f32[32,1024]
  %sq = mul %err, %err : f32[32,1024]
  %sum = reduce_sum %sq {dims = [0, 1]} : f32[]
  %n = constant {value = 65536.0} : f32[]
  // reshard %sum {} partial(sum: batch) -> {} for 'div' at examples/mlp.pir:26:11 (data-parallel)
  %7 = all_reduce %sum {reduce = sum, axes = [batch]} : f32[]
  %loss = div %7, %n : f32[]
  %8 = constant {value = 65536.0} : f32[]
  %9 = div %0, %8 : f32[]
  %10 = broadcast %9 {dims = []} : f32[32,1024]
  %11 = mul %10, %err : f32[32,1024]
  %12 = add %11, %11 : f32[32,1024]
  %13 = reduce_sum %12 {dims = [0]} : f32[1024]
  %14 = dot %h, %12 {lhs_contract = [0], rhs_contract = [0]} : f32[1024,1024]
  %15 = dot %12, %5 {lhs_contract = [1], rhs_contract = [1]} : f32[32,1024]
  %16 = constant {value = 0.0} : f32[32,1024]
  %17 = select %4, %15, %16 : f32[32,1024]
  %18 = reduce_sum %17 {dims = [0]} : f32[1024]
  %19 = dot %x, %17 {lhs_contract = [0], rhs_contract = [0]} : f32[1024,1024]
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
  %33 = broadcast %23 {dims = []} : f32[512,1024]
  // reshard a dot result {[], []} partial(sum: batch) -> {[batch], []} for 'mul' at examples/mlp.pir:3:6 (zero-3)
  %34 = reduce_scatter %19 {dim = 0, axes = [batch]} : f32[512,1024]
  %35 = mul %33, %34 : f32[512,1024]
  %36 = broadcast %21 {dims = []} : f32[512,1024]
  %37 = mul %36, %opt.w1.m : f32[512,1024]
  %38 = add %37, %35 : f32[512,1024]
  %39 = mul %34, %34 : f32[512,1024]
  %40 = broadcast %20 {dims = []} : f32[512,1024]
  %41 = mul %40, %39 : f32[512,1024]
  %42 = broadcast %22 {dims = []} : f32[512,1024]
  %43 = mul %42, %opt.w1.v : f32[512,1024]
  %44 = add %43, %41 : f32[512,1024]
  %45 = broadcast %29 {dims = []} : f32[512,1024]
  %46 = div %38, %45 : f32[512,1024]
  %47 = broadcast %32 {dims = []} : f32[512,1024]
  %48 = div %44, %47 : f32[512,1024]
  %49 = broadcast %24 {dims = []} : f32[512,1024]
  %50 = sqrt %48 : f32[512,1024]
  %51 = add %50, %49 : f32[512,1024]
  %52 = div %46, %51 : f32[512,1024]
  %53 = constant {value = 0.001} : f32[]
  %54 = broadcast %53 {dims = []} : f32[512,1024]
  %55 = mul %54, %52 : f32[512,1024]
  %56 = sub %w1, %55 : f32[512,1024]
  %57 = broadcast %23 {dims = []} : f32[512]
  // reshard a reduce_sum result {[]} partial(sum: batch) -> {[batch]} for 'mul' at examples/mlp.pir:3:6 (zero-3)
  %58 = reduce_scatter %18 {dim = 0, axes = [batch]} : f32[512]
  %59 = mul %57, %58 : f32[512]
  %60 = broadcast %21 {dims = []} : f32[512]
  %61 = mul %60, %opt.b1.m : f32[512]
  %62 = add %61, %59 : f32[512]
  %63 = mul %58, %58 : f32[512]
  %64 = broadcast %20 {dims = []} : f32[512]
  %65 = mul %64, %63 : f32[512]
  %66 = broadcast %22 {dims = []} : f32[512]
  %67 = mul %66, %opt.b1.v : f32[512]
  %68 = add %67, %65 : f32[512]
  %69 = broadcast %29 {dims = []} : f32[512]
  %70 = div %62, %69 : f32[512]
  %71 = broadcast %32 {dims = []} : f32[512]
  %72 = div %68, %71 : f32[512]
  %73 = broadcast %24 {dims = []} : f32[512]
  %74 = sqrt %72 : f32[512]
  %75 = add %74, %73 : f32[512]
  %76 = div %70, %75 : f32[512]
  %77 = constant {value = 0.001} : f32[]
  %78 = broadcast %77 {dims = []} : f32[512]
  %79 = mul %78, %76 : f32[512]
  %80 = sub %b1, %79 : f32[512]
  %81 = constant {value = 0.1} : f32[]
  %82 = broadcast %81 {dims = []} : f32[512,1024]
  // reshard a dot result {[], []} partial(sum: batch) -> {[batch], []} for 'mul' at examples/mlp.pir:3:6 (zero-3)
  %83 = reduce_scatter %14 {dim = 0, axes = [batch]} : f32[512,1024]
  %84 = mul %82, %83 : f32[512,1024]
  %85 = constant {value = 0.9} : f32[]
  %86 = broadcast %85 {dims = []} : f32[512,1024]
  %87 = mul %86, %opt.w2.m : f32[512,1024]
  %88 = add %87, %84 : f32[512,1024]
  %89 = mul %83, %83 : f32[512,1024]
  %90 = constant {value = 0.001} : f32[]
  %91 = broadcast %90 {dims = []} : f32[512,1024]
  %92 = mul %91, %89 : f32[512,1024]
  %93 = constant {value = 0.999} : f32[]
  %94 = broadcast %93 {dims = []} : f32[512,1024]
  %95 = mul %94, %opt.w2.v : f32[512,1024]
  %96 = add %95, %92 : f32[512,1024]
  %97 = broadcast %29 {dims = []} : f32[512,1024]
  %98 = div %88, %97 : f32[512,1024]
  %99 = broadcast %32 {dims = []} : f32[512,1024]
  %100 = div %96, %99 : f32[512,1024]
  %101 = sqrt %100 : f32[512,1024]
  %102 = constant {value = 1e-08} : f32[]
  %103 = broadcast %102 {dims = []} : f32[512,1024]
  %104 = add %101, %103 : f32[512,1024]
  %105 = div %98, %104 : f32[512,1024]
  %106 = constant {value = 0.001} : f32[]
  %107 = broadcast %106 {dims = []} : f32[512,1024]
  %108 = mul %107, %105 : f32[512,1024]
  %109 = sub %w2, %108 : f32[512,1024]
  %110 = constant {value = 0.1} : f32[]
  %111 = broadcast %110 {dims = []} : f32[512]
  // reshard a reduce_sum result {[]} partial(sum: batch) -> {[batch]} for 'mul' at examples/mlp.pir:3:6 (zero-3)
  %112 = reduce_scatter %13 {dim = 0, axes = [batch]} : f32[512]
  %113 = mul %111, %112 : f32[512]
  %114 = constant {value = 0.9} : f32[]
  %115 = broadcast %114 {dims = []} : f32[512]
  %116 = mul %115, %opt.b2.m : f32[512]
  %117 = add %116, %113 : f32[512]
  %118 = mul %112, %112 : f32[512]
  %119 = constant {value = 0.001} : f32[]
  %120 = broadcast %119 {dims = []} : f32[512]
  %121 = mul %120, %118 : f32[512]
  %122 = constant {value = 0.999} : f32[]
  %123 = broadcast %122 {dims = []} : f32[512]
  %124 = mul %123, %opt.b2.v : f32[512]
  %125 = add %124, %121 : f32[512]
  %126 = broadcast %29 {dims = []} : f32[512]
  %127 = div %117, %126 : f32[512]
  %128 = broadcast %32 {dims = []} : f32[512]
  %129 = div %125, %128 : f32[512]
  %130 = sqrt %129 : f32[512]
  %131 = constant {value = 1e-08} : f32[]
  %132 = broadcast %131 {dims = []} : f32[512]
  %133 = add %130, %132 : f32[512]
  %134 = div %127, %133 : f32[512]
  %135 = constant {value = 0.001} : f32[]
  %136 = broadcast %135 {dims = []} : f32[512]
  %137 = mul %136, %134 : f32[512]
  %138 = sub %b2, %137 : f32[512]
  return %56, %80, %109, %138, %38, %44, %62, %68, %88, %96, %117, %125, %26, %loss
}
