// stablehlo.compare: every direction, FLOAT and SIGNED, pretty and generic; then convert and concatenate
// expect: 1 0 0  1 1 0  0 0 1  0 1 1  0 1 0  1 0 1
module @jit_compare attributes {mhlo.num_partitions = 1 : i32, mhlo.num_replicas = 1 : i32} {
  func.func public @main() -> (tensor<18xi32> {jax.result_info = ""}) {
    %cst = stablehlo.constant dense<[1.000000e+00, 2.000000e+00, 3.000000e+00]> : tensor<3xf32>
    %cst_0 = stablehlo.constant dense<2.000000e+00> : tensor<3xf32>
    %c = stablehlo.constant dense<[1, 2, 3]> : tensor<3xi32>
    %c_1 = stablehlo.constant dense<2> : tensor<3xi32>
    %0 = stablehlo.compare  LT, %cst, %cst_0,  FLOAT : (tensor<3xf32>, tensor<3xf32>) -> tensor<3xi1>
    %1 = stablehlo.compare  LE, %cst, %cst_0,  FLOAT : (tensor<3xf32>, tensor<3xf32>) -> tensor<3xi1>
    %2 = "stablehlo.compare"(%cst, %cst_0) {compare_type = #stablehlo<comparison_type FLOAT>, comparison_direction = #stablehlo<comparison_direction GT>} : (tensor<3xf32>, tensor<3xf32>) -> tensor<3xi1>
    %3 = stablehlo.compare  GE, %c, %c_1,  SIGNED : (tensor<3xi32>, tensor<3xi32>) -> tensor<3xi1>
    %4 = stablehlo.compare  EQ, %c, %c_1 : (tensor<3xi32>, tensor<3xi32>) -> tensor<3xi1>
    %5 = "stablehlo.compare"(%c, %c_1) <{comparison_direction = #stablehlo<comparison_direction NE>}> : (tensor<3xi32>, tensor<3xi32>) -> tensor<3xi1>
    %6 = stablehlo.convert %0 : (tensor<3xi1>) -> tensor<3xi32>
    %7 = stablehlo.convert %1 : (tensor<3xi1>) -> tensor<3xi32>
    %8 = stablehlo.convert %2 : (tensor<3xi1>) -> tensor<3xi32>
    %9 = stablehlo.convert %3 : (tensor<3xi1>) -> tensor<3xi32>
    %10 = stablehlo.convert %4 : (tensor<3xi1>) -> tensor<3xi32>
    %11 = stablehlo.convert %5 : (tensor<3xi1>) -> tensor<3xi32>
    %12 = stablehlo.concatenate %6, %7, %8, %9, %10, %11, dim = 0 : (tensor<3xi32>, tensor<3xi32>, tensor<3xi32>, tensor<3xi32>, tensor<3xi32>, tensor<3xi32>) -> tensor<18xi32>
    return %12 : tensor<18xi32>
  }
}
