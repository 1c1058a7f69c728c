/* The per-rank executor without MPI (one device, or no mesh): every op kind
 * against the reference interpreter on small random inputs (relative
 * tolerance 1e-5: only dot sums in another order), the collectives of a
 * one-device mesh against the virtual mesh, the MLP and the tiny
 * transformer (loss and Adam train_step, lowered on a one-device mesh)
 * against the interpreter, and the buffer planner's promises: no two values
 * live at once share a byte, the peak lies between the largest live set and
 * the sum of all sizes, buffers are reused across steps, two steps give
 * identical results, and every buffer sits where the pairwise (quadratic)
 * placement puts it, on random programs and the examples. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "build.h"
#include "exec.h"
#include "init.h"
#include "lower.h"
#include "passes.h"
#include "step_check.h"
#include "tactics.h"
#include "testutil.h"
#include "vmath.h"
#include "vmesh.h"

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* max |got - want| over the reference's largest finite magnitude (1 if that
 * is 0); nan and infinities must sit at the same places. Returns -1 when
 * they do not, or the types differ. */
static double rel_diff(const pt_tensor *got, const pt_tensor *want) {
  if (!pt_type_equal(&got->type, &want->type))
    return -1;
  double mx = 0, scale = 0;
  for (int64_t i = 0; i < pt_type_numel(&want->type); i++) {
    double a = pt_tensor_get(got, i), b = pt_tensor_get(want, i);
    if (isnan(a) || isnan(b) || isinf(a) || isinf(b)) {
      if (!(isnan(a) && isnan(b)) && a != b)
        return -1;
      continue;
    }
    mx = fmax(mx, fabs(a - b));
    scale = fmax(scale, fabs(b));
  }
  return mx / (scale > 0 ? scale : 1);
}

static pt_tensor **init_args(const pt_func *f, uint64_t seed) {
  pt_tensor **args = pt_calloc((size_t)f->nargs + 1, sizeof *args);
  for (int i = 0; i < f->nargs; i++) {
    pt_init_spec sp = pt_init_spec_for(f, f->args[i], seed);
    args[i] = pt_init_tensor(&sp, f->args[i]->type);
  }
  return args;
}

static void free_tensors(pt_tensor **t, int n) {
  for (int i = 0; i < n; i++)
    pt_tensor_destroy(t[i]);
  pt_free(t);
}

/* ---- the buffer plan's promises ------------------------------------------ */

typedef struct {
  int first, index;
} written;

static int by_write(const void *a, const void *b) {
  const written *x = a, *y = b;
  return x->first != y->first ? (x->first < y->first ? -1 : 1) : x->index - y->index;
}

/* g's op indices in the order their results are written (p->first: a fused
 * group's outputs at its last member, maybe after inputs they take over),
 * so that an alias chain is met root first. */
static int *write_order(const pt_func *g, const pt_buffer_plan *p) {
  written *w = pt_malloc(((size_t)g->nops + 1) * sizeof *w);
  for (int i = 0; i < g->nops; i++)
    w[i] = (written){p->first[g->ops[i]->result->id], i};
  qsort(w, (size_t)g->nops, sizeof *w, by_write);
  int *ord = pt_malloc(((size_t)g->nops + 1) * sizeof *ord);
  for (int i = 0; i < g->nops; i++)
    ord[i] = w[i].index;
  pt_free(w);
  return ord;
}

static void check_plan(const pt_func *g, const pt_buffer_plan *p, const char *name) {
  int64_t sum = 0, largest_live = 0;
  /* intervals in the temporary block: values and op scratch */
  typedef struct {
    int64_t off, bytes;
    int first, last;
  } item;
  item *items = pt_malloc((size_t)(g->nvalues + g->nops + 1) * sizeof *items);
  int n = 0;
  /* what fusion keeps in registers (runtime/fusion.h) has no buffer;
   * everything else has one */
  pt_fusion_plan fp;
  pt_plan_fusion(g, pt_fusion_default(), &fp);
  bool *stored = pt_calloc((size_t)g->nvalues + 1, sizeof *stored);
  /* a transpose a dot writes through is stored (from the dot on), and the
   * dot's own result is not; one a dot reads through is not */
  for (int i = 0; i < g->nops; i++) {
    stored[g->ops[i]->result->id] = (!fp.absorbed[i] || fp.thru[i] == PT_THRU_WRITE) &&
                                    fp.group_of[i] < 0 && fp.writes_into[i] < 0;
    if (fp.writes_into[i] >= 0)
      ck_assert_int_eq(p->first[g->ops[fp.writes_into[i]]->result->id], i);
  }
  for (int k = 0; k < fp.ngroups; k++)
    for (int j = 0; j < fp.groups[k].noutputs; j++) {
      stored[fp.groups[k].outputs[j]->id] = true;
      ck_assert_int_eq(p->first[fp.groups[k].outputs[j]->id], fp.groups[k].at);
    }
  for (int i = 0; i < g->nresults; i++)
    ck_assert_msg(stored[g->results[i].value->id] || !g->results[i].value->def,
                  "%s: result %d is not stored", name, i);
  /* donation: a result in its argument's buffer is that argument's update,
   * written when (or after) the argument is read for the last time */
  for (int i = 0; i < g->nresults; i++) {
    const pt_value *v = g->results[i].value;
    int j = p->result_arg[i];
    if (j < 0) {
      ck_assert_int_ge(p->result_offset[i], 0);
      continue;
    }
    ck_assert_int_eq(j, pt_donor_arg(g, i));
    ck_assert_int_eq(p->result_offset[i], -1);
    ck_assert_msg(v->def && p->region[v->id] == PT_BUF_ARG && p->offset[v->id] == p->arg_offset[j],
                  "%s: result %d is not in argument %d's buffer", name, i, j);
    ck_assert_int_le(p->last[g->args[j]->id], p->first[v->id]);
  }
  for (int i = 0; i < g->nops; i++) {
    int v = g->ops[i]->result->id;
    if (p->region[v] == PT_BUF_ARG) {
      bool donated = false;
      for (int k = 0; k < g->nresults; k++)
        donated |= g->results[k].value->id == v && p->result_arg[k] >= 0;
      ck_assert_msg(donated, "%s: value %d is in the argument block", name, v);
    }
    bool has = p->region[v] != PT_BUF_NONE;
    ck_assert_msg(has == stored[v], "%s: value %d %s", name, v,
                  has ? "is fused away but has a buffer" : "has no buffer");
    if (p->region[v] == PT_BUF_VIEW) { /* an argument's block, read in place */
      int64_t blk;
      const pt_value *x = g->ops[i]->operands[0];
      ck_assert_msg(pt_buf_view_of(g->ops[i], &blk) && !x->def, "%s: value %d is no view", name, v);
      ck_assert_int_ge(p->last[x->id], p->last[v]);
    }
    if (p->region[v] == PT_BUF_TEMP) {
      ck_assert_int_ge(p->first[v], 0);
      ck_assert_int_ge(p->last[v], p->first[v]);
      ck_assert_int_lt(p->last[v], g->nops);
    }
  }
  /* a value written in place over an operand (alias) shares its bytes: an
   * operand of its op, of its size, temporary, dying at that op; the chain
   * is one item from its first definition to its last use */
  int *chain_item = pt_malloc(((size_t)g->nvalues + 1) * sizeof *chain_item);
  int *ord = write_order(g, p);
  for (int oi = 0; oi < g->nops; oi++) {
    int i = ord[oi], v = g->ops[i]->result->id;
    if (p->region[v] != PT_BUF_TEMP)
      continue;
    int x = p->alias[v];
    if (x < 0) {
      chain_item[v] = n;
      items[n++] = (item){p->offset[v], p->bytes[v], p->first[v], p->last[v]};
      continue;
    }
    /* written by op i alone (an in-place kernel reading x), or by the
     * group it belongs to, which reads x directly (not broadcast) */
    bool operand = false;
    for (int j = 0; j < g->ops[i]->noperands; j++)
      operand |= g->ops[i]->operands[j]->id == x;
    bool ok = operand && pt_exec_op_in_place(g->ops[i]);
    for (int k = 0; k < fp.ngroups && !ok; k++) {
      const pt_fusion_group *grp = &fp.groups[k];
      bool out = false, in = false, broadcast = false;
      for (int q = 0; q < grp->noutputs; q++)
        out |= grp->outputs[q]->id == v;
      for (int q = 0; q < grp->ninputs; q++)
        in |= grp->inputs[q]->id == x;
      for (int m = 0; m < grp->nops; m++)
        for (int j = 0; j < g->ops[grp->ops[m]]->noperands; j++) {
          pt_fusion_access a = pt_fusion_read(g->ops[grp->ops[m]]->operands[j]);
          broadcast |= a.src && a.src->id == x && a.bcast;
        }
      ok = out && in && !broadcast && p->first[v] == grp->at;
    }
    ck_assert_msg(ok, "%s: value %d aliases %d wrongly", name, v, x);
    ck_assert_int_eq(p->region[x], PT_BUF_TEMP);
    ck_assert_int_eq(p->offset[v], p->offset[x]);
    ck_assert_int_eq(p->bytes[v], p->bytes[x]);
    ck_assert_int_eq(p->last[x], p->first[v]);
    chain_item[v] = chain_item[x];
    if (items[chain_item[v]].last < p->last[v])
      items[chain_item[v]].last = p->last[v];
  }
  pt_free(chain_item);
  pt_free(ord);
  for (int i = 0; i < g->nops; i++)
    if (p->scratch_bytes[i] > 0)
      items[n++] = (item){p->scratch_offset[i], p->scratch_bytes[i], i, i};
  for (int a = 0; a < n; a++) {
    sum += items[a].bytes;
    ck_assert_msg(items[a].off >= 0 && items[a].off + items[a].bytes <= p->temp_bytes,
                  "%s: a buffer lies outside the temporary block", name);
    ck_assert_msg(items[a].off % 64 == 0, "%s: a buffer is not 64-byte aligned", name);
    for (int b = a + 1; b < n; b++) {
      bool live_together = items[a].first <= items[b].last && items[b].first <= items[a].last;
      bool overlap = items[a].off < items[b].off + items[b].bytes &&
                     items[b].off < items[a].off + items[a].bytes;
      ck_assert_msg(!(live_together && overlap),
                    "%s: buffers live at once overlap ([%d, %d] at %lld and [%d, %d] at %lld)",
                    name, items[a].first, items[a].last, (long long)items[a].off, items[b].first,
                    items[b].last, (long long)items[b].off);
    }
  }
  for (int i = 0; i < g->nops; i++) {
    int64_t live = 0;
    for (int a = 0; a < n; a++)
      if (items[a].first <= i && i <= items[a].last)
        live += items[a].bytes;
    largest_live = live > largest_live ? live : largest_live;
  }
  ck_assert_msg(p->temp_bytes <= sum, "%s: peak %lld above the sum of sizes %lld", name,
                (long long)p->temp_bytes, (long long)sum);
  ck_assert_msg(p->temp_bytes >= largest_live, "%s: peak %lld below the largest live set %lld",
                name, (long long)p->temp_bytes, (long long)largest_live);
  ck_assert_int_eq(p->peak_bytes, p->arg_bytes + p->result_bytes + p->temp_bytes);
  /* arguments and results: one buffer each, disjoint, in their blocks */
  for (int i = 0; i < g->nargs; i++) {
    int id = g->args[i]->id;
    ck_assert_int_eq(p->region[id], PT_BUF_ARG);
    ck_assert_int_eq(p->offset[id], p->arg_offset[i]);
    ck_assert(p->arg_offset[i] + (int64_t)pt_type_bytes(&g->args[i]->type) <=
              (i + 1 < g->nargs ? p->arg_offset[i + 1] : p->arg_bytes));
  }
  int64_t result_end = 0; /* the results in the result block, in order, disjoint */
  for (int i = 0; i < g->nresults; i++) {
    if (p->result_offset[i] < 0)
      continue;
    ck_assert_int_ge(p->result_offset[i], result_end);
    result_end = p->result_offset[i] + (int64_t)pt_type_bytes(&g->results[i].type);
  }
  ck_assert_int_le(result_end, p->result_bytes);
  pt_free(items);
  pt_free(stored);
  pt_fusion_plan_free(&fp);
}

/* ---- every op kind against the interpreter ----------------------------- */

typedef struct {
  const char *name;
  const char *text;
} op_case;

#define F(sig, res, body) "func @f(" sig ") -> (" res ") {\n" body "}\n"

