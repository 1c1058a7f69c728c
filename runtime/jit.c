/* LLVM-compiled loops for fusion groups (see jit.h). */
#include "jit.h"

#include "vmath.h"

#include <llvm-c/Core.h>
#include <llvm-c/Error.h>
#include <llvm-c/LLJIT.h>
#include <llvm-c/Orc.h>
#include <llvm-c/Target.h>
#include <llvm-c/TargetMachine.h>
#include <llvm-c/Transforms/PassBuilder.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* One compiled module: its code lives while a program uses a function of
 * it (a program that compiled it, or a later one that found its loops in
 * the cache below). */
typedef struct jit_module {
  LLVMOrcResourceTrackerRef rt;
  int refs;
} jit_module;

struct pt_jit_program {
  jit_module **mods; /* the modules whose functions fns[] point into */
  int nmods;
  pt_jit_fn *fns;
  int n;
  int compiled, reused; /* groups compiled; groups calling another's code */
  double seconds;
};

/* The compiled loops of the process's live programs, by their unoptimised
 * IR: a group whose loop function prints the same as one compiled before
 * (another layer's norm, the same program built again for another run) is
 * the same machine code, and calls it. The key is the printed body, so
 * everything the code depends on (shapes, strides, constants, which
 * pointer each value is read from and stored through) is in it. */
typedef struct cache_entry {
  struct cache_entry *next;
  uint64_t hash;
  char *key;
  jit_module *mod; /* NULL while its module is being compiled */
  int gi;          /* in that compilation: the group that defines it */
  pt_jit_fn fn;
} cache_entry;

#define CACHE_BUCKETS 1024

/* The process's JIT, made on first use and kept until exit. */
static struct {
  bool tried, ok;
  char err[512];
  LLVMOrcLLJITRef jit;
  LLVMTargetMachineRef tm; /* for the optimisation pipeline */
  LLVMOrcJITDylibRef jd;
  char *triple;
  unsigned long programs;
  cache_entry *cache[CACHE_BUCKETS];
} J;

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Takes the error's message into J.err (or buf) and consumes it. */
static void take_error(LLVMErrorRef e, const char *what, char *buf, size_t cap) {
  char *m = LLVMGetErrorMessage(e);
  snprintf(buf, cap, "%s: %s", what, m);
  LLVMDisposeErrorMessage(m);
}

static void cache_clear(void) {
  for (int b = 0; b < CACHE_BUCKETS; b++)
    while (J.cache[b]) {
      cache_entry *x = J.cache[b];
      J.cache[b] = x->next;
      pt_free(x->key);
      pt_free(x);
    }
}

static void jit_shutdown(void) {
  cache_clear();
  if (J.jit)
    LLVMOrcDisposeLLJIT(J.jit);
  if (J.tm)
    LLVMDisposeTargetMachine(J.tm);
  if (J.triple)
    LLVMDisposeMessage(J.triple);
  memset(&J, 0, sizeof J);
  J.tried = true; /* no second JIT after exit has begun */
}

static LLVMTargetMachineRef host_machine(LLVMTargetRef t) {
  char *cpu = LLVMGetHostCPUName(), *features = LLVMGetHostCPUFeatures();
  LLVMTargetMachineRef tm =
      LLVMCreateTargetMachine(t, J.triple, cpu, features, LLVMCodeGenLevelAggressive,
                              LLVMRelocDefault, LLVMCodeModelJITDefault);
  LLVMDisposeMessage(cpu);
  LLVMDisposeMessage(features);
  return tm;
}

static bool jit_init(void) {
  if (J.tried)
    return J.ok;
  J.tried = true;
  if (LLVMInitializeNativeTarget() || LLVMInitializeNativeAsmPrinter()) {
    snprintf(J.err, sizeof J.err, "LLVM has no code generator for this machine");
    return false;
  }
  J.triple = LLVMGetDefaultTargetTriple();
  LLVMTargetRef t;
  char *msg = NULL;
  if (LLVMGetTargetFromTriple(J.triple, &t, &msg)) {
    snprintf(J.err, sizeof J.err, "LLVM target %s: %s", J.triple, msg ? msg : "?");
    LLVMDisposeMessage(msg);
    return false;
  }
  J.tm = host_machine(t);
  LLVMOrcJITTargetMachineBuilderRef jtmb =
      LLVMOrcJITTargetMachineBuilderCreateFromTargetMachine(host_machine(t));
  LLVMOrcLLJITBuilderRef b = LLVMOrcCreateLLJITBuilder();
  LLVMOrcLLJITBuilderSetJITTargetMachineBuilder(b, jtmb);
  LLVMErrorRef e = LLVMOrcCreateLLJIT(&J.jit, b);
  if (e) {
    take_error(e, "creating the LLVM JIT", J.err, sizeof J.err);
    J.jit = NULL;
    return false;
  }
  J.jd = LLVMOrcLLJITGetMainJITDylib(J.jit);
  /* the C library's exp, log, tanh, ... resolve to this process's */
  LLVMOrcDefinitionGeneratorRef gen;
  e = LLVMOrcCreateDynamicLibrarySearchGeneratorForProcess(&gen, LLVMOrcLLJITGetGlobalPrefix(J.jit),
                                                           NULL, NULL);
  if (e) {
    take_error(e, "LLVM JIT symbol search", J.err, sizeof J.err);
    return false;
  }
  LLVMOrcJITDylibAddGenerator(J.jd, gen);
  atexit(jit_shutdown);
  J.ok = true;
  return true;
}

/* ---- code generation ---------------------------------------------------- */

/* One load, with its element strides over the loop nest. */
typedef struct {
  int ptr; /* index into the function's pointers */
  bool pred;
  int64_t st[PT_MAX_RANK];
} access;

typedef struct {
  LLVMContextRef ctx;
  LLVMModuleRef m;
  LLVMBuilderRef b;
  LLVMValueRef fn;
  LLVMTypeRef i1, i8, i64, f32, f64;
  const pt_func *g;
  const pt_fusion_plan *f;
  const pt_fusion_group *grp;
  int gi;
  /* the loop nest after merging dims */
  int rank;
  int64_t dims[PT_MAX_RANK];
  LLVMValueRef idx[PT_MAX_RANK];
  /* per member k and operand j: the access, or -1 (member value, splat) */
  int *acc_of; /* [nops * 3] */
  access *acc;
  int nacc;
  int64_t ost[PT_MAX_RANK]; /* the outputs' strides (row-major) */
  /* row reductions (fusion.h): the last level is the shape's last dim, and
   * rst[] are the reductions' strides (a row's value at offset(rst)) */
  bool rows;
  int64_t rst[PT_MAX_RANK];
  int64_t sub; /* in a row loop's eight elements, which one (emit_row) */
  /* column reductions: per member, its sums' access (strides over the
   * nest) or -1, and its double sums on the stack */
  int *col_acc;
  LLVMValueRef *col_sums;
  LLVMValueRef *params;     /* the inner function's pointers */
  LLVMValueRef *val;        /* per member: its value in this iteration */
  const pt_buffer_plan *bp; /* NULL: no output is written in place */
  int *store_to;            /* per output: the pointer it is stored through */
} cg;

