/* Per-device initial values (see shard_init.h): walk the block's local
 * row-major indices with an odometer and map each to its global index. */
#include "shard_init.h"

pt_tensor *pt_init_block(const pt_init_spec *s, const pt_type *global, const pt_mesh *mesh,
                         const pt_layout *l, int64_t dev) {
  PT_ASSERT(global->dtype == s->dtype);
  PT_ASSERT(l->partial_sum == 0 && l->partial_max == 0);
  PT_ASSERT(pt_layout_valid(mesh, global, l));
  PT_ASSERT(dev >= 0 && dev < pt_mesh_devices(mesh));
  int r = global->rank;
  int64_t start[PT_MAX_RANK];
  pt_layout_block(mesh, global, l, dev, start);
  pt_type lt = *global;
  for (int d = 0; d < r; d++)
    for (int k = 0; k < l->naxes[d]; k++)
      lt.dims[d] /= mesh->sizes[l->axes[d][k]];
  pt_tensor *b = pt_tensor_create(lt);
  if (s->kind == PT_INIT_ZERO)
    return b;

  /* gstride: the global row-major strides; idx: the local position. */
  int64_t gstride[PT_MAX_RANK], idx[PT_MAX_RANK] = {0};
  int64_t g = 0, st = 1;
  for (int d = r - 1; d >= 0; d--) {
    gstride[d] = st;
    st *= global->dims[d];
    g += start[d] * gstride[d];
  }
  int64_t n = pt_type_numel(&lt);
  for (int64_t i = 0; i < n; i++) {
    pt_tensor_set(b, i, pt_init_value(s, g));
    /* advance the odometer, moving g with it */
    int d = r - 1;
    while (d >= 0 && ++idx[d] == lt.dims[d]) {
      g -= (idx[d] - 1) * gstride[d];
      idx[d--] = 0;
    }
    if (d >= 0)
      g += gstride[d];
  }
  return b;
}