static const op_case op_cases[] = {
    /* element-wise unary, f32 and i32 */
    {"neg", F("input %a: f32[3,17]", "r: f32[3,17]", "%r = neg %a : f32[3,17]\nreturn %r\n")},
    {"exp", F("input %a: f32[3,17]", "r: f32[3,17]", "%r = exp %a : f32[3,17]\nreturn %r\n")},
    {"log", F("input %a: f32[3,17]", "r: f32[3,17]", "%r = log %a : f32[3,17]\nreturn %r\n")},
    {"tanh", F("input %a: f32[3,17]", "r: f32[3,17]", "%r = tanh %a : f32[3,17]\nreturn %r\n")},
    {"logistic",
     F("input %a: f32[3,17]", "r: f32[3,17]", "%r = logistic %a : f32[3,17]\nreturn %r\n")},
    {"sqrt", F("input %a: f32[3,17]", "r: f32[3,17]", "%r = sqrt %a : f32[3,17]\nreturn %r\n")},
    {"rsqrt", F("input %a: f32[3,17]", "r: f32[3,17]", "%r = rsqrt %a : f32[3,17]\nreturn %r\n")},
    {"abs", F("input %a: f32[3,17]", "r: f32[3,17]", "%r = abs %a : f32[3,17]\nreturn %r\n")},
    {"sin", F("input %a: f32[3,17]", "r: f32[3,17]", "%r = sin %a : f32[3,17]\nreturn %r\n")},
    {"cos", F("input %a: f32[3,17]", "r: f32[3,17]", "%r = cos %a : f32[3,17]\nreturn %r\n")},
    {"i32 neg abs", F("input %i: i32[4,5]", "r: i32[4,5], s: i32[4,5]",
                      "%c = constant {value = 500} : i32[4,5]\n%j = sub %i, %c : i32[4,5]\n"
                      "%r = neg %j : i32[4,5]\n%s = abs %j : i32[4,5]\nreturn %r, %s\n")},
    /* element-wise binary */
    {"f32 binary",
     F("input %a: f32[5,13], input %b: f32[5,13]",
       "add: f32[5,13], sub: f32[5,13], mul: f32[5,13], div: f32[5,13], max: f32[5,13], "
       "min: f32[5,13], pow: f32[5,13]",
       "%add = add %a, %b : f32[5,13]\n%sub = sub %a, %b : f32[5,13]\n"
       "%mul = mul %a, %b : f32[5,13]\n%div = div %a, %b : f32[5,13]\n"
       "%max = max %a, %b : f32[5,13]\n%min = min %a, %b : f32[5,13]\n"
       "%ab = abs %a : f32[5,13]\n%pow = pow %ab, %b : f32[5,13]\n"
       "return %add, %sub, %mul, %div, %max, %min, %pow\n")},
    {"f32 max min nan",
     F("input %a: f32[8]", "max: f32[8], min: f32[8]",
       "%n = constant {value = [nan, 1, nan, -2, 0, 3, -inf, inf]} : f32[8]\n"
       "%max = max %a, %n : f32[8]\n%min = min %n, %a : f32[8]\nreturn %max, %min\n")},
    {"i32 binary", F("input %i: i32[6,7], input %j: i32[6,7]",
                     "add: i32[6,7], sub: i32[6,7], mul: i32[6,7], div: i32[6,7], max: i32[6,7], "
                     "min: i32[6,7]",
                     "%big = constant {value = 7654321} : i32[6,7]\n%ib = mul %i, %big : i32[6,7]\n"
                     "%add = add %ib, %ib : i32[6,7]\n%sub = sub %j, %ib : i32[6,7]\n"
                     "%mul = mul %ib, %j : i32[6,7]\n%one = constant {value = 1} : i32[6,7]\n"
                     "%j1 = max %j, %one : i32[6,7]\n%div = div %sub, %j1 : i32[6,7]\n"
                     "%max = max %sub, %j : i32[6,7]\n%min = min %sub, %j : i32[6,7]\n"
                     "return %add, %sub, %mul, %div, %max, %min\n")},
    /* compare, select, convert */
    {"compare",
     F("input %a: f32[4,9], input %b: f32[4,9], input %i: i32[4,9], input %p: pred[4,9]",
       "lt: pred[4,9], le: pred[4,9], gt: pred[4,9], ge: pred[4,9], eq: pred[4,9], "
       "ne: pred[4,9], ilt: pred[4,9], peq: pred[4,9]",
       "%lt = compare %a, %b {dir = lt} : pred[4,9]\n%le = compare %a, %a {dir = le} : pred[4,9]\n"
       "%gt = compare %a, %b {dir = gt} : pred[4,9]\n%ge = compare %b, %a {dir = ge} : pred[4,9]\n"
       "%eq = compare %a, %a {dir = eq} : pred[4,9]\n%ne = compare %a, %b {dir = ne} : pred[4,9]\n"
       "%c = constant {value = 500} : i32[4,9]\n"
       "%ilt = compare %i, %c {dir = lt} : pred[4,9]\n%peq = compare %p, %lt {dir = eq} : "
       "pred[4,9]\n"
       "return %lt, %le, %gt, %ge, %eq, %ne, %ilt, %peq\n")},
    {"select",
     F("input %p: pred[3,11], input %a: f32[3,11], input %b: f32[3,11], input %i: i32[3,11], "
       "input %q: pred[3,11]",
       "f: f32[3,11], i: i32[3,11], q: pred[3,11]",
       "%f = select %p, %a, %b : f32[3,11]\n%c = constant {value = -3} : i32[3,11]\n"
       "%i2 = select %p, %i, %c : i32[3,11]\n%q2 = select %p, %q, %p : pred[3,11]\n"
       "return %f, %i2, %q2\n")},
    {"convert",
     F("input %a: f32[2,9], input %i: i32[2,9], input %p: pred[2,9]",
       "fi: i32[2,9], if: f32[2,9], fp: pred[2,9], pf: f32[2,9], pi: i32[2,9], ip: pred[2,9], "
       "ff: f32[2,9]",
       "%k = constant {value = 3e9} : f32[2,9]\n%ak = mul %a, %k : f32[2,9]\n"
       "%fi = convert %ak : i32[2,9]\n%if = convert %i : f32[2,9]\n%fp = convert %a : pred[2,9]\n"
       "%pf = convert %p : f32[2,9]\n%pi = convert %p : i32[2,9]\n%ip = convert %i : pred[2,9]\n"
       "%ff = convert %a : f32[2,9]\nreturn %fi, %if, %fp, %pf, %pi, %ip, %ff\n")},
    {"convert nan",
     F("input %a: f32[4]", "r: i32[4]",
       "%n = constant {value = [nan, inf, -inf, -2.5]} : f32[4]\n%s = add %n, %a : f32[4]\n"
       "%z = mul %s, %s : f32[4]\n%r = convert %n : i32[4]\nreturn %r\n")},
    /* producers */
    {"constant", F("input %a: f32[]", "f: f32[3,5], i: i32[7], p: pred[2,2], l: f32[2,3], s: f32[]",
                   "%f = constant {value = 0.1} : f32[3,5]\n%i = constant {value = -7} : i32[7]\n"
                   "%p = constant {value = 1} : pred[2,2]\n"
                   "%l = constant {value = [1, 2.5, -3, 4, 5e-3, 6]} : f32[2,3]\n"
                   "%s = constant {value = 2.0} : f32[]\nreturn %f, %i, %p, %l, %s\n")},
    {"iota",
     F("input %a: f32[]", "f: f32[3,4,2], i: i32[3,4]",
       "%f = iota {dim = 1} : f32[3,4,2]\n%i = iota {dim = 0} : i32[3,4]\nreturn %f, %i\n")},
    /* data movement */
    {"broadcast",
     F("input %v: f32[4], input %w: f32[3], input %o: f32[1,4], input %s: f32[], "
       "input %p: pred[3], input %m: f32[2,3]",
       "a: f32[3,4], b: f32[3,4], c: f32[3,4], d: f32[2,3], e: pred[3,2], f: f32[2,4,3]",
       "%a = broadcast %v {dims = [1]} : f32[3,4]\n%b = broadcast %w {dims = [0]} : f32[3,4]\n"
       "%c = broadcast %o {dims = [0, 1]} : f32[3,4]\n%d = broadcast %s {dims = []} : f32[2,3]\n"
       "%e = broadcast %p {dims = [0]} : pred[3,2]\n%f = broadcast %m {dims = [0, 2]} : "
       "f32[2,4,3]\n"
       "return %a, %b, %c, %d, %e, %f\n")},
    {"reshape",
     F("input %a: f32[4,6]", "r: f32[2,3,4]", "%r = reshape %a : f32[2,3,4]\nreturn %r\n")},
    {"transpose", F("input %a: f32[2,3,4], input %p: pred[3,5]",
                    "x: f32[4,2,3], y: f32[3,2,4], z: f32[2,4,3], q: pred[5,3]",
                    "%x = transpose %a {perm = [2, 0, 1]} : f32[4,2,3]\n"
                    "%y = transpose %a {perm = [1, 0, 2]} : f32[3,2,4]\n"
                    "%z = transpose %a {perm = [0, 2, 1]} : f32[2,4,3]\n"
                    "%q = transpose %p {perm = [1, 0]} : pred[5,3]\nreturn %x, %y, %z, %q\n")},
    {"slice",
     F("input %a: f32[5,6], input %b: i32[4,5,6]", "x: f32[2,2], y: i32[2,5,3], z: f32[5,1]",
       "%x = slice %a {start = [1, 0], limit = [5, 6], stride = [2, 3]} : f32[2,2]\n"
       "%y = slice %b {start = [1, 0, 1], limit = [3, 5, 6], stride = [1, 1, 2]} : i32[2,5,3]\n"
       "%z = slice %a {start = [0, 4], limit = [5, 5]} : f32[5,1]\nreturn %x, %y, %z\n")},
    {"concat",
     F("input %a: f32[2,3], input %b: f32[2,1], input %c: f32[4,3], input %p: pred[2,2,2]",
       "x: f32[2,7], y: f32[6,3], z: pred[2,4,2]",
       "%x = concat %a, %b, %a {dim = 1} : f32[2,7]\n%y = concat %a, %c {dim = 0} : f32[6,3]\n"
       "%z = concat %p, %p {dim = 1} : pred[2,4,2]\nreturn %x, %y, %z\n")},
    {"pad", F("input %a: f32[2,3], input %v: f32[], input %i: i32[3], input %w: i32[]",
              "x: f32[5,7], y: i32[9]",
              "%x = pad %a, %v {low = [1, 0], high = [1, 2], interior = [1, 1]} : f32[5,7]\n"
              "%y = pad %i, %w {low = [2], high = [0], interior = [2]} : i32[9]\nreturn %x, %y\n")},
    /* reductions */
    {"reduce_sum",
     F("input %a: f32[3,4,5]",
       "d0: f32[4,5], d1: f32[3,5], d2: f32[3,4], d02: f32[4], all: f32[], "
       "none: f32[3,4,5]",
       "%d0 = reduce_sum %a {dims = [0]} : f32[4,5]\n%d1 = reduce_sum %a {dims = [1]} : f32[3,5]\n"
       "%d2 = reduce_sum %a {dims = [2]} : f32[3,4]\n%d02 = reduce_sum %a {dims = [0, 2]} : "
       "f32[4]\n"
       "%all = reduce_sum %a {dims = [0, 1, 2]} : f32[]\n"
       "%none = reduce_sum %a {dims = []} : f32[3,4,5]\nreturn %d0, %d1, %d2, %d02, %all, "
       "%none\n")},
    {"reduce long rows", /* sum_row's and max_row's eight lanes and their tails */
     F("input %a: f32[3,37], input %b: f32[2,4,19]",
       "r: f32[3], s: f32[4], t: f32[2,4], u: f32[3], w: f32[4]",
       "%r = reduce_sum %a {dims = [1]} : f32[3]\n%s = reduce_sum %b {dims = [0, 2]} : f32[4]\n"
       "%t = reduce_sum %b {dims = [2]} : f32[2,4]\n%u = reduce_max %a {dims = [1]} : f32[3]\n"
       "%w = reduce_max %b {dims = [0, 2]} : f32[4]\nreturn %r, %s, %t, %u, %w\n")},
    {"reduce_max",
     F("input %a: f32[3,4,5]", "d0: f32[4,5], d2: f32[3,4], d01: f32[5], all: f32[]",
       "%d0 = reduce_max %a {dims = [0]} : f32[4,5]\n%d2 = reduce_max %a {dims = [2]} : f32[3,4]\n"
       "%d01 = reduce_max %a {dims = [0, 1]} : f32[5]\n"
       "%all = reduce_max %a {dims = [0, 1, 2]} : f32[]\nreturn %d0, %d2, %d01, %all\n")},
    {"reduce nan",
     F("input %a: f32[2,4]", "m: f32[2], n: f32[4], w: f32[2]",
       "%c = constant {value = [1, nan, 2, 3, -inf, -inf, -inf, -inf]} : f32[2,4]\n"
       "%m = reduce_max %c {dims = [1]} : f32[2]\n%n = reduce_max %c {dims = [0]} : f32[4]\n"
       "%l = constant {value = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, nan, 12, 13, 14, 15, 16, 17, "
       "1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, nan]} : f32[2,17]\n"
       "%w = reduce_max %l {dims = [1]} : f32[2]\nreturn %m, %n, %w\n")},
    {"reduce i32",
     F("input %i: i32[3,4,5]", "s1: i32[3,5], s02: i32[4], m1: i32[3,5], m2: i32[3,4]",
       "%big = constant {value = 987654321} : i32[3,4,5]\n%b = mul %i, %big : i32[3,4,5]\n"
       "%s1 = reduce_sum %b {dims = [1]} : i32[3,5]\n%s02 = reduce_sum %b {dims = [0, 2]} : "
       "i32[4]\n"
       "%m1 = reduce_max %b {dims = [1]} : i32[3,5]\n%m2 = reduce_max %b {dims = [2]} : i32[3,4]\n"
       "return %s1, %s02, %m1, %m2\n")},
    /* dot in every layout: in place, transposed, copied */
    {"dot plain",
     F("input %a: f32[5,7], input %b: f32[7,3]", "r: f32[5,3]",
       "%r = dot %a, %b {lhs_contract = [1], rhs_contract = [0]} : f32[5,3]\nreturn %r\n")},
    {"dot transposed",
     F("input %a: f32[7,5], input %b: f32[3,7]", "r: f32[5,3]",
       "%r = dot %a, %b {lhs_contract = [0], rhs_contract = [1]} : f32[5,3]\nreturn %r\n")},
    {"dot batch", F("input %a: f32[2,5,7], input %b: f32[2,7,3]", "r: f32[2,5,3]",
                    "%r = dot %a, %b {lhs_batch = [0], rhs_batch = [0], lhs_contract = [2], "
                    "rhs_contract = [1]} : f32[2,5,3]\nreturn %r\n")},
    {"dot batch inside", F("input %a: f32[5,2,7], input %b: f32[7,2,3]", "r: f32[2,5,3]",
                           "%r = dot %a, %b {lhs_batch = [1], rhs_batch = [1], lhs_contract = [2], "
                           "rhs_contract = [0]} : f32[2,5,3]\nreturn %r\n")},
    {"dot strided heads", /* a head of [b, s, h, d] as a batch point, read in place */
     F("input %a: f32[3,4,2,5], input %w: f32[2,5,6], input %g: f32[2,3,4,6]",
       "r: f32[2,3,4,6], s: f32[2,5,6]",
       "%r = dot %a, %w {lhs_batch = [2], rhs_batch = [0], lhs_contract = [3], "
       "rhs_contract = [1]} : f32[2,3,4,6]\n"
       "%s = dot %a, %g {lhs_batch = [2], rhs_batch = [0], lhs_contract = [0, 1], "
       "rhs_contract = [1, 2]} : f32[2,5,6]\nreturn %r, %s\n")},
    {"dot two contractions",
     F("input %a: f32[4,3,5], input %b: f32[3,5,2]", "r: f32[4,2], s: f32[4,2]",
       "%r = dot %a, %b {lhs_contract = [1, 2], rhs_contract = [0, 1]} : f32[4,2]\n"
       "%s = dot %a, %b {lhs_contract = [2, 1], rhs_contract = [1, 0]} : f32[4,2]\n"
       "return %r, %s\n")},
    {"dot outer",
     F("input %a: f32[3], input %b: f32[4]", "r: f32[3,4]",
       "%r = dot %a, %b {lhs_contract = [], rhs_contract = []} : f32[3,4]\nreturn %r\n")},
    {"dot attention",
     F("input %q: f32[2,2,4,3], input %k: f32[2,2,4,3]", "r: f32[2,2,4,4], s: f32[2,2,3,3]",
       "%r = dot %q, %k {lhs_batch = [0, 1], rhs_batch = [0, 1], lhs_contract = [3], "
       "rhs_contract = [3]} : f32[2,2,4,4]\n"
       "%s = dot %q, %k {lhs_batch = [0, 1], rhs_batch = [0, 1], lhs_contract = [2], "
       "rhs_contract = [2]} : f32[2,2,3,3]\nreturn %r, %s\n")},
    {"dot free dims split",
     F("input %a: f32[5,7,3], input %b: f32[7,2]", "r: f32[5,3,2]",
       "%r = dot %a, %b {lhs_contract = [1], rhs_contract = [0]} : f32[5,3,2]\nreturn %r\n")},
    {"dot large",
     F("input %a: f32[33,130], input %b: f32[130,65]", "r: f32[33,65]",
       "%r = dot %a, %b {lhs_contract = [1], rhs_contract = [0]} : f32[33,65]\nreturn %r\n")},
    /* thin results (few rows, many columns): computed as C^T and transposed (dot_flips) */
    {"dot thin",
     F("input %a: f32[6,64], input %b: f32[64,70], input %at: f32[64,6], input %bt: f32[70,64]",
       "r: f32[6,70], s: f32[6,70], t: f32[6,70], u: f32[6,70]",
       "%r = dot %a, %b {lhs_contract = [1], rhs_contract = [0]} : f32[6,70]\n"
       "%s = dot %at, %b {lhs_contract = [0], rhs_contract = [0]} : f32[6,70]\n"
       "%t = dot %a, %bt {lhs_contract = [1], rhs_contract = [1]} : f32[6,70]\n"
       "%u = dot %at, %bt {lhs_contract = [0], rhs_contract = [1]} : f32[6,70]\n"
       "return %r, %s, %t, %u\n")},
    {"dot thin batch", F("input %a: f32[3,40,64], input %b: f32[64,3,100]", "r: f32[3,40,100]",
                         "%r = dot %a, %b {lhs_batch = [0], rhs_batch = [1], lhs_contract = [2], "
                         "rhs_contract = [0]} : f32[3,40,100]\nreturn %r\n")},
    {"dot i32",
     F("input %i: i32[3,4], input %j: i32[4,2]", "r: i32[3,2]",
       "%r = dot %i, %j {lhs_contract = [1], rhs_contract = [0]} : i32[3,2]\nreturn %r\n")},
    /* gathers, scatters, scans */
    {"take",
     F("param %t: f32[5,3], input %idx: i32[2,4], param %u: i32[6]", "r: f32[2,4,3], s: i32[2,4]",
       "%r = take %t, %idx : f32[2,4,3]\n%s = take %u, %idx : i32[2,4]\nreturn %r, %s\n")},
    {"scatter_add", F("input %idx: i32[4], input %u: f32[4,3]", "r: f32[5,3]",
                      "%r = scatter_add %idx, %u : f32[5,3]\nreturn %r\n")},
    {"scan channels", /* across contiguous channels, and along the last dim across rows */
     F("input %a: f32[3,6,20], input %b: f32[3,6,20]", "r: f32[3,6,20], s: f32[3,6,20]",
       "%r = scan %a, %b {dim = 1} : f32[3,6,20]\n"
       "%s = scan %a, %b {dim = 2, reverse = 1} : f32[3,6,20]\nreturn %r, %s\n")},
    {"scatter_add repeated", /* rows hit several times, in index order */
     F("input %idx: i32[9], input %u: f32[9,11]", "r: f32[4,11]",
       "%r = scatter_add %idx, %u : f32[4,11]\nreturn %r\n")},
    {"iota last dim",
     F("input %a: f32[]", "f: f32[3,7], i: i32[2,3,5]",
       "%f = iota {dim = 1} : f32[3,7]\n%i = iota {dim = 2} : i32[2,3,5]\nreturn %f, %i\n")},
    {"scan",
     F("input %a: f32[2,5], input %b: f32[2,5]", "r: f32[2,5], s: f32[2,5]",
       "%r = scan %a, %b {dim = 1} : f32[2,5]\n%s = scan %a, %b {dim = 0, reverse = 1} : f32[2,5]\n"
       "return %r, %s\n")},
    /* a chain: buffers shared between values */
    {"chain",
     F("input %a: f32[16,16], input %b: f32[16,16]", "r: f32[16,16], a: f32[16,16]",
       "%x = add %a, %b : f32[16,16]\n%y = mul %x, %x : f32[16,16]\n%z = tanh %y : f32[16,16]\n"
       "%w = dot %z, %x {lhs_contract = [1], rhs_contract = [0]} : f32[16,16]\n"
       "%v = sub %w, %y : f32[16,16]\n%r = tanh %v : f32[16,16]\nreturn %r, %a\n")},
    {"stop_gradient", /* the identity: alone (f32, i32) and inside a fused loop */
     F("input %a: f32[4,6], input %b: f32[4,6], input %i: i32[5]",
       "r: f32[4,6], s: f32[4,6], j: i32[5]",
       "%r = stop_gradient %a : f32[4,6]\n%m = mul %a, %b : f32[4,6]\n"
       "%g = stop_gradient %m : f32[4,6]\n%s = exp %g : f32[4,6]\n"
       "%j = stop_gradient %i : i32[5]\nreturn %r, %s, %j\n")},
    {"returned twice", F("input %a: f32[3]", "r: f32[3], s: f32[3], t: f32[3]",
                         "%x = neg %a : f32[3]\nreturn %x, %x, %a\n")},
};

