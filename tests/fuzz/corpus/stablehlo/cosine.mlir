// stablehlo.cosine: cos
// expect: 1 -1 0.5403023
module @jit_cosine attributes {mhlo.num_partitions = 1 : i32, mhlo.num_replicas = 1 : i32} {
  func.func public @main() -> (tensor<3xf32> {jax.result_info = ""}) {
    %cst = stablehlo.constant dense<[0.000000e+00, 3.14159274, 1.000000e+00]> : tensor<3xf32>
    %0 = stablehlo.cosine %cst : tensor<3xf32>
    return %0 : tensor<3xf32>
  }
}
