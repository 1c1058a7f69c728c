/* The cost model (sim.h): one walk over a lowered program in execution
 * order, pricing each op on the hardware file's rates and links. */
#include <stdlib.h>
#include <string.h>

#include "exec.h"
#include "sim.h"

static int64_t vbytes(const pt_value *v) {
  return (int64_t)pt_type_bytes(&v->type);
}

/* B, M, N, K of a dot: batch points, lhs-free, rhs-free and contracted. */
static void dot_dims(const pt_op *op, int64_t *B, int64_t *M, int64_t *N, int64_t *K) {
  int64_t lb[PT_MAX_RANK], rb[PT_MAX_RANK], lc[PT_MAX_RANK], rc[PT_MAX_RANK];
  int nb = pt_op_ints(op, PT_A_LHS_BATCH, lb, PT_MAX_RANK);
  int nrb = pt_op_ints(op, PT_A_RHS_BATCH, rb, PT_MAX_RANK);
  int nc = pt_op_ints(op, PT_A_LHS_CONTRACT, lc, PT_MAX_RANK);
  int nrc = pt_op_ints(op, PT_A_RHS_CONTRACT, rc, PT_MAX_RANK);
  nb = nb < 0 ? 0 : nb;
  nrb = nrb < 0 ? 0 : nrb;
  nc = nc < 0 ? 0 : nc;
  nrc = nrc < 0 ? 0 : nrc;
  const pt_type *l = &op->operands[0]->type, *r = &op->operands[1]->type;
  bool lused[PT_MAX_RANK] = {0}, rused[PT_MAX_RANK] = {0};
  *B = *M = *N = *K = 1;
  for (int i = 0; i < nb; i++)
    *B *= l->dims[lb[i]], lused[lb[i]] = true;
  for (int i = 0; i < nrb; i++)
    rused[rb[i]] = true;
  for (int i = 0; i < nc; i++)
    *K *= l->dims[lc[i]], lused[lc[i]] = true;
  for (int i = 0; i < nrc; i++)
    rused[rc[i]] = true;
  for (int i = 0; i < l->rank; i++)
    if (!lused[i])
      *M *= l->dims[i];
  for (int i = 0; i < r->rank; i++)
    if (!rused[i])
      *N *= r->dims[i];
}

/* Bytes a local op reads and writes. */
static int64_t traffic(const pt_op *op) {
  int64_t out = op->result ? vbytes(op->result) : 0;
  switch (op->code) {
  case PT_OP_CONSTANT:
  case PT_OP_IOTA:
    return out;
  case PT_OP_SLICE:
  case PT_OP_AXIS_SLICE:
    return 2 * out; /* reads only the part it keeps */
  case PT_OP_TAKE:
    return vbytes(op->operands[1]) + 2 * out; /* the indices and the rows taken */
  default:
    break;
  }
  int64_t in = 0;
  for (int j = 0; j < op->noperands; j++)
    in = pt_add_sat(in, vbytes(op->operands[j]));
  return pt_add_sat(in, out);
}

/* The memory time of `bytes` read and written, `over` of them written over
 * bytes just read (an in-place result: runtime/exec.h). The rate is per
 * byte read or written, timed by calibrate on out-of-place add and mul,
 * whose write first reads the line it fills: 3 bytes counted, 4 moved. A
 * write over bytes just read moves only itself, so an in-place add moves 3
 * where its out-of-place twin moves 4: its write costs a quarter of a byte
 * counted instead of one. */
static double mem_time(const pt_sim_hw *hw, int64_t bytes, int64_t over) {
  return ((double)bytes - 0.75 * (double)over) / hw->elementwise_rate;
}

/* The bytes of v written over an operand's: aliased onto a temporary, or a
 * result donated into its argument's buffer. */
static int64_t over_bytes(const pt_buffer_plan *plan, const pt_value *v) {
  bool over = plan->alias[v->id] >= 0 || (v->def && plan->region[v->id] == PT_BUF_ARG);
  return over ? vbytes(v) : 0;
}

