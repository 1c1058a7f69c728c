// A perceptron, `partita model mlp --layers 2 --d-model 4 --mlp-hidden 3 --batch 2`:
//   loss = mean((relu(x . w1 + b1) . w2 + b2 - y)^2)
func @loss(
    input %x: f32[2,4],
    input %y: f32[2,4],
    param %w1: f32[4,3],
    param %b1: f32[3],
    param %w2: f32[3,4],
    param %b2: f32[4]
) -> (loss: f32[]) {
  // layer 1: 4 -> 3, ReLU
  %xw1 = dot %x, %w1 {lhs_contract = [1], rhs_contract = [0]} : f32[2,3]
  %b1b = broadcast %b1 {dims = [1]} : f32[2,3]
  %h_pre = add %xw1, %b1b : f32[2,3]
  %zero = constant {value = 0.0} : f32[2,3]
  %h = max %h_pre, %zero : f32[2,3]
  // layer 2: 3 -> 4
  %hw2 = dot %h, %w2 {lhs_contract = [1], rhs_contract = [0]} : f32[2,4]
  %b2b = broadcast %b2 {dims = [1]} : f32[2,4]
  %pred = add %hw2, %b2b : f32[2,4]
  // mean squared error
  %err = sub %pred, %y : f32[2,4]
  %sq = mul %err, %err : f32[2,4]
  %sum = reduce_sum %sq {dims = [0, 1]} : f32[]
  %n = constant {value = 8.0} : f32[]
  %loss = div %sum, %n : f32[]
  return %loss
}
