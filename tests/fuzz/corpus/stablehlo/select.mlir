// stablehlo.select: a pred array, and a scalar pred (broadcast)
// expect: 1 20 3  10 20 30
module @jit_select attributes {mhlo.num_partitions = 1 : i32, mhlo.num_replicas = 1 : i32} {
  func.func public @main() -> (tensor<6xf32> {jax.result_info = ""}) {
    %cst = stablehlo.constant dense<[1.000000e+00, 2.000000e+00, 3.000000e+00]> : tensor<3xf32>
    %cst_0 = stablehlo.constant dense<[1.000000e+01, 2.000000e+01, 3.000000e+01]> : tensor<3xf32>
    %c = stablehlo.constant dense<[true, false, true]> : tensor<3xi1>
    %c_1 = stablehlo.constant dense<false> : tensor<i1>
    %0 = stablehlo.select %c, %cst, %cst_0 : tensor<3xi1>, tensor<3xf32>
    %1 = stablehlo.select %c_1, %cst, %cst_0 : tensor<i1>, tensor<3xf32>
    %2 = stablehlo.concatenate %0, %1, dim = 0 : (tensor<3xf32>, tensor<3xf32>) -> tensor<6xf32>
    return %2 : tensor<6xf32>
  }
}
