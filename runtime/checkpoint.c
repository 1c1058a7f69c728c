/* Collective checkpoints in one safetensors file (see checkpoint.h). Every
 * step that can fail on one rank is followed by agree(), so the ranks leave
 * together and no rank waits forever in a collective the others skipped. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "checkpoint.h"
#include "safetensors.h"

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
               "checkpoints assume a little-endian host, like safetensors.c");

/* ---- agreeing on failure ------------------------------------------------ */

typedef struct {
  MPI_Comm comm;
  int rank, size;
  const char *path;
  pt_diag *d;
  char err[1024]; /* this rank's first problem, "" while none */
  bool reported;  /* the agreed message is in d */
} ck_ctx;

static void ck_init(ck_ctx *c, MPI_Comm comm, const char *path, pt_diag *d) {
  memset(c, 0, sizeof *c);
  c->comm = comm;
  MPI_Comm_rank(comm, &c->rank);
  MPI_Comm_size(comm, &c->size);
  c->path = path;
  c->d = d;
}

/* Records this rank's problem (the first one only). */
__attribute__((format(printf, 2, 3))) static void fail(ck_ctx *c, const char *fmt, ...) {
  if (c->err[0])
    return;
  int k = snprintf(c->err, sizeof c->err, "rank %d: ", c->rank);
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(c->err + k, sizeof c->err - (size_t)k, fmt, ap);
  va_end(ap);
}

/* Records a failed MPI call: what it was doing and MPI_Error_string. */
static void fail_mpi(ck_ctx *c, int code, const char *what) {
  char s[MPI_MAX_ERROR_STRING];
  int len = 0;
  if (MPI_Error_string(code, s, &len) != MPI_SUCCESS)
    snprintf(s, sizeof s, "MPI error code %d", code);
  fail(c, "%s: %s", what, s);
}

/* Collective: true when no rank has a problem. Otherwise every rank reports
 * the problem of the lowest failing rank (and its own, if it has another)
 * and gets false. */
static bool agree(ck_ctx *c) {
  int mine = c->err[0] ? c->rank : c->size, first = c->size;
  MPI_Allreduce(&mine, &first, 1, MPI_INT, MPI_MIN, c->comm);
  if (first == c->size)
    return true;
  char msg[sizeof c->err];
  if (c->rank == first)
    memcpy(msg, c->err, sizeof msg);
  MPI_Bcast(msg, (int)sizeof msg, MPI_CHAR, first, c->comm);
  msg[sizeof msg - 1] = 0;
  if (!c->reported) {
    pt_loc loc = {c->path, 0, 0};
    pt_diag_error(c->d, loc, "%s", msg);
    if (c->err[0] && strcmp(c->err, msg) != 0)
      pt_diag_error(c->d, loc, "%s", c->err);
    c->reported = true;
  }
  return false;
}

/* ---- blocks ----------------------------------------------------------- */

static MPI_Datatype mpi_dtype(pt_dtype dt) {
  switch (dt) {
  case PT_F32:
    return MPI_FLOAT;
  case PT_I32:
    return MPI_INT32_T;
  case PT_PRED:
    return MPI_UINT8_T;
  case PT_DTYPE_COUNT:
    break;
  }
  PT_UNREACHABLE();
}

static pt_type local_type(const pt_mesh *mesh, const pt_type *t, const pt_layout *l) {
  pt_type lt = *t;
  for (int d = 0; d < t->rank; d++)
    for (int k = 0; k < l->naxes[d]; k++)
      lt.dims[d] /= mesh->sizes[l->axes[d][k]];
  return lt;
}

/* Whether dev writes its block: of the devices holding the same block (they
 * differ only on axes l leaves unused) the one at coordinate 0 on them all. */
static bool is_writer(const pt_mesh *mesh, const pt_layout *l, int64_t dev) {
  uint32_t used = 0;
  for (int d = 0; d < l->rank; d++)
    for (int k = 0; k < l->naxes[d]; k++)
      used |= 1u << l->axes[d][k];
  for (int a = 0; a < mesh->naxes; a++)
    if (!((used >> a) & 1) && pt_mesh_coord(mesh, dev, a) != 0)
      return false;
  return true;
}

