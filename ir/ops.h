/* The op table: one row per operation kind. Every per-op property array in
 * the project is generated from this list (ir/ops.c), so adding an op is one
 * row here plus its functions, and each table guards its length with
 * static_assert(PT_OP_COUNT == ...).
 *
 * X(ENUM, "name", arity, class, flags)
 *   arity: number of operands, or -1 for variadic (at least one)
 *   class: PT_CLS_* below; ops of one class share a shape rule
 *   flags: PT_OPF_* bits
 *
 * Semantics (what the reference interpreter computes) are in docs/ir.md. */
#ifndef PT_OPS_H
#define PT_OPS_H

#define PT_OPS(X)                                                        \
  /* element-wise unary (f32; neg, abs, stop_gradient also i32) */       \
  X(NEG, "neg", 1, PT_CLS_UNARY, PT_OPF_ELEMENTWISE)                     \
  X(EXP, "exp", 1, PT_CLS_UNARY, PT_OPF_ELEMENTWISE)                     \
  X(LOG, "log", 1, PT_CLS_UNARY, PT_OPF_ELEMENTWISE)                     \
  X(TANH, "tanh", 1, PT_CLS_UNARY, PT_OPF_ELEMENTWISE)                   \
  X(LOGISTIC, "logistic", 1, PT_CLS_UNARY, PT_OPF_ELEMENTWISE)           \
  X(SQRT, "sqrt", 1, PT_CLS_UNARY, PT_OPF_ELEMENTWISE)                   \
  X(RSQRT, "rsqrt", 1, PT_CLS_UNARY, PT_OPF_ELEMENTWISE)                 \
  X(ABS, "abs", 1, PT_CLS_UNARY, PT_OPF_ELEMENTWISE)                     \
  X(SIN, "sin", 1, PT_CLS_UNARY, PT_OPF_ELEMENTWISE)                     \
  X(COS, "cos", 1, PT_CLS_UNARY, PT_OPF_ELEMENTWISE)                     \
  /* the identity, through which no gradient flows (f32 and i32) */      \
  X(STOP_GRADIENT, "stop_gradient", 1, PT_CLS_UNARY, PT_OPF_ELEMENTWISE) \
  /* element-wise binary, operands of one type (f32 or i32; pow f32) */  \
  X(ADD, "add", 2, PT_CLS_BINARY, PT_OPF_ELEMENTWISE)                    \
  X(SUB, "sub", 2, PT_CLS_BINARY, PT_OPF_ELEMENTWISE)                    \
  X(MUL, "mul", 2, PT_CLS_BINARY, PT_OPF_ELEMENTWISE)                    \
  X(DIV, "div", 2, PT_CLS_BINARY, PT_OPF_ELEMENTWISE)                    \
  X(MAX, "max", 2, PT_CLS_BINARY, PT_OPF_ELEMENTWISE)                    \
  X(MIN, "min", 2, PT_CLS_BINARY, PT_OPF_ELEMENTWISE)                    \
  X(POW, "pow", 2, PT_CLS_BINARY, PT_OPF_ELEMENTWISE)                    \
  X(COMPARE, "compare", 2, PT_CLS_COMPARE, PT_OPF_ELEMENTWISE)           \
  X(SELECT, "select", 3, PT_CLS_SELECT, PT_OPF_ELEMENTWISE)              \
  X(CONVERT, "convert", 1, PT_CLS_CONVERT, PT_OPF_ELEMENTWISE)           \
  /* producers */                                                        \
  X(CONSTANT, "constant", 0, PT_CLS_CONSTANT, 0)                         \
  X(IOTA, "iota", 0, PT_CLS_IOTA, 0)                                     \
  /* data movement */                                                    \
  X(BROADCAST, "broadcast", 1, PT_CLS_BROADCAST, 0)                      \
  X(RESHAPE, "reshape", 1, PT_CLS_RESHAPE, 0)                            \
  X(TRANSPOSE, "transpose", 1, PT_CLS_TRANSPOSE, 0)                      \
  X(SLICE, "slice", 1, PT_CLS_SLICE, 0)                                  \
  X(CONCAT, "concat", -1, PT_CLS_CONCAT, 0)                              \
  X(PAD, "pad", 2, PT_CLS_PAD, 0)                                        \
  /* reductions and contractions */                                      \
  X(REDUCE_SUM, "reduce_sum", 1, PT_CLS_REDUCE, 0)                       \
  X(REDUCE_MAX, "reduce_max", 1, PT_CLS_REDUCE, 0)                       \
  X(DOT, "dot", 2, PT_CLS_DOT, 0)                                        \
  X(TAKE, "take", 2, PT_CLS_TAKE, 0)                                     \
  X(SCATTER_ADD, "scatter_add", 2, PT_CLS_SCATTER_ADD, 0)                \
  X(SCAN, "scan", 2, PT_CLS_SCAN, 0)                                     \
  /* a call of another function of the module (inlined before any pass) */ \
  X(CALL, "call", -1, PT_CLS_CALL, PT_OPF_CALL)                          \
  /* collectives: only in lowered programs, over named mesh axes */      \
  X(ALL_GATHER, "all_gather", 1, PT_CLS_ALL_GATHER, PT_OPF_COLLECTIVE)   \
  X(REDUCE_SCATTER, "reduce_scatter", 1, PT_CLS_REDUCE_SCATTER,          \
    PT_OPF_COLLECTIVE)                                                   \
  X(ALL_REDUCE, "all_reduce", 1, PT_CLS_ALL_REDUCE, PT_OPF_COLLECTIVE)   \
  X(ALL_TO_ALL, "all_to_all", 1, PT_CLS_ALL_TO_ALL, PT_OPF_COLLECTIVE)   \
  X(AXIS_SLICE, "axis_slice", 1, PT_CLS_AXIS_SLICE, PT_OPF_COLLECTIVE)   \
  X(COLLECTIVE_PERMUTE, "collective_permute", 1, PT_CLS_PERMUTE,         \
    PT_OPF_COLLECTIVE)

