// A perceptron, `partita model mlp --layers 2 --d-model 1024 --mlp-hidden 1024 --batch 64`:
//   loss = mean((relu(x . w1 + b1) . w2 + b2 - y)^2)
func @loss(
    input %x: f32[64,1024],
    input %y: f32[64,1024],
    param %w1: f32[1024,1024],
    param %b1: f32[1024],
    param %w2: f32[1024,1024],
    param %b2: f32[1024]
) -> (loss: f32[]) {
  // layer 1: 1024 -> 1024, ReLU
  %xw1 = dot %x, %w1 {lhs_contract = [1], rhs_contract = [0]} : f32[64,1024]
  %b1b = broadcast %b1 {dims = [1]} : f32[64,1024]
  %h_pre = add %xw1, %b1b : f32[64,1024]
  %zero = constant {value = 0.0} : f32[64,1024]
  %h = max %h_pre, %zero : f32[64,1024]
  // layer 2: 1024 -> 1024
  %hw2 = dot %h, %w2 {lhs_contract = [1], rhs_contract = [0]} : f32[64,1024]
  %b2b = broadcast %b2 {dims = [1]} : f32[64,1024]
  %pred = add %hw2, %b2b : f32[64,1024]
  // mean squared error
  %err = sub %pred, %y : f32[64,1024]
  %sq = mul %err, %err : f32[64,1024]
  %sum = reduce_sum %sq {dims = [0, 1]} : f32[]
  %n = constant {value = 65536.0} : f32[]
  %loss = div %sum, %n : f32[]
  return %loss
}
