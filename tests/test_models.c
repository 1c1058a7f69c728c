/* The model library (models/model.h, `partita model`): the shipped examples
 * are the generator's output, every size parses, verifies and inlines with
 * the naming convention tactic scripts glob, the cross-entropy gives ln V
 * for uniform logits, the synthetic labels are the tokens' permutation, and
 * impossible sizes are usage errors. (The models' sharded runs are in the
 * grid and tests/mpi_train.sh, which pick up examples/gpt.* and llama.*.) */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "init.h"
#include "model.h"
#include "passes.h"
#include "testutil.h"
#include "train.h"

static pt_module *load_text(const char *text, const char *name) {
  pt_diag *d = pt_diag_create(stderr);
  pt_module *m = pt_parse(text, strlen(text), name, d);
  ck_assert_msg(m != NULL, "%s does not parse", name);
  ck_assert_msg(pt_verify_module(m, d) == PT_OK, "%s does not verify", name);
  ck_assert_msg(pt_pass_inline(m, "loss", d) == PT_OK, "%s does not inline", name);
  ck_assert_int_eq(pt_diag_error_count(d), 0);
  pt_diag_destroy(d);
  return m;
}

START_TEST(examples_are_the_generators_output) {
  const char *files[] = {"examples/gpt.pir", "examples/llama.pir"};
  for (int k = 0; k < 2; k++) {
    pt_model_opts o = pt_model_defaults(k ? PT_MODEL_LLAMA : PT_MODEL_GPT);
    char *want = pt_model_write(&o);
    char *path = pt_test_path(files[k]);
    char *have = pt_test_slurp(path);
    ck_assert_msg(strcmp(want, have) == 0,
                  "%s differs from `partita model %s`: regenerate it with -o %s", files[k],
                  pt_model_kind_name(o.kind), files[k]);
    free(want);
    pt_free(have);
    pt_free(path);
  }
}
END_TEST

/* Every size makes a module whose @loss takes tokens, labels and the
 * parameters under the naming convention, one block's worth per layer. */
START_TEST(sizes_and_names) {
  const pt_model_opts cases[] = {
      {PT_MODEL_GPT, 1, 8, 2, 2, 16, 11, 3, 1},
      {PT_MODEL_GPT, 48, 1024, 16, 16, 4096, 32000, 1024, 8},
      {PT_MODEL_LLAMA, 3, 64, 8, 1, 96, 100, 5, 2},  /* multi-query */
      {PT_MODEL_LLAMA, 32, 4096, 32, 8, 11008, 32000, 2048, 1}, /* a 7B-class Llama */
  };
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    const pt_model_opts *o = &cases[c];
    char err[160];
    ck_assert_msg(pt_model_check(o, err, sizeof err), "case %zu: %s", c, err);
    char *text = pt_model_write(o);
    /* the generator writes canonical text: it prints as itself */
    pt_diag *d = pt_diag_create(stderr);
    pt_module *raw = pt_parse(text, strlen(text), "generated.pir", d);
    ck_assert_ptr_nonnull(raw);
    char *printed = pt_print_module_str(raw);
    ck_assert_msg(strcmp(printed, text) == 0, "case %zu is not in canonical form", c);
    pt_free(printed);
    pt_module_destroy(raw);
    pt_diag_destroy(d);
    pt_module *m = load_text(text, "generated.pir");
    pt_func *f = pt_module_find_func(m, "loss");
    ck_assert_ptr_nonnull(f);
    bool gpt = o->kind == PT_MODEL_GPT;
    int per_layer = gpt ? 10 : 9;
    int want = 2 + 1 + (gpt ? 1 : 0) + per_layer * (int)o->layers + (gpt ? 2 : 1) + 1;
    ck_assert_msg(f->nargs == want, "case %zu: %d arguments, want %d", c, f->nargs, want);
    char name[64];
    snprintf(name, sizeof name, "layers.%lld.attn.wk", (long long)o->layers - 1);
    const pt_value *wk = pt_func_find_arg(f, name);
    ck_assert_msg(wk != NULL, "case %zu: no %s", c, name);
    ck_assert_int_eq(wk->type.dims[1], o->kv_heads * (o->d_model / o->heads));
    const char *always[] = {"tokens", "labels", "embed.table", "layers.0.mlp.w_in",
                            "final_norm.scale", "lm_head.w"};
    for (int i = 0; i < 6; i++)
      ck_assert_msg(pt_func_find_arg(f, always[i]), "case %zu: no %s", c, always[i]);
    ck_assert_int_eq(pt_func_find_arg(f, "lm_head.w")->type.dims[1], o->vocab);
    /* the labels index the vocabulary: seeded labels are valid tokens */
    pt_init_spec s = pt_init_spec_for(f, pt_func_find_arg(f, "labels"), 1);
    ck_assert_int_eq(s.bound, o->vocab);
    pt_module_destroy(m);
    free(text);
  }
}
END_TEST

