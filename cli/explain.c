/* `partita explain FILE --tactics T.yaml VALUE`: why VALUE is sharded as it
 * is. Along each mesh axis it follows the value's origin back, op by op,
 * to the tactic that seeded the layout, and for a 1-D or 2-D value draws
 * which devices hold which block. */
#include <fnmatch.h>
#include <getopt.h>
#include <string.h>

#include "shard_rules.h"
#include "sharded.h"

static int run(int argc, char **argv);

const pt_command pt_cmd_explain = {
    "explain", run, "say why a value is sharded as it is, and draw its layout",
    "Usage: partita explain FILE --tactics T.yaml VALUE [--func NAME]\n"
    "                       [--optimizer sgd|momentum|adam]\n\n"
    "Applies the tactic script as `partita partition` does, then explains the\n"
    "sharding of VALUE (an argument or value name, with or without '%'; an\n"
    "unnamed value by its printed number, like %12). For each mesh axis it\n"
    "prints the chain of ops through which propagation carried the layout to\n"
    "VALUE, one line per step, ending at the tactic that seeded it (with its\n"
    "line in the script), or says that no tactic reached VALUE along the axis\n"
    "and what stopped propagation. For a value of rank 1 or 2 it then draws\n"
    "its blocks labelled with the devices that hold them (devices are numbered\n"
    "row-major over the mesh axes, as MPI_Cart_create numbers ranks).\n\n"
    "Options:\n"
    "  -t, --tactics FILE   the tactic script (required)\n"
    "  -f, --func NAME      the function (default: @train_step with --optimizer,\n"
    "                       else the only function, or @loss)\n"
    "      --optimizer OPT  build @train_step with sgd, momentum or adam first\n"
    "  -h, --help           show this help\n\n"
    "Exit status: 0 success, 1 bad input (program, script, unknown VALUE),\n"
    "2 bad usage.\n"};

/* ---- names ------------------------------------------------------------- */

static void unknown_value(const pt_cli_sharded *x, const char *name) {
  if (name[0] == '%')
    name++;
  const pt_func *f = x->f;
  enum { MAXS = 8 };
  const char *best[MAXS];
  int bd[MAXS], nb = 0;
  int limit = (int)strlen(name) / 3 > 2 ? (int)strlen(name) / 3 : 2;
  for (int i = 0; i < f->nargs + f->nops; i++) {
    const pt_value *v = i < f->nargs ? f->args[i] : f->ops[i - f->nargs]->result;
    const char *vn = pt_cli_vname(x, v);
    int dd = pt_edit_distance(name, vn);
    if (dd > limit && !(strlen(name) >= 2 && strstr(vn, name)))
      continue;
    if (dd > limit)
      dd = limit + 1;
    int k = nb < MAXS ? nb++ : MAXS - 1;
    if (k == MAXS - 1 && nb == MAXS && bd[k] <= dd)
      continue;
    while (k > 0 && bd[k - 1] > dd) {
      best[k] = best[k - 1];
      bd[k] = bd[k - 1];
      k--;
    }
    best[k] = vn;
    bd[k] = dd;
  }
  fprintf(stderr, "partita explain: error: @%s has no value '%%%s'", f->name, name);
  if (nb) {
    fputs("; close names:", stderr);
    for (int i = 0; i < nb; i++)
      fprintf(stderr, "%s %%%s", i ? "," : "", best[i]);
  } else {
    fprintf(stderr, "; its arguments are:");
    for (int i = 0; i < f->nargs && i < 12; i++)
      fprintf(stderr, "%s %%%s", i ? "," : "", pt_cli_vname(x, f->args[i]));
    if (f->nargs > 12)
      fputs(", ...", stderr);
  }
  fputc('\n', stderr);
}

/* ---- origins ----------------------------------------------------------- */

typedef struct {
  const pt_cli_sharded *x;
  int axis;
  int *depth; /* per value id: steps to a seed; -2 unknown, -1 being computed */
} chain;

