/* The virtual mesh executor (see vmesh.h). */
#include "vmesh.h"
#include "lower.h"

#include <string.h>

/* ---- boxes of row-major arrays --------------------------------------- */

/* Copies the box of `extent` at src_start in src to dst_start in dst (both
 * of one element type), row by row along the innermost dim. */
static void copy_box(const pt_tensor *src, const int64_t *src_start, pt_tensor *dst,
                     const int64_t *dst_start, const int64_t *extent) {
  PT_ASSERT(!src->wide && !dst->wide && src->type.dtype == dst->type.dtype);
  int r = src->type.rank;
  size_t es = pt_dtype_size(src->type.dtype);
  if (r == 0) {
    memcpy(dst->data, src->data, es);
    return;
  }
  int64_t ss[PT_MAX_RANK], ds[PT_MAX_RANK], idx[PT_MAX_RANK] = {0};
  ss[r - 1] = ds[r - 1] = 1;
  for (int d = r - 2; d >= 0; d--) {
    ss[d] = ss[d + 1] * src->type.dims[d + 1];
    ds[d] = ds[d + 1] * dst->type.dims[d + 1];
  }
  for (int d = 0; d < r; d++)
    if (extent[d] == 0)
      return;
  for (;;) {
    int64_t so = 0, dof = 0;
    for (int d = 0; d < r; d++) {
      so += (src_start[d] + idx[d]) * ss[d];
      dof += (dst_start[d] + idx[d]) * ds[d];
    }
    memcpy((char *)dst->data + dof * (int64_t)es, (const char *)src->data + so * (int64_t)es,
           (size_t)extent[r - 1] * es);
    int d = r - 2;
    while (d >= 0 && ++idx[d] == extent[d])
      idx[d--] = 0;
    if (d < 0)
      break;
  }
}

static const int64_t zeros[PT_MAX_RANK];

pt_tensor *pt_block_of(const pt_tensor *global, const pt_mesh *mesh, const pt_layout *l,
                       int64_t dev) {
  pt_type t = global->type;
  int64_t start[PT_MAX_RANK];
  pt_layout_block(mesh, &global->type, l, dev, start);
  for (int d = 0; d < t.rank; d++) {
    int64_t n = 1;
    for (int k = 0; k < l->naxes[d]; k++)
      n *= mesh->sizes[l->axes[d][k]];
    t.dims[d] /= n;
  }
  pt_tensor *b = pt_tensor_create(t);
  copy_box(global, start, b, zeros, t.dims);
  return b;
}

pt_tensor *pt_blocks_join(pt_tensor *const *blocks, const pt_mesh *mesh, const pt_layout *l,
                          pt_type global, const char *what, pt_diag *d) {
  pt_tensor *g = pt_tensor_create(global);
  int64_t ndev = pt_mesh_devices(mesh);
  /* the first device holding each block writes it; the others must agree */
  for (int64_t dev = 0; dev < ndev; dev++) {
    int64_t start[PT_MAX_RANK];
    pt_layout_block(mesh, &global, l, dev, start);
    /* is this block already written by an earlier device? */
    int64_t first = -1;
    for (int64_t e = 0; e < dev && first < 0; e++) {
      int64_t s2[PT_MAX_RANK];
      pt_layout_block(mesh, &global, l, e, s2);
      if (memcmp(s2, start, sizeof(int64_t) * (size_t)global.rank) == 0)
        first = e;
    }
    if (first < 0) {
      copy_box(blocks[dev], zeros, g, start, blocks[dev]->type.dims);
      continue;
    }
    if (memcmp(blocks[dev]->data, blocks[first]->data, pt_type_bytes(&blocks[dev]->type)) != 0) {
      pt_diag_error(d, PT_NOLOC,
                    "%s: devices %lld and %lld hold the same block but their values differ",
                    what, (long long)first, (long long)dev);
      pt_tensor_destroy(g);
      g = NULL;
      break;
    }
  }
  return g;
}

/* ---- groups ----------------------------------------------------------- */

typedef struct {
  int axes[PT_MAX_AXES];
  int n;
  int64_t size;
} group;

