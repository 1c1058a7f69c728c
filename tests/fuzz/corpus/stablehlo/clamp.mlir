// stablehlo.clamp with scalar bounds: min(max(x, lo), hi)
// expect: -1 0.5 2
module @jit_clamp attributes {mhlo.num_partitions = 1 : i32, mhlo.num_replicas = 1 : i32} {
  func.func public @main() -> (tensor<3xf32> {jax.result_info = ""}) {
    %cst = stablehlo.constant dense<[-3.000000e+00, 5.000000e-01, 7.000000e+00]> : tensor<3xf32>
    %cst_0 = stablehlo.constant dense<-1.000000e+00> : tensor<f32>
    %cst_1 = stablehlo.constant dense<2.000000e+00> : tensor<f32>
    %0 = stablehlo.clamp %cst_0, %cst, %cst_1 : (tensor<f32>, tensor<3xf32>, tensor<f32>) -> tensor<3xf32>
    return %0 : tensor<3xf32>
  }
}
