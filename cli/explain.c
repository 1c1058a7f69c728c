/* `partita explain FILE --tactics T.yaml VALUE`: why VALUE is sharded as it
 * is. Along each mesh axis it follows the value's origin back, op by op,
 * to the tactic that seeded the layout, and for a 1-D or 2-D value draws
 * which devices hold which block. The chains and blocks are
 * tactics/analysis.h's; this file prints them. */
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

#define VNAME(x, v) pt_analysis_name(&(x)->an, v)

static void unknown_value(const pt_cli_sharded *x, const char *name) {
  if (name[0] == '%')
    name++;
  const pt_func *f = x->f;
  const char *best[8];
  int nb = pt_analysis_close_names(&x->an, name, best, 8);
  fprintf(stderr, "partita explain: error: @%s has no value '%%%s'", f->name, name);
  if (nb) {
    fputs("; close names:", stderr);
    for (int i = 0; i < nb; i++)
      fprintf(stderr, "%s %%%s", i ? "," : "", best[i]);
  } else {
    fprintf(stderr, "; its arguments are:");
    for (int i = 0; i < f->nargs && i < 12; i++)
      fprintf(stderr, "%s %%%s", i ? "," : "", VNAME(x, f->args[i]));
    if (f->nargs > 12)
      fputs(", ...", stderr);
  }
  fputc('\n', stderr);
}

/* ---- origins ----------------------------------------------------------- */

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
    printf("%s%%%s", i ? ", " : " ", VNAME(x, op->operands[i]));
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

