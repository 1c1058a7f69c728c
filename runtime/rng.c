/* Philox4x32-10 (Salmon, Moraes, Dror, Shaw: "Parallel random numbers: as
 * easy as 1, 2, 3", SC'11) and the mappings from its 128-bit blocks to the
 * distributions initial values use. docs/cli.md ("Initial values") gives every formula, so
 * values can be reproduced outside partita; keep the two in step. */
#include <math.h>

#include "rng.h"

#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u
#define PHILOX_W1 0xBB67AE85u

static uint64_t splitmix64(uint64_t x) {
  uint64_t z = x + 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

static uint64_t fnv1a64(const char *s) {
  uint64_t h = 0xCBF29CE484222325ull;
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    h ^= *p;
    h *= 0x100000001B3ull;
  }
  return h;
}

pt_rng_key pt_rng_key_for(uint64_t seed, const char *name) {
  uint64_t k = splitmix64(seed) ^ fnv1a64(name ? name : "");
  return (pt_rng_key){{(uint32_t)k, (uint32_t)(k >> 32)}};
}

void pt_rng_block(pt_rng_key key, uint64_t index, uint32_t out[4]) {
  uint32_t c0 = (uint32_t)index, c1 = (uint32_t)(index >> 32), c2 = 0, c3 = 0;
  uint32_t k0 = key.k[0], k1 = key.k[1];
  for (int round = 0; round < 10; round++) {
    if (round > 0) {
      k0 += PHILOX_W0;
      k1 += PHILOX_W1;
    }
    uint64_t p0 = (uint64_t)PHILOX_M0 * c0;
    uint64_t p1 = (uint64_t)PHILOX_M1 * c2;
    uint32_t n0 = (uint32_t)(p1 >> 32) ^ c1 ^ k0;
    uint32_t n1 = (uint32_t)p1;
    uint32_t n2 = (uint32_t)(p0 >> 32) ^ c3 ^ k1;
    uint32_t n3 = (uint32_t)p0;
    c0 = n0;
    c1 = n1;
    c2 = n2;
    c3 = n3;
  }
  out[0] = c0;
  out[1] = c1;
  out[2] = c2;
  out[3] = c3;
}

/* The top 53 bits of the 64-bit word hi:lo. */
static uint64_t bits53(uint32_t hi, uint32_t lo) { return (((uint64_t)hi << 32) | lo) >> 11; }

#define TWO_POW_M53 (1.0 / 9007199254740992.0)

double pt_rng_uniform(pt_rng_key key, uint64_t index) {
  uint32_t w[4];
  pt_rng_block(key, index, w);
  return (double)bits53(w[0], w[1]) * TWO_POW_M53;
}

double pt_rng_normal(pt_rng_key key, uint64_t index) {
  uint32_t w[4];
  pt_rng_block(key, index, w);
  /* u1 in (0, 1] so the logarithm is finite. */
  double u1 = (double)(bits53(w[0], w[1]) + 1) * TWO_POW_M53;
  double u2 = (double)bits53(w[2], w[3]) * TWO_POW_M53;
  return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

/* Plain remainder of a 64-bit word: the bias is below bound / 2^64, far
 * under anything a test could see, and the rule is one line to reproduce. */
int64_t pt_rng_below(pt_rng_key key, uint64_t index, int64_t bound) {
  if (bound <= 1)
    return 0;
  uint32_t w[4];
  pt_rng_block(key, index, w);
  uint64_t x = ((uint64_t)w[0] << 32) | w[1];
  return (int64_t)(x % (uint64_t)bound);
}
