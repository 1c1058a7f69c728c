/* Host tensors: dense, row-major, owning their data. */
#include <math.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#include "interp.h"

static size_t data_bytes(const pt_tensor *x) {
  return x->wide ? (size_t)pt_type_numel(&x->type) * sizeof(double) : pt_type_bytes(&x->type);
}

#define HUGE_PAGE ((uintptr_t)2 << 20)

/* A large tensor's whole 2 MiB pages are advised huge before they are first
 * touched: where the allocator maps fresh memory for each one (the
 * sanitizers' does), one fault per 2 MiB instead of one per 4 KiB page.
 * Advice only: failure is harmless. */
static void advise_huge(void *p, size_t n) {
  uintptr_t lo = ((uintptr_t)p + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
  uintptr_t hi = ((uintptr_t)p + n) & ~(HUGE_PAGE - 1);
  if (hi > lo)
    madvise((void *)lo, hi - lo, MADV_HUGEPAGE);
}

static pt_tensor *create(pt_type t, bool wide) {
  pt_tensor *x = pt_malloc(sizeof *x);
  x->type = t;
  x->wide = wide && t.dtype == PT_F32;
  size_t n = data_bytes(x);
  x->data = pt_malloc(n ? n : 1);
  if (n >= 2 * HUGE_PAGE)
    advise_huge(x->data, n);
  memset(x->data, 0, n ? n : 1);
  return x;
}

pt_tensor *pt_tensor_create(pt_type t) { return create(t, false); }
pt_tensor *pt_tensor_create_wide(pt_type t) { return create(t, true); }

void pt_tensor_destroy(pt_tensor *t) {
  if (!t)
    return;
  pt_free(t->data);
  pt_free(t);
}

void pt_tensors_destroy(pt_tensor **ts, int n) {
  if (!ts)
    return;
  for (int i = 0; i < n; i++)
    pt_tensor_destroy(ts[i]);
  pt_free(ts);
}

pt_tensor *pt_tensor_clone(const pt_tensor *t) {
  pt_tensor *x = create(t->type, t->wide);
  memcpy(x->data, t->data, data_bytes(t));
  return x;
}

double pt_tensor_get(const pt_tensor *t, int64_t i) {
  switch (t->type.dtype) {
  case PT_F32:
    return t->wide ? ((const double *)t->data)[i] : ((const float *)t->data)[i];
  case PT_I32:
    return ((const int32_t *)t->data)[i];
  case PT_PRED:
    return ((const uint8_t *)t->data)[i];
  case PT_DTYPE_COUNT:
    break;
  }
  PT_UNREACHABLE();
}

/* Rounds to the element type: f32 by IEEE rounding; i32 by truncation toward
 * zero, saturating, nan to 0; pred: non-zero is 1. */
void pt_tensor_set(pt_tensor *t, int64_t i, double v) {
  switch (t->type.dtype) {
  case PT_F32:
    if (t->wide)
      ((double *)t->data)[i] = v;
    else
      ((float *)t->data)[i] = (float)v;
    return;
  case PT_I32: {
    int32_t r;
    if (isnan(v))
      r = 0;
    else if (v >= 2147483647.0)
      r = INT32_MAX;
    else if (v <= -2147483648.0)
      r = INT32_MIN;
    else
      r = (int32_t)v;
    ((int32_t *)t->data)[i] = r;
    return;
  }
  case PT_PRED:
    ((uint8_t *)t->data)[i] = v != 0;
    return;
  case PT_DTYPE_COUNT:
    break;
  }
  PT_UNREACHABLE();
}
