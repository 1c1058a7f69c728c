/* Shardings: how a value is laid out over the module's mesh, decided one
 * mesh axis at a time (each tactic of a schedule decides one axis).
 *
 * For each mesh axis a value is, along that axis:
 *   unknown      nothing decided yet (printed in `open(...)`)
 *   replicated   every device along the axis holds the same data
 *   sharded      split along one of its dimensions
 *   partial sum  each device holds a term; the value is their sum
 *   partial max  each device holds a candidate; the value is their max
 * A dimension split over several axes lists them major to minor, in the
 * order the tactics decided them (Shardy's notation):
 *   f32[64,1024] {[batch], [model]}
 *   f32[64,1024] {[], []} partial(sum: model)
 *   f32[64,1024] {[batch], []} open(model)
 * A value with no sharding at all (every axis unknown) prints no braces.
 *
 * Every decided axis remembers where it came from: the tactic that decided
 * it and the op through which propagation reached the value (NULL for a
 * value the tactic seeded directly), for `partita explain`. */
#ifndef PT_SHARDING_H
#define PT_SHARDING_H

#include "ir.h"

typedef enum {
  PT_SH_UNKNOWN = 0,
  PT_SH_REPLICATED,
  PT_SH_SHARDED,
  PT_SH_PARTIAL_SUM,
  PT_SH_PARTIAL_MAX,
} pt_shkind;

typedef struct {
  uint8_t kind;   /* pt_shkind */
  int8_t dim;     /* PT_SH_SHARDED: the dimension */
  int16_t tactic; /* index of the tactic that decided it; -1: written in the text */
  const pt_op *via; /* the op propagation came through; NULL: seeded or parsed */
} pt_axis_state;

typedef struct pt_sharding {
  pt_axis_state ax[PT_MAX_AXES];
  /* axes sharding each dimension, major to minor */
  int8_t order[PT_MAX_RANK][PT_MAX_AXES];
  uint8_t norder[PT_MAX_RANK];
} pt_sharding;

/* The sharding of v, creating an all-unknown one (in the module's arena) if
 * it has none. */
pt_sharding *pt_sharding_of(pt_value *v);
/* Decides axis `axis` of v. For PT_SH_SHARDED the axis becomes the minor-most
 * on `dim`. The axis must be unknown. */
void pt_sharding_set(pt_value *v, int axis, pt_shkind kind, int dim, int tactic,
                     const pt_op *via);
/* The state of v along axis (unknown if v has no sharding). Inline: the
 * propagation asks it for every value around every op of every sweep. */
static inline pt_axis_state pt_sharding_axis(const pt_value *v, int axis) {
  if (!v->sharding)
    return (pt_axis_state){PT_SH_UNKNOWN, -1, -1, NULL};
  return v->sharding->ax[axis];
}
/* Local (per-device) size of dimension dim of v given the axes decided on
 * it so far. */
int64_t pt_sharding_local_dim(const pt_value *v, int dim);
/* Whether every axis of the mesh is decided. */
bool pt_sharding_complete(const pt_value *v);
/* The per-device type of v (unknown axes count as replicated). */
pt_type pt_sharding_local_type(const pt_value *v);

/* Prints " {[a], []} partial(sum: b) open(c)" (with the leading space), or
 * nothing if v has no sharding. */
void pt_sharding_print(const pt_value *v, FILE *out);
/* Writes the same text into buf (no leading space; "unknown" when v has no
 * sharding); returns buf. */
char *pt_sharding_str(const pt_value *v, char *buf, size_t n);

#endif
