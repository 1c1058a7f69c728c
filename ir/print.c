/* The printer: writes a module in the canonical text format, exactly what
 * the parser reads back (docs/ir.md, "Grammar"). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir.h"
#include "sharding.h"
#include "strmap.h"

#define LINE_WIDTH 100

typedef struct {
  FILE *out;
  char **names; /* by value id: the printed name without '%' */
  int nnames;
} printer;

static void print_aval(FILE *out, const pt_aval *v) {
  char buf[64];
  switch (v->kind) {
  case PT_AV_INT:
    fprintf(out, "%lld", (long long)v->i);
    return;
  case PT_AV_FLOAT:
    pt_fmt_double(v->f, buf, sizeof buf);
    fputs(buf, out);
    return;
  case PT_AV_IDENT:
    fputs(v->s, out);
    return;
  case PT_AV_LIST:
    fputc('[', out);
    for (int i = 0; i < v->n; i++) {
      if (i)
        fputs(", ", out);
      print_aval(out, &v->items[i]);
    }
    fputc(']', out);
    return;
  }
}

static void print_comment(FILE *out, const char *c, const char *indent) {
  if (!c)
    return;
  while (*c) {
    const char *nl = strchr(c, '\n');
    size_t n = nl ? (size_t)(nl - c) : strlen(c);
    fprintf(out, "%s%.*s\n", indent, (int)n, c);
    c += n + (nl ? 1 : 0);
  }
}

char **pt_value_names(const pt_func *f) {
  char **names = pt_calloc((size_t)f->nvalues + 1, sizeof *names);
  pt_strmap used = {0};
  for (int i = 0; i < f->nargs + f->nops; i++) {
    const pt_op *op = i < f->nargs ? NULL : f->ops[i - f->nargs];
    for (int r = 0; r < (op ? pt_op_nresults(op) : 1); r++) {
      pt_value *v = op ? pt_op_result(op, r) : f->args[i];
      if (v && v->name)
        pt_strmap_put(&used, v->name, v);
    }
  }
  long counter = 0;
  char buf[32];
  for (int i = 0; i < f->nargs + f->nops; i++) {
    const pt_op *op = i < f->nargs ? NULL : f->ops[i - f->nargs];
    for (int r = 0; r < (op ? pt_op_nresults(op) : 1); r++) {
      pt_value *v = op ? pt_op_result(op, r) : f->args[i];
      if (!v)
        continue;
      if (v->name) {
        names[v->id] = pt_strdup(v->name);
        continue;
      }
      do
        snprintf(buf, sizeof buf, "%ld", counter++);
      while (pt_strmap_get(&used, buf, strlen(buf)));
      names[v->id] = pt_strdup(buf);
    }
  }
  pt_strmap_clear(&used);
  return names;
}

void pt_value_names_free(const pt_func *f, char **names) {
  if (!names)
    return;
  for (int i = 0; i < f->nvalues; i++)
    pt_free(names[i]);
  pt_free(names);
}

static void name_values(printer *pr, const pt_func *f) {
  pr->nnames = f->nvalues;
  pr->names = pt_value_names(f);
}

static void free_names(printer *pr) {
  for (int i = 0; i < pr->nnames; i++)
    pt_free(pr->names[i]);
  pt_free(pr->names);
  pr->names = NULL;
}

static const char *vname(const printer *pr, const pt_value *v) {
  return v && v->id < pr->nnames && pr->names[v->id] ? pr->names[v->id] : "<null>";
}

static void print_op(printer *pr, const pt_op *op) {
  FILE *out = pr->out;
  char tb[PT_TYPE_STRLEN];
  print_comment(out, op->comment, "  ");
  if (op->code == PT_OP_CALL) {
    fputs("  ", out);
    for (int i = 0; i < op->nresults; i++)
      fprintf(out, "%s%%%s", i ? ", " : "", vname(pr, op->results[i]));
    fprintf(out, " = call @%s(", op->callee);
    for (int i = 0; i < op->noperands; i++)
      fprintf(out, "%s%%%s", i ? ", " : "", vname(pr, op->operands[i]));
    fputs(") :", out);
    for (int i = 0; i < op->nresults; i++)
      fprintf(out, "%s %s", i ? "," : "", pt_type_str(&op->results[i]->type, tb, sizeof tb));
    fputc('\n', out);
    return;
  }
  fprintf(out, "  %%%s = %s", vname(pr, op->result), pt_op_name(op->code));
  for (int i = 0; i < op->noperands; i++)
    fprintf(out, "%s%%%s", i ? ", " : " ", vname(pr, op->operands[i]));
  if (op->nattrs) {
    pt_attrkey order[PT_ATTR_COUNT];
    int n = pt_op_attr_order(op->code, order);
    bool printed[PT_ATTR_COUNT] = {0};
    bool first = true;
    fputs(" {", out);
    for (int k = 0; k < n + op->nattrs; k++) {
      const pt_attr *a = k < n ? pt_op_attr(op, order[k]) : &op->attrs[k - n];
      if (!a || printed[a->key])
        continue;
      printed[a->key] = true;
      fprintf(out, "%s%s = ", first ? "" : ", ", pt_attr_name(a->key));
      print_aval(out, &a->val);
      first = false;
    }
    fputc('}', out);
  }
  const pt_type *t = op->result ? &op->result->type : NULL;
  fprintf(out, " : %s", t ? pt_type_str(t, tb, sizeof tb) : "<none>");
  if (op->result)
    pt_sharding_print(op->result, out);
  fputc('\n', out);
}

