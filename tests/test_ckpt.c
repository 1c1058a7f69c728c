/* Tests for collective checkpoints, run under mpirun with 1, 2 and 4 ranks:
 * written on one mesh and layout and read back on another, exact; the file
 * byte for byte what pt_st_write makes of the global tensors; replicated
 * blocks written once; failed and interrupted writes leaving the previous
 * checkpoint whole; bad files refused on every rank without a hang.
 * Check runs without fork (fork breaks MPI), so every rank runs every test
 * in the same order, and every assertion is collective (CHECK): a failure on
 * one rank fails the test on all of them at the same point, so the next test
 * starts together instead of hanging in mismatched collectives. */
#define _GNU_SOURCE
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <mpi.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "checkpoint.h"
#include "init.h"
#include "mpi_coll.h"
#include "safetensors.h"
#include "shard_init.h"
#include "testutil.h"
#include "vmesh.h"

static int rank, nranks;
static char scratch[PATH_MAX]; /* made by rank 0, the same on every rank */

static char *tpath(const char *name) {
  size_t n = strlen(scratch) + strlen(name) + 2;
  char *p = pt_malloc(n);
  snprintf(p, n, "%s/%s", scratch, name);
  return p;
}

/* The collective assertion: every rank calls it at the same point; if the
 * condition fails on any rank, every rank fails the test with the message of
 * the lowest failing rank. */
__attribute__((format(printf, 4, 5))) static void check_all(bool ok, const char *file, int line,
                                                            const char *fmt, ...) {
  char msg[1024] = "";
  if (!ok) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
  }
  int mine = ok ? nranks : rank, first = nranks;
  MPI_Allreduce(&mine, &first, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
  if (first == nranks)
    return;
  MPI_Bcast(msg, (int)sizeof msg, MPI_CHAR, first, MPI_COMM_WORLD);
  ck_abort_msg("%s:%d: rank %d: %s", file, line, first, msg);
}
#define CHECK(cond, ...) check_all((cond), __FILE__, __LINE__, __VA_ARGS__)

/* The first message in d, or "" (for failure messages). */
static const char *first_msg(const pt_diag *d) {
  return pt_diag_count(d) ? pt_diag_message(d, 0) : "";
}

/* ---- the meshes and tensors -------------------------------------------- */

/* W: the mesh written on, x by y with x*y ranks (2x2 with 4 ranks, 2x1 with
 * 2, 1x1 with 1); R: the mesh read on, one axis r over every rank. */
static pt_mesh mesh_w, mesh_r;

static void make_meshes(void) {
  memset(&mesh_w, 0, sizeof mesh_w);
  mesh_w.naxes = 2;
  mesh_w.names[0] = "x";
  mesh_w.names[1] = "y";
  mesh_w.sizes[0] = nranks >= 2 ? 2 : 1;
  mesh_w.sizes[1] = nranks / mesh_w.sizes[0];
  memset(&mesh_r, 0, sizeof mesh_r);
  mesh_r.naxes = 1;
  mesh_r.names[0] = "r";
  mesh_r.sizes[0] = nranks;
}

static pt_layout parse_layout(const pt_mesh *m, const char *s, int r) {
  pt_layout l;
  char err[256] = "";
  bool ok = pt_layout_parse(m, s, r, &l, err, sizeof err);
  CHECK(ok, "layout %s: %s", s, err);
  return l;
}

/* The tensors of a small model: each with its layout on W and on R. */
typedef struct {
  const char *name;
  pt_dtype dt;
  int rank;
  int64_t dims[3];
  pt_init_kind kind;
  const char *on_w, *on_r;
} tensor_case;

static const tensor_case model[] = {
    {"w1", PT_F32, 2, {8, 12}, PT_INIT_NORMAL, "{[x], [y]}", "{[], [r]}"},
    {"w2", PT_F32, 2, {12, 8}, PT_INIT_NORMAL, "{[y], [x]}", "{[r], []}"},
    {"emb", PT_F32, 2, {16, 4}, PT_INIT_NORMAL, "{[x, y], []}", "{[], []}"},
    {"bias", PT_F32, 1, {12}, PT_INIT_NORMAL, "{[]}", "{[r]}"},
    {"ids", PT_I32, 3, {8, 2, 4}, PT_INIT_UNIFORM_INT, "{[y], [], [x]}", "{[r], [], []}"},
    {"mask", PT_PRED, 2, {4, 6}, PT_INIT_BERNOULLI, "{[], [y]}", "{[r], []}"},
    {"scale", PT_F32, 0, {0}, PT_INIT_NORMAL, "{}", "{}"},
};
#define NMODEL ((int)(sizeof model / sizeof model[0]))