/* With the LM head zero every logit is 0, so the cross-entropy of every
 * token is ln V, whatever the blocks computed. */
START_TEST(uniform_logits_give_ln_vocab) {
  for (int k = 0; k < 2; k++) {
    pt_model_opts o = pt_model_defaults(k ? PT_MODEL_LLAMA : PT_MODEL_GPT);
    o.d_model = 32, o.heads = 4, o.kv_heads = k ? 2 : 4, o.mlp_hidden = 64, o.vocab = 37,
    o.seq = 6, o.batch = 2;
    char *text = pt_model_write(&o);
    pt_module *m = load_text(text, "small.pir");
    pt_func *f = pt_module_find_func(m, "loss");
    pt_tensor **args = pt_calloc((size_t)f->nargs, sizeof *args);
    for (int i = 0; i < f->nargs; i++) {
      pt_init_spec s = pt_init_spec_for(f, f->args[i], 9);
      args[i] = pt_init_tensor(&s, f->args[i]->type);
    }
    pt_tensor *out = NULL;
    pt_diag *d = pt_diag_create(stderr);
    ck_assert_int_eq(pt_interp_run(f, args, &out, d), PT_OK);
    double random_head = pt_tensor_get(out, 0);
    pt_tensor_destroy(out);
    int head = pt_func_find_arg(f, "lm_head.w")->arg_index;
    pt_tensor_destroy(args[head]);
    args[head] = pt_tensor_create(f->args[head]->type); /* zeros */
    ck_assert_int_eq(pt_interp_run(f, args, &out, d), PT_OK);
    double uniform = pt_tensor_get(out, 0);
    ck_assert_msg(fabs(uniform - log(37.0)) < 1e-5, "%s: loss %.8g, ln 37 = %.8g",
                  pt_model_kind_name(o.kind), uniform, log(37.0));
    ck_assert_msg(isfinite(random_head) && random_head != uniform, "random head: %g",
                  random_head);
    pt_tensor_destroy(out);
    for (int i = 0; i < f->nargs; i++)
      pt_tensor_destroy(args[i]);
    pt_free(args);
    pt_diag_destroy(d);
    pt_module_destroy(m);
    free(text);
  }
}
END_TEST

/* The training loop's synthetic labels (runtime/train.h) are a fixed
 * permutation of the seeded tokens: label = (a t + 1) mod V with a coprime
 * to V, so every token has one label and the map is learnable. */
START_TEST(synthetic_labels_permute_the_tokens) {
  pt_model_opts o = pt_model_defaults(PT_MODEL_GPT);
  o.vocab = 40; /* 5 divides 40: the multiplier moves on to 7 */
  char *text = pt_model_write(&o);
  pt_module *m = load_text(text, "gpt.pir");
  pt_func *f = pt_module_find_func(m, "loss");
  const pt_value *labels = pt_func_find_arg(f, "labels"), *tokens = pt_func_find_arg(f, "tokens");
  ck_assert_ptr_null(pt_train_data_teacher(NULL, f, tokens, 3));
  pt_tensor *l = pt_train_data_teacher(NULL, f, labels, 3);
  ck_assert_ptr_nonnull(l);
  pt_init_spec ts = pt_init_spec_for(f, tokens, 3);
  pt_tensor *t = pt_init_tensor(&ts, tokens->type);
  int64_t n = pt_type_numel(&labels->type);
  int distinct_tokens = 0;
  bool seen[40] = {0};
  for (int64_t i = 0; i < n; i++) {
    int64_t tok = (int64_t)pt_tensor_get(t, i);
    ck_assert(tok >= 0 && tok < 40);
    ck_assert_int_eq((int64_t)pt_tensor_get(l, i), (7 * tok + 1) % 40);
    distinct_tokens += !seen[tok];
    seen[tok] = true;
  }
  ck_assert_int_ge(distinct_tokens, 30); /* 512 seeded tokens cover the vocabulary */
  pt_tensor_destroy(l);
  pt_tensor_destroy(t);
  pt_module_destroy(m);
  free(text);
}
END_TEST

