/* Hardware descriptions for the simulator (docs/hardware.md): per-device
 * compute rates and memory, and named links with alpha-beta models of each
 * collective, read from YAML with located errors like tactic scripts. */
#ifndef PT_SIM_HW_H
#define PT_SIM_HW_H

#include "ir.h"

/* Collective kinds, in op-table order (index = opcode - PT_OP_ALL_GATHER). */
enum {
  PT_SIM_ALL_GATHER,
  PT_SIM_REDUCE_SCATTER,
  PT_SIM_ALL_REDUCE,
  PT_SIM_ALL_TO_ALL,
  PT_SIM_AXIS_SLICE,
  PT_SIM_PERMUTE,
  PT_SIM_NKINDS
};
/* "all_gather", ..., "collective_permute" (the op names). */
const char *pt_sim_kind_name(int kind);

/* time = alpha + beta * bytes, in seconds and seconds per byte. */
typedef struct {
  double alpha, beta;
} pt_sim_ab;

/* A measured alpha-beta for one collective kind and group size; `bytes` in
 * the formula is the size of the collective's operand on one device. */
typedef struct {
  int64_t group;
  pt_sim_ab ab;
} pt_sim_ab_point;

typedef struct {
  const char *name;
  pt_sim_ab p2p; /* point-to-point: one message of n bytes takes alpha + beta n */
  pt_sim_ab_point *table[PT_SIM_NKINDS]; /* sorted by group; may be empty */
  int ntable[PT_SIM_NKINDS];
  pt_loc loc;
} pt_sim_link;

/* A measured GEMM rate: C[m,n] = A[m,k] B[k,n] runs at `rate` flop/s. */
typedef struct {
  int64_t m, n, k;
  double rate;
} pt_sim_gemm_point;

typedef struct {
  const char *axis; /* a mesh axis name */
  int link;         /* index into links */
  pt_loc loc;
} pt_sim_axis_link;

typedef struct {
  const char *file, *name;
  int64_t count;  /* most devices a mesh may have; 0: no limit given */
  int64_t cores;  /* processors the devices share (a mesh of more devices
                     time-shares them); 0: one per device */
  int64_t memory; /* bytes per device */
  pt_sim_gemm_point *gemm;
  int ngemm;
  double elementwise_rate; /* bytes read plus written per second */
  double op_overhead;      /* seconds added to every op that runs a kernel */
  /* seconds per element of the ops that compute more than they move (the
   * C library's exp, tanh, ...; reductions), by opcode; 0: not given */
  double element_time[PT_OP_COUNT];
  pt_sim_link *links;
  int nlinks;
  pt_sim_axis_link *axes; /* `axes`, without its `default` entry */
  int naxes;
  int default_link; /* -1: none */
  /* where to point when a mesh does not fit the file */
  pt_loc root_loc, count_loc, axes_loc;
  pt_arena *arena; /* everything above lives here */
} pt_sim_hw;

/* The ops `devices.element_ns` may price, NULL-terminated. */
extern const pt_opcode pt_sim_element_ops[];
extern const int pt_sim_nelement_ops;

/* A size in bytes as hardware files write it (1073741824, 8GiB, 512 MB;
 * units B, KiB, MiB, GiB, TiB, KB, MB, GB, TB): 1 with *bytes set, -1 for
 * a size under one byte or over 2^63, 0 for no size at all. */
int pt_sim_parse_size(const char *s, double *bytes);

/* Reads a hardware file. Errors are located at the offending YAML node:
 * `file:line:col: error: ...`. NULL on error. Free with pt_sim_hw_destroy. */
pt_sim_hw *pt_sim_hw_read(const char *path, pt_diag *d);
/* Parses one from memory; `file` names it in messages. */
pt_sim_hw *pt_sim_hw_parse(const char *text, size_t len, const char *file, pt_diag *d);
void pt_sim_hw_destroy(pt_sim_hw *hw);

/* Checks that `mesh` runs on hw: no more devices than `devices.count`, and a
 * link for every axis (listed in `axes`, or `default`). Fills links[axis]
 * (PT_MAX_AXES long; may be NULL). Errors are located in the hardware file. */
pt_status pt_sim_hw_check_mesh(const pt_sim_hw *hw, const pt_mesh *mesh, int *links, pt_diag *d);

/* The GEMM rate (flop/s) for an m x k by k x n product, interpolated
 * between the measured points by inverse-distance weighting in
 * log(m), log(n), log(k) (a measured shape gives its own rate). */
double pt_sim_gemm_rate(const pt_sim_hw *hw, int64_t m, int64_t n, int64_t k);

/* The alpha-beta of collective `kind` over a group of `group` devices on
 * link `link`: the link's table entry for that group size; else the entry
 * of the nearest group size scaled by the ring algorithm's factors (below);
 * else the point-to-point model times those factors. Group size 1 and
 * axis_slice cost nothing.
 *   kind                alpha factor   beta factor (bytes = operand per device)
 *   all_gather          G-1            G-1
 *   reduce_scatter      G-1            (G-1)/G
 *   all_reduce          2(G-1)         2(G-1)/G
 *   all_to_all          G-1            (G-1)/G
 *   collective_permute  1              1
 * The beta factors times the operand's bytes are the bytes each device
 * sends, as passes/redistribute.c counts them. */
pt_sim_ab pt_sim_collective_ab(const pt_sim_hw *hw, int link, int kind, int64_t group);
/* The bytes each device sends in collective `kind` of an operand of
 * `bytes` bytes over `group` devices (the beta factor times bytes). */
int64_t pt_sim_bytes_sent(int kind, int64_t group, int64_t bytes);

#endif
