/* Inlining: replaces every `call` by a copy of its callee's body, so that
 * autodiff, tactics, lowering and the simulator see one flat function.
 *
 * Requires: a verified module (calls match their callees; nothing recurses).
 * Provides: no function of the module holds a call. Every function stays
 * (a block can still be run or inspected alone), each now flat. A value
 * copied from a callee is named after the call site: `%q` of @block called
 * as `%layers.3 = call @block(...)` becomes `layers.3/q`, and nested calls
 * give `layers.3/attn/q`; a call's results keep the call's names. Copied
 * ops and values keep their location in the callee, with `via` leading to
 * the call (and on to outer calls), so messages point at both.
 * Warns (never fails) about a function that is never called in a module
 * that has calls, other than the entry (`entry`, else "loss").
 * Breaks: value ids keep gaps where calls were (as DCE leaves them). */
#include <stdio.h>
#include <string.h>

#include "build.h"
#include "passes.h"
#include "sharding.h"
#include "strmap.h"

typedef struct {
  pt_module *m;
  int *state; /* per function index: 0 not yet flat, 1 in progress, 2 flat */
} inliner;

static int func_index(const pt_module *m, const char *name) {
  for (int i = 0; i < m->nfuncs; i++)
    if (strcmp(m->funcs[i]->name, name) == 0)
      return i;
  return -1;
}

/* The copy of chain `via` (from an op of the callee) with `call` appended:
 * ops of one callee share few distinct chains, so copies are memoised in
 * from[]/to[] for the duration of one call. */
typedef struct {
  const pt_loc *from[32];
  const pt_loc *to[32];
  int n;
} chain_memo;

static const pt_loc *extend_chain(pt_module *m, const pt_loc *via, const pt_loc *call,
                                  chain_memo *memo) {
  if (!via)
    return call;
  for (int i = 0; i < memo->n; i++)
    if (memo->from[i] == via)
      return memo->to[i];
  pt_loc *c = pt_arena_memdup(m->arena, via, sizeof *via);
  c->via = extend_chain(m, via->via, call, memo);
  if (memo->n < 32) {
    memo->from[memo->n] = via;
    memo->to[memo->n++] = c;
  }
  return c;
}

static const char *prefixed(pt_module *m, const char *prefix, const char *name) {
  size_t n = strlen(prefix) + strlen(name) + 2;
  char *s = pt_arena_alloc(m->arena, n);
  snprintf(s, n, "%s/%s", prefix, name);
  return s;
}

/* The name the call's copies are prefixed with: its first result's name,
 * else "<callee>.<k>" with the first k no value of f uses. */
static const char *call_prefix(pt_module *m, const pt_func *f, const pt_op *call,
                               pt_strmap *used) {
  if (call->results[0]->name)
    return call->results[0]->name;
  char buf[256];
  for (int k = 1;; k++) {
    snprintf(buf, sizeof buf, "%s.%d", call->callee, k);
    if (!pt_strmap_get(used, buf, strlen(buf))) {
      const char *s = pt_arena_strdup(m->arena, buf);
      pt_strmap_put(used, s, (void *)f);
      return s;
    }
  }
}

static void flatten(inliner *in, int fi);

/* Appends a copy of callee's body to f for `call`, whose operands are
 * already substituted in ops[]; repl[] receives the copies of the call's
 * results (by the call results' ids). */
static void inline_call(inliner *in, pt_func *f, const pt_op *call, pt_value *const *operands,
                        const pt_func *callee, const char *prefix, pt_value **repl) {
  pt_module *m = in->m;
  pt_value **map = pt_calloc((size_t)callee->nvalues + 1, sizeof *map);
  for (int i = 0; i < callee->nargs; i++)
    map[callee->args[i]->id] = operands[i];
  const pt_loc *call_loc = pt_arena_memdup(m->arena, &call->loc, sizeof call->loc);
  chain_memo memo = {.n = 0};
  pt_builder b = {f, call->loc};
  int maxops = 1;
  for (int i = 0; i < callee->nops; i++)
    if (callee->ops[i]->noperands > maxops)
      maxops = callee->ops[i]->noperands;
  pt_value **ops = pt_malloc((size_t)maxops * sizeof *ops);
  for (int i = 0; i < callee->nops; i++) {
    const pt_op *op = callee->ops[i];
    PT_ASSERT(op->code != PT_OP_CALL); /* the callee is flat already */
    for (int k = 0; k < op->noperands; k++)
      ops[k] = map[op->operands[k]->id];
    pt_value *v = pt_b_clone(&b, op, ops);
    pt_op *copy = v->def;
    copy->loc = op->loc;
    copy->loc.via = extend_chain(m, op->loc.via, call_loc, &memo);
    for (int k = 0; k < copy->nattrs; k++)
      copy->attrs[k].loc.via = copy->loc.via;
    const pt_value *src = op->result;
    v->loc = src->loc;
    v->loc.via = extend_chain(m, src->loc.via, call_loc, &memo);
    if (src->name)
      v->name = prefixed(m, prefix, src->name);
    if (src->sharding)
      v->sharding = pt_arena_memdup(m->arena, src->sharding, sizeof *src->sharding);
    map[src->id] = v;
  }
  for (int i = 0; i < call->nresults; i++) {
    pt_value *v = map[callee->results[i].value->id];
    pt_value *r = call->results[i];
    /* the copy of a computed result takes the call's name (once: a value
     * returned twice, or an argument returned as it is, keeps its own) */
    bool named_before = false;
    for (int k = 0; k < i; k++)
      named_before |= repl[call->results[k]->id] == v;
    if (v->def && !named_before) {
      bool is_operand = false;
      for (int k = 0; k < call->noperands; k++)
        is_operand |= operands[k] == v;
      if (!is_operand) {
        v->name = r->name;
        v->loc = r->loc;
        if (r->sharding)
          v->sharding = r->sharding;
      }
    }
    repl[r->id] = v;
  }
  pt_free(ops);
  pt_free(map);
}

