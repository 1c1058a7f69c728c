/* Memory: one allocator hook for everything (tests install a counting or
 * failing allocator), and arenas that free a module's objects at once. */
#ifndef PT_MEM_H
#define PT_MEM_H

#include <stddef.h>

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
