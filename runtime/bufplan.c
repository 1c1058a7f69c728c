/* The buffer planner (see exec.h): where every value of a function lives,
 * by liveness. Pure, so the runtime's executor and the cost simulator share
 * it and agree on peak memory to the byte. */
#include <stdlib.h>
#include <string.h>

#include "exec.h"

static int64_t round64(int64_t n) {
  return n <= 0 ? 64 : (n + 63) / 64 * 64;
}

typedef struct {
  int64_t bytes;
  int first, last;
  int64_t *offset; /* where to write the placement */
} interval;

static int by_size_desc(const void *a, const void *b) {
  const interval *x = a, *y = b;
  if (x->bytes != y->bytes)
    return x->bytes > y->bytes ? -1 : 1;
  if (x->first != y->first)
    return x->first < y->first ? -1 : 1;
  return x->last < y->last ? -1 : x->last > y->last;
}

typedef struct {
  int64_t lo, hi;
} range;

static int by_lo(const void *a, const void *b) {
  const range *x = a, *y = b;
  return x->lo < y->lo ? -1 : x->lo > y->lo;
}

void pt_plan_buffers(const pt_func *g, pt_buffer_plan *p) {
  memset(p, 0, sizeof *p);
  int nv = g->nvalues, nops = g->nops;
  p->nvalues = nv;
  p->nops = nops;
  p->nargs = g->nargs;
  p->nresults = g->nresults;
  size_t v1 = (size_t)(nv ? nv : 1), o1 = (size_t)(nops ? nops : 1);
  p->region = pt_calloc(v1, sizeof *p->region);
  p->offset = pt_calloc(v1, sizeof *p->offset);
  p->bytes = pt_calloc(v1, sizeof *p->bytes);
  p->first = pt_calloc(v1, sizeof *p->first);
  p->last = pt_calloc(v1, sizeof *p->last);
  p->scratch_offset = pt_calloc(o1, sizeof *p->scratch_offset);
  p->scratch_bytes = pt_calloc(o1, sizeof *p->scratch_bytes);
  p->arg_offset = pt_calloc((size_t)g->nargs + 1, sizeof *p->arg_offset);
  p->result_offset = pt_calloc((size_t)g->nresults + 1, sizeof *p->result_offset);
  for (int v = 0; v < nv; v++) {
    p->region[v] = PT_BUF_NONE;
    p->offset[v] = -1;
  }
  for (int i = 0; i < g->nargs; i++) {
    const pt_value *a = g->args[i];
    p->region[a->id] = PT_BUF_ARG;
    p->bytes[a->id] = round64((int64_t)pt_type_bytes(&a->type));
    p->offset[a->id] = p->arg_offset[i] = p->arg_bytes;
    p->arg_bytes += p->bytes[a->id];
    p->first[a->id] = p->last[a->id] = -1;
  }
  for (int i = 0; i < nops; i++) {
    const pt_op *op = g->ops[i];
    for (int j = 0; j < op->noperands; j++) {
      int id = op->operands[j]->id;
      if (p->last[id] < i)
        p->last[id] = i;
    }
    int id = op->result->id;
    p->first[id] = p->last[id] = i;
    p->bytes[id] = round64((int64_t)pt_type_bytes(&op->result->type));
    p->scratch_bytes[i] = pt_exec_op_scratch_bytes(op);
  }
  for (int i = 0; i < g->nresults; i++) {
    const pt_value *v = g->results[i].value;
    p->last[v->id] = nops;
    p->result_offset[i] = p->result_bytes;
    p->result_bytes += round64((int64_t)pt_type_bytes(&g->results[i].type));
    if (v->def && p->region[v->id] == PT_BUF_NONE) {
      p->region[v->id] = PT_BUF_RESULT;
      p->offset[v->id] = p->result_offset[i];
    }
  }
  /* the temporaries and the kernels' scratch: greedy by size */
  interval *iv = pt_malloc((v1 + o1) * sizeof *iv);
  int n = 0;
  for (int i = 0; i < nops; i++) {
    int id = g->ops[i]->result->id;
    if (p->region[id] == PT_BUF_NONE) {
      p->region[id] = PT_BUF_TEMP;
      iv[n++] = (interval){p->bytes[id], p->first[id], p->last[id], &p->offset[id]};
    }
    if (p->scratch_bytes[i] > 0)
      iv[n++] = (interval){p->scratch_bytes[i], i, i, &p->scratch_offset[i]};
  }
  qsort(iv, (size_t)n, sizeof *iv, by_size_desc);
  range *busy = pt_malloc((size_t)(n ? n : 1) * sizeof *busy);
  for (int k = 0; k < n; k++) {
    int nb = 0;
    for (int j = 0; j < k; j++)
      if (iv[j].first <= iv[k].last && iv[k].first <= iv[j].last)
        busy[nb++] = (range){*iv[j].offset, *iv[j].offset + iv[j].bytes};
    qsort(busy, (size_t)nb, sizeof *busy, by_lo);
    int64_t at = 0;
    for (int j = 0; j < nb; j++) {
      if (busy[j].lo >= at + iv[k].bytes)
        break;
      if (busy[j].hi > at)
        at = busy[j].hi;
    }
    *iv[k].offset = at;
    if (at + iv[k].bytes > p->temp_bytes)
      p->temp_bytes = at + iv[k].bytes;
  }
  pt_free(busy);
  pt_free(iv);
  p->peak_bytes = p->arg_bytes + p->result_bytes + p->temp_bytes;
}

void pt_buffer_plan_free(pt_buffer_plan *p) {
  pt_free(p->region);
  pt_free(p->offset);
  pt_free(p->bytes);
  pt_free(p->first);
  pt_free(p->last);
  pt_free(p->scratch_offset);
  pt_free(p->scratch_bytes);
  pt_free(p->arg_offset);
  pt_free(p->result_offset);
  memset(p, 0, sizeof *p);
}