enum { FAR = 1 << 28 };

/* The factor the layout s of the value at position `pos` of op names under
 * rule r (pos -1: the result), or -1. */
static int factor_at(const pt_shard_rule *r, int pos, pt_axis_state s) {
  if (s.kind != PT_SH_SHARDED || s.dim < 0)
    return -1;
  return pos < 0 ? r->result[s.dim] : pt_rule_operand_factor(r, pos, s.dim);
}

static bool is_reduce(const pt_shard_rule *r, int f, pt_shkind partial) {
  if (f < 0)
    return false;
  return partial == PT_SH_PARTIAL_SUM ? r->kind[f] == PT_FACTOR_REDUCE_SUM
                                      : r->kind[f] == PT_FACTOR_REDUCE_MAX;
}

/* Whether the value at position q voted, at op, for the layout v has at
 * position p: both name the same factor (a partial result names the op's
 * reduction factor). */
static bool agrees(const pt_shard_rule *r, int p, pt_axis_state vs, int q, pt_axis_state ws) {
  int fv = factor_at(r, p, vs), fw = factor_at(r, q, ws);
  if (fv >= 0 && fw >= 0)
    return fv == fw;
  if (p < 0 && (vs.kind == PT_SH_PARTIAL_SUM || vs.kind == PT_SH_PARTIAL_MAX))
    return is_reduce(r, fw, (pt_shkind)vs.kind);
  if (q < 0 && (ws.kind == PT_SH_PARTIAL_SUM || ws.kind == PT_SH_PARTIAL_MAX))
    return is_reduce(r, fv, (pt_shkind)ws.kind);
  return false;
}

/* v's position at op: -1 for the result, else its first operand index. */
static int position(const pt_op *op, const pt_value *v) {
  if (op->result == v)
    return -1;
  for (int i = 0; i < op->noperands; i++)
    if (op->operands[i] == v)
      return i;
  return -2;
}

static int depth_of(chain *c, const pt_value *v);

/* The value around v's `via` op that carried the layout to v, choosing the
 * one closest to a seed; NULL if none is found. */
static const pt_value *voter(chain *c, const pt_value *v) {
  pt_axis_state vs = pt_sharding_axis(v, c->axis);
  const pt_op *op = vs.via;
  if (!op)
    return NULL;
  pt_shard_rule r;
  pt_shard_rule_of(op, &r);
  int p = position(op, v);
  if (p < -1)
    return NULL;
  const pt_value *best = NULL, *fallback = NULL;
  int bestd = FAR + 1;
  for (int q = -1; q < op->noperands; q++) {
    const pt_value *w = q < 0 ? op->result : op->operands[q];
    if (w == v)
      continue;
    pt_axis_state ws = pt_sharding_axis(w, c->axis);
    if (ws.kind == PT_SH_UNKNOWN || ws.kind == PT_SH_REPLICATED || !agrees(&r, p, vs, q, ws))
      continue;
    if (ws.via == op) { /* decided by the same op at the same time */
      fallback = fallback ? fallback : w;
      continue;
    }
    int d = depth_of(c, w);
    if (d < bestd) {
      bestd = d;
      best = w;
    }
  }
  return best ? best : fallback;
}

static int depth_of(chain *c, const pt_value *v) {
  int *slot = &c->depth[v->id];
  if (*slot == -1)
    return FAR; /* a cycle: not a way back to a seed */
  if (*slot >= 0)
    return *slot;
  pt_axis_state s = pt_sharding_axis(v, c->axis);
  if (!s.via) {
    *slot = 0;
    return 0;
  }
  *slot = -1;
  const pt_value *w = voter(c, v);
  int d = w && w != v ? depth_of(c, w) : FAR;
  *slot = d >= FAR ? FAR : d + 1;
  return *slot;
}