/* Checks what every rank passes alike; false with the problem recorded. */
static bool check_tensor(ck_ctx *c, const char *name, const pt_type *t, const pt_layout *l,
                         const pt_mesh *mesh) {
  char ts[PT_TYPE_STRLEN], ls[256];
  pt_type_str(t, ts, sizeof ts);
  if (l->partial_sum || l->partial_max || !pt_layout_valid(mesh, t, l)) {
    pt_layout_str(mesh, l, ls, sizeof ls);
    fail(c, "tensor '%s' (%s) cannot be laid out as %s on this mesh", name, ts, ls);
    return false;
  }
  pt_type lt = local_type(mesh, t, l);
  for (int d = 0; d < t->rank; d++)
    if (t->dims[d] == 0 || t->dims[d] > INT_MAX) {
      fail(c, "tensor '%s' is %s; checkpoints hold dimensions from 1 to %d", name, ts, INT_MAX);
      return false;
    }
  if (pt_type_numel(&lt) > INT_MAX) {
    fail(c, "tensor '%s' (%s) has %" PRId64 " elements per rank; checkpoints move at most %d", name,
         ts, pt_type_numel(&lt), INT_MAX);
    return false;
  }
  return true;
}

static bool check_mesh(ck_ctx *c, const pt_mesh *mesh) {
  if (pt_mesh_devices(mesh) != c->size) {
    fail(c, "the mesh has %" PRId64 " devices but the communicator has %d ranks",
         pt_mesh_devices(mesh), c->size);
    return false;
  }
  return true;
}

/* Sets tensor t's view of fh to this rank's block: a row-major subarray of
 * the global array at byte disp. A failure is recorded for agree(). */
static void set_block_view(ck_ctx *c, MPI_File fh, MPI_Offset disp, const pt_type *t,
                           const pt_layout *l, const pt_mesh *mesh, const char *name) {
  int r = t->rank ? t->rank : 1; /* subarrays need a dimension: a scalar is [1] */
  int sizes[PT_MAX_RANK] = {1}, sub[PT_MAX_RANK] = {1}, starts[PT_MAX_RANK] = {0};
  int64_t start[PT_MAX_RANK];
  pt_layout_block(mesh, t, l, c->rank, start);
  pt_type lt = local_type(mesh, t, l);
  for (int d = 0; d < t->rank; d++) {
    sizes[d] = (int)t->dims[d];
    sub[d] = (int)lt.dims[d];
    starts[d] = (int)start[d];
  }
  MPI_Datatype et = mpi_dtype(t->dtype), ft;
  char what[400];
  int rc = MPI_Type_create_subarray(r, sizes, sub, starts, MPI_ORDER_C, et, &ft);
  if (rc == MPI_SUCCESS) {
    rc = MPI_Type_commit(&ft);
    if (rc == MPI_SUCCESS)
      rc = MPI_File_set_view(fh, disp, et, ft, "native", MPI_INFO_NULL);
    MPI_Type_free(&ft);
  }
  if (rc != MPI_SUCCESS) {
    snprintf(what, sizeof what, "cannot set the file view for tensor '%s'", name);
    fail_mpi(c, rc, what);
  }
}

/* ---- writing ----------------------------------------------------------- */

/* Rank 0, after the collective close: syncs the finished temporary file and
 * renames it over path. */
static void publish(ck_ctx *c, const char *tmp) {
  int fd = open(tmp, O_RDONLY);
  if (fd < 0) {
    fail(c, "cannot reopen '%s' to sync it: %s", tmp, strerror(errno));
    return;
  }
  if (fsync(fd) != 0) {
    fail(c, "cannot sync '%s': %s", tmp, strerror(errno));
    close(fd);
    return;
  }
  close(fd);
  if (rename(tmp, c->path) != 0) {
    fail(c, "cannot rename '%s' to '%s': %s", tmp, c->path, strerror(errno));
    return;
  }
  pt_sync_dir(c->path);
}

