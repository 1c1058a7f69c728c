// stablehlo.negate: -x
// expect: -1 2 -0.5
module @jit_negate attributes {mhlo.num_partitions = 1 : i32, mhlo.num_replicas = 1 : i32} {
  func.func public @main() -> (tensor<3xf32> {jax.result_info = ""}) {
    %cst = stablehlo.constant dense<[1.000000e+00, -2.000000e+00, 5.000000e-01]> : tensor<3xf32>
    %0 = stablehlo.negate %cst : tensor<3xf32>
    return %0 : tensor<3xf32>
  }
}
