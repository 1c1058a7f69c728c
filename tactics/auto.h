/* Automatic partitioning (tactics/auto.c, docs/tactics.md "Automatic
 * tactics"): searches the actions a person writes in a tactic script --
 * shard an argument group on a dimension along an axis, or replicate it --
 * for the schedule whose lowered program the simulator predicts fastest
 * among those that fit in the hardware's memory, and returns it as an
 * ordinary schedule.
 *
 * Argument groups generalise names across layers: every dot-separated
 * component made only of digits becomes '*', so `layers.3.attn.wq` joins
 * `layers.*.attn.wq` and one decision covers every layer. Each decision is
 * seeded and propagated as a tactic of its own, after the manual tactics
 * (which it never undoes); the search is a beam search over decision
 * sequences, then restarts from seeded random first decisions, with every
 * candidate lowered and simulated once (candidates that propagate to the
 * same layouts share one simulation).
 *
 * Requires: a verified function with no calls left, whose module has the
 * schedule's mesh (pt_schedule_set_mesh) and to which nothing has been
 * applied; a hardware file for the mesh.
 * Provides: pt_auto_search fills a pt_auto_result with the found schedule
 * (the prefix's manual tactics, then the search's), its predicted figures
 * and the search's statistics.
 * Breaks: f's shardings are left as the found schedule decides them (every
 * axis complete), as pt_schedule_apply would; f may gain constants
 * (pt_pass_split_constants).
 * Ownership: the result owns its schedule and strings (pt_auto_result_free);
 * it borrows nothing. The progress callback's report is valid during the
 * call only.
 * Errors: no candidate applies (nothing is left to decide), the mesh does
 * not fit the hardware, or nothing found fits in memory (the result then
 * still holds the strategy with the smallest peak): PT_ERR with a message
 * in d. */
#ifndef PT_AUTO_H
#define PT_AUTO_H

#include "hw.h"
#include "tactics.h"

/* The roles the search may seed along an axis called `axis_name` when the
 * script does not say (`args:`): parameters and optimizer state along axes
 * named for model parallelism (model, tensor, mp, tp), whose job is to split
 * the weights; every argument along any other axis (batch parallelism, ZeRO,
 * and model parallelism too if the simulator says so). */
unsigned pt_auto_default_roles(const char *axis_name);

/* What the search reports as it goes. */
typedef struct {
  int candidates; /* evaluated (simulated or found in the cache) */
  int simulated;  /* of which lowered and simulated */
  int level;      /* decisions in the states being expanded */
  int restart;    /* 0 in the beam search, then 1, 2, ... */
  double seconds; /* since the search started */
  bool have_best;
  bool best_fits;
  double best_step;   /* seconds */
  int64_t best_peak;  /* bytes per device */
  int best_decisions; /* in the best state */
} pt_auto_progress;

typedef struct {
  const pt_sim_hw *hw;
  double budget_s; /* > 0: stop searching after this many seconds */
  uint64_t seed;   /* orders ties and draws the restarts' first decisions */
  int beam;        /* states kept per level; <= 0: 4 */
  int restarts;    /* after the beam search; < 0: 4 */
  /* a decision is kept only if it makes the step faster by this fraction (or
   * the peak smaller, while nothing fits); <= 0: 0.01, which keeps scripts
   * free of decisions that buy nothing the simulator can be trusted with */
  double min_gain;
  /* per mesh axis: roles the search may seed (bits 1 << role); 0 for an
   * axis the caller leaves out of the search. NULL: pt_auto_default_roles
   * for every axis, or the automatic tactics' axes when the prefix has any */
  const unsigned *roles;
  void (*progress)(const pt_auto_progress *p, void *ud); /* may be NULL */
  void *ud;
} pt_auto_opts;

/* One tactic of the found schedule. */
typedef struct {
  bool searched;      /* from the search (else from the prefix) */
  double step_before; /* searched: the predicted step time without it ... */
  double step_after;  /* ... and with it (and the ones before it) */
  int64_t peak_before, peak_after;
  /* searched: the parameters and inputs propagation decided along the
   * tactic's axis besides its own seeds, as "layers.*.attn.wo 0, ..." */
  char propagated[256];
} pt_auto_tactic_info;

typedef struct {
  pt_schedule *schedule;     /* the found strategy (owned) */
  pt_auto_tactic_info *info; /* one per tactic of schedule */
  bool fits;
  double step, compute, comm; /* seconds, predicted */
  int64_t peak, capacity;     /* bytes per device */
  int64_t bytes_sent;         /* per device */
  double baseline_step;       /* the prefix alone (every axis it leaves replicated) */
  int64_t baseline_peak;
  pt_auto_progress stats;      /* the last progress report */
  const char *stopped;         /* why the search stopped (a static string) */
  unsigned roles[PT_MAX_AXES]; /* what was searched, per axis */
} pt_auto_result;

/* Searches from prefix (its manual tactics are applied first; its automatic
 * tactics name the axes to search) for a strategy for f on o->hw. */
pt_status pt_auto_search(pt_func *f, const pt_schedule *prefix, const pt_auto_opts *o,
                         pt_auto_result *out, pt_diag *d);
void pt_auto_result_free(pt_auto_result *r);

/* The found strategy as a tactic script whose comments give its predicted
 * figures and mark which tactics came from the search; `command` (may be
 * NULL) is quoted in the header as what produced it. Caller frees. */
char *pt_auto_script(const pt_auto_result *r, const char *command);

#endif
