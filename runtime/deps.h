/* Versions of the libraries partita is built on. */
#ifndef PT_DEPS_H
#define PT_DEPS_H
#include <stdio.h>
void pt_print_versions(FILE *out);
#endif
