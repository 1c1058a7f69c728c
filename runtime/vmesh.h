/* The virtual mesh: every device of a mesh in one process. It runs a lowered
 * (SPMD) program op by op on all devices, local ops with the reference
 * interpreter's kernels and collectives in memory, with the semantics of
 * docs/ir.md ("Collectives") that the MPI runtime must match. Tests check
 * every partitioned program here against the reference interpreter. */
#ifndef PT_VMESH_H
#define PT_VMESH_H

#include "interp.h"
#include "redistribute.h"

/* Runs lowered function g on every device of the module's mesh.
 * args[dev * g->nargs + i] is device dev's block of argument i (borrowed);
 * results[dev * g->nresults + i] receives a new tensor per device and
 * result. Errors are reported with the device that met them. */
pt_status pt_vmesh_run(const pt_func *g, pt_tensor *const *args, pt_tensor **results,
                       pt_diag *d);

/* Device dev's block of a global tensor laid out as l (no partial axes). */
pt_tensor *pt_block_of(const pt_tensor *global, const pt_mesh *mesh, const pt_layout *l,
                       int64_t dev);
/* The global tensor from every device's block (blocks[dev]); devices that
 * hold the same block (replicated axes) must agree bit for bit, else an
 * error naming `what` and the devices is reported and NULL returned. */
pt_tensor *pt_blocks_join(pt_tensor *const *blocks, const pt_mesh *mesh, const pt_layout *l,
                          pt_type global, const char *what, pt_diag *d);

/* The whole path on global tensors: splits f's arguments by their
 * shardings, runs g (the lowering of f) on the virtual mesh, and joins the
 * results (results[i] new, owned by the caller). */
pt_status pt_vmesh_run_global(const pt_func *f, const pt_func *g, pt_tensor *const *args,
                              pt_tensor **results, pt_diag *d);

/* Runs a redistribution plan (passes/redistribute.h) for an array of type t
 * on the virtual mesh of m (a function is added to m), on an array whose
 * elements are their own global indices; a partial source holds the value
 * at coordinate 0 of its partial axes and zeros elsewhere. True if every
 * device ends with exactly its block of the target; msg says what happened. */
bool pt_vmesh_check_plan(pt_module *m, const pt_type *t, const pt_plan *plan, char *msg,
                         size_t n);

#endif
