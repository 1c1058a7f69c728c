/* A simulated run as Chrome trace-event JSON (the "JSON Object Format" of
 * the Trace Event Format document), which Perfetto and chrome://tracing
 * open: one complete event per op, on a compute and a communication lane. */
#include <jansson.h>
#include <math.h>
#include <string.h>

#include "sim.h"

enum { PID = 1, TID_COMPUTE = 1, TID_COMM = 2 };

/* Microseconds, rounded to the nanosecond so the file stays readable. */
static double us_of(double seconds) {
  return round(seconds * 1e9) / 1e3;
}

static json_t *us(double seconds) {
  return json_real(us_of(seconds));
}

static json_t *meta(const char *what, int tid, const char *key, json_t *val) {
  json_t *e = json_object();
  json_object_set_new_nocheck(e, "name", json_string(what));
  json_object_set_new_nocheck(e, "ph", json_string("M"));
  json_object_set_new_nocheck(e, "ts", json_integer(0));
  json_object_set_new_nocheck(e, "pid", json_integer(PID));
  json_object_set_new_nocheck(e, "tid", json_integer(tid));
  json_t *args = json_object();
  json_object_set_new_nocheck(args, key, val);
  json_object_set_new_nocheck(e, "args", args);
  return e;
}

char *pt_sim_trace_json(const pt_sim_result *r, const char *title) {
  json_t *events = json_array();
  json_array_append_new(events, meta("process_name", 0, "name", json_string(title)));
  json_array_append_new(events, meta("thread_name", TID_COMPUTE, "name", json_string("compute")));
  json_array_append_new(events,
                        meta("thread_name", TID_COMM, "name", json_string("communication")));
  json_array_append_new(
      events, meta("thread_sort_index", TID_COMPUTE, "sort_index", json_integer(TID_COMPUTE)));
  json_array_append_new(events,
                        meta("thread_sort_index", TID_COMM, "sort_index", json_integer(TID_COMM)));
  char buf[PT_TYPE_STRLEN + 64];
  for (int i = 0; i < r->nops; i++) {
    const pt_sim_op *e = &r->ops[i];
    const pt_op *op = e->op;
    bool comm = e->kind >= 0 && e->kind != PT_SIM_AXIS_SLICE;
    json_t *ev = json_object(), *args = json_object();
    const char *vname = op->result ? r->names[op->result->id] : "";
    snprintf(buf, sizeof buf, "%s %%%s", pt_op_name(op->code), vname);
    json_object_set_new_nocheck(ev, "name", json_string(buf));
    json_object_set_new_nocheck(ev, "cat", json_string(comm ? "communication" : "compute"));
    json_object_set_new_nocheck(ev, "ph", json_string("X"));
    /* both ends rounded, so that consecutive ops abut exactly */
    double ts = us_of(e->start), end = us_of(e->start + e->time);
    json_object_set_new_nocheck(ev, "ts", json_real(ts));
    json_object_set_new_nocheck(ev, "dur", json_real(round((end - ts) * 1e3) / 1e3));
    json_object_set_new_nocheck(ev, "pid", json_integer(PID));
    json_object_set_new_nocheck(ev, "tid", json_integer(comm ? TID_COMM : TID_COMPUTE));
    json_object_set_new_nocheck(args, "index", json_integer(i));
    if (op->result)
      json_object_set_new_nocheck(args, "type",
                                  json_string(pt_type_str(&op->result->type, buf, sizeof buf)));
    json_object_set_new_nocheck(args, "where", json_string(pt_sim_where(op, buf, sizeof buf)));
    if (e->flops > 0)
      json_object_set_new_nocheck(args, "flops", json_real(e->flops));
    json_object_set_new_nocheck(args, comm ? "bytes_sent" : "bytes_accessed",
                                json_integer(e->bytes));
    if (comm) {
      json_object_set_new_nocheck(args, "group", json_integer(e->group));
      if (e->link >= 0)
        json_object_set_new_nocheck(args, "link", json_string(r->hw->links[e->link].name));
    }
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
  json_object_set_new_nocheck(root, "otherData", other);
  char *s = json_dumps(root, JSON_COMPACT);
  json_decref(root);
  PT_ASSERT(s);
  char *copy = pt_strdup(s);
  free(s);
  return copy;
}
