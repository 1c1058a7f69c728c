// stablehlo.scatter with an add body (an embedding gradient) gives scatter_add; a non-zero base is added
// expect: 1 1 0 0 5 7  2 2 1 1 6 8
module @jit_scatter attributes {mhlo.num_partitions = 1 : i32, mhlo.num_replicas = 1 : i32} {
  func.func public @main() -> (tensor<12xf32> {jax.result_info = ""}) {
    %cst = stablehlo.constant dense<0.000000e+00> : tensor<3x2xf32>
    %cst_0 = stablehlo.constant dense<1.000000e+00> : tensor<3x2xf32>
    %cst_1 = stablehlo.constant dense<[[1.000000e+00, 1.000000e+00], [2.000000e+00, 3.000000e+00], [3.000000e+00, 4.000000e+00]]> : tensor<3x2xf32>
    %c = stablehlo.constant dense<[[0], [2], [2]]> : tensor<3x1xi32>
    %0 = "stablehlo.scatter"(%cst, %c, %cst_1) <{indices_are_sorted = false, scatter_dimension_numbers = #stablehlo.scatter<update_window_dims = [1], inserted_window_dims = [0], scatter_dims_to_operand_dims = [0], index_vector_dim = 1>, unique_indices = false}> ({
    ^bb0(%arg0: tensor<f32>, %arg1: tensor<f32>):
      %4 = stablehlo.add %arg0, %arg1 : tensor<f32>
      stablehlo.return %4 : tensor<f32>
    }) : (tensor<3x2xf32>, tensor<3x1xi32>, tensor<3x2xf32>) -> tensor<3x2xf32>
    %1 = "stablehlo.scatter"(%cst_0, %c, %cst_1) <{indices_are_sorted = false, scatter_dimension_numbers = #stablehlo.scatter<update_window_dims = [1], inserted_window_dims = [0], scatter_dims_to_operand_dims = [0], index_vector_dim = 1>, unique_indices = false}> ({
    ^bb0(%arg0: tensor<f32>, %arg1: tensor<f32>):
      %4 = stablehlo.add %arg0, %arg1 : tensor<f32>
      stablehlo.return %4 : tensor<f32>
    }) : (tensor<3x2xf32>, tensor<3x1xi32>, tensor<3x2xf32>) -> tensor<3x2xf32>
    %2 = stablehlo.reshape %0 : (tensor<3x2xf32>) -> tensor<6xf32>
    %3 = stablehlo.reshape %1 : (tensor<3x2xf32>) -> tensor<6xf32>
    %5 = stablehlo.concatenate %2, %3, dim = 0 : (tensor<6xf32>, tensor<6xf32>) -> tensor<12xf32>
    return %5 : tensor<12xf32>
  }
}