pt_status pt_ckpt_write(MPI_Comm comm, const char *path, int n, const char *const *names,
                        const pt_type *global_types, const pt_layout *layouts, const pt_mesh *mesh,
                        pt_tensor *const *local_blocks, int nmeta, const char *const *meta,
                        pt_diag *d) {
  PT_ASSERT(n >= 0 && nmeta >= 0);
  ck_ctx c;
  ck_init(&c, comm, path, d);

  /* the arguments: alike on every rank but for the blocks */
  if (check_mesh(&c, mesh))
    for (int i = 0; i < n; i++) {
      if (strcmp(names[i], "__metadata__") == 0) {
        fail(&c, "the tensor name '__metadata__' is reserved");
        break;
      }
      bool twice = false;
      for (int j = 0; j < i && !twice; j++)
        twice = strcmp(names[i], names[j]) == 0;
      if (twice) {
        fail(&c, "the tensor name '%s' is given twice", names[i]);
        break;
      }
      if (!check_tensor(&c, names[i], &global_types[i], &layouts[i], mesh))
        break;
      pt_type lt = local_type(mesh, &global_types[i], &layouts[i]);
      const pt_tensor *b = local_blocks[i];
      if (!b || b->wide || !pt_type_equal(&b->type, &lt)) {
        char want[PT_TYPE_STRLEN], got[PT_TYPE_STRLEN];
        pt_type_str(&lt, want, sizeof want);
        if (b)
          pt_type_str(&b->type, got, sizeof got);
        fail(&c, "the block of tensor '%s' should be %s but is %s", names[i], want,
             !b        ? "missing"
             : b->wide ? "a wide (f64) tensor"
                       : got);
        break;
      }
    }
  if (!agree(&c))
    return PT_ERR;

  /* offsets in the data section: every rank computes the same ones */
  uint64_t *off = pt_malloc((size_t)(n + 1) * sizeof *off);
  off[0] = 0;
  for (int i = 0; i < n; i++)
    off[i + 1] = off[i] + pt_type_bytes(&global_types[i]);
  uint64_t hlen = 0;
  char *header = NULL;
  if (c.rank == 0) {
    char why[256];
    header = pt_st_header(n, names, global_types, off, nmeta, meta, &hlen, why, sizeof why);
    if (!header)
      fail(&c, "%s", why);
  }
  size_t tl = strlen(path) + 5;
  char *tmp = pt_malloc(tl);
  snprintf(tmp, tl, "%s.tmp", path);
  MPI_File fh = MPI_FILE_NULL;
  bool created = false, ok = false;
  if (!agree(&c))
    goto out;
  MPI_Bcast(&hlen, 1, MPI_UINT64_T, 0, comm);

  /* Rank 0 creates the temporary file first: a bad directory fails here, on
   * one rank, before any collective open, and O_TRUNC drops whatever an
   * earlier, interrupted write left in it. It also reserves the file's whole
   * size: MPI-IO's collective writes do not always report a full disk (Open
   * MPI's ompio prints the error and returns success, leaving holes), so
   * the space is claimed where the error is certain to be seen. */
  if (c.rank == 0) {
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0666);
    if (fd < 0)
      fail(&c, "cannot create '%s': %s", tmp, strerror(errno));
    else {
      created = true;
      uint64_t total = hlen + off[n];
      int e = posix_fallocate(fd, 0, (off_t)total);
      if (e != 0 && e != EOPNOTSUPP && e != EINVAL) /* a filesystem that cannot reserve */
        fail(&c, "cannot reserve %llu bytes for '%s': %s", (unsigned long long)total, tmp,
             strerror(e));
      close(fd);
    }
  }
  if (!agree(&c))
    goto out;
  int rc = MPI_File_open(comm, tmp, MPI_MODE_CREATE | MPI_MODE_WRONLY, MPI_INFO_NULL, &fh);
  if (rc != MPI_SUCCESS) {
    fh = MPI_FILE_NULL;
    char what[PATH_MAX + 64];
    snprintf(what, sizeof what, "cannot open '%s' for writing", tmp);
    fail_mpi(&c, rc, what);
  }
  if (!agree(&c)) {
    /* Closing is collective, and the ranks whose open failed have nothing
     * to close: a rank whose open succeeded keeps its handle rather than
     * hang in MPI_File_close. */
    fh = MPI_FILE_NULL;
    goto out;
  }

  MPI_Status st;
  rc = MPI_File_write_at_all(fh, 0, header, c.rank == 0 ? (int)hlen : 0, MPI_BYTE, &st);
  if (rc != MPI_SUCCESS)
    fail_mpi(&c, rc, "cannot write the header");
  if (!agree(&c))
    goto out;
  for (int i = 0; i < n; i++) {
    const pt_type *t = &global_types[i];
    set_block_view(&c, fh, (MPI_Offset)(hlen + off[i]), t, &layouts[i], mesh, names[i]);
    if (!agree(&c))
      goto out;
    int count =
        is_writer(mesh, &layouts[i], c.rank) ? (int)pt_type_numel(&local_blocks[i]->type) : 0;
    MPI_Datatype et = mpi_dtype(t->dtype);
    rc = MPI_File_write_all(fh, local_blocks[i]->data, count, et, &st);
    int got = count;
    if (rc == MPI_SUCCESS)
      MPI_Get_count(&st, et, &got);
    char what[400];
    snprintf(what, sizeof what, "cannot write tensor '%s'", names[i]);
    if (rc != MPI_SUCCESS)
      fail_mpi(&c, rc, what);
    else if (got != count)
      fail(&c, "%s: wrote %d of %d elements", what, got, count);
    if (!agree(&c))
      goto out;
  }
  rc = MPI_File_sync(fh);
  if (rc != MPI_SUCCESS)
    fail_mpi(&c, rc, "cannot sync the checkpoint");
  if (!agree(&c))
    goto out;
  rc = MPI_File_close(&fh);
  fh = MPI_FILE_NULL;
  if (rc != MPI_SUCCESS)
    fail_mpi(&c, rc, "cannot close the checkpoint");
  if (!agree(&c))
    goto out;
  if (c.rank == 0) {
    publish(&c, tmp);
    created = c.err[0] != 0; /* renamed away unless publishing failed */
  }
  /* no rank returns before rank 0 has renamed the file */
  ok = agree(&c);

