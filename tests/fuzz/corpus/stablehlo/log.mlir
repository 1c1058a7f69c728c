// stablehlo.log: natural log
// expect: 0 0.6931472 1.3862944
module @jit_log attributes {mhlo.num_partitions = 1 : i32, mhlo.num_replicas = 1 : i32} {
  func.func public @main() -> (tensor<3xf32> {jax.result_info = ""}) {
    %cst = stablehlo.constant dense<[1.000000e+00, 2.000000e+00, 4.000000e+00]> : tensor<3xf32>
    %0 = stablehlo.log %cst : tensor<3xf32>
    return %0 : tensor<3xf32>
  }
}
