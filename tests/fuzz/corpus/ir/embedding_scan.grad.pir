func @loss_grad(
    input %tok: i32[2,5],
    param %emb: f32[7,3],
    param %a: f32[2,5,3]
) -> (loss: f32[], grad.emb: f32[7,3], grad.a: f32[2,5,3]) {
  %0 = constant {value = 1.0} : f32[]
  %e = take %emb, %tok : f32[2,5,3]
  %h = scan %a, %e {dim = 1} : f32[2,5,3]
  %1 = constant {value = 0.0} : f32[]
  %2 = slice %h {start = [0, 0, 0], limit = [2, 4, 3]} : f32[2,4,3]
  %3 = pad %2, %1 {low = [0, 1, 0], high = [0, 0, 0]} : f32[2,5,3]
  %loss = reduce_sum %h {dims = [0, 1, 2]} : f32[]
  %4 = broadcast %0 {dims = []} : f32[2,5,3]
  %5 = slice %a {start = [0, 1, 0], limit = [2, 5, 3]} : f32[2,4,3]
  %6 = pad %5, %1 {low = [0, 0, 0], high = [0, 1, 0]} : f32[2,5,3]
  %7 = scan %6, %4 {dim = 1, reverse = 1} : f32[2,5,3]
  %8 = mul %7, %3 : f32[2,5,3]
  %9 = scatter_add %tok, %7 : f32[7,3]
  return %loss, %9, %8
}