static void row_major(const pt_type *t, int64_t *st) {
  int64_t s = 1;
  for (int k = t->rank - 1; k >= 0; k--) {
    st[k] = s;
    s *= t->dims[k];
  }
}

static int input_index(const pt_fusion_group *grp, const pt_value *v) {
  for (int q = 0; q < grp->ninputs; q++)
    if (grp->inputs[q] == v)
      return q;
  PT_UNREACHABLE();
}

/* The strides (in the group's shape) of reading v through `a`. */
static void access_strides(const pt_fusion_group *grp, const pt_fusion_access *a, int64_t *st) {
  const pt_type *s = &grp->shape;
  if (!a->bcast) {
    row_major(s, st);
    return;
  }
  const pt_type *x = &a->src->type;
  int64_t xs[PT_MAX_RANK], dims[PT_MAX_RANK];
  row_major(x, xs);
  int nd = pt_op_ints(a->bcast, PT_A_DIMS, dims, PT_MAX_RANK);
  for (int k = 0; k < s->rank; k++)
    st[k] = 0;
  for (int k = 0; k < nd; k++)
    if (x->dims[k] != 1)
      st[dims[k]] = xs[k];
}

static int member_pos(const cg *c, const pt_value *v) {
  if (!v->def)
    return -1;
  for (int k = 0; k < c->grp->nops; k++)
    if (c->g->ops[c->grp->ops[k]] == v->def)
      return k;
  return -1;
}

/* Collects the loads and merges the loop nest's dims. */
static void plan_loops(cg *c) {
  const pt_fusion_group *grp = c->grp;
  c->acc_of = pt_malloc((size_t)grp->nops * 3 * sizeof *c->acc_of);
  c->acc = pt_malloc((size_t)grp->nops * 4 * sizeof *c->acc);
  c->nacc = 0;
  for (int k = 0; k < grp->nops; k++) {
    const pt_op *op = c->g->ops[grp->ops[k]];
    for (int j = 0; j < 3; j++)
      c->acc_of[k * 3 + j] = -1;
    for (int j = 0; j < op->noperands; j++) {
      const pt_value *v = op->operands[j];
      if (member_pos(c, v) >= 0)
        continue;
      pt_fusion_access a = pt_fusion_read(v);
      if (a.splat)
        continue;
      access *x = &c->acc[c->nacc];
      x->ptr = input_index(grp, a.src);
      x->pred = a.src->type.dtype == PT_PRED;
      access_strides(grp, &a, x->st);
      c->acc_of[k * 3 + j] = c->nacc++;
    }
  }
  /* a column reduction's sums: one more access, at the result's strides
   * with 0 for the reduced dims (so merging keeps its order) */
  c->col_acc = pt_malloc((size_t)grp->nops * sizeof *c->col_acc);
  for (int k = 0; k < grp->nops; k++) {
    const pt_op *op = c->g->ops[grp->ops[k]];
    c->col_acc[k] = -1;
    if (!pt_fusion_col_reduce(op))
      continue;
    int64_t dims[PT_MAX_RANK], rs[PT_MAX_RANK];
    int nd = pt_op_ints(op, PT_A_DIMS, dims, PT_MAX_RANK);
    bool reduced[PT_MAX_RANK] = {false};
    for (int q = 0; q < nd; q++)
      reduced[dims[q]] = true;
    row_major(&op->result->type, rs);
    access *x = &c->acc[c->nacc];
    x->ptr = -1;
    x->pred = false;
    for (int d = 0, j = 0; d < grp->shape.rank; d++)
      x->st[d] = reduced[d] ? 0 : rs[j++];
    c->col_acc[k] = c->nacc++;
  }
  /* drop dims of size 1; merge neighbours every access walks as one (but
   * a row reduction's row stays a level of its own) */
  const pt_type *s = &grp->shape;
  int64_t ost[PT_MAX_RANK];
  row_major(s, ost);
  c->rows = false;
  for (int k = 0; k < grp->nops; k++)
    c->rows |= pt_fusion_row_reduce(c->g->ops[grp->ops[k]]);
  int r = 0;
  for (int d = 0; d < s->rank; d++) {
    bool row = c->rows && d == s->rank - 1;
    if (s->dims[d] == 1 && !row)
      continue;
    bool merge = r > 0 && !row && ost[d] * s->dims[d] == c->ost[r - 1];
    for (int a = 0; a < c->nacc && merge; a++)
      merge = c->acc[a].st[d] * s->dims[d] == c->acc[a].st[r - 1];
    if (merge) {
      c->dims[r - 1] *= s->dims[d];
      c->ost[r - 1] = ost[d];
      for (int a = 0; a < c->nacc; a++)
        c->acc[a].st[r - 1] = c->acc[a].st[d];
    } else {
      c->dims[r] = s->dims[d];
      c->ost[r] = ost[d];
      for (int a = 0; a < c->nacc; a++)
        c->acc[a].st[r] = c->acc[a].st[d];
      r++;
    }
  }
  if (r == 0) { /* one element */
    c->dims[0] = 1;
    c->ost[0] = 1;
    for (int a = 0; a < c->nacc; a++)
      c->acc[a].st[0] = 0;
    r = 1;
  }
  c->rank = r;
  for (int l = 0; l < r && c->rows; l++) /* the last level is the row: ost[r - 1] == 1 */
    c->rst[l] = l + 1 < r ? c->ost[l] / c->dims[r - 1] : 0;
}

static LLVMValueRef i64c(cg *c, int64_t v) {
  return LLVMConstInt(c->i64, (unsigned long long)v, false);
}

static LLVMValueRef offset(cg *c, const int64_t *st) {
  LLVMValueRef off = i64c(c, 0);
  for (int l = 0; l < c->rank; l++)
    if (st[l] != 0)
      off = LLVMBuildAdd(c->b, off, LLVMBuildMul(c->b, c->idx[l], i64c(c, st[l]), ""), "");
  return off;
}

/* The element at the nest's index through strides st from p: in a row
 * loop's eight, the eight's first element's address plus sub elements, a
 * form in which the SLP vectoriser sees the eight side by side. */
static LLVMValueRef element(cg *c, LLVMTypeRef t, LLVMValueRef p, const int64_t *st) {
  LLVMValueRef at = LLVMBuildGEP2(c->b, t, p, (LLVMValueRef[]){offset(c, st)}, 1, "");
  if (c->sub == 0 || st[c->rank - 1] == 0)
    return at;
  return LLVMBuildGEP2(c->b, t, at, (LLVMValueRef[]){i64c(c, c->sub * st[c->rank - 1])}, 1, "");
}

