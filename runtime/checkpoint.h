/* Checkpoints: ONE safetensors file (the format of safetensors.h) holding
 * every tensor whole, in global row-major order, so any reader opens it
 * (pt_st_read, the safetensors Python package) whatever mesh and layouts
 * wrote it. Every rank writes and reads only its own block, collectively
 * with MPI-IO: a subarray file view per tensor and MPI_File_write_all /
 * MPI_File_read_all. A checkpoint written on one mesh and layout can be read
 * back on any other.
 *
 * All functions here are collective over comm: every rank calls them with
 * the same arguments (but its own blocks), and every rank gets the same
 * status. Device numbers are ranks in comm (row-major over the mesh axes),
 * so the mesh must have exactly as many devices as comm has ranks. Errors
 * are reported in d on every rank as `path: error: rank R: ...`, naming the
 * rank that met the problem, with MPI_Error_string or strerror text. */
#ifndef PT_CHECKPOINT_H
#define PT_CHECKPOINT_H

#include <mpi.h>

#include "interp.h"
#include "redistribute.h"

/* Writes n tensors to path: names[i] (distinct, not "__metadata__") of
 * global type global_types[i], laid out as layouts[i] (valid, no partial
 * axes) on mesh, where local_blocks[i] is this rank's block (borrowed; its
 * type must be the local type). Replicated blocks are written once, by the
 * rank whose coordinate is 0 on every mesh axis the layout leaves unused.
 * meta holds nmeta key/value string pairs (meta[2k] the key, meta[2k+1] the
 * value), stored under "__metadata__": callers put the step, optimizer, mesh
 * and tactic there. The header is laid out as pt_st_write lays it out (keys
 * sorted, padded with spaces so the data starts 8-byte aligned), with the
 * tensors' data in the order given.
 *
 * The write is atomic: the data goes to `<path>.tmp`, which is synced and
 * renamed over path (and the directory synced) before any rank returns. On
 * any failure every rank returns PT_ERR, the temporary file is removed and
 * a previous checkpoint at path is left untouched. */
pt_status pt_ckpt_write(MPI_Comm comm, const char *path, int n, const char *const *names,
                        const pt_type *global_types, const pt_layout *layouts, const pt_mesh *mesh,
                        pt_tensor *const *local_blocks, int nmeta, const char *const *meta,
                        pt_diag *d);

/* Reads this rank's block of n tensors from the checkpoint at path: tensor
 * names[i] must be in the file with exactly type global_types[i] (dtype and
 * shape), and local_blocks_out[i] receives a new tensor (caller frees with
 * pt_tensor_destroy) holding the block layouts[i] gives this rank on mesh.
 * The file may hold other tensors too; they are not read. A missing tensor,
 * another shape or dtype, a truncated or malformed file is reported on every
 * rank, every local_blocks_out[i] is NULL and every rank returns PT_ERR. */
pt_status pt_ckpt_read(MPI_Comm comm, const char *path, int n, const char *const *names,
                       const pt_type *global_types, const pt_layout *layouts, const pt_mesh *mesh,
                       pt_tensor **local_blocks_out, pt_diag *d);

/* The names of the tensors the file at path holds ("__metadata__" aside),
 * in the header's order, so a caller can read the ones it knows with
 * pt_ckpt_read and report the others: on success *names_out holds *n_out
 * names, owned by the caller and freed with pt_ckpt_names_free. On error
 * *names_out is NULL. */
pt_status pt_ckpt_names(MPI_Comm comm, const char *path, int *n_out, char ***names_out,
                        pt_diag *d);
void pt_ckpt_names_free(int n, char **names);

/* The checkpoint's "__metadata__": on success *meta_out holds *nmeta_out
 * key/value pairs (key at [2k], value at [2k+1], in the header's order, which
 * is sorted by key), owned by the caller and freed with pt_ckpt_meta_free.
 * A file without metadata gives 0 pairs. On error *meta_out is NULL. */
pt_status pt_ckpt_meta(MPI_Comm comm, const char *path, int *nmeta_out, char ***meta_out,
                       pt_diag *d);
void pt_ckpt_meta_free(int nmeta, char **meta);
/* The value for key among nmeta pairs, or NULL; borrowed from meta. */
const char *pt_ckpt_meta_find(int nmeta, char *const *meta, const char *key);

#endif
