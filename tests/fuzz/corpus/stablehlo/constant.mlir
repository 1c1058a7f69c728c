// stablehlo.constant: splat, nested list, hex bytes, hex bits of -inf (as MLIR prints them), generic form
// expect: 1.5 1.5 1 2 3 4 1 2 -inf 0.25
module @jit_constant attributes {mhlo.num_partitions = 1 : i32, mhlo.num_replicas = 1 : i32} {
  func.func public @main() -> (tensor<10xf32> {jax.result_info = ""}) {
    %cst = stablehlo.constant dense<1.500000e+00> : tensor<2xf32>
    %cst_0 = stablehlo.constant dense<[[1.000000e+00, 2.000000e+00], [3.000000e+00, 4.000000e+00]]> : tensor<2x2xf32>
    %cst_1 = stablehlo.constant dense<"0x0000803F00000040"> : tensor<2xf32>
    %cst_2 = stablehlo.constant dense<0xFF800000> : tensor<1xf32>
    %cst_3 = "stablehlo.constant"() <{value = dense<2.500000e-01> : tensor<1xf32>}> : () -> tensor<1xf32>
    %0 = stablehlo.reshape %cst_0 : (tensor<2x2xf32>) -> tensor<4xf32>
    %1 = stablehlo.concatenate %cst, %0, %cst_1, %cst_2, %cst_3, dim = 0 : (tensor<2xf32>, tensor<4xf32>, tensor<2xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<10xf32>
    return %1 : tensor<10xf32>
  }
}
