/* Deterministic initial values for function arguments not given in an
 * inputs file (docs/cli.md, "Initial values"):
 *   param, rank >= 2: normal, mean 0, std 1/sqrt(fan_in), fan_in = the
 *                     product of every dimension but the last
 *   param, rank <= 1: zeros (biases; norm scales are written as 1 + scale)
 *   state:            zeros
 *   input f32:        standard normal
 *   input i32:        uniform in [0, bound): bound = the fewest rows of any
 *                     table it indexes through take (or scatter_add's rows,
 *                     or a one-hot compare with an iota's extent), else 1000
 *   input pred:       0 or 1 with probability 1/2 each
 * Element i of every kind comes from pt_rng_* with key (seed, arg name) and
 * counter i (the global row-major index), so a shard is computed alone. */
#ifndef PT_INIT_H
#define PT_INIT_H

#include "interp.h"
#include "rng.h"

typedef enum { PT_INIT_ZERO, PT_INIT_NORMAL, PT_INIT_UNIFORM_INT, PT_INIT_BERNOULLI } pt_init_kind;

typedef struct {
  pt_init_kind kind;
  double std;        /* PT_INIT_NORMAL */
  int64_t bound;     /* PT_INIT_UNIFORM_INT */
  pt_rng_key key;
  pt_dtype dtype;
} pt_init_spec;

/* The rule above for argument `arg` of f. */
pt_init_spec pt_init_spec_for(const pt_func *f, const pt_value *arg, uint64_t seed);
/* The value of global element i, rounded to the spec's element type. */
double pt_init_value(const pt_init_spec *s, int64_t i);
/* A whole tensor of type t (pt_tensor_destroy frees it). */
pt_tensor *pt_init_tensor(const pt_init_spec *s, pt_type t);

#endif
