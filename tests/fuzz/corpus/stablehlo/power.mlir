// stablehlo.power: x^y
// expect: 8 9 2
module @jit_power attributes {mhlo.num_partitions = 1 : i32, mhlo.num_replicas = 1 : i32} {
  func.func public @main() -> (tensor<3xf32> {jax.result_info = ""}) {
    %cst = stablehlo.constant dense<[2.000000e+00, 3.000000e+00, 4.000000e+00]> : tensor<3xf32>
    %cst_0 = stablehlo.constant dense<[3.000000e+00, 2.000000e+00, 5.000000e-01]> : tensor<3xf32>
    %0 = stablehlo.power %cst, %cst_0 : tensor<3xf32>
    return %0 : tensor<3xf32>
  }
}
