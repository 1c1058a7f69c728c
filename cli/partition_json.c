/* `partita partition --json`: the sharded function, its tables
 * (tactics/analysis.h's pt_shard_tables) and its conflicts as one JSON
 * object (cli/sharded.h). */
#include <stdlib.h>

#include "json.h"
#include "sharded.h"

#define VNAME(x, v) pt_analysis_name(&(x)->an, v)

static const char *kind_word(pt_shkind k) {
  switch (k) {
  case PT_SH_UNKNOWN:
    return "unknown";
  case PT_SH_REPLICATED:
    return "replicated";
  case PT_SH_SHARDED:
    return "sharded";
  case PT_SH_PARTIAL_SUM:
    return "partial_sum";
  case PT_SH_PARTIAL_MAX:
    return "partial_max";
  }
  return "unknown";
}

static json_t *tactic_json(const pt_cli_sharded *x, int t) {
  const char *name = pt_analysis_tactic(&x->an, t);
  return name ? json_string(name) : json_null();
}

static json_t *value_json(const pt_cli_sharded *x, const pt_value_row *row) {
  json_t *o = json_object();
  const pt_value *v = row->value;
  char sb[512];
  json_object_set_new(o, "name", json_string(row->label ? row->label : VNAME(x, v)));
  if (row->label)
    json_object_set_new(o, "value", json_string(VNAME(x, v)));
  if (!v->def)
    json_object_set_new(o, "role", json_string(pt_role_name(v->role)));
  json_object_set_new(o, "dtype", json_string(pt_dtype_name(v->type.dtype)));
  json_object_set_new(o, "shape", pt_cli_json_shape(&v->type));
  json_object_set_new(o, "sharding", json_string(pt_sharding_str(v, sb, sizeof sb)));
  json_object_set_new(o, "local_shape", pt_cli_json_shape(&row->local));
  json_object_set_new(o, "local_bytes", json_integer((json_int_t)row->local_bytes));
  json_object_set_new(o, "global_bytes", json_integer((json_int_t)row->global_bytes));
  json_t *axes = json_array();
  const pt_mesh *m = &x->m->mesh;
  for (int a = 0; a < m->naxes; a++) {
    pt_axis_state s = pt_sharding_axis(v, a);
    json_t *ao = json_object();
    json_object_set_new(ao, "axis", json_string(m->names[a]));
    json_object_set_new(ao, "state", json_string(kind_word((pt_shkind)s.kind)));
    if (s.kind == PT_SH_SHARDED)
      json_object_set_new(ao, "dim", json_integer(s.dim));
    json_object_set_new(ao, "tactic", tactic_json(x, s.tactic));
    json_array_append_new(axes, ao);
  }
  json_object_set_new(o, "axes", axes);
  return o;
}

static json_t *conflicts_json(const pt_cli_sharded *x, const char *file) {
  json_t *jc = json_array();
  for (int i = 0; i < x->an.rep.nconflicts; i++) {
    const pt_conflict *c = &x->an.rep.conflicts[i];
    json_t *o = json_object();
    json_object_set_new(o, "file", json_string(c->op->loc.file ? c->op->loc.file : file));
    json_object_set_new(o, "line", json_integer(c->op->loc.line));
    json_object_set_new(o, "col", json_integer(c->op->loc.col));
    json_object_set_new(o, "op", json_string(pt_op_name(c->op->code)));
    json_object_set_new(o, "value", json_string(c->op->result ? VNAME(x, c->op->result) : "?"));
    json_object_set_new(o, "axis", json_string(x->m->mesh.names[c->axis]));
    json_object_set_new(o, "tactic", tactic_json(x, c->tactic));
    json_object_set_new(o, "why", json_string(c->why));
    json_array_append_new(jc, o);
  }
  return jc;
}

void pt_cli_partition_json(const pt_cli_sharded *x, const pt_cli_shard_args *a,
                           const pt_shard_tables *t) {
  const pt_mesh *mesh = &x->m->mesh;
  json_t *root = json_object();
  json_object_set_new(root, "file", json_string(a->file));
  json_object_set_new(root, "tactics", json_string(a->tactics));
  json_object_set_new(root, "func", json_string(x->f->name));
  json_t *jm = json_object();
  for (int i = 0; i < mesh->naxes; i++)
    json_object_set_new(jm, mesh->names[i], json_integer(mesh->sizes[i]));
  json_object_set_new(root, "mesh", jm);
  json_object_set_new(root, "devices", json_integer(pt_mesh_devices(mesh)));
  json_t *jt = json_array();
  for (int i = 0; i < x->s->ntactics; i++) {
    const pt_tactic *tc = &x->s->tactics[i];
    json_t *e = json_object();
    json_object_set_new(e, "name", json_string(tc->name));
    json_object_set_new(e, "axis", json_string(tc->axis_name));
    json_object_set_new(e, "line", json_integer(tc->loc.line));
    json_array_append_new(jt, e);
  }
  json_object_set_new(root, "schedule", jt);
  json_object_set_new(root, "sweeps", json_integer(x->an.rep.sweeps));
  json_object_set_new(root, "min_bytes", json_integer((json_int_t)t->min_bytes));
  json_object_set_new(root, "argument_bytes_per_device", json_integer((json_int_t)t->arg_local));
  json_object_set_new(root, "argument_bytes_global", json_integer((json_int_t)t->arg_global));
  const char *keys[3] = {"arguments", "results", "intermediates"};
  const pt_value_table *tabs[3] = {&t->args, &t->results, &t->inter};
  for (int s = 0; s < 3; s++) {
    json_t *arr = json_array();
    for (int i = 0; i < tabs[s]->n; i++)
      json_array_append_new(arr, value_json(x, &tabs[s]->rows[i]));
    json_object_set_new(root, keys[s], arr);
  }
  json_object_set_new(root, "conflicts", conflicts_json(x, a->file));
  char *text = NULL;
  size_t tlen = 0;
  FILE *mf = open_memstream(&text, &tlen);
  if (mf) {
    pt_print_func(x->f, mf);
    fclose(mf);
    json_object_set_new(root, "text", json_string(text));
    free(text);
  }
  pt_cli_json_print(root, 0);
}
