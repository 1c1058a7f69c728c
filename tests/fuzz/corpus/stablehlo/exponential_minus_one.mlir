// stablehlo.exponential_minus_one: e^x - 1 (composed: exp, then subtract 1)
// expect: 0 1.7182817 0.0010005
module @jit_exponential_minus_one attributes {mhlo.num_partitions = 1 : i32, mhlo.num_replicas = 1 : i32} {
  func.func public @main() -> (tensor<3xf32> {jax.result_info = ""}) {
    %cst = stablehlo.constant dense<[0.000000e+00, 1.000000e+00, 1.000000e-03]> : tensor<3xf32>
    %0 = stablehlo.exponential_minus_one %cst : tensor<3xf32>
    return %0 : tensor<3xf32>
  }
}
