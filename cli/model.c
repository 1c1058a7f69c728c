/* `partita model gpt|llama|griffin|mlp`: writes a model of the model
 * library (models/model.h) at the size the options give. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "model.h"

static int run(int argc, char **argv);

const pt_command pt_cmd_model = {
    "model", run, "write a GPT-, Llama- or Griffin-style language model, or an MLP, at any size",
    "Usage: partita model gpt|llama [--layers N] [--d-model D] [--heads H] [--kv-heads K]\n"
    "                     [--mlp-hidden F] [--vocab V] [--seq T] [--batch B] [-o FILE.pir]\n"
    "       partita model griffin [the options above] [--window W] [--lru-width R]\n"
    "       partita model mlp [--layers N] [--d-model D] [--mlp-hidden F] [--batch B]\n"
    "                     [-o FILE.pir]\n\n"
    "Writes the model as partita IR (docs/models.md). gpt and llama: a @block function,\n"
    "one call per layer from @loss, softmax cross-entropy against integer labels; the\n"
    "parameter names follow one convention tactic scripts glob: embed.table,\n"
    "layers.N.attn.wq, layers.N.mlp.w_in, final_norm.scale, lm_head.w. mlp: N dense\n"
    "layers (ReLU between them, parameters w1, b1, ... wN, bN) and a mean-squared error\n"
    "against y. griffin: recurrent blocks (a causal convolution and an RG-LRU recurrence,\n"
    "@recurrent_block, layers.N.rg_lru.*) and local-attention blocks (@attention_block),\n"
    "two then one, repeated. examples/gpt.pir, llama.pir, griffin.pir and mlp.pir are the\n"
    "defaults' output.\n\n"
    "Options (defaults: gpt / llama / griffin / mlp):\n"
    "      --layers N       blocks, or the MLP's dense layers (2; griffin: 3)\n"
    "      --d-model D      model width; the MLP's input and output width\n"
    "                       (256 / 256 / 192 / 1024)\n"
    "      --heads H        attention heads, dividing D; griffin: also the RG-LRU's gate\n"
    "                       blocks, dividing R (4)\n"
    "      --kv-heads K     key/value heads, dividing H (gpt: H, llama: 2, griffin: 1, the\n"
    "                       only value its multi-query attention takes)\n"
    "      --mlp-hidden F   MLP hidden width (gpt: 1024, llama: 704, griffin: 3 D, mlp: 1024)\n"
    "      --vocab V        vocabulary (512)\n"
    "      --seq T          sequence length (64)\n"
    "      --batch B        sequences per step, or the MLP's rows (8 / 8 / 8 / 64)\n"
    "      --window W       griffin: the local attention's window, dividing T (16)\n"
    "      --lru-width R    griffin: the recurrence's width (4/3 D rounded down to a\n"
    "                       multiple of H)\n"
    "  -o, --output FILE    write FILE (atomically) instead of standard output\n"
    "  -h, --help           show this help\n\n"
    "Example: partita model gpt --layers 48 --d-model 1024 --heads 16 --seq 1024 \\\n"
    "             --vocab 32000 -o gpt48.pir\n\n"
    "Exit status: 0 success, 2 bad usage or impossible sizes.\n"};

static int run(int argc, char **argv) {
  if (pt_cli_wants_help(&pt_cmd_model, argc, argv))
    return PT_EXIT_OK;
  static const struct option opts[] = {
      {"layers", required_argument, 0, 'L'},     {"d-model", required_argument, 0, 'D'},
      {"heads", required_argument, 0, 'H'},      {"kv-heads", required_argument, 0, 'K'},
      {"mlp-hidden", required_argument, 0, 'F'}, {"vocab", required_argument, 0, 'V'},
      {"seq", required_argument, 0, 'T'},        {"batch", required_argument, 0, 'B'},
      {"window", required_argument, 0, 'W'},     {"lru-width", required_argument, 0, 'R'},
      {"output", required_argument, 0, 'o'},     {0, 0, 0, 0}};
  /* options first, the kind after them or before: collect, then apply */
  const char *vals[128] = {0};
  const char *out = NULL;
  int c;
  opterr = 0;
  optind = 1;
  while ((c = getopt_long(argc, argv, "o:", opts, NULL)) != -1) {
    if (c == 'o')
      out = optarg;
    else if (c != '?' && c != ':' && c < 128)
      vals[c] = optarg;
    else
      return pt_cli_bad_option(&pt_cmd_model, argc, argv);
  }
  if (optind >= argc)
    return pt_cli_usage(&pt_cmd_model, "which model? gpt, llama, griffin or mlp");
  if (argc - optind > 1)
    return pt_cli_usage(&pt_cmd_model, "model takes one kind, got %d words", argc - optind);
  pt_model_kind kind;
  if (!pt_model_kind_parse(argv[optind], &kind))
    return pt_cli_usage(&pt_cmd_model, "unknown model '%s' (the models: gpt, llama, griffin, mlp)",
                        argv[optind]);
  pt_model_opts o = pt_model_defaults(kind);
  const struct {
    int key;
    const char *name;
    int64_t *field;
  } fields[] = {{'L', "--layers", &o.layers},
                {'D', "--d-model", &o.d_model},
                {'H', "--heads", &o.heads},
                {'K', "--kv-heads", &o.kv_heads},
                {'F', "--mlp-hidden", &o.mlp_hidden},
                {'V', "--vocab", &o.vocab},
                {'T', "--seq", &o.seq},
                {'B', "--batch", &o.batch},
                {'W', "--window", &o.window},
                {'R', "--lru-width", &o.lru_width}};
  for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
    const char *v = vals[fields[i].key];
    if (v && kind == PT_MODEL_MLP && strchr("HKVTWR", fields[i].key))
      return pt_cli_usage(&pt_cmd_model, "%s is not a size of the mlp model (it takes --layers, "
                          "--d-model, --mlp-hidden and --batch)", fields[i].name);
    if (v && kind != PT_MODEL_GRIFFIN && strchr("WR", fields[i].key))
      return pt_cli_usage(&pt_cmd_model, "%s is a size of the griffin model only", fields[i].name);
    uint64_t u;
    if (!v)
      continue;
    if (!pt_cli_parse_u64(v, &u) || u < 1 || u > INT64_MAX)
      return pt_cli_usage(&pt_cmd_model, "%s needs an integer >= 1, not '%s'", fields[i].name, v);
    *fields[i].field = (int64_t)u;
  }
  /* GPT's key/value heads follow --heads unless given */
  if (kind == PT_MODEL_GPT && !vals['K'])
    o.kv_heads = o.heads;
  /* Llama's default 2 key/value heads only where they divide the heads */
  if (kind == PT_MODEL_LLAMA && !vals['K'] && o.heads % o.kv_heads)
    o.kv_heads = o.heads;
  /* Griffin's MLP and recurrence widths follow --d-model unless given */
  if (kind == PT_MODEL_GRIFFIN && !vals['F'])
    o.mlp_hidden = o.d_model > INT64_MAX / 3 ? INT64_MAX : 3 * o.d_model; /* checked below */
  if (kind == PT_MODEL_GRIFFIN && !vals['R'])
    o.lru_width = pt_model_griffin_lru_width(o.d_model, o.heads);
  char err[160];
  if (!pt_model_check(&o, err, sizeof err))
    return pt_cli_usage(&pt_cmd_model, "%s", err);
  char *text = pt_model_write(&o);
  if (!text) {
    fprintf(stderr, "partita model: error: out of memory writing the model\n");
    return PT_EXIT_INPUT;
  }
  bool ok = true;
  if (out)
    ok = pt_cli_write_text(out, text);
  else
    fputs(text, stdout);
  free(text);
  return ok ? PT_EXIT_OK : PT_EXIT_INPUT;
}