static size_t arg_text(const printer *pr, const pt_value *a, char *buf, size_t n) {
  char tb[PT_TYPE_STRLEN], sb[512] = "";
  if (a->sharding) {
    sb[0] = ' ';
    pt_sharding_str(a, sb + 1, sizeof sb - 1);
  }
  return (size_t)snprintf(buf, n, "%s %%%s: %s%s", pt_role_name(a->role), vname(pr, a),
                          pt_type_str(&a->type, tb, sizeof tb), sb);
}

static size_t res_text(const pt_result *r, char *buf, size_t n) {
  char tb[PT_TYPE_STRLEN];
  return (size_t)snprintf(buf, n, "%s: %s", r->name, pt_type_str(&r->type, tb, sizeof tb));
}

static void print_func_with(printer *pr, const pt_func *f) {
  FILE *out = pr->out;
  char buf[1024];
  print_comment(out, f->comment, "");
  /* does the whole signature fit on one line? */
  size_t width = strlen("func @") + strlen(f->name) + 1;
  for (int i = 0; i < f->nargs; i++)
    width += arg_text(pr, f->args[i], buf, sizeof buf) + 2;
  size_t rwidth = strlen(") -> (") + strlen(") {");
  for (int i = 0; i < f->nresults; i++)
    rwidth += res_text(&f->results[i], buf, sizeof buf) + 2;
  bool one_line = width + rwidth <= LINE_WIDTH;
  fprintf(out, "func @%s(", f->name);
  for (int i = 0; i < f->nargs; i++) {
    arg_text(pr, f->args[i], buf, sizeof buf);
    if (one_line)
      fprintf(out, "%s%s", i ? ", " : "", buf);
    else
      fprintf(out, "\n    %s%s", buf, i + 1 < f->nargs ? "," : "\n");
  }
  bool res_line = rwidth <= LINE_WIDTH;
  fputs(") -> (", out);
  for (int i = 0; i < f->nresults; i++) {
    res_text(&f->results[i], buf, sizeof buf);
    if (res_line)
      fprintf(out, "%s%s", i ? ", " : "", buf);
    else
      fprintf(out, "\n    %s%s", buf, i + 1 < f->nresults ? "," : "\n");
  }
  fputs(") {\n", out);
  for (int i = 0; i < f->nops; i++)
    print_op(pr, f->ops[i]);
  fputs("  return", out);
  for (int i = 0; i < f->nresults; i++)
    fprintf(out, "%s%%%s", i ? ", " : " ", vname(pr, f->results[i].value));
  fputs("\n}\n", out);
}

void pt_print_func(const pt_func *f, FILE *out) {
  printer pr = {out, NULL, 0};
  name_values(&pr, f);
  print_func_with(&pr, f);
  free_names(&pr);
}

void pt_print_module(const pt_module *m, FILE *out) {
  print_comment(out, m->comment, "");
  if (m->mesh.naxes) {
    fputs("mesh {", out);
    for (int i = 0; i < m->mesh.naxes; i++)
      fprintf(out, "%s%s = %lld", i ? ", " : "", m->mesh.names[i], (long long)m->mesh.sizes[i]);
    fputs("}\n", out);
  }
  if (m->comment || m->mesh.naxes)
    fputc('\n', out);
  for (int i = 0; i < m->nfuncs; i++) {
    if (i)
      fputc('\n', out);
    pt_print_func(m->funcs[i], out);
  }
}

char *pt_print_module_str(const pt_module *m) {
  char *buf = NULL;
  size_t n = 0;
  FILE *f = open_memstream(&buf, &n);
  PT_ASSERT(f);
  pt_print_module(m, f);
  fclose(f);
  /* hand the caller memory from our allocator */
  char *s = pt_strndup(buf, n);
  free(buf);
  return s;
}
