/* Reading and writing safetensors files. The reader trusts nothing in the
 * file: every length is checked against the bytes actually read before it
 * is used, so a hostile header cannot make it crash or allocate more than
 * the file's size. The writer goes through a temporary file and rename(). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "safetensors.h"

/* Tensor data and the header length are little-endian on disk and are
 * copied to and from memory as they are. */
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
               "safetensors I/O assumes a little-endian host");

struct pt_st_file {
  char *path;
  int n;
  char **names;
  pt_tensor **tensors;
  int nmeta;
  char **meta; /* key, value, key, value, ... */
};

#define ST_ERR(...) pt_diag_error(d, (pt_loc){path, 0, 0}, __VA_ARGS__)

/* ---- dtypes ------------------------------------------------------------ */

static const struct {
  const char *name;
  pt_dtype dt;
} st_dtypes[] = {{"F32", PT_F32}, {"I32", PT_I32}, {"BOOL", PT_PRED}};

/* dtypes of the safetensors format that partita has no element type for. */
static const char *const st_foreign[] = {
    "F64", "F16", "BF16", "F8_E4M3", "F8_E5M2", "F8_E8M0", "F6_E2M3", "F6_E3M2", "F4",
    "C64", "I64", "I16",  "I8",      "U64",     "U32",     "U16",     "U8"};

const char *pt_st_dtype_name(pt_dtype dt) {
  for (size_t i = 0; i < sizeof st_dtypes / sizeof st_dtypes[0]; i++)
    if (st_dtypes[i].dt == dt)
      return st_dtypes[i].name;
  PT_UNREACHABLE();
}

int pt_st_dtype_lookup(const char *s, pt_dtype *out) {
  for (size_t i = 0; i < sizeof st_dtypes / sizeof st_dtypes[0]; i++)
    if (strcmp(s, st_dtypes[i].name) == 0) {
      *out = st_dtypes[i].dt;
      return 1;
    }
  for (size_t i = 0; i < sizeof st_foreign / sizeof st_foreign[0]; i++)
    if (strcmp(s, st_foreign[i]) == 0)
      return 0;
  return -1;
}

/* ---- reading ----------------------------------------------------------- */

/* Reads the whole file into a malloc'd buffer. */
static unsigned char *read_all(const char *path, size_t *len, pt_diag *d) {
  FILE *fp = fopen(path, "rb");
  if (!fp) {
    ST_ERR("cannot open: %s", strerror(errno));
    return NULL;
  }
  /* A regular file's size is only a first guess: the loop reads until EOF
   * whatever it says, so the buffer never outgrows what the file holds. */
  size_t cap = 1 << 16;
  struct stat st;
  if (fstat(fileno(fp), &st) == 0 && S_ISREG(st.st_mode) && st.st_size >= 0 &&
      (uint64_t)st.st_size < SIZE_MAX)
    cap = (size_t)st.st_size + 1;
  unsigned char *buf = pt_malloc(cap);
  size_t n = 0;
  for (;;) {
    if (n == cap) {
      cap *= 2;
      buf = pt_realloc(buf, cap);
    }
    size_t got = fread(buf + n, 1, cap - n, fp);
    n += got;
    if (got == 0 || n < cap) {
      if (ferror(fp)) {
        ST_ERR("cannot read: %s", strerror(errno));
        fclose(fp);
        pt_free(buf);
        return NULL;
      }
      if (feof(fp))
        break;
    }
  }
  fclose(fp);
  *len = n;
  return buf;
}

typedef struct {
  const char *name; /* borrowed from the JSON */
  pt_type type;
  uint64_t begin, end;
  int order; /* position in the header */
} st_entry;

static const char *const st_keys[] = {"dtype", "shape", "data_offsets"};