static const char *state_text(const pt_value *v, int axis, char *buf, size_t cap) {
  pt_axis_state s = pt_sharding_axis(v, axis);
  switch ((pt_shkind)s.kind) {
  case PT_SH_SHARDED:
    snprintf(buf, cap, "dim %d", s.dim);
    break;
  case PT_SH_PARTIAL_SUM:
    snprintf(buf, cap, "partial sum");
    break;
  case PT_SH_PARTIAL_MAX:
    snprintf(buf, cap, "partial max");
    break;
  case PT_SH_REPLICATED:
    snprintf(buf, cap, "replicated");
    break;
  case PT_SH_UNKNOWN:
    snprintf(buf, cap, "unknown");
    break;
  }
  return buf;
}

static void print_op(const pt_cli_sharded *x, const pt_op *op) {
  printf("%s", pt_op_name(op->code));
  for (int i = 0; i < op->noperands; i++)
    printf("%s%%%s", i ? ", " : " ", pt_cli_vname(x, op->operands[i]));
}

/* " (file:line:col)", with " (inlined at file:line:col)" for each call an
 * inlined op came through. */
static void print_loc(pt_loc l) {
  char buf[1024];
  if (l.file && l.line <= 0 && !l.via)
    printf(" (%s)", l.file);
  else if (l.file)
    printf(" (%s)", pt_loc_str(l, buf, sizeof buf));
}

/* The script entry that seeded v along tactic t's axis, or NULL. */
static const pt_tactic_entry *seed_entry(const pt_tactic *t, const pt_value *v, pt_axis_state s) {
  bool rep = s.kind == PT_SH_REPLICATED;
  const pt_tactic_entry *es = rep ? t->replicate : t->shard;
  int n = rep ? t->nreplicate : t->nshard;
  for (int i = 0; i < n; i++)
    if (v->name && fnmatch(es[i].glob, v->name, 0) == 0 && (rep || es[i].dim == s.dim))
      return &es[i];
  return NULL;
}

static void explain_root(const pt_cli_sharded *x, const pt_value *v, int axis) {
  pt_axis_state s = pt_sharding_axis(v, axis);
  const char *an = x->m->mesh.names[axis];
  const char *vn = pt_cli_vname(x, v);
  if (s.tactic >= 0 && s.tactic < x->s->ntactics) {
    const pt_tactic *t = &x->s->tactics[s.tactic];
    const pt_tactic_entry *e = seed_entry(t, v, s);
    if (s.kind == PT_SH_SHARDED)
      printf("  %%%s seeded on dim %d by tactic '%s'", vn, s.dim, t->name);
    else
      printf("  %%%s made replicated along '%s' by tactic '%s'", vn, an, t->name);
    print_loc(e ? e->loc : t->loc);
    if (e && strcmp(e->glob, vn) != 0)
      printf(" [glob '%s']", e->glob);
    putchar('\n');
    return;
  }
  if (pt_cli_in_text(x, v, axis)) {
    printf("  %%%s: written so in the program", vn);
    print_loc(v->loc);
    putchar('\n');
    return;
  }
  printf("  no tactic decided %%%s along '%s': it became replicated when the schedule ended\n", vn,
         an);
  /* what it touches along the axis, and the conflicts that stopped things */
  const pt_func *f = x->f;
  char sb[32];
  if (v->def) {
    printf("  it is ");
    print_op(x, v->def);
    print_loc(v->def->loc);
    printf(", whose operands are");
    for (int i = 0; i < v->def->noperands; i++)
      printf("%s %%%s %s", i ? "," : "", pt_cli_vname(x, v->def->operands[i]),
             state_text(v->def->operands[i], axis, sb, sizeof sb));
    printf(" along '%s'\n", an);
    printf("  (replicated values and partial results do not carry a layout through an op)\n");
  }
  for (int i = 0; i < x->rep.nconflicts; i++) {
    const pt_conflict *c = &x->rep.conflicts[i];
    if (c->axis != axis)
      continue;
    bool touches = c->op->result == v;
    for (int k = 0; k < c->op->noperands; k++)
      touches |= c->op->operands[k] == v;
    if (!touches)
      continue;
    printf("  conflict at %%%s = ", c->op->result ? pt_cli_vname(x, c->op->result) : "?");
    print_op(x, c->op);
    print_loc(c->op->loc);
    printf(": %s\n", c->why);
  }
  (void)f;
}