static group group_of(const pt_op *op, const pt_mesh *mesh) {
  group g = {{0}, 0, 1};
  const pt_attr *a = pt_op_attr(op, PT_A_AXES);
  for (int i = 0; i < a->val.n; i++) {
    const char *s = a->val.items[i].s;
    g.axes[g.n] = pt_mesh_axis(mesh, s, strlen(s));
    g.size *= mesh->sizes[g.axes[g.n++]];
  }
  return g;
}

/* dev's position in its group */
static int64_t position(const pt_mesh *mesh, const group *g, int64_t dev) {
  int64_t p = 0;
  for (int k = 0; k < g->n; k++)
    p = p * mesh->sizes[g->axes[k]] + pt_mesh_coord(mesh, dev, g->axes[k]);
  return p;
}

/* the device at position p of dev's group */
static int64_t member(const pt_mesh *mesh, const group *g, int64_t dev, int64_t p) {
  int64_t coord[PT_MAX_AXES];
  for (int a = 0; a < mesh->naxes; a++)
    coord[a] = pt_mesh_coord(mesh, dev, a);
  for (int k = g->n - 1; k >= 0; k--) {
    coord[g->axes[k]] = p % mesh->sizes[g->axes[k]];
    p /= mesh->sizes[g->axes[k]];
  }
  int64_t id = 0;
  for (int a = 0; a < mesh->naxes; a++)
    id = id * mesh->sizes[a] + coord[a];
  return id;
}

/* Element-wise sum (or max) of the group's operands, in group order. */
static void reduce_group(const pt_mesh *mesh, const group *g, int64_t dev,
                         pt_tensor *const *x, pt_tensor *out, bool max) {
  int64_t n = pt_type_numel(&out->type);
  for (int64_t p = 0; p < g->size; p++) {
    const pt_tensor *t = x[member(mesh, g, dev, p)];
    if (out->type.dtype == PT_F32) {
      float *o = out->data;
      const float *s = t->data;
      for (int64_t i = 0; i < n; i++)
        o[i] = p == 0 ? s[i] : max ? (s[i] > o[i] || s[i] != s[i] ? s[i] : o[i]) : o[i] + s[i];
    } else {
      int32_t *o = out->data;
      const int32_t *s = t->data;
      for (int64_t i = 0; i < n; i++)
        o[i] = p == 0 ? s[i]
               : max  ? (s[i] > o[i] ? s[i] : o[i])
                      : (int32_t)(uint32_t)((uint32_t)o[i] + (uint32_t)s[i]);
    }
  }
}

