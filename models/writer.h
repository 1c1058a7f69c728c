/* The model library's text writer, shared by models/model.c (GPT, Llama, the
 * MLP) and models/griffin.c (Griffin): a stream, the sizes, and the emitters
 * more than one family uses. Internal to models/; users call model.h.
 *
 * Every emitter writes canonical partita IR lines (what `partita fmt`
 * prints), one op per line, into w->f.
 * Ownership: the writer borrows f and o. */
#ifndef PT_MODEL_WRITER_H
#define PT_MODEL_WRITER_H

#include <stdio.h>

#include "model.h"

typedef struct {
  FILE *f;
  const pt_model_opts *o;
  long long B, T, D, H, K, hd, F, V;
} pt_mw;

void pt_mw_put(pt_mw *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A number as the printer writes it (pt_fmt_double), so the text is
 * canonical; buf holds at least 40 bytes. */
const char *pt_mw_num(double v, char *buf);
/* Pre-norm over the model dimension of %in [B,T,D] into %out: RMSNorm, or
 * LayerNorm when bias names a bias; gain 1 + %scale. Temporaries are
 * named p_... */
void pt_mw_norm(pt_mw *w, const char *p, const char *in, const char *scale, const char *bias,
                const char *out);
/* %out = gelu(%in), the tanh approximation, both of type ty ("f32[2,3]");
 * temporaries are %in_sq, %in_cube, %in_cube_c, %half_in and %pre<name>
 * for the constants and the rest. */
void pt_mw_gelu(pt_mw *w, const char *in, const char *pre, const char *out, const char *ty);
/* The end of @loss: the final norm of %last (with final_norm.bias if
 * bias), the LM head lm_head.w, the mean softmax cross-entropy against
 * %labels, `return %loss` and the closing brace. */
void pt_mw_lm_head(pt_mw *w, const char *last, bool bias);

/* Griffin's @recurrent_block, @attention_block and @loss (griffin.c). */
void pt_mw_griffin(pt_mw *w);

#endif
