/* Tests for safetensors I/O (round trips, the byte layout, hostile files,
 * atomic writes), the Philox generator, and deterministic initial values. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "init.h"
#include "interp.h"
#include "rng.h"
#include "safetensors.h"
#include "testutil.h"

/* One scratch directory for the whole run, made before Check forks. */
static char scratch[64];

static char *tpath(const char *name) {
  size_t n = strlen(scratch) + strlen(name) + 2;
  char *p = pt_malloc(n);
  snprintf(p, n, "%s/%s", scratch, name);
  return p;
}

static void write_file(const char *path, const void *p, size_t n) {
  FILE *fp = fopen(path, "wb");
  ck_assert_msg(fp, "cannot create %s", path);
  ck_assert_uint_eq(fwrite(p, 1, n, fp), n);
  ck_assert_int_eq(fclose(fp), 0);
}

/* The whole file, malloc'd; *n its size. */
static unsigned char *slurp(const char *path, size_t *n) {
  FILE *fp = fopen(path, "rb");
  ck_assert_msg(fp, "cannot open %s", path);
  fseek(fp, 0, SEEK_END);
  long sz = ftell(fp);
  fseek(fp, 0, SEEK_SET);
  unsigned char *b = pt_malloc((size_t)sz + 1);
  ck_assert_uint_eq(fread(b, 1, (size_t)sz, fp), (size_t)sz);
  fclose(fp);
  *n = (size_t)sz;
  return b;
}

/* A safetensors file with header `json` (padded with `pad` spaces), header
 * length field `hlen` (or the true one when hlen is UINT64_MAX), and `data`
 * (ndata bytes; zeros when data is NULL). */
static void write_st_raw(const char *path, const char *json, int pad, uint64_t hlen,
                         const void *data, size_t ndata) {
  size_t jl = strlen(json);
  size_t n = 8 + jl + (size_t)pad + ndata;
  unsigned char *b = pt_calloc(n, 1);
  uint64_t h = hlen == UINT64_MAX ? jl + (uint64_t)pad : hlen;
  memcpy(b, &h, 8);
  memcpy(b + 8, json, jl);
  memset(b + 8 + jl, ' ', (size_t)pad);
  if (data)
    memcpy(b + 8 + jl + pad, data, ndata);
  write_file(path, b, n);
  pt_free(b);
}

static bool starts_with(const char *s, const char *prefix) {
  return strncmp(s, prefix, strlen(prefix)) == 0;
}

static pt_tensor *make(pt_dtype dt, int rank, const int64_t *dims) {
  pt_tensor *t = pt_tensor_create(pt_type_make(dt, rank, dims));
  int64_t n = pt_type_numel(&t->type);
  for (int64_t i = 0; i < n; i++)
    pt_tensor_set(t, i,
                  dt == PT_PRED  ? (double)(i % 3 == 0)
                  : dt == PT_I32 ? (double)(i * 7 - 20)
                                 : (double)i * 0.25 - 1.5);
  return t;
}

static void assert_same(const pt_tensor *a, const pt_tensor *b) {
  ck_assert(pt_type_equal(&a->type, &b->type));
  ck_assert_mem_eq(a->data, b->data, pt_type_bytes(&a->type));
}

/* ---- round trips and layout ------------------------------------------- */

START_TEST(test_round_trip) {
  char *path = tpath("rt.safetensors");
  int64_t d23[] = {2, 3}, d5[] = {5}, d222[] = {2, 2, 2};
  pt_tensor *w = make(PT_F32, 2, d23);
  pt_tensor *tok = make(PT_I32, 1, d5);
  pt_tensor *mask = make(PT_PRED, 3, d222);
  pt_tensor *s = make(PT_F32, 0, NULL);
  pt_tensor_set(s, 0, 3.5);
  const char *names[] = {"w", "tok", "mask", "layers.0.scale"};
  const pt_tensor *ts[] = {w, tok, mask, s};
  const char *meta[] = {"format", "pt", "step", "17"};
  pt_diag *d = pt_diag_create(NULL);
  ck_assert_int_eq(pt_st_write(path, 4, names, ts, 2, meta, d), PT_OK);
  ck_assert_int_eq(pt_diag_count(d), 0);

  pt_st_file *f = pt_st_read(path, d);
  ck_assert_msg(f, "%s", pt_diag_count(d) ? pt_diag_message(d, 0) : "?");
  ck_assert_int_eq(pt_st_count(f), 4);
  /* The header's keys are sorted, and the reader keeps header order. */
  ck_assert_str_eq(pt_st_name(f, 0), "layers.0.scale");
  ck_assert_str_eq(pt_st_name(f, 1), "mask");
  ck_assert_str_eq(pt_st_name(f, 2), "tok");
  ck_assert_str_eq(pt_st_name(f, 3), "w");
  for (int i = 0; i < 4; i++)
    assert_same(pt_st_find(f, names[i]), ts[i]);
  ck_assert_ptr_eq(pt_st_find(f, "w"), pt_st_tensor(f, 3));
  ck_assert_ptr_null(pt_st_find(f, "nope"));
  ck_assert_int_eq(pt_st_find(f, "layers.0.scale")->type.rank, 0);
  ck_assert_str_eq(pt_st_meta(f, "format"), "pt");
  ck_assert_str_eq(pt_st_meta(f, "step"), "17");
  ck_assert_ptr_null(pt_st_meta(f, "other"));
  ck_assert_str_eq(pt_st_path(f), path);
  pt_st_close(f);
  for (int i = 0; i < 4; i++)
    pt_tensor_destroy((pt_tensor *)ts[i]);
  pt_diag_destroy(d);
  pt_free(path);
}
END_TEST

