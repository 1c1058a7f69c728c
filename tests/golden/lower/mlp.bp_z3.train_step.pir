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
  // reshard (sharded update) %h {[batch], []} -> {[], [batch]} for 'dot' at examples/mlp.pir:18:10 (data-parallel)
  %14 = all_to_all %h {split_dim = 1, concat_dim = 0, axes = [batch]} : f32[64,512]
  // reshard (sharded update) a add result {[batch], []} -> {[], []} for 'dot' at examples/mlp.pir:18:10 (data-parallel)
  %15 = all_gather %12 {dim = 0, axes = [batch]} : f32[64,1024]
  %16 = dot %14, %15 {lhs_contract = [0], rhs_contract = [0]} : f32[512,1024]
  %17 = dot %12, %5 {lhs_contract = [1], rhs_contract = [1]} : f32[32,1024]
  %18 = constant {value = 0.0} : f32[32,1024]
  %19 = select %4, %17, %18 : f32[32,1024]
  %20 = reduce_sum %19 {dims = [0]} : f32[1024]
  // reshard (sharded update) %x {[batch], []} -> {[], [batch]} for 'dot' at examples/mlp.pir:12:10 (data-parallel)
  %21 = all_to_all %x {split_dim = 1, concat_dim = 0, axes = [batch]} : f32[64,512]
  // reshard (sharded update) a select result {[batch], []} -> {[], []} for 'dot' at examples/mlp.pir:12:10 (data-parallel)
  %22 = all_gather %19 {dim = 0, axes = [batch]} : f32[64,1024]
  %23 = dot %21, %22 {lhs_contract = [0], rhs_contract = [0]} : f32[512,1024]
  %24 = constant {value = 0.001} : f32[]
  %25 = constant {value = 0.9} : f32[]
  %26 = constant {value = 0.999} : f32[]
  %27 = constant {value = 0.1} : f32[]
  %28 = constant {value = 1e-08} : f32[]
  %29 = constant {value = 1.0} : f32[]
  %30 = add %opt.step, %29 : f32[]
  %31 = pow %25, %30 : f32[]
  %32 = constant {value = 1.0} : f32[]
  %33 = sub %32, %31 : f32[]
  %34 = pow %26, %30 : f32[]
  %35 = constant {value = 1.0} : f32[]
  %36 = sub %35, %34 : f32[]
  %37 = broadcast %27 {dims = []} : f32[512,1024]
  %38 = mul %37, %23 : f32[512,1024]
  %39 = broadcast %25 {dims = []} : f32[512,1024]
  %40 = mul %39, %opt.w1.m : f32[512,1024]
  %41 = add %40, %38 : f32[512,1024]
  %42 = mul %23, %23 : f32[512,1024]
  %43 = broadcast %24 {dims = []} : f32[512,1024]
  %44 = mul %43, %42 : f32[512,1024]
  %45 = broadcast %26 {dims = []} : f32[512,1024]
  %46 = mul %45, %opt.w1.v : f32[512,1024]
  %47 = add %46, %44 : f32[512,1024]
  %48 = broadcast %33 {dims = []} : f32[512,1024]
  %49 = div %41, %48 : f32[512,1024]
  %50 = broadcast %36 {dims = []} : f32[512,1024]
  %51 = div %47, %50 : f32[512,1024]
  %52 = broadcast %28 {dims = []} : f32[512,1024]
  %53 = sqrt %51 : f32[512,1024]
  %54 = add %53, %52 : f32[512,1024]
  %55 = div %49, %54 : f32[512,1024]
  %56 = constant {value = 0.001} : f32[]
  %57 = broadcast %56 {dims = []} : f32[512,1024]
  %58 = mul %57, %55 : f32[512,1024]
  %59 = sub %w1, %58 : f32[512,1024]
  %60 = broadcast %27 {dims = []} : f32[512]
  // reshard a reduce_sum result {[]} partial(sum: batch) -> {[batch]} for 'mul' at examples/mlp.pir:3:6 (zero-3)
  %61 = reduce_scatter %20 {dim = 0, axes = [batch]} : f32[512]
  %62 = mul %60, %61 : f32[512]
  %63 = broadcast %25 {dims = []} : f32[512]
  %64 = mul %63, %opt.b1.m : f32[512]
  %65 = add %64, %62 : f32[512]
  %66 = mul %61, %61 : f32[512]
  %67 = broadcast %24 {dims = []} : f32[512]
  %68 = mul %67, %66 : f32[512]
  %69 = broadcast %26 {dims = []} : f32[512]
  %70 = mul %69, %opt.b1.v : f32[512]
  %71 = add %70, %68 : f32[512]
  %72 = broadcast %33 {dims = []} : f32[512]
  %73 = div %65, %72 : f32[512]
  %74 = broadcast %36 {dims = []} : f32[512]
  %75 = div %71, %74 : f32[512]
  %76 = broadcast %28 {dims = []} : f32[512]
  %77 = sqrt %75 : f32[512]
  %78 = add %77, %76 : f32[512]
  %79 = div %73, %78 : f32[512]
  %80 = constant {value = 0.001} : f32[]
  %81 = broadcast %80 {dims = []} : f32[512]
  %82 = mul %81, %79 : f32[512]
  %83 = sub %b1, %82 : f32[512]
  %84 = constant {value = 0.1} : f32[]
  %85 = broadcast %84 {dims = []} : f32[512,1024]
  %86 = mul %85, %16 : f32[512,1024]
  %87 = constant {value = 0.9} : f32[]
  %88 = broadcast %87 {dims = []} : f32[512,1024]
  %89 = mul %88, %opt.w2.m : f32[512,1024]
  %90 = add %89, %86 : f32[512,1024]
  %91 = mul %16, %16 : f32[512,1024]
  %92 = constant {value = 0.001} : f32[]
  %93 = broadcast %92 {dims = []} : f32[512,1024]
  %94 = mul %93, %91 : f32[512,1024]
  %95 = constant {value = 0.999} : f32[]
  %96 = broadcast %95 {dims = []} : f32[512,1024]
  %97 = mul %96, %opt.w2.v : f32[512,1024]
  %98 = add %97, %94 : f32[512,1024]
  %99 = broadcast %33 {dims = []} : f32[512,1024]
  %100 = div %90, %99 : f32[512,1024]
  %101 = broadcast %36 {dims = []} : f32[512,1024]
  %102 = div %98, %101 : f32[512,1024]
  %103 = sqrt %102 : f32[512,1024]
  %104 = constant {value = 1e-08} : f32[]
  %105 = broadcast %104 {dims = []} : f32[512,1024]
  %106 = add %103, %105 : f32[512,1024]
  %107 = div %100, %106 : f32[512,1024]
  %108 = constant {value = 0.001} : f32[]
  %109 = broadcast %108 {dims = []} : f32[512,1024]
  %110 = mul %109, %107 : f32[512,1024]
  %111 = sub %w2, %110 : f32[512,1024]
  %112 = constant {value = 0.1} : f32[]
  %113 = broadcast %112 {dims = []} : f32[512]
  // reshard a reduce_sum result {[]} partial(sum: batch) -> {[batch]} for 'mul' at examples/mlp.pir:3:6 (zero-3)
  %114 = reduce_scatter %13 {dim = 0, axes = [batch]} : f32[512]
  %115 = mul %113, %114 : f32[512]
  %116 = constant {value = 0.9} : f32[]
  %117 = broadcast %116 {dims = []} : f32[512]
  %118 = mul %117, %opt.b2.m : f32[512]
  %119 = add %118, %115 : f32[512]
  %120 = mul %114, %114 : f32[512]
  %121 = constant {value = 0.001} : f32[]
  %122 = broadcast %121 {dims = []} : f32[512]
  %123 = mul %122, %120 : f32[512]
  %124 = constant {value = 0.999} : f32[]
  %125 = broadcast %124 {dims = []} : f32[512]
  %126 = mul %125, %opt.b2.v : f32[512]
  %127 = add %126, %123 : f32[512]
  %128 = broadcast %33 {dims = []} : f32[512]
  %129 = div %119, %128 : f32[512]
  %130 = broadcast %36 {dims = []} : f32[512]
  %131 = div %127, %130 : f32[512]
  %132 = sqrt %131 : f32[512]
  %133 = constant {value = 1e-08} : f32[]
  %134 = broadcast %133 {dims = []} : f32[512]
  %135 = add %132, %134 : f32[512]
  %136 = div %129, %135 : f32[512]
  %137 = constant {value = 0.001} : f32[]
  %138 = broadcast %137 {dims = []} : f32[512]
  %139 = mul %138, %136 : f32[512]
  %140 = sub %b2, %139 : f32[512]
  return %59, %83, %111, %140, %41, %47, %65, %71, %90, %98, %119, %127, %30, %loss
}