typedef struct {
  const char *names[NMODEL];
  pt_type types[NMODEL];
  pt_layout on_w[NMODEL], on_r[NMODEL];
  pt_tensor *global[NMODEL];
  pt_tensor *blocks_w[NMODEL]; /* this rank's blocks on W */
} model_t;

/* The model with values from seed: globals whole, blocks from pt_init_block. */
static void model_make(model_t *m, uint64_t seed) {
  for (int i = 0; i < NMODEL; i++) {
    const tensor_case *c = &model[i];
    m->names[i] = c->name;
    m->types[i] = pt_type_make(c->dt, c->rank, c->dims);
    m->on_w[i] = parse_layout(&mesh_w, c->on_w, c->rank);
    m->on_r[i] = parse_layout(&mesh_r, c->on_r, c->rank);
    pt_init_spec s = {.kind = c->kind,
                      .std = 0.5,
                      .bound = 100,
                      .key = pt_rng_key_for(seed, c->name),
                      .dtype = c->dt};
    m->global[i] = pt_init_tensor(&s, m->types[i]);
    m->blocks_w[i] = pt_init_block(&s, &m->types[i], &mesh_w, &m->on_w[i], rank);
  }
}

static void model_free(model_t *m) {
  for (int i = 0; i < NMODEL; i++) {
    pt_tensor_destroy(m->global[i]);
    pt_tensor_destroy(m->blocks_w[i]);
  }
}

static const char *const meta[] = {"step", "1200",    "optimizer", "adam",
                                   "mesh", "x=2,y=2", "tactic",    "megatron.yaml"};
#define NMETA 4

static pt_status write_model(const char *path, model_t *m, pt_diag *d) {
  return pt_ckpt_write(MPI_COMM_WORLD, path, NMODEL, m->names, m->types, m->on_w, &mesh_w,
                       m->blocks_w, NMETA, meta, d);
}

/* Writes m to path and checks that it worked, on every rank. */
static void write_ok(const char *path, model_t *m) {
  pt_diag *d = pt_diag_create(NULL);
  pt_status st = write_model(path, m, d);
  CHECK(st == PT_OK, "writing %s failed: %s", path, first_msg(d));
  pt_diag_destroy(d);
}

static bool same_tensor(const pt_tensor *a, const pt_tensor *b) {
  return a && b && pt_type_equal(&a->type, &b->type) &&
         memcmp(a->data, b->data, pt_type_bytes(&a->type)) == 0;
}

/* Reads path back on mesh (its layouts ls) and checks every block against
 * the globals of m. */
static void check_read(const char *path, model_t *m, const pt_mesh *mesh, const pt_layout *ls) {
  pt_diag *d = pt_diag_create(NULL);
  pt_tensor *got[NMODEL];
  pt_status st = pt_ckpt_read(MPI_COMM_WORLD, path, NMODEL, m->names, m->types, ls, mesh, got, d);
  CHECK(st == PT_OK, "reading %s failed: %s", path, first_msg(d));
  const char *bad = NULL;
  for (int i = 0; i < NMODEL; i++) {
    pt_tensor *want = pt_block_of(m->global[i], mesh, &ls[i], rank);
    if (!bad && !same_tensor(got[i], want))
      bad = m->names[i];
    pt_tensor_destroy(want);
    pt_tensor_destroy(got[i]);
  }
  pt_diag_destroy(d);
  CHECK(!bad, "tensor '%s' read back from %s differs", bad, path);
}

/* The whole file, malloc'd (NULL if it cannot be read); *n its size. */
static unsigned char *slurp(const char *path, size_t *n) {
  FILE *fp = fopen(path, "rb");
  if (!fp)
    return NULL;
  fseek(fp, 0, SEEK_END);
  long sz = ftell(fp);
  fseek(fp, 0, SEEK_SET);
  unsigned char *b = pt_malloc((size_t)(sz > 0 ? sz : 0) + 1);
  size_t got = sz > 0 ? fread(b, 1, (size_t)sz, fp) : 0;
  fclose(fp);
  if (sz < 0 || got != (size_t)sz) {
    pt_free(b);
    return NULL;
  }
  *n = (size_t)sz;
  return b;
}

