/* Reading whole text files, with unreadable files reported as diagnostics;
 * the CPU's model name. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ir.h"

char *pt_read_file(const char *path, size_t *len, pt_diag *d) {
  FILE *fp = fopen(path, "rb");
  if (!fp) {
    pt_diag_error(d, (pt_loc){path, 0, 0}, "cannot open: %s", strerror(errno));
    return NULL;
  }
  char *buf = NULL;
  size_t n = 0, cap = 0;
  for (;;) {
    /* one spare byte past the data, so the text can be NUL-terminated */
    PT_GROW(buf, cap, n + 65536);
    size_t k = fread(buf + n, 1, cap - n - 1, fp);
    n += k;
    if (k == 0)
      break;
  }
  bool err = ferror(fp);
  int e = errno;
  fclose(fp);
  if (err) {
    pt_diag_error(d, (pt_loc){path, 0, 0}, "cannot read: %s", strerror(e));
    pt_free(buf);
    return NULL;
  }
  buf[n] = 0;
  *len = n;
  return buf;
}

void pt_cpu_model(char *buf, size_t cap) {
  snprintf(buf, cap, "unknown");
  FILE *f = fopen("/proc/cpuinfo", "r");
  if (!f)
    return;
  char line[512];
  while (fgets(line, sizeof line, f)) {
    const char *c = strchr(line, ':');
    if (strncmp(line, "model name", 10) != 0 || !c)
      continue;
    for (c++; *c == ' ' || *c == '\t'; c++)
      ;
    snprintf(buf, cap, "%s", c);
    buf[strcspn(buf, "\n")] = 0;
    break;
  }
  fclose(f);
}

bool pt_write_file_atomic(const char *path, const char *text, pt_diag *d) {
  size_t len = strlen(path) + 32;
  char *tmp = pt_malloc(len);
  snprintf(tmp, len, "%s.tmp.%ld", path, (long)getpid());
  FILE *f = fopen(tmp, "wb");
  int err = errno;
  bool ok = f && fputs(text, f) >= 0;
  ok = f && fflush(f) == 0 && fsync(fileno(f)) == 0 && ok;
  if (f && !ok)
    err = errno;
  if (f && fclose(f) != 0 && ok) {
    ok = false;
    err = errno;
  }
  if (ok && rename(tmp, path) != 0) {
    ok = false;
    err = errno;
  }
  if (!ok) {
    pt_diag_error(d, (pt_loc){path, 0, 0}, "cannot write: %s", strerror(err));
    unlink(tmp);
  }
  pt_free(tmp);
  return ok;
}