/* Runs collective op for every device: x[dev] operands, r[dev] results. */
static void run_collective(const pt_op *op, const pt_mesh *mesh, int64_t ndev,
                           pt_tensor *const *x, pt_tensor **r) {
  group g = group_of(op, mesh);
  for (int64_t dev = 0; dev < ndev; dev++) {
    pt_tensor *out = r[dev];
    const pt_type *it = &x[dev]->type;
    int64_t p = position(mesh, &g, dev);
    int64_t start[PT_MAX_RANK] = {0}, ext[PT_MAX_RANK];
    for (int d = 0; d < it->rank; d++)
      ext[d] = it->dims[d];
    switch (op->code) {
    case PT_OP_ALL_GATHER: {
      int64_t dim = pt_op_int(op, PT_A_DIM, 0);
      for (int64_t q = 0; q < g.size; q++) {
        start[dim] = q * it->dims[dim];
        copy_box(x[member(mesh, &g, dev, q)], zeros, out, start, ext);
      }
      break;
    }
    case PT_OP_REDUCE_SCATTER: {
      int64_t dim = pt_op_int(op, PT_A_DIM, 0);
      pt_tensor *sum = pt_tensor_create(*it);
      reduce_group(mesh, &g, dev, x, sum, false);
      start[dim] = p * out->type.dims[dim];
      copy_box(sum, start, out, zeros, out->type.dims);
      pt_tensor_destroy(sum);
      break;
    }
    case PT_OP_ALL_REDUCE:
      reduce_group(mesh, &g, dev, x, out, strcmp(pt_op_ident(op, PT_A_REDUCE), "max") == 0);
      break;
    case PT_OP_ALL_TO_ALL: {
      int64_t sd = pt_op_int(op, PT_A_SPLIT_DIM, 0), cd = pt_op_int(op, PT_A_CONCAT_DIM, 0);
      int64_t chunk = it->dims[sd] / g.size;
      for (int64_t q = 0; q < g.size; q++) {
        int64_t ss[PT_MAX_RANK] = {0}, ds[PT_MAX_RANK] = {0}, e[PT_MAX_RANK];
        for (int d = 0; d < it->rank; d++)
          e[d] = it->dims[d];
        e[sd] = chunk;
        ss[sd] = p * chunk;
        ds[cd] = q * e[cd]; /* e[cd] is chunk when split_dim == concat_dim */
        copy_box(x[member(mesh, &g, dev, q)], ss, out, ds, e);
      }
      break;
    }
    case PT_OP_AXIS_SLICE: {
      int64_t dim = pt_op_int(op, PT_A_DIM, 0);
      start[dim] = p * out->type.dims[dim];
      copy_box(x[dev], start, out, zeros, out->type.dims);
      break;
    }
    case PT_OP_COLLECTIVE_PERMUTE: {
      const pt_attr *pa = pt_op_attr(op, PT_A_PAIRS);
      for (int i = 0; i < pa->val.n; i++)
        if (pa->val.items[i].items[1].i == p) {
          copy_box(x[member(mesh, &g, dev, pa->val.items[i].items[0].i)], zeros, out, zeros,
                   out->type.dims);
          break;
        } /* no sender: the result stays zero */
      break;
    }
    default:
      PT_UNREACHABLE();
    }
  }
}

/* ---- execution -------------------------------------------------------- */

/* Every device lives in this process: the arguments' and results' blocks
 * and a slot per value of every device, at least. A mesh whose devices
 * cannot fit is refused before anything is allocated. */
static bool fits_in_memory(const pt_func *g, int64_t ndev, pt_diag *d) {
  int64_t per = pt_mul_sat(g->nvalues, (int64_t)sizeof(pt_tensor *));
  for (int i = 0; i < g->nargs; i++)
    per = pt_add_sat(per, (int64_t)pt_type_bytes(&g->args[i]->type));
  for (int i = 0; i < g->nresults; i++)
    per = pt_add_sat(per, (int64_t)pt_type_bytes(&g->results[i].type));
  int64_t need = pt_mul_sat(per, ndev), phys = pt_physical_memory();
  if (need <= phys)
    return true;
  pt_diag_error(d, g->loc,
                "the virtual mesh needs at least %lld bytes for @%s on its %lld devices, more "
                "than this machine's %lld bytes of memory; run it under mpirun",
                (long long)need, g->name, (long long)ndev, (long long)phys);
  return false;
}