START_TEST(test_empty_file_of_tensors) {
  char *path = tpath("none.safetensors");
  pt_diag *d = pt_diag_create(NULL);
  ck_assert_int_eq(pt_st_write(path, 0, NULL, NULL, 0, NULL, d), PT_OK);
  size_t n;
  unsigned char *b = slurp(path, &n);
  ck_assert_uint_eq(n, 16); /* "{}" padded to 8 */
  ck_assert_mem_eq(b + 8, "{}      ", 8);
  pt_free(b);
  pt_st_file *f = pt_st_read(path, d);
  ck_assert_ptr_nonnull(f);
  ck_assert_int_eq(pt_st_count(f), 0);
  pt_st_close(f);
  pt_diag_destroy(d);
  pt_free(path);
}
END_TEST

START_TEST(test_layout) {
  char *path = tpath("layout.safetensors");
  int64_t d3[] = {3}, d2[] = {2};
  pt_tensor *b = make(PT_F32, 1, d3);
  pt_tensor *a = make(PT_I32, 1, d2);
  const char *names[] = {"b", "a"};
  const pt_tensor *ts[] = {b, a};
  pt_diag *d = pt_diag_create(NULL);
  ck_assert_int_eq(pt_st_write(path, 2, names, ts, 0, NULL, d), PT_OK);
  size_t n;
  unsigned char *buf = slurp(path, &n);
  uint64_t hlen;
  memcpy(&hlen, buf, 8);
  ck_assert_uint_eq((8 + hlen) % 8, 0);
  ck_assert_uint_eq(n, 8 + hlen + 12 + 8);
  /* Compact JSON, keys sorted at every level, data in the given order. */
  const char *want = "{\"a\":{\"data_offsets\":[12,20],\"dtype\":\"I32\",\"shape\":[2]},"
                     "\"b\":{\"data_offsets\":[0,12],\"dtype\":\"F32\",\"shape\":[3]}}";
  size_t wl = strlen(want);
  ck_assert_uint_ge(hlen, wl);
  ck_assert_uint_lt(hlen, wl + 8);
  ck_assert_mem_eq(buf + 8, want, wl);
  for (size_t i = wl; i < hlen; i++)
    ck_assert_int_eq(buf[8 + i], ' ');
  ck_assert_mem_eq(buf + 8 + hlen, b->data, 12);
  ck_assert_mem_eq(buf + 8 + hlen + 12, a->data, 8);
  /* Little-endian on disk: b[0] = -1.5f = 0xBFC00000. */
  const unsigned char le[4] = {0x00, 0x00, 0xC0, 0xBF};
  ck_assert_mem_eq(buf + 8 + hlen, le, 4);
  pt_free(buf);
  pt_tensor_destroy(a);
  pt_tensor_destroy(b);
  pt_diag_destroy(d);
  pt_free(path);
}
END_TEST

/* Headers as the Python safetensors library writes them: __metadata__ first,
 * spaces up to 8-byte alignment; and one with no padding at all. */
