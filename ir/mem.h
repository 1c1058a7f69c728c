/* Memory: one allocator hook for everything (tests install a counting or
 * failing allocator), and arenas that free a module's objects at once. */
#ifndef PT_MEM_H
#define PT_MEM_H

#include <stddef.h>
#include <stdint.h>

/* The hook: like realloc; ptr NULL allocates, size 0 frees (returns NULL). */
typedef void *(*pt_alloc_fn)(void *ud, void *ptr, size_t size);
void pt_set_allocator(pt_alloc_fn fn, void *ud);

/* Allocation that never returns NULL: running out of memory is reported
 * and the process exits with status 1. */
void *pt_malloc(size_t n);
void *pt_calloc(size_t count, size_t size);
void *pt_realloc(void *p, size_t n);
void pt_free(void *p);
char *pt_strdup(const char *s);
char *pt_strndup(const char *s, size_t n);

/* Byte counts summed over sizes a program chose: they stop at INT64_MAX
 * instead of overflowing (a count that large never fits any machine, and
 * is refused as too large where it is used). */
static inline int64_t pt_add_sat(int64_t a, int64_t b) {
  int64_t r;
  return __builtin_add_overflow(a, b, &r) ? (a < 0 ? INT64_MIN : INT64_MAX) : r;
}
static inline int64_t pt_mul_sat(int64_t a, int64_t b) {
  int64_t r;
  return __builtin_mul_overflow(a, b, &r) ? ((a < 0) != (b < 0) ? INT64_MIN : INT64_MAX) : r;
}

/* a * b / c (c > 0) in 128 bits, saturating like pt_mul_sat: a group's
 * share of bytes, (g - 1) * bytes / g, whose product leaves int64 first. */
static inline int64_t pt_muldiv_sat(int64_t a, int64_t b, int64_t c) {
  __int128 r = (__int128)a * b / c;
  return r > INT64_MAX ? INT64_MAX : r < INT64_MIN ? INT64_MIN : (int64_t)r;
}

/* The machine's physical memory in bytes (INT64_MAX when unknown), for
 * refusing an allocation no machine of this size can make before trying. */
int64_t pt_physical_memory(void);

/* Grow a malloc'd array so it holds at least `need` elements. */
#define PT_GROW(ptr, cap, need)                                          \
  do {                                                                   \
    if ((size_t)(need) > (size_t)(cap)) {                                \
      size_t nc_ = (cap) ? (size_t)(cap) * 2 : 8;                        \
      while (nc_ < (size_t)(need))                                       \
        nc_ *= 2;                                                        \
      (ptr) = pt_realloc((ptr), nc_ * sizeof *(ptr));                    \
      (cap) = nc_;                                                       \
    }                                                                    \
  } while (0)

typedef struct pt_arena pt_arena;
pt_arena *pt_arena_create(void);
void pt_arena_destroy(pt_arena *a);
/* Zeroed, 16-byte aligned memory that lives until the arena is destroyed. */
void *pt_arena_alloc(pt_arena *a, size_t n);
char *pt_arena_strdup(pt_arena *a, const char *s);
char *pt_arena_strndup(pt_arena *a, const char *s, size_t n);
void *pt_arena_memdup(pt_arena *a, const void *p, size_t n);

#endif
