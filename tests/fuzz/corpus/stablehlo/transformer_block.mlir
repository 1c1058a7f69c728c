// examples/transformer_block.pir's pre-norm decoder block and its mean-squared-error loss in
// StableHLO, the way torch_xla's StableHLO export writes a module: every parameter an argument
// with mhlo.sharding = "{replicated}", no argument names (they come from --names), generic and
// pretty forms mixed. Sizes: batch 8, sequence 128, model 512, 8 heads of 64, MLP hidden 2048.
// Import: partita import tests/data/import/transformer_block.mlir --params 2- \
//           --names tests/data/import/transformer_block.names
module @IrToHlo.1 attributes {mhlo.cross_program_prefetches = [], mhlo.is_dynamic = false, mhlo.use_auto_spmd_partitioning = false} {
  func.func @main(%arg0: tensor<8x128x512xf32> {mhlo.sharding = "{replicated}"}, %arg1: tensor<8x128x512xf32> {mhlo.sharding = "{replicated}"}, %arg2: tensor<512x512xf32> {mhlo.sharding = "{replicated}"}, %arg3: tensor<512x512xf32> {mhlo.sharding = "{replicated}"}, %arg4: tensor<512x512xf32> {mhlo.sharding = "{replicated}"}, %arg5: tensor<512x512xf32> {mhlo.sharding = "{replicated}"}, %arg6: tensor<512x2048xf32> {mhlo.sharding = "{replicated}"}, %arg7: tensor<2048x512xf32> {mhlo.sharding = "{replicated}"}, %arg8: tensor<512xf32> {mhlo.sharding = "{replicated}"}, %arg9: tensor<512xf32> {mhlo.sharding = "{replicated}"}) -> tensor<f32> {
    %cst = stablehlo.constant dense<0.000000e+00> : tensor<f32>
    %cst_0 = stablehlo.constant dense<5.120000e+02> : tensor<8x128xf32>
    %cst_1 = stablehlo.constant dense<9.99999997E-7> : tensor<8x128xf32>
    %cst_2 = stablehlo.constant dense<1.000000e+00> : tensor<512xf32>
    %0 = call @rmsnorm(%arg0, %arg8, %cst_0, %cst_1, %cst_2) : (tensor<8x128x512xf32>, tensor<512xf32>, tensor<8x128xf32>, tensor<8x128xf32>, tensor<512xf32>) -> tensor<8x128x512xf32>
    %1 = stablehlo.dot_general %0, %arg2, contracting_dims = [2] x [0] : (tensor<8x128x512xf32>, tensor<512x512xf32>) -> tensor<8x128x512xf32>
    %2 = stablehlo.reshape %1 : (tensor<8x128x512xf32>) -> tensor<8x128x8x64xf32>
    %3 = stablehlo.transpose %2, dims = [0, 2, 1, 3] : (tensor<8x128x8x64xf32>) -> tensor<8x8x128x64xf32>
    %4 = "stablehlo.dot_general"(%0, %arg3) {dot_dimension_numbers = #stablehlo.dot<lhs_contracting_dimensions = [2], rhs_contracting_dimensions = [0]>} : (tensor<8x128x512xf32>, tensor<512x512xf32>) -> tensor<8x128x512xf32>
    %5 = "stablehlo.reshape"(%4) : (tensor<8x128x512xf32>) -> tensor<8x128x8x64xf32>
    %6 = "stablehlo.transpose"(%5) {permutation = array<i64: 0, 2, 1, 3>} : (tensor<8x128x8x64xf32>) -> tensor<8x8x128x64xf32>
    %7 = stablehlo.dot_general %0, %arg4, contracting_dims = [2] x [0] : (tensor<8x128x512xf32>, tensor<512x512xf32>) -> tensor<8x128x512xf32>
    %8 = stablehlo.reshape %7 : (tensor<8x128x512xf32>) -> tensor<8x128x8x64xf32>
    %9 = stablehlo.transpose %8, dims = [0, 2, 1, 3] : (tensor<8x128x8x64xf32>) -> tensor<8x8x128x64xf32>
    %10 = stablehlo.dot_general %3, %6, batching_dims = [0, 1] x [0, 1], contracting_dims = [3] x [3] : (tensor<8x8x128x64xf32>, tensor<8x8x128x64xf32>) -> tensor<8x8x128x128xf32>
    %cst_3 = stablehlo.constant dense<1.250000e-01> : tensor<8x8x128x128xf32>
    %11 = stablehlo.multiply %10, %cst_3 : tensor<8x8x128x128xf32>
    %12 = stablehlo.iota dim = 0 : tensor<128x128xi32>
    %13 = stablehlo.iota dim = 1 : tensor<128x128xi32>
    %14 = stablehlo.compare  LE, %13, %12,  SIGNED : (tensor<128x128xi32>, tensor<128x128xi32>) -> tensor<128x128xi1>
    %15 = stablehlo.broadcast_in_dim %14, dims = [2, 3] : (tensor<128x128xi1>) -> tensor<8x8x128x128xi1>
    %cst_4 = stablehlo.constant dense<-1.000000e+09> : tensor<8x8x128x128xf32>
    %16 = stablehlo.select %15, %11, %cst_4 : tensor<8x8x128x128xi1>, tensor<8x8x128x128xf32>
    %cst_5 = stablehlo.constant dense<0xFF800000> : tensor<f32>
    %17 = "stablehlo.reduce"(%16, %cst_5) ({
    ^bb0(%a: tensor<f32>, %b: tensor<f32>):
      %m = "stablehlo.maximum"(%a, %b) : (tensor<f32>, tensor<f32>) -> tensor<f32>
      "stablehlo.return"(%m) : (tensor<f32>) -> ()
    }) {dimensions = array<i64: 3>} : (tensor<8x8x128x128xf32>, tensor<f32>) -> tensor<8x8x128xf32>
    %18 = stablehlo.broadcast_in_dim %17, dims = [0, 1, 2] : (tensor<8x8x128xf32>) -> tensor<8x8x128x128xf32>
    %19 = stablehlo.subtract %16, %18 : tensor<8x8x128x128xf32>
    %20 = stablehlo.exponential %19 : tensor<8x8x128x128xf32>
    %21 = stablehlo.reduce(%20 init: %cst) applies stablehlo.add across dimensions = [3] : (tensor<8x8x128x128xf32>, tensor<f32>) -> tensor<8x8x128xf32>
    %22 = stablehlo.broadcast_in_dim %21, dims = [0, 1, 2] : (tensor<8x8x128xf32>) -> tensor<8x8x128x128xf32>
    %23 = stablehlo.divide %20, %22 : tensor<8x8x128x128xf32>
    %24 = stablehlo.dot_general %23, %9, batching_dims = [0, 1] x [0, 1], contracting_dims = [3] x [2] : (tensor<8x8x128x128xf32>, tensor<8x8x128x64xf32>) -> tensor<8x8x128x64xf32>
    %25 = stablehlo.transpose %24, dims = [0, 2, 1, 3] : (tensor<8x8x128x64xf32>) -> tensor<8x128x8x64xf32>
    %26 = stablehlo.reshape %25 : (tensor<8x128x8x64xf32>) -> tensor<8x128x512xf32>
    %27 = stablehlo.dot_general %26, %arg5, contracting_dims = [2] x [0] : (tensor<8x128x512xf32>, tensor<512x512xf32>) -> tensor<8x128x512xf32>
    %28 = stablehlo.add %arg0, %27 : tensor<8x128x512xf32>
    %29 = call @rmsnorm(%28, %arg9, %cst_0, %cst_1, %cst_2) : (tensor<8x128x512xf32>, tensor<512xf32>, tensor<8x128xf32>, tensor<8x128xf32>, tensor<512xf32>) -> tensor<8x128x512xf32>
    %30 = stablehlo.dot_general %29, %arg6, contracting_dims = [2] x [0] : (tensor<8x128x512xf32>, tensor<512x2048xf32>) -> tensor<8x128x2048xf32>
    %31 = stablehlo.multiply %30, %30 : tensor<8x128x2048xf32>
    %32 = stablehlo.multiply %31, %30 : tensor<8x128x2048xf32>
    %cst_6 = stablehlo.constant dense<4.471500e-02> : tensor<8x128x2048xf32>
    %33 = stablehlo.multiply %32, %cst_6 : tensor<8x128x2048xf32>
    %34 = stablehlo.add %30, %33 : tensor<8x128x2048xf32>
    %cst_7 = stablehlo.constant dense<7.978845608e-01> : tensor<8x128x2048xf32>
    %35 = stablehlo.multiply %34, %cst_7 : tensor<8x128x2048xf32>
    %36 = stablehlo.tanh %35 : tensor<8x128x2048xf32>
    %cst_8 = stablehlo.constant dense<1.000000e+00> : tensor<8x128x2048xf32>
    %37 = stablehlo.add %cst_8, %36 : tensor<8x128x2048xf32>
    %cst_9 = stablehlo.constant dense<5.000000e-01> : tensor<8x128x2048xf32>
    %38 = stablehlo.multiply %30, %cst_9 : tensor<8x128x2048xf32>
    %39 = stablehlo.multiply %38, %37 : tensor<8x128x2048xf32>
    %40 = stablehlo.dot_general %39, %arg7, contracting_dims = [2] x [0] : (tensor<8x128x2048xf32>, tensor<2048x512xf32>) -> tensor<8x128x512xf32>
    %41 = stablehlo.add %28, %40 : tensor<8x128x512xf32>
    %42 = stablehlo.subtract %41, %arg1 : tensor<8x128x512xf32>
    %43 = stablehlo.multiply %42, %42 : tensor<8x128x512xf32>
    %44 = stablehlo.reduce(%43 init: %cst) applies stablehlo.add across dimensions = [0, 1, 2] : (tensor<8x128x512xf32>, tensor<f32>) -> tensor<f32>
    %cst_10 = stablehlo.constant dense<5.242880e+05> : tensor<f32>
    %45 = stablehlo.divide %44, %cst_10 : tensor<f32>
    return %45 : tensor<f32>
  }
  // x * rsqrt(mean(x^2 over the model dim) + eps) * (1 + scale)
  func.func private @rmsnorm(%arg0: tensor<8x128x512xf32>, %arg1: tensor<512xf32>, %arg2: tensor<8x128xf32>, %arg3: tensor<8x128xf32>, %arg4: tensor<512xf32>) -> tensor<8x128x512xf32> {
    %cst = stablehlo.constant dense<0.000000e+00> : tensor<f32>
    %0 = stablehlo.multiply %arg0, %arg0 : tensor<8x128x512xf32>
    %1 = stablehlo.reduce(%0 init: %cst) applies stablehlo.add across dimensions = [2] : (tensor<8x128x512xf32>, tensor<f32>) -> tensor<8x128xf32>
    %2 = stablehlo.divide %1, %arg2 : tensor<8x128xf32>
    %3 = stablehlo.add %2, %arg3 : tensor<8x128xf32>
    %4 = stablehlo.rsqrt %3 : tensor<8x128xf32>
    %5 = stablehlo.broadcast_in_dim %4, dims = [0, 1] : (tensor<8x128xf32>) -> tensor<8x128x512xf32>
    %6 = stablehlo.multiply %arg0, %5 : tensor<8x128x512xf32>
    %7 = stablehlo.add %arg4, %arg1 : tensor<512xf32>
    %8 = stablehlo.broadcast_in_dim %7, dims = [2] : (tensor<512xf32>) -> tensor<8x128x512xf32>
    %9 = stablehlo.multiply %6, %8 : tensor<8x128x512xf32>
    return %9 : tensor<8x128x512xf32>
  }
}