START_TEST(op_kind_matches_interpreter) {
  const op_case *c = &op_cases[_i];
  pt_module *m = pt_test_parse_ok(c->text);
  pt_func *f = m->funcs[0];
  pt_diag *d = pt_diag_create(stderr);
  pt_tensor **args = init_args(f, 11);
  pt_tensor **want = pt_calloc((size_t)f->nresults, sizeof *want);
  pt_tensor **got = pt_calloc((size_t)f->nresults, sizeof *got);
  ck_assert_int_eq(pt_interp_run(f, args, want, d), PT_OK);
  pt_exec *e = pt_exec_create(f, NULL, d);
  ck_assert_msg(e != NULL, "%s: create failed", c->name);
  check_plan(f, pt_exec_plan(e), c->name);
  ck_assert_msg(pt_exec_run(e, args, got, d) == PT_OK, "%s: run failed", c->name);
  for (int i = 0; i < f->nresults; i++) {
    double r = rel_diff(got[i], want[i]);
    ck_assert_msg(r >= 0 && r <= 1e-5, "%s: result %s differs from the interpreter by %g", c->name,
                  f->results[i].name, r);
  }
  free_tensors(got, f->nresults);
  free_tensors(want, f->nresults);
  free_tensors(args, f->nargs);
  pt_exec_destroy(e);
  pt_diag_destroy(d);
  pt_module_destroy(m);
}
END_TEST

/* The cases above hold every non-collective op of the table (the
 * collectives are in collectives_on_one_device), so a new op must join. */
START_TEST(op_cases_cover_the_table) {
  bool seen[PT_OP_COUNT] = {false};
  for (size_t c = 0; c < sizeof op_cases / sizeof op_cases[0]; c++) {
    pt_module *m = pt_test_parse_ok(op_cases[c].text);
    for (int i = 0; i < m->funcs[0]->nops; i++)
      seen[m->funcs[0]->ops[i]->code] = true;
    pt_module_destroy(m);
  }
  for (int c = 0; c < PT_OP_COUNT; c++)
    ck_assert_msg(seen[c] || (pt_optab[c].flags & (PT_OPF_COLLECTIVE | PT_OPF_CALL)),
                  "op '%s' is missing from the executor's cases", pt_op_name((pt_opcode)c));
}
END_TEST

/* Runtime errors come from the interpreter's kernels, located at the op. */
START_TEST(runtime_errors_are_reported) {
  pt_module *m = pt_test_parse_ok(
      F("input %t: f32[3,2], input %i: i32[2], input %j: i32[2]", "r: f32[2,2], q: i32[2]",
        "%r = take %t, %i : f32[2,2]\n%q = div %i, %j : i32[2]\nreturn %r, %q\n"));
  pt_func *f = m->funcs[0];
  pt_diag *d = pt_diag_create(NULL);
  pt_exec *e = pt_exec_create(f, NULL, d);
  pt_tensor *a = pt_exec_arg_buffer(e, 0), *i = pt_exec_arg_buffer(e, 1),
            *j = pt_exec_arg_buffer(e, 2);
  ((int32_t *)i->data)[1] = 3; /* outside [0, 3) */
  ((int32_t *)j->data)[0] = 1;
  (void)a;
  pt_tensor *res[2];
  ck_assert_int_eq(pt_exec_run(e, NULL, res, d), PT_ERR);
  ck_assert_ptr_null(res[0]);
  ck_assert_msg(strstr(pt_diag_text(d, 0), "index 3") != NULL, "%s", pt_diag_text(d, 0));
  ck_assert_int_eq(pt_diag_loc(d, 0).line, 2);
  pt_diag_clear(d);
  ((int32_t *)i->data)[1] = 2;
  ((int32_t *)j->data)[1] = 0; /* division by zero */
  ck_assert_int_eq(pt_exec_run(e, NULL, NULL, d), PT_ERR);
  ck_assert_msg(strstr(pt_diag_text(d, 0), "division by zero") != NULL, "%s", pt_diag_text(d, 0));
  pt_diag_clear(d);
  ((int32_t *)j->data)[1] = -1;
  ck_assert_int_eq(pt_exec_run(e, NULL, NULL, d), PT_OK);
  /* a caller's argument of the wrong type */
  pt_tensor *wrong = pt_tensor_create(pt_type_make(PT_F32, 1, (int64_t[]){6}));
  pt_tensor *args[3] = {wrong, NULL, NULL};
  res[0] = res[1] = wrong;
  ck_assert_int_eq(pt_exec_run(e, args, res, d), PT_ERR);
  ck_assert_ptr_null(res[0]);
  ck_assert_msg(strstr(pt_diag_text(d, 0), "argument %t of @f is f32[6], not f32[3,2]") != NULL,
                "%s", pt_diag_text(d, 0));
  pt_tensor_destroy(wrong);
  pt_exec_destroy(e);
  pt_diag_destroy(d);
  pt_module_destroy(m);
}
END_TEST

/* On a one-device mesh collectives are identities (permute with no pairs:
 * zeros), as on the virtual mesh; on a larger mesh they need MPI. */
START_TEST(collectives_on_one_device) {
  pt_module *m = pt_test_parse_ok(
      "mesh {x = 1, y = 1}\n\n"
      "func @f(input %a: f32[2,3]) -> (g: f32[2,3], s: f32[2,3], r: f32[2,3], m: f32[2,3], "
      "t: f32[2,3], k: f32[2,3], p: f32[2,3], z: f32[2,3]) {\n"
      "  %g = all_gather %a {dim = 0, axes = [x]} : f32[2,3]\n"
      "  %s = reduce_scatter %a {dim = 1, axes = [y, x]} : f32[2,3]\n"
      "  %r = all_reduce %a {reduce = sum, axes = [x, y]} : f32[2,3]\n"
      "  %m = all_reduce %a {reduce = max, axes = [y]} : f32[2,3]\n"
      "  %t = all_to_all %a {split_dim = 1, concat_dim = 0, axes = [y]} : f32[2,3]\n"
      "  %k = axis_slice %a {dim = 0, axes = [x]} : f32[2,3]\n"
      "  %p = collective_permute %a {axes = [y], pairs = [[0, 0]]} : f32[2,3]\n"
      "  %z = collective_permute %a {axes = [x], pairs = []} : f32[2,3]\n"
      "  return %g, %s, %r, %m, %t, %k, %p, %z\n}\n");
  pt_func *f = m->funcs[0];
  pt_diag *d = pt_diag_create(stderr);
  pt_tensor **args = init_args(f, 3);
  pt_tensor *want[8], *got[8];
  ck_assert_int_eq(pt_vmesh_run(f, args, want, d), PT_OK);
  pt_exec *e = pt_exec_create(f, NULL, d);
  ck_assert_ptr_nonnull(e);
  ck_assert_int_eq(pt_exec_run(e, args, got, d), PT_OK);
  for (int i = 0; i < 8; i++) {
    ck_assert_msg(memcmp(got[i]->data, want[i]->data, pt_type_bytes(&want[i]->type)) == 0,
                  "result %s differs from the virtual mesh", f->results[i].name);
    pt_tensor_destroy(got[i]);
    pt_tensor_destroy(want[i]);
  }
  pt_exec_destroy(e);
  free_tensors(args, f->nargs);
  pt_module_destroy(m);
  /* two devices and no MPI: refused, located at the collective */
  m = pt_test_parse_ok("mesh {x = 2}\n\nfunc @f(input %a: f32[2]) -> (r: f32[2]) {\n"
                       "  %r = all_reduce %a {reduce = sum, axes = [x]} : f32[2]\n"
                       "  return %r\n}\n");
  pt_diag_clear(d);
  pt_diag *q = pt_diag_create(NULL);
  ck_assert_ptr_null(pt_exec_create(m->funcs[0], NULL, q));
  ck_assert_msg(strstr(pt_diag_text(q, 0), "needs the MPI runtime") != NULL, "%s",
                pt_diag_text(q, 0));
  ck_assert_int_eq(pt_diag_loc(q, 0).line, 4);
  pt_diag_destroy(q);
  pt_diag_destroy(d);
  pt_module_destroy(m);
}
END_TEST