START_TEST(test_foreign_file) {
  char *path = tpath("py.safetensors");
  const char *json = "{\"__metadata__\":{\"format\":\"pt\"},"
                     "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                     "\"b\":{\"dtype\":\"BOOL\",\"shape\":[],\"data_offsets\":[8,9]}}";
  float av[2] = {1.25f, -2.0f};
  unsigned char data[9];
  memcpy(data, av, 8);
  data[8] = 1;
  int pad = (int)((8 - strlen(json) % 8) % 8);
  pt_diag *d = pt_diag_create(NULL);
  for (int variant = 0; variant < 2; variant++) {
    write_st_raw(path, json, variant ? 0 : pad, UINT64_MAX, data, sizeof data);
    pt_st_file *f = pt_st_read(path, d);
    ck_assert_msg(f, "%s", pt_diag_count(d) ? pt_diag_message(d, 0) : "?");
    ck_assert_int_eq(pt_st_count(f), 2);
    ck_assert_str_eq(pt_st_name(f, 0), "a");
    ck_assert_str_eq(pt_st_name(f, 1), "b");
    const pt_tensor *a = pt_st_find(f, "a");
    ck_assert_int_eq(a->type.dtype, PT_F32);
    ck_assert_int_eq(a->type.rank, 1);
    ck_assert_int_eq(a->type.dims[0], 2);
    ck_assert(pt_tensor_get(a, 0) == 1.25 && pt_tensor_get(a, 1) == -2.0);
    const pt_tensor *b = pt_st_find(f, "b");
    ck_assert_int_eq(b->type.dtype, PT_PRED);
    ck_assert_int_eq(b->type.rank, 0);
    ck_assert(pt_tensor_get(b, 0) == 1);
    ck_assert_str_eq(pt_st_meta(f, "format"), "pt");
    pt_st_close(f);
  }
  pt_diag_destroy(d);
  pt_free(path);
}
END_TEST

/* ---- malformed files -------------------------------------------------- */

#define TRUE_LEN UINT64_MAX

typedef struct {
  const char *name;
  const char *json; /* NULL: the file is raw[0..rawlen) */
  uint64_t hlen;    /* header length written; TRUE_LEN: the JSON's */
  size_t ndata;     /* zero bytes of data after the header */
  const char *raw;
  size_t rawlen;
  const char *expect; /* in the message */
} bad_case;

#define F32A(off) "{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":" off "}"

