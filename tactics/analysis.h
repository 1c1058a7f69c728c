/* Why each value is sharded as it is: the analysis behind `partita explain`
 * and `partita partition`'s tables (tactics/analysis.c). It returns plain
 * data; the CLI prints it as text or serialises it as JSON.
 *
 * Requires: a verified function with no calls left (pt_pass_inline) whose
 * module has the schedule's mesh (pt_schedule_set_mesh).
 * Provides:
 *   pt_analysis_apply   applies the schedule (pt_schedule_apply), keeping
 *                       what the analyses need: the propagation report
 *                       (conflicts, sweeps), which axes of which values the
 *                       program text decided before the schedule, and every
 *                       value's printed name.
 *   pt_analysis_origin  along one mesh axis, the chain of ops through which
 *                       propagation carried a value's layout, back to its
 *                       root: the tactic that seeded it (and the script
 *                       entry), the program text, or nothing (it ended
 *                       replicated, with the conflicts that stopped it).
 *   pt_analysis_tables  the arguments, results and intermediates of at
 *                       least N bytes per device with their per-device
 *                       types and bytes.
 *   pt_layout_map_build which devices hold which block of a rank-1 or -2
 *                       value.
 * Breaks: pt_analysis_apply changes f's shardings as pt_schedule_apply
 * does (and may add values); the other calls change nothing.
 * Ownership: a pt_analysis borrows f and the schedule, which must outlive
 * it, and owns its report, names and snapshot (pt_analysis_free). Results
 * (pt_origin, pt_shard_tables, pt_layout_map) own their arrays and borrow
 * everything they point at (values, ops, conflicts, script entries) from
 * the analysis, f and the schedule; free each with its _free.
 * Errors: pt_analysis_apply returns pt_schedule_apply's status with its
 * messages in d (the analysis is then still safe to free). The others
 * cannot fail on a value of f. */
#ifndef PT_ANALYSIS_H
#define PT_ANALYSIS_H

#include "sharding.h"
#include "tactics.h"

typedef struct {
  pt_func *f;           /* the function the schedule was applied to */
  const pt_schedule *s; /* the schedule */
  pt_prop_report rep;   /* conflicts and sweeps of the whole schedule */
  char **names;         /* per value id: its printed name (no '%'); NULL until applied */
  /* per value id below ntext, per axis: decided in the program text, before
   * the schedule (values the tactics add have higher ids) */
  uint8_t (*in_text)[PT_MAX_AXES];
  int ntext;
} pt_analysis;

/* Applies s to f (pt_schedule_apply) and fills *a. *a is always safe to
 * pass to pt_analysis_free, which does not free f or s. */
pt_status pt_analysis_apply(pt_analysis *a, pt_func *f, const pt_schedule *s, pt_diag *d);
void pt_analysis_free(pt_analysis *a);

/* Whether v's axis was decided in the program text. */
bool pt_analysis_in_text(const pt_analysis *a, const pt_value *v, int axis);
/* The name of v as printed, without '%' ("?" before names exist). */
const char *pt_analysis_name(const pt_analysis *a, const pt_value *v);
/* The value named `name` (with or without '%', as printed) in a->f. */
pt_value *pt_analysis_find(const pt_analysis *a, const char *name);
/* Up to max (at most 8) names of values of a->f close to `name` (with or
 * without '%'), closest first, ties in program order: within an edit
 * distance of max(2, len/3), or containing it; returns how many. The names
 * are a's. */
int pt_analysis_close_names(const pt_analysis *a, const char *name, const char **out, int max);
/* The name of tactic index t of the schedule, or NULL (t < 0: the text). */
const char *pt_analysis_tactic(const pt_analysis *a, int t);

/* ---- origin chains ------------------------------------------------------- */

typedef enum {
  PT_ORIGIN_TACTIC, /* root was seeded (or made replicated) by tactic `tactic` */
  PT_ORIGIN_TEXT,   /* root's layout along the axis is written in the program */
  PT_ORIGIN_NONE,   /* no tactic decided root: replicated when the schedule ended */
  PT_ORIGIN_LOST,   /* no neighbour of the last step's op explains it */
  PT_ORIGIN_ENDLESS /* the chain does not end (more steps than values) */
} pt_origin_kind;

/* One step back: `value` was decided through `op` (its result, or an op
 * using it). */
typedef struct {
  const pt_value *value;
  const pt_op *op;
} pt_origin_step;

typedef struct {
  int axis;
  pt_origin_step *steps; /* from the value asked about towards its root */
  int nsteps;
  pt_origin_kind kind;
  const pt_value *root; /* TACTIC, TEXT, NONE: where the chain ends (via NULL) */
  int tactic;           /* TACTIC: the tactic's index in the schedule */
  /* TACTIC: the script entry that matched root (the shard entry with its
   * dim, or the replicate entry), or NULL: the tactic's own node */
  const pt_tactic_entry *entry;
  /* NONE: conflicts along the axis at ops root is the result or an operand of */
  const pt_conflict **conflicts;
  int nconflicts;
} pt_origin;

/* Follows v's layout along `axis` back to its root, taking at each op the
 * neighbour that agrees with the layout (names the same factor) and is
 * closest to a seed. */
void pt_analysis_origin(const pt_analysis *a, const pt_value *v, int axis, pt_origin *out);
void pt_origin_free(pt_origin *o);

/* ---- per-value tables ---------------------------------------------------- */

typedef struct {
  const pt_value *value;
  const char *label; /* results: the result's name; else NULL */
  pt_type local;     /* the per-device type */
  uint64_t local_bytes, global_bytes;
} pt_value_row;

typedef struct {
  pt_value_row *rows;
  int n;
} pt_value_table;

typedef struct {
  pt_value_table args, results, inter; /* inter: intermediates of >= min_bytes locally */
  uint64_t min_bytes;
  uint64_t arg_local, arg_global; /* all arguments, per device and in all */
} pt_shard_tables;

void pt_analysis_tables(const pt_analysis *a, uint64_t min_bytes, pt_shard_tables *out);
void pt_shard_tables_free(pt_shard_tables *t);

/* ---- layout pictures ----------------------------------------------------- */

enum { PT_LAYOUT_MAX_BLOCKS = 64, PT_LAYOUT_MAX_DEVICES = 4096 };

typedef struct {
  const int64_t *devices; /* that hold the block, ascending (into the map's array) */
  int ndevices;
  int64_t lo[2], hi[2]; /* the block's index range per dimension of the value */
} pt_layout_cell;

typedef struct {
  int rank;               /* 1 or 2 */
  int64_t rows, cols;     /* blocks along dimension 0 and 1 (rank 1: one row) */
  int64_t devices;        /* of the mesh */
  pt_layout_cell *blocks; /* rows*cols, row-major; NULL when there are more
                           * than PT_LAYOUT_MAX_BLOCKS blocks or
                           * PT_LAYOUT_MAX_DEVICES devices */
  int64_t *devs;
} pt_layout_map;

/* The blocks of v (rank 1 or 2) over mesh m; devices are numbered row-major
 * over m's axes, as MPI_Cart_create numbers ranks. */
void pt_layout_map_build(const pt_mesh *m, const pt_value *v, pt_layout_map *out);
void pt_layout_map_free(pt_layout_map *l);

#endif