static LLVMValueRef call1(cg *c, const char *intrinsic, LLVMTypeRef t, LLVMValueRef x) {
  unsigned id = LLVMLookupIntrinsicID(intrinsic, strlen(intrinsic));
  PT_ASSERT(id != 0);
  LLVMValueRef fn = LLVMGetIntrinsicDeclaration(c->m, id, &t, 1);
  LLVMTypeRef ft = LLVMIntrinsicGetType(c->ctx, id, &t, 1);
  return LLVMBuildCall2(c->b, ft, fn, &x, 1, "");
}

static LLVMValueRef widen(cg *c, LLVMValueRef x) {
  return LLVMBuildFPExt(c->b, x, c->f64, "");
}
static LLVMValueRef narrow(cg *c, LLVMValueRef x) {
  return LLVMBuildFPTrunc(c->b, x, c->f32, "");
}

/* x != x || y != y ? NaN : x OP y ? x : y, as the kernels write max/min */
static LLVMValueRef nan_select(cg *c, LLVMRealPredicate p, LLVMValueRef x, LLVMValueRef y) {
  LLVMValueRef uno = LLVMBuildFCmp(c->b, LLVMRealUNO, x, y, "");
  LLVMValueRef pick = LLVMBuildSelect(c->b, LLVMBuildFCmp(c->b, p, x, y, ""), x, y, "");
  LLVMValueRef nan = LLVMConstReal(c->f32, __builtin_nanf(""));
  LLVMTypeRef t = LLVMTypeOf(x);
  if (LLVMGetTypeKind(t) == LLVMVectorTypeKind) { /* a splat */
    unsigned n = LLVMGetVectorSize(t);
    LLVMValueRef e[16];
    PT_ASSERT(n <= 16);
    for (unsigned k = 0; k < n; k++)
      e[k] = nan;
    nan = LLVMConstVector(e, n);
  }
  return LLVMBuildSelect(c->b, uno, nan, pick, "");
}

/* ---- runtime/vmath.h, operation for operation ---------------------------- */

static LLVMValueRef fc(cg *c, float v) {
  return LLVMConstReal(c->f32, (double)v);
}
static LLVMValueRef fsel(cg *c, LLVMRealPredicate p, LLVMValueRef x, LLVMValueRef y,
                         LLVMValueRef then, LLVMValueRef other) {
  return LLVMBuildSelect(c->b, LLVMBuildFCmp(c->b, p, x, y, ""), then, other, "");
}
static LLVMValueRef fmul(cg *c, LLVMValueRef x, LLVMValueRef y) {
  return LLVMBuildFMul(c->b, x, y, "");
}
static LLVMValueRef fadd(cg *c, LLVMValueRef x, LLVMValueRef y) {
  return LLVMBuildFAdd(c->b, x, y, "");
}

static LLVMValueRef emit_vexp(cg *c, LLVMValueRef x) {
  LLVMValueRef lo = fc(c, PT_VEXP_LO), hi = fc(c, PT_VEXP_HI);
  LLVMValueRef xc = fsel(c, LLVMRealOLT, x, lo, lo, x);
  xc = fsel(c, LLVMRealOGT, xc, hi, hi, xc);
  LLVMValueRef t = fadd(c, fmul(c, xc, fc(c, PT_VEXP_LOG2E)), fc(c, PT_VEXP_ROUND));
  LLVMValueRef n = LLVMBuildFSub(c->b, t, fc(c, PT_VEXP_ROUND), "");
  LLVMValueRef r = LLVMBuildFSub(c->b, xc, fmul(c, n, fc(c, PT_VEXP_C1)), "");
  r = LLVMBuildFSub(c->b, r, fmul(c, n, fc(c, PT_VEXP_C2)), "");
  LLVMValueRef p = fc(c, pt_vexp_poly[0]);
  for (int k = 1; k < 6; k++)
    p = fadd(c, fmul(c, p, r), fc(c, pt_vexp_poly[k]));
  p = fadd(c, fadd(c, fmul(c, fmul(c, p, r), r), r), fc(c, 1.0f));
  LLVMTypeRef i32 = LLVMInt32TypeInContext(c->ctx);
  LLVMValueRef tb = LLVMBuildBitCast(c->b, t, i32, "");
  LLVMValueRef sb =
      LLVMBuildAdd(c->b, LLVMBuildSub(c->b, tb, LLVMConstInt(i32, 0x4B400000, false), ""),
                   LLVMConstInt(i32, 126, false), "");
  sb = LLVMBuildShl(c->b, sb, LLVMConstInt(i32, 23, false), "");
  LLVMValueRef y = fmul(c, fmul(c, p, LLVMBuildBitCast(c->b, sb, c->f32, "")), fc(c, 2.0f));
  y = fsel(c, LLVMRealOGT, x, hi, fc(c, __builtin_inff()), y);
  return fsel(c, LLVMRealOLT, x, lo, fc(c, 0.0f), y);
}

static LLVMValueRef emit_vtanh(cg *c, LLVMValueRef x) {
  LLVMValueRef a = call1(c, "llvm.fabs", c->f32, x);
  LLVMValueRef z = fmul(c, x, x);
  LLVMValueRef p = fc(c, pt_vtanh_poly[0]);
  for (int k = 1; k < 5; k++)
    p = fadd(c, fmul(c, p, z), fc(c, pt_vtanh_poly[k]));
  LLVMValueRef small = fadd(c, fmul(c, fmul(c, p, z), x), x);
  LLVMValueRef e = emit_vexp(c, fadd(c, a, a));
  LLVMValueRef q = LLVMBuildFDiv(c->b, fc(c, 2.0f), fadd(c, e, fc(c, 1.0f)), "");
  LLVMValueRef big = LLVMBuildFSub(c->b, fc(c, 1.0f), q, "");
  LLVMTypeRef t = c->f32;
  unsigned id = LLVMLookupIntrinsicID("llvm.copysign", 13);
  LLVMValueRef args[2] = {fsel(c, LLVMRealOLT, a, fc(c, PT_VTANH_SMALL), small, big), x};
  return LLVMBuildCall2(c->b, LLVMIntrinsicGetType(c->ctx, id, &t, 1),
                        LLVMGetIntrinsicDeclaration(c->m, id, &t, 1), args, 2, "");
}

static LLVMValueRef emit_vlogistic(cg *c, LLVMValueRef x) {
  LLVMValueRef e = emit_vexp(c, LLVMBuildFNeg(c->b, x, ""));
  return LLVMBuildFDiv(c->b, fc(c, 1.0f), fadd(c, fc(c, 1.0f), e), "");
}