static const bad_case bad_cases[] = {
    {"empty file", NULL, 0, 0, "", 0, "truncated"},
    {"5-byte file", NULL, 0, 0, "\x02\0\0\0\0", 5, "truncated"},
    {"header length beyond file", "{}", 1000, 0, NULL, 0, "truncated"},
    {"header length 2^63", "{}", 1ull << 63, 0, NULL, 0, "truncated"},
    {"header length 2^64-2", "{}", UINT64_MAX - 1, 0, NULL, 0, "truncated"},
    {"non-JSON header", "this is not json", TRUE_LEN, 0, NULL, 0, "malformed header JSON"},
    {"empty header", "", TRUE_LEN, 0, NULL, 0, "malformed header JSON"},
    {"text after the JSON", "{} x", TRUE_LEN, 0, NULL, 0, "malformed header JSON"},
    {"JSON array header", "[1,2]", TRUE_LEN, 0, NULL, 0, "not a JSON object"},
    {"entry not an object", "{\"a\":[1]}", TRUE_LEN, 0, NULL, 0, "must be an object"},
    {"missing dtype", "{\"a\":{\"shape\":[2],\"data_offsets\":[0,8]}}", TRUE_LEN, 8, NULL, 0,
     "tensor 'a': missing \"dtype\""},
    {"missing data_offsets", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2]}}", TRUE_LEN, 8, NULL, 0,
     "missing \"data_offsets\""},
    {"extra key",
     "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8],"
     "\"x\":1}}",
     TRUE_LEN, 8, NULL, 0, "unexpected key 'x'"},
    {"unsupported dtype", "{\"a\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[0,4]}}",
     TRUE_LEN, 4, NULL, 0, "unsupported dtype 'F16' for tensor 'a'"},
    {"unsupported dtype BF16", "{\"x\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[0,4]}}",
     TRUE_LEN, 4, NULL, 0, "unsupported dtype 'BF16' for tensor 'x'"},
    {"unknown dtype", "{\"a\":{\"dtype\":\"Q7\",\"shape\":[2],\"data_offsets\":[0,8]}}", TRUE_LEN,
     8, NULL, 0, "unknown dtype 'Q7'"},
    {"dtype not a string", "{\"a\":{\"dtype\":3,\"shape\":[2],\"data_offsets\":[0,8]}}", TRUE_LEN,
     8, NULL, 0, "\"dtype\" must be a string"},
    {"negative shape entry", "{\"a\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}",
     TRUE_LEN, 8, NULL, 0, "negative dimension"},
    {"fractional shape entry", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2.5],\"data_offsets\":[0,8]}}",
     TRUE_LEN, 8, NULL, 0, "non-negative integers"},
    {"shape not an array", "{\"a\":{\"dtype\":\"F32\",\"shape\":2,\"data_offsets\":[0,8]}}",
     TRUE_LEN, 8, NULL, 0, "non-negative integers"},
    {"zero-sized dimension", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2,0],\"data_offsets\":[0,0]}}",
     TRUE_LEN, 0, NULL, 0, "has a zero-sized dimension, which partita does not support"},
    {"rank 9",
     "{\"a\":{\"dtype\":\"BOOL\",\"shape\":[1,1,1,1,1,1,1,1,1],"
     "\"data_offsets\":[0,1]}}",
     TRUE_LEN, 1, NULL, 0, "rank 9"},
    {"shape overflowing 64 bits",
     "{\"a\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],"
     "\"data_offsets\":[0,8]}}",
     TRUE_LEN, 8, NULL, 0, "too large"},
    {"huge integer in JSON",
     "{\"a\":{\"dtype\":\"F32\",\"shape\":[99999999999999999999],"
     "\"data_offsets\":[0,8]}}",
     TRUE_LEN, 8, NULL, 0, "malformed header JSON"},
    {"offsets beyond data", "{\"a\":" F32A("[0,8]") "}", TRUE_LEN, 4, NULL, 0,
     "run beyond the data section"},
    {"offsets reversed", "{\"a\":" F32A("[8,0]") "}", TRUE_LEN, 8, NULL, 0, "0 <= begin <= end"},
    {"negative offset", "{\"a\":" F32A("[-8,0]") "}", TRUE_LEN, 8, NULL, 0, "0 <= begin <= end"},
    {"three offsets", "{\"a\":" F32A("[0,4,8]") "}", TRUE_LEN, 8, NULL, 0, "0 <= begin <= end"},
    {"offsets not matching size", "{\"a\":" F32A("[0,4]") "}", TRUE_LEN, 4, NULL, 0,
     "does not match"},
    {"overlapping tensors", "{\"a\":" F32A("[0,8]") ",\"b\":" F32A("[4,12]") "}", TRUE_LEN, 12,
     NULL, 0, "tensors 'a' and 'b' overlap"},
    {"same offsets twice", "{\"a\":" F32A("[0,8]") ",\"b\":" F32A("[0,8]") "}", TRUE_LEN, 8, NULL,
     0, "overlap"},
    {"gap at the end", "{\"a\":" F32A("[0,8]") "}", TRUE_LEN, 12, NULL, 0,
     "gap of 4 bytes after tensor 'a'"},
    {"gap at the start", "{\"a\":" F32A("[4,12]") "}", TRUE_LEN, 12, NULL, 0,
     "gap of 4 bytes before tensor 'a'"},
    {"gap between", "{\"a\":" F32A("[0,8]") ",\"b\":" F32A("[12,20]") "}", TRUE_LEN, 20, NULL, 0,
     "gap of 4 bytes before tensor 'b'"},
    {"data but no tensors", "{}", TRUE_LEN, 8, NULL, 0, "gap of 8 bytes"},
    {"duplicate keys", "{\"a\":" F32A("[0,8]") ",\"a\":" F32A("[8,16]") "}", TRUE_LEN, 16, NULL, 0,
     "duplicate"},
    {"metadata not an object", "{\"__metadata__\":[]}", TRUE_LEN, 0, NULL, 0,
     "\"__metadata__\" must be an object"},
    {"metadata value not a string", "{\"__metadata__\":{\"k\":1}}", TRUE_LEN, 0, NULL, 0,
     "value for 'k' must be a string"},
    {"invalid UTF-8", "{\"\xff\":1}", TRUE_LEN, 0, NULL, 0, "malformed header JSON"},
    {"BOOL byte 2", "{\"m\":{\"dtype\":\"BOOL\",\"shape\":[2],\"data_offsets\":[0,2]}}", TRUE_LEN,
     2, NULL, 0, "not 0 or 1"},
};

#define NBAD ((int)(sizeof bad_cases / sizeof bad_cases[0]))

START_TEST(test_bad_file) {
  const bad_case *c = &bad_cases[_i];
  char fname[32];
  snprintf(fname, sizeof fname, "bad%d.safetensors", _i);
  char *path = tpath(fname);
  if (c->json) {
    unsigned char *data = pt_calloc(c->ndata + 1, 1);
    if (strcmp(c->name, "BOOL byte 2") == 0)
      data[1] = 2;
    write_st_raw(path, c->json, 0, c->hlen, data, c->ndata);
    pt_free(data);
  } else {
    write_file(path, c->raw, c->rawlen);
  }
  pt_diag *d = pt_diag_create(NULL);
  pt_st_file *f = pt_st_read(path, d);
  ck_assert_msg(f == NULL, "%s: read succeeded", c->name);
  ck_assert_msg(pt_diag_error_count(d) >= 1, "%s: no error reported", c->name);
  const char *msg = pt_diag_message(d, 0);
  char prefix[128];
  snprintf(prefix, sizeof prefix, "%s: error: ", path);
  ck_assert_msg(starts_with(msg, prefix), "%s: message '%s' does not start with '%s'", c->name, msg,
                prefix);
  ck_assert_msg(strstr(msg, c->expect), "%s: message '%s' lacks '%s'", c->name, msg, c->expect);
  pt_diag_destroy(d);
  pt_free(path);
}
END_TEST

