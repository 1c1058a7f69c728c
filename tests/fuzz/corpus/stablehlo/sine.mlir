// stablehlo.sine: sin
// expect: 0 1 0.14112
module @jit_sine attributes {mhlo.num_partitions = 1 : i32, mhlo.num_replicas = 1 : i32} {
  func.func public @main() -> (tensor<3xf32> {jax.result_info = ""}) {
    %cst = stablehlo.constant dense<[0.000000e+00, 1.57079637, 3.000000e+00]> : tensor<3xf32>
    %0 = stablehlo.sine %cst : tensor<3xf32>
    return %0 : tensor<3xf32>
  }
}