static void explain_axis(const pt_cli_sharded *x, const pt_value *v, int axis, int *depth) {
  const pt_mesh *m = &x->m->mesh;
  pt_axis_state s = pt_sharding_axis(v, axis);
  char sb[32];
  printf("along '%s' (%lld devices): ", m->names[axis], (long long)m->sizes[axis]);
  switch ((pt_shkind)s.kind) {
  case PT_SH_SHARDED:
    printf("sharded on dimension %d", s.dim);
    break;
  case PT_SH_PARTIAL_SUM:
    printf("a partial sum (each device holds a term)");
    break;
  case PT_SH_PARTIAL_MAX:
    printf("a partial max (each device holds a candidate)");
    break;
  case PT_SH_REPLICATED:
    printf("replicated");
    break;
  case PT_SH_UNKNOWN:
    printf("undecided");
    break;
  }
  if (s.tactic >= 0 && s.tactic < x->s->ntactics)
    printf(", by tactic '%s'", x->s->tactics[s.tactic].name);
  printf("\n");
  for (int i = 0; i < x->f->nvalues; i++)
    depth[i] = -2;
  chain c = {x, axis, depth};
  const pt_value *cur = v;
  for (int steps = 0; steps <= x->f->nvalues; steps++) {
    pt_axis_state cs = pt_sharding_axis(cur, axis);
    if (!cs.via) {
      explain_root(x, cur, axis);
      return;
    }
    const pt_op *op = cs.via;
    const char *cn = pt_cli_vname(x, cur);
    if (op->result == cur) {
      printf("  %%%s ← ", cn);
    } else {
      printf("  %%%s ← used by %%%s = ", cn, pt_cli_vname(x, op->result));
    }
    print_op(x, op);
    print_loc(op->loc);
    printf(" [%s]\n", state_text(cur, axis, sb, sizeof sb));
    depth_of(&c, cur);
    const pt_value *w = voter(&c, cur);
    if (!w) {
      printf("  (no neighbour of this op explains it)\n");
      return;
    }
    cur = w;
  }
  printf("  (the chain does not end)\n");
}

/* ---- the picture ------------------------------------------------------- */

/* Appends device d to a list like "0-3,6" (runs compressed). */
static void list_devices(const int64_t *devs, int n, char *buf, size_t cap) {
  size_t k = 0;
  buf[0] = 0;
  for (int i = 0; i < n && k < cap;) {
    int j = i;
    while (j + 1 < n && devs[j + 1] == devs[j] + 1)
      j++;
    if (j - i >= 2)
      k += (size_t)snprintf(buf + k, cap - k, "%s%lld-%lld", i ? "," : "", (long long)devs[i],
                            (long long)devs[j]);
    else
      for (int t = i; t <= j && k < cap; t++)
        k += (size_t)snprintf(buf + k, cap - k, "%s%lld", t ? "," : "", (long long)devs[t]);
    i = j + 1;
  }
}

static void rule(int ncols, int w, const char *l, const char *mid, const char *r) {
  fputs(l, stdout);
  for (int c = 0; c < ncols; c++) {
    for (int i = 0; i < w; i++)
      fputs("─", stdout);
    fputs(c + 1 < ncols ? mid : r, stdout);
  }
  putchar('\n');
}

static void centred(const char *s, int w) {
  int n = (int)strlen(s), left = (w - n) / 2;
  printf("%*s%s%*s", left, "", s, w - n - left, "");
}