out:
  if (fh != MPI_FILE_NULL)
    MPI_File_close(&fh);
  if (!ok) {
    if (c.rank == 0 && created)
      unlink(tmp);
    /* nor, after a failure, before the temporary file is gone */
    MPI_Barrier(comm);
  }
  pt_free(header);
  pt_free(tmp);
  pt_free(off);
  return ok ? PT_OK : PT_ERR;
}

/* ---- reading ----------------------------------------------------------- */

/* Collective: rank 0 reads the header and broadcasts it; every rank parses
 * it. On success *root is the header's JSON object, *data_start the offset of
 * the data section and *data_len its length in bytes. */
static bool read_header(ck_ctx *c, json_t **root, uint64_t *data_start, uint64_t *data_len) {
  *root = NULL;
  uint64_t info[2] = {0, 0}; /* header length, file size */
  char *text = NULL;
  if (c->rank == 0) {
    FILE *fp = fopen(c->path, "rb");
    struct stat sb;
    if (!fp)
      fail(c, "cannot open the checkpoint: %s", strerror(errno));
    else if (fstat(fileno(fp), &sb) != 0)
      fail(c, "cannot read the checkpoint: %s", strerror(errno));
    else if (!S_ISREG(sb.st_mode))
      fail(c, "the checkpoint is not a regular file");
    else if (sb.st_size < 8)
      fail(c, "truncated: the file has %lld bytes, fewer than the 8 of the header length",
           (long long)sb.st_size);
    else if (fread(&info[0], 1, 8, fp) != 8)
      fail(c, "cannot read the checkpoint: %s", ferror(fp) ? strerror(errno) : "short read");
    else if (info[0] > (uint64_t)sb.st_size - 8)
      fail(c, "truncated: the header length says %" PRIu64 " bytes but only %lld follow it",
           info[0], (long long)sb.st_size - 8);
    else if (info[0] > INT_MAX)
      fail(c, "the header length says %" PRIu64 " bytes, more than partita reads", info[0]);
    else {
      info[1] = (uint64_t)sb.st_size;
      text = pt_malloc(info[0] + 1);
      if (fread(text, 1, info[0], fp) != info[0])
        fail(c, "cannot read the header: %s", ferror(fp) ? strerror(errno) : "short read");
    }
    if (fp)
      fclose(fp);
  }
  if (!agree(c)) {
    pt_free(text);
    return false;
  }
  MPI_Bcast(info, 2, MPI_UINT64_T, 0, c->comm);
  if (c->rank != 0)
    text = pt_malloc(info[0] + 1);
  MPI_Bcast(text, (int)info[0], MPI_CHAR, 0, c->comm);
  json_error_t jerr;
  json_t *j = json_loadb(text, (size_t)info[0], JSON_REJECT_DUPLICATES, &jerr);
  pt_free(text);
  if (!j)
    fail(c, "malformed header JSON: %s (at byte %d of the header)", jerr.text, jerr.position);
  else if (!json_is_object(j))
    fail(c, "the header is not a JSON object");
  if (!agree(c)) {
    json_decref(j);
    return false;
  }
  *root = j;
  *data_start = 8 + info[0];
  *data_len = info[1] - 8 - info[0];
  return true;
}