pt_status pt_vmesh_run(const pt_func *g, pt_tensor *const *args, pt_tensor **results,
                       pt_diag *d) {
  const pt_mesh *mesh = &g->module->mesh;
  int64_t ndev = pt_mesh_devices(mesh);
  if (!fits_in_memory(g, ndev, d))
    return PT_ERR;
  int nv = g->nvalues > 0 ? g->nvalues : 1;
  pt_tensor **vals = pt_calloc((size_t)(nv * ndev), sizeof *vals); /* [value][dev] */
  bool *borrowed = pt_calloc((size_t)nv, 1);
  int *last = pt_malloc((size_t)nv * sizeof *last);
  for (int i = 0; i < nv; i++)
    last[i] = -1;
  for (int i = 0; i < g->nargs; i++) {
    borrowed[g->args[i]->id] = true;
    for (int64_t dev = 0; dev < ndev; dev++) {
      pt_tensor *a = args[dev * g->nargs + i];
      PT_ASSERT(pt_type_equal(&a->type, &g->args[i]->type));
      vals[g->args[i]->id * ndev + dev] = a;
    }
  }
  for (int i = 0; i < g->nops; i++)
    for (int j = 0; j < g->ops[i]->noperands; j++)
      last[g->ops[i]->operands[j]->id] = i;
  for (int i = 0; i < g->nresults; i++)
    last[g->results[i].value->id] = g->nops;
  pt_status st = PT_OK;
  pt_tensor **x = pt_malloc((size_t)(64 * ndev) * sizeof *x);
  for (int i = 0; i < g->nops && st == PT_OK; i++) {
    const pt_op *op = g->ops[i];
    PT_ASSERT(op->noperands <= 64);
    int rid = op->result->id;
    for (int64_t dev = 0; dev < ndev; dev++)
      vals[rid * ndev + dev] = pt_tensor_create(op->result->type);
    if (pt_optab[op->code].flags & PT_OPF_COLLECTIVE) {
      run_collective(op, mesh, ndev, &vals[op->operands[0]->id * ndev], &vals[rid * ndev]);
    } else {
      for (int64_t dev = 0; dev < ndev && st == PT_OK; dev++) {
        for (int j = 0; j < op->noperands; j++)
          x[j] = vals[op->operands[j]->id * ndev + dev];
        st = pt_interp_op(op, x, vals[rid * ndev + dev], d);
        if (st != PT_OK)
          pt_diag_note(d, op->loc, "on device %lld of %lld", (long long)dev, (long long)ndev);
      }
    }
    for (int j = 0; j <= op->noperands; j++) {
      int id = j < op->noperands ? op->operands[j]->id : rid;
      if (!borrowed[id] && (last[id] == i || (j == op->noperands && last[id] < 0)))
        for (int64_t dev = 0; dev < ndev; dev++) {
          pt_tensor_destroy(vals[id * ndev + dev]);
          vals[id * ndev + dev] = NULL;
        }
    }
  }
  pt_free(x);
  bool *given = pt_calloc((size_t)nv, 1);
  for (int i = 0; i < g->nresults; i++) {
    int id = g->results[i].value->id;
    for (int64_t dev = 0; dev < ndev; dev++) {
      pt_tensor **slot = &results[dev * g->nresults + i];
      if (st != PT_OK)
        *slot = NULL;
      else if (borrowed[id] || given[id])
        *slot = pt_tensor_clone(vals[id * ndev + dev]);
      else
        *slot = vals[id * ndev + dev];
    }
    if (st == PT_OK && !borrowed[id])
      given[id] = true;
  }
  for (int i = 0; i < nv; i++)
    if (!borrowed[i] && !given[i])
      for (int64_t dev = 0; dev < ndev; dev++)
        pt_tensor_destroy(vals[i * ndev + dev]);
  pt_free(given);
  pt_free(last);
  pt_free(borrowed);
  pt_free(vals);
  return st;
}

pt_status pt_vmesh_run_global(const pt_func *f, const pt_func *g, pt_tensor *const *args,
                              pt_tensor **results, pt_diag *d) {
  const pt_mesh *mesh = &g->module->mesh;
  int64_t ndev = pt_mesh_devices(mesh);
  if (!fits_in_memory(g, ndev, d))
    return PT_ERR;
  pt_tensor **dargs = pt_calloc((size_t)(ndev * g->nargs) + 1, sizeof *dargs);
  pt_tensor **dres = pt_calloc((size_t)(ndev * g->nresults) + 1, sizeof *dres);
  for (int i = 0; i < f->nargs; i++) {
    pt_layout l = pt_layout_of(f->args[i]);
    for (int64_t dev = 0; dev < ndev; dev++)
      dargs[dev * g->nargs + i] = pt_block_of(args[i], mesh, &l, dev);
  }
  pt_status st = pt_vmesh_run(g, dargs, dres, d);
  pt_tensor **blocks = pt_calloc((size_t)ndev, sizeof *blocks);
  for (int i = 0; i < f->nresults; i++) {
    results[i] = NULL;
    if (st != PT_OK)
      continue;
    pt_layout l = pt_lower_result_layout(f, i);
    for (int64_t dev = 0; dev < ndev; dev++)
      blocks[dev] = dres[dev * g->nresults + i];
    char what[300];
    snprintf(what, sizeof what, "result '%s'", f->results[i].name);
    results[i] = pt_blocks_join(blocks, mesh, &l, f->results[i].type, what, d);
    if (!results[i])
      st = PT_ERR;
  }
  if (st != PT_OK)
    for (int i = 0; i < f->nresults; i++) {
      pt_tensor_destroy(results[i]);
      results[i] = NULL;
    }
  for (int64_t k = 0; k < ndev * g->nargs; k++)
    pt_tensor_destroy(dargs[k]);
  for (int64_t k = 0; k < ndev * g->nresults; k++)
    pt_tensor_destroy(dres[k]);
  pt_free(blocks);
  pt_free(dargs);
  pt_free(dres);
  return st;
}