static LLVMValueRef emit_vlog(cg *c, LLVMValueRef x) {
  LLVMTypeRef i32 = LLVMInt32TypeInContext(c->ctx);
  LLVMValueRef sub = LLVMBuildFCmp(c->b, LLVMRealOLT, x, fc(c, PT_VLOG_TINY), "");
  LLVMValueRef xs = LLVMBuildSelect(c->b, sub, fmul(c, x, fc(c, PT_VLOG_SCALE)), x, "");
  LLVMValueRef b = LLVMBuildBitCast(c->b, xs, i32, "");
  LLVMValueRef e = LLVMBuildAnd(c->b, LLVMBuildAShr(c->b, b, LLVMConstInt(i32, 23, false), ""),
                                LLVMConstInt(i32, 0xff, false), "");
  e = LLVMBuildSub(c->b, e, LLVMConstInt(i32, 126, false), "");
  e = LLVMBuildSub(
      c->b, e,
      LLVMBuildSelect(c->b, sub, LLVMConstInt(i32, 23, false), LLVMConstInt(i32, 0, false), ""),
      "");
  LLVMValueRef mb =
      LLVMBuildOr(c->b, LLVMBuildAnd(c->b, b, LLVMConstInt(i32, 0x007fffff, false), ""),
                  LLVMConstInt(i32, 0x3f000000, false), "");
  LLVMValueRef m = LLVMBuildBitCast(c->b, mb, c->f32, "");
  LLVMValueRef fe = LLVMBuildSIToFP(c->b, e, c->f32, "");
  LLVMValueRef below = LLVMBuildFCmp(c->b, LLVMRealOLT, m, fc(c, PT_VLOG_SQRTHF), "");
  fe = LLVMBuildSelect(c->b, below, LLVMBuildFSub(c->b, fe, fc(c, 1.0f), ""), fe, "");
  LLVMValueRef t = LLVMBuildSelect(c->b, below, LLVMBuildFSub(c->b, fadd(c, m, m), fc(c, 1.0f), ""),
                                   LLVMBuildFSub(c->b, m, fc(c, 1.0f), ""), "");
  LLVMValueRef z = fmul(c, t, t);
  LLVMValueRef p = fc(c, pt_vlog_poly[0]);
  for (int k = 1; k < 9; k++)
    p = fadd(c, fmul(c, p, t), fc(c, pt_vlog_poly[k]));
  LLVMValueRef y = fmul(c, fmul(c, t, z), p);
  y = fadd(c, y, fmul(c, fe, fc(c, PT_VEXP_C2)));
  y = LLVMBuildFSub(c->b, y, fmul(c, fc(c, 0.5f), z), "");
  LLVMValueRef r = fadd(c, t, y);
  r = fadd(c, r, fmul(c, fe, fc(c, PT_VEXP_C1)));
  LLVMValueRef inf = fc(c, __builtin_inff());
  r = fsel(c, LLVMRealOEQ, x, inf, inf, r);
  r = fsel(c, LLVMRealOEQ, x, fc(c, 0.0f), fc(c, -__builtin_inff()), r);
  r = fsel(c, LLVMRealOLT, x, fc(c, 0.0f), fc(c, __builtin_nanf("")), r);
  return fsel(c, LLVMRealUNE, x, x, x, r);
}

static LLVMValueRef operand(cg *c, int k, int j) {
  const pt_op *op = c->g->ops[c->grp->ops[k]];
  const pt_value *v = op->operands[j];
  int pos = member_pos(c, v);
  if (pos >= 0)
    return c->val[pos];
  int a = c->acc_of[k * 3 + j];
  if (a < 0) {
    pt_fusion_access r = pt_fusion_read(v);
    PT_ASSERT(r.splat);
    return LLVMConstReal(c->f32, (double)(float)r.value);
  }
  const access *x = &c->acc[a];
  LLVMTypeRef t = x->pred ? c->i8 : c->f32;
  LLVMValueRef ptr = element(c, t, c->params[x->ptr], x->st);
  LLVMValueRef ld = LLVMBuildLoad2(c->b, t, ptr, "");
  return x->pred ? LLVMBuildICmp(c->b, LLVMIntNE, ld, LLVMConstInt(c->i8, 0, false), "") : ld;
}

static LLVMValueRef emit_op(cg *c, int k) {
  const pt_op *op = c->g->ops[c->grp->ops[k]];
  LLVMValueRef x = operand(c, k, 0), y = op->noperands > 1 ? operand(c, k, 1) : NULL;
  LLVMValueRef one = LLVMConstReal(c->f64, 1.0);
  switch (op->code) {
  case PT_OP_NEG:
    return LLVMBuildFNeg(c->b, x, "");
  case PT_OP_ABS:
    return call1(c, "llvm.fabs", c->f32, x);
  case PT_OP_STOP_GRADIENT:
    return x;
  case PT_OP_SQRT:
    return call1(c, "llvm.sqrt", c->f32, x);
  case PT_OP_RSQRT:
    return narrow(c, LLVMBuildFDiv(c->b, one, call1(c, "llvm.sqrt", c->f64, widen(c, x)), ""));
  case PT_OP_EXP:
    return emit_vexp(c, x);
  case PT_OP_LOG:
    return emit_vlog(c, x);
  case PT_OP_SIN:
    return narrow(c, call1(c, "llvm.sin", c->f64, widen(c, x)));
  case PT_OP_COS:
    return narrow(c, call1(c, "llvm.cos", c->f64, widen(c, x)));
  case PT_OP_TANH:
    return emit_vtanh(c, x);
  case PT_OP_LOGISTIC:
    return emit_vlogistic(c, x);
  case PT_OP_ADD:
    return LLVMBuildFAdd(c->b, x, y, "");
  case PT_OP_SUB:
    return LLVMBuildFSub(c->b, x, y, "");
  case PT_OP_MUL:
    return LLVMBuildFMul(c->b, x, y, "");
  case PT_OP_DIV:
    return LLVMBuildFDiv(c->b, x, y, "");
  case PT_OP_MAX:
    return nan_select(c, LLVMRealOGT, x, y);
  case PT_OP_MIN:
    return nan_select(c, LLVMRealOLT, x, y);
  case PT_OP_POW: {
    LLVMTypeRef t = c->f64;
    unsigned id = LLVMLookupIntrinsicID("llvm.pow", 8);
    LLVMValueRef fn = LLVMGetIntrinsicDeclaration(c->m, id, &t, 1);
    LLVMValueRef args[2] = {widen(c, x), widen(c, y)};
    return narrow(c,
                  LLVMBuildCall2(c->b, LLVMIntrinsicGetType(c->ctx, id, &t, 1), fn, args, 2, ""));
  }
  case PT_OP_COMPARE: {
    static const LLVMRealPredicate preds[PT_CMP_COUNT] = {
        [PT_CMP_LT] = LLVMRealOLT, [PT_CMP_LE] = LLVMRealOLE, [PT_CMP_GT] = LLVMRealOGT,
        [PT_CMP_GE] = LLVMRealOGE, [PT_CMP_EQ] = LLVMRealOEQ, [PT_CMP_NE] = LLVMRealUNE};
    return LLVMBuildFCmp(c->b, preds[pt_op_cmpdir(op)], x, y, "");
  }
  case PT_OP_SELECT:
    return LLVMBuildSelect(c->b, x, y, operand(c, k, 2), "");
  case PT_OP_CONVERT: /* pred to f32 */
    return LLVMBuildSelect(c->b, x, fc(c, 1.0f), fc(c, 0.0f), "");
  default:
    PT_UNREACHABLE();
  }
}

