// attributes as older JAX releases print them: dense<...> : tensor<Nxi64> lists (an empty one
// too), integers with their type, #stablehlo<comparison_direction ...> in a plain dictionary
// expect: 7 7 7 7 7 7  1 3 5 2 4 6  1 0 1
module @jit_legacy {
  func.func public @main() -> tensor<15xf32> {
    %0 = "stablehlo.constant"() {value = dense<7.000000e+00> : tensor<f32>} : () -> tensor<f32>
    %1 = "stablehlo.broadcast_in_dim"(%0) {broadcast_dimensions = dense<> : tensor<0xi64>} : (tensor<f32>) -> tensor<6xf32>
    %2 = "stablehlo.constant"() {value = dense<[[1.000000e+00, 2.000000e+00], [3.000000e+00, 4.000000e+00], [5.000000e+00, 6.000000e+00]]> : tensor<3x2xf32>} : () -> tensor<3x2xf32>
    %3 = "stablehlo.transpose"(%2) {permutation = dense<[1, 0]> : tensor<2xi64>} : (tensor<3x2xf32>) -> tensor<2x3xf32>
    %4 = "stablehlo.reshape"(%3) : (tensor<2x3xf32>) -> tensor<6xf32>
    %5 = "stablehlo.slice"(%4) {limit_indices = dense<6> : tensor<1xi64>, start_indices = dense<0> : tensor<1xi64>, strides = dense<2> : tensor<1xi64>} : (tensor<6xf32>) -> tensor<3xf32>
    %6 = "stablehlo.constant"() {value = dense<5.000000e+00> : tensor<3xf32>} : () -> tensor<3xf32>
    %7 = "stablehlo.compare"(%5, %6) {comparison_direction = #stablehlo<comparison_direction NE>, compare_type = #stablehlo<comparison_type FLOAT>} : (tensor<3xf32>, tensor<3xf32>) -> tensor<3xi1>
    %8 = "stablehlo.convert"(%7) : (tensor<3xi1>) -> tensor<3xf32>
    %9 = "stablehlo.concatenate"(%1, %4, %8) {dimension = 0 : i64} : (tensor<6xf32>, tensor<6xf32>, tensor<3xf32>) -> tensor<15xf32>
    "func.return"(%9) : (tensor<15xf32>) -> ()
  }
}