/* Validates one tensor's entry against a data section of data_len bytes. */
static bool parse_entry(const char *path, const char *name, json_t *v, uint64_t data_len,
                        st_entry *e, pt_diag *d) {
  if (!json_is_object(v)) {
    ST_ERR("tensor '%s': its entry must be an object with \"dtype\", \"shape\" "
           "and \"data_offsets\"",
           name);
    return false;
  }
  const char *key;
  json_t *field;
  json_object_foreach(v, key, field) {
    bool known = false;
    for (int k = 0; k < 3; k++)
      known |= strcmp(key, st_keys[k]) == 0;
    if (!known) {
      ST_ERR("tensor '%s': unexpected key '%s' (an entry has exactly \"dtype\", "
             "\"shape\" and \"data_offsets\")",
             name, key);
      return false;
    }
  }
  for (int k = 0; k < 3; k++)
    if (!json_object_get(v, st_keys[k])) {
      ST_ERR("tensor '%s': missing \"%s\"", name, st_keys[k]);
      return false;
    }

  json_t *jdt = json_object_get(v, "dtype");
  if (!json_is_string(jdt)) {
    ST_ERR("tensor '%s': \"dtype\" must be a string", name);
    return false;
  }
  const char *dts = json_string_value(jdt);
  pt_dtype dt = PT_F32;
  int found = pt_st_dtype_lookup(dts, &dt);
  if (found == 0) {
    ST_ERR("unsupported dtype '%s' for tensor '%s' (partita reads F32, I32 and "
           "BOOL)",
           dts, name);
    return false;
  }
  if (found < 0) {
    ST_ERR("unknown dtype '%s' for tensor '%s'", dts, name);
    return false;
  }

  json_t *jshape = json_object_get(v, "shape");
  if (!json_is_array(jshape)) {
    ST_ERR("tensor '%s': \"shape\" must be an array of non-negative integers", name);
    return false;
  }
  size_t rank = json_array_size(jshape);
  if (rank > PT_MAX_RANK) {
    ST_ERR("tensor '%s' has rank %zu; partita supports ranks up to %d", name, rank, PT_MAX_RANK);
    return false;
  }
  int64_t dims[PT_MAX_RANK];
  uint64_t bytes = pt_dtype_size(dt);
  bool too_big = false;
  for (size_t k = 0; k < rank; k++) {
    json_t *jd = json_array_get(jshape, k);
    if (!json_is_integer(jd)) {
      ST_ERR("tensor '%s': \"shape\" must be an array of non-negative integers", name);
      return false;
    }
    json_int_t dim = json_integer_value(jd);
    if (dim < 0) {
      ST_ERR("tensor '%s' has a negative dimension (%lld)", name, (long long)dim);
      return false;
    }
    if (dim == 0) {
      ST_ERR("tensor '%s' has a zero-sized dimension, which partita does not "
             "support",
             name);
      return false;
    }
    dims[k] = dim;
    too_big |= __builtin_mul_overflow(bytes, (uint64_t)dim, &bytes);
  }
  /* numel must also fit an int64_t, which bytes <= data_len ensures below. */

  json_t *joff = json_object_get(v, "data_offsets");
  json_t *jb = json_array_get(joff, 0), *je = json_array_get(joff, 1);
  if (!json_is_array(joff) || json_array_size(joff) != 2 || !json_is_integer(jb) ||
      !json_is_integer(je) || json_integer_value(jb) < 0 ||
      json_integer_value(je) < json_integer_value(jb)) {
    ST_ERR("tensor '%s': \"data_offsets\" must be [begin, end] with 0 <= begin "
           "<= end",
           name);
    return false;
  }
  uint64_t begin = (uint64_t)json_integer_value(jb);
  uint64_t end = (uint64_t)json_integer_value(je);
  if (end > data_len) {
    ST_ERR("tensor '%s': data_offsets [%" PRIu64 ", %" PRIu64
           "] run beyond the data section, which has %" PRIu64 " bytes",
           name, begin, end, data_len);
    return false;
  }
  pt_type t = pt_type_make(dt, (int)rank, dims);
  if (too_big || end - begin != bytes) {
    char ts[PT_TYPE_STRLEN];
    if (too_big)
      ST_ERR("tensor '%s': data_offsets [%" PRIu64 ", %" PRIu64
             "] do not match its shape, which is too large for any file",
             name, begin, end);
    else
      ST_ERR("tensor '%s': data_offsets [%" PRIu64 ", %" PRIu64 "] span %" PRIu64
             " bytes, which does not match the %" PRIu64 " bytes of %s",
             name, begin, end, end - begin, bytes, pt_type_str(&t, ts, sizeof ts));
    return false;
  }
  e->name = name;
  e->type = t;
  e->begin = begin;
  e->end = end;
  return true;
}

