/* Chrome trace-event pieces shared by the simulator's timeline
 * (simulator/trace.c) and the runtime's measured one (`partita train
 * --profile`, runtime/profile.c), so the two files line up: the same event
 * names, lanes and per-op arguments. */
#ifndef PT_TRACEFMT_H
#define PT_TRACEFMT_H

#include <jansson.h>

#include "ir.h"

enum { PT_TRACE_COMPUTE = 1, PT_TRACE_COMM = 2, PT_TRACE_STEP = 3 }; /* lanes (tids) */

/* Microseconds, rounded to the nanosecond so the file stays readable. */
double pt_trace_us(double seconds);
/* A metadata event ("ph": "M") setting args.key = val (val is taken). */
json_t *pt_trace_meta(const char *what, int pid, int tid, const char *key, json_t *val);
/* A complete event ("ph": "X") from start to end in seconds, both ends
 * rounded so that consecutive events abut exactly. */
json_t *pt_trace_span(const char *name, const char *cat, int pid, int tid, double start,
                      double end);
/* Whether op goes on the communication lane (collectives but axis_slice). */
bool pt_trace_is_comm(const pt_op *op);
/* An op event: "OP %name" on its lane of process pid, with args index,
 * type, where (file:line:col) and the first line of its comment; `names`
 * from pt_value_names. The caller may add more args. */
json_t *pt_trace_op(const pt_op *op, int index, char *const *names, int pid, double start,
                    double end);
/* Sets root's "otherData" to other and prints root as compact JSON: the
 * whole trace file's text (pt_free it). Takes both references. */
char *pt_trace_finish(json_t *root, json_t *other);

#endif
