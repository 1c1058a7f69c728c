/* Collectives over MPI (see mpi_coll.h). Each collective packs its operand
 * into the contiguous per-member blocks MPI moves, calls one MPI collective
 * on the communicator of the op's group (a large reduce_scatter: a ring of
 * MPI_Sendrecv), and unpacks; packing is only
 * needed when the op's dim is not the outermost non-trivial one. Scratch
 * buffers live in the mesh object and only grow. */
#include "mpi_coll.h"
#include "watchdog.h"

#include <limits.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>

typedef struct {
  int n;
  int axes[PT_MAX_AXES]; /* in the op's order */
  MPI_Comm comm;         /* rank in it = position in the group */
} group_comm;

struct pt_mpi_mesh {
  pt_mesh mesh; /* names point into `names` */
  char names[PT_MAX_AXES][64];
  MPI_Comm cart;
  int rank, size;
  int64_t coord[PT_MAX_AXES];
  group_comm *groups;
  int ngroups, capgroups;
  void *scratch[2];
  size_t scratch_cap[2];
  MPI_Op max_nan; /* f32 max that propagates nan, like the virtual mesh */
  /* node-shared staging, when every rank runs on this node (shm_setup):
   * a window with a segment of stage_bytes per rank (0: none yet) */
  bool shm;
  MPI_Win stage_win;
  size_t stage_bytes;
  char **stage;     /* per mesh rank: its segment in this address space */
  int *members;     /* a group's mesh ranks, by position (mesh size entries) */
  char **src;       /* their operands' or segments' elements, by position */
  int64_t shm_runs; /* collectives run over shared memory so far */
};

/* ---- errors ----------------------------------------------------------- */

static pt_status mpi_ok(const pt_mpi_mesh *mm, int rank, int rc, const char *what, pt_loc loc,
                        pt_diag *d) {
  if (rc == MPI_SUCCESS)
    return PT_OK;
  char s[MPI_MAX_ERROR_STRING] = "";
  int n = 0;
  MPI_Error_string(rc, s, &n);
  pt_diag_error(d, loc, "rank %d: %s failed: %s", mm ? mm->rank : rank, what, s);
  return PT_ERR;
}

