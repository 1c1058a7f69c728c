/* Fuzzes what reading a checkpoint reads (runtime/checkpoint.c, the path of
 * `train --resume` and `--inputs`): the input is the whole file, read
 * through an in-memory file (memfd) by one MPI process. Per input: the
 * metadata (pt_ckpt_meta) checked as --resume checks it
 * (pt_train_ckpt_meta_ok against a tiny MLP, tests/fuzz/tiny_mlp.pir, trained
 * with SGD), the names (pt_ckpt_names), then the blocks of its params (pt_ckpt_read) on a
 * one-device mesh, w1 and w2 split along it. Beyond "no crash and an error
 * naming the file": every block read has the requested local type. */
#define _GNU_SOURCE
#include <mpi.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "checkpoint.h"
#include "fuzz.h"
#include "mpi_coll.h"
#include "train.h"
#include "train_impl.h"

#define MAXP 16

static int fd = -1;
static char path[64];
static pt_module *model;
static pt_train_opts opts;
static const char *names[MAXP];
static pt_type types[MAXP];
static pt_layout layouts[MAXP];
static int nparams;
static pt_mesh mesh;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  pt_mpi_init();
  fd = memfd_create("fuzz.ckpt", 0);
  if (fd < 0)
    PT_FUZZ_FAIL("memfd_create failed");
  snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
  pt_diag *d = pt_diag_create(NULL);
  size_t n;
  char *text = pt_fuzz_read_source("tests/fuzz/tiny_mlp.pir", &n);
  model = pt_parse(text, n, "tiny_mlp.pir", d);
  free(text);
  pt_func *f = model ? pt_module_find_func(model, "loss") : NULL;
  if (!f)
    PT_FUZZ_FAIL("cannot read tests/fuzz/tiny_mlp.pir");
  pt_diag_destroy(d);
  mesh.naxes = 1;
  mesh.names[0] = "batch";
  mesh.sizes[0] = 1;
  for (int i = 0; i < f->nargs && nparams < MAXP; i++) {
    const pt_value *a = f->args[i];
    if (a->role != PT_ROLE_PARAM)
      continue;
    names[nparams] = a->name;
    types[nparams] = a->type;
    pt_layout l = {0};
    l.rank = a->type.rank;
    if (a->type.rank == 2) { /* split along the mesh's only axis */
      l.axes[0][0] = 0;
      l.naxes[0] = 1;
    }
    layouts[nparams++] = l;
  }
  opts.loss = f;
  opts.opt.kind = PT_OPTIM_SGD;
  pt_fuzz_cap_allocations();
  return 0;
}

static void fill(const uint8_t *data, size_t size) {
  if (ftruncate(fd, 0) != 0 || pwrite(fd, data, size, 0) != (ssize_t)size)
    PT_FUZZ_FAIL("cannot fill the in-memory file");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fill(data, size);
  pt_diag *d = pt_diag_create(NULL);
  int nmeta = 0;
  char **meta = NULL;
  bool ok = pt_ckpt_meta(MPI_COMM_WORLD, path, &nmeta, &meta, d) == PT_OK;
  if (ok) {
    uint64_t step = 0;
    ok = pt_train_ckpt_meta_ok(&opts, path, pt_ckpt_meta_find(nmeta, meta, "partita.func"),
                               pt_ckpt_meta_find(nmeta, meta, "partita.optimizer"),
                               pt_ckpt_meta_find(nmeta, meta, "partita.step"), &step, d);
    pt_ckpt_meta_free(nmeta, meta);
  }
  pt_fuzz_check_diag(d, ok, path, true);
  pt_diag_clear(d);

  int nnames = 0;
  char **found = NULL;
  ok = pt_ckpt_names(MPI_COMM_WORLD, path, &nnames, &found, d) == PT_OK;
  pt_fuzz_check_diag(d, ok, path, true);
  pt_ckpt_names_free(nnames, found);
  pt_diag_clear(d);

  pt_tensor *blocks[MAXP];
  ok =
      pt_ckpt_read(MPI_COMM_WORLD, path, nparams, names, types, layouts, &mesh, blocks, d) == PT_OK;
  pt_fuzz_check_diag(d, ok, path, true);
  for (int i = 0; i < nparams; i++) {
    if (ok && (!blocks[i] || !pt_type_equal(&blocks[i]->type, &types[i])))
      PT_FUZZ_FAIL("the block of '%s' read has the wrong type", names[i]);
    if (!ok && blocks[i])
      PT_FUZZ_FAIL("a failed read left the block of '%s'", names[i]);
    pt_tensor_destroy(blocks[i]);
  }
  pt_diag_destroy(d);
  return 0;
}
