/* Helpers shared by the subcommands: usage errors, loading modules. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

int pt_cli_usage(const pt_command *c, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "partita %s: error: ", c->name);
  vfprintf(stderr, fmt, ap);
  fprintf(stderr, "\nTry 'partita %s --help'.\n", c->name);
  va_end(ap);
  return PT_EXIT_USAGE;
}

int pt_cli_bad_option(const pt_command *c, int argc, char **argv) {
  const char *arg = optind - 1 < argc && optind > 0 ? argv[optind - 1] : "?";
  if (optopt && strchr("?", optopt) == NULL) {
    /* a short option: unknown, or missing its argument */
    if (arg[0] == '-' && arg[1] == optopt && arg[2] == 0)
      return pt_cli_usage(c, "option '-%c' needs a value", optopt);
    return pt_cli_usage(c, "unknown option '-%c'", optopt);
  }
  return pt_cli_usage(c, "unknown option or missing value: '%s'", arg);
}

bool pt_cli_wants_help(const pt_command *c, int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--") == 0)
      break;
    if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
      fputs(c->usage, stdout);
      return true;
    }
  }
  return false;
}

pt_module *pt_cli_load_raw(const char *path, pt_diag *d) {
  pt_module *m = pt_parse_file(path, d);
  if (m && pt_verify_module(m, d) != PT_OK) {
    pt_module_destroy(m);
    m = NULL;
  }
  return m;
}

pt_module *pt_cli_load(const char *path, pt_diag *d) {
  pt_module *m = pt_cli_load_raw(path, d);
  if (m && pt_pass_inline(m, NULL, d) != PT_OK) {
    pt_module_destroy(m);
    m = NULL;
  }
  return m;
}

pt_func *pt_cli_pick_func(pt_module *m, const char *name, const char *cmd) {
  if (name) {
    pt_func *f = pt_module_find_func(m, name[0] == '@' ? name + 1 : name);
    if (!f) {
      fprintf(stderr, "partita %s: error: %s has no function '@%s'; it has:", cmd, m->file,
              name[0] == '@' ? name + 1 : name);
      for (int i = 0; i < m->nfuncs; i++)
        fprintf(stderr, " @%s", m->funcs[i]->name);
      fputc('\n', stderr);
    }
    return f;
  }
  if (m->nfuncs == 1)
    return m->funcs[0];
  pt_func *f = pt_module_find_func(m, "loss");
  if (!f)
    fprintf(stderr, "partita %s: error: %s has %d functions; choose one with --func\n", cmd,
            m->file, m->nfuncs);
  return f;
}

bool pt_cli_parse_double(const char *s, double *out) {
  if (!s || !*s)
    return false;
  char *end;
  errno = 0;
  double v = strtod(s, &end);
  if (*end || errno == ERANGE || !isfinite(v))
    return false;
  *out = v;
  return true;
}

bool pt_cli_parse_u64(const char *s, uint64_t *out) {
  if (!s || !*s || *s == '-')
    return false;
  char *end;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 0);
  if (*end || errno)
    return false;
  *out = v;
  return true;
}
