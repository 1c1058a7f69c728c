/* Versions of the libraries partita is built on, for `partita --version`. */
#include <cblas.h>
#include <jansson.h>
#include <llvm-c/Core.h>
#include <mpi.h>
#include <stdio.h>
#include <yaml.h>

#include "deps.h"

void pt_print_versions(FILE *out) {
  unsigned maj = 0, min = 0, patch = 0;
  LLVMGetVersion(&maj, &min, &patch);
  char mpi[MPI_MAX_LIBRARY_VERSION_STRING] = "";
  int len = 0;
  MPI_Get_library_version(mpi, &len);
  for (int i = 0; i < len; i++)
    if (mpi[i] == '\n' || mpi[i] == ',') {
      mpi[i] = 0;
      break;
    }
  fprintf(out, "  LLVM      %u.%u.%u\n", maj, min, patch);
  fprintf(out, "  MPI       %s\n", mpi);
  fprintf(out, "  OpenBLAS  %s\n", openblas_get_config());
  fprintf(out, "  libyaml   %s\n", yaml_get_version_string());
  fprintf(out, "  jansson   %s\n", jansson_version_str());
}