/* The names the checkpoint holds, for a "no tensor" message. */
static void list_names(json_t *root, char *buf, size_t n) {
  size_t k = 0, shown = 0, total = 0;
  buf[0] = 0;
  const char *key;
  json_t *v;
  json_object_foreach(root, key, v) {
    if (strcmp(key, "__metadata__") == 0)
      continue;
    if (shown < 8 && k + strlen(key) + 8 < n) {
      k += (size_t)snprintf(buf + k, n - k, "%s'%s'", shown ? ", " : "", key);
      shown++;
    }
    total++;
  }
  if (total > shown && k + 8 < n)
    snprintf(buf + k, n - k, ", ...");
}

/* Checks the header's entry for tensor `name` against the program's type t
 * and the data section; its offset in the data section in *begin. */
static bool check_entry(ck_ctx *c, json_t *root, const char *name, const pt_type *t,
                        uint64_t data_len, uint64_t *begin) {
  json_t *e = json_object_get(root, name);
  if (!e || strcmp(name, "__metadata__") == 0) {
    char have[512];
    list_names(root, have, sizeof have);
    fail(c, "the checkpoint has no tensor '%s' (it has %s)", name, have[0] ? have : "none");
    return false;
  }
  json_t *jdt = json_object_get(e, "dtype"), *jshape = json_object_get(e, "shape");
  json_t *joff = json_object_get(e, "data_offsets");
  if (!json_is_object(e) || !json_is_string(jdt) || !json_is_array(jshape) ||
      !json_is_array(joff) || json_array_size(joff) != 2 ||
      !json_is_integer(json_array_get(joff, 0)) || !json_is_integer(json_array_get(joff, 1))) {
    fail(c,
         "checkpoint tensor '%s': its entry must have \"dtype\", \"shape\" and "
         "\"data_offsets\"",
         name);
    return false;
  }
  const char *dts = json_string_value(jdt);
  pt_dtype fdt = PT_F32;
  if (pt_st_dtype_lookup(dts, &fdt) != 1) {
    fail(c,
         "checkpoint tensor '%s' has dtype '%s', which partita does not read (it reads F32, "
         "I32 and BOOL)",
         name, dts);
    return false;
  }
  size_t rank = json_array_size(jshape);
  if (rank > PT_MAX_RANK) {
    fail(c, "checkpoint tensor '%s' has rank %zu; partita supports ranks up to %d", name, rank,
         PT_MAX_RANK);
    return false;
  }
  int64_t dims[PT_MAX_RANK];
  for (size_t k = 0; k < rank; k++) {
    json_t *jd = json_array_get(jshape, k);
    if (!json_is_integer(jd) || json_integer_value(jd) < 0) {
      fail(c, "checkpoint tensor '%s': \"shape\" must be an array of non-negative integers", name);
      return false;
    }
    dims[k] = json_integer_value(jd);
  }
  pt_type ft = pt_type_make(fdt, (int)rank, dims);
  if (!pt_type_equal(&ft, t)) {
    char fs[PT_TYPE_STRLEN], ts[PT_TYPE_STRLEN];
    fail(c, "checkpoint tensor '%s' is %s but the program's %s is %s", name,
         pt_type_str(&ft, fs, sizeof fs), name, pt_type_str(t, ts, sizeof ts));
    return false;
  }
  json_int_t b = json_integer_value(json_array_get(joff, 0));
  json_int_t en = json_integer_value(json_array_get(joff, 1));
  uint64_t bytes = pt_type_bytes(t);
  if (b < 0 || en < b || (uint64_t)(en - b) != bytes) {
    fail(c,
         "checkpoint tensor '%s': data_offsets [%lld, %lld] do not span the %" PRIu64
         " bytes of its type",
         name, (long long)b, (long long)en, bytes);
    return false;
  }
  if ((uint64_t)en > data_len) {
    fail(c,
         "truncated: checkpoint tensor '%s' occupies bytes [%lld, %lld) of the data "
         "section, but the file holds only %" PRIu64 " bytes of data",
         name, (long long)b, (long long)en, data_len);
    return false;
  }
  *begin = (uint64_t)b;
  return true;
}

