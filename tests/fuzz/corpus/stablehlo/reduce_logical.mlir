// stablehlo.reduce on i1: or (jnp.any) and and (jnp.all), and an i32 max
// expect: 1 0  0 0  3 9
module @jit_reduce_logical attributes {mhlo.num_partitions = 1 : i32, mhlo.num_replicas = 1 : i32} {
  func.func public @main() -> (tensor<6xi32> {jax.result_info = ""}) {
    %c = stablehlo.constant dense<[[true, false], [false, false]]> : tensor<2x2xi1>
    %c_0 = stablehlo.constant dense<false> : tensor<i1>
    %c_1 = stablehlo.constant dense<true> : tensor<i1>
    %c_2 = stablehlo.constant dense<[[3, -1], [2, 9]]> : tensor<2x2xi32>
    %c_3 = stablehlo.constant dense<-2147483648> : tensor<i32>
    %0 = stablehlo.reduce(%c init: %c_0) applies stablehlo.or across dimensions = [1] : (tensor<2x2xi1>, tensor<i1>) -> tensor<2xi1>
    %1 = stablehlo.reduce(%c init: %c_1) applies stablehlo.and across dimensions = [1] : (tensor<2x2xi1>, tensor<i1>) -> tensor<2xi1>
    %2 = stablehlo.reduce(%c_2 init: %c_3) applies stablehlo.maximum across dimensions = [1] : (tensor<2x2xi32>, tensor<i32>) -> tensor<2xi32>
    %3 = stablehlo.convert %0 : (tensor<2xi1>) -> tensor<2xi32>
    %4 = stablehlo.convert %1 : (tensor<2xi1>) -> tensor<2xi32>
    %5 = stablehlo.concatenate %3, %4, %2, dim = 0 : (tensor<2xi32>, tensor<2xi32>, tensor<2xi32>) -> tensor<6xi32>
    return %5 : tensor<6xi32>
  }
}