static void price_collective(const pt_sim_hw *hw, const pt_mesh *mesh, const int *links,
                             pt_sim_op *e) {
  const pt_op *op = e->op;
  const pt_attr *a = pt_op_attr(op, PT_A_AXES);
  int axes[PT_MAX_AXES], naxes = 0;
  e->group = 1;
  for (int i = 0; a && i < a->val.n && naxes < PT_MAX_AXES; i++) {
    const char *s = a->val.items[i].s;
    int ax = pt_mesh_axis(mesh, s, strlen(s));
    PT_ASSERT(ax >= 0);
    axes[naxes++] = ax;
    e->group *= mesh->sizes[ax];
  }
  int64_t in = vbytes(op->operands[0]);
  e->bytes = pt_sim_bytes_sent(e->kind, e->group, in);
  e->link = naxes ? links[axes[0]] : -1;
  e->time = 0;
  /* a group spanning several axes goes as fast as its slowest link */
  for (int i = 0; i < naxes; i++) {
    pt_sim_ab ab = pt_sim_collective_ab(hw, links[axes[i]], e->kind, e->group);
    double t = ab.alpha + ab.beta * (double)in;
    if (i == 0 || t > e->time) {
      e->time = t;
      e->link = links[axes[i]];
    }
  }
}

typedef struct {
  double time;
  int index;
} ranked;

static int by_time(const void *a, const void *b) {
  const ranked *x = a, *y = b;
  if (x->time != y->time)
    return x->time > y->time ? -1 : 1;
  return x->index - y->index;
}

