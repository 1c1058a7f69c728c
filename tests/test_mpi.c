/* The MPI runtime under mpirun (ctest runs it on 1, 2 and 4 ranks): every
 * collective on every mesh shape that fits the world, along every dim and
 * every order of its axes, against the virtual mesh bit for bit (every rank
 * runs the whole virtual mesh and compares its own block); random
 * redistribution plans run both ways; and lowered MLP train steps run by the
 * per-rank executor against pt_vmesh_run_global.
 *
 * Bit-for-bit needs sums that do not depend on MPI's reduction order, so the
 * f32 test data are small multiples of 1/4 (every partial sum is exact).
 *
 * Check runs without fork (CK_NOFORK: a forked test breaks large MPI
 * messages). A failure on one rank must not leave the others waiting in a
 * collective, so each test gathers its verdict on every rank (agree) and
 * asserts it everywhere. */
#include <math.h>
#include <mpi.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "exec.h"
#include "init.h"
#include "lower.h"
#include "mpi_coll.h"
#include "passes.h"
#include "redistribute.h"
#include "step_check.h"
#include "tactics.h"
#include "testutil.h"
#include "vmesh.h"

static int world_rank, world_size;

/* ---- verdicts ----------------------------------------------------------- */

static char failure[512]; /* this rank's first failure in the running test */

