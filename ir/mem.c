/* The allocator hook and arenas. */
#include "mem.h"

#include <malloc.h>

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void *default_alloc(void *ud, void *ptr, size_t size) {
  (void)ud;
  static bool tuned;
  if (!tuned) {
    /* Tensors of megabytes come and go with every op: keep freed memory in
     * the heap instead of returning it to the kernel, so the next tensor
     * reuses pages already touched (a fresh page costs ~10 us to fault in,
     * which dominated the interpreter's time on large models). */
    mallopt(M_MMAP_THRESHOLD, 32 << 20); /* glibc's largest */
    mallopt(M_TRIM_THRESHOLD, 1 << 30);
    tuned = true;
  }
  if (size == 0) {
    free(ptr);
    return NULL;
  }
  return realloc(ptr, size);
}

static pt_alloc_fn alloc_fn = default_alloc;
static void *alloc_ud;

void pt_set_allocator(pt_alloc_fn fn, void *ud) {
  alloc_fn = fn ? fn : default_alloc;
  alloc_ud = fn ? ud : NULL;
}

static _Noreturn void out_of_memory(size_t n) {
  fprintf(stderr, "partita: error: out of memory (asked for %zu bytes)\n", n);
  exit(1);
}

void *pt_realloc(void *p, size_t n) {
  if (n == 0)
    n = 1;
  void *q = alloc_fn(alloc_ud, p, n);
  if (!q)
    out_of_memory(n);
  return q;
}

int64_t pt_physical_memory(void) {
  long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGESIZE);
  if (pages <= 0 || size <= 0)
    return INT64_MAX;
  return pt_mul_sat(pages, size);
}

void *pt_malloc(size_t n) { return pt_realloc(NULL, n); }

void *pt_calloc(size_t count, size_t size) {
  if (size && count > SIZE_MAX / size)
    out_of_memory(SIZE_MAX);
  void *p = pt_malloc(count * size);
  memset(p, 0, count * size);
  return p;
}

void pt_free(void *p) {
  if (p)
    alloc_fn(alloc_ud, p, 0);
}

char *pt_strndup(const char *s, size_t n) {
  char *p = pt_malloc(n + 1);
  memcpy(p, s, n);
  p[n] = 0;
  return p;
}

char *pt_strdup(const char *s) { return pt_strndup(s, strlen(s)); }

/* Arena: a list of chunks; big requests get a chunk of their own. */
typedef struct chunk {
  struct chunk *next;
  size_t used, size;
  _Alignas(16) unsigned char data[];
} chunk;

struct pt_arena {
  chunk *head;
};

#define CHUNK_SIZE (64 * 1024 - sizeof(chunk))

pt_arena *pt_arena_create(void) {
  pt_arena *a = pt_malloc(sizeof *a);
  a->head = NULL;
  return a;
}

void pt_arena_destroy(pt_arena *a) {
  if (!a)
    return;
  for (chunk *c = a->head, *n; c; c = n) {
    n = c->next;
    pt_free(c);
  }
  pt_free(a);
}

void *pt_arena_alloc(pt_arena *a, size_t n) {
  n = (n + 15) & ~(size_t)15;
  if (n == 0)
    n = 16;
  chunk *c = a->head;
  if (!c || c->size - c->used < n) {
    size_t sz = n > CHUNK_SIZE / 4 ? n : CHUNK_SIZE;
    c = pt_malloc(sizeof(chunk) + sz);
    c->size = sz;
    c->used = 0;
    if (sz == n && a->head) {
      /* a big block: keep the current chunk in front for small requests */
      c->next = a->head->next;
      a->head->next = c;
    } else {
      c->next = a->head;
      a->head = c;
    }
  }
  void *p = c->data + c->used;
  c->used += n;
  memset(p, 0, n);
  return p;
}

char *pt_arena_strndup(pt_arena *a, const char *s, size_t n) {
  char *p = pt_arena_alloc(a, n + 1);
  memcpy(p, s, n);
  p[n] = 0;
  return p;
}

char *pt_arena_strdup(pt_arena *a, const char *s) {
  return pt_arena_strndup(a, s, strlen(s));
}

void *pt_arena_memdup(pt_arena *a, const void *p, size_t n) {
  void *q = pt_arena_alloc(a, n);
  if (n)
    memcpy(q, p, n);
  return q;
}