pt_status pt_ckpt_read(MPI_Comm comm, const char *path, int n, const char *const *names,
                       const pt_type *global_types, const pt_layout *layouts, const pt_mesh *mesh,
                       pt_tensor **local_blocks_out, pt_diag *d) {
  PT_ASSERT(n >= 0);
  ck_ctx c;
  ck_init(&c, comm, path, d);
  for (int i = 0; i < n; i++)
    local_blocks_out[i] = NULL;
  if (check_mesh(&c, mesh))
    for (int i = 0; i < n; i++)
      if (!check_tensor(&c, names[i], &global_types[i], &layouts[i], mesh))
        break;
  if (!agree(&c))
    return PT_ERR;

  json_t *root;
  uint64_t data_start, data_len;
  if (!read_header(&c, &root, &data_start, &data_len))
    return PT_ERR;
  uint64_t *begin = pt_malloc((size_t)(n ? n : 1) * sizeof *begin);
  for (int i = 0; i < n; i++)
    if (!check_entry(&c, root, names[i], &global_types[i], data_len, &begin[i]))
      break;
  json_decref(root);
  MPI_File fh = MPI_FILE_NULL;
  bool ok = false;
  if (!agree(&c))
    goto out;

  int rc = MPI_File_open(comm, path, MPI_MODE_RDONLY, MPI_INFO_NULL, &fh);
  if (rc != MPI_SUCCESS) {
    fh = MPI_FILE_NULL;
    fail_mpi(&c, rc, "cannot open the checkpoint");
  }
  if (!agree(&c)) {
    fh = MPI_FILE_NULL; /* as in pt_ckpt_write: never a close only some ranks call */
    goto out;
  }
  for (int i = 0; i < n; i++) {
    const pt_type *t = &global_types[i];
    pt_tensor *b = pt_tensor_create(local_type(mesh, t, &layouts[i]));
    local_blocks_out[i] = b;
    set_block_view(&c, fh, (MPI_Offset)(data_start + begin[i]), t, &layouts[i], mesh, names[i]);
    if (!agree(&c))
      goto out;
    int count = (int)pt_type_numel(&b->type), got = 0;
    MPI_Datatype et = mpi_dtype(t->dtype);
    MPI_Status st;
    rc = MPI_File_read_all(fh, b->data, count, et, &st);
    if (rc == MPI_SUCCESS)
      MPI_Get_count(&st, et, &got);
    char what[400];
    snprintf(what, sizeof what, "cannot read checkpoint tensor '%s'", names[i]);
    if (rc != MPI_SUCCESS)
      fail_mpi(&c, rc, what);
    else if (got != count)
      fail(&c, "%s: read %d of %d elements (was the file truncated?)", what, got, count);
    else if (t->dtype == PT_PRED)
      for (int k = 0; k < count; k++)
        if (((const uint8_t *)b->data)[k] > 1) {
          fail(&c, "checkpoint tensor '%s' holds the BOOL value %u, not 0 or 1", names[i],
               ((const uint8_t *)b->data)[k]);
          break;
        }
    if (!agree(&c))
      goto out;
  }
  rc = MPI_File_close(&fh);
  fh = MPI_FILE_NULL;
  if (rc != MPI_SUCCESS)
    fail_mpi(&c, rc, "cannot close the checkpoint");
  ok = agree(&c);

out:
  if (fh != MPI_FILE_NULL)
    MPI_File_close(&fh);
  if (!ok)
    for (int i = 0; i < n; i++) {
      pt_tensor_destroy(local_blocks_out[i]);
      local_blocks_out[i] = NULL;
    }
  pt_free(begin);
  return ok ? PT_OK : PT_ERR;
}