/* Rank 0 checks that path opens with the ordinary reader and holds m's
 * globals; every rank learns the outcome. */
static void check_plain_read(const char *path, model_t *m) {
  char why[512] = "";
  if (rank == 0) {
    pt_diag *d = pt_diag_create(NULL);
    pt_st_file *f = pt_st_read(path, d);
    if (!f)
      snprintf(why, sizeof why, "pt_st_read failed: %s", first_msg(d));
    else if (pt_st_count(f) != NMODEL)
      snprintf(why, sizeof why, "pt_st_read found %d tensors, not %d", pt_st_count(f), NMODEL);
    for (int i = 0; f && !why[0] && i < NMODEL; i++)
      if (!same_tensor(pt_st_find(f, m->names[i]), m->global[i]))
        snprintf(why, sizeof why, "tensor '%s' in the file differs from the global tensor",
                 m->names[i]);
    pt_st_close(f);
    pt_diag_destroy(d);
  }
  CHECK(!why[0], "%s: %s", path, why);
}

/* Rank 0 checks that path is byte for byte the file pt_st_write makes of the
 * globals: the same header rules, each tensor's data once, nothing more. */
static void check_bytes(const char *path, model_t *m) {
  char why[512] = "";
  if (rank == 0) {
    char *ref = tpath("reference.safetensors");
    pt_diag *d = pt_diag_create(NULL);
    size_t na = 0, nb = 0;
    unsigned char *a = NULL, *b = NULL;
    if (pt_st_write(ref, NMODEL, m->names, (const pt_tensor *const *)m->global, NMETA, meta, d) !=
        PT_OK)
      snprintf(why, sizeof why, "pt_st_write failed: %s", first_msg(d));
    else if (!(a = slurp(path, &na)) || !(b = slurp(ref, &nb)) || na < 8)
      snprintf(why, sizeof why, "cannot read the files back");
    else {
      uint64_t hlen;
      memcpy(&hlen, a, 8);
      size_t data = 0;
      for (int i = 0; i < NMODEL; i++)
        data += pt_type_bytes(&m->types[i]);
      if (hlen % 8 != 0)
        snprintf(why, sizeof why, "the header length %llu is not a multiple of 8",
                 (unsigned long long)hlen);
      else if (na != 8 + hlen + data)
        snprintf(why, sizeof why, "the file has %zu bytes, not 8 + %llu + %zu", na,
                 (unsigned long long)hlen, data);
      else if (na != nb || memcmp(a, b, na) != 0)
        snprintf(why, sizeof why, "the checkpoint differs from pt_st_write's file");
    }
    pt_free(a);
    pt_free(b);
    unlink(ref);
    pt_free(ref);
    pt_diag_destroy(d);
  }
  CHECK(!why[0], "%s: %s", path, why);
}

/* Writes the first len bytes of src to dst (rank 0's helper; the checks
 * that follow find any failure). */
static void copy_prefix(const char *src, const char *dst, size_t len) {
  size_t n;
  unsigned char *b = slurp(src, &n);
  FILE *fp = fopen(dst, "wb");
  if (b && fp && len <= n)
    fwrite(b, 1, len, fp);
  if (fp)
    fclose(fp);
  pt_free(b);
}

static void touch(const char *path) {
  FILE *fp = fopen(path, "w");
  if (fp)
    fclose(fp);
}

static bool exists(const char *path) {
  struct stat sb;
  return stat(path, &sb) == 0;
}

/* The status was PT_ERR on every rank, with an error whose text contains
 * each of the fragments. */
static void check_error(pt_status st, pt_diag *d, const char *what, const char *frag1,
                        const char *frag2) {
  CHECK(st == PT_ERR, "%s: the call did not fail", what);
  const char *t = pt_diag_error_count(d) ? pt_diag_text(d, 0) : "(no message)";
  CHECK(strstr(t, frag1) && (!frag2 || strstr(t, frag2)), "%s: the message '%s' lacks '%s'%s%s",
        what, t, frag1, frag2 ? " or " : "", frag2 ? frag2 : "");
}

