/* What every fuzz harness (tests/fuzz/fuzz_*.c) shares: the oracle for bad
 * input. A reader may refuse its input, but then with at least one error,
 * located in the input; anything else (a crash, a sanitizer report, a
 * refusal without a message, an allocation of absurd size) is a bug, and the
 * harness aborts so that libFuzzer keeps the input as a reproducer.
 *
 * The harnesses build two ways: with clang and -fsanitize=fuzzer (PT_FUZZ,
 * scripts/fuzz.sh), and with the project's compiler into replay programs
 * (replay.c) that ctest runs over the seed corpora and the regressions. */
#ifndef PT_FUZZ_H
#define PT_FUZZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "ir.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* The largest single allocation a harness allows the library (the inputs
 * are small, and so must be what they make it allocate). */
#define PT_FUZZ_MAX_ALLOC ((size_t)256 << 20)

/* Aborts with the harness's message: libFuzzer (or replay.c) reports it. */
#define PT_FUZZ_FAIL(...)                                                                          \
  do {                                                                                             \
    fprintf(stderr, "fuzz: bug: " __VA_ARGS__);                                                    \
    fputc('\n', stderr);                                                                           \
    abort();                                                                                       \
  } while (0)

/* Installs the capped allocator (pt_set_allocator) that aborts on any
 * request over PT_FUZZ_MAX_ALLOC. Call once, from LLVMFuzzerInitialize. */
void pt_fuzz_cap_allocations(void);

/* The oracle: when ok is false, d must hold an error, and every error must
 * be located in `file` (line >= 1, or any line when line_optional: the
 * binary formats name the file and a byte offset); a note, which adds to an
 * error, may be located elsewhere (the Python source an imported op was
 * traced from) or nowhere. When ok is true, d must
 * hold no error. With PT_FUZZ_VERBOSE set in the environment every message
 * is printed (to see why an input is refused). */
void pt_fuzz_check_diag(const pt_diag *d, bool ok, const char *file, bool line_optional);

/* Reads a whole file of the source tree (path relative to it; the tree is
 * PT_SOURCE_DIR, fixed at build time) into a NUL-terminated malloc'd
 * string; aborts when it cannot. */
char *pt_fuzz_read_source(const char *rel, size_t *len);

#endif
