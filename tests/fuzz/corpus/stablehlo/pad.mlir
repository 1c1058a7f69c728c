// stablehlo.pad: edge and interior padding, and a negative (cropping) edge
// expect: 0 1 0 2 0 3 0  3 9
module @jit_pad attributes {mhlo.num_partitions = 1 : i32, mhlo.num_replicas = 1 : i32} {
  func.func public @main() -> (tensor<9xf32> {jax.result_info = ""}) {
    %cst = stablehlo.constant dense<[1.000000e+00, 2.000000e+00, 3.000000e+00]> : tensor<3xf32>
    %cst_0 = stablehlo.constant dense<0.000000e+00> : tensor<f32>
    %cst_1 = stablehlo.constant dense<9.000000e+00> : tensor<f32>
    %0 = stablehlo.pad %cst, %cst_0, low = [1], high = [1], interior = [1] : (tensor<3xf32>, tensor<f32>) -> tensor<7xf32>
    %1 = "stablehlo.pad"(%cst, %cst_1) <{edge_padding_high = array<i64: 1>, edge_padding_low = array<i64: -1>, interior_padding = array<i64: 0>}> : (tensor<3xf32>, tensor<f32>) -> tensor<3xf32>
    %2 = stablehlo.slice %1 [1:3] : (tensor<3xf32>) -> tensor<2xf32>
    %3 = stablehlo.concatenate %0, %2, dim = 0 : (tensor<7xf32>, tensor<2xf32>) -> tensor<9xf32>
    return %3 : tensor<9xf32>
  }
}