static void draw(const pt_cli_sharded *x, const pt_value *v) {
  const pt_mesh *m = &x->m->mesh;
  int rank = v->type.rank;
  int64_t ndev = 1;
  for (int a = 0; a < m->naxes; a++)
    ndev *= m->sizes[a];
  /* blocks along each drawn dimension */
  int64_t nblk[2] = {1, 1};
  const pt_sharding *sh = v->sharding;
  for (int d = 0; d < rank; d++)
    for (int k = 0; sh && k < sh->norder[d]; k++)
      nblk[d] *= m->sizes[sh->order[d][k]];
  int64_t nr = rank == 2 ? nblk[0] : 1, nc = rank == 2 ? nblk[1] : nblk[0];
  printf("\nlayout of %%%s over %lld devices (numbered row-major over", pt_cli_vname(x, v),
         (long long)ndev);
  for (int a = 0; a < m->naxes; a++)
    printf("%s%s", a ? " × " : " ", m->names[a]);
  printf(")");
  if (rank == 2)
    printf("; rows: dimension 0, columns: dimension 1");
  printf(":\n");
  if (nr * nc > 64 || ndev > 4096) {
    printf("  (%lld blocks: too many to draw)\n", (long long)(nr * nc));
    return;
  }
  int64_t *devs = pt_calloc((size_t)ndev, sizeof *devs);
  char(*label)[256] = pt_calloc((size_t)(nr * nc), sizeof *label);
  char(*range)[96] = pt_calloc((size_t)(nr * nc), sizeof *range);
  int w = 0;
  for (int64_t r = 0; r < nr; r++)
    for (int64_t c = 0; c < nc; c++) {
      int n = 0;
      for (int64_t dev = 0; dev < ndev; dev++) {
        int64_t coord[PT_MAX_AXES], rest = dev;
        for (int a = m->naxes - 1; a >= 0; a--) {
          coord[a] = rest % m->sizes[a];
          rest /= m->sizes[a];
        }
        int64_t idx[2] = {0, 0};
        for (int d = 0; d < rank; d++)
          for (int k = 0; sh && k < sh->norder[d]; k++)
            idx[d] = idx[d] * m->sizes[sh->order[d][k]] + coord[sh->order[d][k]];
        int64_t br = rank == 2 ? idx[0] : 0, bc = rank == 2 ? idx[1] : idx[0];
        if (br == r && bc == c)
          devs[n++] = dev;
      }
      char list[240];
      list_devices(devs, n, list, sizeof list);
      snprintf(label[r * nc + c], 256, "dev %s", list);
      int64_t l0 = pt_sharding_local_dim(v, 0);
      if (rank == 2) {
        int64_t l1 = pt_sharding_local_dim(v, 1);
        snprintf(range[r * nc + c], 96, "[%lld:%lld, %lld:%lld]", (long long)(r * l0),
                 (long long)((r + 1) * l0), (long long)(c * l1), (long long)((c + 1) * l1));
      } else {
        snprintf(range[r * nc + c], 96, "[%lld:%lld]", (long long)(c * l0),
                 (long long)((c + 1) * l0));
      }
      int lw = (int)strlen(label[r * nc + c]), rw = (int)strlen(range[r * nc + c]);
      w = lw > w ? lw : w;
      w = rw > w ? rw : w;
    }
  w += 2;
  for (int64_t r = 0; r < nr; r++) {
    if (r == 0)
      rule((int)nc, w, "┌", "┬", "┐");
    else
      rule((int)nc, w, "├", "┼", "┤");
    for (int line = 0; line < 2; line++) {
      fputs("│", stdout);
      for (int64_t c = 0; c < nc; c++) {
        centred(line == 0 ? label[r * nc + c] : range[r * nc + c], w);
        fputs("│", stdout);
      }
      putchar('\n');
    }
  }
  rule((int)nc, w, "└", "┴", "┘");
  for (int a = 0; a < m->naxes; a++) {
    pt_axis_state s = pt_sharding_axis(v, a);
    if (s.kind == PT_SH_PARTIAL_SUM || s.kind == PT_SH_PARTIAL_MAX)
      printf("partial %s over '%s': each block is the %s of what the %lld devices along '%s' "
             "hold\n",
             s.kind == PT_SH_PARTIAL_SUM ? "sum" : "max", m->names[a],
             s.kind == PT_SH_PARTIAL_SUM ? "sum" : "max", (long long)m->sizes[a], m->names[a]);
    else if (s.kind == PT_SH_REPLICATED && m->sizes[a] > 1)
      printf("replicated along '%s': devices that differ only along '%s' hold the same block\n",
             m->names[a], m->names[a]);
    else if (s.kind == PT_SH_UNKNOWN)
      printf("undecided along '%s' (drawn as replicated)\n", m->names[a]);
  }
  pt_free(devs);
  pt_free(label);
  pt_free(range);
}

