// stablehlo.logistic: 1 / (1 + e^-x)
// expect: 0.5 0.8807971 0.11920292
module @jit_logistic attributes {mhlo.num_partitions = 1 : i32, mhlo.num_replicas = 1 : i32} {
  func.func public @main() -> (tensor<3xf32> {jax.result_info = ""}) {
    %cst = stablehlo.constant dense<[0.000000e+00, 2.000000e+00, -2.000000e+00]> : tensor<3xf32>
    %0 = stablehlo.logistic %cst : tensor<3xf32>
    return %0 : tensor<3xf32>
  }
}