/* Runs stmt on rank 0 only, then lets every rank go on together. */
#define ON_RANK0(stmt)                                                                             \
  do {                                                                                             \
    if (rank == 0) {                                                                               \
      stmt;                                                                                        \
    }                                                                                              \
    MPI_Barrier(MPI_COMM_WORLD);                                                                   \
  } while (0)

/* ---- the tests --------------------------------------------------------- */

START_TEST(round_trip_across_layouts) {
  model_t m;
  model_make(&m, 1);
  char *p = tpath("rt.safetensors");
  char tmp[PATH_MAX];
  snprintf(tmp, sizeof tmp, "%s.tmp", p);
  write_ok(p, &m);
  CHECK(exists(p) && !exists(tmp), "after the write: path %s, temporary file %s",
        exists(p) ? "present" : "missing", exists(tmp) ? "present" : "gone");
  check_read(p, &m, &mesh_r, m.on_r); /* another mesh and layout */
  check_read(p, &m, &mesh_w, m.on_w); /* the writer's own */
  check_plain_read(p, &m);
  check_bytes(p, &m);
  pt_free(p);
  model_free(&m);
}
END_TEST

/* Ranks that are not their block's writer hold garbage in it: the file must
 * still hold the true values, so only the writer's copy reached it. */
START_TEST(replicated_blocks_written_once) {
  model_t m;
  model_make(&m, 2);
  for (int i = 0; i < NMODEL; i++) {
    bool writer = true;
    for (int a = 0; a < mesh_w.naxes; a++) {
      bool used = false;
      for (int dd = 0; dd < m.on_w[i].rank; dd++)
        for (int k = 0; k < m.on_w[i].naxes[dd]; k++)
          used |= m.on_w[i].axes[dd][k] == a;
      writer &= used || pt_mesh_coord(&mesh_w, rank, a) == 0;
    }
    if (!writer) {
      pt_tensor *b = m.blocks_w[i];
      for (int64_t k = 0; k < pt_type_numel(&b->type); k++)
        pt_tensor_set(b, k, b->type.dtype == PT_PRED ? 1 - pt_tensor_get(b, k) : 99 + rank);
    }
  }
  char *p = tpath("once.safetensors");
  write_ok(p, &m);
  check_plain_read(p, &m);
  check_bytes(p, &m);
  pt_free(p);
  model_free(&m);
}
END_TEST

START_TEST(metadata) {
  model_t m;
  model_make(&m, 3);
  char *p = tpath("meta.safetensors");
  pt_diag *d = pt_diag_create(NULL);
  write_ok(p, &m);
  int n = -1;
  char **kv = NULL;
  pt_status st = pt_ckpt_meta(MPI_COMM_WORLD, p, &n, &kv, d);
  CHECK(st == PT_OK && n == NMETA, "pt_ckpt_meta gave %d pairs: %s", n, first_msg(d));
  for (int k = 0; k < NMETA; k++) {
    const char *v = pt_ckpt_meta_find(n, kv, meta[2 * k]);
    CHECK(v && strcmp(v, meta[2 * k + 1]) == 0, "metadata '%s' is '%s'", meta[2 * k],
          v ? v : "(none)");
  }
  CHECK(!pt_ckpt_meta_find(n, kv, "seed"), "metadata 'seed' found");
  CHECK(strcmp(kv[0], "mesh") == 0, "the first key is '%s', not 'mesh' (sorted)", kv[0]);
  pt_ckpt_meta_free(n, kv);
  char why[128] = "";
  if (rank == 0) {
    pt_st_file *f = pt_st_read(p, d);
    if (!f || !pt_st_meta(f, "step") || strcmp(pt_st_meta(f, "step"), "1200") != 0)
      snprintf(why, sizeof why, "pt_st_read does not see step 1200");
    pt_st_close(f);
  }
  CHECK(!why[0], "%s", why);
  /* no metadata at all: zero pairs */
  st = pt_ckpt_write(MPI_COMM_WORLD, p, NMODEL, m.names, m.types, m.on_w, &mesh_w, m.blocks_w, 0,
                     NULL, d);
  CHECK(st == PT_OK, "writing without metadata failed: %s", first_msg(d));
  st = pt_ckpt_meta(MPI_COMM_WORLD, p, &n, &kv, d);
  CHECK(st == PT_OK && n == 0 && kv, "without metadata pt_ckpt_meta gave %d pairs", n);
  pt_ckpt_meta_free(n, kv);
  CHECK(pt_diag_error_count(d) == 0, "unexpected error: %s", first_msg(d));
  pt_diag_destroy(d);
  pt_free(p);
  model_free(&m);
}
END_TEST