static int run(int argc, char **argv) {
  if (pt_cli_wants_help(&pt_cmd_explain, argc, argv))
    return PT_EXIT_OK;
  static const struct option opts[] = {{"tactics", required_argument, 0, 't'},
                                       {"func", required_argument, 0, 'f'},
                                       {"optimizer", required_argument, 0, PT_CLI_OPT_OPTIMIZER},
                                       {0, 0, 0, 0}};
  pt_cli_shard_args a = {0};
  int c;
  opterr = 0;
  optind = 1;
  while ((c = getopt_long(argc, argv, "t:f:", opts, NULL)) != -1) {
    if (pt_cli_shard_take(&a, c, optarg))
      continue;
    switch (c) {
    default:
      return pt_cli_bad_option(&pt_cmd_explain, argc, argv);
    }
  }
  if (optind >= argc)
    return pt_cli_usage(&pt_cmd_explain, "no input file");
  if (argc - optind < 2)
    return pt_cli_usage(&pt_cmd_explain, "which value? give FILE and VALUE");
  if (argc - optind > 2)
    return pt_cli_usage(&pt_cmd_explain, "explain takes FILE and one VALUE, got %d arguments",
                        argc - optind);
  if (!a.tactics)
    return pt_cli_usage(&pt_cmd_explain, "--tactics is required (a tactic script, "
                                         "docs/tactics.md)");
  a.file = argv[optind];
  const char *vname = argv[optind + 1];

  pt_cli_sharded x;
  int status = pt_cli_shard(&pt_cmd_explain, &a, &x);
  if (status != PT_EXIT_OK) {
    pt_cli_sharded_free(&x);
    return status;
  }
  status = PT_EXIT_INPUT;
  pt_value *v = pt_cli_find_value(&x, vname);
  if (!v) {
    unknown_value(&x, vname);
    pt_cli_sharded_free(&x);
    return status;
  }
  char tb[PT_TYPE_STRLEN], sb[512], lb[PT_TYPE_STRLEN], bb[32];
  pt_type lt = pt_sharding_local_type(v);
  printf("%%%s: %s %s in @%s", pt_cli_vname(&x, v), pt_type_str(&v->type, tb, sizeof tb),
         pt_sharding_str(v, sb, sizeof sb), x.f->name);
  if (v->def) {
    printf(", defined by ");
    print_op(&x, v->def);
    print_loc(v->def->loc);
  } else {
    printf(", %s argument", pt_role_name(v->role));
    print_loc(v->loc);
  }
  printf("\nper device: %s (%s)\n", pt_type_str(&lt, lb, sizeof lb),
         pt_cli_bytes(pt_type_bytes(&lt), bb, sizeof bb));
  int *depth = pt_calloc((size_t)x.f->nvalues + 1, sizeof *depth);
  for (int axis = 0; axis < x.m->mesh.naxes; axis++) {
    putchar('\n');
    explain_axis(&x, v, axis, depth);
  }
  pt_free(depth);
  if (v->type.rank == 1 || v->type.rank == 2)
    draw(&x, v);
  status = PT_EXIT_OK;
  pt_cli_sharded_free(&x);
  return status;
}
