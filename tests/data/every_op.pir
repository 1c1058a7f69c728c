// Every operation of the op table at least once; tests/test_ir.c checks that
// this file covers the whole table, so a new op must join it.
mesh {x = 2, y = 2}

func @every_op(
    input %a: f32[2,3],
    input %b: f32[2,3],
    input %i: i32[2,3],
    input %idx: i32[4],
    param %table: f32[5,3],
    state %s: f32[]
) -> (out: f32[2,3], gathered: f32[4,3]) {
  %neg = neg %a : f32[2,3]
  %exp = exp %neg : f32[2,3]
  %log = log %exp : f32[2,3]
  %tanh = tanh %log : f32[2,3]
  %logistic = logistic %tanh : f32[2,3]
  %sqrt = sqrt %logistic : f32[2,3]
  %rsqrt = rsqrt %sqrt : f32[2,3]
  %abs = abs %rsqrt : f32[2,3]
  %sin = sin %abs : f32[2,3]
  %cos = cos %sin : f32[2,3]
  %stopped = stop_gradient %cos : f32[2,3]
  %ineg = neg %i : i32[2,3]
  %iabs = abs %ineg : i32[2,3]
  %add = add %stopped, %b : f32[2,3]
  %sub = sub %add, %a : f32[2,3]
  %mul = mul %sub, %b : f32[2,3]
  %div = div %mul, %exp : f32[2,3]
  %max = max %div, %a : f32[2,3]
  %min = min %max, %b : f32[2,3]
  %pow = pow %exp, %b : f32[2,3]
  %imul = mul %iabs, %i : i32[2,3]
  %lt = compare %a, %b {dir = lt} : pred[2,3]
  %sel = select %lt, %min, %pow : f32[2,3]
  %conv = convert %imul : f32[2,3]
  %half = constant {value = 0.5} : f32[]
  %lit = constant {value = [1, 2, 3, 4, 5, 6]} : i32[2,3]
  %inf = constant {value = -inf} : f32[]
  %io = iota {dim = 1} : f32[2,3]
  %bc = broadcast %half {dims = []} : f32[2,3]
  %rs = reshape %sel : f32[3,2]
  %tr = transpose %rs {perm = [1, 0]} : f32[2,3]
  %sl = slice %tr {start = [0, 0], limit = [2, 3], stride = [1, 2]} : f32[2,2]
  %cc = concat %sl, %sl, %sl {dim = 1} : f32[2,6]
  %pd = pad %sl, %inf {low = [1, 0], high = [0, 1], interior = [0, 1]} : f32[3,4]
  %rsum = reduce_sum %pd {dims = [0]} : f32[4]
  %rmax = reduce_max %cc {dims = [0, 1]} : f32[]
  %dt = dot %a, %b {lhs_batch = [0], rhs_batch = [0], lhs_contract = [1], rhs_contract = [1]} : f32[2]
  %tk = take %table, %idx : f32[4,3]
  %sc = scatter_add %idx, %tk : f32[5,3]
  %scan = scan %a, %b {dim = 1, reverse = 1} : f32[2,3]
  %ag = all_gather %scan {dim = 0, axes = [x]} : f32[4,3]
  %rsc = reduce_scatter %ag {dim = 0, axes = [x, y]} : f32[1,3]
  %ar = all_reduce %scan {reduce = sum, axes = [y]} : f32[2,3]
  %a2a = all_to_all %ag {split_dim = 0, concat_dim = 1, axes = [y]} : f32[2,6]
  %as = axis_slice %ag {dim = 0, axes = [y]} : f32[2,3]
  %cp = collective_permute %as {axes = [x, y], pairs = [[0, 1], [1, 2], [2, 3], [3, 0]]} : f32[2,3]
  %o1 = add %cp, %conv : f32[2,3]
  %o2 = add %o1, %io : f32[2,3]
  %o3 = add %o2, %bc : f32[2,3]
  %o4 = add %o3, %ar : f32[2,3]
  %o5 = mul %o4, %tr : f32[2,3]
  return %o5, %tk
}
