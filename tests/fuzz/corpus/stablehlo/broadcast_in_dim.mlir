// stablehlo.broadcast_in_dim: a bias over rows, and dims = [1, 0] (a transpose, then a broadcast)
// expect: 1 2 1 2  1 3 2 4
module @jit_broadcast_in_dim attributes {mhlo.num_partitions = 1 : i32, mhlo.num_replicas = 1 : i32} {
  func.func public @main() -> (tensor<8xf32> {jax.result_info = ""}) {
    %cst = stablehlo.constant dense<[1.000000e+00, 2.000000e+00]> : tensor<2xf32>
    %cst_0 = stablehlo.constant dense<[[1.000000e+00, 2.000000e+00], [3.000000e+00, 4.000000e+00]]> : tensor<2x2xf32>
    %0 = stablehlo.broadcast_in_dim %cst, dims = [1] : (tensor<2xf32>) -> tensor<2x2xf32>
    %1 = "stablehlo.broadcast_in_dim"(%cst_0) <{broadcast_dimensions = array<i64: 1, 0>}> : (tensor<2x2xf32>) -> tensor<2x2xf32>
    %2 = stablehlo.reshape %0 : (tensor<2x2xf32>) -> tensor<4xf32>
    %3 = stablehlo.reshape %1 : (tensor<2x2xf32>) -> tensor<4xf32>
    %4 = stablehlo.concatenate %2, %3, dim = 0 : (tensor<4xf32>, tensor<4xf32>) -> tensor<8xf32>
    return %4 : tensor<8xf32>
  }
}