/* The members' values, then the outputs' stores: an output stored over an
 * input's bytes must not be seen by a member reading that input later in
 * the same iteration. */
static void emit_values(cg *c) {
  const pt_fusion_group *grp = c->grp;
  for (int k = 0; k < grp->nops; k++) /* a reduction's: emit_row, emit_stores */
    c->val[k] = pt_fusion_reduce(c->g->ops[grp->ops[k]]) ? NULL : emit_op(c, k);
}

static void emit_stores(cg *c) {
  const pt_fusion_group *grp = c->grp;
  for (int k = 0; k < grp->nops; k++) {
    if (c->col_acc[k] >= 0) { /* sum += (double)x, at the element's result */
      const pt_op *op = c->g->ops[grp->ops[k]];
      LLVMValueRef x = c->val[member_pos(c, op->operands[0])];
      LLVMValueRef at = element(c, c->f64, c->col_sums[k], c->acc[c->col_acc[k]].st);
      LLVMValueRef sum = LLVMBuildLoad2(c->b, c->f64, at, "");
      LLVMBuildStore(c->b, LLVMBuildFAdd(c->b, sum, widen(c, x), ""), at);
    }
    if (!c->val[k])
      continue;
    const pt_value *r = c->g->ops[grp->ops[k]]->result;
    for (int o = 0; o < grp->noutputs; o++)
      if (grp->outputs[o] == r) {
        bool pred = r->type.dtype == PT_PRED;
        LLVMTypeRef t = pred ? c->i8 : c->f32;
        LLVMValueRef v = pred ? LLVMBuildZExt(c->b, c->val[k], c->i8, "") : c->val[k];
        LLVMBuildStore(c->b, v, element(c, t, c->params[c->store_to[o]], c->ost));
      }
  }
}

static void emit_body(cg *c) {
  emit_values(c);
  emit_stores(c);
}

static LLVMValueRef phi(cg *c, LLVMTypeRef t) {
  return LLVMBuildPhi(c->b, t, "");
}

/* A do-while loop over i = 0 .. n - 1 (every trip count is >= 1):
 * loop_begin enters its header and makes i, the body follows, loop_end
 * closes it and continues after it; phis of the caller's own take their
 * first value from `pre` and the next from `latch`. */
typedef struct {
  LLVMBasicBlockRef pre, head, latch;
  LLVMValueRef i;
} loop;

static loop loop_begin(cg *c, const char *name) {
  loop lp = {LLVMGetInsertBlock(c->b), LLVMAppendBasicBlockInContext(c->ctx, c->fn, name), NULL,
             NULL};
  LLVMBuildBr(c->b, lp.head);
  LLVMPositionBuilderAtEnd(c->b, lp.head);
  lp.i = phi(c, c->i64);
  return lp;
}

static void loop_end(cg *c, loop *lp, int64_t n) {
  lp->latch = LLVMGetInsertBlock(c->b);
  LLVMValueRef next = LLVMBuildNUWAdd(c->b, lp->i, i64c(c, 1), "");
  LLVMValueRef more = LLVMBuildICmp(c->b, LLVMIntULT, next, i64c(c, n), "");
  LLVMBasicBlockRef exit = LLVMAppendBasicBlockInContext(c->ctx, c->fn, "done");
  LLVMBuildCondBr(c->b, more, lp->head, exit);
  LLVMValueRef in[2] = {i64c(c, 0), next};
  LLVMBasicBlockRef from[2] = {lp->pre, lp->latch};
  LLVMAddIncoming(lp->i, in, from, 2);
  LLVMPositionBuilderAtEnd(c->b, exit);
}

/* A lane of a row reduction and the next element x: s + (double)x for a
 * sum, max2(x, m) for a max (exec.c's order of operands). */
static LLVMValueRef accumulate(cg *c, LLVMValueRef lane, LLVMValueRef x) {
  LLVMTypeRef t = LLVMTypeOf(lane);
  bool vec = LLVMGetTypeKind(t) == LLVMVectorTypeKind;
  if ((vec ? LLVMGetElementType(t) : t) == c->f64)
    return LLVMBuildFAdd(c->b, lane, LLVMBuildFPExt(c->b, x, t, ""), "");
  return nan_select(c, LLVMRealOGT, x, lane);
}

/* The pointer reduction member k's result is stored through: always its
 * own output buffer (a reduction's result is never written in place). */
static LLVMValueRef reduction_out(cg *c, int k) {
  const pt_fusion_group *grp = c->grp;
  const pt_value *r = c->g->ops[grp->ops[k]]->result;
  int o = 0;
  while (grp->outputs[o] != r)
    o++;
  return c->params[grp->ninputs + o];
}

typedef struct {
  int n;        /* reductions */
  int red[64];  /* their members */
  int from[64]; /* their operands' members */
} row_reductions;

/* `width` (8 or 16) elements of the row from element c->idx[l] on: their
 * values, then their stores, then each reduction's operands, eight at a
 * time in order, into its vector of eight lanes acc[q]. The eight (or
 * sixteen) copies of the members' scalar code side by side are what the
 * SLP vectoriser makes one vector computation of. */
static void emit_block(cg *c, const row_reductions *rr, int width, LLVMValueRef *acc) {
  const pt_fusion_group *grp = c->grp;
  LLVMValueRef *vals = pt_malloc((size_t)width * (size_t)grp->nops * sizeof *vals);
  for (int u = 0; u < width; u++) {
    c->sub = u;
    emit_values(c);
    memcpy(vals + u * grp->nops, c->val, (size_t)grp->nops * sizeof *vals);
  }
  for (int u = 0; u < width; u++) {
    c->sub = u;
    memcpy(c->val, vals + u * grp->nops, (size_t)grp->nops * sizeof *vals);
    emit_stores(c);
  }
  c->sub = 0;
  LLVMTypeRef v8f = LLVMVectorType(c->f32, 8);
  for (int q = 0; q < rr->n; q++)
    for (int h = 0; h < width; h += 8) {
      LLVMValueRef x = LLVMGetUndef(v8f);
      for (int u = 0; u < 8; u++)
        x = LLVMBuildInsertElement(c->b, x, vals[(h + u) * grp->nops + rr->from[q]], i64c(c, u),
                                   "");
      acc[q] = accumulate(c, acc[q], x);
    }
  pt_free(vals);
}