static int entry_cmp(const void *a, const void *b) {
  const st_entry *x = a, *y = b;
  if (x->begin != y->begin)
    return x->begin < y->begin ? -1 : 1;
  return (x->order > y->order) - (x->order < y->order);
}

/* The tensors must cover the data section exactly: sorted by begin, each
 * starts where the one before ends, and the last ends at the end. */
static bool check_tiling(const char *path, const st_entry *ents, int n, uint64_t data_len,
                         pt_diag *d) {
  st_entry *s = pt_malloc((size_t)(n ? n : 1) * sizeof *s);
  memcpy(s, ents, (size_t)n * sizeof *s);
  qsort(s, (size_t)n, sizeof *s, entry_cmp);
  bool ok = true;
  uint64_t pos = 0;
  for (int i = 0; i < n && ok; i++) {
    if (s[i].begin < pos) {
      ST_ERR("tensors '%s' and '%s' overlap in the data section", s[i - 1].name, s[i].name);
      ok = false;
    } else if (s[i].begin > pos) {
      ST_ERR("the data section has a gap of %" PRIu64 " bytes before tensor '%s'", s[i].begin - pos,
             s[i].name);
      ok = false;
    }
    pos = s[i].end;
  }
  if (ok && pos < data_len) {
    if (n)
      ST_ERR("the data section has a gap of %" PRIu64 " bytes after tensor '%s', the last",
             data_len - pos, s[n - 1].name);
    else
      ST_ERR("the data section has a gap of %" PRIu64 " bytes: the header names no tensors",
             data_len);
    ok = false;
  }
  pt_free(s);
  return ok;
}

static void file_free(pt_st_file *f) {
  if (!f)
    return;
  for (int i = 0; i < f->n; i++) {
    pt_free(f->names[i]);
    pt_tensor_destroy(f->tensors[i]);
  }
  for (int i = 0; i < 2 * f->nmeta; i++)
    pt_free(f->meta[i]);
  pt_free(f->names);
  pt_free(f->tensors);
  pt_free(f->meta);
  pt_free(f->path);
  pt_free(f);
}

/* Validates the whole file held in buf and builds it; NULL with the first
 * problem reported. */