START_TEST(test_missing_file) {
  char *path = tpath("does-not-exist.safetensors");
  pt_diag *d = pt_diag_create(NULL);
  ck_assert_ptr_null(pt_st_read(path, d));
  ck_assert_int_eq(pt_diag_error_count(d), 1);
  ck_assert_ptr_nonnull(strstr(pt_diag_message(d, 0), "cannot open"));
  ck_assert(starts_with(pt_diag_message(d, 0), path));
  pt_diag_clear(d);
  /* A directory opens but cannot be read. */
  ck_assert_ptr_null(pt_st_read(scratch, d));
  ck_assert_int_eq(pt_diag_error_count(d), 1);
  ck_assert(starts_with(pt_diag_message(d, 0), scratch));
  pt_diag_destroy(d);
  pt_free(path);
}
END_TEST

/* ---- atomic writes ---------------------------------------------------- */

static int count_temps(void) {
  DIR *dir = opendir(scratch);
  ck_assert_ptr_nonnull(dir);
  int n = 0;
  struct dirent *e;
  while ((e = readdir(dir)))
    n += strstr(e->d_name, ".tmp.") != NULL;
  closedir(dir);
  return n;
}

START_TEST(test_write_missing_dir) {
  char *path = tpath("no/such/dir/out.safetensors");
  int64_t d2[] = {2};
  pt_tensor *t = make(PT_F32, 1, d2);
  const char *names[] = {"t"};
  const pt_tensor *ts[] = {t};
  pt_diag *d = pt_diag_create(NULL);
  ck_assert_int_eq(pt_st_write(path, 1, names, ts, 0, NULL, d), PT_ERR);
  ck_assert_int_eq(pt_diag_error_count(d), 1);
  char want[512];
  snprintf(want, sizeof want, "%s: error: cannot write: %s", path, strerror(ENOENT));
  ck_assert_str_eq(pt_diag_message(d, 0), want);
  ck_assert_int_eq(access(path, F_OK), -1);
  pt_tensor_destroy(t);
  pt_diag_destroy(d);
  pt_free(path);
}
END_TEST

START_TEST(test_write_replaces) {
  char *path = tpath("replace.safetensors");
  int64_t big[] = {100, 10}, small[] = {3};
  pt_tensor *a = make(PT_F32, 2, big), *b = make(PT_I32, 1, small);
  pt_diag *d = pt_diag_create(NULL);
  const char *n1[] = {"a", "b"};
  const pt_tensor *t1[] = {a, b};
  ck_assert_int_eq(pt_st_write(path, 2, n1, t1, 0, NULL, d), PT_OK);
  size_t len1;
  pt_free(slurp(path, &len1));
  const char *n2[] = {"only"};
  const pt_tensor *t2[] = {b};
  ck_assert_int_eq(pt_st_write(path, 1, n2, t2, 0, NULL, d), PT_OK);
  size_t len2;
  unsigned char *buf = slurp(path, &len2);
  uint64_t hlen;
  memcpy(&hlen, buf, 8);
  ck_assert_uint_lt(len2, len1);
  ck_assert_uint_eq(len2, 8 + hlen + 12);
  pt_free(buf);
  pt_st_file *f = pt_st_read(path, d);
  ck_assert_ptr_nonnull(f);
  ck_assert_int_eq(pt_st_count(f), 1);
  assert_same(pt_st_find(f, "only"), b);
  pt_st_close(f);
  ck_assert_int_eq(count_temps(), 0);
  ck_assert_int_eq(pt_diag_count(d), 0);
  pt_tensor_destroy(a);
  pt_tensor_destroy(b);
  pt_diag_destroy(d);
  pt_free(path);
}
END_TEST

/* rename() over a directory fails after the data is written: the temporary
 * file must be gone and the directory untouched. */
