// stablehlo.tanh: hyperbolic tangent
// expect: 0 0.46211716 -0.7615942
module @jit_tanh attributes {mhlo.num_partitions = 1 : i32, mhlo.num_replicas = 1 : i32} {
  func.func public @main() -> (tensor<3xf32> {jax.result_info = ""}) {
    %cst = stablehlo.constant dense<[0.000000e+00, 5.000000e-01, -1.000000e+00]> : tensor<3xf32>
    %0 = stablehlo.tanh %cst : tensor<3xf32>
    return %0 : tensor<3xf32>
  }
}
