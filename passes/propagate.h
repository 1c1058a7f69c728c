/* Sharding propagation (passes/propagate.c). */
#ifndef PT_PROPAGATE_H
#define PT_PROPAGATE_H

#include "ir.h"

/* Where two shardings of one axis met at an op and disagreed. */
typedef struct {
  const pt_op *op;
  int axis;
  int tactic;
  bool fatal; /* the op cannot compute at all under the tactic (a shift's
                 halo larger than a device's block, a scan or shift whose
                 sharded dim the axis does not divide): an error */
  char why[200];
} pt_conflict;

typedef struct {
  pt_conflict *conflicts;
  int nconflicts, capconflicts;
  int sweeps; /* forward+backward sweeps run, over all calls */
} pt_prop_report;

/* Propagates the shardings of f's values along mesh axis `axis` to a
 * fixpoint; new decisions record `tactic` as their origin. Conflicts are
 * added to rep (may be NULL). Idempotent. */
pt_status pt_propagate_axis(pt_func *f, int axis, int tactic, pt_prop_report *rep);
/* Makes every axis still unknown on every value of f replicated: the end of
 * a schedule. */
void pt_propagate_finish(pt_func *f);
void pt_prop_report_free(pt_prop_report *rep);

#endif