/* Makes function fi flat, flattening its callees first. */
static void flatten(inliner *in, int fi) {
  if (in->state[fi] == 2)
    return;
  PT_ASSERT(in->state[fi] == 0); /* the verifier rejects recursion */
  in->state[fi] = 1;
  pt_func *f = in->m->funcs[fi];
  bool has_call = false;
  for (int i = 0; i < f->nops; i++)
    if (f->ops[i]->code == PT_OP_CALL) {
      has_call = true;
      int ci = func_index(in->m, f->ops[i]->callee);
      PT_ASSERT(ci >= 0);
      flatten(in, ci);
    }
  if (!has_call) {
    in->state[fi] = 2;
    return;
  }
  pt_strmap used = {0};
  for (int i = 0; i < f->nargs; i++)
    pt_strmap_put(&used, f->args[i]->name, f->args[i]);
  for (int i = 0; i < f->nops; i++)
    for (int r = 0; r < pt_op_nresults(f->ops[i]); r++) {
      pt_value *v = pt_op_result(f->ops[i], r);
      if (v->name)
        pt_strmap_put(&used, v->name, v);
    }
  /* ops are rebuilt in order: plain ops move over with their operands
   * substituted, calls are replaced by their callee's copies */
  pt_op **old = f->ops;
  int nold = f->nops;
  f->ops = NULL;
  f->nops = f->capops = 0;
  pt_value **repl = pt_calloc((size_t)f->nvalues + 1, sizeof *repl);
  for (int i = 0; i < nold; i++) {
    pt_op *op = old[i];
    for (int k = 0; k < op->noperands; k++)
      if (op->operands[k]->id < f->nvalues && repl[op->operands[k]->id])
        op->operands[k] = repl[op->operands[k]->id];
    if (op->code != PT_OP_CALL) {
      PT_GROW(f->ops, f->capops, (size_t)f->nops + 1);
      f->ops[f->nops++] = op;
      continue;
    }
    const pt_func *callee = in->m->funcs[func_index(in->m, op->callee)];
    size_t nrepl = (size_t)f->nvalues;
    inline_call(in, f, op, op->operands, callee, call_prefix(in->m, f, op, &used), repl);
    /* values made by the copy have ids past the old end: grow repl */
    if ((size_t)f->nvalues > nrepl) {
      repl = pt_realloc(repl, ((size_t)f->nvalues + 1) * sizeof *repl);
      memset(repl + nrepl, 0, ((size_t)f->nvalues + 1 - nrepl) * sizeof *repl);
    }
  }
  for (int i = 0; i < f->nresults; i++) {
    pt_value *v = f->results[i].value;
    if (v && repl[v->id])
      f->results[i].value = repl[v->id];
  }
  pt_free(repl);
  pt_free(old);
  pt_strmap_clear(&used);
  in->state[fi] = 2;
}

pt_status pt_pass_inline(pt_module *m, const char *entry, pt_diag *d) {
  bool *called = pt_calloc((size_t)m->nfuncs + 1, sizeof *called);
  bool any = false;
  for (int i = 0; i < m->nfuncs; i++)
    for (int k = 0; k < m->funcs[i]->nops; k++) {
      const pt_op *op = m->funcs[i]->ops[k];
      if (op->code != PT_OP_CALL)
        continue;
      int ci = func_index(m, op->callee);
      if (ci < 0) {
        pt_diag_error(d, op->loc, "call of unknown function '@%s'", op->callee);
        pt_free(called);
        return PT_ERR;
      }
      called[ci] = any = true;
    }
  if (any) {
    const char *e = entry ? (entry[0] == '@' ? entry + 1 : entry) : "loss";
    int ei = func_index(m, e);
    for (int i = 0; ei >= 0 && i < m->nfuncs; i++)
      if (!called[i] && i != ei)
        pt_diag_report(d, PT_SEV_WARNING, m->funcs[i]->loc,
                       "function '@%s' is never called (the entry is '@%s')",
                       m->funcs[i]->name, m->funcs[ei]->name);
  }
  pt_free(called);
  inliner in = {m, pt_calloc((size_t)m->nfuncs + 1, sizeof(int))};
  for (int i = 0; i < m->nfuncs; i++)
    flatten(&in, i);
  pt_free(in.state);
  return PT_OK;
}
