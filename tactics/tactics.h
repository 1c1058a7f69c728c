/* Tactic scripts: a mesh and an ordered schedule of tactics (docs/tactics.md).
 * Each tactic names one mesh axis, seeds shardings on function arguments
 * matched by name (shell globs, fnmatch(3)), may mark values replicated
 * along the axis (which blocks propagation), and is followed by full
 * propagation along its axis. */
#ifndef PT_TACTICS_H
#define PT_TACTICS_H

#include "ir.h"
#include "propagate.h"

typedef struct {
  const char *glob; /* an argument name or a glob */
  int dim;          /* -1 for replicate entries */
  pt_loc loc;       /* of the YAML node, for messages */
} pt_tactic_entry;

typedef struct {
  const char *name;
  const char *axis_name;
  int axis; /* index in the schedule's mesh */
  pt_tactic_entry *shard;
  int nshard;
  pt_tactic_entry *replicate;
  int nreplicate;
  /* `auto: true`: the axis is left to the search (tactics/auto.h); such a
   * tactic has no entries, and only `partita auto` (and explore) apply it */
  bool automatic;
  /* automatic: which argument roles the search may seed, a bit (1 << role)
   * each (`args: [param, state]`); 0: the default for the axis's name
   * (pt_auto_default_roles) */
  unsigned roles;
  pt_loc loc;
} pt_tactic;

typedef struct {
  const char *file;
  pt_mesh mesh;     /* names owned by the schedule */
  pt_tactic *tactics;
  int ntactics;
  pt_arena *arena;  /* everything above lives here */
} pt_schedule;

/* Reads a tactic script (YAML, libyaml's document API). Errors are located
 * at the offending node: `file:line:col: error: ...`. NULL on error. */
pt_schedule *pt_schedule_read(const char *path, pt_diag *d);
/* Parses a script from memory; `file` names it in messages. */
pt_schedule *pt_schedule_parse(const char *text, size_t len, const char *file, pt_diag *d);
void pt_schedule_destroy(pt_schedule *s);

/* Whether any tactic of s is automatic; the first one's index in *first. */
bool pt_schedule_has_auto(const pt_schedule *s, int *first);

/* The script as YAML that pt_schedule_parse reads back to the same
 * schedule: `header` (may be NULL) as comment lines first, then the mesh and
 * each tactic, preceded by comments[i] (may be NULL, or hold NULLs) as
 * comment lines. Caller frees (pt_free). */
char *pt_schedule_write(const pt_schedule *s, const char *header, const char *const *comments);

/* Gives m the schedule's mesh (an error if m declares a different one). */
pt_status pt_schedule_set_mesh(pt_module *m, const pt_schedule *s, pt_diag *d);

/* Applies tactic `index` of s to f: seeds, then propagation along its axis.
 * An automatic tactic is an error here (located at it: the search resolves
 * it into ordinary tactics first). Errors (a glob matching no argument, a dim out of range or not divisible
 * by the axis size, a value already decided along the axis) are located at
 * the tactic's YAML node. */
pt_status pt_tactic_apply(pt_func *f, const pt_schedule *s, int index, pt_prop_report *rep,
                          pt_diag *d);
/* Applies every tactic in order, then pt_propagate_finish. */
pt_status pt_schedule_apply(pt_func *f, const pt_schedule *s, pt_prop_report *rep,
                            pt_diag *d);

#endif
