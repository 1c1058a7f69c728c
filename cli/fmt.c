/* `partita fmt FILE [-i] [--check]`: print in the canonical text format. */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static int run(int argc, char **argv);

const pt_command pt_cmd_fmt = {
    "fmt", run, "print IR in canonical form (or rewrite the file with -i)",
    "Usage: partita fmt [-i | --check] FILE\n\n"
    "Parses and verifies FILE and prints it in the canonical text format\n"
    "(docs/ir.md). Whole-line comments before functions and operations are\n"
    "kept; end-of-line comments are dropped.\n\n"
    "Options:\n"
    "  -i, --in-place  rewrite FILE (atomically) instead of printing\n"
    "      --check     print nothing; exit 1 if FILE is not canonical\n"
    "  -h, --help      show this help\n\n"
    "Exit status: 0 success, 1 bad input or (with --check) not canonical, 2 bad usage.\n"};

static char *read_all(const char *path, size_t *n) {
  FILE *f = fopen(path, "rb");
  if (!f)
    return NULL;
  char *buf = NULL;
  size_t cap = 0;
  *n = 0;
  for (;;) {
    PT_GROW(buf, cap, *n + 65536);
    size_t k = fread(buf + *n, 1, cap - *n, f);
    *n += k;
    if (!k)
      break;
  }
  fclose(f);
  return buf;
}

static int write_in_place(const char *path, const char *text) {
  size_t len = strlen(path) + 32;
  char *tmp = pt_malloc(len);
  snprintf(tmp, len, "%s.fmt.%ld", path, (long)getpid());
  FILE *f = fopen(tmp, "wb");
  bool ok = f && fputs(text, f) >= 0;
  ok = f && fflush(f) == 0 && fsync(fileno(f)) == 0 && ok;
  if (f && fclose(f) != 0)
    ok = false;
  if (ok && rename(tmp, path) != 0)
    ok = false;
  if (!ok) {
    fprintf(stderr, "%s: error: cannot write: %s\n", path, strerror(errno));
    unlink(tmp);
  }
  pt_free(tmp);
  return ok ? PT_EXIT_OK : PT_EXIT_INPUT;
}

static int run(int argc, char **argv) {
  if (pt_cli_wants_help(&pt_cmd_fmt, argc, argv))
    return PT_EXIT_OK;
  static const struct option opts[] = {
      {"in-place", no_argument, 0, 'i'}, {"check", no_argument, 0, 'c'}, {0, 0, 0, 0}};
  bool in_place = false, check = false;
  int c;
  opterr = 0;
  optind = 1;
  while ((c = getopt_long(argc, argv, "i", opts, NULL)) != -1) {
    if (c == 'i')
      in_place = true;
    else if (c == 'c')
      check = true;
    else
      return pt_cli_bad_option(&pt_cmd_fmt, argc, argv);
  }
  if (optind >= argc)
    return pt_cli_usage(&pt_cmd_fmt, "no input file");
  if (argc - optind > 1)
    return pt_cli_usage(&pt_cmd_fmt, "fmt takes one file, got %d", argc - optind);
  if (in_place && check)
    return pt_cli_usage(&pt_cmd_fmt, "-i and --check cannot be combined");
  const char *path = argv[optind];
  pt_diag *d = pt_diag_create(stderr);
  pt_module *m = pt_cli_load_raw(path, d);
  pt_diag_destroy(d);
  if (!m)
    return PT_EXIT_INPUT;
  char *text = pt_print_module_str(m);
  pt_module_destroy(m);
  int status = PT_EXIT_OK;
  if (in_place || check) {
    size_t n = 0;
    char *old = read_all(path, &n);
    bool same = old && n == strlen(text) && memcmp(old, text, n) == 0;
    pt_free(old);
    if (check) {
      if (!same) {
        fprintf(stderr, "%s: not in canonical form (run 'partita fmt -i %s')\n", path, path);
        status = PT_EXIT_INPUT;
      }
    } else if (!same) {
      status = write_in_place(path, text);
    }
  } else {
    fputs(text, stdout);
  }
  pt_free(text);
  return status;
}
