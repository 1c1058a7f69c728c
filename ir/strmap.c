/* A string -> pointer hash map with FNV-1a hashing and linear probing. */
#include "strmap.h"

#include <stdint.h>
#include <string.h>

#include "mem.h"

static uint64_t hash_str(const char *s, size_t n) {
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < n; i++)
    h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
  return h;
}

void pt_strmap_clear(pt_strmap *m) {
  pt_free(m->keys);
  pt_free(m->vals);
  memset(m, 0, sizeof *m);
}

static size_t find(const pt_strmap *m, const char *s, size_t n) {
  size_t i = hash_str(s, n) & (m->cap - 1);
  while (m->keys[i] && !(strncmp(m->keys[i], s, n) == 0 && m->keys[i][n] == 0))
    i = (i + 1) & (m->cap - 1);
  return i;
}

void *pt_strmap_get(const pt_strmap *m, const char *s, size_t n) {
  if (!m->cap)
    return NULL;
  size_t i = find(m, s, n);
  return m->keys[i] ? m->vals[i] : NULL;
}

void *pt_strmap_put(pt_strmap *m, const char *key, void *v) {
  if ((m->count + 1) * 2 > m->cap) {
    pt_strmap old = *m;
    m->cap = old.cap ? old.cap * 2 : 64;
    m->keys = pt_calloc(m->cap, sizeof *m->keys);
    m->vals = pt_calloc(m->cap, sizeof *m->vals);
    m->count = 0;
    for (size_t i = 0; i < old.cap; i++)
      if (old.keys[i])
        pt_strmap_put(m, old.keys[i], old.vals[i]);
    pt_free(old.keys);
    pt_free(old.vals);
  }
  size_t n = strlen(key);
  size_t i = find(m, key, n);
  if (m->keys[i]) {
    void *prev = m->vals[i];
    m->vals[i] = v;
    return prev;
  }
  m->keys[i] = key;
  m->vals[i] = v;
  m->count++;
  return NULL;
}
