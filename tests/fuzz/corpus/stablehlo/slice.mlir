// stablehlo.slice: pretty [start:limit:stride] and generic
// expect: 2 3 5 6  1 3 4 6
module @jit_slice attributes {mhlo.num_partitions = 1 : i32, mhlo.num_replicas = 1 : i32} {
  func.func public @main() -> (tensor<8xf32> {jax.result_info = ""}) {
    %cst = stablehlo.constant dense<[[1.000000e+00, 2.000000e+00, 3.000000e+00], [4.000000e+00, 5.000000e+00, 6.000000e+00]]> : tensor<2x3xf32>
    %0 = stablehlo.slice %cst [0:2, 1:3] : (tensor<2x3xf32>) -> tensor<2x2xf32>
    %1 = "stablehlo.slice"(%cst) <{limit_indices = array<i64: 2, 3>, start_indices = array<i64: 0, 0>, strides = array<i64: 1, 2>}> : (tensor<2x3xf32>) -> tensor<2x2xf32>
    %2 = stablehlo.reshape %0 : (tensor<2x2xf32>) -> tensor<4xf32>
    %3 = stablehlo.reshape %1 : (tensor<2x2xf32>) -> tensor<4xf32>
    %4 = stablehlo.concatenate %2, %3, dim = 0 : (tensor<4xf32>, tensor<4xf32>) -> tensor<8xf32>
    return %4 : tensor<8xf32>
  }
}
