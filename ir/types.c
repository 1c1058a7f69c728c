/* Element types, shapes and meshes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir.h"

static const char *const dtype_names[PT_DTYPE_COUNT] = {"f32", "i32", "pred"};
static const size_t dtype_sizes[PT_DTYPE_COUNT] = {4, 4, 1};

const char *pt_dtype_name(pt_dtype t) { return dtype_names[t]; }
size_t pt_dtype_size(pt_dtype t) { return dtype_sizes[t]; }

bool pt_dtype_parse(const char *s, size_t n, pt_dtype *out) {
  for (int i = 0; i < PT_DTYPE_COUNT; i++)
    if (strlen(dtype_names[i]) == n && memcmp(dtype_names[i], s, n) == 0) {
      *out = (pt_dtype)i;
      return true;
    }
  return false;
}

pt_type pt_type_make(pt_dtype dt, int rank, const int64_t *dims) {
  PT_ASSERT(rank >= 0 && rank <= PT_MAX_RANK);
  pt_type t;
  memset(&t, 0, sizeof t);
  t.dtype = dt;
  t.rank = rank;
  for (int i = 0; i < rank; i++)
    t.dims[i] = dims[i];
  return t;
}

pt_type pt_type_scalar(pt_dtype dt) { return pt_type_make(dt, 0, NULL); }

bool pt_type_same_shape(const pt_type *a, const pt_type *b) {
  if (a->rank != b->rank)
    return false;
  for (int i = 0; i < a->rank; i++)
    if (a->dims[i] != b->dims[i])
      return false;
  return true;
}

bool pt_type_equal(const pt_type *a, const pt_type *b) {
  return a->dtype == b->dtype && pt_type_same_shape(a, b);
}

int64_t pt_type_numel(const pt_type *t) {
  int64_t n = 1;
  for (int i = 0; i < t->rank; i++)
    n *= t->dims[i];
  return n;
}

bool pt_type_fits(const pt_type *t) {
  int64_t n = 1;
  for (int i = 0; i < t->rank; i++)
    if (t->dims[i] < 1 || __builtin_mul_overflow(n, t->dims[i], &n) || n > PT_MAX_ELEMENTS)
      return false;
  return true;
}

size_t pt_type_bytes(const pt_type *t) {
  return (size_t)pt_type_numel(t) * pt_dtype_size(t->dtype);
}

char *pt_type_str(const pt_type *t, char *buf, size_t n) {
  size_t k = (size_t)snprintf(buf, n, "%s[", pt_dtype_name(t->dtype));
  for (int i = 0; i < t->rank && k < n; i++)
    k += (size_t)snprintf(buf + k, n - k, i ? ",%lld" : "%lld",
                          (long long)t->dims[i]);
  if (k < n)
    snprintf(buf + k, n - k, "]");
  return buf;
}

int pt_mesh_axis(const pt_mesh *m, const char *name, size_t n) {
  for (int i = 0; i < m->naxes; i++)
    if (strlen(m->names[i]) == n && memcmp(m->names[i], name, n) == 0)
      return i;
  return -1;
}

static const char *const role_names[PT_ROLE_COUNT] = {"input", "param", "state"};
const char *pt_role_name(pt_role r) { return role_names[r]; }

static const char *const cmp_names[PT_CMP_COUNT] = {"lt", "le", "gt",
                                                    "ge", "eq", "ne"};
const char *pt_cmpdir_name(pt_cmpdir d) { return cmp_names[d]; }

bool pt_cmpdir_parse(const char *s, pt_cmpdir *out) {
  for (int i = 0; i < PT_CMP_COUNT; i++)
    if (strcmp(s, cmp_names[i]) == 0) {
      *out = (pt_cmpdir)i;
      return true;
    }
  return false;
}

void pt_fmt_double(double v, char *buf, size_t n) {
  if (v != v) {
    snprintf(buf, n, "nan");
    return;
  }
  if (v == 1.0 / 0.0) {
    snprintf(buf, n, "inf");
    return;
  }
  if (v == -1.0 / 0.0) {
    snprintf(buf, n, "-inf");
    return;
  }
  for (int prec = 1; prec <= 17; prec++) {
    snprintf(buf, n, "%.*g", prec, v);
    if (strtod(buf, NULL) == v)
      break;
  }
  /* an integral value keeps a ".0" so it reads back as a number, not an
   * integer: parse(print(m)) must give the same attribute kinds */
  if (!strpbrk(buf, ".eE")) {
    size_t k = strlen(buf);
    if (k + 2 < n)
      memcpy(buf + k, ".0", 3);
  }
}
