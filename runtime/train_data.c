/* Synthetic data sources for the training loop (train.h, pt_train_data):
 * the fixed random teacher, whose targets a student of the same shape can
 * fit, so that a run on made-up data shows the loss falling. */
#include "build.h"
#include "train_impl.h"

static bool depends_on_param(const pt_value *v, bool *memo, bool *seen) {
  if (seen[v->id])
    return memo[v->id];
  seen[v->id] = true;
  bool r = false;
  if (!v->def)
    r = v->role == PT_ROLE_PARAM;
  else
    for (int k = 0; k < v->def->noperands && !r; k++)
      r = depends_on_param(v->def->operands[k], memo, seen);
  memo[v->id] = r;
  return r;
}

/* For an input compared (by `sub`) with a value computed from the params --
 * the model's prediction -- returns that prediction; NULL if none. */
static const pt_value *prediction_for(const pt_func *f, const pt_value *input) {
  bool *memo = pt_calloc((size_t)f->nvalues + 1, 1), *seen = pt_calloc((size_t)f->nvalues + 1, 1);
  const pt_value *p = NULL;
  for (int i = 0; i < f->nops && !p; i++) {
    const pt_op *op = f->ops[i];
    if (op->code != PT_OP_SUB)
      continue;
    for (int k = 0; k < 2; k++)
      if (op->operands[k] == input && pt_type_equal(&op->operands[1 - k]->type, &input->type) &&
          depends_on_param(op->operands[1 - k], memo, seen))
        p = op->operands[1 - k];
  }
  pt_free(memo);
  pt_free(seen);
  return p;
}

/* Whether v is x, or x broadcast. */
static bool is_or_broadcasts(const pt_value *v, const pt_value *x) {
  return v == x || (v->def && v->def->code == PT_OP_BROADCAST && v->def->operands[0] == x);
}

/* For labels of a cross-entropy -- an i32 input compared for equality with
 * an iota (a one-hot over the vocabulary) -- the token input they belong
 * to: another i32 input of the same shape that indexes a table by `take`.
 * NULL if input is no such label. */
static const pt_value *tokens_for(const pt_func *f, const pt_value *input) {
  if (input->type.dtype != PT_I32)
    return NULL;
  bool one_hot = false;
  for (int i = 0; i < f->nops && !one_hot; i++) {
    const pt_op *op = f->ops[i];
    if (op->code != PT_OP_COMPARE)
      continue;
    for (int k = 0; k < 2; k++)
      if (is_or_broadcasts(op->operands[k], input) && op->operands[1 - k]->def &&
          op->operands[1 - k]->def->code == PT_OP_IOTA)
        one_hot = true;
  }
  if (!one_hot)
    return NULL;
  for (int i = 0; i < f->nops; i++) {
    const pt_op *op = f->ops[i];
    const pt_value *t = op->code == PT_OP_TAKE ? op->operands[1] : NULL;
    if (t && t != input && !t->def && t->role == PT_ROLE_INPUT &&
        pt_type_equal(&t->type, &input->type))
      return t;
  }
  return NULL;
}

static int64_t gcd64(int64_t a, int64_t b) { return b ? gcd64(b, a % b) : a; }

/* Labels that a language model can learn: label = (5 t + 1) mod V of the
 * token t at the same position (5 replaced by the next number coprime to the
 * vocabulary V), a fixed permutation of the vocabulary. The tokens are the
 * seeded ones the loop gives the token input. */
static pt_tensor *permuted_tokens(const pt_func *f, const pt_value *labels,
                                  const pt_value *tokens, uint64_t seed) {
  pt_init_spec ls = pt_init_spec_for(f, labels, seed);
  int64_t v = ls.bound, a = 5;
  while (v > 1 && gcd64(a, v) != 1)
    a++;
  pt_init_spec ts = pt_init_spec_for(f, tokens, seed);
  pt_tensor *out = pt_tensor_create(labels->type);
  int64_t n = pt_type_numel(&labels->type);
  for (int64_t i = 0; i < n; i++) {
    int64_t t = (int64_t)pt_init_value(&ts, i);
    pt_tensor_set(out, i, (double)((a * t + 1) % v));
  }
  return out;
}

/* The teacher's prediction for input y of f: the ops computing the
 * prediction, run with params from a different seed and the same other
 * inputs. Labels of a cross-entropy get permuted_tokens instead. */
pt_tensor *pt_train_data_teacher(void *ctx, const pt_func *f, const pt_value *y, uint64_t seed) {
  (void)ctx;
  const pt_value *tokens = tokens_for(f, y);
  if (tokens)
    return permuted_tokens(f, y, tokens, seed);
  const pt_value *pred = prediction_for(f, y);
  if (!pred)
    return NULL;
  pt_module *m = pt_module_create(f->module->file);
  pt_func *g = pt_func_create(m, "teacher", f->loc);
  pt_value **map = pt_calloc((size_t)f->nvalues + 1, sizeof *map);
  for (int i = 0; i < f->nargs; i++)
    map[f->args[i]->id] =
        pt_func_add_arg(g, f->args[i]->name, f->args[i]->role, f->args[i]->type, f->args[i]->loc);
  pt_builder b = {g, f->loc};
  pt_value *ops[64];
  for (int i = 0; i < f->nops; i++) {
    const pt_op *op = f->ops[i];
    PT_ASSERT(op->noperands <= 64);
    for (int k = 0; k < op->noperands; k++)
      ops[k] = map[op->operands[k]->id];
    map[op->result->id] = pt_b_clone(&b, op, ops);
    if (op->result == pred)
      break;
  }
  pt_func_add_result(g, "prediction", pred->type, map[pred->id], pred->loc);
  pt_tensor **args = pt_calloc((size_t)g->nargs + 1, sizeof *args);
  for (int i = 0; i < f->nargs; i++) {
    const pt_value *a = f->args[i];
    /* the teacher's own weights; the inputs are the student's */
    uint64_t s = a->role == PT_ROLE_PARAM ? seed ^ 0x7eac4e57eac4e5ull : seed;
    pt_init_spec sp = pt_init_spec_for(f, a, s);
    args[i] = pt_init_tensor(&sp, a->type);
  }
  pt_tensor *out = NULL;
  pt_diag *d = pt_diag_create(NULL);
  if (pt_interp_run(g, args, &out, d) != PT_OK)
    out = NULL;
  pt_diag_destroy(d);
  for (int i = 0; i < g->nargs; i++)
    pt_tensor_destroy(args[i]);
  pt_free(args);
  pt_free(map);
  pt_module_destroy(m);
  return out;
}
