/* A simulated run as Chrome trace-event JSON (the "JSON Object Format" of
 * the Trace Event Format document), which Perfetto and chrome://tracing
 * open: one complete event per op, on a compute and a communication lane. */
#include <jansson.h>
#include <math.h>
#include <string.h>

#include "sim.h"

#include "tracefmt.h"

enum { PID = 1, TID_COMPUTE = PT_TRACE_COMPUTE, TID_COMM = PT_TRACE_COMM };

double pt_trace_us(double seconds) {
  return round(seconds * 1e9) / 1e3;
}

static json_t *us(double seconds) {
  return json_real(pt_trace_us(seconds));
}

json_t *pt_trace_meta(const char *what, int pid, int tid, const char *key, json_t *val) {
  json_t *e = json_object();
  json_object_set_new_nocheck(e, "name", json_string(what));
  json_object_set_new_nocheck(e, "ph", json_string("M"));
  json_object_set_new_nocheck(e, "ts", json_integer(0));
  json_object_set_new_nocheck(e, "pid", json_integer(pid));
  json_object_set_new_nocheck(e, "tid", json_integer(tid));
  json_t *args = json_object();
  json_object_set_new_nocheck(args, key, val);
  json_object_set_new_nocheck(e, "args", args);
  return e;
}

json_t *pt_trace_span(const char *name, const char *cat, int pid, int tid, double start,
                      double end) {
  json_t *ev = json_object();
  double ts = pt_trace_us(start), te = pt_trace_us(end);
  json_object_set_new_nocheck(ev, "name", json_string(name));
  json_object_set_new_nocheck(ev, "cat", json_string(cat));
  json_object_set_new_nocheck(ev, "ph", json_string("X"));
  json_object_set_new_nocheck(ev, "ts", json_real(ts));
  json_object_set_new_nocheck(ev, "dur", json_real(round((te - ts) * 1e3) / 1e3));
  json_object_set_new_nocheck(ev, "pid", json_integer(pid));
  json_object_set_new_nocheck(ev, "tid", json_integer(tid));
  return ev;
}

bool pt_trace_is_comm(const pt_op *op) {
  return (pt_optab[op->code].flags & PT_OPF_COLLECTIVE) && op->code != PT_OP_AXIS_SLICE;
}

json_t *pt_trace_op(const pt_op *op, int index, char *const *names, int pid, double start,
                    double end) {
  char buf[PT_TYPE_STRLEN + 64];
  bool comm = pt_trace_is_comm(op);
  snprintf(buf, sizeof buf, "%s %%%s", pt_op_name(op->code),
           op->result ? names[op->result->id] : "");
  json_t *ev = pt_trace_span(buf, comm ? "communication" : "compute", pid,
                             comm ? PT_TRACE_COMM : PT_TRACE_COMPUTE, start, end);
  json_t *args = json_object();
  json_object_set_new_nocheck(args, "index", json_integer(index));
  if (op->result)
    json_object_set_new_nocheck(args, "type",
                                json_string(pt_type_str(&op->result->type, buf, sizeof buf)));
  json_object_set_new_nocheck(args, "where", json_string(pt_sim_where(op, buf, sizeof buf)));
  if (op->comment) {
    /* the first line: for collectives the lowering's "reshard ... for 'op'
     * at file:line:col (tactic)" */
    const char *c = op->comment;
    c += strncmp(c, "// ", 3) == 0 ? 3 : 0;
    char *line = pt_strndup(c, strcspn(c, "\n"));
    json_object_set_new_nocheck(args, "comment", json_string(line));
    pt_free(line);
  }
  json_object_set_new_nocheck(ev, "args", args);
  return ev;
}

char *pt_trace_finish(json_t *root, json_t *other) {
  json_object_set_new_nocheck(root, "otherData", other);
  char *s = json_dumps(root, JSON_COMPACT);
  json_decref(root);
  PT_ASSERT(s);
  char *copy = pt_strdup(s);
  free(s);
  return copy;
}

char *pt_sim_trace_json(const pt_sim_result *r, const char *title) {
  json_t *events = json_array();
  json_array_append_new(events, pt_trace_meta("process_name", PID, 0, "name", json_string(title)));
  json_array_append_new(
      events, pt_trace_meta("thread_name", PID, TID_COMPUTE, "name", json_string("compute")));
  json_array_append_new(
      events, pt_trace_meta("thread_name", PID, TID_COMM, "name", json_string("communication")));
  json_array_append_new(events, pt_trace_meta("thread_sort_index", PID, TID_COMPUTE, "sort_index",
                                              json_integer(TID_COMPUTE)));
  json_array_append_new(events, pt_trace_meta("thread_sort_index", PID, TID_COMM, "sort_index",
                                              json_integer(TID_COMM)));
  for (int i = 0; i < r->nops; i++) {
    const pt_sim_op *e = &r->ops[i];
    bool comm = pt_trace_is_comm(e->op);
    json_t *ev = pt_trace_op(e->op, i, r->names, PID, e->start, e->start + e->time);
    json_t *args = json_object_get(ev, "args");
    if (e->flops > 0)
      json_object_set_new_nocheck(args, "flops", json_real(e->flops));
    json_object_set_new_nocheck(args, comm ? "bytes_sent" : "bytes_accessed",
                                json_integer(e->bytes));
    if (comm) {
      json_object_set_new_nocheck(args, "group", json_integer(e->group));
      if (e->link >= 0)
        json_object_set_new_nocheck(args, "link", json_string(r->hw->links[e->link].name));
    }
    json_array_append_new(events, ev);
  }
  json_t *root = json_object(), *other = json_object();
  json_object_set_new_nocheck(root, "traceEvents", events);
  json_object_set_new_nocheck(root, "displayTimeUnit", json_string("ns"));
  json_object_set_new_nocheck(other, "hardware", json_string(r->hw->name));
  json_object_set_new_nocheck(other, "func", json_string(r->g->name));
  json_object_set_new_nocheck(other, "step_us", us(r->step));
  json_object_set_new_nocheck(other, "compute_us", us(r->compute));
  json_object_set_new_nocheck(other, "communication_us", us(r->comm));
  json_object_set_new_nocheck(other, "peak_memory_bytes", json_integer(r->memory.peak_bytes));
  return pt_trace_finish(root, other);
}