typedef enum {
#define X(e, name, arity, cls, flags) PT_OP_##e,
  PT_OPS(X)
#undef X
      PT_OP_COUNT
} pt_opcode;

/* Shape-rule classes. */
typedef enum {
  PT_CLS_UNARY,
  PT_CLS_BINARY,
  PT_CLS_COMPARE,
  PT_CLS_SELECT,
  PT_CLS_CONVERT,
  PT_CLS_CONSTANT,
  PT_CLS_IOTA,
  PT_CLS_BROADCAST,
  PT_CLS_RESHAPE,
  PT_CLS_TRANSPOSE,
  PT_CLS_SLICE,
  PT_CLS_CONCAT,
  PT_CLS_PAD,
  PT_CLS_REDUCE,
  PT_CLS_DOT,
  PT_CLS_TAKE,
  PT_CLS_SCATTER_ADD,
  PT_CLS_SCAN,
  PT_CLS_CALL,
  PT_CLS_ALL_GATHER,
  PT_CLS_REDUCE_SCATTER,
  PT_CLS_ALL_REDUCE,
  PT_CLS_ALL_TO_ALL,
  PT_CLS_AXIS_SLICE,
  PT_CLS_PERMUTE,
  PT_CLS_COUNT
} pt_opclass;

enum {
  PT_OPF_ELEMENTWISE = 1 << 0, /* result[i] depends on operands[i] only */
  PT_OPF_COLLECTIVE = 1 << 1,  /* communicates across mesh devices */
  PT_OPF_CALL = 1 << 2,        /* calls a function: only before inlining */
};

/* Attribute keys. Every attribute any op takes is one row:
 * X(ENUM, "name"). Which op takes which is in ir/ops.c (pt_op_attr_spec). */
#define PT_ATTRS(X)                                                      \
  X(DIR, "dir")                   /* compare: lt le gt ge eq ne */       \
  X(VALUE, "value")               /* constant: number or flat list */    \
  X(DIM, "dim")                   /* iota, concat, scan, collectives */  \
  X(DIMS, "dims")                 /* broadcast, reduce_* */              \
  X(PERM, "perm")                 /* transpose */                        \
  X(START, "start")               /* slice */                            \
  X(LIMIT, "limit")               /* slice */                            \
  X(STRIDE, "stride")             /* slice (default all 1) */            \
  X(LOW, "low")                   /* pad */                              \
  X(HIGH, "high")                 /* pad */                              \
  X(INTERIOR, "interior")         /* pad (default all 0) */              \
  X(LHS_BATCH, "lhs_batch")       /* dot */                              \
  X(RHS_BATCH, "rhs_batch")       /* dot */                              \
  X(LHS_CONTRACT, "lhs_contract") /* dot */                              \
  X(RHS_CONTRACT, "rhs_contract") /* dot */                              \
  X(REVERSE, "reverse")           /* scan: 0 forward, 1 backward */      \
  X(AXES, "axes")                 /* collectives: mesh axis names */     \
  X(REDUCE, "reduce")             /* all_reduce: sum or max */           \
  X(SPLIT_DIM, "split_dim")       /* all_to_all */                       \
  X(CONCAT_DIM, "concat_dim")     /* all_to_all */                       \
  X(PAIRS, "pairs")               /* collective_permute: [[src, dst]] */

typedef enum {
#define X(e, name) PT_A_##e,
  PT_ATTRS(X)
#undef X
      PT_ATTR_COUNT
} pt_attrkey;

#endif