START_TEST(test_write_over_directory) {
  char *path = tpath("adir");
  ck_assert_int_eq(mkdir(path, 0755), 0);
  int64_t d2[] = {2};
  pt_tensor *t = make(PT_F32, 1, d2);
  const char *names[] = {"t"};
  const pt_tensor *ts[] = {t};
  pt_diag *d = pt_diag_create(NULL);
  ck_assert_int_eq(pt_st_write(path, 1, names, ts, 0, NULL, d), PT_ERR);
  ck_assert_int_eq(pt_diag_error_count(d), 1);
  char prefix[256];
  snprintf(prefix, sizeof prefix, "%s: error: cannot write: ", path);
  ck_assert(starts_with(pt_diag_message(d, 0), prefix));
  ck_assert_int_eq(count_temps(), 0);
  struct stat st;
  ck_assert_int_eq(stat(path, &st), 0);
  ck_assert(S_ISDIR(st.st_mode));
  rmdir(path);
  pt_tensor_destroy(t);
  pt_diag_destroy(d);
  pt_free(path);
}
END_TEST

START_TEST(test_write_bad_names) {
  char *path = tpath("names.safetensors");
  int64_t d2[] = {2};
  pt_tensor *t = make(PT_F32, 1, d2);
  const pt_tensor *ts[] = {t, t};
  pt_diag *d = pt_diag_create(NULL);
  const char *dup[] = {"x", "x"};
  ck_assert_int_eq(pt_st_write(path, 2, dup, ts, 0, NULL, d), PT_ERR);
  ck_assert_ptr_nonnull(strstr(pt_diag_message(d, 0), "'x' is given twice"));
  const char *res[] = {"__metadata__"};
  ck_assert_int_eq(pt_st_write(path, 1, res, ts, 0, NULL, d), PT_ERR);
  ck_assert_ptr_nonnull(strstr(pt_diag_message(d, 1), "reserved"));
  const char *utf[] = {"bad\xff"};
  ck_assert_int_eq(pt_st_write(path, 1, utf, ts, 0, NULL, d), PT_ERR);
  ck_assert_ptr_nonnull(strstr(pt_diag_message(d, 2), "UTF-8"));
  ck_assert_int_eq(access(path, F_OK), -1);
  ck_assert_int_eq(count_temps(), 0);
  pt_tensor_destroy(t);
  pt_diag_destroy(d);
  pt_free(path);
}
END_TEST

/* ---- the generator ---------------------------------------------------- */

/* Random123's known-answer vector for Philox4x32-10 with key (0, 0) and
 * counter (0, 0, 0, 0) (its kat_vectors file). */
START_TEST(test_philox_kat) {
  uint32_t w[4];
  pt_rng_block((pt_rng_key){{0, 0}}, 0, w);
  ck_assert_uint_eq(w[0], 0x6627e8d5u);
  ck_assert_uint_eq(w[1], 0xe169c58du);
  ck_assert_uint_eq(w[2], 0xbc57ac4cu);
  ck_assert_uint_eq(w[3], 0x9b00dbd8u);
}
END_TEST

/* The worked example of docs/cli.md ("Initial values"), so the documented formulae and the
 * code cannot drift apart. */
START_TEST(test_rng_documented_values) {
  pt_rng_key k = pt_rng_key_for(42, "w");
  ck_assert_uint_eq(k.k[0], 0xa9e96ac3u);
  ck_assert_uint_eq(k.k[1], 0x12b4d86au);
  ck_assert_double_eq_tol(pt_rng_normal(k, 0), -0.8165179109333095, 1e-15);
  ck_assert_int_eq(pt_rng_below(k, 0, 50), 26);
  ck_assert_int_eq(pt_rng_below(k, 1, 50), 12);
  ck_assert_int_eq(pt_rng_below(k, 2, 50), 5);
  uint32_t w[4];
  pt_rng_block(k, 0x123456789abcull, w); /* the counter's high word is used */
  ck_assert_uint_eq(w[0], 0x8ee5117du);
  ck_assert_uint_eq(w[3], 0x56e5266du);
}
END_TEST

START_TEST(test_rng_determinism) {
  pt_rng_key a = pt_rng_key_for(7, "layers.0.w"), b = pt_rng_key_for(7, "layers.0.w");
  ck_assert_uint_eq(a.k[0], b.k[0]);
  ck_assert_uint_eq(a.k[1], b.k[1]);
  for (uint64_t i = 0; i < 1000; i += 37) {
    ck_assert(pt_rng_normal(a, i) == pt_rng_normal(b, i));
    ck_assert(pt_rng_uniform(a, i) == pt_rng_uniform(b, i));
  }
  /* Another name, or another seed, gives another stream. */
  pt_rng_key c = pt_rng_key_for(7, "layers.1.w"), e = pt_rng_key_for(8, "layers.0.w");
  int same_c = 0, same_e = 0;
  for (uint64_t i = 0; i < 1000; i++) {
    same_c += pt_rng_uniform(a, i) == pt_rng_uniform(c, i);
    same_e += pt_rng_uniform(a, i) == pt_rng_uniform(e, i);
  }
  ck_assert_int_eq(same_c, 0);
  ck_assert_int_eq(same_e, 0);
  /* Neighbouring counters differ too. */
  ck_assert(pt_rng_uniform(a, 0) != pt_rng_uniform(a, 1));
  ck_assert(pt_rng_uniform(a, 0) != pt_rng_uniform(a, 1ull << 32));
}
END_TEST

