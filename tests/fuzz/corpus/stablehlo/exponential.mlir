// stablehlo.exponential: e^x
// expect: 1 2.7182817 0.36787945
module @jit_exponential attributes {mhlo.num_partitions = 1 : i32, mhlo.num_replicas = 1 : i32} {
  func.func public @main() -> (tensor<3xf32> {jax.result_info = ""}) {
    %cst = stablehlo.constant dense<[0.000000e+00, 1.000000e+00, -1.000000e+00]> : tensor<3xf32>
    %0 = stablehlo.exponential %cst : tensor<3xf32>
    return %0 : tensor<3xf32>
  }
}
