// stablehlo.abs: |x|
// expect: 1.5 2 0
module @jit_abs attributes {mhlo.num_partitions = 1 : i32, mhlo.num_replicas = 1 : i32} {
  func.func public @main() -> (tensor<3xf32> {jax.result_info = ""}) {
    %cst = stablehlo.constant dense<[-1.500000e+00, 2.000000e+00, -0.000000e+00]> : tensor<3xf32>
    %0 = stablehlo.abs %cst : tensor<3xf32>
    return %0 : tensor<3xf32>
  }
}