START_TEST(test_rng_statistics) {
  pt_rng_key k = pt_rng_key_for(1234, "x");
  const int n = 100000;
  double s = 0, s2 = 0, us = 0;
  for (int i = 0; i < n; i++) {
    double z = pt_rng_normal(k, (uint64_t)i);
    ck_assert(isfinite(z));
    s += z;
    s2 += z * z;
    double u = pt_rng_uniform(k, (uint64_t)i);
    ck_assert(u >= 0 && u < 1);
    us += u;
  }
  double mean = s / n, sd = sqrt(s2 / n - mean * mean);
  ck_assert_double_le(fabs(mean), 0.02);
  ck_assert_double_le(fabs(sd - 1), 0.02);
  ck_assert_double_le(fabs(us / n - 0.5), 0.01);
}
END_TEST

START_TEST(test_rng_below) {
  pt_rng_key k = pt_rng_key_for(99, "tok");
  const int64_t bounds[] = {1, 2, 3, 7, 50, 1000, 2147483647, 1ll << 40};
  for (size_t b = 0; b < sizeof bounds / sizeof bounds[0]; b++) {
    int64_t lo = bounds[b], hi = -1;
    for (uint64_t i = 0; i < 20000; i++) {
      int64_t v = pt_rng_below(k, i, bounds[b]);
      ck_assert_msg(v >= 0 && v < bounds[b], "bound %lld gave %lld", (long long)bounds[b],
                    (long long)v);
      lo = v < lo ? v : lo;
      hi = v > hi ? v : hi;
    }
    if (bounds[b] <= 50) { /* every value is hit */
      ck_assert_int_eq(lo, 0);
      ck_assert_int_eq(hi, bounds[b] - 1);
    }
  }
}
END_TEST

/* ---- initial values --------------------------------------------------- */

static const char *init_module =
    "func @f(param %w: f32[64,32], param %b: f32[32], input %x: f32[8,64],\n"
    "        param %emb: f32[50,4], input %tok: i32[8], state %s: f32[4],\n"
    "        input %ids: i32[8], input %upd: f32[8,4], input %free: i32[16],\n"
    "        input %m: pred[64])\n"
    "    -> (e: f32[8,4], g: f32[30,4], h: f32[8,4]) {\n"
    "  %e = take %emb, %tok : f32[8,4]\n"
    "  %g = scatter_add %ids, %upd : f32[30,4]\n"
    "  %h = take %emb, %ids : f32[8,4]\n"
    "  return %e, %g, %h\n"
    "}\n";

static double sample_std(const pt_tensor *t) {
  int64_t n = pt_type_numel(&t->type);
  double s = 0, s2 = 0;
  for (int64_t i = 0; i < n; i++) {
    double v = pt_tensor_get(t, i);
    s += v;
    s2 += v * v;
  }
  double m = s / (double)n;
  return sqrt(s2 / (double)n - m * m);
}

/* The whole tensor equals the element-at-a-time values: any shard can be
 * computed alone. */
static void assert_shard_independent(const pt_init_spec *s, const pt_tensor *t) {
  int64_t n = pt_type_numel(&t->type);
  for (int64_t i = 0; i < n; i++)
    ck_assert(pt_init_value(s, i) == pt_tensor_get(t, i));
}