/* ---- models lowered on one device ---------------------------------------- */

typedef struct {
  const char *model, *script;
  int optimizer; /* -1: @loss; else a pt_optim_kind for @train_step */
} model_case;

static const model_case models[] = {
    {"examples/mlp.pir", "examples/mlp.bp_mp.yaml", -1},
    {"examples/mlp.pir", "examples/mlp.bp.yaml", PT_OPTIM_SGD},
    {"examples/mlp.pir", "examples/mlp.bp_mp.yaml", PT_OPTIM_ADAM},
    {"tests/data/tiny_transformer_block.pir", "examples/transformer_block.bp_mp.yaml", -1},
    {"tests/data/tiny_transformer_block.pir", "examples/transformer_block.bp_mp.yaml",
     PT_OPTIM_ADAM},
};

/* Loads a model, builds @train_step if asked, applies the script on a mesh
 * of ones and lowers; *f is the global function, the result the lowered. */
static pt_func *lower_on_one(const model_case *c, pt_module **mp, pt_func **f, pt_diag *d) {
  char *path = pt_test_path(c->model), *spath = pt_test_path(c->script);
  pt_module *m = pt_parse_file(path, d);
  ck_assert_ptr_nonnull(m);
  ck_assert_int_eq(pt_verify_module(m, d), PT_OK);
  *f = pt_module_find_func(m, "loss");
  if (c->optimizer >= 0) {
    pt_optimizer opt = pt_optimizer_default((pt_optim_kind)c->optimizer);
    ck_assert_int_eq(pt_pass_train_step(m, "loss", &opt, NULL, f, d), PT_OK);
  }
  pt_schedule *s = pt_schedule_read(spath, d);
  ck_assert_ptr_nonnull(s);
  for (int a = 0; a < s->mesh.naxes; a++)
    s->mesh.sizes[a] = 1;
  ck_assert_int_eq(pt_schedule_set_mesh(m, s, d), PT_OK);
  ck_assert_int_eq(pt_schedule_apply(*f, s, NULL, d), PT_OK);
  pt_func *g = NULL;
  ck_assert_int_eq(pt_pass_lower(m, *f, NULL, &g, d), PT_OK);
  ck_assert_int_eq(pt_verify_func(g, d), PT_OK);
  /* collectives over one device are identities, and the lowering drops them */
  for (int i = 0; i < g->nops; i++)
    ck_assert_msg(!(pt_optab[g->ops[i]->code].flags & PT_OPF_COLLECTIVE), "%s on one device",
                  pt_op_name(g->ops[i]->code));
  pt_schedule_destroy(s);
  pt_free(path);
  pt_free(spath);
  *mp = m;
  return g;
}

START_TEST(model_matches_interpreter) {
  const model_case *c = &models[_i];
  char name[256];
  snprintf(name, sizeof name, "%s @%s", c->model,
           c->optimizer < 0                ? "loss"
           : c->optimizer == PT_OPTIM_ADAM ? "train_step (adam)"
                                           : "train_step (sgd)");
  pt_diag *d = pt_diag_create(stderr);
  pt_module *m;
  pt_func *f;
  pt_func *g = lower_on_one(c, &m, &f, d);
  pt_tensor **args = init_args(f, 7);
  pt_tensor **want = pt_calloc((size_t)f->nresults, sizeof *want);
  pt_tensor **got = pt_calloc((size_t)f->nresults, sizeof *got);
  pt_tensor **again = pt_calloc((size_t)f->nresults, sizeof *again);
  double t0 = now();
  ck_assert_int_eq(pt_interp_run(f, args, want, d), PT_OK);
  double t_interp = now() - t0;
  pt_exec *e = pt_exec_create(g, NULL, d);
  ck_assert_ptr_nonnull(e);
  check_plan(g, pt_exec_plan(e), name);
  /* buffers are the same pointers in every step */
  void *arg0 = pt_exec_arg_buffer(e, 0)->data, *res0 = pt_exec_result_buffer(e, 0)->data;
  t0 = now();
  ck_assert_int_eq(pt_exec_run(e, args, got, d), PT_OK);
  double t_first = now() - t0;
  pt_exec_set_profile(e, true);
  ck_assert_int_eq(pt_exec_run(e, args, again, d), PT_OK);
  double t_exec = pt_exec_run_seconds(e), t_ops = 0;
  for (int i = 0; i < g->nops; i++)
    t_ops += pt_exec_op_seconds(e)[i];
  ck_assert(t_ops > 0 && t_ops <= t_exec);
  ck_assert_ptr_eq(pt_exec_arg_buffer(e, 0)->data, arg0);
  ck_assert_ptr_eq(pt_exec_result_buffer(e, 0)->data, res0);
  pt_step_check chk;
  pt_step_compare(f, got, want, 1e-4, &chk);
  ck_assert_msg(!chk.bad[0], "%s: %s", name, chk.bad);
  for (int i = 0; i < f->nresults; i++) {
    ck_assert_msg(memcmp(got[i]->data, again[i]->data, pt_type_bytes(&got[i]->type)) == 0,
                  "%s: two steps give different %s", name, f->results[i].name);
  }
  /* fused loops and strided dots change no bit: op by op gives the same
   * results as the fused program without GEMM epilogues (runtime/fusion.h),
   * and within rounding of the one with them */
  setenv("PT_FUSION", "0", 1);
  pt_exec *plain = pt_exec_create(g, NULL, d);
  unsetenv("PT_FUSION");
  setenv("PT_GEMM_EPILOGUE", "0", 1);
  pt_exec *loops = pt_exec_create(g, NULL, d);
  unsetenv("PT_GEMM_EPILOGUE");
  ck_assert_ptr_nonnull(plain);
  ck_assert_ptr_nonnull(loops);
  ck_assert_int_eq(pt_exec_run(plain, args, NULL, d), PT_OK);
  ck_assert_int_eq(pt_exec_run(loops, args, NULL, d), PT_OK);
  int epilogues = 0;
  const pt_fusion_plan *fp = pt_exec_fusion(e);
  for (int k = 0; k < fp->ngroups; k++)
    epilogues += fp->groups[k].dot != NULL;
  for (int i = 0; i < f->nresults; i++) {
    const pt_tensor *op_by_op = pt_exec_result_buffer(plain, i);
    ck_assert_msg(memcmp(op_by_op->data, pt_exec_result_buffer(loops, i)->data,
                         pt_type_bytes(&got[i]->type)) == 0,
                  "%s: fused and op-by-op runs differ in %s", name, f->results[i].name);
    double rd = rel_diff(got[i], op_by_op);
    ck_assert_msg(rd >= 0 && rd <= 1e-6, "%s: %s is %g off op by op with %d GEMM epilogues", name,
                  f->results[i].name, rd, epilogues);
  }
  /* an SGD step's weight updates are GEMM epilogues */
  if (c->optimizer == PT_OPTIM_SGD)
    ck_assert_msg(epilogues >= 2, "%s: %d GEMM epilogues", name, epilogues);
  /* attention's dots read the heads' transposes through their operands and
   * write the context straight into its transposed layout */
  int reads = 0, writes = 0;
  for (int i = 0; i < g->nops; i++) {
    reads += fp->thru[i] == PT_THRU_READ;
    writes += fp->thru[i] == PT_THRU_WRITE;
  }
  if (strstr(c->model, "transformer"))
    ck_assert_msg(reads >= 3 && writes >= 1, "%s: dots through %d and %d transposes", name, reads,
                  writes);
  pt_exec_destroy(plain);
  pt_exec_destroy(loops);
  /* a training loop's carry: results handed to the next step's arguments by
   * exchanging buffers equals passing them as arguments */
  {
    pt_tensor **next = pt_calloc((size_t)g->nargs, sizeof *next), **want2, **got2;
    want2 = pt_calloc((size_t)g->nresults, sizeof *want2);
    got2 = pt_calloc((size_t)g->nresults, sizeof *got2);
    int carried = 0;
    for (int j = 0; j < g->nargs; j++) {
      next[j] = args[j];
      for (int i = 0; i < g->nresults; i++)
        if (g->args[j]->name && strcmp(g->results[i].name, g->args[j]->name) == 0)
          next[j] = got[i];
    }
    ck_assert_int_eq(pt_exec_run(e, next, want2, d), PT_OK);
    ck_assert_int_eq(pt_exec_run(e, args, NULL, d), PT_OK);
    for (int j = 0; j < g->nargs; j++)
      for (int i = 0; i < g->nresults; i++)
        if (g->args[j]->name && strcmp(g->results[i].name, g->args[j]->name) == 0) {
          pt_exec_carry(e, i, j);
          carried++;
        }
    ck_assert_int_eq(pt_exec_run(e, NULL, got2, d), PT_OK);
    for (int i = 0; i < g->nresults; i++)
      ck_assert_msg(memcmp(got2[i]->data, want2[i]->data, pt_type_bytes(&got2[i]->type)) == 0,
                    "%s: a carried step differs in %s (%d carried)", name, g->results[i].name,
                    carried);
    ck_assert(carried > 0 || c->optimizer < 0);
    free_tensors(want2, g->nresults);
    free_tensors(got2, g->nresults);
    pt_free(next);
    /* back to the buffers' first arrangement for the checks below */
    for (int j = 0; j < g->nargs; j++)
      for (int i = 0; i < g->nresults; i++)
        if (g->args[j]->name && strcmp(g->results[i].name, g->args[j]->name) == 0)
          pt_exec_carry(e, i, j);
  }
  /* in place: arguments written into their buffers, results read from theirs */
  for (int i = 0; i < g->nargs; i++)
    memcpy(pt_exec_arg_buffer(e, i)->data, args[i]->data, pt_type_bytes(&args[i]->type));
  ck_assert_int_eq(pt_exec_run(e, NULL, NULL, d), PT_OK);
  for (int i = 0; i < f->nresults; i++)
    ck_assert(
        memcmp(pt_exec_result_buffer(e, i)->data, got[i]->data, pt_type_bytes(&got[i]->type)) == 0);
  fprintf(stderr,
          "exec: %s: %d ops, buffers %.2f MB (temporaries %.2f MB), worst relative difference "
          "%.2g (%lld Adam updates near g = 0 excused); interpreter %.3f s, executor %.4f s (first "
          "step %.4f s)\n",
          name, g->nops, (double)pt_exec_peak_bytes(e) / 1e6,
          (double)pt_exec_plan(e)->temp_bytes / 1e6, chk.worst, (long long)chk.excused, t_interp,
          t_exec, t_first);
  free_tensors(got, f->nresults);
  free_tensors(again, f->nresults);
  free_tensors(want, f->nresults);
  free_tensors(args, f->nargs);
  pt_exec_destroy(e);
  pt_module_destroy(m);
  pt_diag_destroy(d);
}
END_TEST

/* Random element-wise programs -- chains through every fusable op, reads
 * of broadcasts (trailing, leading, strided, degenerate, scalar) and splat
 * constants, values leaving a group half-way (for a reduction, or as a
 * result) -- give the same bits fused as op by op, and the interpreter's
 * values. */
/* Runs f on args fused (its plan checked) and op by op (PT_FUSION=0): the
 * results must be the same bits, and within f32 rounding of the
 * interpreter's. Returns the fused plan's temporary bytes. */
static int64_t fused_is_op_by_op(pt_func *f, pt_tensor **args, const char *what) {
  pt_diag *d = pt_diag_create(stderr);
  pt_tensor **fused = pt_calloc((size_t)f->nresults + 1, sizeof *fused),
            **plain = pt_calloc((size_t)f->nresults + 1, sizeof *plain),
            **want = pt_calloc((size_t)f->nresults + 1, sizeof *want);
  pt_exec *e = pt_exec_create(f, NULL, d);
  ck_assert_ptr_nonnull(e);
  check_plan(f, pt_exec_plan(e), what);
  int64_t temp = pt_exec_plan(e)->temp_bytes;
  ck_assert_int_eq(pt_exec_run(e, args, fused, d), PT_OK);
  pt_exec_destroy(e);
  setenv("PT_FUSION", "0", 1);
  e = pt_exec_create(f, NULL, d);
  unsetenv("PT_FUSION");
  ck_assert_int_eq(pt_exec_run(e, args, plain, d), PT_OK);
  pt_exec_destroy(e);
  ck_assert_int_eq(pt_interp_run(f, args, want, d), PT_OK);
  for (int i = 0; i < f->nresults; i++) {
    ck_assert_msg(memcmp(fused[i]->data, plain[i]->data, pt_type_bytes(&plain[i]->type)) == 0,
                  "%s: result %d differs fused and op by op", what, i);
    double rd = rel_diff(fused[i], want[i]);
    ck_assert_msg(rd >= 0 && rd <= 1e-5, "%s: result %d is %g off the interpreter", what, i, rd);
    pt_tensor_destroy(fused[i]);
    pt_tensor_destroy(plain[i]);
    pt_tensor_destroy(want[i]);
  }
  pt_free(fused);
  pt_free(plain);
  pt_free(want);
  pt_diag_destroy(d);
  return temp;
}

