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
  %10 = dot %h, %8 {lhs_contract = [0], rhs_contract = [0]} : f32[1024,1024]
  %11 = dot %8, %w2 {lhs_contract = [1], rhs_contract = [1]} : f32[32,1024]
  %12 = constant {value = 0.0} : f32[32,1024]
  %13 = select %2, %11, %12 : f32[32,1024]
  %14 = reduce_sum %13 {dims = [0]} : f32[1024]
  %15 = dot %x, %13 {lhs_contract = [0], rhs_contract = [0]} : f32[1024,1024]
  %16 = constant {value = 0.001} : f32[]
  %17 = constant {value = 0.9} : f32[]
  %18 = constant {value = 0.999} : f32[]
  %19 = constant {value = 0.1} : f32[]
  %20 = constant {value = 1e-08} : f32[]
  %21 = constant {value = 1.0} : f32[]
  %22 = add %opt.step, %21 : f32[]
  %23 = pow %17, %22 : f32[]
  %24 = constant {value = 1.0} : f32[]
  %25 = sub %24, %23 : f32[]
  %26 = pow %18, %22 : f32[]
  %27 = constant {value = 1.0} : f32[]
  %28 = sub %27, %26 : f32[]
  %29 = broadcast %19 {dims = []} : f32[1024,1024]
  // reshard a dot result {[], []} partial(sum: batch) -> {[], []} for 'mul' at examples/mlp.pir:3:6 (data-parallel)
  %30 = all_reduce %15 {reduce = sum, axes = [batch]} : f32[1024,1024]
  %31 = mul %29, %30 : f32[1024,1024]
  %32 = broadcast %17 {dims = []} : f32[1024,1024]
  %33 = mul %32, %opt.w1.m : f32[1024,1024]
  %34 = add %33, %31 : f32[1024,1024]
  %35 = mul %30, %30 : f32[1024,1024]
  %36 = broadcast %16 {dims = []} : f32[1024,1024]
  %37 = mul %36, %35 : f32[1024,1024]
  %38 = broadcast %18 {dims = []} : f32[1024,1024]
  %39 = mul %38, %opt.w1.v : f32[1024,1024]
  %40 = add %39, %37 : f32[1024,1024]
  %41 = broadcast %25 {dims = []} : f32[1024,1024]
  %42 = div %34, %41 : f32[1024,1024]
  %43 = broadcast %28 {dims = []} : f32[1024,1024]
  %44 = div %40, %43 : f32[1024,1024]
  %45 = broadcast %20 {dims = []} : f32[1024,1024]
  %46 = sqrt %44 : f32[1024,1024]
  %47 = add %46, %45 : f32[1024,1024]
  %48 = div %42, %47 : f32[1024,1024]
  %49 = constant {value = 0.001} : f32[]
  %50 = broadcast %49 {dims = []} : f32[1024,1024]
  %51 = mul %50, %48 : f32[1024,1024]
  %52 = sub %w1, %51 : f32[1024,1024]
  %53 = broadcast %19 {dims = []} : f32[1024]
  // reshard a reduce_sum result {[]} partial(sum: batch) -> {[]} for 'mul' at examples/mlp.pir:3:6 (data-parallel)
  %54 = all_reduce %14 {reduce = sum, axes = [batch]} : f32[1024]
  %55 = mul %53, %54 : f32[1024]
  %56 = broadcast %17 {dims = []} : f32[1024]
  %57 = mul %56, %opt.b1.m : f32[1024]
  %58 = add %57, %55 : f32[1024]
  %59 = mul %54, %54 : f32[1024]
  %60 = broadcast %16 {dims = []} : f32[1024]
  %61 = mul %60, %59 : f32[1024]
  %62 = broadcast %18 {dims = []} : f32[1024]
  %63 = mul %62, %opt.b1.v : f32[1024]
  %64 = add %63, %61 : f32[1024]
  %65 = broadcast %25 {dims = []} : f32[1024]
  %66 = div %58, %65 : f32[1024]
  %67 = broadcast %28 {dims = []} : f32[1024]
  %68 = div %64, %67 : f32[1024]
  %69 = broadcast %20 {dims = []} : f32[1024]
  %70 = sqrt %68 : f32[1024]
  %71 = add %70, %69 : f32[1024]
  %72 = div %66, %71 : f32[1024]
  %73 = constant {value = 0.001} : f32[]
  %74 = broadcast %73 {dims = []} : f32[1024]
  %75 = mul %74, %72 : f32[1024]
  %76 = sub %b1, %75 : f32[1024]
  %77 = constant {value = 0.1} : f32[]
  %78 = broadcast %77 {dims = []} : f32[1024,1024]
  // reshard a dot result {[], []} partial(sum: batch) -> {[], []} for 'mul' at examples/mlp.pir:3:6 (data-parallel)
  %79 = all_reduce %10 {reduce = sum, axes = [batch]} : f32[1024,1024]
  %80 = mul %78, %79 : f32[1024,1024]
  %81 = constant {value = 0.9} : f32[]
  %82 = broadcast %81 {dims = []} : f32[1024,1024]
  %83 = mul %82, %opt.w2.m : f32[1024,1024]
  %84 = add %83, %80 : f32[1024,1024]
  %85 = mul %79, %79 : f32[1024,1024]
  %86 = constant {value = 0.001} : f32[]
  %87 = broadcast %86 {dims = []} : f32[1024,1024]
  %88 = mul %87, %85 : f32[1024,1024]
  %89 = constant {value = 0.999} : f32[]
  %90 = broadcast %89 {dims = []} : f32[1024,1024]
  %91 = mul %90, %opt.w2.v : f32[1024,1024]
  %92 = add %91, %88 : f32[1024,1024]
  %93 = broadcast %25 {dims = []} : f32[1024,1024]
  %94 = div %84, %93 : f32[1024,1024]
  %95 = broadcast %28 {dims = []} : f32[1024,1024]
  %96 = div %92, %95 : f32[1024,1024]
  %97 = sqrt %96 : f32[1024,1024]
  %98 = constant {value = 1e-08} : f32[]
  %99 = broadcast %98 {dims = []} : f32[1024,1024]
  %100 = add %97, %99 : f32[1024,1024]
  %101 = div %94, %100 : f32[1024,1024]
  %102 = constant {value = 0.001} : f32[]
  %103 = broadcast %102 {dims = []} : f32[1024,1024]
  %104 = mul %103, %101 : f32[1024,1024]
  %105 = sub %w2, %104 : f32[1024,1024]
  %106 = constant {value = 0.1} : f32[]
  %107 = broadcast %106 {dims = []} : f32[1024]
  // reshard a reduce_sum result {[]} partial(sum: batch) -> {[]} for 'mul' at examples/mlp.pir:3:6 (data-parallel)
  %108 = all_reduce %9 {reduce = sum, axes = [batch]} : f32[1024]
  %109 = mul %107, %108 : f32[1024]
  %110 = constant {value = 0.9} : f32[]
  %111 = broadcast %110 {dims = []} : f32[1024]
  %112 = mul %111, %opt.b2.m : f32[1024]
  %113 = add %112, %109 : f32[1024]
  %114 = mul %108, %108 : f32[1024]
  %115 = constant {value = 0.001} : f32[]
  %116 = broadcast %115 {dims = []} : f32[1024]
  %117 = mul %116, %114 : f32[1024]
  %118 = constant {value = 0.999} : f32[]
  %119 = broadcast %118 {dims = []} : f32[1024]
  %120 = mul %119, %opt.b2.v : f32[1024]
  %121 = add %120, %117 : f32[1024]
  %122 = broadcast %25 {dims = []} : f32[1024]
  %123 = div %113, %122 : f32[1024]
  %124 = broadcast %28 {dims = []} : f32[1024]
  %125 = div %121, %124 : f32[1024]
  %126 = sqrt %125 : f32[1024]
  %127 = constant {value = 1e-08} : f32[]
  %128 = broadcast %127 {dims = []} : f32[1024]
  %129 = add %126, %128 : f32[1024]
  %130 = div %123, %129 : f32[1024]
  %131 = constant {value = 0.001} : f32[]
  %132 = broadcast %131 {dims = []} : f32[1024]
  %133 = mul %132, %130 : f32[1024]
  %134 = sub %b2, %133 : f32[1024]
  return %52, %76, %105, %134, %34, %40, %58, %64, %84, %92, %113, %121, %22, %loss
}
