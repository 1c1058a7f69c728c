/* Collectives over MPI, one rank per mesh device, with exactly the virtual
 * mesh's semantics (runtime/vmesh.c, docs/ir.md "Collectives"): rank r is
 * device r (row-major over the mesh axes), and a group's order is row-major
 * over the op's `axes` in the order listed.
 *
 * Every communicator has MPI_ERRORS_RETURN; an MPI failure becomes a
 * diagnostic "rank R: MPI_Xxx failed: <MPI_Error_string>" and PT_ERR. */
#ifndef PT_MPI_COLL_H
#define PT_MPI_COLL_H

#include <mpi.h>

#include "interp.h"
#include "redistribute.h"

typedef struct pt_mpi_mesh pt_mpi_mesh;

/* Builds the cartesian communicator for mesh m over `world` (whose size
 * must equal m's device count; MPI must be initialised). The mesh is copied
 * (axis names too). Communicators for groups of axes are made on first use
 * and cached. NULL with a message in d on error. Collective over `world`. */
pt_mpi_mesh *pt_mpi_mesh_create(const pt_mesh *m, MPI_Comm world, pt_diag *d);
/* Frees the communicators and scratch buffers (collective over the world:
 * MPI_Comm_free). NULL is allowed. Must run before MPI_Finalize. */
void pt_mpi_mesh_destroy(pt_mpi_mesh *mm);

/* MPI_Init for a partita process (a no-op when MPI is already initialised).
 * First it sets OMPI_MCA_sharedfp=^sm unless the environment chooses a
 * sharedfp component: Open MPI's MPI-IO names the POSIX semaphore of its
 * shared-memory shared file pointer after the file's base name alone
 * (/dev/shm/sem.OMPIO_checkpoint.safetensors.tmp), so every job on a node
 * shares it, and one killed while holding it leaves it taken: every later
 * checkpoint on the node then hangs in MPI-IO. Checkpoints (runtime/
 * checkpoint.h) never use a shared file pointer. */
void pt_mpi_init(void);

/* The rank the launcher (mpirun) gave this process, read from its
 * environment before MPI_Init; -1 when there is none. Lets a command keep
 * every rank but the first quiet about bad usage before MPI starts. */
int pt_mpi_launcher_rank(void);

/* This rank (= device id) and the number of devices. */
int pt_mpi_mesh_rank(const pt_mpi_mesh *mm);
int pt_mpi_mesh_size(const pt_mpi_mesh *mm);
/* The mesh (borrowed). */
const pt_mesh *pt_mpi_mesh_mesh(const pt_mpi_mesh *mm);
/* The cartesian communicator (borrowed; rank = device id). */
MPI_Comm pt_mpi_mesh_comm(const pt_mpi_mesh *mm);

/* Node-shared memory. When every rank of the mesh runs on one node (and
 * the environment does not set PT_MPI_SHM=0), the mesh can hold a staging
 * window in MPI shared memory, a segment per rank that every rank can read.
 * all_reduce, all_to_all, reduce_scatter and all_gather (along any
 * dimension), of f32 or i32, 8 KiB or more (all_gather
 * and all_to_all at most 2 MiB), and whose operand fits the segment, then
 * run through it: each rank copies what its peers
 * need into its own segment and reads theirs in place, with barriers
 * between the phases, instead of moving data through MPI's transport.
 * Operands and results stay in the caller's memory.
 *
 * pt_mpi_shm_reserve grows every rank's segment to at least the largest
 * `bytes` any rank asks for (collective over the mesh; the executor asks
 * for its program's largest collective operand). False on every rank
 * alike when shared memory is off or the window cannot be made (the
 * backing file system, /dev/shm, must have room for it twice over); the
 * collectives then go through MPI. The window is freed with the mesh. */
bool pt_mpi_shm_enabled(const pt_mpi_mesh *mm);
bool pt_mpi_shm_reserve(pt_mpi_mesh *mm, size_t bytes);
/* How many collectives have run over shared memory on this rank. */
int64_t pt_mpi_shm_runs(const pt_mpi_mesh *mm);

/* Runs collective op (a verified all_gather, reduce_scatter, all_reduce,
 * all_to_all, axis_slice or collective_permute whose axes name axes of the
 * mesh) on this rank's operand x into r, which has the op's result type and
 * does not overlap x (all_reduce alone may run in place: r == x).
 * Collective over the op's group: every rank of the group must call it for
 * the same op. Sums are in any order (MPI's, or a ring's for a large
 * reduce_scatter); max of f32 propagates nan like the virtual mesh. */
/* This device's position in the group of op's axes (its block of an
 * axis_slice), 0 when mm is NULL or op names an axis mm does not have. */
int64_t pt_mpi_group_pos(const pt_mpi_mesh *mm, const pt_op *op);
pt_status pt_mpi_collective(pt_mpi_mesh *mm, const pt_op *op, const pt_tensor *x, pt_tensor *r,
                            pt_diag *d);

/* An all_reduce (sum, f32) with an SGD-style update taken in: out = acc +
 * alpha * (the sum over op's group of x), computed as the all_reduce and a
 * separate add of alpha times its result would compute it (the same bits),
 * without storing the sum. Through the staging window each rank updates
 * only the chunk of the sum it computes, and the members gather each
 * other's updated chunks instead of the sums' (runtime/fusion.h, reduction
 * epilogues); otherwise the sum goes through MPI into scratch memory first.
 * out may be acc (in place), not x. Collective over the op's group. */
pt_status pt_mpi_all_reduce_update(pt_mpi_mesh *mm, const pt_op *op, const pt_tensor *x,
                                   const pt_tensor *acc, float alpha, pt_tensor *out, pt_diag *d);

/* The ranks of op's group (every rank whose coordinates differ from this
 * one's only along the op's axes), in group order, into out (up to max);
 * returns how many there are, or -1 if op names an axis the mesh lacks.
 * Only reads the mesh: safe from another thread. */
int pt_mpi_group_ranks(const pt_mpi_mesh *mm, const pt_op *op, int *out, int max);

#endif
