// A loss of 0 whose gradient is 0 * inf = nan (sqrt at 0): the loss stays
// finite for a step while the update spoils %w. For train --check-numerics
// (tests/test_trainlib.c, tests/mpi_faults.sh).
func @loss(input %x: f32[2,4], param %w: f32[4]) -> (loss: f32[]) {
  %zero = constant {value = 0.0} : f32[2,4]
  %wb = broadcast %w {dims = [1]} : f32[2,4]
  %a = mul %wb, %zero : f32[2,4]
  %b = mul %a, %x : f32[2,4]
  %sq = mul %b, %b : f32[2,4]
  %s = reduce_sum %sq {dims = [0, 1]} : f32[]
  %loss = sqrt %s : f32[]
  return %loss
}