START_TEST(test_init) {
  pt_module *m = pt_test_parse_ok(init_module);
  const pt_func *f = m->funcs[0];
  const uint64_t seed = 5;
  for (int a = 0; a < f->nargs; a++) {
    const pt_value *arg = f->args[a];
    pt_init_spec s = pt_init_spec_for(f, arg, seed);
    pt_tensor *t = pt_init_tensor(&s, arg->type);
    assert_shard_independent(&s, t);
    int64_t n = pt_type_numel(&t->type);
    const char *name = arg->name;
    if (!strcmp(name, "w") || !strcmp(name, "emb")) {
      double want = 1 / sqrt(!strcmp(name, "w") ? 64.0 : 50.0);
      ck_assert_int_eq(s.kind, PT_INIT_NORMAL);
      ck_assert_double_eq_tol(s.std, want, 1e-12);
      /* w has 2048 elements: 10% is many standard errors; emb only 200. */
      double tol = !strcmp(name, "w") ? 0.1 : 0.25;
      ck_assert_msg(fabs(sample_std(t) / want - 1) < tol, "%s: std %g, want %g", name,
                    sample_std(t), want);
    } else if (!strcmp(name, "b") || !strcmp(name, "s")) {
      ck_assert_int_eq(s.kind, PT_INIT_ZERO);
      for (int64_t i = 0; i < n; i++)
        ck_assert(pt_tensor_get(t, i) == 0);
    } else if (!strcmp(name, "x") || !strcmp(name, "upd")) {
      ck_assert_int_eq(s.kind, PT_INIT_NORMAL);
      ck_assert(s.std == 1);
      ck_assert_double_le(fabs(sample_std(t) - 1), 4 / sqrt(2.0 * (double)n));
    } else if (!strcmp(name, "tok") || !strcmp(name, "ids") || !strcmp(name, "free")) {
      /* tok indexes emb (50 rows); ids indexes emb and scatters into 30
       * rows, the fewer; free indexes nothing. */
      int64_t bound = !strcmp(name, "tok") ? 50 : !strcmp(name, "ids") ? 30 : 1000;
      ck_assert_int_eq(s.kind, PT_INIT_UNIFORM_INT);
      ck_assert_int_eq(s.bound, bound);
      for (int64_t i = 0; i < n; i++) {
        double v = pt_tensor_get(t, i);
        ck_assert(v >= 0 && v < (double)bound && v == floor(v));
      }
    } else if (!strcmp(name, "m")) {
      ck_assert_int_eq(s.kind, PT_INIT_BERNOULLI);
      int ones = 0;
      for (int64_t i = 0; i < n; i++) {
        double v = pt_tensor_get(t, i);
        ck_assert(v == 0 || v == 1);
        ones += v == 1;
      }
      ck_assert(ones > 10 && ones < 54);
    } else {
      ck_abort_msg("unexpected argument %s", name);
    }
    /* The value follows from (seed, name, index) alone. */
    pt_init_spec again = pt_init_spec_for(f, arg, seed);
    pt_init_spec other = pt_init_spec_for(f, arg, seed + 1);
    if (s.kind != PT_INIT_ZERO) {
      ck_assert(pt_init_value(&again, n - 1) == pt_tensor_get(t, n - 1));
      int same = 0;
      for (int64_t i = 0; i < n; i++)
        same += pt_init_value(&other, i) == pt_tensor_get(t, i);
      ck_assert_msg(same < n, "%s: seed does not matter", name);
    }
    pt_tensor_destroy(t);
  }
  /* An f32 element is the rounded normal times std. */
  const pt_value *w = pt_func_find_arg(f, "w");
  pt_init_spec s = pt_init_spec_for(f, w, seed);
  ck_assert(pt_init_value(&s, 17) ==
            (double)(float)(0.125 * pt_rng_normal(pt_rng_key_for(seed, "w"), 17)));
  pt_module_destroy(m);
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("safetensors");
  TCase *tc = tcase_create("st");
  tcase_add_test(tc, test_round_trip);
  tcase_add_test(tc, test_empty_file_of_tensors);
  tcase_add_test(tc, test_layout);
  tcase_add_test(tc, test_foreign_file);
  tcase_add_loop_test(tc, test_bad_file, 0, NBAD);
  tcase_add_test(tc, test_missing_file);
  tcase_add_test(tc, test_write_missing_dir);
  tcase_add_test(tc, test_write_replaces);
  tcase_add_test(tc, test_write_over_directory);
  tcase_add_test(tc, test_write_bad_names);
  suite_add_tcase(s, tc);
  TCase *rng = tcase_create("rng");
  tcase_set_timeout(rng, 60);
  tcase_add_test(rng, test_philox_kat);
  tcase_add_test(rng, test_rng_documented_values);
  tcase_add_test(rng, test_rng_determinism);
  tcase_add_test(rng, test_rng_statistics);
  tcase_add_test(rng, test_rng_below);
  suite_add_tcase(s, rng);
  TCase *init = tcase_create("init");
  tcase_add_test(init, test_init);
  suite_add_tcase(s, init);
  return s;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  return remove(path);
}

int main(void) {
  snprintf(scratch, sizeof scratch, "/tmp/pt-st-XXXXXX");
  if (!mkdtemp(scratch)) {
    perror("mkdtemp");
    return EXIT_FAILURE;
  }
  int rc = pt_test_main(suite());
  nftw(scratch, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
  return rc;
}
