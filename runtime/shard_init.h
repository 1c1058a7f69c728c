/* One device's block of an argument's initial value, computed without the
 * whole tensor: the counter-based rule of init.h makes element i a pure
 * function of its global row-major index, so each device evaluates only the
 * indices its block covers. */
#ifndef PT_SHARD_INIT_H
#define PT_SHARD_INIT_H

#include "init.h"
#include "redistribute.h"

/* Device dev's block, under layout l (valid for *global on mesh, no partial
 * axes), of the initial value that spec s gives a tensor of type *global:
 * bit for bit pt_block_of(pt_init_tensor(s, *global), mesh, l, dev). The
 * caller frees the result with pt_tensor_destroy. */
pt_tensor *pt_init_block(const pt_init_spec *s, const pt_type *global, const pt_mesh *mesh,
                         const pt_layout *l, int64_t dev);

#endif