START_TEST(write_into_missing_directory) {
  model_t m;
  model_make(&m, 4);
  char *dir = tpath("no-such-dir");
  char *p = tpath("no-such-dir/ck.safetensors");
  pt_diag *d = pt_diag_create(NULL);
  pt_status st = write_model(p, &m, d);
  check_error(st, d, "missing directory", "rank 0: cannot create", strerror(ENOENT));
  CHECK(pt_diag_error_count(d) == 1, "%d errors reported", pt_diag_error_count(d));
  CHECK(!exists(dir), "the directory was made");
  pt_diag_destroy(d);
  pt_free(p);
  pt_free(dir);
  model_free(&m);
}
END_TEST

/* The temporary file cannot be opened (a directory sits at its name): the
 * write fails everywhere and the previous checkpoint is untouched. */
START_TEST(failed_open_keeps_old_checkpoint) {
  model_t old, new;
  model_make(&old, 5);
  model_make(&new, 6);
  char *p = tpath("keep.safetensors");
  char tmp[PATH_MAX];
  snprintf(tmp, sizeof tmp, "%s.tmp", p);
  pt_diag *d = pt_diag_create(NULL);
  write_ok(p, &old);
  ON_RANK0(mkdir(tmp, 0777));
  pt_status st = write_model(p, &new, d);
  check_error(st, d, "temporary file is a directory", "rank 0: cannot create", strerror(EISDIR));
  check_plain_read(p, &old);
  check_read(p, &old, &mesh_r, old.on_r);
  ON_RANK0(rmdir(tmp));
  pt_diag_destroy(d);
  pt_free(p);
  model_free(&old);
  model_free(&new);
}
END_TEST

/* The final rename fails (a directory sits at path): an error on every rank
 * and no temporary file left behind. */
START_TEST(failed_rename_leaves_nothing) {
  model_t m;
  model_make(&m, 7);
  char *p = tpath("is-a-dir");
  char *inside = tpath("is-a-dir/keep");
  char tmp[PATH_MAX];
  snprintf(tmp, sizeof tmp, "%s.tmp", p);
  ON_RANK0(mkdir(p, 0777); touch(inside));
  pt_diag *d = pt_diag_create(NULL);
  pt_status st = write_model(p, &m, d);
  check_error(st, d, "path is a directory", "rank 0: cannot rename", NULL);
  CHECK(!exists(tmp), "the temporary file was left behind");
  CHECK(exists(inside), "the directory at the path lost its file");
  ON_RANK0(unlink(inside); rmdir(p));
  pt_diag_destroy(d);
  pt_free(inside);
  pt_free(p);
  model_free(&m);
}
END_TEST

/* One rank passes a block of the wrong shape: every rank fails, naming it,
 * and nothing is written. */
START_TEST(bad_block_on_one_rank) {
  model_t m;
  model_make(&m, 8);
  char *p = tpath("badblock.safetensors");
  char tmp[PATH_MAX];
  snprintf(tmp, sizeof tmp, "%s.tmp", p);
  pt_tensor *keep = m.blocks_w[0];
  int64_t dims[2] = {3, 3};
  pt_tensor *wrong = pt_tensor_create(pt_type_make(PT_F32, 2, dims));
  if (rank == nranks - 1)
    m.blocks_w[0] = wrong;
  pt_diag *d = pt_diag_create(NULL);
  pt_status st = write_model(p, &m, d);
  m.blocks_w[0] = keep;
  pt_tensor_destroy(wrong);
  char who[64];
  snprintf(who, sizeof who, "rank %d: the block of tensor 'w1'", nranks - 1);
  check_error(st, d, "bad block", who, "but is f32[3,3]");
  CHECK(!exists(p) && !exists(tmp), "a file was left behind");
  pt_diag_destroy(d);
  pt_free(p);
  model_free(&m);
}
END_TEST