pt_status pt_sim_run(const pt_sim_hw *hw, const pt_func *g, pt_sim_result *out, pt_diag *d) {
  memset(out, 0, sizeof *out);
  out->g = g;
  out->hw = hw;
  const pt_mesh *mesh = &g->module->mesh;
  int links[PT_MAX_AXES];
  if (pt_sim_hw_check_mesh(hw, mesh, links, d) != PT_OK)
    return PT_ERR;
  out->devices = 1;
  for (int a = 0; a < mesh->naxes; a++)
    out->devices *= mesh->sizes[a];
  out->nops = g->nops;
  out->ops = pt_calloc((size_t)g->nops + 1, sizeof *out->ops);
  /* the executor's fusion groups: one loop each, priced at the group's
   * last member by the bytes it reads and writes; the other members and
   * the absorbed broadcasts and constants cost nothing */
  pt_fusion_plan fp;
  pt_plan_fusion(g, pt_fusion_default(), &fp);
  pt_buffer_plan plan;
  pt_plan_buffers_fused(g, &fp, &plan);
  /* more devices than cores time-share them: every kernel takes longer */
  double shared =
      hw->cores && out->devices > hw->cores ? (double)out->devices / (double)hw->cores : 1.0;
  double clock = 0;
  for (int i = 0; i < g->nops; i++) {
    pt_sim_op *e = &out->ops[i];
    const pt_op *op = g->ops[i];
    e->op = op;
    e->start = clock;
    int gi = fp.group_of[i];
    /* a GEMM epilogue's dot is priced as a dot, a reduction epilogue's
     * all_reduce as a collective, each at its own place */
    bool epilogue_op = gi >= 0 && (fp.groups[gi].dot == op || fp.groups[gi].reduce == op);
    if ((fp.absorbed[i] || gi >= 0) && !epilogue_op) {
      e->kind = -1;
      e->link = -1;
      if (gi >= 0 && fp.groups[gi].at == i && fp.groups[gi].dot) {
        /* the epilogue: nothing beyond the GEMM's own pass over C, but
         * a copy of acc into out when out did not take acc's bytes */
        const pt_value *res = fp.groups[gi].outputs[0], *acc = fp.groups[gi].acc;
        bool in_place = plan.region[res->id] == plan.region[acc->id] &&
                        plan.offset[res->id] == plan.offset[acc->id];
        e->bytes = in_place ? 0 : pt_add_sat(vbytes(acc), vbytes(res));
        e->time = mem_time(hw, e->bytes, 0) * shared;
        out->compute += e->time;
        clock += e->time;
      } else if (gi >= 0 && fp.groups[gi].at == i) {
        const pt_fusion_group *grp = &fp.groups[gi];
        int64_t in = 0, outb = 0, over = 0;
        for (int k = 0; k < grp->ninputs; k++)
          in = pt_add_sat(in, vbytes(grp->inputs[k]));
        for (int k = 0; k < grp->noutputs; k++) {
          outb = pt_add_sat(outb, vbytes(grp->outputs[k]));
          over = pt_add_sat(over, over_bytes(&plan, grp->outputs[k]));
        }
        e->bytes = pt_add_sat(in, outb);
        /* a reduction epilogue updates the chunk of the sum this device
         * computes: 1/G of the loop */
        int64_t share = grp->reduce ? out->ops[grp->reduce_at].group : 1;
        if (share > 1)
          e->bytes /= share;
        /* memory or the C library's functions, whichever takes longer */
        double per = 0;
        for (int k = 0; k < grp->nops; k++)
          per += hw->element_time[g->ops[grp->ops[k]]->code];
        double mem = mem_time(hw, e->bytes, over / share);
        double calc = per * (double)pt_type_numel(&grp->shape) / (double)share;
        e->time = ((mem > calc ? mem : calc) + hw->op_overhead) * shared;
        out->compute += e->time;
        clock += e->time;
      }
      continue;
    }
    e->kind =
        (pt_optab[op->code].flags & PT_OPF_COLLECTIVE) ? (int)(op->code - PT_OP_ALL_GATHER) : -1;
    e->link = -1;
    if (e->kind >= 0 && e->kind != PT_SIM_AXIS_SLICE) {
      price_collective(hw, mesh, links, e);
      out->comm += e->time;
      out->comm_kind[e->kind] += e->time;
      out->bytes_kind[e->kind] = pt_add_sat(out->bytes_kind[e->kind], e->bytes);
      out->bytes_sent = pt_add_sat(out->bytes_sent, e->bytes);
    } else {
      if (op->code == PT_OP_DOT) {
        int64_t B, M, N, K;
        dot_dims(op, &B, &M, &N, &K);
        e->flops = 2.0 * (double)B * (double)M * (double)N * (double)K;
        e->time = e->flops > 0 ? e->flops / pt_sim_gemm_rate(hw, M, N, K) : 0;
        /* an operand in neither of GEMM's orders is copied first; a thin
         * result's transpose (runtime/exec.c dot_flips) is inside the
         * calibrated GEMM rate, which `partita calibrate` measures through
         * the executor's dot */
        pt_exec_gemm gm;
        if (pt_exec_dot_gemm(op, &gm))
          e->time += 2.0 * (double)gm.copy_bytes / hw->elementwise_rate;
        e->bytes = traffic(op);
        out->flops += e->flops;
      } else if ((op->code == PT_OP_RESHAPE && over_bytes(&plan, op->result) > 0) ||
                 plan.region[op->result->id] == PT_BUF_VIEW) {
        e->bytes = 0; /* in place, or read in place: the executor moves nothing */
        e->time = 0;
      } else {
        e->bytes = traffic(op);
        e->time = mem_time(hw, e->bytes, over_bytes(&plan, op->result));
        double et = hw->element_time[op->code];
        if (et > 0 && op->noperands > 0) {
          double calc = et * (double)pt_type_numel(&op->operands[0]->type);
          e->time = calc > e->time ? calc : e->time;
        }
      }
      e->time = (e->time + hw->op_overhead) * shared;
      out->compute += e->time;
    }
    if (e->kind >= 0)
      out->count_kind[e->kind]++;
    clock += e->time;
  }
  out->step = out->compute + out->comm;
  pt_fusion_plan_free(&fp);
  out->memory =
      (pt_sim_memory){plan.peak_bytes, plan.arg_bytes, plan.result_bytes, plan.temp_bytes};
  pt_buffer_plan_free(&plan);
  out->capacity = hw->memory;
  out->fits = out->memory.peak_bytes <= hw->memory;
  if (g->nops) {
    ranked *r = pt_malloc((size_t)g->nops * sizeof *r);
    for (int i = 0; i < g->nops; i++)
      r[i] = (ranked){out->ops[i].time, i};
    qsort(r, (size_t)g->nops, sizeof *r, by_time);
    for (int i = 0; i < g->nops && i < PT_SIM_TOP; i++)
      out->top[out->ntop++] = r[i].index;
    pt_free(r);
  }
  out->names = pt_value_names(g);
  return PT_OK;
}

void pt_sim_result_free(pt_sim_result *r) {
  if (r->g)
    pt_value_names_free(r->g, r->names);
  pt_free(r->ops);
  memset(r, 0, sizeof *r);
}

char *pt_sim_where(const pt_op *op, char *buf, size_t cap) {
  if (op->loc.file && op->loc.line > 0)
    pt_loc_str(op->loc, buf, cap); /* with the calls it was inlined through */
  else
    snprintf(buf, cap, "?");
  return buf;
}

char *pt_sim_time_str(double s, char *buf, size_t cap) {
  if (s == 0)
    snprintf(buf, cap, "0 s");
  else if (s < 1e-6)
    snprintf(buf, cap, "%.1f ns", s * 1e9);
  else if (s < 1e-4)
    snprintf(buf, cap, "%.2f µs", s * 1e6);
  else if (s < 1e-3)
    snprintf(buf, cap, "%.1f µs", s * 1e6);
  else if (s < 1)
    snprintf(buf, cap, "%.2f ms", s * 1e3);
  else
    snprintf(buf, cap, "%.3f s", s);
  return buf;
}
