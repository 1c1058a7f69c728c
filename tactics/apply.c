/* Applying tactics: seed shardings on the arguments a tactic names, then
 * propagate along its axis (passes/propagate.c). */
#include <fnmatch.h>
#include <string.h>

#include "passes.h"
#include "sharding.h"
#include "tactics.h"

pt_status pt_schedule_set_mesh(pt_module *m, const pt_schedule *s, pt_diag *d) {
  if (m->mesh.naxes == 0) {
    for (int i = 0; i < s->mesh.naxes; i++)
      pt_module_add_axis(m, s->mesh.names[i], s->mesh.sizes[i]);
    m->mesh.loc = s->mesh.loc;
    return PT_OK;
  }
  bool same = m->mesh.naxes == s->mesh.naxes;
  for (int i = 0; same && i < s->mesh.naxes; i++)
    same = strcmp(m->mesh.names[i], s->mesh.names[i]) == 0 && m->mesh.sizes[i] == s->mesh.sizes[i];
  if (!same) {
    pt_diag_error(d, s->mesh.loc, "the tactic script's mesh differs from the mesh %s declares",
                  m->file);
    return PT_ERR;
  }
  return PT_OK;
}

static int match_args(pt_func *f, const pt_tactic_entry *e, pt_value **out) {
  int n = 0;
  for (int i = 0; i < f->nargs; i++)
    if (f->args[i]->name && fnmatch(e->glob, f->args[i]->name, 0) == 0)
      out[n++] = f->args[i];
  return n;
}

static pt_status seed(pt_func *f, const pt_tactic *t, int index, const pt_tactic_entry *e,
                      bool replicate, pt_diag *d) {
  pt_value **vs = pt_calloc((size_t)f->nargs + 1, sizeof *vs);
  int n = match_args(f, e, vs);
  pt_status st = PT_OK;
  if (n == 0) {
    pt_diag_error(d, e->loc, "'%s' matches no argument of @%s", e->glob, f->name);
    st = PT_ERR;
  }
  int64_t size = f->module->mesh.sizes[t->axis];
  for (int k = 0; k < n && st == PT_OK; k++) {
    pt_value *v = vs[k];
    pt_axis_state s = pt_sharding_axis(v, t->axis);
    if (replicate) {
      if (s.kind == PT_SH_UNKNOWN)
        pt_sharding_set(v, t->axis, PT_SH_REPLICATED, -1, index, NULL);
      else if (s.kind != PT_SH_REPLICATED) {
        pt_diag_error(d, e->loc,
                      "%%%s is already sharded along '%s' by an earlier tactic; it "
                      "cannot be made replicated",
                      v->name, t->axis_name);
        st = PT_ERR;
      }
      continue;
    }
    if (e->dim < 0 || e->dim >= v->type.rank) {
      char b[PT_TYPE_STRLEN];
      pt_diag_error(d, e->loc, "%%%s is %s: it has no dimension %d", v->name,
                    pt_type_str(&v->type, b, sizeof b), e->dim);
      st = PT_ERR;
    } else if (s.kind == PT_SH_SHARDED && s.dim == e->dim) {
      /* already laid out so (an idempotent re-application) */
    } else if (s.kind != PT_SH_UNKNOWN) {
      pt_diag_error(d, e->loc,
                    "%%%s is already decided along '%s' by an earlier tactic; "
                    "tactics never undo each other",
                    v->name, t->axis_name);
      st = PT_ERR;
    } else if (pt_sharding_local_dim(v, e->dim) % size) {
      pt_diag_error(d, e->loc,
                    "dimension %d of %%%s has %lld elements per device, which "
                    "'%s' (%lld devices) does not divide",
                    e->dim, v->name, (long long)pt_sharding_local_dim(v, e->dim), t->axis_name,
                    (long long)size);
      st = PT_ERR;
    } else {
      pt_sharding_set(v, t->axis, PT_SH_SHARDED, e->dim, index, NULL);
    }
  }
  pt_free(vs);
  return st;
}

pt_status pt_tactic_apply(pt_func *f, const pt_schedule *s, int index, pt_prop_report *rep,
                          pt_diag *d) {
  const pt_tactic *t = &s->tactics[index];
  if (t->automatic) {
    pt_diag_error(d, t->loc,
                  "tactic '%s' is automatic (auto: true): a search resolves it into "
                  "ordinary tactics first; run `partita auto FILE --tactics %s --hw HW.yaml` "
                  "and use the script it writes",
                  t->name, s->file);
    return PT_ERR;
  }
  pt_status st = PT_OK;
  /* shared constants would tie unrelated code's shardings together */
  pt_pass_split_constants(f->module, d);
  for (int i = 0; i < t->nreplicate; i++)
    if (seed(f, t, index, &t->replicate[i], true, d) != PT_OK)
      st = PT_ERR;
  for (int i = 0; i < t->nshard; i++)
    if (seed(f, t, index, &t->shard[i], false, d) != PT_OK)
      st = PT_ERR;
  if (st != PT_OK)
    return st;
  pt_prop_report own = {0};
  pt_prop_report *r = rep ? rep : &own;
  int first = r->nconflicts;
  pt_propagate_axis(f, t->axis, index, r);
  /* an op that cannot compute in blocks where the tactic shards its
   * working dim (a shift's halo, a scan's time dim) is an error */
  for (int i = first; i < r->nconflicts; i++) {
    const pt_conflict *c = &r->conflicts[i];
    if (!c->fatal || c->tactic != index)
      continue;
    pt_diag_error(d, c->op->loc, "'%s' cannot be sharded along '%s' by tactic '%s': %s",
                  pt_op_name(c->op->code), t->axis_name, t->name, c->why);
    pt_diag_note(d, t->loc, "tactic '%s' is here", t->name);
    st = PT_ERR;
  }
  pt_prop_report_free(&own);
  return st;
}

pt_status pt_schedule_apply(pt_func *f, const pt_schedule *s, pt_prop_report *rep, pt_diag *d) {
  for (int i = 0; i < s->ntactics; i++)
    if (pt_tactic_apply(f, s, i, rep, d) != PT_OK)
      return PT_ERR;
  pt_propagate_finish(f);
  return PT_OK;
}

bool pt_schedule_has_auto(const pt_schedule *s, int *first) {
  for (int i = 0; i < s->ntactics; i++)
    if (s->tactics[i].automatic) {
      if (first)
        *first = i;
      return true;
    }
  return false;
}