/* A write killed part way leaves a partial `<path>.tmp` (here made by hand,
 * longer than the real file): the checkpoint at path is still the old one,
 * and the next write replaces it with a file of exactly the right size. */
START_TEST(killed_mid_write) {
  model_t old, new;
  model_make(&old, 9);
  model_make(&new, 10);
  char *p = tpath("killed.safetensors");
  char tmp[PATH_MAX];
  snprintf(tmp, sizeof tmp, "%s.tmp", p);
  write_ok(p, &old);
  char why[128] = "";
  if (rank == 0) {
    size_t n;
    unsigned char *b = slurp(p, &n);
    FILE *fp = fopen(tmp, "wb");
    if (!b || !fp || fwrite(b, 1, n / 2, fp) != n / 2) /* half a checkpoint */
      snprintf(why, sizeof why, "cannot make the partial file");
    for (int k = 0; fp && k < 4096; k++)
      fputs("garbage!", fp);
    if (fp)
      fclose(fp);
    pt_free(b);
  }
  CHECK(!why[0], "%s", why);
  check_plain_read(p, &old);
  check_read(p, &old, &mesh_r, old.on_r);
  write_ok(p, &new);
  CHECK(!exists(tmp), "the temporary file is still there");
  check_plain_read(p, &new);
  check_bytes(p, &new);
  check_read(p, &new, &mesh_r, new.on_r);
  pt_free(p);
  model_free(&old);
  model_free(&new);
}
END_TEST

/* Reading a file cut short at various points fails on every rank with a
 * message saying so, and hands back no blocks. */
START_TEST(truncated_file) {
  model_t m;
  model_make(&m, 11);
  char *p = tpath("whole.safetensors");
  char *cut = tpath("cut.safetensors");
  pt_diag *d = pt_diag_create(NULL);
  write_ok(p, &m);
  uint64_t info[2] = {0, 0}; /* header length, file size */
  if (rank == 0) {
    size_t n = 0;
    unsigned char *b = slurp(p, &n);
    if (b) {
      memcpy(&info[0], b, 8);
      info[1] = n;
    }
    pt_free(b);
  }
  MPI_Bcast(info, 2, MPI_UINT64_T, 0, MPI_COMM_WORLD);
  CHECK(info[1] > 0, "cannot read %s", p);
  const struct {
    const char *name;
    size_t len;
    const char *frag;
  } cuts[] = {
      {"inside the length", 4, "fewer than the 8 of the header length"},
      {"inside the header", 8 + info[0] / 2, "truncated: the header length says"},
      {"inside the data", info[1] - 10, "truncated: checkpoint tensor"},
      {"no data at all", 8 + info[0], "truncated: checkpoint tensor"},
  };
  for (size_t k = 0; k < sizeof cuts / sizeof cuts[0]; k++) {
    ON_RANK0(copy_prefix(p, cut, cuts[k].len));
    pt_diag_clear(d);
    pt_tensor *got[NMODEL];
    pt_status st =
        pt_ckpt_read(MPI_COMM_WORLD, cut, NMODEL, m.names, m.types, m.on_r, &mesh_r, got, d);
    check_error(st, d, cuts[k].name, "rank 0: ", cuts[k].frag);
    bool none = true;
    for (int i = 0; i < NMODEL; i++)
      none &= got[i] == NULL;
    CHECK(none, "%s: blocks handed back after an error", cuts[k].name);
  }
  pt_diag_destroy(d);
  pt_free(cut);
  pt_free(p);
  model_free(&m);
}
END_TEST

/* Tensors the program wants that the file lacks or holds in another shape,
 * a file that is not there, a mesh of the wrong size. */
