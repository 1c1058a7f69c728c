// stablehlo.minimum: element-wise min
// expect: -1 0 -3
module @jit_minimum attributes {mhlo.num_partitions = 1 : i32, mhlo.num_replicas = 1 : i32} {
  func.func public @main() -> (tensor<3xf32> {jax.result_info = ""}) {
    %cst = stablehlo.constant dense<[-1.000000e+00, 2.000000e+00, -3.000000e+00]> : tensor<3xf32>
    %cst_0 = stablehlo.constant dense<0.000000e+00> : tensor<3xf32>
    %0 = stablehlo.minimum %cst, %cst_0 : tensor<3xf32>
    return %0 : tensor<3xf32>
  }
}