/* The row loop of a group with row reductions: element j of the row into
 * lane j % 8 of every reduction, in order -- sixteen elements an
 * iteration, then eight, then one by one -- then the lanes combined
 * pairwise and a row's value stored: exec.c's sum_row (in double, added
 * to 0.0 as k_reduce does) and max_row (from -inf), add for add and
 * compare for compare, so the same bits. */
static void emit_row(cg *c) {
  const pt_fusion_group *grp = c->grp;
  int l = c->rank - 1;
  int64_t n = c->dims[l];
  row_reductions rr = {0};
  for (int k = 0; k < grp->nops; k++) {
    const pt_op *op = c->g->ops[grp->ops[k]];
    if (pt_fusion_row_reduce(op)) {
      PT_ASSERT(rr.n < 64);
      rr.red[rr.n] = k;
      rr.from[rr.n++] = member_pos(c, op->operands[0]);
      PT_ASSERT(rr.from[rr.n - 1] >= 0);
    }
  }
  LLVMValueRef acc[64], init[64];
  for (int q = 0; q < rr.n; q++) {
    bool sum = c->g->ops[grp->ops[rr.red[q]]]->code == PT_OP_REDUCE_SUM;
    LLVMValueRef e[8];
    for (int u = 0; u < 8; u++)
      e[u] = sum ? LLVMConstReal(c->f64, 0.0) : fc(c, -__builtin_inff());
    acc[q] = init[q] = LLVMConstVector(e, 8);
  }
  if (n >= 16) { /* i = 0 .. n/16 - 1, as a do-while loop */
    loop lp = loop_begin(c, "row");
    LLVMValueRef in[64];
    for (int q = 0; q < rr.n; q++)
      acc[q] = in[q] = phi(c, LLVMTypeOf(init[q]));
    c->idx[l] = LLVMBuildMul(c->b, lp.i, i64c(c, 16), "");
    emit_block(c, &rr, 16, acc);
    loop_end(c, &lp, n / 16);
    for (int q = 0; q < rr.n; q++) {
      LLVMValueRef v[2] = {init[q], acc[q]};
      LLVMBasicBlockRef from[2] = {lp.pre, lp.latch};
      LLVMAddIncoming(in[q], v, from, 2);
    }
  }
  if (n % 16 >= 8) {
    c->idx[l] = i64c(c, n / 16 * 16);
    emit_block(c, &rr, 8, acc);
  }
  LLVMValueRef lane[64][8];
  for (int q = 0; q < rr.n; q++)
    for (int u = 0; u < 8; u++)
      lane[q][u] = LLVMBuildExtractElement(c->b, acc[q], i64c(c, u), "");
  for (int64_t j = n / 8 * 8, u = 0; j < n; j++, u++) {
    c->idx[l] = i64c(c, j);
    emit_body(c);
    for (int q = 0; q < rr.n; q++)
      lane[q][u] = accumulate(c, lane[q][u], c->val[rr.from[q]]);
  }
  c->idx[l] = i64c(c, 0);
  LLVMValueRef off = offset(c, c->rst); /* a row's value */
  for (int q = 0; q < rr.n; q++) {
    LLVMValueRef *a = lane[q], v;
    if (LLVMTypeOf(a[0]) == c->f64) {
      LLVMValueRef s = fadd(c, fadd(c, fadd(c, a[0], a[4]), fadd(c, a[2], a[6])),
                            fadd(c, fadd(c, a[1], a[5]), fadd(c, a[3], a[7])));
      v = narrow(c, fadd(c, LLVMConstReal(c->f64, 0.0), s));
    } else {
      LLVMRealPredicate gt = LLVMRealOGT;
      v = nan_select(
          c, gt, nan_select(c, gt, nan_select(c, gt, a[0], a[4]), nan_select(c, gt, a[2], a[6])),
          nan_select(c, gt, nan_select(c, gt, a[1], a[5]), nan_select(c, gt, a[3], a[7])));
    }
    LLVMValueRef ptr =
        LLVMBuildGEP2(c->b, c->f32, reduction_out(c, rr.red[q]), (LLVMValueRef[]){off}, 1, "");
    LLVMBuildStore(c->b, v, ptr);
  }
}

/* Loop l of the nest, as do-while loops (every trip count is >= 1). */
static void emit_loop(cg *c, int l) {
  if (c->rows && l == c->rank - 1) {
    emit_row(c);
    return;
  }
  loop lp = loop_begin(c, "loop");
  c->idx[l] = lp.i;
  if (l + 1 < c->rank)
    emit_loop(c, l + 1);
  else
    emit_body(c);
  loop_end(c, &lp, c->dims[l]);
}

/* Column reduction k's result from its double sums: r[i] = (float)sum[i]
 * (k_reduce's last step), one loop. */
static void emit_col_result(cg *c, int k) {
  loop lp = loop_begin(c, "sums");
  LLVMValueRef sum =
      LLVMBuildLoad2(c->b, c->f64, LLVMBuildGEP2(c->b, c->f64, c->col_sums[k], &lp.i, 1, ""), "");
  LLVMBuildStore(c->b, narrow(c, sum),
                 LLVMBuildGEP2(c->b, c->f32, reduction_out(c, k), &lp.i, 1, ""));
  loop_end(c, &lp, pt_type_numel(&c->g->ops[c->grp->ops[k]]->result->type));
}

static void add_fn_attr(cg *c, LLVMValueRef fn, LLVMAttributeIndex at, const char *name) {
  unsigned kind = LLVMGetEnumAttributeKindForName(name, strlen(name));
  PT_ASSERT(kind != 0);
  LLVMAddAttributeAtIndex(fn, at, LLVMCreateEnumAttribute(c->ctx, kind, 0));
}

/* Group gi's loop as `void NAME.loop(ptr, ...)`, a function whose pointer
 * parameters are noalias (no two buffers a group touches overlap); the
 * entry point calling it is emit_entry's. */
