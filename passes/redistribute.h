/* Redistribution synthesis: the collectives that turn one layout of a value
 * into another, after Rink, Paszke, Vytiniotis and Schmid, "Memory-efficient
 * array redistribution through portable collective communication"
 * (arXiv:2112.01075).
 *
 * A layout gives, per dimension, the mesh axes it is split over (major to
 * minor), and the axes over which the value is a pending partial sum or
 * max; in the paper's terms each dimension is local{axes}global. The moves:
 *   axis_slice      add an unused axis as the minor-most of a dim (free)
 *   all_gather      drop the minor-most axis of a dim
 *   all_to_all      move the minor-most axis of one dim to the minor end of
 *                   another
 *   permute         any relabelling that keeps every dim's block count and
 *                   the set of axes used (reorder a dim's axes, exchange
 *                   equal-size axes between dims): one collective_permute
 *   reduce_scatter  resolve a partial axis into the minor end of a dim
 *   all_reduce      resolve a partial axis, leaving the value replicated
 * A plan is the cheapest sequence found by a shortest-path search over
 * layouts ordered by (peak elements per device, bytes sent, steps): slices
 * come first, then all-to-alls and permutes, then gathers, and no
 * intermediate of a plan without partial axes is larger per device than the
 * larger of source and target when such a plan exists in these moves. */
#ifndef PT_REDISTRIBUTE_H
#define PT_REDISTRIBUTE_H

#include "ir.h"

typedef struct {
  int rank;
  int8_t axes[PT_MAX_RANK][PT_MAX_AXES]; /* major to minor */
  uint8_t naxes[PT_MAX_RANK];
  uint32_t partial_sum; /* bit per mesh axis */
  uint32_t partial_max;
} pt_layout;

typedef enum {
  PT_MOVE_SLICE,
  PT_MOVE_GATHER,
  PT_MOVE_ALL_TO_ALL,
  PT_MOVE_PERMUTE,
  PT_MOVE_REDUCE_SCATTER,
  PT_MOVE_ALL_REDUCE,
} pt_move_kind;

typedef struct {
  pt_move_kind kind;
  int axis;      /* the axis moved (not for permute / all_reduce of several) */
  uint32_t axes; /* all_reduce: the axes; permute: the group */
  int dim;       /* slice, gather, reduce_scatter: the dim; all_to_all: source */
  int dim2;      /* all_to_all: the destination dim */
  bool max;      /* all_reduce of a partial max */
  pt_layout after;
  int64_t elements_after; /* per device */
  int64_t bytes_sent;     /* per device, by this step */
} pt_move;

typedef struct {
  pt_layout start, target;
  pt_move *moves;
  int nmoves;
  int64_t elements_before, peak_elements;
  int64_t bytes_sent;
  /* the naive plan: resolve partials by all_reduce, gather everything, slice */
  int64_t naive_peak_elements, naive_bytes_sent;
} pt_plan;

/* Layout of a value from its sharding (unknown axes replicated). */
pt_layout pt_layout_of(const pt_value *v);
bool pt_layout_equal(const pt_layout *a, const pt_layout *b);
/* Per-device element count of a value of type t laid out as l. */
int64_t pt_layout_local_numel(const pt_mesh *mesh, const pt_type *t, const pt_layout *l);
/* Whether l is valid for t on mesh: each axis used once, dims divisible. */
bool pt_layout_valid(const pt_mesh *mesh, const pt_type *t, const pt_layout *l);
/* Writes "{[x1, x2], [y1]} partial(sum: z)"; returns buf. */
char *pt_layout_str(const pt_mesh *mesh, const pt_layout *l, char *buf, size_t n);
/* Parses the text form (the sharding syntax of docs/ir.md) for rank `rank`;
 * false with a message in err on error. */
bool pt_layout_parse(const pt_mesh *mesh, const char *s, int rank, pt_layout *out, char *err,
                     size_t errn);

/* Plans the redistribution of a value of type t from `from` to `to`. The
 * axes `to` leaves partial must be partial the same way in `from`: the
 * plan keeps them (it moves the value along the other axes only). Fills
 * *plan (free with pt_plan_free). */
pt_status pt_plan_redistribution(const pt_mesh *mesh, const pt_type *t, const pt_layout *from,
                                 const pt_layout *to, pt_plan *plan);
void pt_plan_free(pt_plan *plan);

/* Device `dev`'s coordinate along mesh axis `axis` (row-major numbering). */
int64_t pt_mesh_coord(const pt_mesh *mesh, int64_t dev, int axis);
int64_t pt_mesh_devices(const pt_mesh *mesh);
/* The block of the global array device `dev` holds under l: start index of
 * each dim (the block's size is the local shape). */
void pt_layout_block(const pt_mesh *mesh, const pt_type *t, const pt_layout *l, int64_t dev,
                     int64_t *start);

/* Emits the plan's collectives into b's function, starting from value v
 * (local type under `from`); returns the value in layout `to`. `why` is
 * attached as the comment of every collective emitted. */
pt_value *pt_plan_emit(pt_func *f, pt_loc loc, const pt_mesh *mesh, const pt_plan *plan,
                       pt_value *v, const char *why);

#endif
