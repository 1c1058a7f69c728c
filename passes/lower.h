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
  /* A training loop's step, whose param and state arguments take the
   * results of the same name from the step before: NULL, or room for one
   * layout per argument of f. Each such argument whose result comes out of
   * an all_gather of a block the next step only reads back by axis_slices
   * of that same block (a sharded update's weight rows: passes/lower.c,
   * "Carried blocks") is passed between steps as the block instead, gather
   * and slices removed. carried[i] gets the layout argument i and result i
   * then have in the lowered program: f's, or the block's. */
  pt_layout *carried;
} pt_lower_opts;

/* Lowers f (every value's sharding complete) into a new function of m. */
pt_status pt_pass_lower(pt_module *m, const pt_func *f, const pt_lower_opts *o, pt_func **out,
                        pt_diag *d);
/* The layout of f's i-th result in the lowered program: its sharding with
 * partial axes resolved. */
pt_layout pt_lower_result_layout(const pt_func *f, int i);

#endif
