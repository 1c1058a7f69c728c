/* Diagnostics: located messages, collected and printed with the source line
 * and a caret under the column. */
#include "diag.h"

#include <stdlib.h>
#include <string.h>

#include "mem.h"

typedef struct {
  pt_severity sev;
  pt_loc loc;
  char *file; /* owned copy of loc.file */
  char *text;
  char *line; /* "file:line:col: error: text" */
} message;

typedef struct {
  char *file;
  char *text;
  size_t len;
} source;

struct pt_diag {
  FILE *echo;
  message *msgs;
  size_t nmsgs, capmsgs;
  source *srcs;
  size_t nsrcs, capsrcs;
  int errors;
};

pt_diag *pt_diag_create(FILE *echo) {
  pt_diag *d = pt_calloc(1, sizeof *d);
  d->echo = echo;
  return d;
}

void pt_diag_clear(pt_diag *d) {
  for (size_t i = 0; i < d->nmsgs; i++) {
    pt_free(d->msgs[i].file);
    pt_free(d->msgs[i].text);
    pt_free(d->msgs[i].line);
  }
  d->nmsgs = 0;
  d->errors = 0;
}

void pt_diag_destroy(pt_diag *d) {
  if (!d)
    return;
  pt_diag_clear(d);
  pt_free(d->msgs);
  for (size_t i = 0; i < d->nsrcs; i++) {
    pt_free(d->srcs[i].file);
    pt_free(d->srcs[i].text);
  }
  pt_free(d->srcs);
  pt_free(d);
}

void pt_diag_add_source(pt_diag *d, const char *file, const char *text, size_t len) {
  PT_GROW(d->srcs, d->capsrcs, d->nsrcs + 1);
  source *s = &d->srcs[d->nsrcs++];
  s->file = pt_strdup(file);
  s->text = pt_strndup(text, len);
  s->len = len;
}

static const source *find_source(const pt_diag *d, const char *file) {
  if (!file)
    return NULL;
  for (size_t i = d->nsrcs; i-- > 0;)
    if (strcmp(d->srcs[i].file, file) == 0)
      return &d->srcs[i];
  return NULL;
}

static const char *sev_name(pt_severity s) {
  switch (s) {
  case PT_SEV_ERROR:
    return "error";
  case PT_SEV_WARNING:
    return "warning";
  case PT_SEV_NOTE:
    return "note";
  }
  return "error";
}

static char *vformat(const char *fmt, va_list ap) {
  va_list ap2;
  va_copy(ap2, ap);
  int n = vsnprintf(NULL, 0, fmt, ap2);
  va_end(ap2);
  char *s = pt_malloc((size_t)(n < 0 ? 0 : n) + 1);
  vsnprintf(s, (size_t)(n < 0 ? 0 : n) + 1, fmt, ap);
  return s;
}

static void print_one(const pt_diag *d, const message *m, FILE *out) {
  fprintf(out, "%s\n", m->line);
  const source *s = m->loc.line > 0 ? find_source(d, m->file) : NULL;
  if (!s)
    return;
  /* find the line */
  const char *p = s->text, *end = s->text + s->len;
  for (int l = 1; l < m->loc.line && p < end; l++) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    if (!nl) {
      p = end;
      break;
    }
    p = nl + 1;
  }
  if (p >= end && m->loc.line > 1)
    return;
  const char *e = memchr(p, '\n', (size_t)(end - p));
  if (!e)
    e = end;
  int len = (int)(e - p);
  fprintf(out, "  %.*s\n  ", len, p);
  for (int i = 1; i < m->loc.col && i <= len; i++)
    fputc(p[i - 1] == '\t' ? '\t' : ' ', out);
  fputs("^\n", out);
}

