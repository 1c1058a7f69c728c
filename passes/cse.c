/* Common-subexpression elimination: an op with the same opcode, operands,
 * attributes and result type as an earlier op is replaced by the earlier
 * op's result everywhere. Constants with equal values merge too. Requires:
 * verified IR (no op in this IR has side effects). Provides: no two ops
 * compute the same thing. Breaks: the merged ops become dead; run pt_pass_dce
 * after it. A named value that is merged into an unnamed one gives it its
 * name. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "passes.h"
#include "strmap.h"

/* A key describing what op computes, given its (already replaced) operands. */
static void write_aval(FILE *out, const pt_aval *v) {
  switch (v->kind) {
  case PT_AV_INT:
    fprintf(out, "i%lld", (long long)v->i);
    return;
  case PT_AV_FLOAT:
    fprintf(out, "f%a", v->f);
    return;
  case PT_AV_IDENT:
    fprintf(out, "s%s", v->s);
    return;
  case PT_AV_LIST:
    fputc('[', out);
    for (int i = 0; i < v->n; i++) {
      write_aval(out, &v->items[i]);
      fputc(',', out);
    }
    fputc(']', out);
    return;
  }
}

static char *op_key(const pt_op *op, pt_value *const *repl) {
  char *buf = NULL;
  size_t n = 0;
  FILE *out = open_memstream(&buf, &n);
  PT_ASSERT(out);
  char tb[PT_TYPE_STRLEN];
  fprintf(out, "%d:%s(", (int)op->code, pt_type_str(&op->result->type, tb, sizeof tb));
  for (int k = 0; k < op->noperands; k++)
    fprintf(out, "%d,", repl[op->operands[k]->id]->id);
  fputc(')', out);
  /* attributes in a fixed order (by key), so the order they were set in
   * does not matter */
  for (int key = 0; key < PT_ATTR_COUNT; key++) {
    const pt_attr *a = pt_op_attr(op, (pt_attrkey)key);
    if (a) {
      fprintf(out, "%d=", key);
      write_aval(out, &a->val);
      fputc(';', out);
    }
  }
  fclose(out);
  return buf; /* from open_memstream: free() */
}

static void cse_func(pt_func *f) {
  pt_value **repl = pt_calloc((size_t)f->nvalues + 1, sizeof *repl);
  for (int i = 0; i < f->nargs; i++)
    repl[f->args[i]->id] = f->args[i];
  pt_strmap seen = {0};
  char **keys = pt_calloc((size_t)f->nops + 1, sizeof *keys);
  for (int i = 0; i < f->nops; i++) {
    pt_op *op = f->ops[i];
    for (int k = 0; k < op->noperands; k++)
      op->operands[k] = repl[op->operands[k]->id];
    keys[i] = op_key(op, repl);
    pt_value *prev = pt_strmap_get(&seen, keys[i], strlen(keys[i]));
    if (prev) {
      repl[op->result->id] = prev;
      if (!prev->name && op->result->name)
        prev->name = op->result->name;
    } else {
      repl[op->result->id] = op->result;
      pt_strmap_put(&seen, keys[i], op->result);
    }
  }
  for (int i = 0; i < f->nresults; i++)
    f->results[i].value = repl[f->results[i].value->id];
  pt_strmap_clear(&seen);
  for (int i = 0; i < f->nops; i++)
    free(keys[i]);
  pt_free(keys);
  pt_free(repl);
}

pt_status pt_pass_cse(pt_module *m, pt_diag *d) {
  (void)d;
  for (int i = 0; i < m->nfuncs; i++)
    cse_func(m->funcs[i]);
  return PT_OK;
}
