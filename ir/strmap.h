/* A string -> pointer hash map (open addressing). Keys are borrowed: they
 * must outlive the map (they usually live in a module's arena). */
#ifndef PT_STRMAP_H
#define PT_STRMAP_H

#include <stddef.h>

typedef struct {
  const char **keys;
  void **vals;
  size_t cap, count;
} pt_strmap;

/* Zero-initialise a pt_strmap to start; pt_strmap_clear frees and resets. */
void pt_strmap_clear(pt_strmap *m);
/* The value stored under key s (n bytes), or NULL. */
void *pt_strmap_get(const pt_strmap *m, const char *s, size_t n);
/* Stores v under key (NUL-terminated, borrowed). Returns the previous
 * value, or NULL if the key was new. */
void *pt_strmap_put(pt_strmap *m, const char *key, void *v);

#endif
