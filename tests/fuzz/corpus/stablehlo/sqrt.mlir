// stablehlo.sqrt: square root
// expect: 2 3 1.4142135
module @jit_sqrt attributes {mhlo.num_partitions = 1 : i32, mhlo.num_replicas = 1 : i32} {
  func.func public @main() -> (tensor<3xf32> {jax.result_info = ""}) {
    %cst = stablehlo.constant dense<[4.000000e+00, 9.000000e+00, 2.000000e+00]> : tensor<3xf32>
    %0 = stablehlo.sqrt %cst : tensor<3xf32>
    return %0 : tensor<3xf32>
  }
}
