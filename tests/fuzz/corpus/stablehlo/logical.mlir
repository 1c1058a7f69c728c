// stablehlo.not, and, or, xor on i1 (composed from compare and select)
// expect: 1 1 0 0  0 0 0 1  0 1 1 1  0 1 1 0
module @jit_logical attributes {mhlo.num_partitions = 1 : i32, mhlo.num_replicas = 1 : i32} {
  func.func public @main() -> (tensor<16xi32> {jax.result_info = ""}) {
    %c = stablehlo.constant dense<[false, false, true, true]> : tensor<4xi1>
    %c_0 = stablehlo.constant dense<[false, true, false, true]> : tensor<4xi1>
    %0 = stablehlo.not %c : tensor<4xi1>
    %1 = stablehlo.and %c, %c_0 : tensor<4xi1>
    %2 = stablehlo.or %c, %c_0 : tensor<4xi1>
    %3 = "stablehlo.xor"(%c, %c_0) : (tensor<4xi1>, tensor<4xi1>) -> tensor<4xi1>
    %4 = stablehlo.concatenate %0, %1, %2, %3, dim = 0 : (tensor<4xi1>, tensor<4xi1>, tensor<4xi1>, tensor<4xi1>) -> tensor<16xi1>
    %5 = stablehlo.convert %4 : (tensor<16xi1>) -> tensor<16xi32>
    return %5 : tensor<16xi32>
  }
}
