// SPMD program of @train_step on mesh model=2; global layouts:
//   %w1: f32[1024,1024] {[], [model]}
//   %b1: f32[1024] {[model]}
//   %w2: f32[1024,1024] {[model], []}
//   %b2: f32[1024] {[]}
//   %opt.w1.m: f32[1024,1024] {[], [model]}
//   %opt.w1.v: f32[1024,1024] {[], [model]}
//   %opt.b1.m: f32[1024] {[model]}
//   %opt.b1.v: f32[1024] {[model]}
//   %opt.w2.m: f32[1024,1024] {[model], []}
//   %opt.w2.v: f32[1024,1024] {[model], []}
//   %opt.b2.m: f32[1024] {[]}
//   %opt.b2.v: f32[1024] {[]}
//   %opt.step: f32[] {}
//   %x: f32[64,1024] {[], []}
//   %y: f32[64,1024] {[], []}
//   result w1: f32[1024,1024] {[], [model]}
//   result b1: f32[1024] {[model]}
//   result w2: f32[1024,1024] {[model], []}
//   result b2: f32[1024] {[]}
//   result opt.w1.m: f32[1024,1024] {[], [model]}
//   result opt.w1.v: f32[1024,1024] {[], [model]}
//   result opt.b1.m: f32[1024] {[model]}
//   result opt.b1.v: f32[1024] {[model]}
//   result opt.w2.m: f32[1024,1024] {[model], []}
//   result opt.w2.v: f32[1024,1024] {[model], []}
//   result opt.b2.m: f32[1024] {[]}
//   result opt.b2.v: f32[1024] {[]}
//   result opt.step: f32[] {}
//   result loss: f32[] {}
func @train_step_spmd(
    param %w1: f32[1024,512],
    param %b1: f32[512],
    param %w2: f32[512,1024],
    param %b2: f32[1024],
    state %opt.w1.m: f32[1024,512],
    state %opt.w1.v: f32[1024,512],
    state %opt.b1.m: f32[512],
    state %opt.b1.v: f32[512],
    state %opt.w2.m: f32[512,1024],
    state %opt.w2.v: f32[512,1024],
    state %opt.b2.m: f32[1024],
    state %opt.b2.v: f32[1024],
    state %opt.step: f32[],
    input %x: f32[64,1024],
    input %y: f32[64,1024]
) -> (
    w1: f32[1024,512],
    b1: f32[512],
    w2: f32[512,1024],
    b2: f32[1024],
    opt.w1.m: f32[1024,512],
    opt.w1.v: f32[1024,512],
    opt.b1.m: f32[512],
    opt.b1.v: f32[512],
    opt.w2.m: f32[512,1024],
    opt.w2.v: f32[512,1024],
    opt.b2.m: f32[1024],
    opt.b2.v: f32[1024],
    opt.step: f32[],
    loss: f32[]
) {
  %0 = constant {value = 1.0} : f32[]
  // layer 1: 1024 -> 1024, ReLU
  %xw1 = dot %x, %w1 {lhs_contract = [1], rhs_contract = [0]} : f32[64,512]
  %b1b = broadcast %b1 {dims = [1]} : f32[64,512]
  %h_pre = add %xw1, %b1b : f32[64,512]
  %zero = constant {value = 0.0} : f32[64,512]
  %h = max %h_pre, %zero : f32[64,512]
  %1 = constant {value = 0.0} : f32[64,512]
  %2 = compare %h_pre, %1 {dir = ge} : pred[64,512]
  // layer 2: 1024 -> 1024
  %hw2 = dot %h, %w2 {lhs_contract = [1], rhs_contract = [0]} : f32[64,1024]
  %b2b = broadcast %b2 {dims = [1]} : f32[64,1024]
  // reshard %hw2 {[], []} partial(sum: model) -> {[], []} for 'add' at examples/mlp.pir:20:11 (megatron)
  %3 = all_reduce %hw2 {reduce = sum, axes = [model]} : f32[64,1024]
  %pred = add %3, %b2b : f32[64,1024]
  // mean squared error
  %err = sub %pred, %y : f32[64,1024]
  %sq = mul %err, %err : f32[64,1024]
  %sum = reduce_sum %sq {dims = [0, 1]} : f32[]
  %n = constant {value = 65536.0} : f32[]
  %loss = div %sum, %n : f32[]
  %4 = constant {value = 65536.0} : f32[]
  %5 = div %0, %4 : f32[]
  %6 = broadcast %5 {dims = []} : f32[64,1024]
  %7 = mul %6, %err : f32[64,1024]
  %8 = add %7, %7 : f32[64,1024]
  %9 = reduce_sum %8 {dims = [0]} : f32[1024]
  %10 = dot %h, %8 {lhs_contract = [0], rhs_contract = [0]} : f32[512,1024]
  %11 = dot %8, %w2 {lhs_contract = [1], rhs_contract = [1]} : f32[64,512]
  %12 = constant {value = 0.0} : f32[64,512]
  %13 = select %2, %11, %12 : f32[64,512]
  %14 = reduce_sum %13 {dims = [0]} : f32[512]
  %15 = dot %x, %13 {lhs_contract = [0], rhs_contract = [0]} : f32[1024,512]
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
  %29 = broadcast %19 {dims = []} : f32[1024,512]
  %30 = mul %29, %15 : f32[1024,512]
  %31 = broadcast %17 {dims = []} : f32[1024,512]
  %32 = mul %31, %opt.w1.m : f32[1024,512]
  %33 = add %32, %30 : f32[1024,512]
  %34 = mul %15, %15 : f32[1024,512]
  %35 = broadcast %16 {dims = []} : f32[1024,512]
  %36 = mul %35, %34 : f32[1024,512]
  %37 = broadcast %18 {dims = []} : f32[1024,512]
  %38 = mul %37, %opt.w1.v : f32[1024,512]
  %39 = add %38, %36 : f32[1024,512]
  %40 = broadcast %25 {dims = []} : f32[1024,512]
  %41 = div %33, %40 : f32[1024,512]
  %42 = broadcast %28 {dims = []} : f32[1024,512]
  %43 = div %39, %42 : f32[1024,512]
  %44 = broadcast %20 {dims = []} : f32[1024,512]
  %45 = sqrt %43 : f32[1024,512]
  %46 = add %45, %44 : f32[1024,512]
  %47 = div %41, %46 : f32[1024,512]
  %48 = constant {value = 0.001} : f32[]
  %49 = broadcast %48 {dims = []} : f32[1024,512]
  %50 = mul %49, %47 : f32[1024,512]
  %51 = sub %w1, %50 : f32[1024,512]
  %52 = broadcast %19 {dims = []} : f32[512]
  %53 = mul %52, %14 : f32[512]
  %54 = broadcast %17 {dims = []} : f32[512]
  %55 = mul %54, %opt.b1.m : f32[512]
  %56 = add %55, %53 : f32[512]
  %57 = mul %14, %14 : f32[512]
  %58 = broadcast %16 {dims = []} : f32[512]
  %59 = mul %58, %57 : f32[512]
  %60 = broadcast %18 {dims = []} : f32[512]
  %61 = mul %60, %opt.b1.v : f32[512]
  %62 = add %61, %59 : f32[512]
  %63 = broadcast %25 {dims = []} : f32[512]
  %64 = div %56, %63 : f32[512]
  %65 = broadcast %28 {dims = []} : f32[512]
  %66 = div %62, %65 : f32[512]
  %67 = broadcast %20 {dims = []} : f32[512]
  %68 = sqrt %66 : f32[512]
  %69 = add %68, %67 : f32[512]
  %70 = div %64, %69 : f32[512]
  %71 = constant {value = 0.001} : f32[]
  %72 = broadcast %71 {dims = []} : f32[512]
  %73 = mul %72, %70 : f32[512]
  %74 = sub %b1, %73 : f32[512]
  %75 = constant {value = 0.1} : f32[]
  %76 = broadcast %75 {dims = []} : f32[512,1024]
  %77 = mul %76, %10 : f32[512,1024]
  %78 = constant {value = 0.9} : f32[]
  %79 = broadcast %78 {dims = []} : f32[512,1024]
  %80 = mul %79, %opt.w2.m : f32[512,1024]
  %81 = add %80, %77 : f32[512,1024]
  %82 = mul %10, %10 : f32[512,1024]
  %83 = constant {value = 0.001} : f32[]
  %84 = broadcast %83 {dims = []} : f32[512,1024]
  %85 = mul %84, %82 : f32[512,1024]
  %86 = constant {value = 0.999} : f32[]
  %87 = broadcast %86 {dims = []} : f32[512,1024]
  %88 = mul %87, %opt.w2.v : f32[512,1024]
  %89 = add %88, %85 : f32[512,1024]
  %90 = broadcast %25 {dims = []} : f32[512,1024]
  %91 = div %81, %90 : f32[512,1024]
  %92 = broadcast %28 {dims = []} : f32[512,1024]
  %93 = div %89, %92 : f32[512,1024]
  %94 = sqrt %93 : f32[512,1024]
  %95 = constant {value = 1e-08} : f32[]
  %96 = broadcast %95 {dims = []} : f32[512,1024]
  %97 = add %94, %96 : f32[512,1024]
  %98 = div %91, %97 : f32[512,1024]
  %99 = constant {value = 0.001} : f32[]
  %100 = broadcast %99 {dims = []} : f32[512,1024]
  %101 = mul %100, %98 : f32[512,1024]
  %102 = sub %w2, %101 : f32[512,1024]
  %103 = constant {value = 0.1} : f32[]
  %104 = broadcast %103 {dims = []} : f32[1024]
  %105 = mul %104, %9 : f32[1024]
  %106 = constant {value = 0.9} : f32[]
  %107 = broadcast %106 {dims = []} : f32[1024]
  %108 = mul %107, %opt.b2.m : f32[1024]
  %109 = add %108, %105 : f32[1024]
  %110 = mul %9, %9 : f32[1024]
  %111 = constant {value = 0.001} : f32[]
  %112 = broadcast %111 {dims = []} : f32[1024]
  %113 = mul %112, %110 : f32[1024]
  %114 = constant {value = 0.999} : f32[]
  %115 = broadcast %114 {dims = []} : f32[1024]
  %116 = mul %115, %opt.b2.v : f32[1024]
  %117 = add %116, %113 : f32[1024]
  %118 = broadcast %25 {dims = []} : f32[1024]
  %119 = div %109, %118 : f32[1024]
  %120 = broadcast %28 {dims = []} : f32[1024]
  %121 = div %117, %120 : f32[1024]
  %122 = sqrt %121 : f32[1024]
  %123 = constant {value = 1e-08} : f32[]
  %124 = broadcast %123 {dims = []} : f32[1024]
  %125 = add %122, %124 : f32[1024]
  %126 = div %119, %125 : f32[1024]
  %127 = constant {value = 0.001} : f32[]
  %128 = broadcast %127 {dims = []} : f32[1024]
  %129 = mul %128, %126 : f32[1024]
  %130 = sub %b2, %129 : f32[1024]
  return %51, %74, %102, %130, %33, %39, %56, %62, %81, %89, %109, %117, %22, %loss
}