START_TEST(fusion_matches_op_by_op) {
  uint64_t r = 0x9e3779b97f4a7c15ull * (uint64_t)(_i + 1);
  char text[16384];
  size_t k = (size_t)snprintf(text, sizeof text,
                              "func @f(input %%a: f32[4,6,5], input %%b: f32[4,6,5], input %%c: "
                              "f32[5], input %%e: f32[4,5], input %%s: f32[], input %%u: "
                              "f32[4,1,5]) -> (r0: f32[4,6,5], r1: f32[4,6,5], r2: f32[]) {\n");
  int n = 2; /* %v0 = a, %v1 = b */
  k += (size_t)snprintf(text + k, sizeof text - k,
                        "  %%v0 = add %%a, %%b : f32[4,6,5]\n  %%v1 = mul %%a, %%b : f32[4,6,5]\n");
  static const char *un[] = {"neg", "exp", "abs", "tanh", "logistic", "log", "sin", "cos"};
  static const char *bin[] = {"add", "sub", "mul", "div", "max", "min"};
  static const char *cmp[] = {"lt", "le", "gt", "ge", "eq", "ne"};
  int nb = 0, npred = 0;
  for (int step = 0; step < 24; step++) {
#define RND(m) ((int)((r = r * 6364136223846793005ull + 1442695040888963407ull) >> 33) % (m))
    int x = RND(n), y = RND(n), kind = RND(9);
    char other[64];
    switch (RND(6)) { /* the second operand */
    case 0:
      snprintf(other, sizeof other, "%%bc%d", nb);
      k += (size_t)snprintf(text + k, sizeof text - k,
                            "  %%bc%d = broadcast %%c {dims = [2]} : f32[4,6,5]\n", nb++);
      break;
    case 1:
      snprintf(other, sizeof other, "%%bc%d", nb);
      k += (size_t)snprintf(text + k, sizeof text - k,
                            "  %%bc%d = broadcast %%e {dims = [0, 2]} : f32[4,6,5]\n", nb++);
      break;
    case 2:
      snprintf(other, sizeof other, "%%bc%d", nb);
      k += (size_t)snprintf(text + k, sizeof text - k,
                            "  %%bc%d = broadcast %%u {dims = [0, 1, 2]} : f32[4,6,5]\n", nb++);
      break;
    case 3:
      snprintf(other, sizeof other, "%%bc%d", nb);
      k += (size_t)snprintf(text + k, sizeof text - k,
                            "  %%bc%d = broadcast %%s {dims = []} : f32[4,6,5]\n", nb++);
      break;
    case 4:
      snprintf(other, sizeof other, "%%bc%d", nb);
      k += (size_t)snprintf(text + k, sizeof text - k,
                            "  %%bc%d = constant {value = %d.5} : f32[4,6,5]\n", nb++, RND(5) - 2);
      break;
    default:
      snprintf(other, sizeof other, "%%v%d", y);
    }
    if (kind < 2)
      k += (size_t)snprintf(text + k, sizeof text - k, "  %%v%d = %s %%v%d : f32[4,6,5]\n", n,
                            un[RND(7)], x);
    else if (kind < 6)
      k += (size_t)snprintf(text + k, sizeof text - k, "  %%v%d = %s %%v%d, %s : f32[4,6,5]\n", n,
                            bin[RND(6)], x, other);
    else if (kind < 7) {
      k += (size_t)snprintf(text + k, sizeof text - k,
                            "  %%p%d = compare %%v%d, %s {dir = %s} : pred[4,6,5]\n"
                            "  %%v%d = select %%p%d, %%v%d, %s : f32[4,6,5]\n",
                            npred, x, other, cmp[RND(6)], n, npred, y, other);
      npred++;
    } else if (kind < 8) { /* a mask as 1.0 and 0.0 */
      k += (size_t)snprintf(text + k, sizeof text - k,
                            "  %%p%d = compare %%v%d, %s {dir = %s} : pred[4,6,5]\n"
                            "  %%v%d = convert %%p%d : f32[4,6,5]\n",
                            npred, x, other, cmp[RND(6)], n, npred);
      npred++;
    } else if (RND(2)) /* a reader outside any group: its operand leaves the group */
      k += (size_t)snprintf(text + k, sizeof text - k,
                            "  %%red%d = reduce_sum %%v%d {dims = [1]} : f32[4,5]\n"
                            "  %%v%d = broadcast %%red%d {dims = [0, 2]} : f32[4,6,5]\n",
                            n, x, n, n);
    else /* a row reduction: it joins its operand's group */
      k += (size_t)snprintf(text + k, sizeof text - k,
                            "  %%red%d = %s %%v%d {dims = [2]} : f32[4,6]\n"
                            "  %%v%d = broadcast %%red%d {dims = [0, 1]} : f32[4,6,5]\n",
                            n, RND(2) ? "reduce_sum" : "reduce_max", x, n, n);
    n++;
#undef RND
  }
  snprintf(text + k, sizeof text - k,
           "  %%sum = reduce_sum %%v%d {dims = [0, 1, 2]} : f32[]\n"
           "  return %%v%d, %%v%d, %%sum\n}\n",
           n - 1, n / 2, n - 1);
  pt_module *m = pt_test_parse_ok(text);
  pt_func *f = m->funcs[0];
  pt_tensor **args = init_args(f, (uint64_t)_i);
  pt_fusion_plan fp;
  pt_plan_fusion(f, true, &fp);
  ck_assert_msg(fp.ngroups > 0, "program %d has nothing to fuse", _i);
  pt_fusion_plan_free(&fp);
  char what[16400];
  snprintf(what, sizeof what, "program %d:\n%s", _i, text);
  fused_is_op_by_op(f, args, what);
  free_tensors(args, f->nargs);
  pt_module_destroy(m);
}
END_TEST

/* dot reads an operand where it lies when each of its groups of dims walks
 * memory with one stride (heads of [b, s, h, d] as strided batch points) and
 * copies it only otherwise; op_kind_matches_interpreter checks the values. */
START_TEST(dot_copies_only_what_it_must) {
  pt_module *m = pt_test_parse_ok(F(
      "input %a: f32[3,4,2,5], input %w: f32[2,5,6], input %g: f32[2,3,4,6], input %t: f32[4,3,5]",
      "r: f32[2,3,4,6], s: f32[2,5,6], u: f32[4,4]",
      "%r = dot %a, %w {lhs_batch = [2], rhs_batch = [0], lhs_contract = [3], "
      "rhs_contract = [1]} : f32[2,3,4,6]\n"
      "%s = dot %a, %g {lhs_batch = [2], rhs_batch = [0], lhs_contract = [0, 1], "
      "rhs_contract = [1, 2]} : f32[2,5,6]\n"
      "%u = dot %t, %t {lhs_contract = [2, 1], rhs_contract = [2, 1]} : f32[4,4]\n"
      "return %r, %s, %u\n"));
  pt_func *f = m->funcs[0];
  pt_exec_gemm g[3];
  for (int i = 0; i < 3; i++)
    ck_assert(pt_exec_dot_gemm(f->ops[i], &g[i]));
  /* r: per head, rows b*s with leading dimension h*d; w as stored */
  ck_assert(g[0].batch == 2 && g[0].m == 12 && g[0].n == 6 && g[0].k == 5);
  ck_assert(!g[0].lhs_copied && !g[0].lhs_trans && !g[0].rhs_copied && !g[0].rhs_trans);
  /* s: a weight gradient, the heads' rows contracted, lhs transposed in place */
  ck_assert(g[1].batch == 2 && g[1].m == 5 && g[1].n == 6 && g[1].k == 12);
  ck_assert(!g[1].lhs_copied && g[1].lhs_trans && !g[1].rhs_copied);
  /* u: contracted dims in reverse order walk memory as no single stride */
  ck_assert(g[2].lhs_copied && g[2].rhs_copied);
  pt_module_destroy(m);
}
END_TEST

/* Runs e and the interpreter on f's init_args(f, seed): every result
 * within 1e-6 (relative) of the interpreter's. */
static void matches_interpreter(pt_exec *e, const pt_func *f, int seed, pt_diag *d) {
  pt_tensor **args = init_args(f, seed);
  pt_tensor **got = pt_calloc((size_t)f->nresults + 1, sizeof *got);
  pt_tensor **ref = pt_calloc((size_t)f->nresults + 1, sizeof *ref);
  ck_assert_int_eq(pt_exec_run(e, args, got, d), PT_OK);
  ck_assert_int_eq(pt_interp_run(f, args, ref, d), PT_OK);
  for (int i = 0; i < f->nresults; i++) {
    double rd = rel_diff(got[i], ref[i]);
    ck_assert_msg(rd >= 0 && rd <= 1e-6, "%s is %g off the interpreter", f->results[i].name, rd);
    pt_tensor_destroy(got[i]);
    pt_tensor_destroy(ref[i]);
  }
  pt_free(got);
  pt_free(ref);
  free_tensors(args, f->nargs);
}

/* The plan's GEMM epilogue groups, in order, are exactly n: the i-th writes
 * %out[i] with alpha[i] and, if nops > 0, has nops members. */
static void expect_epilogues(const pt_fusion_plan *fp, const char *const *out, const float *alpha,
                             int n, int nops) {
  int found = 0;
  for (int k = 0; k < fp->ngroups; k++) {
    const pt_fusion_group *grp = &fp->groups[k];
    if (!grp->dot)
      continue;
    ck_assert_int_lt(found, n);
    ck_assert_msg(strcmp(grp->outputs[0]->name, out[found]) == 0, "epilogue %d writes %%%s", found,
                  grp->outputs[0]->name);
    ck_assert(grp->alpha == alpha[found]);
    ck_assert(nops == 0 || grp->nops == nops);
    found++;
  }
  ck_assert_int_eq(found, n);
}

/* GEMM epilogues (runtime/fusion.h): an SGD-like update of a dot's result
 * runs as one sgemm into the update's buffer, in place when its acc dies
 * there, after a copy when acc is read later, and never in place when the
 * product reads acc itself; a dot with another reader, or a batched one,
 * stays on its own. Within rounding of the interpreter in every case. */
START_TEST(gemm_epilogues) {
  pt_module *m = pt_test_parse_ok(
      F("input %w: f32[8,8], input %v: f32[8,8], input %a: f32[8,4], input %b: f32[4,8], "
        "input %x: f32[2,8,8]",
        "r: f32[8,8], s: f32[8,8], t: f32[8,8], u: f32[8,8], y: f32[2,8,8]",
        "%p = dot %a, %b {lhs_contract = [1], rhs_contract = [0]} : f32[8,8]\n"
        "%c = constant {value = 0.5} : f32[]\n"
        "%cb = broadcast %c {dims = []} : f32[8,8]\n"
        "%m = mul %cb, %p : f32[8,8]\n"
        "%r = sub %w, %m : f32[8,8]\n" /* w is read below: a copy, then sgemm */
        "%ww = transpose %w {perm = [1, 0]} : f32[8,8]\n"
        "%q = dot %ww, %ww {lhs_contract = [0], rhs_contract = [1]} : f32[8,8]\n"
        "%m2 = mul %q, %cb : f32[8,8]\n"
        "%s0 = add %ww, %m2 : f32[8,8]\n" /* the product reads acc: not in place */
        "%s = transpose %s0 {perm = [1, 0]} : f32[8,8]\n"
        "%vv = transpose %v {perm = [1, 0]} : f32[8,8]\n"
        "%n = dot %a, %b {lhs_contract = [1], rhs_contract = [0]} : f32[8,8]\n"
        "%m3 = mul %cb, %n : f32[8,8]\n"
        "%t0 = add %m3, %vv : f32[8,8]\n" /* vv dies here: in place */
        "%t = transpose %t0 {perm = [1, 0]} : f32[8,8]\n"
        "%k = dot %a, %b {lhs_contract = [1], rhs_contract = [0]} : f32[8,8]\n"
        "%m4 = mul %cb, %k : f32[8,8]\n"
        "%u0 = sub %w, %m4 : f32[8,8]\n"
        "%u = add %u0, %k : f32[8,8]\n" /* k has another reader: no epilogue */
        "%z = dot %x, %x {lhs_batch = [0], rhs_batch = [0], lhs_contract = [2], "
        "rhs_contract = [1]} : f32[2,8,8]\n"
        "%cz = broadcast %c {dims = []} : f32[2,8,8]\n"
        "%mz = mul %cz, %z : f32[2,8,8]\n"
        "%y = sub %x, %mz : f32[2,8,8]\n" /* batched: no epilogue */
        "return %r, %s, %t, %u, %y\n"));
  pt_func *f = m->funcs[0];
  pt_diag *d = pt_diag_create(stderr);
  pt_exec *e = pt_exec_create(f, NULL, d);
  ck_assert_ptr_nonnull(e);
  check_plan(f, pt_exec_plan(e), "epilogues");
  expect_epilogues(pt_exec_fusion(e), (const char *[]){"r", "s0", "t0"},
                   (const float[]){-0.5f, 0.5f, 0.5f}, 3, 0);
  /* t0 takes vv's bytes, which die there; s0 not ww's, which its product reads */
  const pt_buffer_plan *bp = pt_exec_plan(e);
  const pt_value *vv = NULL, *t0 = NULL, *ww = NULL, *s0 = NULL;
  for (int i = 0; i < f->nops; i++) {
    const pt_value *x = f->ops[i]->result;
    vv = strcmp(x->name, "vv") == 0 ? x : vv;
    t0 = strcmp(x->name, "t0") == 0 ? x : t0;
    ww = strcmp(x->name, "ww") == 0 ? x : ww;
    s0 = strcmp(x->name, "s0") == 0 ? x : s0;
  }
  ck_assert(vv && t0 && bp->alias[t0->id] == vv->id);
  ck_assert(ww && s0 && bp->alias[s0->id] < 0 && bp->offset[s0->id] != bp->offset[ww->id]);
  matches_interpreter(e, f, 3, d);
  pt_exec_destroy(e);
  pt_diag_destroy(d);
  pt_module_destroy(m);
}
END_TEST