static char tmpdir[] = "/tmp/partita-models-XXXXXX";

static const pt_test_usage_case bad[] = {
    {"no kind", "model", 2, "which model? gpt or llama"},
    {"unknown kind", "model bert", 2, "unknown model 'bert' (the models: gpt, llama)"},
    {"two kinds", "model gpt llama", 2, "model takes one kind, got 2 words"},
    {"heads not dividing", "model gpt --d-model 256 --heads 5", 2,
     "--heads 5 does not divide --d-model 256"},
    {"kv heads not dividing", "model llama --heads 8 --kv-heads 3", 2,
     "--kv-heads 3 does not divide --heads 8"},
    {"odd rotary head", "model llama --d-model 36 --heads 4", 2,
     "rotary embeddings need an even head size, not 9"},
    {"zero layers", "model gpt --layers 0", 2, "--layers needs an integer >= 1, not '0'"},
    {"garbage size", "model gpt --vocab lots", 2, "--vocab needs an integer >= 1, not 'lots'"},
    {"too many layers", "model gpt --layers 5000", 2, "--layers needs an integer in [1, 4096]"},
    {"too large", "model gpt --seq 16000000 --batch 16000000 --vocab 16000000", 2,
     "the model is too large"},
    {"unknown option", "model gpt --depth 3", 2, "--depth"},
    {"unwritable output", "model gpt -o /nonexistent/dir/m.pir", 1, "/nonexistent/dir/m.pir"},
};

START_TEST(command_errors) { pt_test_check_usage(tmpdir, &bad[_i]); }
END_TEST

START_TEST(command_writes_a_model) {
  pt_test_result r = pt_test_partita_run(tmpdir, "model llama --layers 3 -o $T/l.pir && "
                                                 "\"$PT_PARTITA\" check $T/l.pir");
  ck_assert_msg(r.status == 0, "status %d: %s", r.status, r.err);
  ck_assert_msg(strstr(r.out, "ok (2 functions") && strstr(r.out, "3 calls"), "%s", r.out);
  pt_test_result_free(&r);
  r = pt_test_partita_run(tmpdir, "model gpt --help");
  ck_assert_int_eq(r.status, 0);
  ck_assert_ptr_nonnull(strstr(r.out, "Usage: partita model gpt|llama"));
  pt_test_result_free(&r);
  r = pt_test_partita_run(tmpdir, "model gpt | head -1");
  ck_assert_ptr_nonnull(strstr(r.out, "// A GPT-style language model, written by `partita model gpt"));
  pt_test_result_free(&r);
}
END_TEST

int main(void) {
  if (!mkdtemp(tmpdir)) {
    perror("test_models: mkdtemp");
    return 1;
  }
  Suite *s = suite_create("models");
  TCase *tc = tcase_create("models");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, examples_are_the_generators_output);
  tcase_add_test(tc, sizes_and_names);
  tcase_add_test(tc, uniform_logits_give_ln_vocab);
  tcase_add_test(tc, synthetic_labels_permute_the_tokens);
  tcase_add_loop_test(tc, command_errors, 0, (int)(sizeof bad / sizeof bad[0]));
  tcase_add_test(tc, command_writes_a_model);
  suite_add_tcase(s, tc);
  int rc = pt_test_main(s);
  char cmd[300];
  snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
  if (system(cmd) != 0)
    rc = 1;
  return rc;
}
