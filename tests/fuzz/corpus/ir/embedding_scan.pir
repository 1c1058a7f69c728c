// An embedding lookup feeding a linear recurrence: loss = sum(scan(a, take(emb, tok)))
func @loss(input %tok: i32[2,5], param %emb: f32[7,3], param %a: f32[2,5,3]) -> (loss: f32[]) {
  %e = take %emb, %tok : f32[2,5,3]
  %h = scan %a, %e {dim = 1} : f32[2,5,3]
  %loss = reduce_sum %h {dims = [0, 1, 2]} : f32[]
  return %loss
}
