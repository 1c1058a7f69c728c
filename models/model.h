/* The model library: GPT- and Llama-style language models, Griffin (gated
 * linear recurrences mixed with local attention, griffin.c), and the
 * multi-layer perceptron of examples/mlp.pir, written as partita IR at any
 * size (`partita model`, docs/models.md). Each language model is a block
 * function per block kind (@block; Griffin's @recurrent_block and
 * @attention_block), one call per layer from @loss, and its loss is softmax
 * cross-entropy against integer labels, the mean over every token. The MLP
 * is one @loss: ReLU layers x -> --mlp-hidden -> ... -> --d-model and a
 * mean-squared error against y.
 *
 * Requires: options accepted by pt_model_check.
 * Provides: the module's text, which parses and verifies; parameter names
 * follow one convention that tactic scripts glob: embed.table, pos.table
 * (GPT), layers.N.norm1.scale, layers.N.attn.wq/wk/wv/wo,
 * layers.N.norm2.scale, layers.N.mlp.w_in/w_out (and w_gate, Llama),
 * final_norm.scale, lm_head.w (untied from embed.table); inputs tokens and
 * labels, i32[batch, seq]. Griffin's recurrent layers have
 * layers.N.rg_lru.* in place of layers.N.attn.* (docs/models.md). The MLP's parameters are w1, b1, ... wN, bN and
 * its inputs x and y, f32[batch, d_model]; it reads only layers, d_model,
 * mlp_hidden and batch.
 * Ownership: the text is the caller's (free). */
#ifndef PT_MODEL_H
#define PT_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum { PT_MODEL_GPT, PT_MODEL_LLAMA, PT_MODEL_MLP, PT_MODEL_GRIFFIN } pt_model_kind;

typedef struct {
  pt_model_kind kind;
  int64_t layers, d_model, heads, kv_heads, mlp_hidden, vocab, seq, batch;
  int64_t window, lru_width; /* Griffin only: the local attention's window, the RG-LRU's width */
} pt_model_opts;

/* The default size of each kind: examples/gpt.pir, llama.pir, mlp.pir and
 * griffin.pir. */
pt_model_opts pt_model_defaults(pt_model_kind k);
/* "gpt", "llama", "griffin" or "mlp" -> kind; false if none. */
bool pt_model_kind_parse(const char *s, pt_model_kind *out);
const char *pt_model_kind_name(pt_model_kind k);
/* Griffin's default RG-LRU width: 4/3 of d_model (the paper's), rounded
 * down to a multiple of heads, at least heads. */
int64_t pt_model_griffin_lru_width(int64_t d_model, int64_t heads);
/* Whether the sizes make a model; if not, a message ("--heads 5 does not
 * divide --d-model 256") in err. */
bool pt_model_check(const pt_model_opts *o, char *err, size_t n);
/* The module's text (malloc'd), or NULL if pt_model_check fails. */
char *pt_model_write(const pt_model_opts *o);

#endif
