/* What the benchmarks share: a clock, a comparison for qsort, the machine
 * line every benchmark prints, and a generated training step (an embedding
 * followed by a deep MLP, with its Adam train_step) of a chosen size. */
#ifndef PT_BENCHUTIL_H
#define PT_BENCHUTIL_H

#include <stdbool.h>

#include "ir.h"

double pt_bench_now(void);
int pt_bench_cmp_double(const void *a, const void *b);
/* A whole decimal number in [lo, hi] (a command-line count) into *out. */
bool pt_bench_parse_count(const char *s, long lo, long hi, long *out);
/* Prints nproc, the CPU model and OPENBLAS_CORETYPE. */
void pt_bench_machine_line(void);
/* The loss with `layers` MLP layers and its Adam train_step, in a new module;
 * *nops gets the step's op count. Exits the program if it does not build. */
pt_module *pt_bench_build_step(int layers, int *nops);
/* The depth whose train_step has about `target` ops (at least 2);
 * *per_layer (may be NULL) gets the ops each layer adds. */
int pt_bench_step_layers(long target, int *per_layer);

#endif
