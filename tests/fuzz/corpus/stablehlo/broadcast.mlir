// stablehlo.broadcast: new leading dimensions
// expect: 5 6 5 6 5 6
module @jit_broadcast attributes {mhlo.num_partitions = 1 : i32, mhlo.num_replicas = 1 : i32} {
  func.func public @main() -> (tensor<3x2xf32> {jax.result_info = ""}) {
    %cst = stablehlo.constant dense<[5.000000e+00, 6.000000e+00]> : tensor<2xf32>
    %0 = stablehlo.broadcast %cst, sizes = [3] : (tensor<2xf32>) -> tensor<3x2xf32>
    return %0 : tensor<3x2xf32>
  }
}