START_TEST(foreign_checkpoint) {
  model_t m;
  model_make(&m, 12);
  char *p = tpath("foreign.safetensors");
  pt_diag *d = pt_diag_create(NULL);
  write_ok(p, &m);
  pt_tensor *got[NMODEL];

  const char *names[2] = {"w1", "w3"};
  pt_layout ls[2] = {m.on_r[0], m.on_r[0]};
  pt_type ts[2] = {m.types[0], m.types[0]};
  pt_status st = pt_ckpt_read(MPI_COMM_WORLD, p, 2, names, ts, ls, &mesh_r, got, d);
  check_error(st, d, "missing tensor", "the checkpoint has no tensor 'w3'", "'bias'");
  CHECK(!got[0] && !got[1], "blocks handed back after an error");

  pt_diag_clear(d);
  int64_t dims[2] = {4, 12};
  ts[0] = pt_type_make(PT_F32, 2, dims);
  st = pt_ckpt_read(MPI_COMM_WORLD, p, 1, names, ts, ls, &mesh_r, got, d);
  check_error(st, d, "wrong shape",
              "checkpoint tensor 'w1' is f32[8,12] but the program's w1 is f32[4,12]", NULL);

  pt_diag_clear(d);
  ts[0] = pt_type_make(PT_I32, 2, m.types[0].dims);
  st = pt_ckpt_read(MPI_COMM_WORLD, p, 1, names, ts, ls, &mesh_r, got, d);
  check_error(st, d, "wrong dtype", "is f32[8,12] but the program's w1 is i32[8,12]", NULL);

  pt_diag_clear(d);
  char *none = tpath("none.safetensors");
  st = pt_ckpt_read(MPI_COMM_WORLD, none, NMODEL, m.names, m.types, m.on_r, &mesh_r, got, d);
  check_error(st, d, "no file", "rank 0: cannot open the checkpoint", strerror(ENOENT));
  int nm = -1;
  char **kv = NULL;
  pt_diag_clear(d);
  st = pt_ckpt_meta(MPI_COMM_WORLD, none, &nm, &kv, d);
  check_error(st, d, "no file for metadata", "cannot open the checkpoint", NULL);
  CHECK(!kv && nm == 0, "metadata handed back after an error");

  /* a mesh of the wrong size is refused before any file is touched */
  pt_diag_clear(d);
  pt_mesh big = mesh_r;
  big.sizes[0] = nranks * 2;
  pt_layout rep = parse_layout(&big, "{[], []}", 2);
  st = pt_ckpt_read(MPI_COMM_WORLD, p, 1, names, m.types, &rep, &big, got, d);
  check_error(st, d, "mesh size", "devices but the communicator has", NULL);

  pt_free(none);
  pt_diag_destroy(d);
  pt_free(p);
  model_free(&m);
}
END_TEST

/* ---- running under MPI ------------------------------------------------- */

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
  return remove(path);
}

int main(int argc, char **argv) {
  pt_mpi_init();
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &nranks);
  if (nranks != 1 && nranks != 2 && nranks != 4) {
    if (rank == 0)
      fprintf(stderr, "test_ckpt runs on 1, 2 or 4 ranks, not %d\n", nranks);
    MPI_Finalize();
    return EXIT_FAILURE;
  }
  make_meshes();
  if (rank == 0) {
    snprintf(scratch, sizeof scratch, "/tmp/pt-ckpt-XXXXXX");
    if (!mkdtemp(scratch)) {
      perror("mkdtemp");
      scratch[0] = 0;
    }
  }
  MPI_Bcast(scratch, (int)sizeof scratch, MPI_CHAR, 0, MPI_COMM_WORLD);
  if (!scratch[0]) {
    MPI_Finalize();
    return EXIT_FAILURE;
  }

  Suite *s = suite_create("ckpt");
  TCase *tc = tcase_create("ckpt");
  tcase_add_test(tc, round_trip_across_layouts);
  tcase_add_test(tc, replicated_blocks_written_once);
  tcase_add_test(tc, metadata);
  tcase_add_test(tc, write_into_missing_directory);
  tcase_add_test(tc, failed_open_keeps_old_checkpoint);
  tcase_add_test(tc, failed_rename_leaves_nothing);
  tcase_add_test(tc, bad_block_on_one_rank);
  tcase_add_test(tc, killed_mid_write);
  tcase_add_test(tc, truncated_file);
  tcase_add_test(tc, foreign_checkpoint);
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_set_fork_status(sr, CK_NOFORK);
  srunner_run_all(sr, rank == 0 ? CK_NORMAL : CK_SILENT);
  int failed = srunner_ntests_failed(sr), any = 0;
  srunner_free(sr);
  MPI_Allreduce(&failed, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  if (failed)
    fprintf(stderr, "rank %d: %d test(s) failed\n", rank, failed);
  MPI_Barrier(MPI_COMM_WORLD);
  if (rank == 0)
    nftw(scratch, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
  MPI_Finalize();
  return any ? EXIT_FAILURE : EXIT_SUCCESS;
}
