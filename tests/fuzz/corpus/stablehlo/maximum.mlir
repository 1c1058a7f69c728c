// stablehlo.maximum: element-wise max (ReLU)
// expect: 0 2 0
module @jit_maximum attributes {mhlo.num_partitions = 1 : i32, mhlo.num_replicas = 1 : i32} {
  func.func public @main() -> (tensor<3xf32> {jax.result_info = ""}) {
    %cst = stablehlo.constant dense<[-1.000000e+00, 2.000000e+00, -3.000000e+00]> : tensor<3xf32>
    %cst_0 = stablehlo.constant dense<0.000000e+00> : tensor<3xf32>
    %0 = stablehlo.maximum %cst, %cst_0 : tensor<3xf32>
    return %0 : tensor<3xf32>
  }
}