static void print_root(const pt_cli_sharded *x, const pt_origin *o) {
  const pt_value *v = o->root;
  int axis = o->axis;
  pt_axis_state s = pt_sharding_axis(v, axis);
  const char *an = x->m->mesh.names[axis];
  const char *vn = VNAME(x, v);
  if (o->kind == PT_ORIGIN_TACTIC) {
    const pt_tactic *t = &x->s->tactics[o->tactic];
    const pt_tactic_entry *e = o->entry;
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
  if (o->kind == PT_ORIGIN_TEXT) {
    printf("  %%%s: written so in the program", vn);
    print_loc(v->loc);
    putchar('\n');
    return;
  }
  printf("  no tactic decided %%%s along '%s': it became replicated when the schedule ended\n", vn,
         an);
  /* what it touches along the axis, and the conflicts that stopped things */
  char sb[32];
  if (v->def) {
    printf("  it is ");
    print_op(x, v->def);
    print_loc(v->def->loc);
    printf(", whose operands are");
    for (int i = 0; i < v->def->noperands; i++)
      printf("%s %%%s %s", i ? "," : "", VNAME(x, v->def->operands[i]),
             state_text(v->def->operands[i], axis, sb, sizeof sb));
    printf(" along '%s'\n", an);
    printf("  (replicated values and partial results do not carry a layout through an op)\n");
  }
  for (int i = 0; i < o->nconflicts; i++) {
    const pt_conflict *c = o->conflicts[i];
    printf("  conflict at %%%s = ", c->op->result ? VNAME(x, c->op->result) : "?");
    print_op(x, c->op);
    print_loc(c->op->loc);
    printf(": %s\n", c->why);
  }
}

static void explain_axis(const pt_cli_sharded *x, const pt_value *v, int axis) {
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
  if (pt_analysis_tactic(&x->an, s.tactic))
    printf(", by tactic '%s'", pt_analysis_tactic(&x->an, s.tactic));
  printf("\n");
  pt_origin o;
  pt_analysis_origin(&x->an, v, axis, &o);
  pt_shift *shifts = pt_shifts_find(v->func);
  for (int i = 0; i < o.nsteps; i++) {
    const pt_value *cur = o.steps[i].value;
    const pt_op *op = o.steps[i].op;
    const char *cn = VNAME(x, cur);
    if (op->result == cur)
      printf("  %%%s ← ", cn);
    else
      printf("  %%%s ← used by %%%s = ", cn, VNAME(x, op->result));
    print_op(x, op);
    print_loc(op->loc);
    printf(" [%s]\n", state_text(cur, axis, sb, sizeof sb));
    const pt_shift *sh = &shifts[op->result->id];
    if (sh->role == PT_SHIFT_OUTER && s.kind == PT_SH_SHARDED && s.dim == sh->dim)
      printf(
          "    (a shift of %%%s by %lld along dimension %d ('%s' then '%s'): each device takes a "
          "halo of %lld from the device %s it along '%s')\n",
          VNAME(x, pt_shift_source(sh)), (long long)-sh->offset, sh->dim,
          pt_op_name(sh->pair->code), pt_op_name(op->code),
          (long long)(sh->offset < 0 ? -sh->offset : sh->offset),
          sh->offset < 0 ? "before" : "after", m->names[axis]);
    if (op->code == PT_OP_SCAN && op->result == cur && s.kind == PT_SH_SHARDED &&
        s.dim == pt_op_int(op, PT_A_DIM, 0))
      printf("    (a distributed scan along '%s': local scans, one all_gather of each device's "
             "(product of a, last state), a prefix combine, a local correction)\n",
             m->names[axis]);
  }
  pt_free(shifts);
  switch (o.kind) {
  case PT_ORIGIN_TACTIC:
  case PT_ORIGIN_TEXT:
  case PT_ORIGIN_NONE:
    print_root(x, &o);
    break;
  case PT_ORIGIN_LOST:
    printf("  (no neighbour of this op explains it)\n");
    break;
  case PT_ORIGIN_ENDLESS:
    printf("  (the chain does not end)\n");
    break;
  }
  pt_origin_free(&o);
}

/* ---- the command ------------------------------------------------------- */

static int parse(int argc, char **argv, pt_cli_shard_args *a, const char **vname) {
  static const struct option opts[] = {{"tactics", required_argument, 0, 't'},
                                       {"func", required_argument, 0, 'f'},
                                       {"optimizer", required_argument, 0, PT_CLI_OPT_OPTIMIZER},
                                       {0, 0, 0, 0}};
  int c;
  opterr = 0;
  optind = 1;
  while ((c = getopt_long(argc, argv, "t:f:", opts, NULL)) != -1) {
    if (pt_cli_shard_take(a, c, optarg))
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
  if (!a->tactics)
    return pt_cli_usage(&pt_cmd_explain, "--tactics is required (a tactic script, "
                                         "docs/tactics.md)");
  a->file = argv[optind];
  *vname = argv[optind + 1];
  return PT_EXIT_OK;
}

static int run(int argc, char **argv) {
  if (pt_cli_wants_help(&pt_cmd_explain, argc, argv))
    return PT_EXIT_OK;
  pt_cli_shard_args a = {0};
  const char *vname = NULL;
  int status = parse(argc, argv, &a, &vname);
  if (status != PT_EXIT_OK)
    return status;
  pt_cli_sharded x;
  status = pt_cli_shard(&pt_cmd_explain, &a, &x);
  if (status != PT_EXIT_OK) {
    pt_cli_sharded_free(&x);
    return status;
  }
  pt_value *v = pt_analysis_find(&x.an, vname);
  if (!v) {
    unknown_value(&x, vname);
    pt_cli_sharded_free(&x);
    return PT_EXIT_INPUT;
  }
  char tb[PT_TYPE_STRLEN], sb[512], lb[PT_TYPE_STRLEN], bb[32];
  pt_type lt = pt_sharding_local_type(v);
  printf("%%%s: %s %s in @%s", VNAME(&x, v), pt_type_str(&v->type, tb, sizeof tb),
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
  for (int axis = 0; axis < x.m->mesh.naxes; axis++) {
    putchar('\n');
    explain_axis(&x, v, axis);
  }
  if (v->type.rank == 1 || v->type.rank == 2)
    pt_cli_draw_layout(&x, v);
  pt_cli_sharded_free(&x);
  return PT_EXIT_OK;
}
