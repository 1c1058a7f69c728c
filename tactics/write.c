/* Writing a tactic script back as YAML (tactics.h, pt_schedule_write): what
 * `partita auto` prints, in the form docs/tactics.md describes, so that
 * pt_schedule_parse reads it back to the same schedule. */
#include <string.h>

#include "tactics.h"

typedef struct {
  char *buf;
  size_t len, cap;
} sbuf;

static void put(sbuf *b, const char *s, size_t n) {
  if (b->len + n + 1 > b->cap) {
    b->cap = (b->len + n + 1) * 2;
    b->buf = pt_realloc(b->buf, b->cap);
  }
  memcpy(b->buf + b->len, s, n);
  b->len += n;
  b->buf[b->len] = 0;
}

static void puts_(sbuf *b, const char *s) {
  put(b, s, strlen(s));
}

/* Words YAML would read as something other than a string. */
static bool yaml_special(const char *s) {
  static const char *const words[] = {"true",  "false", "yes", "no", "on", "off", "null", "~",
                                      "True",  "False", "Yes", "No", "On", "Off", "Null", "TRUE",
                                      "FALSE", "NULL",  "y",   "n",  "Y",  "N"};
  for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
    if (strcmp(s, words[i]) == 0)
      return true;
  return false;
}

/* A string as a YAML scalar: plain when it is a name (letters, digits, '_',
 * '.', '-', starting with a letter or '_'), else double-quoted. */
static void put_scalar(sbuf *b, const char *s) {
  bool plain =
      *s && (*s == '_' || (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z')) && !yaml_special(s);
  for (const char *p = s; plain && *p; p++)
    plain = *p == '_' || *p == '.' || *p == '-' || (*p >= 'a' && *p <= 'z') ||
            (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9');
  if (plain) {
    puts_(b, s);
    return;
  }
  puts_(b, "\"");
  for (const char *p = s; *p; p++) {
    char esc[8];
    if (*p == '"' || *p == '\\') {
      esc[0] = '\\', esc[1] = *p, esc[2] = 0;
      puts_(b, esc);
    } else if ((unsigned char)*p < 0x20) {
      snprintf(esc, sizeof esc, "\\x%02x", (unsigned char)*p);
      puts_(b, esc);
    } else {
      put(b, p, 1);
    }
  }
  puts_(b, "\"");
}

/* Each line of text as a comment line ("# ..."), with `indent` first. */
static void put_comment(sbuf *b, const char *text, const char *indent) {
  for (const char *p = text; *p;) {
    const char *e = strchr(p, '\n');
    size_t n = e ? (size_t)(e - p) : strlen(p);
    puts_(b, indent);
    puts_(b, n ? "# " : "#");
    put(b, p, n);
    puts_(b, "\n");
    p += n + (e != NULL);
  }
}

char *pt_schedule_write(const pt_schedule *s, const char *header, const char *const *comments) {
  sbuf b = {0};
  char num[32];
  if (header && *header)
    put_comment(&b, header, "");
  puts_(&b, "mesh: {");
  for (int i = 0; i < s->mesh.naxes; i++) {
    puts_(&b, i ? ", " : "");
    put_scalar(&b, s->mesh.names[i]);
    snprintf(num, sizeof num, ": %lld", (long long)s->mesh.sizes[i]);
    puts_(&b, num);
  }
  puts_(&b, "}\nschedule:");
  if (!s->ntactics)
    puts_(&b, " []");
  puts_(&b, "\n");
  for (int i = 0; i < s->ntactics; i++) {
    const pt_tactic *t = &s->tactics[i];
    if (comments && comments[i])
      put_comment(&b, comments[i], "  ");
    puts_(&b, "  - name: ");
    put_scalar(&b, t->name);
    puts_(&b, "\n    axis: ");
    put_scalar(&b, s->mesh.names[t->axis]);
    puts_(&b, "\n");
    if (t->automatic) {
      puts_(&b, "    auto: true\n");
      if (t->roles) {
        puts_(&b, "    args: [");
        for (int r = 0, k = 0; r < PT_ROLE_COUNT; r++)
          if (t->roles & (1u << r)) {
            puts_(&b, k++ ? ", " : "");
            puts_(&b, pt_role_name((pt_role)r));
          }
        puts_(&b, "]\n");
      }
      continue;
    }
    if (t->nshard) {
      puts_(&b, "    shard:\n");
      for (int j = 0; j < t->nshard; j++) {
        puts_(&b, "      ");
        put_scalar(&b, t->shard[j].glob);
        snprintf(num, sizeof num, ": %d\n", t->shard[j].dim);
        puts_(&b, num);
      }
    }
    if (t->nreplicate) {
      puts_(&b, "    replicate: [");
      for (int j = 0; j < t->nreplicate; j++) {
        puts_(&b, j ? ", " : "");
        put_scalar(&b, t->replicate[j].glob);
      }
      puts_(&b, "]\n");
    }
  }
  return b.buf;
}
