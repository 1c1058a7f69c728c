// stablehlo.divide: quotient; i32 truncates toward zero
// expect: 3 -3 3
module @jit_divide attributes {mhlo.num_partitions = 1 : i32, mhlo.num_replicas = 1 : i32} {
  func.func public @main() -> (tensor<3xi32> {jax.result_info = ""}) {
    %c = stablehlo.constant dense<[7, -7, 9]> : tensor<3xi32>
    %c_0 = stablehlo.constant dense<[2, 2, 3]> : tensor<3xi32>
    %0 = stablehlo.divide %c, %c_0 : tensor<3xi32>
    return %0 : tensor<3xi32>
  }
}