/* ---- names and metadata ------------------------------------------------ */

pt_status pt_ckpt_names(MPI_Comm comm, const char *path, int *n_out, char ***names_out,
                        pt_diag *d) {
  ck_ctx c;
  ck_init(&c, comm, path, d);
  *n_out = 0;
  *names_out = NULL;
  json_t *root;
  uint64_t data_start, data_len;
  if (!read_header(&c, &root, &data_start, &data_len))
    return PT_ERR;
  char **names = pt_calloc(json_object_size(root) + 1, sizeof *names);
  int n = 0;
  const char *k;
  json_t *v;
  json_object_foreach(root, k, v) {
    if (strcmp(k, "__metadata__") != 0)
      names[n++] = pt_strdup(k);
  }
  json_decref(root);
  *n_out = n;
  *names_out = names;
  return PT_OK;
}

void pt_ckpt_names_free(int n, char **names) {
  if (!names)
    return;
  for (int i = 0; i < n; i++)
    pt_free(names[i]);
  pt_free(names);
}

pt_status pt_ckpt_meta(MPI_Comm comm, const char *path, int *nmeta_out, char ***meta_out,
                       pt_diag *d) {
  ck_ctx c;
  ck_init(&c, comm, path, d);
  *nmeta_out = 0;
  *meta_out = NULL;
  json_t *root;
  uint64_t data_start, data_len;
  if (!read_header(&c, &root, &data_start, &data_len))
    return PT_ERR;
  json_t *m = json_object_get(root, "__metadata__");
  int nmeta = 0;
  char **meta = NULL;
  if (m && !json_is_object(m))
    fail(&c, "\"__metadata__\" must be an object of string values");
  else if (m) {
    meta = pt_calloc(2 * json_object_size(m) + 1, sizeof *meta);
    const char *k;
    json_t *v;
    json_object_foreach(m, k, v) {
      if (!json_is_string(v)) {
        fail(&c, "\"__metadata__\" value for '%s' must be a string", k);
        break;
      }
      meta[2 * nmeta] = pt_strdup(k);
      meta[2 * nmeta + 1] = pt_strdup(json_string_value(v));
      nmeta++;
    }
  } else
    meta = pt_calloc(1, sizeof *meta);
  json_decref(root);
  if (!agree(&c)) {
    pt_ckpt_meta_free(nmeta, meta);
    return PT_ERR;
  }
  *nmeta_out = nmeta;
  *meta_out = meta;
  return PT_OK;
}

void pt_ckpt_meta_free(int nmeta, char **meta) {
  if (!meta)
    return;
  for (int i = 0; i < 2 * nmeta; i++)
    pt_free(meta[i]);
  pt_free(meta);
}

const char *pt_ckpt_meta_find(int nmeta, char *const *meta, const char *key) {
  for (int i = 0; i < nmeta; i++)
    if (strcmp(meta[2 * i], key) == 0)
      return meta[2 * i + 1];
  return NULL;
}