static pt_st_file *parse(const char *path, const unsigned char *buf, size_t len, pt_diag *d) {
  if (len < 8) {
    ST_ERR("truncated: the file has %zu bytes, fewer than the 8 of the header "
           "length",
           len);
    return NULL;
  }
  uint64_t hlen;
  memcpy(&hlen, buf, 8);
  if (hlen > len - 8) {
    ST_ERR("truncated: the header length says %" PRIu64 " bytes but only %zu follow it", hlen,
           len - 8);
    return NULL;
  }
  json_error_t jerr;
  json_t *root = json_loadb((const char *)buf + 8, (size_t)hlen, JSON_REJECT_DUPLICATES, &jerr);
  if (!root) {
    ST_ERR("malformed header JSON: %s (at byte %d of the header)", jerr.text, jerr.position);
    return NULL;
  }
  if (!json_is_object(root)) {
    ST_ERR("the header is not a JSON object");
    json_decref(root);
    return NULL;
  }

  const unsigned char *data = buf + 8 + hlen;
  uint64_t data_len = len - 8 - hlen;
  size_t nkeys = json_object_size(root);
  if (nkeys > INT_MAX) {
    ST_ERR("the header names %zu tensors, more than partita can hold", nkeys);
    json_decref(root);
    return NULL;
  }
  st_entry *ents = pt_calloc(nkeys ? nkeys : 1, sizeof *ents);
  pt_st_file *f = pt_calloc(1, sizeof *f);
  f->path = pt_strdup(path);
  int n = 0;
  bool ok = true;
  const char *key;
  json_t *v;
  json_object_foreach(root, key, v) {
    if (strcmp(key, "__metadata__") == 0) {
      if (!json_is_object(v)) {
        ST_ERR("\"__metadata__\" must be an object of string values");
        ok = false;
        break;
      }
      f->meta = pt_calloc(2 * json_object_size(v) + 1, sizeof *f->meta);
      const char *mk;
      json_t *mv;
      json_object_foreach(v, mk, mv) {
        if (!json_is_string(mv)) {
          ST_ERR("\"__metadata__\" value for '%s' must be a string", mk);
          ok = false;
          break;
        }
        f->meta[2 * f->nmeta] = pt_strdup(mk);
        f->meta[2 * f->nmeta + 1] = pt_strdup(json_string_value(mv));
        f->nmeta++;
      }
      if (!ok)
        break;
      continue;
    }
    if (!parse_entry(path, key, v, data_len, &ents[n], d)) {
      ok = false;
      break;
    }
    ents[n].order = n;
    n++;
  }
  ok = ok && check_tiling(path, ents, n, data_len, d);
  if (ok) {
    f->names = pt_calloc((size_t)(n ? n : 1), sizeof *f->names);
    f->tensors = pt_calloc((size_t)(n ? n : 1), sizeof *f->tensors);
    for (int i = 0; i < n && ok; i++) {
      pt_tensor *t = pt_tensor_create(ents[i].type);
      size_t bytes = (size_t)(ents[i].end - ents[i].begin);
      memcpy(t->data, data + ents[i].begin, bytes);
      f->names[i] = pt_strdup(ents[i].name);
      f->tensors[i] = t;
      f->n = i + 1;
      if (t->type.dtype == PT_PRED)
        for (size_t k = 0; k < bytes; k++)
          if (((const uint8_t *)t->data)[k] > 1) {
            ST_ERR("tensor '%s': BOOL element %zu is %u, not 0 or 1", ents[i].name, k,
                   ((const uint8_t *)t->data)[k]);
            ok = false;
            break;
          }
    }
  }
  pt_free(ents);
  json_decref(root);
  if (!ok) {
    file_free(f);
    return NULL;
  }
  return f;
}

pt_st_file *pt_st_read(const char *path, pt_diag *d) {
  size_t len = 0;
  unsigned char *buf = read_all(path, &len, d);
  if (!buf)
    return NULL;
  pt_st_file *f = parse(path, buf, len, d);
  pt_free(buf);
  return f;
}

void pt_st_close(pt_st_file *f) {
  file_free(f);
}

int pt_st_count(const pt_st_file *f) {
  return f->n;
}

const char *pt_st_name(const pt_st_file *f, int i) {
  PT_ASSERT(i >= 0 && i < f->n);
  return f->names[i];
}

const pt_tensor *pt_st_tensor(const pt_st_file *f, int i) {
  PT_ASSERT(i >= 0 && i < f->n);
  return f->tensors[i];
}

const pt_tensor *pt_st_find(const pt_st_file *f, const char *name) {
  for (int i = 0; i < f->n; i++)
    if (strcmp(f->names[i], name) == 0)
      return f->tensors[i];
  return NULL;
}

const char *pt_st_meta(const pt_st_file *f, const char *key) {
  for (int i = 0; i < f->nmeta; i++)
    if (strcmp(f->meta[2 * i], key) == 0)
      return f->meta[2 * i + 1];
  return NULL;
}

const char *pt_st_path(const pt_st_file *f) {
  return f->path;
}

/* ---- writing ----------------------------------------------------------- */