bool pt_vmesh_check_plan(pt_module *m, const pt_type *t, const pt_plan *plan, char *msg,
                         size_t n) {
  const pt_mesh *mesh = &m->mesh;
  char fname[32];
  snprintf(fname, sizeof fname, "reshard%d", m->nfuncs);
  pt_func *f = pt_func_create(m, fname, PT_NOLOC);
  pt_layout src = plan->start;
  uint32_t partial = src.partial_sum | src.partial_max;
  src.partial_sum = src.partial_max = 0;
  pt_type lt = *t;
  for (int d = 0; d < t->rank; d++)
    for (int k = 0; k < src.naxes[d]; k++)
      lt.dims[d] /= mesh->sizes[src.axes[d][k]];
  pt_value *x = pt_func_add_arg(f, "x", PT_ROLE_INPUT, lt, PT_NOLOC);
  pt_value *y = pt_plan_emit(f, PT_NOLOC, mesh, plan, x, NULL);
  pt_func_add_result(f, "y", y->type, y, PT_NOLOC);
  pt_diag *d = pt_diag_create(NULL);
  bool ok = pt_verify_func(f, d) == PT_OK;
  int64_t ndev = pt_mesh_devices(mesh);
  pt_tensor *global = pt_tensor_create(*t);
  for (int64_t i = 0; i < pt_type_numel(t); i++)
    pt_tensor_set(global, i, (double)i);
  pt_tensor **args = pt_calloc((size_t)ndev, sizeof *args);
  pt_tensor **res = pt_calloc((size_t)ndev, sizeof *res);
  for (int64_t dev = 0; dev < ndev; dev++) {
    args[dev] = pt_block_of(global, mesh, &src, dev);
    bool first = true;
    for (int a = 0; a < mesh->naxes; a++)
      if ((partial >> a) & 1 && pt_mesh_coord(mesh, dev, a) != 0)
        first = false;
    if (!first && plan->start.partial_sum)
      memset(args[dev]->data, 0, pt_type_bytes(&args[dev]->type));
  }
  if (ok && pt_vmesh_run(f, args, res, d) != PT_OK)
    ok = false;
  int64_t bad = -1;
  for (int64_t dev = 0; ok && dev < ndev && bad < 0; dev++) {
    pt_tensor *want = pt_block_of(global, mesh, &plan->target, dev);
    if (!pt_type_equal(&want->type, &res[dev]->type) ||
        memcmp(want->data, res[dev]->data, pt_type_bytes(&want->type)) != 0)
      bad = dev;
    pt_tensor_destroy(want);
  }
  if (!ok)
    snprintf(msg, n, "the plan did not run on the virtual mesh: %s",
             pt_diag_count(d) ? pt_diag_text(d, 0) : "?");
  else if (bad >= 0)
    snprintf(msg, n, "device %lld does not hold its block of the target", (long long)bad);
  else
    snprintf(msg, n, "every one of the %lld devices holds exactly its block of the target",
             (long long)ndev);
  for (int64_t dev = 0; dev < ndev; dev++) {
    pt_tensor_destroy(args[dev]);
    pt_tensor_destroy(res[dev]);
  }
  pt_free(args);
  pt_free(res);
  pt_tensor_destroy(global);
  pt_diag_destroy(d);
  return ok && bad < 0;
}
