/* Fuzzes the safetensors reader (runtime/safetensors.c), the format of
 * --inputs and --out: the input is the whole file, handed to pt_st_read
 * through an in-memory file (memfd), so nothing touches the disk. Beyond
 * "no crash and an error naming the file": a file the reader accepts must
 * hold tensors whose names find them, whose BOOL elements are 0 or 1, and
 * whose metadata keys find their values. */
#define _GNU_SOURCE
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz.h"
#include "safetensors.h"

static int fd = -1;
static char path[64];

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  fd = memfd_create("fuzz.safetensors", 0);
  if (fd < 0)
    PT_FUZZ_FAIL("memfd_create failed");
  snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
  pt_fuzz_cap_allocations();
  return 0;
}

/* Makes the in-memory file hold exactly data. */
static void fill(const uint8_t *data, size_t size) {
  if (ftruncate(fd, 0) != 0 || pwrite(fd, data, size, 0) != (ssize_t)size)
    PT_FUZZ_FAIL("cannot fill the in-memory file");
}

static void check_file(const pt_st_file *f) {
  for (int i = 0; i < pt_st_count(f); i++) {
    const char *name = pt_st_name(f, i);
    const pt_tensor *t = pt_st_tensor(f, i);
    if (pt_st_find(f, name) != t)
      PT_FUZZ_FAIL("tensor '%s' is not found by its name", name);
    if (t->type.dtype == PT_PRED)
      for (int64_t k = 0; k < pt_type_numel(&t->type); k++)
        if (((const uint8_t *)t->data)[k] > 1)
          PT_FUZZ_FAIL("tensor '%s' holds the BOOL %u", name, ((const uint8_t *)t->data)[k]);
  }
  (void)pt_st_meta(f, "partita.step");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fill(data, size);
  pt_diag *d = pt_diag_create(NULL);
  pt_st_file *f = pt_st_read(path, d);
  pt_fuzz_check_diag(d, f != NULL, path, true);
  if (f)
    check_file(f);
  pt_st_close(f);
  pt_diag_destroy(d);
  return 0;
}
