// stablehlo.rsqrt: 1 / sqrt(x)
// expect: 0.5 0.25 2
module @jit_rsqrt attributes {mhlo.num_partitions = 1 : i32, mhlo.num_replicas = 1 : i32} {
  func.func public @main() -> (tensor<3xf32> {jax.result_info = ""}) {
    %cst = stablehlo.constant dense<[4.000000e+00, 1.600000e+01, 2.500000e-01]> : tensor<3xf32>
    %0 = stablehlo.rsqrt %cst : tensor<3xf32>
    return %0 : tensor<3xf32>
  }
}
