/* SPMD lowering (passes/lower.c). */
#ifndef PT_LOWER_H
#define PT_LOWER_H

#include "ir.h"
#include "redistribute.h"

/* One collective the lowering inserted. */
typedef struct {
  const pt_op *op;
  int tactic;    /* the tactic behind it (index), -1 if none */
  int64_t bytes; /* bytes each device sends in it */
} pt_lower_record;

typedef struct {
  int count[6];  /* collectives inserted, by kind: all_gather, reduce_scatter,
                    all_reduce, all_to_all, axis_slice, collective_permute */
  int64_t bytes; /* bytes each device sends in them, per run */
  pt_lower_record *records;
  int nrecords, caprecords;
} pt_lower_stats;

void pt_lower_stats_free(pt_lower_stats *s);

typedef struct {
  const char *name;                /* the new function; NULL: "<f>_spmd" */
  const char *const *tactic_names; /* to name the tactic behind each collective */
  int ntactics;
  pt_lower_stats *stats;           /* may be NULL */
} pt_lower_opts;

/* Lowers f (every value's sharding complete) into a new function of m. */
pt_status pt_pass_lower(pt_module *m, const pt_func *f, const pt_lower_opts *o, pt_func **out,
                        pt_diag *d);
/* The layout of f's i-th result in the lowered program: its sharding with
 * partial axes resolved. */
pt_layout pt_lower_result_layout(const pt_func *f, int i);

#endif
