/* The passes. Each lives in passes/NAME.c with one entry point; its header
 * comment there says what it requires, provides and breaks. */
#ifndef PT_PASSES_H
#define PT_PASSES_H

#include "ir.h"

/* Inlines every call (passes/inline.c): afterwards no function holds a
 * call; copies are named after the call site (`layers.3/attn/q`) and keep
 * both locations (op in the callee, `via` the call). Warns about functions
 * never called other than `entry` (NULL: "loss") in a module with calls.
 * Requires: a verified module. Run it before any other pass. */
pt_status pt_pass_inline(pt_module *m, const char *entry, pt_diag *d);

/* Removes ops no function result depends on. Requires: verified IR. */
pt_status pt_pass_dce(pt_module *m, pt_diag *d);
/* Merges ops with equal opcode, operands, attributes and result type
 * (constants included), keeping the first. Requires: verified IR. */
pt_status pt_pass_cse(pt_module *m, pt_diag *d);

/* Gives every consumer of a constant-like value (a constant, an iota, or a
 * broadcast/reshape/convert/transpose of one) its own copy, so that CSE'd
 * constants do not tie the shardings of unrelated code together. */
pt_status pt_pass_split_constants(pt_module *m, pt_diag *d);

typedef struct {
  const char *func;          /* the function to differentiate */
  const char *result;        /* the result to differentiate; NULL: the result
                                called "loss", else the only result */
  const char *const *wrt;    /* arguments to differentiate with respect to; */
  int nwrt;                  /*   nwrt == 0: every param */
  const char *out_name;      /* the new function's name; NULL: "<func>_grad"
                                (autodiff) or "<func>_jvp" (linearize) */
} pt_autodiff_opts;

/* Reverse mode by linearize + transpose (passes/autodiff.c). Adds to m a
 * function with f's arguments whose results are f's results followed by
 * one gradient per differentiated argument, named `grad.<arg>`. The
 * differentiated result must be an f32 scalar and every argument f32.
 * Errors (no such function, bad result, integer argument) are reported to d
 * located at what is wrong. *out (may be NULL) receives the new function. */
pt_status pt_pass_autodiff(pt_module *m, const pt_autodiff_opts *o, pt_func **out,
                           pt_diag *d);

/* Replaces every stop_gradient of f by its operand: its uses, and f's
 * results, read the operand instead, and the ops become dead (run
 * pt_pass_dce after). For a function nothing differentiates again, as a
 * gradient or a train step, where the op has done its work and would only
 * copy. */
void pt_pass_strip_stop_gradient(pt_func *f);

/* Forward mode: adds the linearized function: f's arguments followed by one
 * tangent input `tan.<arg>` (role input) per differentiated argument; its
 * results are f's results followed by `tan.<result>`, the directional
 * derivative of the differentiated result. Ops that depend on a tangent
 * input are linear in the tangent inputs. */
pt_status pt_pass_linearize(pt_module *m, const pt_autodiff_opts *o, pt_func **out,
                            pt_diag *d);

/* Transposes a linear function: every op of `lin` that depends on one of
 * its arguments marked `linear_in` must be linear in them (as linearize
 * produces). Adds a function `name` whose arguments are lin's other
 * arguments followed by one cotangent `ct.<result>` per result (only
 * linear results, in order) and whose results are the cotangents
 * `ct.<arg>` of the linear arguments. Used to test transposition alone. */
pt_status pt_pass_transpose(pt_module *m, const pt_func *lin, const bool *linear_in,
                            const char *name, pt_func **out, pt_diag *d);

typedef enum { PT_OPTIM_SGD, PT_OPTIM_MOMENTUM, PT_OPTIM_ADAM } pt_optim_kind;

typedef struct {
  pt_optim_kind kind;
  double lr;
  double momentum;     /* momentum */
  double beta1, beta2; /* adam */
  double eps;          /* adam */
} pt_optimizer;

/* Defaults as PyTorch and Optax: lr 1e-3 (adam) or 1e-2 (sgd, momentum),
 * momentum 0.9, beta1 0.9, beta2 0.999, eps 1e-8. */
pt_optimizer pt_optimizer_default(pt_optim_kind kind);

/* Builds `train_step` from the loss function (passes/train_step.c). */
pt_status pt_pass_train_step(pt_module *m, const char *func, const pt_optimizer *opt,
                             const char *out_name, pt_func **out, pt_diag *d);

#endif