void pt_diag_vreport(pt_diag *d, pt_severity sev, pt_loc loc, const char *fmt, va_list ap) {
  PT_GROW(d->msgs, d->capmsgs, d->nmsgs + 1);
  message *m = &d->msgs[d->nmsgs++];
  m->sev = sev;
  m->loc = loc;
  m->file = loc.file ? pt_strdup(loc.file) : NULL;
  m->loc.file = m->file;
  m->text = vformat(fmt, ap);
  char head[1024];
  if (m->file && loc.line > 0)
    snprintf(head, sizeof head, "%s:%d:%d: ", m->file, loc.line, loc.col);
  else if (m->file)
    snprintf(head, sizeof head, "%s: ", m->file);
  else
    head[0] = 0;
  size_t n = strlen(head) + strlen(m->text) + 16;
  m->line = pt_malloc(n);
  snprintf(m->line, n, "%s%s: %s", head, sev_name(sev), m->text);
  m->loc.via = NULL; /* the chain lives in a module's arena: not kept */
  if (sev == PT_SEV_ERROR)
    d->errors++;
  if (d->echo)
    print_one(d, m, d->echo);
  /* code inlined from calls: say where each call is, innermost first */
  for (const pt_loc *c = loc.via; c; c = c->via)
    pt_diag_report(d, PT_SEV_NOTE, (pt_loc){c->file, c->line, c->col, NULL},
                   "inlined from this call");
}

void pt_diag_report(pt_diag *d, pt_severity sev, pt_loc loc, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  pt_diag_vreport(d, sev, loc, fmt, ap);
  va_end(ap);
}

void pt_diag_error(pt_diag *d, pt_loc loc, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  pt_diag_vreport(d, PT_SEV_ERROR, loc, fmt, ap);
  va_end(ap);
}

void pt_diag_verror(pt_diag *d, pt_loc loc, const char *fmt, va_list ap) {
  pt_diag_vreport(d, PT_SEV_ERROR, loc, fmt, ap);
}

void pt_diag_note(pt_diag *d, pt_loc loc, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  pt_diag_vreport(d, PT_SEV_NOTE, loc, fmt, ap);
  va_end(ap);
}

int pt_diag_error_count(const pt_diag *d) {
  return d->errors;
}
int pt_diag_count(const pt_diag *d) {
  return (int)d->nmsgs;
}
const char *pt_diag_message(const pt_diag *d, int i) {
  return d->msgs[i].line;
}
const char *pt_diag_text(const pt_diag *d, int i) {
  return d->msgs[i].text;
}
pt_loc pt_diag_loc(const pt_diag *d, int i) {
  return d->msgs[i].loc;
}

pt_severity pt_diag_severity(const pt_diag *d, int i) {
  return d->msgs[i].sev;
}

char *pt_loc_str(pt_loc loc, char *buf, size_t n) {
  size_t k =
      (size_t)snprintf(buf, n, "%s:%d:%d", loc.file ? loc.file : "<input>", loc.line, loc.col);
  for (const pt_loc *c = loc.via; c && k < n; c = c->via)
    k += (size_t)snprintf(buf + k, n - k, "%s%s:%d:%d%s", c == loc.via ? " (inlined at " : ", ",
                          c->file ? c->file : "<input>", c->line, c->col, c->via ? "" : ")");
  return buf;
}

void pt_diag_print(const pt_diag *d, FILE *out) {
  for (size_t i = 0; i < d->nmsgs; i++)
    print_one(d, &d->msgs[i], out);
}

_Noreturn void pt_internal_error(const char *file, int line, const char *what) {
  fprintf(stderr,
          "partita: internal error at %s:%d: %s\n"
          "This is a bug in partita, not in your input; please report it.\n",
          file, line, what);
  abort();
}

int pt_edit_distance(const char *a, const char *b) {
  size_t na = strlen(a), nb = strlen(b);
  if (na > 64 || nb > 64)
    return 99;
  int row[65];
  for (size_t j = 0; j <= nb; j++)
    row[j] = (int)j;
  for (size_t i = 1; i <= na; i++) {
    int diag = row[0];
    row[0] = (int)i;
    for (size_t j = 1; j <= nb; j++) {
      int up = row[j], best = diag + (a[i - 1] != b[j - 1]);
      if (up + 1 < best)
        best = up + 1;
      if (row[j - 1] + 1 < best)
        best = row[j - 1] + 1;
      row[j] = best;
      diag = up;
    }
  }
  return row[nb];
}
