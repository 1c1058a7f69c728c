/* Dead-code elimination: removes every op that no function result depends
 * on. Requires: verified IR. Provides: every op's result is used, directly
 * or through others, by a result. Breaks nothing (value ids keep gaps). */
#include "passes.h"

static void dce_func(pt_func *f) {
  bool *live = pt_calloc((size_t)f->nvalues + 1, sizeof *live);
  for (int i = 0; i < f->nresults; i++)
    live[f->results[i].value->id] = true;
  for (int i = f->nops - 1; i >= 0; i--) {
    const pt_op *op = f->ops[i];
    if (!live[op->result->id])
      continue;
    for (int k = 0; k < op->noperands; k++)
      live[op->operands[k]->id] = true;
  }
  int n = 0;
  for (int i = 0; i < f->nops; i++) {
    pt_op *op = f->ops[i];
    if (live[op->result->id]) {
      f->ops[n++] = op;
    } else {
      pt_free(op->attrs); /* the op itself lives in the arena */
      op->attrs = NULL;
      op->nattrs = 0;
    }
  }
  f->nops = n;
  pt_free(live);
}

pt_status pt_pass_dce(pt_module *m, pt_diag *d) {
  (void)d;
  for (int i = 0; i < m->nfuncs; i++)
    dce_func(m->funcs[i]);
  return PT_OK;
}