static LLVMValueRef emit_group(cg *c, const char *name) {
  const pt_fusion_group *grp = c->grp;
  int np = grp->ninputs + grp->noutputs;
  LLVMTypeRef ptr = LLVMPointerTypeInContext(c->ctx, 0);
  LLVMTypeRef *pts = pt_malloc((size_t)(np ? np : 1) * sizeof *pts);
  for (int q = 0; q < np; q++)
    pts[q] = ptr;
  char inner_name[80];
  snprintf(inner_name, sizeof inner_name, "%s.loop", name);
  LLVMTypeRef ity = LLVMFunctionType(LLVMVoidTypeInContext(c->ctx), pts, (unsigned)np, false);
  LLVMValueRef inner = LLVMAddFunction(c->m, inner_name, ity);
  LLVMSetLinkage(inner, LLVMInternalLinkage);
  add_fn_attr(c, inner, LLVMAttributeFunctionIndex, "nounwind");
  add_fn_attr(c, inner, LLVMAttributeFunctionIndex, "alwaysinline");
  for (int q = 0; q < np; q++)
    add_fn_attr(c, inner, (LLVMAttributeIndex)(q + 1), "noalias");
  c->fn = inner;
  c->params = pt_malloc((size_t)(np ? np : 1) * sizeof *c->params);
  for (int q = 0; q < np; q++)
    c->params[q] = LLVMGetParam(inner, (unsigned)q);
  c->val = pt_malloc((size_t)grp->nops * sizeof *c->val);
  /* an output planned over an input's bytes is stored through the input's
   * pointer: one noalias pointer read and written at the same index */
  c->store_to = pt_malloc((size_t)(grp->noutputs ? grp->noutputs : 1) * sizeof *c->store_to);
  for (int o = 0; o < grp->noutputs; o++) {
    c->store_to[o] = grp->ninputs + o;
    const pt_buffer_plan *bp = c->bp;
    int v = grp->outputs[o]->id;
    for (int q = 0; bp && q < grp->ninputs; q++) {
      int x = grp->inputs[q]->id;
      if (bp->region[v] != PT_BUF_NONE && bp->region[x] == bp->region[v] &&
          bp->offset[x] == bp->offset[v])
        c->store_to[o] = q;
    }
  }
  LLVMPositionBuilderAtEnd(c->b, LLVMAppendBasicBlockInContext(c->ctx, inner, "entry"));
  plan_loops(c);
  c->col_sums = pt_calloc((size_t)grp->nops, sizeof *c->col_sums);
  for (int k = 0; k < grp->nops; k++) /* the column sums, zeroed */
    if (c->col_acc[k] >= 0) {
      int64_t n = pt_type_numel(&c->g->ops[grp->ops[k]]->result->type);
      c->col_sums[k] = LLVMBuildArrayAlloca(c->b, c->f64, i64c(c, n), "");
      LLVMBuildMemSet(c->b, c->col_sums[k], LLVMConstInt(c->i8, 0, false), i64c(c, n * 8), 8);
    }
  emit_loop(c, 0);
  for (int k = 0; k < grp->nops; k++) /* rounded to f32 and stored */
    if (c->col_acc[k] >= 0)
      emit_col_result(c, k);
  LLVMBuildRetVoid(c->b);
  pt_free(pts);
  pt_free(c->params);
  pt_free(c->val);
  pt_free(c->store_to);
  pt_free(c->acc_of);
  pt_free(c->acc);
  pt_free(c->col_acc);
  pt_free(c->col_sums);
  return inner;
}

/* `void NAME(ptr p)`: loads loop function inner's pointers from the array p
 * and calls it (the optimiser inlines it). */
static void emit_entry(cg *c, const char *name, LLVMValueRef inner) {
  unsigned np = LLVMCountParams(inner);
  LLVMTypeRef ptr = LLVMPointerTypeInContext(c->ctx, 0);
  LLVMTypeRef oty = LLVMFunctionType(LLVMVoidTypeInContext(c->ctx), &ptr, 1, false);
  LLVMValueRef outer = LLVMAddFunction(c->m, name, oty);
  add_fn_attr(c, outer, LLVMAttributeFunctionIndex, "nounwind");
  LLVMPositionBuilderAtEnd(c->b, LLVMAppendBasicBlockInContext(c->ctx, outer, "entry"));
  LLVMValueRef *args = pt_malloc((np ? np : 1) * sizeof *args);
  for (unsigned q = 0; q < np; q++) {
    LLVMValueRef at =
        LLVMBuildGEP2(c->b, ptr, LLVMGetParam(outer, 0), (LLVMValueRef[]){i64c(c, q)}, 1, "");
    args[q] = LLVMBuildLoad2(c->b, ptr, at, "");
  }
  LLVMBuildCall2(c->b, LLVMGlobalGetValueType(inner), inner, args, np, "");
  LLVMBuildRetVoid(c->b);
  pt_free(args);
}

/* ---- the cache of compiled loops ----------------------------------------- */

bool pt_jit_cache_default(void) {
  const char *s = getenv("PT_JIT_CACHE");
  return !(s && strcmp(s, "0") == 0);
}

/* Loop function fn's key: its parameter count and its printed body (from
 * the brace on, so without its name). */
static char *loop_key(LLVMValueRef fn, uint64_t *hash) {
  char *text = LLVMPrintValueToString(fn);
  const char *body = strchr(text, '{');
  PT_ASSERT(body);
  size_t n = strlen(body);
  char *key = pt_malloc(n + 16);
  int h = snprintf(key, 16, "%u", LLVMCountParams(fn));
  memcpy(key + h, body, n + 1);
  LLVMDisposeMessage(text);
  uint64_t x = 1469598103934665603ull; /* FNV-1a */
  for (const char *q = key; *q; q++)
    x = (x ^ (unsigned char)*q) * 1099511628211ull;
  *hash = x;
  return key;
}

static cache_entry *cache_find(uint64_t hash, const char *key) {
  for (cache_entry *x = J.cache[hash % CACHE_BUCKETS]; x; x = x->next)
    if (x->hash == hash && strcmp(x->key, key) == 0)
      return x;
  return NULL;
}

/* Drops the entries of module mod (NULL: of the compilation under way). */
static void cache_drop(const jit_module *mod) {
  for (int b = 0; b < CACHE_BUCKETS; b++)
    for (cache_entry **at = &J.cache[b]; *at;) {
      cache_entry *x = *at;
      if (x->mod != mod) {
        at = &x->next;
        continue;
      }
      *at = x->next;
      pt_free(x->key);
      pt_free(x);
    }
}

static void program_uses(pt_jit_program *p, jit_module *mod) {
  for (int i = 0; i < p->nmods; i++)
    if (p->mods[i] == mod)
      return;
  p->mods = pt_realloc(p->mods, (size_t)(p->nmods + 1) * sizeof *p->mods);
  p->mods[p->nmods++] = mod;
  mod->refs++;
}

/* Frees what a compilation that failed had made: its cache entries, the
 * program and any module it holds. */
static pt_jit_program *compile_failed(pt_jit_program *p) {
  cache_drop(NULL);
  pt_jit_program_destroy(p);
  return NULL;
}

