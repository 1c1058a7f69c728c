// stablehlo.iota along dimension 1 (pretty) and 0 (generic)
// expect: 0 1 2 0 1 2  0 0 0 1 1 1
module @jit_iota attributes {mhlo.num_partitions = 1 : i32, mhlo.num_replicas = 1 : i32} {
  func.func public @main() -> (tensor<12xi32> {jax.result_info = ""}) {
    %0 = stablehlo.iota dim = 1 : tensor<2x3xi32>
    %1 = "stablehlo.iota"() {iota_dimension = 0 : i64} : () -> tensor<2x3xi32>
    %2 = stablehlo.reshape %0 : (tensor<2x3xi32>) -> tensor<6xi32>
    %3 = stablehlo.reshape %1 : (tensor<2x3xi32>) -> tensor<6xi32>
    %4 = stablehlo.concatenate %2, %3, dim = 0 : (tensor<6xi32>, tensor<6xi32>) -> tensor<12xi32>
    return %4 : tensor<12xi32>
  }
}