/* GEMM accumulation (runtime/fusion.c sum_epilogue): a sum of dot results
 * going to an op no loop can take it into (here a dot; in a lowered
 * program the all_reduce of a layer's q, k and v input gradients) runs as
 * each dot adding into the last one's bytes, with alpha 1 (or -1 for a
 * difference); a sum a loop reads stays in that loop. Within rounding of
 * the interpreter. */
START_TEST(gemm_accumulation) {
  pt_module *m = pt_test_parse_ok(
      F("input %a: f32[8,4], input %b: f32[4,8], input %c: f32[8,4], input %e: f32[4,8], "
        "input %g: f32[8,4], input %h: f32[4,8], input %w: f32[8,8]",
        "y: f32[8,8], z: f32[8,8]",
        "%p = dot %a, %b {lhs_contract = [1], rhs_contract = [0]} : f32[8,8]\n"
        "%q = dot %c, %e {lhs_contract = [1], rhs_contract = [0]} : f32[8,8]\n"
        "%r = dot %g, %h {lhs_contract = [1], rhs_contract = [0]} : f32[8,8]\n"
        "%pq = add %p, %q : f32[8,8]\n"
        "%s = sub %pq, %r : f32[8,8]\n"
        "%y = dot %s, %w {lhs_contract = [1], rhs_contract = [0]} : f32[8,8]\n"
        "%p2 = dot %a, %b {lhs_contract = [1], rhs_contract = [0]} : f32[8,8]\n"
        "%q2 = dot %c, %e {lhs_contract = [1], rhs_contract = [0]} : f32[8,8]\n"
        "%z0 = add %p2, %q2 : f32[8,8]\n" /* a loop reads it: a loop of its own */
        "%z = mul %z0, %z0 : f32[8,8]\n"
        "return %y, %z\n"));
  pt_func *f = m->funcs[0];
  pt_diag *d = pt_diag_create(stderr);
  pt_exec *e = pt_exec_create(f, NULL, d);
  ck_assert_ptr_nonnull(e);
  check_plan(f, pt_exec_plan(e), "accumulation");
  expect_epilogues(pt_exec_fusion(e), (const char *[]){"pq", "s"}, (const float[]){1.0f, -1.0f},
                   2, 1);
  matches_interpreter(e, f, 5, d);
  pt_exec_destroy(e);
  pt_diag_destroy(d);
  pt_module_destroy(m);
}
END_TEST

/* An op reading two groups merges them into one loop, unless an op outside
 * reads one group's value before it (the merged loop would run too late). */
START_TEST(fusion_merges_operand_groups) {
  static const struct {
    const char *body;
    int groups, members; /* groups, and members of the group of %c */
  } cases[] = {
      {"%a = exp %x : f32[4,8]\n%b = tanh %y : f32[4,8]\n%c = add %a, %b : f32[4,8]\n", 1, 3},
      {"%a = exp %x : f32[4,8]\n%b = tanh %y : f32[4,8]\n"
       "%d = dot %a, %y {lhs_contract = [1], rhs_contract = [1]} : f32[4,4]\n"
       "%c = add %a, %b : f32[4,8]\n",
       2, 2},
      {"%a = exp %x : f32[4,8]\n%a2 = mul %a, %a : f32[4,8]\n%b = tanh %y : f32[4,8]\n"
       "%b2 = sub %b, %a : f32[4,8]\n%c = add %a2, %b2 : f32[4,8]\n",
       1, 5},
  };
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
    char text[1024];
    snprintf(text, sizeof text,
             "func @f(input %%x: f32[4,8], input %%y: f32[4,8]) -> (c: f32[4,8]) {\n%s"
             "  return %%c\n}\n",
             cases[k].body);
    pt_module *m = pt_test_parse_ok(text);
    pt_func *f = m->funcs[0];
    pt_fusion_plan fp;
    pt_plan_fusion(f, true, &fp);
    ck_assert_msg(fp.ngroups == cases[k].groups, "case %zu: %d groups", k, fp.ngroups);
    int gc = fp.group_of[f->nops - 1];
    ck_assert_int_ge(gc, 0);
    ck_assert_msg(fp.groups[gc].nops == cases[k].members, "case %zu: %d members", k,
                  fp.groups[gc].nops);
    for (int j = 1; j < fp.groups[gc].nops; j++)
      ck_assert_int_lt(fp.groups[gc].ops[j - 1], fp.groups[gc].ops[j]);
    pt_fusion_plan_free(&fp);
    /* and it computes what the interpreter does */
    pt_diag *d = pt_diag_create(stderr);
    pt_tensor **args = init_args(f, 5), *got[1], *want[1];
    pt_exec *e = pt_exec_create(f, NULL, d);
    ck_assert_ptr_nonnull(e);
    check_plan(f, pt_exec_plan(e), "merged groups");
    ck_assert_int_eq(pt_exec_run(e, args, got, d), PT_OK);
    ck_assert_int_eq(pt_interp_run(f, args, want, d), PT_OK);
    double rd = rel_diff(got[0], want[0]);
    ck_assert_msg(rd >= 0 && rd <= 1e-5, "case %zu: %g off the interpreter", k, rd);
    pt_tensor_destroy(got[0]);
    pt_tensor_destroy(want[0]);
    free_tensors(args, f->nargs);
    pt_exec_destroy(e);
    pt_diag_destroy(d);
    pt_module_destroy(m);
  }
}
END_TEST

/* Row and column reductions (fusion.h) join the groups computing their
 * operands, and give the executor's own kernels' bits at every row length
 * around the loop's sixteen- and eight-element steps, with NaN,
 * infinities and signed zeros in the rows; a member reading a group's
 * reduction through a broadcast starts another group; PT_ROW_REDUCE=0
 * keeps them alone. */
START_TEST(row_reductions_join_groups) {
  static const int lengths[] = {1, 5, 8, 13, 16, 24, 37, 128};
  for (size_t t = 0; t < sizeof lengths / sizeof lengths[0]; t++) {
    int n = lengths[t];
    char text[2048];
    snprintf(text, sizeof text,
             "func @f(input %%x: f32[4,%d], input %%y: f32[4,%d]) -> (s: f32[4], m: f32[4], "
             "z: f32[4,%d], s2: f32[4], c: f32[%d]) {\n"
             "  %%a = mul %%x, %%y : f32[4,%d]\n"
             "  %%e = exp %%a : f32[4,%d]\n"
             "  %%s = reduce_sum %%e {dims = [1]} : f32[4]\n"
             "  %%m = reduce_max %%a {dims = [1]} : f32[4]\n"
             "  %%c = reduce_sum %%e {dims = [0]} : f32[%d]\n"
             "  %%mb = broadcast %%m {dims = [0]} : f32[4,%d]\n"
             "  %%z = sub %%a, %%mb : f32[4,%d]\n"
             "  %%s2 = reduce_sum %%z {dims = [1]} : f32[4]\n"
             "  return %%s, %%m, %%z, %%s2, %%c\n}\n",
             n, n, n, n, n, n, n, n, n);
    pt_module *m = pt_test_parse_ok(text);
    pt_func *f = m->funcs[0];
    /* ops: a e s m c mb z s2 (c: a column reduction) */
    for (int on = 1; on >= 0; on--) {
      if (!on)
        setenv("PT_ROW_REDUCE", "0", 1);
      pt_fusion_plan fp;
      pt_plan_fusion(f, true, &fp);
      unsetenv("PT_ROW_REDUCE");
      int ga = fp.group_of[0], gs = fp.group_of[2], gm = fp.group_of[3], gc = fp.group_of[4],
          gz = fp.group_of[6], gs2 = fp.group_of[7];
      if (on) {
        ck_assert_msg(ga >= 0 && gs == ga && gm == ga && gc == ga,
                      "n %d: a, s, m, c in groups %d %d %d %d", n, ga, gs, gm, gc);
        ck_assert_msg(gz >= 0 && gz != ga && gs2 == gz, "n %d: z, s2 in groups %d %d", n, gz, gs2);
        ck_assert_int_eq(fp.groups[ga].shape.rank, 2);
        ck_assert_int_eq(fp.groups[ga].shape.dims[1], n);
        for (int k = 0; k < fp.groups[ga].noutputs; k++) /* e is read by s alone */
          ck_assert_ptr_ne(fp.groups[ga].outputs[k], f->ops[1]->result);
      } else {
        ck_assert_msg(gs < 0 && gm < 0 && gs2 < 0 && gc < 0, "n %d: a reduction in a group", n);
      }
      pt_fusion_plan_free(&fp);
    }
    pt_tensor **args = init_args(f, 11 + (uint64_t)n);
    float *x = args[0]->data, *y = args[1]->data;
    x[n / 2] = NAN;               /* row 0: NaN */
    for (int j = 0; j < n; j++) { /* row 1: -0 */
      x[n + j] = -0.0f;
      y[n + j] = 1.0f;
    }
    x[2 * n + n - 1] = INFINITY; /* row 2: +inf at the end; row 3: as drawn */
    y[2 * n + n - 1] = 1.0f;
    char what[64];
    snprintf(what, sizeof what, "row reductions of %d", n);
    fused_is_op_by_op(f, args, what);
    free_tensors(args, f->nargs);
    pt_module_destroy(m);
  }
}
END_TEST

/* Recomputed values (fusion.h): a later group recomputes the cheap
 * values it reads from an earlier one out of what it reads already, and
 * reads the costly tanh instead of recomputing it; the earlier group then
 * stores only what is still read elsewhere, the plan's temporaries
 * shrink, and the bits are those of the op-by-op run; PT_RECOMPUTE=0
 * recomputes nothing. */
START_TEST(groups_recompute_cheap_values) {
  pt_module *m = pt_test_parse_ok(
      "func @f(input %u: f32[16,64], input %w: f32[16,64]) -> (y: f32[16,64], q3: f32[16,64]) "
      "{\n"
      "  %a = mul %u, %u : f32[16,64]\n"
      "  %b = mul %a, %u : f32[16,64]\n"
      "  %t = tanh %b : f32[16,64]\n"
      "  %one = constant {value = 1.0} : f32[16,64]\n"
      "  %s = add %one, %t : f32[16,64]\n"
      "  %y = mul %u, %s : f32[16,64]\n"
      "  %r = reduce_sum %y {dims = [0]} : f32[64]\n"
      "  %rb = broadcast %r {dims = [1]} : f32[16,64]\n"
      "  %q = mul %rb, %s : f32[16,64]\n"
      "  %q2 = mul %q, %a : f32[16,64]\n"
      "  %q3 = add %q2, %u : f32[16,64]\n"
      "  return %y, %q3\n}\n");
  pt_func *f = m->funcs[0];
  /* ops: a b t one s y r rb q q2 q3 */
  int64_t temp[2];
  for (int on = 0; on < 2; on++) {
    if (!on)
      setenv("PT_RECOMPUTE", "0", 1);
    pt_fusion_plan fp;
    pt_plan_fusion(f, true, &fp);
    int g1 = fp.group_of[0], g2 = fp.group_of[8];
    ck_assert_int_ge(g1, 0);
    ck_assert_int_ge(g2, 0);
    ck_assert_int_ne(g1, g2);
    const pt_fusion_group *later = &fp.groups[g2], *earlier = &fp.groups[g1];
    bool has[11] = {false};
    for (int k = 0; k < later->nops; k++)
      has[later->ops[k]] = true;
    bool stores_a = false, stores_s = false, stores_t = false;
    for (int k = 0; k < earlier->noutputs; k++) {
      stores_a |= earlier->outputs[k] == f->ops[0]->result;
      stores_t |= earlier->outputs[k] == f->ops[2]->result;
      stores_s |= earlier->outputs[k] == f->ops[4]->result;
    }
    if (on) {
      ck_assert_msg(has[0] && has[4] && !has[2] && !has[1], "a and s recomputed, t read");
      ck_assert_msg(!stores_a && !stores_s && stores_t, "the earlier group stores t, not a, s");
    } else {
      ck_assert_msg(!has[0] && !has[4] && stores_a && stores_s, "nothing recomputed");
    }
    pt_fusion_plan_free(&fp);
    pt_tensor **args = init_args(f, 3);
    temp[on] = fused_is_op_by_op(f, args, "recomputed values"); /* under that PT_RECOMPUTE */
    unsetenv("PT_RECOMPUTE");
    free_tensors(args, f->nargs);
  }
  ck_assert_msg(temp[1] < temp[0], "temporaries %lld with recomputation, %lld without",
                (long long)temp[1], (long long)temp[0]);
  pt_module_destroy(m);
}
END_TEST

/* Identical loops share their compiled code (runtime/jit.h): two layers'
 * groups, differing only in their buffers, compile once; a third with
 * another constant compiles its own; a second executor of the program
 * compiles nothing and keeps running once the first is gone. */
