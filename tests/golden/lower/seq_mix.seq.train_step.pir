// SPMD program of @train_step on mesh seq=2; global layouts:
//   %w: f32[4,4] {[], []}
//   %wa: f32[4,4] {[], []}
//   %conv: f32[3,4] {[], []}
//   %opt.w.m: f32[4,4] {[], []}
//   %opt.w.v: f32[4,4] {[], []}
//   %opt.wa.m: f32[4,4] {[], []}
//   %opt.wa.v: f32[4,4] {[], []}
//   %opt.conv.m: f32[3,4] {[], []}
//   %opt.conv.v: f32[3,4] {[], []}
//   %opt.step: f32[] {}
//   %x: f32[2,16,4] {[], [seq], []}
//   %y: f32[2,16,4] {[], [seq], []}
//   result w: f32[4,4] {[], []}
//   result wa: f32[4,4] {[], []}
//   result conv: f32[3,4] {[], []}
//   result opt.w.m: f32[4,4] {[], []}
//   result opt.w.v: f32[4,4] {[], []}
//   result opt.wa.m: f32[4,4] {[], []}
//   result opt.wa.v: f32[4,4] {[], []}
//   result opt.conv.m: f32[3,4] {[], []}
//   result opt.conv.v: f32[3,4] {[], []}
//   result opt.step: f32[] {}
//   result loss: f32[] {}
func @train_step_spmd(
    param %w: f32[4,4],
    param %wa: f32[4,4],
    param %conv: f32[3,4],
    state %opt.w.m: f32[4,4],
    state %opt.w.v: f32[4,4],
    state %opt.wa.m: f32[4,4],
    state %opt.wa.v: f32[4,4],
    state %opt.conv.m: f32[3,4],
    state %opt.conv.v: f32[3,4],
    state %opt.step: f32[],
    input %x: f32[2,8,4],
    input %y: f32[2,8,4]
) -> (
    w: f32[4,4],
    wa: f32[4,4],
    conv: f32[3,4],
    opt.w.m: f32[4,4],
    opt.w.v: f32[4,4],
    opt.wa.m: f32[4,4],
    opt.wa.v: f32[4,4],
    opt.conv.m: f32[3,4],
    opt.conv.v: f32[3,4],
    opt.step: f32[],
    loss: f32[]
) {
  %one = constant {value = 1.0} : f32[]
  %u = dot %x, %w {lhs_contract = [2], rhs_contract = [0]} : f32[2,8,4]
  %zero = constant {value = 0.0} : f32[]
  %0 = slice %u {start = [0, 7, 0], limit = [2, 8, 4]} : f32[2,1,4]
  // halo of 1 along dimension 1 for the shift ('pad' then 'slice') at tests/data/seq_mix.pir:16:10 (sequence)
  %1 = collective_permute %0 {axes = [seq], pairs = [[0, 1]]} : f32[2,1,4]
  %2 = slice %u {start = [0, 0, 0], limit = [2, 7, 4]} : f32[2,7,4]
  %u1 = concat %1, %2 {dim = 1} : f32[2,8,4]
  %3 = constant {value = 0.0} : f32[]
  %4 = slice %u {start = [0, 6, 0], limit = [2, 8, 4]} : f32[2,2,4]
  // halo of 2 along dimension 1 for the shift ('pad' then 'slice') at tests/data/seq_mix.pir:18:10 (sequence)
  %5 = collective_permute %4 {axes = [seq], pairs = [[0, 1]]} : f32[2,2,4]
  %6 = slice %u {start = [0, 0, 0], limit = [2, 6, 4]} : f32[2,6,4]
  %u2 = concat %5, %6 {dim = 1} : f32[2,8,4]
  %c0s = slice %conv {start = [0, 0], limit = [1, 4]} : f32[1,4]
  %c0 = reshape %c0s : f32[4]
  %c1s = slice %conv {start = [1, 0], limit = [2, 4]} : f32[1,4]
  %c1 = reshape %c1s : f32[4]
  %c2s = slice %conv {start = [2, 0], limit = [3, 4]} : f32[1,4]
  %c2 = reshape %c2s : f32[4]
  %c0b = broadcast %c0 {dims = [2]} : f32[2,8,4]
  %c1b = broadcast %c1 {dims = [2]} : f32[2,8,4]
  %c2b = broadcast %c2 {dims = [2]} : f32[2,8,4]
  %t0 = mul %u, %c0b : f32[2,8,4]
  %t1 = mul %u1, %c1b : f32[2,8,4]
  %t2 = mul %u2, %c2b : f32[2,8,4]
  %t01 = add %t0, %t1 : f32[2,8,4]
  %conv_out = add %t01, %t2 : f32[2,8,4]
  // the recurrence h[t] = a[t] h[t-1] + conv_out[t], a in (0, 1)
  %za = dot %x, %wa {lhs_contract = [2], rhs_contract = [0]} : f32[2,8,4]
  %a = logistic %za : f32[2,8,4]
  %7 = constant {value = 1.0} : f32[2,8,4]
  %8 = sub %7, %a : f32[2,8,4]
  %9 = mul %a, %8 : f32[2,8,4]
  %10 = scan %a, %conv_out {dim = 1} : f32[2,8,4]
  %11 = slice %a {start = [0, 0, 0], limit = [2, 1, 4]} : f32[2,1,4]
  %12 = constant {value = 0.0} : f32[]
  %13 = pad %11, %12 {low = [0, 0, 0], high = [0, 7, 0]} : f32[2,8,4]
  %14 = scan %a, %13 {dim = 1} : f32[2,8,4]
  %15 = slice %14 {start = [0, 7, 0], limit = [2, 8, 4]} : f32[2,1,4]
  %16 = slice %10 {start = [0, 7, 0], limit = [2, 8, 4]} : f32[2,1,4]
  %17 = concat %15, %16 {dim = 1} : f32[2,2,4]
  // carries of the scan at tests/data/seq_mix.pir:37:8: each device's (product of a, last state) (sequence)
  %18 = all_gather %17 {dim = 1, axes = [seq]} : f32[2,4,4]
  %19 = slice %18 {start = [0, 1, 0], limit = [2, 4, 4], stride = [1, 2, 1]} : f32[2,2,4]
  %20 = slice %18 {start = [0, 0, 0], limit = [2, 4, 4], stride = [1, 2, 1]} : f32[2,2,4]
  %21 = scan %20, %19 {dim = 1} : f32[2,2,4]
  %22 = slice %21 {start = [0, 0, 0], limit = [2, 1, 4]} : f32[2,1,4]
  %23 = constant {value = 0.0} : f32[]
  %24 = pad %22, %23 {low = [0, 1, 0], high = [0, 0, 0]} : f32[2,2,4]
  // this device's incoming carry of the scan at tests/data/seq_mix.pir:37:8
  %25 = axis_slice %24 {dim = 1, axes = [seq]} : f32[2,1,4]
  %26 = broadcast %25 {dims = [0, 1, 2]} : f32[2,8,4]
  %27 = mul %14, %26 : f32[2,8,4]
  %h = add %10, %27 : f32[2,8,4]
  %28 = constant {value = 0.0} : f32[]
  %29 = slice %h {start = [0, 7, 0], limit = [2, 8, 4]} : f32[2,1,4]
  // halo of 1 along dimension 1 for the shift ('slice' then 'pad') at tests/data/seq_mix.pir:37:8 (sequence)
  %30 = collective_permute %29 {axes = [seq], pairs = [[0, 1]]} : f32[2,1,4]
  %31 = slice %h {start = [0, 0, 0], limit = [2, 7, 4]} : f32[2,7,4]
  %32 = concat %30, %31 {dim = 1} : f32[2,8,4]
  %33 = slice %h {start = [0, 0, 0], limit = [2, 1, 4]} : f32[2,1,4]
  // halo of 1 along dimension 1 for the shift ('slice' then 'pad') at tests/data/seq_mix.pir:40:11 (sequence)
  %34 = collective_permute %33 {axes = [seq], pairs = [[1, 0]]} : f32[2,1,4]
  %35 = iota {dim = 0} : i32[2]
  %36 = axis_slice %35 {dim = 0, axes = [seq]} : i32[1]
  %37 = reshape %36 : i32[]
  %38 = constant {value = 1} : i32[]
  %39 = compare %37, %38 {dir = eq} : pred[]
  %40 = broadcast %one {dims = []} : f32[2,1,4]
  %41 = broadcast %39 {dims = []} : pred[2,1,4]
  %42 = select %41, %40, %34 : f32[2,1,4]
  %43 = slice %h {start = [0, 1, 0], limit = [2, 8, 4]} : f32[2,7,4]
  %hn = concat %43, %42 {dim = 1} : f32[2,8,4]
  %hh = mul %h, %hn : f32[2,8,4]
  // windows of 2: each window plus half of the window before it
  %win = reshape %hh : f32[2,4,2,4]
  %44 = constant {value = 0.0} : f32[]
  %45 = slice %win {start = [0, 3, 0, 0], limit = [2, 4, 2, 4]} : f32[2,1,2,4]
  // halo of 1 along dimension 1 for the shift ('pad' then 'slice') at tests/data/seq_mix.pir:45:13 (sequence)
  %46 = collective_permute %45 {axes = [seq], pairs = [[0, 1]]} : f32[2,1,2,4]
  %47 = slice %win {start = [0, 0, 0, 0], limit = [2, 3, 2, 4]} : f32[2,3,2,4]
  %prev = concat %46, %47 {dim = 1} : f32[2,4,2,4]
  %half = constant {value = 0.5} : f32[2,4,2,4]
  %prev_half = mul %prev, %half : f32[2,4,2,4]
  %mixed = add %win, %prev_half : f32[2,4,2,4]
  %out = reshape %mixed : f32[2,8,4]
  %err = sub %out, %y : f32[2,8,4]
  %err_sq = mul %err, %err : f32[2,8,4]
  %err_sum = reduce_sum %err_sq {dims = [0, 1, 2]} : f32[]
  %count = constant {value = 128.0} : f32[]
  // reshard %err_sum {} partial(sum: seq) -> {} for 'div' at tests/data/seq_mix.pir:55:11 (sequence)
  %48 = all_reduce %err_sum {reduce = sum, axes = [seq]} : f32[]
  %loss = div %48, %count : f32[]
  %49 = constant {value = 1.0} : f32[]
  %50 = constant {value = 128.0} : f32[]
  %51 = div %49, %50 : f32[]
  %52 = broadcast %51 {dims = []} : f32[2,8,4]
  %53 = mul %52, %err : f32[2,8,4]
  %54 = add %53, %53 : f32[2,8,4]
  %55 = reshape %54 : f32[2,4,2,4]
  %56 = constant {value = 0.5} : f32[2,4,2,4]
  %57 = mul %55, %56 : f32[2,4,2,4]
  %58 = constant {value = 0.0} : f32[]
  %59 = slice %57 {start = [0, 0, 0, 0], limit = [2, 1, 2, 4]} : f32[2,1,2,4]
  // halo of 1 along dimension 1 for the shift ('pad' then 'slice') at tests/data/seq_mix.pir:46:11 (sequence)
  %60 = collective_permute %59 {axes = [seq], pairs = [[1, 0]]} : f32[2,1,2,4]
  %61 = slice %57 {start = [0, 1, 0, 0], limit = [2, 4, 2, 4]} : f32[2,3,2,4]
  %62 = concat %61, %60 {dim = 1} : f32[2,4,2,4]
  %63 = add %55, %62 : f32[2,4,2,4]
  %64 = reshape %63 : f32[2,8,4]
  %65 = mul %64, %hn : f32[2,8,4]
  %66 = mul %64, %h : f32[2,8,4]
  %67 = constant {value = 0.0} : f32[]
  %68 = slice %66 {start = [0, 7, 0], limit = [2, 8, 4]} : f32[2,1,4]
  // halo of 1 along dimension 1 for the shift ('slice' then 'pad') at tests/data/seq_mix.pir:41:9 (sequence)
  %69 = collective_permute %68 {axes = [seq], pairs = [[0, 1]]} : f32[2,1,4]
  %70 = slice %66 {start = [0, 0, 0], limit = [2, 7, 4]} : f32[2,7,4]
  %71 = concat %69, %70 {dim = 1} : f32[2,8,4]
  %72 = add %65, %71 : f32[2,8,4]
  %73 = constant {value = 0.0} : f32[]
  %74 = slice %a {start = [0, 0, 0], limit = [2, 1, 4]} : f32[2,1,4]
  // halo of 1 along dimension 1 for the shift ('slice' then 'pad') at tests/data/seq_mix.pir:37:8 (sequence)
  %75 = collective_permute %74 {axes = [seq], pairs = [[1, 0]]} : f32[2,1,4]
  %76 = slice %a {start = [0, 1, 0], limit = [2, 8, 4]} : f32[2,7,4]
  %77 = concat %76, %75 {dim = 1} : f32[2,8,4]
  %78 = scan %77, %72 {dim = 1, reverse = 1} : f32[2,8,4]
  %79 = slice %77 {start = [0, 7, 0], limit = [2, 8, 4]} : f32[2,1,4]
  %80 = constant {value = 0.0} : f32[]
  %81 = pad %79, %80 {low = [0, 7, 0], high = [0, 0, 0]} : f32[2,8,4]
  %82 = scan %77, %81 {dim = 1, reverse = 1} : f32[2,8,4]
  %83 = slice %82 {start = [0, 0, 0], limit = [2, 1, 4]} : f32[2,1,4]
  %84 = slice %78 {start = [0, 0, 0], limit = [2, 1, 4]} : f32[2,1,4]
  %85 = concat %83, %84 {dim = 1} : f32[2,2,4]
  // carries of the reverse scan at tests/data/seq_mix.pir:37:8: each device's (product of a, last state) (sequence)
  %86 = all_gather %85 {dim = 1, axes = [seq]} : f32[2,4,4]
  %87 = slice %86 {start = [0, 1, 0], limit = [2, 4, 4], stride = [1, 2, 1]} : f32[2,2,4]
  %88 = slice %86 {start = [0, 0, 0], limit = [2, 4, 4], stride = [1, 2, 1]} : f32[2,2,4]
  %89 = scan %88, %87 {dim = 1, reverse = 1} : f32[2,2,4]
  %90 = slice %89 {start = [0, 1, 0], limit = [2, 2, 4]} : f32[2,1,4]
  %91 = constant {value = 0.0} : f32[]
  %92 = pad %90, %91 {low = [0, 0, 0], high = [0, 1, 0]} : f32[2,2,4]
  // this device's incoming carry of the reverse scan at tests/data/seq_mix.pir:37:8
  %93 = axis_slice %92 {dim = 1, axes = [seq]} : f32[2,1,4]
  %94 = broadcast %93 {dims = [0, 1, 2]} : f32[2,8,4]
  %95 = mul %82, %94 : f32[2,8,4]
  %96 = add %78, %95 : f32[2,8,4]
  %97 = mul %96, %32 : f32[2,8,4]
  %98 = mul %97, %9 : f32[2,8,4]
  %99 = dot %x, %98 {lhs_contract = [0, 1], rhs_contract = [0, 1]} : f32[4,4]
  %100 = mul %96, %c2b : f32[2,8,4]
  %101 = mul %96, %u2 : f32[2,8,4]
  %102 = mul %96, %c1b : f32[2,8,4]
  %103 = mul %96, %u1 : f32[2,8,4]
  %104 = mul %96, %c0b : f32[2,8,4]
  %105 = mul %96, %u : f32[2,8,4]
  %106 = reduce_sum %101 {dims = [0, 1]} : f32[4]
  %107 = reduce_sum %103 {dims = [0, 1]} : f32[4]
  %108 = reduce_sum %105 {dims = [0, 1]} : f32[4]
  // reshard a reduce_sum result {[]} partial(sum: seq) -> {[]} for 'reshape' at tests/data/seq_mix.pir:25:9 (sequence)
  %109 = all_reduce %106 {reduce = sum, axes = [seq]} : f32[4]
  %110 = reshape %109 : f32[1,4]
  %111 = constant {value = 0.0} : f32[]
  %112 = pad %110, %111 {low = [2, 0], high = [0, 0]} : f32[3,4]
  // reshard a reduce_sum result {[]} partial(sum: seq) -> {[]} for 'reshape' at tests/data/seq_mix.pir:23:9 (sequence)
  %113 = all_reduce %107 {reduce = sum, axes = [seq]} : f32[4]
  %114 = reshape %113 : f32[1,4]
  %115 = constant {value = 0.0} : f32[]
  %116 = pad %114, %115 {low = [1, 0], high = [1, 0]} : f32[3,4]
  %117 = add %112, %116 : f32[3,4]
  // reshard a reduce_sum result {[]} partial(sum: seq) -> {[]} for 'reshape' at tests/data/seq_mix.pir:21:9 (sequence)
  %118 = all_reduce %108 {reduce = sum, axes = [seq]} : f32[4]
  %119 = reshape %118 : f32[1,4]
  %120 = constant {value = 0.0} : f32[]
  %121 = pad %119, %120 {low = [0, 0], high = [2, 0]} : f32[3,4]
  %122 = add %117, %121 : f32[3,4]
  %123 = constant {value = 0.0} : f32[]
  %124 = slice %100 {start = [0, 0, 0], limit = [2, 2, 4]} : f32[2,2,4]
  // halo of 2 along dimension 1 for the shift ('pad' then 'slice') at tests/data/seq_mix.pir:19:9 (sequence)
  %125 = collective_permute %124 {axes = [seq], pairs = [[1, 0]]} : f32[2,2,4]
  %126 = slice %100 {start = [0, 2, 0], limit = [2, 8, 4]} : f32[2,6,4]
  %127 = concat %126, %125 {dim = 1} : f32[2,8,4]
  %128 = add %104, %127 : f32[2,8,4]
  %129 = constant {value = 0.0} : f32[]
  %130 = slice %102 {start = [0, 0, 0], limit = [2, 1, 4]} : f32[2,1,4]
  // halo of 1 along dimension 1 for the shift ('pad' then 'slice') at tests/data/seq_mix.pir:17:9 (sequence)
  %131 = collective_permute %130 {axes = [seq], pairs = [[1, 0]]} : f32[2,1,4]
  %132 = slice %102 {start = [0, 1, 0], limit = [2, 8, 4]} : f32[2,7,4]
  %133 = concat %132, %131 {dim = 1} : f32[2,8,4]
  %134 = add %128, %133 : f32[2,8,4]
  %135 = dot %x, %134 {lhs_contract = [0, 1], rhs_contract = [0, 1]} : f32[4,4]
  %136 = constant {value = 0.001} : f32[]
  %137 = constant {value = 0.9} : f32[]
  %138 = constant {value = 0.999} : f32[]
  %139 = constant {value = 0.1} : f32[]
  %140 = constant {value = 1e-08} : f32[]
  %141 = constant {value = 1.0} : f32[]
  %142 = add %opt.step, %141 : f32[]
  %143 = pow %137, %142 : f32[]
  %144 = constant {value = 1.0} : f32[]
  %145 = sub %144, %143 : f32[]
  %146 = pow %138, %142 : f32[]
  %147 = constant {value = 1.0} : f32[]
  %148 = sub %147, %146 : f32[]
  %149 = broadcast %139 {dims = []} : f32[4,4]
  // reshard a dot result {[], []} partial(sum: seq) -> {[], []} for 'mul' at tests/data/seq_mix.pir:6:6 (sequence)
  %150 = all_reduce %135 {reduce = sum, axes = [seq]} : f32[4,4]
  %151 = mul %149, %150 : f32[4,4]
  %152 = broadcast %137 {dims = []} : f32[4,4]
  %153 = mul %152, %opt.w.m : f32[4,4]
  %154 = add %153, %151 : f32[4,4]
  %155 = mul %150, %150 : f32[4,4]
  %156 = broadcast %136 {dims = []} : f32[4,4]
  %157 = mul %156, %155 : f32[4,4]
  %158 = broadcast %138 {dims = []} : f32[4,4]
  %159 = mul %158, %opt.w.v : f32[4,4]
  %160 = add %159, %157 : f32[4,4]
  %161 = broadcast %145 {dims = []} : f32[4,4]
  %162 = div %154, %161 : f32[4,4]
  %163 = broadcast %148 {dims = []} : f32[4,4]
  %164 = div %160, %163 : f32[4,4]
  %165 = broadcast %140 {dims = []} : f32[4,4]
  %166 = sqrt %164 : f32[4,4]
  %167 = add %166, %165 : f32[4,4]
  %168 = div %162, %167 : f32[4,4]
  %169 = constant {value = 0.001} : f32[]
  %170 = broadcast %169 {dims = []} : f32[4,4]
  %171 = mul %170, %168 : f32[4,4]
  %172 = sub %w, %171 : f32[4,4]
  %173 = constant {value = 0.1} : f32[]
  %174 = broadcast %173 {dims = []} : f32[4,4]
  // reshard a dot result {[], []} partial(sum: seq) -> {[], []} for 'mul' at tests/data/seq_mix.pir:6:6 (sequence)
  %175 = all_reduce %99 {reduce = sum, axes = [seq]} : f32[4,4]
  %176 = mul %174, %175 : f32[4,4]
  %177 = constant {value = 0.9} : f32[]
  %178 = broadcast %177 {dims = []} : f32[4,4]
  %179 = mul %178, %opt.wa.m : f32[4,4]
  %180 = add %179, %176 : f32[4,4]
  %181 = mul %175, %175 : f32[4,4]
  %182 = constant {value = 0.001} : f32[]
  %183 = broadcast %182 {dims = []} : f32[4,4]
  %184 = mul %183, %181 : f32[4,4]
  %185 = constant {value = 0.999} : f32[]
  %186 = broadcast %185 {dims = []} : f32[4,4]
  %187 = mul %186, %opt.wa.v : f32[4,4]
  %188 = add %187, %184 : f32[4,4]
  %189 = broadcast %145 {dims = []} : f32[4,4]
  %190 = div %180, %189 : f32[4,4]
  %191 = broadcast %148 {dims = []} : f32[4,4]
  %192 = div %188, %191 : f32[4,4]
  %193 = sqrt %192 : f32[4,4]
  %194 = constant {value = 1e-08} : f32[]
  %195 = broadcast %194 {dims = []} : f32[4,4]
  %196 = add %193, %195 : f32[4,4]
  %197 = div %190, %196 : f32[4,4]
  %198 = constant {value = 0.001} : f32[]
  %199 = broadcast %198 {dims = []} : f32[4,4]
  %200 = mul %199, %197 : f32[4,4]
  %201 = sub %wa, %200 : f32[4,4]
  %202 = broadcast %139 {dims = []} : f32[3,4]
  %203 = mul %202, %122 : f32[3,4]
  %204 = broadcast %137 {dims = []} : f32[3,4]
  %205 = mul %204, %opt.conv.m : f32[3,4]
  %206 = add %205, %203 : f32[3,4]
  %207 = mul %122, %122 : f32[3,4]
  %208 = broadcast %136 {dims = []} : f32[3,4]
  %209 = mul %208, %207 : f32[3,4]
  %210 = broadcast %138 {dims = []} : f32[3,4]
  %211 = mul %210, %opt.conv.v : f32[3,4]
  %212 = add %211, %209 : f32[3,4]
  %213 = broadcast %145 {dims = []} : f32[3,4]
  %214 = div %206, %213 : f32[3,4]
  %215 = broadcast %148 {dims = []} : f32[3,4]
  %216 = div %212, %215 : f32[3,4]
  %217 = broadcast %140 {dims = []} : f32[3,4]
  %218 = sqrt %216 : f32[3,4]
  %219 = add %218, %217 : f32[3,4]
  %220 = div %214, %219 : f32[3,4]
  %221 = constant {value = 0.001} : f32[]
  %222 = broadcast %221 {dims = []} : f32[3,4]
  %223 = mul %222, %220 : f32[3,4]
  %224 = sub %conv, %223 : f32[3,4]
  return %172, %201, %224, %154, %160, %180, %188, %206, %212, %142, %loss
}
