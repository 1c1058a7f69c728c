// stablehlo.multiply: product, on i32 (wraps modulo 2^32)
// expect: 6 -10 0
module @jit_multiply attributes {mhlo.num_partitions = 1 : i32, mhlo.num_replicas = 1 : i32} {
  func.func public @main() -> (tensor<3xi32> {jax.result_info = ""}) {
    %c = stablehlo.constant dense<[2, -5, 0]> : tensor<3xi32>
    %c_0 = stablehlo.constant dense<[3, 2, 7]> : tensor<3xi32>
    %0 = stablehlo.multiply %c, %c_0 : tensor<3xi32>
    return %0 : tensor<3xi32>
  }
}