START_TEST(jit_shares_compiled_loops) {
  pt_module *m = pt_test_parse_ok(
      F("input %x: f32[16,40], input %w: f32[40,40]", "p: f32[16,40], q: f32[16,40], r: f32[16,40]",
        "%h1 = constant {value = 0.5} : f32[16,40]\n"
        "%a1 = mul %x, %h1 : f32[16,40]\n"
        "%t1 = tanh %a1 : f32[16,40]\n"
        "%d1 = dot %t1, %w {lhs_contract = [1], rhs_contract = [0]} : f32[16,40]\n"
        "%h2 = constant {value = 0.5} : f32[16,40]\n"
        "%a2 = mul %d1, %h2 : f32[16,40]\n"
        "%t2 = tanh %a2 : f32[16,40]\n"
        "%d2 = dot %t2, %w {lhs_contract = [1], rhs_contract = [0]} : f32[16,40]\n"
        "%h3 = constant {value = 0.25} : f32[16,40]\n"
        "%a3 = mul %d2, %h3 : f32[16,40]\n"
        "%t3 = tanh %a3 : f32[16,40]\n"
        "return %t1, %t2, %t3\n"));
  pt_func *f = m->funcs[0];
  pt_tensor **args = init_args(f, 5);
  setenv("PT_JIT_CACHE", "1", 1);
  fused_is_op_by_op(f, args, "shared loops"); /* the third layer's constant is its own */
  pt_diag *d = pt_diag_create(stderr);
  pt_tensor *first[3] = {0}, *again[3] = {0};
  pt_exec *e1 = pt_exec_create(f, NULL, d);
  ck_assert_ptr_nonnull(e1);
  ck_assert_int_eq(pt_exec_fusion(e1)->ngroups, 3);
  int compiled, reused;
  pt_exec_jit_counts(e1, &compiled, &reused);
  ck_assert_msg(compiled == 2 && reused == 1, "first executor: %d compiled, %d shared", compiled,
                reused);
  ck_assert_int_eq(pt_exec_run(e1, args, first, d), PT_OK);
  pt_exec *e2 = pt_exec_create(f, NULL, d);
  pt_exec_jit_counts(e2, &compiled, &reused);
  ck_assert_msg(compiled == 0 && reused == 3, "second executor: %d compiled, %d shared", compiled,
                reused);
  pt_exec_destroy(e1); /* e2 still calls the code e1 compiled */
  ck_assert_int_eq(pt_exec_run(e2, args, again, d), PT_OK);
  for (int i = 0; i < 3; i++) {
    ck_assert_msg(memcmp(first[i]->data, again[i]->data, pt_type_bytes(&first[i]->type)) == 0,
                  "result %d differs between the executors", i);
    pt_tensor_destroy(again[i]);
  }
  pt_exec_destroy(e2);
  setenv("PT_JIT_CACHE", "0", 1);
  pt_exec *e3 = pt_exec_create(f, NULL, d);
  unsetenv("PT_JIT_CACHE"); /* on by default */
  pt_exec_jit_counts(e3, &compiled, &reused);
  ck_assert_msg(compiled == 3 && reused == 0, "without the cache: %d compiled, %d shared", compiled,
                reused);
  ck_assert_int_eq(pt_exec_run(e3, args, again, d), PT_OK);
  for (int i = 0; i < 3; i++) {
    ck_assert(memcmp(first[i]->data, again[i]->data, pt_type_bytes(&first[i]->type)) == 0);
    pt_tensor_destroy(first[i]);
    pt_tensor_destroy(again[i]);
  }
  pt_exec_destroy(e3);
  pt_diag_destroy(d);
  free_tensors(args, f->nargs);
  pt_module_destroy(m);
}
END_TEST

/* runtime/vmath.h against the C library in double, rounded to f32 (what
 * the interpreter computes): at most a few ulp over a sweep of every
 * exponent of the f32 range, exact at the special values. */
static int64_t ulps(float a, float b) {
  int32_t x, y;
  memcpy(&x, &a, 4);
  memcpy(&y, &b, 4);
  int64_t ox = x < 0 ? (int64_t)INT32_MIN - x : x, oy = y < 0 ? (int64_t)INT32_MIN - y : y;
  return ox > oy ? ox - oy : oy - ox;
}

START_TEST(vmath_is_within_ulps) {
  int64_t worst[4] = {0, 0, 0, 0};
  float at[4] = {0, 0, 0, 0};
  long n = 0;
  for (uint32_t bits = 0; bits < 0xFF800000u; bits += 1021) {
    for (int sign = 0; sign < 2; sign++) {
      uint32_t b = bits | (sign ? 0x80000000u : 0);
      float x;
      memcpy(&x, &b, 4);
      if (!isfinite(x))
        continue;
      float got[4] = {pt_vexp(x), pt_vtanh(x), pt_vlogistic(x), pt_vlog(x)};
      float want[4] = {(float)exp(x), (float)tanh(x), (float)(1.0 / (1.0 + exp(-(double)x))),
                       (float)log(x)};
      if (x < 0) { /* log: NaN, as the C library's */
        ck_assert_msg(isnan(got[3]), "log(%g) is %g, not NaN", (double)x, (double)got[3]);
        got[3] = want[3] = 0;
      }
      if (x < PT_VEXP_LO) /* flushed to zero below 2^-125 */
        want[0] = 0;
      if (got[2] == 0 && want[2] < 0x1p-125f) /* so is logistic's e^-x beyond the range */
        want[2] = 0;
      for (int k = 0; k < 4; k++) {
        int64_t u = ulps(got[k], want[k]);
        if (u > worst[k]) {
          worst[k] = u;
          at[k] = x;
        }
      }
      n++;
    }
  }
  fprintf(stderr,
          "exec: vmath over %ld f32 values: exp %lld ulp (at %g), tanh %lld (at %g), "
          "logistic %lld (at %g), log %lld (at %g)\n",
          n, (long long)worst[0], (double)at[0], (long long)worst[1], (double)at[1],
          (long long)worst[2], (double)at[2], (long long)worst[3], (double)at[3]);
  ck_assert_msg(worst[0] <= 1 && worst[1] <= 1 && worst[2] <= 2 && worst[3] <= 1,
                "vmath: exp %lld ulp at %g, tanh %lld at %g, logistic %lld at %g, log %lld at %g",
                (long long)worst[0], (double)at[0], (long long)worst[1], (double)at[1],
                (long long)worst[2], (double)at[2], (long long)worst[3], (double)at[3]);
  /* the special values */
  ck_assert(isnan(pt_vexp(NAN)) && isnan(pt_vtanh(NAN)) && isnan(pt_vlogistic(NAN)));
  ck_assert(pt_vexp(INFINITY) == INFINITY && pt_vexp(-INFINITY) == 0 && pt_vexp(0) == 1);
  ck_assert(pt_vtanh(INFINITY) == 1 && pt_vtanh(-INFINITY) == -1);
  ck_assert(pt_vtanh(-0.0f) == 0 && signbit(pt_vtanh(-0.0f)));
  ck_assert(pt_vlogistic(INFINITY) == 1 && pt_vlogistic(-INFINITY) == 0);
  ck_assert(pt_vexp(88.7f) < INFINITY && pt_vexp(89.0f) == INFINITY);
  ck_assert(isnan(pt_vlog(NAN)) && isnan(pt_vlog(-1.0f)) && isnan(pt_vlog(-INFINITY)));
  ck_assert(pt_vlog(0.0f) == -INFINITY && pt_vlog(-0.0f) == -INFINITY);
  ck_assert(pt_vlog(INFINITY) == INFINITY && pt_vlog(1.0f) == 0);
  ck_assert(pt_vlog(0x1p-149f) == (float)log(0x1p-149)); /* the smallest subnormal */
}
END_TEST

/* The temporaries reuse memory: op by op, a long chain of element-wise
 * ops runs in one buffer (each writes over its dying operand); fused, it
 * needs none. */
START_TEST(planner_reuses_memory) {
  char text[4096];
  size_t k = (size_t)snprintf(text, sizeof text,
                              "func @f(input %%a: f32[256]) -> (r: f32[256]) {\n"
                              "  %%v0 = neg %%a : f32[256]\n");
  for (int i = 1; i < 30; i++)
    k += (size_t)snprintf(text + k, sizeof text - k, "  %%v%d = exp %%v%d : f32[256]\n", i, i - 1);
  snprintf(text + k, sizeof text - k, "  %%r = neg %%v29 : f32[256]\n  return %%r\n}\n");
  pt_module *m = pt_test_parse_ok(text);
  pt_buffer_plan p;
  /* op by op (fusion off) */
  setenv("PT_FUSION", "0", 1);
  pt_plan_buffers(m->funcs[0], &p);
  check_plan(m->funcs[0], &p, "chain");
  ck_assert_int_eq(p.temp_bytes, 1024); /* each exp writes over its operand */
  ck_assert_int_eq(p.arg_bytes, 1024);
  ck_assert_int_eq(p.result_bytes, 1024);
  ck_assert_int_eq(p.region[m->funcs[0]->results[0].value->id], PT_BUF_RESULT);
  pt_buffer_plan_free(&p);
  unsetenv("PT_FUSION");
  /* fused: one loop from %a to %r, no temporaries at all */
  pt_plan_buffers(m->funcs[0], &p);
  check_plan(m->funcs[0], &p, "fused chain");
  ck_assert_int_eq(p.temp_bytes, 0);
  ck_assert_int_eq(p.result_bytes, 1024);
  ck_assert_int_eq(p.region[m->funcs[0]->results[0].value->id], PT_BUF_RESULT);
  pt_buffer_plan_free(&p);
  pt_module_destroy(m);
}
END_TEST

/* Views (exec.h): an axis_slice of an argument whose blocks are contiguous
 * is read in place -- no buffer, and the argument is not overwritten by its
 * update (donation) before the view's last reader; along an inner dimension,
 * of a temporary, or returned, it is copied as before. On a mesh of one the
 * block is the whole argument: the executor gives the virtual mesh's bits
 * over carried steps. (The blocks' offsets on several devices are checked
 * under mpirun: tests/mpi_train.sh, the sharded updates.) */
START_TEST(views_read_arguments_in_place) {
  pt_module *m = pt_test_parse_ok(
      "mesh {x = 1}\n\n"
      "func @f(param %w: f32[4,16], input %g: f32[4,16]) -> (w: f32[4,16], r: f32[4,16], "
      "k: f32[4,16]) {\n"
      "  %s = axis_slice %w {dim = 0, axes = [x]} : f32[4,16]\n"
      "  %c = axis_slice %w {dim = 1, axes = [x]} : f32[4,16]\n"
      "  %e = neg %g : f32[4,16]\n"
      "  %t = axis_slice %e {dim = 0, axes = [x]} : f32[4,16]\n"
      "  %k = axis_slice %w {dim = 0, axes = [x]} : f32[4,16]\n"
      "  %a = add %c, %t : f32[4,16]\n"
      "  %u = sub %s, %a : f32[4,16]\n"
      "  %r = mul %s, %t : f32[4,16]\n"
      "  return %u, %r, %k\n}\n");
  pt_func *f = m->funcs[0];
  pt_buffer_plan p;
  pt_plan_buffers(f, &p);
  check_plan(f, &p, "views");
  const char *want[] = {"s", "c", "t", "k"};
  const pt_buf_region region[] = {PT_BUF_VIEW, PT_BUF_TEMP, PT_BUF_TEMP, PT_BUF_RESULT};
  for (int i = 0; i < 4; i++) {
    const pt_op *op = NULL;
    for (int j = 0; j < f->nops; j++)
      if (f->ops[j]->result->name && strcmp(f->ops[j]->result->name, want[i]) == 0)
        op = f->ops[j];
    ck_assert_ptr_nonnull(op);
    ck_assert_msg(p.region[op->result->id] == region[i], "%%%s: region %d, want %d", want[i],
                  p.region[op->result->id], region[i]);
  }
  /* %w is read through %s until %r, after %u: its update is not donated */
  ck_assert_int_eq(p.result_arg[0], -1);
  pt_buffer_plan_free(&p);
  pt_diag *d = pt_diag_create(stderr);
  pt_tensor **args = init_args(f, 5);
  pt_exec *e = pt_exec_create(f, NULL, d);
  ck_assert_ptr_nonnull(e);
  for (int step = 0; step < 3; step++) {
    pt_tensor *ref[3];
    ck_assert_int_eq(pt_vmesh_run(f, args, ref, d), PT_OK);
    ck_assert_int_eq(pt_exec_run(e, step == 0 ? args : NULL, NULL, d), PT_OK);
    for (int i = 0; i < 3; i++)
      ck_assert_msg(memcmp(pt_exec_result_buffer(e, i)->data, ref[i]->data,
                           pt_type_bytes(&ref[i]->type)) == 0,
                    "step %d: result %s differs from the virtual mesh", step, f->results[i].name);
    /* the next step starts from the update: carried by exchanging buffers */
    memcpy(args[0]->data, ref[0]->data, pt_type_bytes(&ref[0]->type));
    pt_exec_carry(e, 0, 0);
    for (int i = 0; i < 3; i++)
      pt_tensor_destroy(ref[i]);
  }
  pt_exec_destroy(e);
  free_tensors(args, f->nargs);
  pt_diag_destroy(d);
  pt_module_destroy(m);
}
END_TEST

/* ---- the planner against the pairwise reference ------------------------- */

/* The placement as the planner first did it: each interval, largest first,
 * against every placed interval live at the same time (quadratic). The
 * planner's interval index must place every buffer exactly here, so plans
 * (and every peak figure built on them) do not move. It reads the plan's
 * own liveness and sizes, and writes into voff (per value) and soff (per
 * op); returns the temporary block's size. */
typedef struct {
  int64_t bytes;
  int first, last, order;
  int64_t *dst;
} ref_item;

static int ref_by_size(const void *a, const void *b) {
  const ref_item *x = a, *y = b;
  if (x->bytes != y->bytes)
    return x->bytes > y->bytes ? -1 : 1;
  if (x->first != y->first)
    return x->first < y->first ? -1 : 1;
  if (x->last != y->last)
    return x->last < y->last ? -1 : 1;
  return x->order < y->order ? -1 : x->order > y->order;
}

