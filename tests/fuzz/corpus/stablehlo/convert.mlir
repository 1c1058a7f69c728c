// stablehlo.convert: f32 to i32 truncates, i64 to i32 is the identity, i32 and i1 to f32
// expect: 2 -2 7 1 0 3
module @jit_convert attributes {mhlo.num_partitions = 1 : i32, mhlo.num_replicas = 1 : i32} {
  func.func public @main() -> (tensor<6xf32> {jax.result_info = ""}) {
    %cst = stablehlo.constant dense<[2.700000e+00, -2.700000e+00]> : tensor<2xf32>
    %c = stablehlo.constant dense<7> : tensor<1xi64>
    %c_0 = stablehlo.constant dense<[true, false]> : tensor<2xi1>
    %c_1 = stablehlo.constant dense<3> : tensor<1xui32>
    %0 = stablehlo.convert %cst : (tensor<2xf32>) -> tensor<2xi32>
    %1 = stablehlo.convert %0 : (tensor<2xi32>) -> tensor<2xf32>
    %2 = stablehlo.convert %c : (tensor<1xi64>) -> tensor<1xi32>
    %3 = stablehlo.convert %2 : (tensor<1xi32>) -> tensor<1xf32>
    %4 = stablehlo.convert %c_0 : (tensor<2xi1>) -> tensor<2xf32>
    %5 = stablehlo.convert %c_1 : (tensor<1xui32>) -> tensor<1xf32>
    %6 = stablehlo.concatenate %1, %3, %4, %5, dim = 0 : (tensor<2xf32>, tensor<1xf32>, tensor<2xf32>, tensor<1xf32>) -> tensor<6xf32>
    return %6 : tensor<6xf32>
  }
}
