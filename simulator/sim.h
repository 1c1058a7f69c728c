/* The cost simulator (docs/hardware.md): predicts how long one run of a
 * lowered (per-device) program takes on a described machine, how much of
 * it is communication, the bytes each device sends, and the peak memory of
 * each device, and draws the run as a Chrome trace-event timeline.
 *
 * Every device runs the same program, so one device is simulated. Ops run
 * one after another in program order, as the runtime's executor runs them
 * (collectives block; compute and communication do not overlap):
 *   dot                2 * B*M*N*K flops at the GEMM rate for (M, N, K)
 *   constant, iota     bytes written at the element-wise rate
 *   other local ops    bytes read plus written at the element-wise rate
 *   axis_slice         a local copy: bytes read plus written
 *   other collectives  alpha + beta * operand bytes, for the kind and group
 *                      size, on the slowest link among the op's axes
 * plus the hardware file's per-op overhead for every op but collectives.
 * Element-wise chains run as the executor runs them, fused (runtime/fusion.h):
 * a group costs the bytes it loads and stores, at its last member; its other
 * members and the broadcasts and constants it absorbs cost nothing. */
#ifndef PT_SIM_H
#define PT_SIM_H

#include "hw.h"

/* Per-device memory, from the buffer planner the runtime allocates by
 * (runtime/exec.h, pt_plan_buffers): arguments and results each have their
 * own buffers, temporaries share a block by liveness. */
typedef struct {
  int64_t peak_bytes; /* argument + result + temporary blocks */
  int64_t argument_bytes, result_bytes, temp_bytes;
} pt_sim_memory;

/* One op of the run. */
typedef struct {
  const pt_op *op;
  double start, time; /* seconds from the start of the run */
  double flops;       /* dot: the flops it computes */
  int64_t bytes;      /* compute: bytes read + written; collective: bytes sent */
  int kind;           /* collective kind (PT_SIM_*), or -1 for compute */
  int64_t group;      /* collective: the group size */
  int link;           /* collective: the link used (index into hw->links), or -1 */
} pt_sim_op;

#define PT_SIM_TOP 10

typedef struct {
  const pt_func *g;
  const pt_sim_hw *hw;
  int64_t devices;      /* in the mesh */
  double step;          /* seconds: compute + communication */
  double compute, comm; /* seconds */
  double comm_kind[PT_SIM_NKINDS];
  int count_kind[PT_SIM_NKINDS];
  int64_t bytes_kind[PT_SIM_NKINDS]; /* sent per device */
  int64_t bytes_sent;                /* per device, all collectives */
  double flops;                      /* per device */
  pt_sim_memory memory;              /* from the planner */
  int64_t capacity;                  /* hw->memory */
  bool fits;                         /* memory.peak_bytes <= capacity */
  pt_sim_op *ops;                    /* one per op of g, in order */
  int nops;
  int top[PT_SIM_TOP]; /* indices into ops, most expensive first */
  int ntop;
  char **names; /* per value id: its name as the printer writes it */
} pt_sim_result;

/* Simulates lowered function g (verified; its module's mesh is the mesh) on
 * hw. Errors (the mesh does not fit hw) are located in the hardware file.
 * *out is always safe to pass to pt_sim_result_free; it borrows g and hw. */
pt_status pt_sim_run(const pt_sim_hw *hw, const pt_func *g, pt_sim_result *out, pt_diag *d);
void pt_sim_result_free(pt_sim_result *r);

/* "file:line:col" of op (or "?"), into buf. */
char *pt_sim_where(const pt_op *op, char *buf, size_t cap);

/* The run as Chrome trace-event JSON (opens in Perfetto and chrome://tracing):
 * {"traceEvents": [...], "displayTimeUnit": "ns", "otherData": {...}}; one
 * complete event ("ph": "X", ts and dur in microseconds) per op on thread 1
 * (compute) or 2 (communication) of process 1 (a device), plus metadata
 * events naming them. `title` labels the process. Caller frees (pt_free). */
char *pt_sim_trace_json(const pt_sim_result *r, const char *title);

/* Seconds as "12.3 µs", "4.56 ms", "1.23 s" into buf. */
char *pt_sim_time_str(double seconds, char *buf, size_t cap);

#endif