static void fail_local(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void fail_local(const char *fmt, ...) {
  if (failure[0])
    return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(failure, sizeof failure, fmt, ap);
  va_end(ap);
}

/* Fails the test on every rank if it failed on any. */
static void agree(void) {
  int ok = failure[0] == 0, all = 0;
  MPI_Allreduce(&ok, &all, 1, MPI_INT, MPI_LAND, MPI_COMM_WORLD);
  char msg[600];
  snprintf(msg, sizeof msg, "rank %d of %d: %s", world_rank, world_size,
           failure[0] ? failure : "another rank failed");
  failure[0] = 0;
  ck_assert_msg(all, "%s", msg);
}

/* ---- meshes that fit the world ------------------------------------------ */

typedef struct {
  int naxes;
  int64_t sizes[3];
} mesh_shape;

static int world_meshes(mesh_shape *out) {
  int n = 0;
  int64_t w = world_size;
  out[n++] = (mesh_shape){1, {w}};
  out[n++] = (mesh_shape){2, {1, w}};
  if (w > 1)
    out[n++] = (mesh_shape){2, {w, 1}};
  if (w == 4) {
    out[n++] = (mesh_shape){2, {2, 2}};
    out[n++] = (mesh_shape){3, {2, 1, 2}};
  }
  return n;
}

static const char *axis_names[3] = {"x", "y", "z"};

static pt_module *mesh_module(const mesh_shape *s) {
  pt_module *m = pt_module_create("test_mpi");
  for (int a = 0; a < s->naxes; a++)
    pt_module_add_axis(m, axis_names[a], s->sizes[a]);
  return m;
}

static void mesh_str(const mesh_shape *s, char *buf, size_t n) {
  size_t k = (size_t)snprintf(buf, n, "{");
  for (int a = 0; a < s->naxes && k < n; a++)
    k += (size_t)snprintf(buf + k, n - k, "%s%s:%lld", a ? ", " : "", axis_names[a],
                          (long long)s->sizes[a]);
  if (k < n)
    snprintf(buf + k, n - k, "}");
}

/* ---- one collective against the virtual mesh ---------------------------- */

/* Element i of device dev's block: exact under any order of sums (f32:
 * multiples of 1/4 below 2^10); i32 values wrap when summed. */
static void fill_block(pt_tensor *t, int64_t dev, uint32_t salt) {
  int64_t n = pt_type_numel(&t->type);
  for (int64_t i = 0; i < n; i++) {
    uint32_t h = (uint32_t)(dev * 131 + i * 7 + salt * 17);
    switch (t->type.dtype) {
    case PT_F32:
      ((float *)t->data)[i] = (float)((int)(h % 61) - 30) * 0.25f;
      break;
    case PT_I32:
      ((int32_t *)t->data)[i] = (int32_t)(h * 2654435761u);
      break;
    case PT_PRED:
      ((uint8_t *)t->data)[i] = (uint8_t)(h % 3 == 0);
      break;
    case PT_DTYPE_COUNT:
      PT_UNREACHABLE();
    }
  }
}

typedef struct {
  pt_opcode code;
  int dim, dim2;      /* dim or split_dim, concat_dim */
  const char *reduce; /* all_reduce */
  int pairs;          /* permute: 0 shift without wrap, 1 cycle, 2 reverse, 3 identity of 0 */
  pt_dtype dtype;
  bool big; /* 1 MiB times the group size: a reduce_scatter big enough for the ring */
  bool mid; /* 8 x 33 x 17 (18 KB of f32): big enough for shared memory, in odd chunks */
} coll_case;

static int coll_cases(coll_case *out) {
  int n = 0;
  static const pt_dtype move_types[] = {PT_F32, PT_PRED};
  for (int t = 0; t < 2; t++)
    for (int dim = 0; dim < 3; dim++) {
      out[n++] = (coll_case){PT_OP_ALL_GATHER, dim, 0, NULL, 0, move_types[t], false};
      out[n++] = (coll_case){PT_OP_AXIS_SLICE, dim, 0, NULL, 0, move_types[t], false};
      for (int dim2 = 0; dim2 < 3; dim2++)
        out[n++] = (coll_case){PT_OP_ALL_TO_ALL, dim, dim2, NULL, 0, move_types[t], false};
    }
  for (int t = 0; t < 2; t++) {
    pt_dtype dt = t ? PT_I32 : PT_F32;
    for (int dim = 0; dim < 3; dim++)
      out[n++] = (coll_case){PT_OP_REDUCE_SCATTER, dim, 0, NULL, 0, dt, false};
    out[n++] = (coll_case){PT_OP_ALL_REDUCE, 0, 0, "sum", 0, dt, false};
    out[n++] = (coll_case){PT_OP_ALL_REDUCE, 0, 0, "max", 0, dt, false};
  }
  /* runtime/mpi_coll.c runs these as a ring of sends (ring_pays) */
  out[n++] = (coll_case){PT_OP_REDUCE_SCATTER, 0, 0, NULL, 0, PT_F32, true};
  out[n++] = (coll_case){PT_OP_REDUCE_SCATTER, 2, 0, NULL, 0, PT_F32, true};
  out[n++] = (coll_case){PT_OP_REDUCE_SCATTER, 1, 0, NULL, 0, PT_I32, true};
  for (int p = 0; p < 4; p++)
    out[n++] =
        (coll_case){PT_OP_COLLECTIVE_PERMUTE, 0, 0, NULL, p, p == 3 ? PT_PRED : PT_F32, false};
  return n;
}

/* A function with one collective over `axes` (n of them, mesh indices). */
static pt_func *one_op(pt_module *m, const coll_case *c, const int *axes, int n, pt_diag *d) {
  int64_t g = 1;
  const char *names[PT_MAX_AXES];
  for (int k = 0; k < n; k++) {
    names[k] = m->mesh.names[axes[k]];
    g *= m->mesh.sizes[axes[k]];
  }
  int64_t dims[3] = {2, 3, 5};
  if (c->big) {
    dims[0] = 16;
    dims[1] = 64;
    dims[2] = 256;
  } else if (c->mid) {
    dims[0] = 8;
    dims[1] = 33;
    dims[2] = 17;
  }
  if (c->code == PT_OP_REDUCE_SCATTER || c->code == PT_OP_AXIS_SLICE || c->code == PT_OP_ALL_TO_ALL)
    dims[c->dim] *= g;
  char fname[32];
  snprintf(fname, sizeof fname, "f%d", m->nfuncs);
  pt_func *f = pt_func_create(m, fname, PT_NOLOC);
  pt_value *x = pt_func_add_arg(f, "x", PT_ROLE_INPUT, pt_type_make(c->dtype, 3, dims), PT_NOLOC);
  pt_op *op = pt_op_create(f, c->code, &x, 1, PT_NOLOC);
  pt_op_set_idents(op, PT_A_AXES, names, n);
  switch (c->code) {
  case PT_OP_ALL_GATHER:
  case PT_OP_REDUCE_SCATTER:
  case PT_OP_AXIS_SLICE:
    pt_op_set_int(op, PT_A_DIM, c->dim);
    break;
  case PT_OP_ALL_TO_ALL:
    pt_op_set_int(op, PT_A_SPLIT_DIM, c->dim);
    pt_op_set_int(op, PT_A_CONCAT_DIM, c->dim2);
    break;
  case PT_OP_ALL_REDUCE:
    pt_op_set_ident(op, PT_A_REDUCE, c->reduce);
    break;
  case PT_OP_COLLECTIVE_PERMUTE: {
    pt_aval pairs[64][2], items[64];
    int np = 0;
    for (int64_t p = 0; p < g && np < 64; p++) {
      int64_t to = -1;
      switch (c->pairs) {
      case 0:
        to = p + 1 < g ? p + 1 : -1;
        break;
      case 1:
        to = (p + 1) % g;
        break;
      case 2:
        to = g - 1 - p;
        break;
      default:
        to = p == 0 ? 0 : -1;
      }
      if (to < 0)
        continue;
      pairs[np][0] = (pt_aval){.kind = PT_AV_INT, .i = p};
      pairs[np][1] = (pt_aval){.kind = PT_AV_INT, .i = to};
      items[np] = (pt_aval){.kind = PT_AV_LIST, .items = pairs[np], .n = 2};
      np++;
    }
    pt_aval list = {.kind = PT_AV_LIST, .items = items, .n = np};
    pt_op_set_attr(op, PT_A_PAIRS, &list, PT_NOLOC);
    break;
  }
  default:
    PT_UNREACHABLE();
  }
  pt_value *r = pt_op_finish(op, "r", NULL, d);
  if (!r)
    return NULL;
  pt_func_add_result(f, "r", r->type, r, PT_NOLOC);
  return pt_verify_func(f, d) == PT_OK ? f : NULL;
}

static const char *case_str(const coll_case *c, const pt_mesh *mesh, const int *axes, int n) {
  static char buf[200];
  size_t k =
      (size_t)snprintf(buf, sizeof buf, "%s %s", pt_op_name(c->code), pt_dtype_name(c->dtype));
  if (c->code == PT_OP_ALL_REDUCE)
    k += (size_t)snprintf(buf + k, sizeof buf - k, " %s", c->reduce);
  else if (c->code == PT_OP_COLLECTIVE_PERMUTE)
    k += (size_t)snprintf(buf + k, sizeof buf - k, " pairs %d", c->pairs);
  else if (c->code == PT_OP_ALL_TO_ALL)
    k += (size_t)snprintf(buf + k, sizeof buf - k, " %d->%d", c->dim, c->dim2);
  else
    k += (size_t)snprintf(buf + k, sizeof buf - k, " dim %d%s", c->dim, c->big ? " (big)" : "");
  k += (size_t)snprintf(buf + k, sizeof buf - k, " axes [");
  for (int i = 0; i < n; i++)
    k += (size_t)snprintf(buf + k, sizeof buf - k, "%s%s", i ? ", " : "", mesh->names[axes[i]]);
  snprintf(buf + k, sizeof buf - k, "]");
  return buf;
}

/* Every ordered list of distinct axes of an n-axis mesh, as out[i][0..len). */
static int axis_lists(int naxes, int out[][3], int *len) {
  int count = 0;
  for (int mask = 1; mask < (1 << naxes); mask++) {
    int sel[3], k = 0;
    for (int a = 0; a < naxes; a++)
      if (mask >> a & 1)
        sel[k++] = a;
    /* every permutation of sel (k <= 3) */
    static const int perms[6][3] = {{0, 1, 2}, {0, 2, 1}, {1, 0, 2},
                                    {1, 2, 0}, {2, 0, 1}, {2, 1, 0}};
    for (int p = 0; p < 6; p++) {
      bool valid = true;
      for (int i = 0; i < k; i++)
        valid &= perms[p][i] < k;
      /* a permutation of k < 3 elements appears once among those that keep
       * the unused slots at the end in order */
      for (int i = k; i < 3; i++)
        valid &= perms[p][i] == i;
      if (!valid)
        continue;
      for (int i = 0; i < k; i++)
        out[count][i] = sel[perms[p][i]];
      len[count++] = k;
    }
  }
  return count;
}

/* Every device's operand of f's one collective (fill_block with salt; with
 * nan, device 1's element 5 is nan) and the virtual mesh's results, into
 * *args and *res (ndev each; free with free_blocks). False if the virtual
 * mesh fails. */
static bool vmesh_blocks(const pt_func *f, int64_t ndev, uint32_t salt, bool nan, pt_tensor ***args,
                         pt_tensor ***res, pt_diag *d) {
  *args = pt_calloc((size_t)ndev, sizeof **args);
  *res = pt_calloc((size_t)ndev, sizeof **res);
  for (int64_t dev = 0; dev < ndev; dev++) {
    (*args)[dev] = pt_tensor_create(f->args[0]->type);
    fill_block((*args)[dev], dev, salt);
    if (nan && dev == 1)
      ((float *)(*args)[dev]->data)[5] = NAN;
  }
  return pt_vmesh_run(f, *args, *res, d) == PT_OK;
}

static void free_blocks(pt_tensor **args, pt_tensor **res, int64_t ndev) {
  for (int64_t dev = 0; dev < ndev; dev++) {
    pt_tensor_destroy(args[dev]);
    pt_tensor_destroy(res[dev]);
  }
  pt_free(args);
  pt_free(res);
}

/* One mesh over the world's ranks, opened for a collectives test: its
 * module, its MPI mesh and every list of its axes a group can take. */
typedef struct {
  char name[64];
  pt_module *m;
  pt_diag *d;
  pt_mpi_mesh *mm;
  int lists[48][3], lens[48], nlists;
  int64_t ndev;
} mesh_ctx;

static void mesh_open(const mesh_shape *shape, mesh_ctx *x) {
  mesh_str(shape, x->name, sizeof x->name);
  x->m = mesh_module(shape);
  x->d = pt_diag_create(NULL);
  x->mm = pt_mpi_mesh_create(&x->m->mesh, MPI_COMM_WORLD, x->d);
  ck_assert_msg(x->mm != NULL, "mesh %s: %s", x->name,
                pt_diag_count(x->d) ? pt_diag_message(x->d, 0) : "");
  x->nlists = axis_lists(shape->naxes, x->lists, x->lens);
  x->ndev = pt_mesh_devices(&x->m->mesh);
}

static void mesh_close(mesh_ctx *x) {
  pt_mpi_mesh_destroy(x->mm);
  pt_diag_destroy(x->d);
  pt_module_destroy(x->m);
}

/* The one-op function of case c over axis list l of x (its text in
 * *what), or NULL when it does not build (reported with fail_local). */
static pt_func *case_func(mesh_ctx *x, const coll_case *c, int l, const char **what) {
  *what = case_str(c, &x->m->mesh, x->lists[l], x->lens[l]);
  pt_func *f = one_op(x->m, c, x->lists[l], x->lens[l], x->d);
  if (!f)
    fail_local("mesh %s, %s: does not build: %s", x->name, *what,
               pt_diag_count(x->d) ? pt_diag_message(x->d, 0) : "");
  return f;
}

START_TEST(collectives_match_vmesh) {
  mesh_shape shapes[8];
  int nshapes = world_meshes(shapes);
  coll_case cases[128];
  int ncases = coll_cases(cases);
  int ran = 0;
  for (int s = 0; s < nshapes; s++) {
    mesh_ctx mc;
    mesh_open(&shapes[s], &mc);
    const char *ms = mc.name;
    pt_diag *d = mc.d;
    pt_mpi_mesh *mm = mc.mm;
    int64_t ndev = mc.ndev;
    for (int l = 0; l < mc.nlists; l++)
      for (int c = 0; c < ncases; c++) {
        const char *what;
        pt_func *f = case_func(&mc, &cases[c], l, &what);
        if (!f)
          continue;
        pt_tensor **args, **res;
        if (!vmesh_blocks(f, ndev, (uint32_t)c, false, &args, &res, d))
          fail_local("mesh %s, %s: vmesh failed", ms, what);
        pt_tensor *got = pt_tensor_create(f->results[0].type);
        memset(got->data, 0xab, pt_type_bytes(&got->type)); /* every byte must be written */
        if (pt_mpi_collective(mm, f->ops[0], args[world_rank], got, d) != PT_OK)
          fail_local("mesh %s, %s: %s", ms, what, pt_diag_count(d) ? pt_diag_message(d, 0) : "");
        else if (res[world_rank] &&
                 memcmp(got->data, res[world_rank]->data, pt_type_bytes(&got->type)) != 0)
          fail_local("mesh %s, %s: the block differs from the virtual mesh's", ms, what);
        pt_tensor_destroy(got);
        free_blocks(args, res, ndev);
        ran++;
      }
    mesh_close(&mc);
  }
  agree();
  if (world_rank == 0)
    fprintf(stderr, "mpi: %d collectives on %d ranks match the virtual mesh\n", ran, world_size);
}
END_TEST

/* The collectives that run through the mesh's shared staging window
 * (runtime/mpi_coll.h): f32 and i32 all_reduce (sum and max, nan
 * included), reduce_scatter and all_gather on every dim (the outermost
 * runs through shared memory, the others through MPI), pred (MPI), on
 * every group of every mesh, each checked against the virtual mesh and
 * for the path it took. Three passes: before any staging is reserved
 * (every member goes through MPI alike), then with operand and result
 * apart, then in place (all_reduce). */
START_TEST(shm_collectives_match_vmesh) {
  mesh_shape shapes[8];
  int nshapes = world_meshes(shapes);
  coll_case cases[48];
  int ncases = 0;
  static const pt_dtype types[] = {PT_F32, PT_I32, PT_PRED};
  for (int t = 0; t < 3; t++)
    for (int dim = 0; dim < 3; dim++) {
      cases[ncases++] = (coll_case){PT_OP_ALL_GATHER, dim, 0, NULL, 0, types[t], false, true};
      if (types[t] != PT_PRED)
        cases[ncases++] = (coll_case){PT_OP_REDUCE_SCATTER, dim, 0, NULL, 0, types[t], false, true};
      /* every split and concat dim in f32, the diagonal in the others */
      for (int dim2 = 0; dim2 < 3; dim2++)
        if (t == 0 || dim2 == dim)
          cases[ncases++] =
              (coll_case){PT_OP_ALL_TO_ALL, dim, dim2, NULL, 0, types[t], false, true};
    }
  for (int t = 0; t < 2; t++) {
    cases[ncases++] = (coll_case){PT_OP_ALL_REDUCE, 0, 0, "sum", 0, types[t], false, true};
    cases[ncases++] = (coll_case){PT_OP_ALL_REDUCE, 0, 0, "max", 0, types[t], false, true};
  }
  static const char *const pass_str[] = {"before staging", "apart", "in place"};
  int ran = 0, shared = 0;
  for (int s = 0; s < nshapes; s++) {
    mesh_ctx mc;
    mesh_open(&shapes[s], &mc);
    const char *ms = mc.name;
    pt_diag *d = mc.d;
    pt_mpi_mesh *mm = mc.mm;
    int64_t ndev = mc.ndev;
    /* one node: shared memory is on whenever there is more than one rank */
    ck_assert_int_eq(pt_mpi_shm_enabled(mm), world_size > 1);
    for (int pass = 0; pass < 3; pass++) {
      if (pass == 1) /* every operand is 8 x 33 x 17 elements, 4 bytes or fewer each */
        ck_assert_int_eq(pt_mpi_shm_reserve(mm, (size_t)4 * 8 * 33 * 17 * 4), world_size > 1);
      for (int l = 0; l < mc.nlists; l++)
        for (int c = 0; c < ncases; c++) {
          if (pass == 2 && cases[c].code != PT_OP_ALL_REDUCE)
            continue;
          const char *what;
          pt_func *f = case_func(&mc, &cases[c], l, &what);
          if (!f)
            continue;
          pt_tensor **args, **res; /* a nan that max and sum carry */
          if (!vmesh_blocks(f, ndev, (uint32_t)c, cases[c].dtype == PT_F32 && cases[c].reduce,
                            &args, &res, d))
            fail_local("mesh %s, %s: vmesh failed", ms, what);
          pt_tensor *x = pt_tensor_clone(args[world_rank]);
          pt_tensor *r = pass == 2 ? x : pt_tensor_create(f->results[0].type);
          size_t rb = pt_type_bytes(&r->type);
          if (pass != 2)
            memset(r->data, 0xab, rb); /* every byte must be written */
          int64_t before = pt_mpi_shm_runs(mm);
          int g = pt_mpi_group_ranks(mm, f->ops[0], (int[8]){0}, 8);
          /* every one of f32 and i32 (reduce_scatter and all_gather along
           * any dim), once the staging is there */
          bool want = g > 1 && pass > 0 && cases[c].dtype != PT_PRED;
          if (pt_mpi_collective(mm, f->ops[0], x, r, d) != PT_OK)
            fail_local("mesh %s, %s, %s: %s", ms, what, pass_str[pass],
                       pt_diag_count(d) ? pt_diag_message(d, 0) : "");
          else if (res[world_rank] && memcmp(r->data, res[world_rank]->data, rb) != 0)
            fail_local("mesh %s, %s, %s: the block differs from the virtual mesh's", ms, what,
                       pass_str[pass]);
          else if (pt_mpi_shm_runs(mm) - before != (want ? 1 : 0))
            fail_local("mesh %s, %s, %s: ran %s shared memory", ms, what, pass_str[pass],
                       want ? "without" : "through");
          shared += want;
          if (r != x)
            pt_tensor_destroy(r);
          pt_tensor_destroy(x);
          free_blocks(args, res, ndev);
          ran++;
        }
    }
    mesh_close(&mc);
  }
  agree();
  if (world_rank == 0)
    fprintf(stderr,
            "mpi: %d collectives on %d ranks (%d through shared memory) match the virtual mesh\n",
            ran, world_size, shared);
}
END_TEST

/* An all_reduce with an SGD update taken in (pt_mpi_all_reduce_update, the
 * executor's reduction epilogues: runtime/fusion.h) gives, on every group
 * of every mesh, acc + alpha * the virtual mesh's sum, bit for bit: through
 * MPI before the staging window is reserved, through it after (G chunks
 * updated, one per member), with out apart from acc and in place. */
START_TEST(all_reduce_update_matches_vmesh) {
  mesh_shape shapes[8];
  int nshapes = world_meshes(shapes);
  coll_case c = {PT_OP_ALL_REDUCE, 0, 0, "sum", 0, PT_F32, false, true};
  const float alpha = -0.0375f;
  int ran = 0, shared = 0;
  for (int s = 0; s < nshapes; s++) {
    mesh_ctx mc;
    mesh_open(&shapes[s], &mc);
    for (int pass = 0; pass < 3; pass++) {
      if (pass == 1)
        ck_assert_int_eq(pt_mpi_shm_reserve(mc.mm, (size_t)8 * 33 * 17 * 4), world_size > 1);
      for (int l = 0; l < mc.nlists; l++) {
        const char *what;
        pt_func *f = case_func(&mc, &c, l, &what);
        if (!f)
          continue;
        pt_tensor **args, **res;
        if (!vmesh_blocks(f, mc.ndev, 7, false, &args, &res, mc.d))
          fail_local("mesh %s, %s: vmesh failed", mc.name, what);
        pt_tensor *acc = pt_tensor_create(f->results[0].type), *want = pt_tensor_create(acc->type);
        fill_block(acc, 3, 11);
        int64_t n = pt_type_numel(&acc->type);
        const float *w = acc->data, *sum = res[world_rank] ? res[world_rank]->data : NULL;
        for (int64_t i = 0; sum && i < n; i++) {
          float step = alpha * sum[i];
          ((float *)want->data)[i] = w[i] + step;
        }
        pt_tensor *out = pass == 2 ? acc : pt_tensor_create(acc->type);
        if (pass != 2)
          memset(out->data, 0xab, pt_type_bytes(&out->type)); /* every byte must be written */
        int64_t before = pt_mpi_shm_runs(mc.mm);
        bool via = pt_mpi_group_ranks(mc.mm, f->ops[0], (int[8]){0}, 8) > 1 && pass > 0;
        if (pt_mpi_all_reduce_update(mc.mm, f->ops[0], args[world_rank], acc, alpha, out, mc.d) !=
            PT_OK)
          fail_local("mesh %s, %s, pass %d: %s", mc.name, what, pass,
                     pt_diag_count(mc.d) ? pt_diag_message(mc.d, 0) : "");
        else if (sum && memcmp(out->data, want->data, pt_type_bytes(&want->type)) != 0)
          fail_local("mesh %s, %s, pass %d: the update differs from acc + alpha * the virtual "
                     "mesh's sum",
                     mc.name, what, pass);
        else if (pt_mpi_shm_runs(mc.mm) - before != (via ? 1 : 0))
          fail_local("mesh %s, %s, pass %d: ran %s shared memory", mc.name, what, pass,
                     via ? "without" : "through");
        shared += via;
        if (out != acc)
          pt_tensor_destroy(out);
        pt_tensor_destroy(acc);
        pt_tensor_destroy(want);
        free_blocks(args, res, mc.ndev);
        ran++;
      }
    }
    mesh_close(&mc);
  }
  agree();
  if (world_rank == 0)
    fprintf(stderr,
            "mpi: %d updating all_reduces on %d ranks (%d through shared memory) match the "
            "virtual mesh\n",
            ran, world_size, shared);
}
END_TEST

START_TEST(mesh_of_wrong_size) {
  pt_module *m = pt_module_create("test_mpi");
  pt_module_add_axis(m, "x", world_size + 1);
  pt_diag *d = pt_diag_create(NULL);
  pt_mpi_mesh *mm = pt_mpi_mesh_create(&m->mesh, MPI_COMM_WORLD, d);
  ck_assert_ptr_null(mm);
  ck_assert_int_eq(pt_diag_error_count(d), 1);
  ck_assert_msg(strstr(pt_diag_text(d, 0), "ranks") != NULL, "message: %s", pt_diag_text(d, 0));
  pt_diag_destroy(d);
  pt_module_destroy(m);
}
END_TEST

/* ---- redistribution plans ----------------------------------------------- */

static uint64_t rng_state;
static int rnd(int n) {
  return pt_test_rnd(&rng_state, n);
}

/* Runs f's ops on this rank: collectives through MPI, the rest with the
 * reference kernels (plans have only collectives). */
static pt_status run_ops(pt_mpi_mesh *mm, const pt_func *f, pt_tensor *arg, pt_tensor **result,
                         pt_diag *d) {
  pt_tensor **vals = pt_calloc((size_t)f->nvalues, sizeof *vals);
  vals[f->args[0]->id] = pt_tensor_clone(arg);
  pt_status st = PT_OK;
  for (int i = 0; i < f->nops && st == PT_OK; i++) {
    const pt_op *op = f->ops[i];
    pt_tensor *r = pt_tensor_create(op->result->type);
    pt_tensor *x[8];
    for (int j = 0; j < op->noperands; j++)
      x[j] = vals[op->operands[j]->id];
    if (pt_optab[op->code].flags & PT_OPF_COLLECTIVE)
      st = pt_mpi_collective(mm, op, x[0], r, d);
    else
      st = pt_interp_op(op, x, r, d);
    vals[op->result->id] = r;
  }
  *result = NULL;
  if (st == PT_OK) {
    *result = vals[f->results[0].value->id];
    vals[f->results[0].value->id] = NULL;
  }
  for (int i = 0; i < f->nvalues; i++)
    pt_tensor_destroy(vals[i]);
  pt_free(vals);
  return st;
}

/* A random factorisation of the world over 1 to 3 axes. */
static mesh_shape random_mesh(void) {
  mesh_shape s = {1 + rnd(3), {1, 1, 1}};
  int64_t left = world_size;
  while (left > 1) {
    s.sizes[rnd(s.naxes)] *= 2; /* worlds are powers of two here */
    left /= 2;
  }
  return s;
}

START_TEST(plans_match_vmesh) {
  rng_state = 4242;
  int ran = 0, moves = 0;
  for (int iter = 0; iter < 200; iter++) {
    mesh_shape sh = random_mesh();
    pt_module *m = mesh_module(&sh);
    const pt_mesh *mesh = &m->mesh;
    pt_type t = pt_test_random_type(&rng_state, PT_F32, 1, 3, mesh);
    pt_layout from = pt_test_random_layout(&rng_state, mesh, &t, true),
              to = pt_test_random_layout(&rng_state, mesh, &t, false);
    pt_plan p;
    pt_plan_redistribution(mesh, &t, &from, &to, &p);
    moves += p.nmoves;
    /* the function: the source's local block in, the target's out */
    pt_func *f = pt_func_create(m, "plan", PT_NOLOC);
    pt_layout src = from;
    uint32_t partial = src.partial_sum;
    src.partial_sum = 0;
    pt_type lt = t;
    for (int d = 0; d < t.rank; d++)
      for (int k = 0; k < src.naxes[d]; k++)
        lt.dims[d] /= mesh->sizes[src.axes[d][k]];
    pt_value *x = pt_func_add_arg(f, "x", PT_ROLE_INPUT, lt, PT_NOLOC);
    pt_value *y = pt_plan_emit(f, PT_NOLOC, mesh, &p, x, NULL);
    pt_func_add_result(f, "y", y->type, y, PT_NOLOC);
    pt_diag *d = pt_diag_create(NULL);
    char fb[128], tb[128];
    pt_layout_str(mesh, &from, fb, sizeof fb);
    pt_layout_str(mesh, &to, tb, sizeof tb);
    if (pt_verify_func(f, d) != PT_OK)
      fail_local("plan %d %s -> %s does not verify", iter, fb, tb);
    /* global indices (times 1/4, exact) on the partial axes' coordinate 0 */
    int64_t ndev = pt_mesh_devices(mesh);
    pt_tensor *global = pt_tensor_create(t);
    for (int64_t i = 0; i < pt_type_numel(&t); i++)
      pt_tensor_set(global, i, 0.25 * (double)i);
    pt_tensor **args = pt_calloc((size_t)ndev, sizeof *args);
    pt_tensor **res = pt_calloc((size_t)ndev, sizeof *res);
    for (int64_t dev = 0; dev < ndev; dev++) {
      args[dev] = pt_block_of(global, mesh, &src, dev);
      for (int a = 0; a < mesh->naxes; a++)
        if ((partial >> a) & 1 && pt_mesh_coord(mesh, dev, a) != 0)
          memset(args[dev]->data, 0, pt_type_bytes(&args[dev]->type));
    }
    if (pt_vmesh_run(f, args, res, d) != PT_OK)
      fail_local("plan %d: vmesh failed", iter);
    pt_mpi_mesh *mm = pt_mpi_mesh_create(mesh, MPI_COMM_WORLD, d);
    pt_tensor *got = NULL;
    if (!mm || run_ops(mm, f, args[world_rank], &got, d) != PT_OK)
      fail_local("plan %d %s -> %s: %s", iter, fb, tb,
                 pt_diag_count(d) ? pt_diag_message(d, 0) : "");
    else if (memcmp(got->data, res[world_rank]->data, pt_type_bytes(&got->type)) != 0)
      fail_local("plan %d %s -> %s: the block differs from the virtual mesh's", iter, fb, tb);
    /* and through the executor */
    pt_exec *e = mm ? pt_exec_create(f, mm, d) : NULL;
    pt_tensor *xr[1] = {NULL};
    if (!e || pt_exec_run(e, &args[world_rank], xr, d) != PT_OK)
      fail_local("plan %d %s -> %s: the executor failed", iter, fb, tb);
    else if (memcmp(xr[0]->data, res[world_rank]->data, pt_type_bytes(&xr[0]->type)) != 0)
      fail_local("plan %d %s -> %s: the executor's block differs", iter, fb, tb);
    pt_tensor_destroy(xr[0]);
    pt_exec_destroy(e);
    pt_tensor *want = pt_block_of(global, mesh, &to, world_rank);
    if (got && memcmp(got->data, want->data, pt_type_bytes(&want->type)) != 0)
      fail_local("plan %d %s -> %s: not the target block", iter, fb, tb);
    pt_tensor_destroy(want);
    pt_tensor_destroy(got);
    pt_mpi_mesh_destroy(mm);
    for (int64_t dev = 0; dev < ndev; dev++) {
      pt_tensor_destroy(args[dev]);
      pt_tensor_destroy(res[dev]);
    }
    pt_free(args);
    pt_free(res);
    pt_tensor_destroy(global);
    pt_diag_destroy(d);
    pt_plan_free(&p);
    pt_module_destroy(m);
    ran++;
  }
  agree();
  if (world_rank == 0)
    fprintf(stderr, "mpi: %d redistribution plans (%d collectives) on %d ranks match\n", ran, moves,
            world_size);
}
END_TEST

/* ---- lowered train steps through the executor ---------------------------- */

/* Data parallelism on 1 and 2 ranks, data and Megatron model parallelism
 * on 4 (more cases would only repeat the grid of tests/test_grid.c, slowly:
 * every rank runs the whole virtual mesh in the interpreter's kernels). */
static const char *step_script(void) {
  return world_size >= 4 ? "examples/mlp.bp_mp.yaml" : "examples/mlp.bp.yaml";
}

/* A model's train step lowered under a tactic script on a mesh of the
 * world's ranks (each of the script's axes takes as many as it can, the
 * last the rest), with the global arguments every rank builds and this
 * rank's blocks of them. */
typedef struct {
  char *path, *spath, ms[64]; /* the model, the script, the mesh as text */
  pt_diag *d;
  pt_module *m;
  pt_schedule *s;
  pt_func *f, *g; /* the train step and its lowered program */
  pt_tensor **args, **mine;
} lowered_step;

static void step_open(const char *model, const char *script, pt_optim_kind kind, lowered_step *x) {
  x->path = pt_test_path(model);
  x->spath = pt_test_path(script);
  x->d = pt_diag_create(NULL);
  x->m = pt_parse_file(x->path, x->d);
  ck_assert_ptr_nonnull(x->m);
  ck_assert_int_eq(pt_pass_inline(x->m, "loss", x->d), PT_OK);
  x->f = NULL;
  pt_optimizer opt = pt_optimizer_default(kind);
  ck_assert_int_eq(pt_pass_train_step(x->m, "loss", &opt, NULL, &x->f, x->d), PT_OK);
  x->s = pt_schedule_read(x->spath, x->d);
  ck_assert_ptr_nonnull(x->s);
  pt_mesh *sm = &x->s->mesh;
  int64_t left = world_size;
  size_t k = (size_t)snprintf(x->ms, sizeof x->ms, "{");
  for (int a = 0; a < sm->naxes; a++) {
    int64_t size = left < sm->sizes[a] ? left : sm->sizes[a];
    if (a == sm->naxes - 1)
      size = left;
    sm->sizes[a] = size;
    left /= size;
    k += (size_t)snprintf(x->ms + k, sizeof x->ms - k, "%s%s: %lld", a ? ", " : "", sm->names[a],
                          (long long)size);
  }
  snprintf(x->ms + k, sizeof x->ms - k, "}");
  ck_assert_int_eq(pt_schedule_set_mesh(x->m, x->s, x->d), PT_OK);
  ck_assert_int_eq(pt_schedule_apply(x->f, x->s, NULL, x->d), PT_OK);
  x->g = NULL;
  ck_assert_int_eq(pt_pass_lower(x->m, x->f, NULL, &x->g, x->d), PT_OK);
  ck_assert_int_eq(pt_verify_func(x->g, x->d), PT_OK);
  const pt_func *f = x->f;
  x->args = pt_calloc((size_t)f->nargs, sizeof *x->args);
  x->mine = pt_calloc((size_t)f->nargs, sizeof *x->mine);
  for (int i = 0; i < f->nargs; i++) {
    pt_init_spec sp = pt_init_spec_for(f, f->args[i], 7);
    x->args[i] = pt_init_tensor(&sp, f->args[i]->type);
    pt_layout l = pt_layout_of(f->args[i]);
    x->mine[i] = pt_block_of(x->args[i], &x->m->mesh, &l, world_rank);
  }
}

static void step_close(lowered_step *x) {
  for (int i = 0; i < x->f->nargs; i++) {
    pt_tensor_destroy(x->args[i]);
    pt_tensor_destroy(x->mine[i]);
  }
  pt_free(x->args);
  pt_free(x->mine);
  pt_schedule_destroy(x->s);
  pt_module_destroy(x->m);
  pt_diag_destroy(x->d);
  pt_free(x->path);
  pt_free(x->spath);
}

START_TEST(train_step_matches_vmesh) {
  const char *script = step_script();
  lowered_step x;
  step_open("examples/mlp.pir", script, PT_OPTIM_ADAM, &x);
  pt_diag *d = x.d;
  const pt_func *f = x.f, *g = x.g;
  const pt_mesh *mesh = &x.m->mesh;
  const char *ms = x.ms;
  pt_tensor **args = x.args, **mine = x.mine;
  pt_tensor **ref = pt_calloc((size_t)f->nresults, sizeof *ref);
  pt_tensor **want = pt_calloc((size_t)f->nresults, sizeof *want);
  pt_tensor **got = pt_calloc((size_t)g->nresults, sizeof *got);
  if (pt_vmesh_run_global(f, g, args, ref, d) != PT_OK)
    fail_local("%s on %s: the virtual mesh failed", script, ms);
  pt_mpi_mesh *mm = pt_mpi_mesh_create(mesh, MPI_COMM_WORLD, d);
  pt_exec *e = mm ? pt_exec_create(g, mm, d) : NULL;
  double secs = 0;
  if (!e || pt_exec_run(e, mine, got, d) != PT_OK) {
    fail_local("%s on %s: %s", script, ms, pt_diag_count(d) ? pt_diag_message(d, 0) : "");
  } else {
    secs = pt_exec_run_seconds(e);
    /* the executor reserved the staging: on 2 ranks (BP) the gradients'
     * 4 MiB all-reduces go through it, on 4 (BP + MP) the MP all-reduces of
     * 128 KiB activations too */
    if (world_size > 1 && pt_mpi_shm_runs(mm) == 0)
      fail_local("%s on %s: no collective ran through shared memory", script, ms);
    for (int i = 0; i < f->nresults; i++) {
      pt_layout l = pt_lower_result_layout(f, i);
      want[i] = ref[i] ? pt_block_of(ref[i], mesh, &l, world_rank) : NULL;
    }
    if (ref[0]) {
      pt_step_check chk;
      pt_step_compare(g, got, want, 1e-4, &chk);
      if (chk.bad[0])
        fail_local("%s on %s: %s", script, ms, chk.bad);
      else if (world_rank == 0)
        fprintf(stderr,
                "mpi: MLP adam train_step with %s on %s: %d ops, %.1f MB of buffers per rank, "
                "step %.3f s, worst relative difference %.2g (%lld Adam updates near g = 0 "
                "excused)\n",
                script, ms, g->nops, (double)pt_exec_peak_bytes(e) / 1e6, secs, chk.worst,
                (long long)chk.excused);
    }
  }
  agree();
  pt_exec_destroy(e);
  pt_mpi_mesh_destroy(mm);
  for (int i = 0; i < f->nresults; i++) {
    pt_tensor_destroy(ref[i]);
    pt_tensor_destroy(want[i]);
    pt_tensor_destroy(got[i]);
  }
  pt_free(ref);
  pt_free(want);
  pt_free(got);
  step_close(&x);
}
END_TEST

/* Reduction epilogues (runtime/fusion.h): the small GPT's SGD step under
 * data parallelism, whose weight gradients are all-reduced, takes each
 * update into its all_reduce on more than one rank, and gives the bits the
 * executor gives with PT_REDUCE_EPILOGUE=0 (the all_reduce, then the
 * update's loop). */
START_TEST(sgd_updates_in_all_reduces) {
  lowered_step x;
  step_open("tests/data/tiny_gpt.pir", "examples/gpt.bp.yaml", PT_OPTIM_SGD, &x);
  pt_diag *d = x.d;
  const pt_func *g = x.g;
  pt_tensor *got[2][64];
  int reduces[2] = {0, 0};
  ck_assert_int_le(g->nresults, 64);
  pt_mpi_mesh *mm = pt_mpi_mesh_create(&x.m->mesh, MPI_COMM_WORLD, d);
  ck_assert_ptr_nonnull(mm);
  for (int k = 0; k < 2; k++) { /* with epilogues, then without */
    if (k == 1)
      setenv("PT_REDUCE_EPILOGUE", "0", 1);
    pt_exec *e = pt_exec_create(g, mm, d);
    unsetenv("PT_REDUCE_EPILOGUE");
    if (!e || pt_exec_run(e, x.mine, got[k], d) != PT_OK) {
      fail_local("tiny GPT SGD step (k %d): %s", k, pt_diag_count(d) ? pt_diag_message(d, 0) : "");
      for (int i = 0; i < g->nresults; i++)
        got[k][i] = NULL;
    } else {
      const pt_fusion_plan *fp = pt_exec_fusion(e);
      for (int gi = 0; gi < fp->ngroups; gi++)
        reduces[k] += fp->groups[gi].reduce != NULL;
    }
    pt_exec_destroy(e);
  }
  if (world_size > 1 && reduces[0] < 20) /* 26 weight gradients, some of them tiny */
    fail_local("%d reduction epilogues planned", reduces[0]);
  if (reduces[1] != 0)
    fail_local("%d reduction epilogues planned with PT_REDUCE_EPILOGUE=0", reduces[1]);
  for (int i = 0; i < g->nresults; i++) {
    if (got[0][i] && got[1][i] &&
        memcmp(got[0][i]->data, got[1][i]->data, pt_type_bytes(&got[0][i]->type)) != 0)
      fail_local("result %s differs with and without reduction epilogues", g->results[i].name);
    pt_tensor_destroy(got[0][i]);
    pt_tensor_destroy(got[1][i]);
  }
  agree();
  if (world_rank == 0)
    fprintf(stderr, "mpi: tiny GPT SGD step on %d ranks: %d updates taken into all_reduces\n",
            world_size, reduces[0]);
  pt_mpi_mesh_destroy(mm);
  step_close(&x);
}
END_TEST

int main(int argc, char **argv) {
  pt_mpi_init();
  MPI_Comm_rank(MPI_COMM_WORLD, &world_rank);
  MPI_Comm_size(MPI_COMM_WORLD, &world_size);
  Suite *s = suite_create("mpi");
  TCase *tc = tcase_create("collectives");
  tcase_set_timeout(tc, 300);
  tcase_add_test(tc, collectives_match_vmesh);
  tcase_add_test(tc, shm_collectives_match_vmesh);
  tcase_add_test(tc, all_reduce_update_matches_vmesh);
  tcase_add_test(tc, mesh_of_wrong_size);
  tcase_add_test(tc, plans_match_vmesh);
  tcase_add_test(tc, train_step_matches_vmesh);
  tcase_add_test(tc, sgd_updates_in_all_reduces);
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_set_fork_status(sr, CK_NOFORK);
  srunner_run_all(sr, world_rank == 0 ? CK_NORMAL : CK_SILENT);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  MPI_Finalize();
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