#define CHECK_MPI(call, loc)                                                                       \
  do {                                                                                             \
    if (mpi_ok(mm, mm->rank, (call), #call, (loc), d) != PT_OK)                                    \
      return PT_ERR;                                                                               \
  } while (0)

/* ---- node-shared memory ----------------------------------------------- */

/* Operands smaller than this go through MPI: below it one MPI call costs
 * less than the shared-memory protocol's two or three barriers. */
#define SHM_MIN_BYTES ((size_t)8 << 10)
/* all_gather and all_to_all above this go through MPI: they copy twice
 * through the window (into the segment, out of the peers') where Open
 * MPI's single-copy transport (CMA) reads the peer's buffer once, and from
 * 4 MiB on 2 ranks here MPI was as fast or faster (build/bench_coll: the
 * window 0.84-0.90x MPI at 4 MiB, 0.54-0.82x at 8-32 MiB; 1.34-1.37x at 2
 * MiB). all_reduce and reduce_scatter have no limit: MPI's reductions copy
 * more than the window's, which beat them at every size to 32 MiB
 * (all_reduce 1.05-2.1x, reduce_scatter 2.2-5.3x), and inside the transformer
 * block's BP step its two 4 MiB gradient all_reduces took 1.1-1.4 ms a step
 * through the window against 2.4-3.2 ms through MPI (bench/README.md). */
#define SHM_MAX_BYTES ((size_t)2 << 20)

/* True on every rank of the mesh if ok is true on every rank. */
static bool all_agree(const pt_mpi_mesh *mm, bool ok) {
  int mine = ok ? 1 : 0, all = 0;
  if (MPI_Allreduce(&mine, &all, 1, MPI_INT, MPI_MIN, mm->cart) != MPI_SUCCESS)
    return false; /* errors return on every rank alike: the call failed everywhere */
  return all == 1;
}

/* Turns shared memory on when every rank of the mesh is on this node and
 * PT_MPI_SHM is not 0 (the same on every rank, agreed); the staging window
 * comes with pt_mpi_shm_reserve. Off, everything goes through MPI. */
static void shm_setup(pt_mpi_mesh *mm) {
  const char *env = getenv("PT_MPI_SHM");
  bool want = mm->size > 1 && !(env && strcmp(env, "0") == 0);
  MPI_Comm node = MPI_COMM_NULL;
  if (want && MPI_Comm_split_type(mm->cart, MPI_COMM_TYPE_SHARED, mm->rank, MPI_INFO_NULL, &node) ==
                  MPI_SUCCESS) {
    int n = 0;
    MPI_Comm_size(node, &n);
    want = n == mm->size;
    MPI_Comm_free(&node);
  } else {
    want = false;
  }
  mm->shm = all_agree(mm, want);
  mm->stage_win = MPI_WIN_NULL;
}

static void stage_free(pt_mpi_mesh *mm) {
  if (mm->stage_win == MPI_WIN_NULL)
    return;
  MPI_Win_unlock_all(mm->stage_win);
  MPI_Win_free(&mm->stage_win);
  mm->stage_bytes = 0;
}

bool pt_mpi_shm_enabled(const pt_mpi_mesh *mm) {
  return mm->shm;
}

int64_t pt_mpi_shm_runs(const pt_mpi_mesh *mm) {
  return mm->shm_runs;
}

/* Whether the free space of the directory Open MPI backs shared windows
 * with holds `bytes` on every rank of the node twice over: a window larger
 * than the file system under it would fault when touched. */
static bool shm_room(const pt_mpi_mesh *mm, size_t bytes) {
  const char *dir = getenv("OMPI_MCA_osc_sm_backing_directory");
  struct statvfs sv;
  if (statvfs(dir && *dir ? dir : "/dev/shm", &sv) != 0)
    return false;
  double avail = (double)sv.f_bavail * (double)sv.f_frsize;
  return (double)bytes * (double)mm->size * 2.0 <= avail;
}

bool pt_mpi_shm_reserve(pt_mpi_mesh *mm, size_t bytes) {
  if (!mm->shm)
    return false;
  unsigned long long want = bytes, most = 0;
  if (MPI_Allreduce(&want, &most, 1, MPI_UNSIGNED_LONG_LONG, MPI_MAX, mm->cart) != MPI_SUCCESS)
    return false;
  size_t n = (size_t)most;
  n = (n + 4095) / 4096 * 4096;
  if (n <= mm->stage_bytes)
    return true;
  if (!all_agree(mm, shm_room(mm, n)))
    return false;
  stage_free(mm);
  MPI_Info info;
  MPI_Info_create(&info);
  MPI_Info_set(info, "alloc_shared_noncontig", "true"); /* each segment on its own pages */
  void *base = NULL;
  MPI_Win w = MPI_WIN_NULL;
  bool ok = MPI_Win_allocate_shared((MPI_Aint)n, 1, info, mm->cart, &base, &w) == MPI_SUCCESS;
  MPI_Info_free(&info);
  if (!all_agree(mm, ok)) {
    if (ok)
      MPI_Win_free(&w);
    return false;
  }
  memset(base, 0, n); /* every page touched now, by its owner */
  MPI_Win_lock_all(MPI_MODE_NOCHECK, w);
  for (int q = 0; q < mm->size; q++) {
    MPI_Aint sz = 0;
    int du = 0;
    void *seg = NULL;
    MPI_Win_shared_query(w, q, &sz, &du, &seg);
    mm->stage[q] = seg;
  }
  mm->stage_win = w;
  mm->stage_bytes = n;
  return true;
}

/* ---- the mesh --------------------------------------------------------- */

static void max_nan_fn(void *in, void *inout, int *len, MPI_Datatype *dt) {
  (void)dt;
  const float *s = in;
  float *o = inout;
  for (int i = 0; i < *len; i++)
    o[i] = s[i] > o[i] || s[i] != s[i] ? s[i] : o[i];
}

pt_mpi_mesh *pt_mpi_mesh_create(const pt_mesh *m, MPI_Comm world, pt_diag *d) {
  int size = 0, rank = 0;
  MPI_Comm_size(world, &size);
  MPI_Comm_rank(world, &rank);
  int64_t ndev = pt_mesh_devices(m);
  if (ndev != size) {
    pt_diag_error(d, m->loc,
                  "rank %d: the mesh has %lld devices but MPI runs %d ranks; run with "
                  "`mpirun -n %lld`",
                  rank, (long long)ndev, size, (long long)ndev);
    return NULL;
  }
  pt_mpi_mesh *mm = pt_calloc(1, sizeof *mm);
  mm->mesh = *m;
  for (int a = 0; a < m->naxes; a++) {
    snprintf(mm->names[a], sizeof mm->names[a], "%s", m->names[a]);
    mm->mesh.names[a] = mm->names[a];
  }
  mm->rank = rank;
  mm->size = size;
  mm->cart = MPI_COMM_NULL;
  MPI_Comm base = MPI_COMM_NULL;
  int rc = MPI_Comm_dup(world, &base);
  if (mpi_ok(mm, rank, rc, "MPI_Comm_dup", m->loc, d) != PT_OK)
    goto fail;
  MPI_Comm_set_errhandler(base, MPI_ERRORS_RETURN);
  if (m->naxes == 0) {
    mm->cart = base;
  } else {
    int dims[PT_MAX_AXES], periods[PT_MAX_AXES] = {0};
    for (int a = 0; a < m->naxes; a++)
      dims[a] = (int)m->sizes[a];
    rc = MPI_Cart_create(base, m->naxes, dims, periods, 0, &mm->cart);
    MPI_Comm_free(&base);
    if (mpi_ok(mm, rank, rc, "MPI_Cart_create", m->loc, d) != PT_OK)
      goto fail;
    MPI_Comm_set_errhandler(mm->cart, MPI_ERRORS_RETURN);
  }
  int crank = -1;
  MPI_Comm_rank(mm->cart, &crank);
  PT_ASSERT(crank == rank); /* reorder = 0 */
  for (int a = 0; a < m->naxes; a++)
    mm->coord[a] = pt_mesh_coord(m, rank, a);
  rc = MPI_Op_create(max_nan_fn, 1, &mm->max_nan);
  if (mpi_ok(mm, rank, rc, "MPI_Op_create", m->loc, d) != PT_OK)
    goto fail;
  mm->members = pt_calloc((size_t)size, sizeof *mm->members);
  mm->src = pt_calloc((size_t)size, sizeof *mm->src);
  mm->stage = pt_calloc((size_t)size, sizeof *mm->stage);
  shm_setup(mm);
  return mm;
fail:
  if (mm->cart != MPI_COMM_NULL)
    MPI_Comm_free(&mm->cart);
  pt_free(mm);
  return NULL;
}

void pt_mpi_mesh_destroy(pt_mpi_mesh *mm) {
  if (!mm)
    return;
  stage_free(mm);
  pt_free(mm->stage);
  pt_free(mm->members);
  pt_free(mm->src);
  for (int i = 0; i < mm->ngroups; i++)
    MPI_Comm_free(&mm->groups[i].comm);
  pt_free(mm->groups);
  MPI_Comm_free(&mm->cart);
  MPI_Op_free(&mm->max_nan);
  pt_free(mm->scratch[0]);
  pt_free(mm->scratch[1]);
  pt_free(mm);
}

void pt_mpi_init(void) {
  int inited = 0;
  MPI_Initialized(&inited);
  if (inited)
    return;
  setenv("OMPI_MCA_sharedfp", "^sm", 0);
  MPI_Init(NULL, NULL);
}

int pt_mpi_launcher_rank(void) {
  static const char *const vars[] = {"OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_RANK"};
  for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) {
    const char *v = getenv(vars[i]);
    if (v && *v)
      return atoi(v);
  }
  return -1;
}

int pt_mpi_mesh_rank(const pt_mpi_mesh *mm) {
  return mm->rank;
}
int pt_mpi_mesh_size(const pt_mpi_mesh *mm) {
  return mm->size;
}
const pt_mesh *pt_mpi_mesh_mesh(const pt_mpi_mesh *mm) {
  return &mm->mesh;
}
MPI_Comm pt_mpi_mesh_comm(const pt_mpi_mesh *mm) {
  return mm->cart;
}

/* ---- groups ----------------------------------------------------------- */

typedef struct {
  int n;
  int axes[PT_MAX_AXES];
  int64_t size, pos; /* group size, this rank's position */
} group;

static pt_status group_of(const pt_mpi_mesh *mm, const pt_op *op, group *g, pt_diag *d) {
  const pt_attr *a = pt_op_attr(op, PT_A_AXES);
  PT_ASSERT(a && a->val.kind == PT_AV_LIST && a->val.n <= PT_MAX_AXES);
  g->n = 0;
  g->size = 1;
  g->pos = 0;
  for (int i = 0; i < a->val.n; i++) {
    const char *s = a->val.items[i].s;
    int ax = pt_mesh_axis(&mm->mesh, s, strlen(s));
    if (ax < 0) {
      pt_diag_error(d, op->loc,
                    "rank %d: '%s' names mesh axis '%s', which the MPI mesh does not have",
                    mm->rank, pt_op_name(op->code), s);
      return PT_ERR;
    }
    g->axes[g->n++] = ax;
    g->size *= mm->mesh.sizes[ax];
    g->pos = g->pos * mm->mesh.sizes[ax] + mm->coord[ax];
  }
  return PT_OK;
}

/* The communicator of g's group (rank = position), made on first use:
 * MPI_Cart_sub keeps mesh order, so other orders split by position. */
static pt_status group_comm_of(pt_mpi_mesh *mm, const group *g, const pt_op *op, MPI_Comm *out,
                               pt_diag *d) {
  for (int i = 0; i < mm->ngroups; i++)
    if (mm->groups[i].n == g->n &&
        memcmp(mm->groups[i].axes, g->axes, (size_t)g->n * sizeof g->axes[0]) == 0) {
      *out = mm->groups[i].comm;
      return PT_OK;
    }
  bool in_order = true, used[PT_MAX_AXES] = {false};
  for (int k = 0; k < g->n; k++) {
    used[g->axes[k]] = true;
    if (k > 0 && g->axes[k] < g->axes[k - 1])
      in_order = false;
  }
  MPI_Comm c = MPI_COMM_NULL;
  if (in_order) {
    int remain[PT_MAX_AXES];
    for (int a = 0; a < mm->mesh.naxes; a++)
      remain[a] = used[a];
    CHECK_MPI(MPI_Cart_sub(mm->cart, remain, &c), op->loc);
  } else {
    int64_t color = 0;
    for (int a = 0; a < mm->mesh.naxes; a++)
      if (!used[a])
        color = color * mm->mesh.sizes[a] + mm->coord[a];
    CHECK_MPI(MPI_Comm_split(mm->cart, (int)color, (int)g->pos, &c), op->loc);
  }
  MPI_Comm_set_errhandler(c, MPI_ERRORS_RETURN);
  int r = -1, n = 0;
  MPI_Comm_rank(c, &r);
  MPI_Comm_size(c, &n);
  PT_ASSERT(r == g->pos && n == g->size);
  PT_GROW(mm->groups, mm->capgroups, (size_t)mm->ngroups + 1);
  group_comm *gc = &mm->groups[mm->ngroups++];
  gc->n = g->n;
  memcpy(gc->axes, g->axes, sizeof gc->axes);
  gc->comm = c;
  *out = c;
  return PT_OK;
}

/* ---- packing ---------------------------------------------------------- */

static void *scratch(pt_mpi_mesh *mm, int k, size_t bytes) {
  if (bytes > mm->scratch_cap[k]) {
    pt_free(mm->scratch[k]);
    mm->scratch[k] = pt_malloc(bytes);
    mm->scratch_cap[k] = bytes;
  }
  return mm->scratch[k];
}

/* x holds [outer][G][row] bytes: slot q's outer rows, one after another,
 * into dst. */
static void rows_of_slot(char *dst, const char *x, int64_t outer, int64_t G, int64_t q,
                         size_t row) {
  for (int64_t o = 0; o < outer; o++)
    memcpy(dst + (size_t)o * row, x + (size_t)(o * G + q) * row, row);
}

/* The reverse: src's outer rows into slot q of dst, [outer][G][row] bytes. */
static void rows_into_slot(char *dst, const char *src, int64_t outer, int64_t G, int64_t q,
                           size_t row) {
  for (int64_t o = 0; o < outer; o++)
    memcpy(dst + (size_t)(o * G + q) * row, src + (size_t)o * row, row);
}

/* dst[c][r] = src[r][c], for a rows x cols matrix of chunks of `chunk` bytes. */
static void transpose_chunks(const char *src, char *dst, int64_t rows, int64_t cols, size_t chunk) {
  for (int64_t c = 0; c < cols; c++)
    rows_of_slot(dst + (size_t)(c * rows) * chunk, src, rows, cols, c, chunk);
}

/* Elements of t before dim (the outer product) and from dim on, in bytes. */
static int64_t outer_of(const pt_type *t, int dim) {
  int64_t n = 1;
  for (int k = 0; k < dim; k++)
    n *= t->dims[k];
  return n;
}

static size_t from_bytes(const pt_type *t, int dim) {
  int64_t n = 1;
  for (int k = dim; k < t->rank; k++)
    n *= t->dims[k];
  return (size_t)n * pt_dtype_size(t->dtype);
}

static pt_status fits_int(const pt_mpi_mesh *mm, const pt_op *op, int64_t count, pt_diag *d) {
  if (count <= INT_MAX)
    return PT_OK;
  pt_diag_error(d, op->loc,
                "rank %d: '%s' moves %lld elements per block, more than one MPI "
                "call takes (%d)",
                mm->rank, pt_op_name(op->code), (long long)count, INT_MAX);
  return PT_ERR;
}

static MPI_Datatype mpi_type(pt_dtype t) {
  switch (t) {
  case PT_F32:
    return MPI_FLOAT;
  case PT_I32:
    return MPI_INT;
  case PT_PRED:
    return MPI_UNSIGNED_CHAR;
  case PT_DTYPE_COUNT:
    break;
  }
  PT_UNREACHABLE();
}

/* ---- the collectives -------------------------------------------------- */

/* Whether reduce_scatter of a `bytes` operand over g members runs as the
 * ring below rather than as Open MPI 4.1's MPI_Reduce_scatter_block. On
 * shared-memory ranks (build/bench_coll, bench/README.md) the ring took
 * 0.6-0.7x MPI's time from 256 KiB up on 2 ranks; on 4 (oversubscribed)
 * ranks it was faster at 4-16 MiB but up to 2x slower at 1 MiB, where its
 * three dependent steps cost more than MPI's algorithm. */
static bool ring_pays(int64_t g, size_t bytes) {
  return g == 2 ? bytes >= ((size_t)256 << 10) : bytes >= ((size_t)4 << 20);
}

/* acc[i] = in[i] + own[i] over n elements of dtype t. */
static void add_into(void *acc, const void *in, const void *own, int64_t n, pt_dtype t) {
  switch (t) {
  case PT_F32: {
    float *a = acc;
    const float *x = in, *y = own;
    for (int64_t i = 0; i < n; i++)
      a[i] = x[i] + y[i];
    return;
  }
  case PT_I32: { /* wraps, like MPI_SUM on MPI_INT in practice */
    int32_t *a = acc;
    const int32_t *x = in, *y = own;
    for (int64_t i = 0; i < n; i++)
      a[i] = (int32_t)((uint32_t)x[i] + (uint32_t)y[i]);
    return;
  }
  case PT_PRED: {
    uint8_t *a = acc;
    const uint8_t *x = in, *y = own;
    for (int64_t i = 0; i < n; i++)
      a[i] = (uint8_t)(x[i] + y[i]);
    return;
  }
  case PT_DTYPE_COUNT:
    break;
  }
  PT_UNREACHABLE();
}

/* Reduce-scatter (sum) of `send`, G contiguous blocks of n elements, into
 * r (n elements: the sum of block `pos` over the group), as a ring of G-1
 * MPI_Sendrecv steps: at step s a member passes its partial sum of block
 * pos-s-1 to the next one and adds its own share into the partial of block
 * pos-s-2 it receives, so after the last step it holds block pos complete.
 * Each member sends (G-1)/G of its operand once and adds as much. */
static pt_status ring_reduce_scatter(pt_mpi_mesh *mm, const pt_op *op, MPI_Comm c, const group *g,
                                     const char *send, char *r, int64_t n, pt_dtype t, pt_diag *d) {
  size_t es = pt_dtype_size(t), bytes = (size_t)n * es;
  int64_t G = g->size, pos = g->pos;
  if (G == 1) {
    memcpy(r, send, bytes);
    return PT_OK;
  }
  int to = (int)((pos + 1) % G), from = (int)((pos + G - 1) % G);
  char *in = scratch(mm, 1, bytes);
  for (int64_t s = 0; s < G - 1; s++) {
    int64_t sb = ((pos - s - 1) % G + G) % G, rb = ((pos - s - 2) % G + G) % G;
    const char *out = s == 0 ? send + (size_t)sb * bytes : r;
    CHECK_MPI(MPI_Sendrecv(out, (int)n, mpi_type(t), to, 0, in, (int)n, mpi_type(t), from, 0, c,
                           MPI_STATUS_IGNORE),
              op->loc);
    add_into(r, in, send + (size_t)rb * bytes, n, t);
  }
  return PT_OK;
}

int pt_mpi_group_ranks(const pt_mpi_mesh *mm, const pt_op *op, int *out, int max) {
  const pt_attr *a = pt_op_attr(op, PT_A_AXES);
  if (!a || a->val.kind != PT_AV_LIST || a->val.n > PT_MAX_AXES)
    return -1;
  int axes[PT_MAX_AXES], n = a->val.n;
  int64_t members = 1;
  for (int i = 0; i < n; i++) {
    const char *s = a->val.items[i].s;
    if ((axes[i] = pt_mesh_axis(&mm->mesh, s, strlen(s))) < 0)
      return -1;
    members *= mm->mesh.sizes[axes[i]];
  }
  for (int64_t k = 0; k < members; k++) {
    /* member k: its coordinates along the group's axes, the last fastest */
    int64_t coord[PT_MAX_AXES], rest = k;
    memcpy(coord, mm->coord, sizeof coord);
    for (int i = n - 1; i >= 0; i--) {
      coord[axes[i]] = rest % mm->mesh.sizes[axes[i]];
      rest /= mm->mesh.sizes[axes[i]];
    }
    int64_t rank = 0;
    for (int ax = 0; ax < mm->mesh.naxes; ax++)
      rank = rank * mm->mesh.sizes[ax] + coord[ax];
    if (k < max)
      out[k] = (int)rank;
  }
  return (int)members;
}

static pt_status collective(pt_mpi_mesh *mm, const pt_op *op, const pt_tensor *x, pt_tensor *r,
                            pt_diag *d);

/* ---- collectives over node-shared memory ------------------------------ */

static pt_status shm_barrier(pt_mpi_mesh *mm, const pt_op *op, MPI_Comm c, pt_diag *d) {
  atomic_thread_fence(memory_order_seq_cst);
  CHECK_MPI(MPI_Barrier(c), op->loc);
  atomic_thread_fence(memory_order_seq_cst);
  return PT_OK;
}

/* o[i] = s[0][i] op s[1][i] op ... s[G-1][i] for i in [lo, hi), in group
 * order: sum, or max propagating nan as the virtual mesh does. o may be
 * one of the s (the same elements): each element is read from every s
 * before o's is written. */
static void reduce_f32(float *o, const float *const *s, int G, int64_t lo, int64_t hi, bool max) {
  if (!max && G == 2) {
    const float *a = s[0], *b = s[1];
    for (int64_t i = lo; i < hi; i++)
      o[i] = a[i] + b[i];
    return;
  }
  enum { BLK = 256 };
  float acc[BLK];
  for (int64_t i0 = lo; i0 < hi; i0 += BLK) {
    int64_t m = hi - i0 < BLK ? hi - i0 : BLK;
    const float *a = s[0] + i0;
    for (int64_t i = 0; i < m; i++)
      acc[i] = a[i];
    for (int q = 1; q < G; q++) {
      const float *b = s[q] + i0;
      if (max)
        for (int64_t i = 0; i < m; i++)
          acc[i] = b[i] > acc[i] || b[i] != b[i] ? b[i] : acc[i];
      else
        for (int64_t i = 0; i < m; i++)
          acc[i] += b[i];
    }
    memcpy(o + i0, acc, (size_t)m * sizeof *acc);
  }
}

static void reduce_i32(int32_t *o, const int32_t *const *s, int G, int64_t lo, int64_t hi,
                       bool max) {
  for (int64_t i = lo; i < hi; i++) {
    int32_t m = s[0][i];
    for (int q = 1; q < G; q++)
      m = max ? (s[q][i] > m ? s[q][i] : m) : (int32_t)((uint32_t)m + (uint32_t)s[q][i]);
    o[i] = m;
  }
}

/* Element k's chunk of n elements split G ways: [lo, hi), cut at multiples
 * of 16 elements (64 bytes of f32) so no two ranks write one cache line. */
static void chunk_of(int64_t n, int64_t G, int64_t k, int64_t *lo, int64_t *hi) {
  int64_t per = (n + G - 1) / G;
  per = (per + 15) / 16 * 16;
  *lo = k * per < n ? k * per : n;
  *hi = (k + 1) * per < n ? (k + 1) * per : n;
}

/* out[i] = acc[i] + alpha * sum[i] for i in [lo, hi), rounded as the
 * update's own ops round (the product, then the sum). out may be acc. */
static void add_scaled(float *out, const float *acc, const float *sum, float alpha, int64_t lo,
                       int64_t hi) {
  for (int64_t i = lo; i < hi; i++) {
    float step = alpha * sum[i];
    out[i] = acc[i] + step;
  }
}

/* reduce_update_f32 of two operands: one pass, vectorised (out may be acc:
 * each element is read before it is written). */
static void update2_f32(float *out, float *restrict seg, const float *restrict a,
                        const float *restrict b, int64_t lo, int64_t hi, const float *acc,
                        float alpha) {
  for (int64_t i = lo; i < hi; i++) {
    float step = alpha * (a[i] + b[i]); /* rounded apart, as the update's own ops round */
    out[i] = acc[i] + step;
  }
  memcpy(seg + lo, out + lo, (size_t)(hi - lo) * sizeof *out);
}

/* out[i] = acc[i] + alpha * (s[0][i] + s[1][i] + ... + s[G-1][i]) for i in
 * [lo, hi), the sum in group order as reduce_f32 adds, into out and into
 * seg (the rank's staging segment, where its peers read it). out may be
 * acc. */
static void reduce_update_f32(float *out, float *seg, const float *const *s, int G, int64_t lo,
                              int64_t hi, const float *acc, float alpha) {
  if (G == 2) {
    update2_f32(out, seg, s[0], s[1], lo, hi, acc, alpha);
    return;
  }
  /* the sum into this rank's own chunk of its segment, which no peer reads
   * before the next barrier, then the update */
  reduce_f32(seg, s, G, lo, hi, false);
  add_scaled(out, acc, seg, alpha, lo, hi);
  memcpy(seg + lo, out + lo, (size_t)(hi - lo) * sizeof *out);
}

typedef struct { /* an update taken into an all_reduce: out = acc + alpha * sum */
  const float *acc;
  float alpha;
} update;

/* all_reduce, all_to_all, reduce_scatter and all_gather (along any
 * dimension), through the node-shared staging window when it holds the
 * operand (every member's is as large: pt_mpi_shm_reserve agrees on it,
 * so every member of the group decides alike). Each rank's segment is
 * read by its peers in place; the operand and result stay in the rank's
 * own memory (huge pages, where the executor computes).
 *   all_reduce (G chunks of n/G elements, cut at 64 bytes): each rank
 *     copies the chunks it does not own into its segment; barrier; sums
 *     its own chunk over its operand and its peers' segments into its
 *     result (one rank computes each element: every rank gets the same
 *     bits) and copies it into its segment (where its peers read only
 *     other chunks); barrier; copies the other
 *     chunks from their owners' segments; barrier. With an update `up`
 *     (pt_mpi_all_reduce_update), the chunk a rank computes is acc +
 *     alpha * its sum, and the ranks exchange those chunks instead.
 *   reduce_scatter: the blocks of the others into the segment, each as
 *     its rows (one per index of the dims before dim) one after another;
 *     barrier; its own block summed row by row over its operand and the
 *     peers'; barrier.
 *   all_gather: the operand into the segment; barrier; every peer's
 *     block from its segment, row by row into its slot along dim; barrier.
 *   all_to_all: every block of the operand (slices along split_dim)
 *     packed into the segment, one after another; barrier; block pos of
 *     each member's segment into its slot along concat_dim; barrier.
 * The last barrier keeps a rank from overwriting its segment while a
 * slower peer still reads it. Sums run in group order. Collective over
 * the group. */
static pt_status shm_collective(pt_mpi_mesh *mm, const pt_op *op, MPI_Comm c, const group *g,
                                const pt_tensor *x, pt_tensor *r, const update *up, bool *done,
                                pt_diag *d) {
  *done = false;
  const pt_type *xt = &x->type;
  size_t es = pt_dtype_size(xt->dtype);
  size_t xbytes = (size_t)pt_type_numel(xt) * es, rbytes = (size_t)pt_type_numel(&r->type) * es;
  bool max = op->code == PT_OP_ALL_REDUCE && strcmp(pt_op_ident(op, PT_A_REDUCE), "max") == 0;
  /* the same on every member: the op, its types, the mesh and the agreed
   * staging size decide */
  size_t big = xbytes > rbytes ? xbytes : rbytes;
  if (!mm->shm || g->size < 2 || xbytes > mm->stage_bytes || big < SHM_MIN_BYTES ||
      ((op->code == PT_OP_ALL_GATHER || op->code == PT_OP_ALL_TO_ALL) && big > SHM_MAX_BYTES) ||
      (xt->dtype != PT_F32 && xt->dtype != PT_I32))
    return PT_OK;
  int G = (int)g->size, pos = (int)g->pos;
  int *mem = mm->members;
  PT_ASSERT(pt_mpi_group_ranks(mm, op, mem, mm->size) == G && mem[pos] == mm->rank);
  const char **src = (const char **)mm->src; /* by position: the operand's elements */
  char *mine = mm->stage[mm->rank];
  const char *xs = x->data;
  char *rs = r->data;
  int64_t n = pt_type_numel(&r->type), lo, hi;
  /* all_to_all: x is [souter][G][srow] along split_dim, the result
   * [couter][G][crow] along concat_dim; block q is sent as its [souter][srow]
   * bytes in a row, and received into slot q */
  size_t blk = xbytes / (size_t)G, srow = 0, crow = 0;
  int64_t souter = 1, couter = 1;
  /* reduce_scatter and all_gather along dim: `outer` slices, each of G
   * blocks of `row` bytes in reduce_scatter's operand and all_gather's
   * result; a block travels as its `outer` rows one after another */
  int64_t outer = 1;
  size_t row = 0;
  if (op->code == PT_OP_REDUCE_SCATTER || op->code == PT_OP_ALL_GATHER) {
    int dim = (int)pt_op_int(op, PT_A_DIM, 0);
    outer = outer_of(xt, dim);
    row = from_bytes(op->code == PT_OP_REDUCE_SCATTER ? &r->type : xt, dim);
  }
  if (op->code == PT_OP_ALL_TO_ALL) {
    pt_type bt = *xt; /* one block */
    int sd = (int)pt_op_int(op, PT_A_SPLIT_DIM, 0), cd = (int)pt_op_int(op, PT_A_CONCAT_DIM, 0);
    bt.dims[sd] /= G;
    souter = outer_of(xt, sd);
    srow = from_bytes(&bt, sd);
    couter = outer_of(&bt, cd);
    crow = from_bytes(&bt, cd);
  }
  switch (op->code) {
  case PT_OP_ALL_GATHER:
    memcpy(mine, xs, xbytes);
    break;
  case PT_OP_ALL_TO_ALL: /* every block, its own too, packed into the segment */
    for (int q = 0; q < G; q++)
      rows_of_slot(mine + (size_t)q * blk, xs, souter, G, q, srow);
    break;
  case PT_OP_REDUCE_SCATTER: /* block q of the segment: the operand's block q */
    for (int q = 0; q < G; q++)
      if (q != pos)
        rows_of_slot(mine + (size_t)q * rbytes, xs, outer, G, q, row);
    break;
  case PT_OP_ALL_REDUCE:
    for (int q = 0; q < G; q++) {
      chunk_of(n, G, q, &lo, &hi);
      if (q != pos && hi > lo)
        memcpy(mine + (size_t)lo * es, xs + (size_t)lo * es, (size_t)(hi - lo) * es);
    }
    break;
  default:
    PT_UNREACHABLE();
  }
  if (shm_barrier(mm, op, c, d) != PT_OK)
    return PT_ERR;
  for (int q = 0; q < G; q++)
    src[q] = q == pos ? xs : mm->stage[mem[q]];
  switch (op->code) {
  case PT_OP_ALL_GATHER: /* block q of the result is member q's operand */
    for (int q = 0; q < G; q++)
      rows_into_slot(rs, src[q], outer, G, q, row);
    break;
  case PT_OP_ALL_TO_ALL: /* slot q of the result is block pos of member q's */
    for (int q = 0; q < G; q++)
      rows_into_slot(rs, mm->stage[mem[q]] + (size_t)pos * blk, couter, G, q, crow);
    break;
  case PT_OP_REDUCE_SCATTER: /* the result is block pos of the operands' sum, row by row */
    for (int64_t o = 0; o < outer; o++) {
      for (int q = 0; q < G; q++)
        src[q] = q == pos ? xs + ((size_t)o * G + (size_t)pos) * row
                          : mm->stage[mem[q]] + (size_t)pos * rbytes + (size_t)o * row;
      char *out = rs + (size_t)o * row;
      int64_t m = (int64_t)(row / es);
      if (xt->dtype == PT_F32)
        reduce_f32((float *)out, (const float *const *)src, G, 0, m, max);
      else
        reduce_i32((int32_t *)out, (const int32_t *const *)src, G, 0, m, max);
    }
    break;
  case PT_OP_ALL_REDUCE:
    chunk_of(n, G, pos, &lo, &hi);
    if (up) { /* this chunk's update, gathered below in place of the sums */
      reduce_update_f32((float *)rs, (float *)mine, (const float *const *)src, G, lo, hi, up->acc,
                        up->alpha);
    } else if (xt->dtype == PT_F32)
      reduce_f32((float *)rs, (const float *const *)src, G, lo, hi, max);
    else
      reduce_i32((int32_t *)rs, (const int32_t *const *)src, G, lo, hi, max);
    /* peers read only the chunks this rank does not own from its segment */
    if (!up)
      memcpy(mine + (size_t)lo * es, rs + (size_t)lo * es, (size_t)(hi - lo) * es);
    if (shm_barrier(mm, op, c, d) != PT_OK)
      return PT_ERR;
    for (int q = 0; q < G; q++) {
      chunk_of(n, G, q, &lo, &hi);
      if (q != pos && hi > lo)
        memcpy(rs + (size_t)lo * es, mm->stage[mem[q]] + (size_t)lo * es, (size_t)(hi - lo) * es);
    }
    break;
  default:
    PT_UNREACHABLE();
  }
  if (shm_barrier(mm, op, c, d) != PT_OK)
    return PT_ERR;
  mm->shm_runs++;
  *done = true;
  return PT_OK;
}

int64_t pt_mpi_group_pos(const pt_mpi_mesh *mm, const pt_op *op) {
  group g;
  pt_diag *d = pt_diag_create(NULL);
  int64_t pos = mm && group_of(mm, op, &g, d) == PT_OK ? g.pos : 0;
  pt_diag_destroy(d);
  return pos;
}

pt_status pt_mpi_collective(pt_mpi_mesh *mm, const pt_op *op, const pt_tensor *x, pt_tensor *r,
                            pt_diag *d) {
  if (op->code == PT_OP_AXIS_SLICE) /* local */
    return collective(mm, op, x, r, d);
  pt_watchdog_wait(op, NULL);
  pt_status st = collective(mm, op, x, r, d);
  pt_watchdog_done();
  return st;
}

static pt_status all_reduce_update(pt_mpi_mesh *mm, const pt_op *op, const pt_tensor *x,
                                   const pt_tensor *acc, float alpha, pt_tensor *out, pt_diag *d) {
  PT_ASSERT(op->code == PT_OP_ALL_REDUCE && strcmp(pt_op_ident(op, PT_A_REDUCE), "sum") == 0 &&
            x->type.dtype == PT_F32 && out->data != x->data);
  group g;
  MPI_Comm c;
  if (group_of(mm, op, &g, d) != PT_OK || group_comm_of(mm, &g, op, &c, d) != PT_OK)
    return PT_ERR;
  update up = {acc->data, alpha};
  bool done = false;
  if (shm_collective(mm, op, c, &g, x, out, &up, &done, d) != PT_OK || done)
    return done ? PT_OK : PT_ERR;
  /* the sum into scratch memory, then the update */
  pt_tensor sum = *x;
  sum.data = scratch(mm, 1, pt_type_bytes(&x->type));
  if (collective(mm, op, x, &sum, d) != PT_OK)
    return PT_ERR;
  add_scaled(out->data, acc->data, sum.data, alpha, 0, pt_type_numel(&x->type));
  return PT_OK;
}

pt_status pt_mpi_all_reduce_update(pt_mpi_mesh *mm, const pt_op *op, const pt_tensor *x,
                                   const pt_tensor *acc, float alpha, pt_tensor *out, pt_diag *d) {
  pt_watchdog_wait(op, NULL);
  pt_status st = all_reduce_update(mm, op, x, acc, alpha, out, d);
  pt_watchdog_done();
  return st;
}

static pt_status collective(pt_mpi_mesh *mm, const pt_op *op, const pt_tensor *x, pt_tensor *r,
                            pt_diag *d) {
  PT_ASSERT(!x->wide && !r->wide && x->type.dtype == r->type.dtype);
  group g;
  if (group_of(mm, op, &g, d) != PT_OK)
    return PT_ERR;
  const pt_type *xt = &x->type, *rt = &r->type;
  size_t es = pt_dtype_size(xt->dtype);
  int64_t xn = pt_type_numel(xt), rn = pt_type_numel(rt);
  const char *xs = x->data;
  char *rs = r->data;

  /* axis_slice needs no communicator */
  if (op->code == PT_OP_AXIS_SLICE) {
    int dim = (int)pt_op_int(op, PT_A_DIM, 0);
    PT_ASSERT(rn * g.size == xn);
    rows_of_slot(rs, xs, outer_of(rt, dim), g.size, g.pos, from_bytes(rt, dim));
    return PT_OK;
  }
  MPI_Comm c;
  if (group_comm_of(mm, &g, op, &c, d) != PT_OK)
    return PT_ERR;
  if (op->code == PT_OP_ALL_REDUCE || op->code == PT_OP_REDUCE_SCATTER ||
      op->code == PT_OP_ALL_GATHER || op->code == PT_OP_ALL_TO_ALL) {
    bool done = false;
    if (shm_collective(mm, op, c, &g, x, r, NULL, &done, d) != PT_OK || done)
      return done ? PT_OK : PT_ERR;
  }
  switch (op->code) {
  case PT_OP_ALL_GATHER: {
    int dim = (int)pt_op_int(op, PT_A_DIM, 0);
    int64_t outer = outer_of(xt, dim);
    size_t blk = (size_t)xn * es;
    PT_ASSERT(rn == xn * g.size);
    if (fits_int(mm, op, (int64_t)blk, d) != PT_OK)
      return PT_ERR;
    char *recv = outer == 1 ? rs : scratch(mm, 0, blk * (size_t)g.size);
    CHECK_MPI(MPI_Allgather(xs, (int)blk, MPI_BYTE, recv, (int)blk, MPI_BYTE, c), op->loc);
    if (outer != 1) /* [G][outer] blocks -> [outer][G] */
      transpose_chunks(recv, rs, g.size, outer, from_bytes(xt, dim));
    return PT_OK;
  }
  case PT_OP_REDUCE_SCATTER: {
    int dim = (int)pt_op_int(op, PT_A_DIM, 0);
    int64_t outer = outer_of(rt, dim);
    PT_ASSERT(rn * g.size == xn);
    if (fits_int(mm, op, rn, d) != PT_OK)
      return PT_ERR;
    const char *send = xs;
    if (outer != 1) { /* [outer][G] -> [G][outer] */
      char *s = scratch(mm, 0, (size_t)xn * es);
      transpose_chunks(xs, s, outer, g.size, from_bytes(rt, dim));
      send = s;
    }
    if (ring_pays(g.size, (size_t)xn * es))
      return ring_reduce_scatter(mm, op, c, &g, send, rs, rn, xt->dtype, d);
    CHECK_MPI(MPI_Reduce_scatter_block(send, rs, (int)rn, mpi_type(xt->dtype), MPI_SUM, c),
              op->loc);
    return PT_OK;
  }
  case PT_OP_ALL_REDUCE: {
    bool max = strcmp(pt_op_ident(op, PT_A_REDUCE), "max") == 0;
    PT_ASSERT(rn == xn);
    if (fits_int(mm, op, rn, d) != PT_OK)
      return PT_ERR;
    if (rs != xs)
      memcpy(rs, xs, (size_t)xn * es);
    MPI_Op mop = !max ? MPI_SUM : xt->dtype == PT_F32 ? mm->max_nan : MPI_MAX;
    CHECK_MPI(MPI_Allreduce(MPI_IN_PLACE, rs, (int)rn, mpi_type(xt->dtype), mop, c), op->loc);
    return PT_OK;
  }
  case PT_OP_ALL_TO_ALL: {
    int sd = (int)pt_op_int(op, PT_A_SPLIT_DIM, 0), cd = (int)pt_op_int(op, PT_A_CONCAT_DIM, 0);
    PT_ASSERT(rn == xn);
    size_t blk = (size_t)xn / (size_t)g.size * es; /* bytes to each member */
    if (fits_int(mm, op, (int64_t)blk, d) != PT_OK)
      return PT_ERR;
    /* send block q: x's slice q along split_dim */
    const char *send = xs;
    pt_type bt = *xt; /* the shape of one block */
    bt.dims[sd] /= g.size;
    int64_t souter = outer_of(xt, sd);
    if (souter != 1) {
      char *s = scratch(mm, 0, (size_t)xn * es);
      transpose_chunks(xs, s, souter, g.size, from_bytes(&bt, sd));
      send = s;
    }
    /* receive block q: placed at q along concat_dim */
    int64_t couter = outer_of(&bt, cd);
    char *recv = couter == 1 ? rs : scratch(mm, 1, (size_t)xn * es);
    CHECK_MPI(MPI_Alltoall(send, (int)blk, MPI_BYTE, recv, (int)blk, MPI_BYTE, c), op->loc);
    if (couter != 1)
      transpose_chunks(recv, rs, g.size, couter, from_bytes(&bt, cd));
    return PT_OK;
  }
  case PT_OP_COLLECTIVE_PERMUTE: {
    PT_ASSERT(rn == xn);
    size_t bytes = (size_t)xn * es;
    if (fits_int(mm, op, (int64_t)bytes, d) != PT_OK)
      return PT_ERR;
    int to = MPI_PROC_NULL, from = MPI_PROC_NULL;
    const pt_attr *pa = pt_op_attr(op, PT_A_PAIRS);
    for (int i = 0; i < pa->val.n; i++) {
      int64_t s = pa->val.items[i].items[0].i, t = pa->val.items[i].items[1].i;
      if (s == g.pos)
        to = (int)t;
      if (t == g.pos)
        from = (int)s;
    }
    CHECK_MPI(MPI_Sendrecv(xs, (int)bytes, MPI_BYTE, to, 0, rs, (int)bytes, MPI_BYTE, from, 0, c,
                           MPI_STATUS_IGNORE),
              op->loc);
    if (from == MPI_PROC_NULL)
      memset(rs, 0, bytes);
    return PT_OK;
  }
  default:
    break;
  }
  PT_UNREACHABLE();
}
