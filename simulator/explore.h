/* Ranking strategies by simulation, as `partita explore` does
 * (simulator/explore.c): one row per tactic script with its predicted step
 * time, communication, bytes sent and peak memory; the ranking (those that
 * ran first, then those that fit, each by step time); the ranking as an SVG
 * bar chart; and, for `sim` and `explore` both, which tactic each
 * collective of a lowered program comes from.
 *
 * Requires: simulation results from pt_sim_run; lowering records from
 * pt_pass_lower (pt_lower_stats) of the same lowered program.
 * Provides: plain data and text; nothing is simulated again.
 * Ownership: rows borrow their script names; pt_sim_explore_svg returns
 * text the caller frees (pt_free); pt_sim_tactic_of returns an array the
 * caller frees whose names are borrowed from tactic_names' strings.
 * Errors: none. */
#ifndef PT_SIM_EXPLORE_H
#define PT_SIM_EXPLORE_H

#include "lower.h"
#include "sim.h"

typedef struct {
  const char *script; /* the tactic script */
  bool ok;            /* it applied, lowered and simulated */
  bool fits;          /* ok: in the hardware's memory */
  char mesh[256];     /* "batch=2,model=2", or "?" if unknown */
  int64_t devices, peak, bytes;
  double step, compute, comm;
} pt_sim_strategy;

/* Fills row's figures from a simulation (and sets ok). */
void pt_sim_strategy_set(pt_sim_strategy *row, const pt_sim_result *r);
/* Sorts rows: those that ran first, then those that fit, then by step time,
 * then by script name. */
void pt_sim_rank(pt_sim_strategy *rows, int n);
/* The rows, as ranked, as a bar chart (compute and communication stacked;
 * pale where a strategy does not fit) in an SVG document titled title. */
char *pt_sim_explore_svg(const pt_sim_strategy *rows, int n, const char *title);

/* Per op of g, the name of the tactic behind it (for the collectives the
 * lowering inserted for a tactic), else NULL. */
const char **pt_sim_tactic_of(const pt_func *g, const pt_lower_stats *stats,
                              const char *const *tactic_names);

/* Columns a terminal shows for UTF-8 text s ("µs" is two). */
int pt_sim_text_width(const char *s);

#endif