char *pt_st_header(int n, const char *const *names, const pt_type *types, const uint64_t *offsets,
                   int nmeta, const char *const *meta, uint64_t *len, char *err, size_t errcap) {
  json_t *root = json_object();
  bool ok = root != NULL;
  for (int i = 0; i < n && ok; i++) {
    PT_ASSERT(names[i]);
    const pt_type *t = &types[i];
    if (strcmp(names[i], "__metadata__") == 0 || json_object_get(root, names[i])) {
      snprintf(err, errcap, "the tensor name '%s' is %s", names[i],
               json_object_get(root, names[i]) ? "given twice" : "reserved");
      ok = false;
      break;
    }
    json_t *shape = json_array();
    for (int k = 0; k < t->rank; k++)
      json_array_append_new(shape, json_integer((json_int_t)t->dims[k]));
    json_t *e =
        json_pack("{s:s, s:o, s:[I, I]}", "dtype", pt_st_dtype_name(t->dtype), "shape", shape,
                  "data_offsets", (json_int_t)offsets[i], (json_int_t)offsets[i + 1]);
    if (!e || json_object_set_new(root, names[i], e) != 0) {
      snprintf(err, errcap, "the tensor name '%s' is not valid UTF-8", names[i]);
      ok = false;
    }
  }
  if (ok && nmeta > 0) {
    json_t *m = json_object();
    json_object_set_new(root, "__metadata__", m);
    for (int i = 0; i < nmeta && ok; i++) {
      json_t *v = json_string(meta[2 * i + 1]);
      if (!v || json_object_set_new(m, meta[2 * i], v) != 0) {
        snprintf(err, errcap, "metadata '%s' is not valid UTF-8", meta[2 * i]);
        ok = false;
      }
    }
  }
  char *text = ok ? json_dumps(root, JSON_SORT_KEYS | JSON_COMPACT) : NULL;
  json_decref(root);
  if (!text) {
    if (ok)
      snprintf(err, errcap, "%s", strerror(ENOMEM));
    return NULL;
  }
  size_t tl = strlen(text);
  uint64_t padded = (tl + 7) / 8 * 8;
  char *buf = pt_malloc(8 + padded);
  memcpy(buf, &padded, 8); /* little-endian hosts only, like the data */
  memcpy(buf + 8, text, tl);
  memset(buf + 8 + tl, ' ', padded - tl);
  free(text);
  *len = 8 + padded;
  return buf;
}

static bool write_bytes(FILE *fp, const void *p, size_t n) {
  return fwrite(p, 1, n, fp) == n;
}

void pt_sync_dir(const char *path) {
  const char *slash = strrchr(path, '/');
  char *dir = slash ? pt_strndup(path, slash == path ? 1 : (size_t)(slash - path)) : pt_strdup(".");
  int fd = open(dir, O_RDONLY | O_DIRECTORY);
  if (fd >= 0) {
    fsync(fd);
    close(fd);
  }
  pt_free(dir);
}

pt_status pt_st_write(const char *path, int n, const char *const *names,
                      const pt_tensor *const *tensors, int nmeta, const char *const *meta,
                      pt_diag *d) {
  PT_ASSERT(n >= 0 && nmeta >= 0);
  pt_type *types = pt_calloc((size_t)n + 1, sizeof *types);
  uint64_t *off = pt_calloc((size_t)n + 1, sizeof *off);
  for (int i = 0; i < n; i++) {
    PT_ASSERT(tensors[i]);
    types[i] = tensors[i]->type;
    off[i + 1] = off[i] + pt_type_bytes(&types[i]);
  }
  char why[256];
  uint64_t hlen = 0;
  char *header = pt_st_header(n, names, types, off, nmeta, meta, &hlen, why, sizeof why);
  pt_free(types);
  pt_free(off);
  if (!header) {
    ST_ERR("cannot write: %s", why);
    return PT_ERR;
  }

  size_t tlen = strlen(path) + 32;
  char *tmp = pt_malloc(tlen);
  snprintf(tmp, tlen, "%s.tmp.%ld", path, (long)getpid());
  FILE *fp = fopen(tmp, "wb");
  bool ok = fp != NULL;
  int err = ok ? 0 : errno;
  if (ok) {
    ok = write_bytes(fp, header, hlen);
    for (int i = 0; i < n && ok; i++)
      ok = write_bytes(fp, tensors[i]->data, pt_type_bytes(&tensors[i]->type));
    ok = ok && fflush(fp) == 0 && fsync(fileno(fp)) == 0;
    if (!ok)
      err = errno;
    if (fclose(fp) != 0 && ok) {
      ok = false;
      err = errno;
    }
    if (ok && rename(tmp, path) != 0) {
      ok = false;
      err = errno;
    }
    if (!ok)
      unlink(tmp);
    else
      pt_sync_dir(path);
  }
  if (!ok)
    ST_ERR("cannot write: %s", strerror(err ? err : EIO));
  pt_free(tmp);
  pt_free(header);
  return ok ? PT_OK : PT_ERR;
}
