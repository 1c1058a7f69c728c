/* A counter-based random generator (Philox4x32-10, Salmon et al., SC'11):
 * the value for element i of a tensor is a pure function of (seed, tensor
 * name, i), so any device can produce its own shard of an initial value
 * without producing the whole tensor. */
#ifndef PT_RNG_H
#define PT_RNG_H

#include <stdint.h>

typedef struct {
  uint32_t k[2];
} pt_rng_key;

/* The key for one tensor: splitmix64 of the seed mixed with the 64-bit
 * FNV-1a hash of its name. */
pt_rng_key pt_rng_key_for(uint64_t seed, const char *name);
/* Philox4x32-10 applied to the 128-bit counter (index, 0): four words. */
void pt_rng_block(pt_rng_key key, uint64_t index, uint32_t out[4]);
/* Uniform in [0, 1) with 53 random bits (words 0 and 1 of the block). */
double pt_rng_uniform(pt_rng_key key, uint64_t index);
/* Standard normal by Box-Muller over the block's two 53-bit uniforms
 * (u1 from words 0,1 mapped to (0, 1], u2 from words 2,3). */
double pt_rng_normal(pt_rng_key key, uint64_t index);
/* Uniform integer in [0, bound) (bound >= 1), from word 0 and 1. */
int64_t pt_rng_below(pt_rng_key key, uint64_t index, int64_t bound);

#endif
