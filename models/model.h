/* The model library: GPT- and Llama-style language models written as
 * partita IR at any size (`partita model`, docs/models.md). Each model is a
 * @block function, one call per layer from @loss, and the loss is softmax
 * cross-entropy against integer labels, the mean over every token.
 *
 * Requires: options accepted by pt_model_check.
 * Provides: the module's text, which parses and verifies; parameter names
 * follow one convention that tactic scripts glob: embed.table, pos.table
 * (GPT), layers.N.norm1.scale, layers.N.attn.wq/wk/wv/wo,
 * layers.N.norm2.scale, layers.N.mlp.w_in/w_out (and w_gate, Llama),
 * final_norm.scale, lm_head.w (untied from embed.table); inputs tokens and
 * labels, i32[batch, seq].
 * Ownership: the text is the caller's (free). */
#ifndef PT_MODEL_H
#define PT_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum { PT_MODEL_GPT, PT_MODEL_LLAMA } pt_model_kind;

typedef struct {
  pt_model_kind kind;
  int64_t layers, d_model, heads, kv_heads, mlp_hidden, vocab, seq, batch;
} pt_model_opts;

/* The default (small) size of each kind: examples/gpt.pir, examples/llama.pir. */
pt_model_opts pt_model_defaults(pt_model_kind k);
/* "gpt" or "llama" -> kind; false if neither. */
bool pt_model_kind_parse(const char *s, pt_model_kind *out);
const char *pt_model_kind_name(pt_model_kind k);
/* Whether the sizes make a model; if not, a message ("--heads 5 does not
 * divide --d-model 256") in err. */
bool pt_model_check(const pt_model_opts *o, char *err, size_t n);
/* The module's text (malloc'd), or NULL if pt_model_check fails. */
char *pt_model_write(const pt_model_opts *o);

#endif
