/* Shardings of values over the module's mesh (see sharding.h). */
#include "sharding.h"

#include <string.h>

static const pt_mesh *mesh_of(const pt_value *v) { return &v->func->module->mesh; }

pt_sharding *pt_sharding_of(pt_value *v) {
  if (!v->sharding)
    v->sharding = pt_arena_alloc(v->func->module->arena, sizeof *v->sharding);
  return v->sharding;
}

void pt_sharding_set(pt_value *v, int axis, pt_shkind kind, int dim, int tactic,
                     const pt_op *via) {
  pt_sharding *s = pt_sharding_of(v);
  PT_ASSERT(axis >= 0 && axis < mesh_of(v)->naxes && s->ax[axis].kind == PT_SH_UNKNOWN);
  s->ax[axis] = (pt_axis_state){(uint8_t)kind, (int8_t)(kind == PT_SH_SHARDED ? dim : -1),
                                (int16_t)tactic, via};
  if (kind == PT_SH_SHARDED) {
    PT_ASSERT(dim >= 0 && dim < v->type.rank && s->norder[dim] < PT_MAX_AXES);
    s->order[dim][s->norder[dim]++] = (int8_t)axis;
  }
}

int64_t pt_sharding_local_dim(const pt_value *v, int dim) {
  int64_t n = v->type.dims[dim];
  if (!v->sharding)
    return n;
  const pt_mesh *m = mesh_of(v);
  for (int k = 0; k < v->sharding->norder[dim]; k++)
    n /= m->sizes[v->sharding->order[dim][k]];
  return n;
}

bool pt_sharding_complete(const pt_value *v) {
  const pt_mesh *m = mesh_of(v);
  for (int a = 0; a < m->naxes; a++)
    if (pt_sharding_axis(v, a).kind == PT_SH_UNKNOWN)
      return false;
  return true;
}

pt_type pt_sharding_local_type(const pt_value *v) {
  pt_type t = v->type;
  for (int d = 0; d < t.rank; d++)
    t.dims[d] = pt_sharding_local_dim(v, d);
  return t;
}

static void print_axes(FILE *out, const pt_value *v, const char *head, pt_shkind kind) {
  const pt_mesh *m = mesh_of(v);
  int n = 0;
  for (int a = 0; a < m->naxes; a++) {
    if (pt_sharding_axis(v, a).kind != kind)
      continue;
    if (n++ == 0)
      fprintf(out, " %s(%s", head,
              kind == PT_SH_PARTIAL_SUM ? "sum: " : kind == PT_SH_PARTIAL_MAX ? "max: " : "");
    else
      fputs(", ", out);
    fputs(m->names[a], out);
  }
  if (n)
    fputc(')', out);
}

void pt_sharding_print(const pt_value *v, FILE *out) {
  const pt_sharding *s = v->sharding;
  if (!s)
    return;
  const pt_mesh *m = mesh_of(v);
  fputs(" {", out);
  for (int d = 0; d < v->type.rank; d++) {
    fputs(d ? ", [" : "[", out);
    for (int k = 0; k < s->norder[d]; k++)
      fprintf(out, "%s%s", k ? ", " : "", m->names[s->order[d][k]]);
    fputc(']', out);
  }
  fputc('}', out);
  print_axes(out, v, "partial", PT_SH_PARTIAL_SUM);
  print_axes(out, v, "partial", PT_SH_PARTIAL_MAX);
  print_axes(out, v, "open", PT_SH_UNKNOWN);
}

char *pt_sharding_str(const pt_value *v, char *buf, size_t n) {
  if (!v->sharding) {
    snprintf(buf, n, "unknown");
    return buf;
  }
  FILE *f = fmemopen(buf, n, "w");
  if (!f) {
    snprintf(buf, n, "?");
    return buf;
  }
  pt_sharding_print(v, f);
  fclose(f);
  buf[n - 1] = 0;
  if (buf[0] == ' ')
    memmove(buf, buf + 1, strlen(buf));
  return buf;
}
