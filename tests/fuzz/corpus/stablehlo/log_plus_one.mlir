// stablehlo.log_plus_one: log(1 + x) (composed: add 1, then log)
// expect: 0 0.6931472 1.3862944
module @jit_log_plus_one attributes {mhlo.num_partitions = 1 : i32, mhlo.num_replicas = 1 : i32} {
  func.func public @main() -> (tensor<3xf32> {jax.result_info = ""}) {
    %cst = stablehlo.constant dense<[0.000000e+00, 1.000000e+00, 3.000000e+00]> : tensor<3xf32>
    %0 = stablehlo.log_plus_one %cst : tensor<3xf32>
    return %0 : tensor<3xf32>
  }
}