static int ref_by_lo(const void *a, const void *b) {
  const int64_t *x = a, *y = b;
  return x[0] < y[0] ? -1 : x[0] > y[0];
}

static int64_t reference_placement(const pt_func *g, const pt_buffer_plan *p, int64_t *voff,
                                   int64_t *soff) {
  ref_item *it = pt_malloc((size_t)(g->nvalues + g->nops + 1) * sizeof *it);
  /* a chain of values written in place is one interval; a value is written
   * at p->first (a fused group's output at the group's last member, maybe
   * after the input it takes over is defined), so chains run in that order */
  int *ord = write_order(g, p);
  int *end = pt_malloc(((size_t)g->nvalues + 1) * sizeof *end);
  for (int i = g->nops - 1; i >= 0; i--) {
    int id = g->ops[ord[i]]->result->id;
    end[id] = p->last[id];
    for (int j = i + 1; j < g->nops; j++)
      if (p->alias[g->ops[ord[j]]->result->id] == id && end[g->ops[ord[j]]->result->id] > end[id])
        end[id] = end[g->ops[ord[j]]->result->id];
  }
  int n = 0;
  for (int i = 0; i < g->nops; i++) {
    int id = g->ops[i]->result->id;
    if (p->region[id] == PT_BUF_TEMP && p->alias[id] < 0) {
      it[n] = (ref_item){p->bytes[id], p->first[id], end[id], n, &voff[id]};
      n++;
    }
    if (p->scratch_bytes[i] > 0) {
      it[n] = (ref_item){p->scratch_bytes[i], i, i, n, &soff[i]};
      n++;
    }
  }
  qsort(it, (size_t)n, sizeof *it, ref_by_size);
  int64_t(*busy)[2] = pt_malloc((size_t)(n + 1) * sizeof *busy);
  int64_t temp = 0;
  for (int k = 0; k < n; k++) {
    int nb = 0;
    for (int j = 0; j < k; j++)
      if (it[j].first <= it[k].last && it[k].first <= it[j].last) {
        busy[nb][0] = *it[j].dst;
        busy[nb++][1] = *it[j].dst + it[j].bytes;
      }
    qsort(busy, (size_t)nb, sizeof *busy, ref_by_lo);
    int64_t at = 0;
    for (int j = 0; j < nb && busy[j][0] < at + it[k].bytes; j++)
      at = busy[j][1] > at ? busy[j][1] : at;
    *it[k].dst = at;
    temp = at + it[k].bytes > temp ? at + it[k].bytes : temp;
  }
  for (int i = 0; i < g->nops; i++) {
    int id = g->ops[ord[i]]->result->id;
    if (p->region[id] == PT_BUF_TEMP && p->alias[id] >= 0)
      voff[id] = voff[p->alias[id]];
  }
  pt_free(ord);
  pt_free(end);
  pt_free(busy);
  pt_free(it);
  return temp;
}

/* Plans g and checks every temporary and scratch offset against the
 * reference; returns the number of intervals compared. */
static int check_plan_matches_reference(const pt_func *g, const char *name) {
  pt_buffer_plan p;
  pt_plan_buffers(g, &p);
  int64_t *voff = pt_calloc((size_t)g->nvalues + 1, sizeof *voff);
  int64_t *soff = pt_calloc((size_t)g->nops + 1, sizeof *soff);
  int64_t temp = reference_placement(g, &p, voff, soff);
  int n = 0;
  for (int i = 0; i < g->nops; i++) {
    int id = g->ops[i]->result->id;
    if (p.region[id] == PT_BUF_TEMP) {
      ck_assert_msg(p.offset[id] == voff[id], "%s: value %d (op %d) at %lld, reference %lld", name,
                    id, i, (long long)p.offset[id], (long long)voff[id]);
      n++;
    }
    if (p.scratch_bytes[i] > 0) {
      ck_assert_msg(p.scratch_offset[i] == soff[i], "%s: op %d's scratch at %lld, reference %lld",
                    name, i, (long long)p.scratch_offset[i], (long long)soff[i]);
      n++;
    }
  }
  ck_assert_msg(p.temp_bytes == temp, "%s: temporaries %lld, reference %lld", name,
                (long long)p.temp_bytes, (long long)temp);
  pt_free(voff);
  pt_free(soff);
  pt_buffer_plan_free(&p);
  return n;
}

static uint64_t xorshift(uint64_t *s) {
  *s ^= *s << 13;
  *s ^= *s >> 7;
  *s ^= *s << 17;
  return *s;
}

/* A random program of about nops ops over f32 vectors whose live ranges mix
 * the short (read by the next few ops), the long (read by a random later
 * op) and the very long (the first values, read throughout), with sizes
 * drawn from a few lengths (so ties are common) and reduce_sum's scratch. */
static pt_module *random_planner_program(uint64_t seed, int nops) {
  pt_module *m = pt_module_create("planner");
  pt_func *f = pt_func_create(m, "f", PT_NOLOC);
  int64_t n0 = 256;
  pt_value *a = pt_func_add_arg(f, "a", PT_ROLE_INPUT, pt_type_make(PT_F32, 1, &n0), PT_NOLOC);
  pt_value *z = pt_func_add_arg(f, "z", PT_ROLE_INPUT, pt_type_make(PT_F32, 0, NULL), PT_NOLOC);
  pt_builder b = {f, PT_NOLOC};
  static const int64_t lens[] = {1, 16, 16, 48, 64, 100, 256, 256, 1000, 3000};
  int nlens = (int)(sizeof lens / sizeof lens[0]), nv = 0, cap = nops + 2;
  pt_value **vals = pt_malloc((size_t)cap * sizeof *vals);
  vals[nv++] = a;
  uint64_t s = seed * 0x9E3779B97F4A7C15ull + 1;
  while (f->nops < nops && nv < cap) {
    uint64_t r = xorshift(&s);
    int j = r % 8 < 5   ? nv - 1 - (int)((r >> 8) % (uint64_t)(nv < 3 ? nv : 3))
            : r % 8 < 7 ? (int)((r >> 8) % (uint64_t)nv)
                        : (int)((r >> 8) % (uint64_t)(nv < 4 ? nv : 4));
    pt_value *x = vals[j], *y;
    int64_t len = x->type.dims[0], zero = 0, one = 1, dims2[2];
    int64_t want = lens[(r >> 20) % (uint64_t)nlens];
    switch ((r >> 32) % 8) {
    case 0: /* reduce_sum over a broadcast: scratch of 8 bytes an element */
      dims2[0] = len;
      dims2[1] = 2;
      y = pt_b_broadcast(&b, x, &zero, pt_type_make(PT_F32, 2, dims2));
      y = pt_b_reduce(&b, PT_OP_REDUCE_SUM, y, &one, 1);
      break;
    case 1: { /* reading two values */
      pt_value *xs[2] = {x, vals[(r >> 40) % (uint64_t)nv]};
      if (len + xs[1]->type.dims[0] <= 4096) {
        y = pt_b_concat(&b, xs, 2, 0);
        break;
      }
    }
      /* fall through */
    default:
      if (want <= len) {
        y = pt_b_slice(&b, x, &zero, &want, NULL);
      } else {
        int64_t high = want - len;
        y = pt_b_pad(&b, x, z, &zero, &high, NULL);
      }
    }
    vals[nv++] = y;
  }
  pt_func_add_result(f, "r", vals[nv - 1]->type, vals[nv - 1], PT_NOLOC);
  pt_value *mid = vals[1 + (int)(xorshift(&s) % (uint64_t)(nv - 1))];
  pt_func_add_result(f, "s", mid->type, mid, PT_NOLOC);
  pt_free(vals);
  return m;
}

START_TEST(planner_matches_reference_on_random_programs) {
  pt_diag *d = pt_diag_create(stderr);
  int compared = 0;
  double t0 = now();
  for (int c = 0; c < 300; c++) {
    int nops = c < 290 ? 5 + c : 1000 + 100 * (c - 290);
    pt_module *m = random_planner_program((uint64_t)c + 1, nops);
    ck_assert_int_eq(pt_verify_module(m, d), PT_OK);
    char name[64];
    snprintf(name, sizeof name, "random program %d (%d ops)", c, m->funcs[0]->nops);
    compared += check_plan_matches_reference(m->funcs[0], name);
    if (c % 50 == 7) {
      pt_buffer_plan p;
      pt_plan_buffers(m->funcs[0], &p);
      check_plan(m->funcs[0], &p, name);
      pt_buffer_plan_free(&p);
    }
    pt_module_destroy(m);
  }
  ck_assert_int_gt(compared, 10000);
  fprintf(stderr,
          "exec: planner: %d intervals of 300 random programs placed as the reference "
          "places them (%.2f s)\n",
          compared, now() - t0);
  pt_diag_destroy(d);
}
END_TEST

/* Every function of the example programs, their adam train_steps, and the
 * steps lowered under every example script on its own mesh. */
static const char *const planner_programs[] = {
    "examples/mlp.pir",
    "examples/transformer_block.pir",
    "tests/data/every_op.pir",
    "tests/data/tiny_transformer_block.pir",
};

static const char *const planner_scripts[][2] = {
    {"examples/mlp.pir", "examples/mlp.bp.yaml"},
    {"examples/mlp.pir", "examples/mlp.bp_mp.yaml"},
    {"examples/mlp.pir", "examples/mlp.bp_z3.yaml"},
    {"examples/mlp.pir", "examples/mlp.mp.yaml"},
    {"examples/transformer_block.pir", "examples/transformer_block.bp.yaml"},
    {"examples/transformer_block.pir", "examples/transformer_block.bp_mp.yaml"},
    {"examples/transformer_block.pir", "examples/transformer_block.bp_z3.yaml"},
    {"examples/transformer_block.pir", "examples/transformer_block.mp.yaml"},
};

START_TEST(planner_matches_reference_on_examples) {
  pt_diag *d = pt_diag_create(stderr);
  char name[512];
  int compared = 0;
  double t0 = now();
  for (size_t c = 0; c < sizeof planner_programs / sizeof planner_programs[0]; c++) {
    char *path = pt_test_path(planner_programs[c]);
    pt_module *m = pt_parse_file(path, d);
    ck_assert_ptr_nonnull(m);
    ck_assert_int_eq(pt_verify_module(m, d), PT_OK);
    for (int i = 0; i < m->nfuncs; i++) {
      snprintf(name, sizeof name, "%s @%s", planner_programs[c], m->funcs[i]->name);
      compared += check_plan_matches_reference(m->funcs[i], name);
    }
    pt_module_destroy(m);
    pt_free(path);
  }
  for (size_t c = 0; c < sizeof planner_scripts / sizeof planner_scripts[0]; c++) {
    char *path = pt_test_path(planner_scripts[c][0]), *spath = pt_test_path(planner_scripts[c][1]);
    pt_module *m = pt_parse_file(path, d);
    ck_assert_ptr_nonnull(m);
    pt_optimizer opt = pt_optimizer_default(PT_OPTIM_ADAM);
    pt_func *f = NULL, *g = NULL;
    ck_assert_int_eq(pt_pass_train_step(m, "loss", &opt, NULL, &f, d), PT_OK);
    snprintf(name, sizeof name, "%s @train_step", planner_scripts[c][0]);
    compared += check_plan_matches_reference(f, name);
    pt_schedule *s = pt_schedule_read(spath, d);
    ck_assert_ptr_nonnull(s);
    ck_assert_int_eq(pt_schedule_set_mesh(m, s, d), PT_OK);
    ck_assert_int_eq(pt_schedule_apply(f, s, NULL, d), PT_OK);
    ck_assert_int_eq(pt_pass_lower(m, f, NULL, &g, d), PT_OK);
    snprintf(name, sizeof name, "%s @train_step lowered by %s", planner_scripts[c][0],
             planner_scripts[c][1]);
    compared += check_plan_matches_reference(g, name);
    pt_schedule_destroy(s);
    pt_module_destroy(m);
    pt_free(path);
    pt_free(spath);
  }
  fprintf(stderr,
          "exec: planner: %d intervals of the examples placed as the reference places them "
          "(%.2f s)\n",
          compared, now() - t0);
  pt_diag_destroy(d);
}
END_TEST

int main(void) {
  Suite *s = suite_create("exec");
  TCase *tc = tcase_create("exec");
  tcase_set_timeout(tc, 600);
  tcase_add_loop_test(tc, op_kind_matches_interpreter, 0,
                      (int)(sizeof op_cases / sizeof op_cases[0]));
  tcase_add_test(tc, op_cases_cover_the_table);
  tcase_add_loop_test(tc, fusion_matches_op_by_op, 0, 40);
  tcase_add_test(tc, fusion_merges_operand_groups);
  tcase_add_test(tc, row_reductions_join_groups);
  tcase_add_test(tc, groups_recompute_cheap_values);
  tcase_add_test(tc, jit_shares_compiled_loops);
  tcase_add_test(tc, dot_copies_only_what_it_must);
  tcase_add_test(tc, gemm_epilogues);
  tcase_add_test(tc, gemm_accumulation);
  tcase_add_test(tc, vmath_is_within_ulps);
  tcase_add_test(tc, runtime_errors_are_reported);
  tcase_add_test(tc, collectives_on_one_device);
  tcase_add_test(tc, planner_reuses_memory);
  tcase_add_test(tc, views_read_arguments_in_place);
  tcase_add_test(tc, planner_matches_reference_on_random_programs);
  tcase_add_test(tc, planner_matches_reference_on_examples);
  tcase_add_loop_test(tc, model_matches_interpreter, 0, (int)(sizeof models / sizeof models[0]));
  suite_add_tcase(s, tc);
  return pt_test_main(s);
}