pt_jit_program *pt_jit_compile(const pt_func *g, const pt_fusion_plan *f, const pt_buffer_plan *bp,
                               pt_diag *d) {
  pt_jit_program *p = pt_calloc(1, sizeof *p);
  p->n = f->ngroups;
  p->fns = pt_calloc((size_t)(p->n ? p->n : 1), sizeof *p->fns);
  if (p->n == 0)
    return p;
  if (!jit_init()) {
    pt_diag_error(d, g->loc,
                  "cannot compile @%s's fused loops: %s (PT_FUSION=0 runs every op on its own)",
                  g->name, J.err);
    pt_jit_program_destroy(p);
    return NULL;
  }
  double t0 = now();
  unsigned long id = ++J.programs;
  bool use_cache = pt_jit_cache_default();
  LLVMOrcThreadSafeContextRef tsc = LLVMOrcCreateNewThreadSafeContext();
  cg c = {0};
  c.ctx = LLVMOrcThreadSafeContextGetContext(tsc);
  c.m = LLVMModuleCreateWithNameInContext("partita", c.ctx);
  LLVMSetTarget(c.m, J.triple);
  LLVMTargetDataRef dl = LLVMCreateTargetDataLayout(J.tm);
  LLVMSetModuleDataLayout(c.m, dl);
  LLVMDisposeTargetData(dl);
  c.b = LLVMCreateBuilderInContext(c.ctx);
  c.i1 = LLVMInt1TypeInContext(c.ctx);
  c.i8 = LLVMInt8TypeInContext(c.ctx);
  c.i64 = LLVMInt64TypeInContext(c.ctx);
  c.f32 = LLVMFloatTypeInContext(c.ctx);
  c.f64 = LLVMDoubleTypeInContext(c.ctx);
  c.g = g;
  c.f = f;
  c.bp = bp;
  /* per group: the group of this compilation whose function it calls (its
   * own index if it has its own), or -1 when it calls a cached one */
  int *from = pt_malloc((size_t)p->n * sizeof *from);
  char name[64];
  for (int gi = 0; gi < f->ngroups; gi++) {
    from[gi] = gi;
    if (f->groups[gi].dot || f->groups[gi].reduce) /* an epilogue: the executor runs it */
      continue;
    c.grp = &f->groups[gi];
    c.gi = gi;
    snprintf(name, sizeof name, "pt_fused_%lu_%d", id, gi);
    LLVMValueRef inner = emit_group(&c, name);
    if (use_cache) {
      uint64_t h;
      char *key = loop_key(inner, &h);
      cache_entry *x = cache_find(h, key);
      if (x) {
        LLVMDeleteFunction(inner);
        pt_free(key);
        p->reused++;
        if (x->mod) {
          from[gi] = -1;
          p->fns[gi] = x->fn;
          program_uses(p, x->mod);
        } else {
          from[gi] = x->gi;
        }
        continue;
      }
      x = pt_calloc(1, sizeof *x);
      x->hash = h;
      x->key = key;
      x->gi = gi;
      x->next = J.cache[h % CACHE_BUCKETS];
      J.cache[h % CACHE_BUCKETS] = x;
    }
    emit_entry(&c, name, inner);
    p->compiled++;
  }
  LLVMDisposeBuilder(c.b);
  if (p->compiled == 0) { /* every loop was compiled before */
    LLVMDisposeModule(c.m);
    LLVMOrcDisposeThreadSafeContext(tsc);
    pt_free(from);
    p->seconds = now() - t0;
    return p;
  }
  char err[512];
  LLVMPassBuilderOptionsRef opts = LLVMCreatePassBuilderOptions();
  LLVMPassBuilderOptionsSetLoopVectorization(opts, 1);
  LLVMPassBuilderOptionsSetSLPVectorization(opts, 1);
  /* the loops stream memory: one vector per op and iteration is as fast as
   * unrolled and interleaved bodies, and compiles several times faster */
  LLVMPassBuilderOptionsSetLoopUnrolling(opts, 0);
  LLVMPassBuilderOptionsSetLoopInterleaving(opts, 0);
  LLVMErrorRef e = LLVMRunPasses(c.m, "default<O3>", J.tm, opts);
  LLVMDisposePassBuilderOptions(opts);
  if (e) {
    take_error(e, "optimising the fused loops", err, sizeof err);
    pt_diag_error(d, g->loc, "@%s: %s", g->name, err);
    LLVMDisposeModule(c.m);
    LLVMOrcDisposeThreadSafeContext(tsc);
    pt_free(from);
    return compile_failed(p);
  }
  jit_module *mod = pt_calloc(1, sizeof *mod);
  mod->rt = LLVMOrcJITDylibCreateResourceTracker(J.jd);
  program_uses(p, mod);
  LLVMOrcThreadSafeModuleRef tsm = LLVMOrcCreateNewThreadSafeModule(c.m, tsc);
  LLVMOrcDisposeThreadSafeContext(tsc);
  e = LLVMOrcLLJITAddLLVMIRModuleWithRT(J.jit, mod->rt, tsm);
  if (e) {
    LLVMOrcDisposeThreadSafeModule(tsm);
    take_error(e, "adding the fused loops to the JIT", err, sizeof err);
    pt_diag_error(d, g->loc, "@%s: %s", g->name, err);
    pt_free(from);
    return compile_failed(p);
  }
  for (int gi = 0; gi < f->ngroups; gi++) {
    if (f->groups[gi].dot || f->groups[gi].reduce || from[gi] != gi)
      continue;
    snprintf(name, sizeof name, "pt_fused_%lu_%d", id, gi);
    LLVMOrcExecutorAddress addr = 0;
    e = LLVMOrcLLJITLookup(J.jit, &addr, name);
    if (e) {
      take_error(e, "compiling the fused loops", err, sizeof err);
      pt_diag_error(d, g->loc, "@%s: %s", g->name, err);
      pt_free(from);
      return compile_failed(p);
    }
    p->fns[gi] = (pt_jit_fn)(uintptr_t)addr;
  }
  for (int gi = 0; gi < f->ngroups; gi++)
    if (from[gi] >= 0 && from[gi] != gi)
      p->fns[gi] = p->fns[from[gi]];
  pt_free(from);
  for (int b = 0; b < CACHE_BUCKETS; b++) /* this compilation's loops, for later ones */
    for (cache_entry *x = J.cache[b]; x; x = x->next)
      if (!x->mod) {
        x->mod = mod;
        x->fn = p->fns[x->gi];
      }
  p->seconds = now() - t0;
  return p;
}

void pt_jit_program_destroy(pt_jit_program *p) {
  if (!p)
    return;
  for (int i = 0; i < p->nmods; i++) {
    jit_module *mod = p->mods[i];
    if (--mod->refs > 0)
      continue;
    cache_drop(mod);
    if (mod->rt && J.jit) { /* after exit's shutdown the JIT's memory is gone with it */
      LLVMErrorRef e = LLVMOrcResourceTrackerRemove(mod->rt);
      if (e)
        LLVMConsumeError(e);
      LLVMOrcReleaseResourceTracker(mod->rt);
    }
    pt_free(mod);
  }
  pt_free(p->mods);
  pt_free(p->fns);
  pt_free(p);
}

pt_jit_fn pt_jit_group_fn(const pt_jit_program *p, int gi) {
  PT_ASSERT(gi >= 0 && gi < p->n);
  return p->fns[gi];
}

double pt_jit_compile_seconds(const pt_jit_program *p) {
  return p->seconds;
}

void pt_jit_counts(const pt_jit_program *p, int *compiled, int *reused) {
  *compiled = p->compiled;
  *reused = p->reused;
}
