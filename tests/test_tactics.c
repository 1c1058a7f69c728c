/* Tactic scripts and their application: every malformed script or tactic
 * that cannot apply gets its message at the right line and column; the
 * shipped strategies give the textbook layouts; propagation is idempotent
 * and tactic-by-tactic application never undoes anything; `partition` and
 * `explain` as a user runs them. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "passes.h"
#include "propagate.h"
#include "sharding.h"
#include "tactics.h"
#include "testutil.h"

/* ---- helpers ----------------------------------------------------------- */

static pt_module *load_example(const char *rel, pt_diag *d) {
  char *path = pt_test_path(rel);
  pt_module *m = pt_parse_file(path, d);
  pt_free(path);
  ck_assert_msg(m && pt_verify_module(m, d) == PT_OK, "cannot load %s", rel);
  /* models with blocks (tiny_griffin.pir) are flattened as every command does */
  ck_assert_msg(pt_pass_inline(m, "loss", d) == PT_OK, "cannot inline %s", rel);
  return m;
}

static pt_schedule *load_script(const char *rel, pt_diag *d) {
  char *path = pt_test_path(rel);
  pt_schedule *s = pt_schedule_read(path, d);
  pt_free(path);
  if (!s)
    pt_diag_print(d, stderr);
  ck_assert_msg(s, "cannot read %s", rel);
  return s;
}

/* The example program with, if train, its adam train_step; returns the
 * function a strategy applies to. */
static pt_func *example_func(pt_module *m, bool train, pt_diag *d) {
  if (!train)
    return pt_module_find_func(m, "loss");
  pt_optimizer o = pt_optimizer_default(PT_OPTIM_ADAM);
  pt_func *ts = NULL;
  ck_assert_int_eq(pt_pass_train_step(m, "loss", &o, NULL, &ts, d), PT_OK);
  return ts;
}

static char *func_text(const pt_func *f) {
  char *buf = NULL;
  size_t n = 0;
  FILE *out = open_memstream(&buf, &n);
  ck_assert_ptr_nonnull(out);
  pt_print_func(f, out);
  fclose(out);
  char *s = pt_strdup(buf);
  free(buf);
  return s;
}

/* A value of f by name: an argument or named value; "->R" the value
 * returned as result R; "grad.P" the gradient of param P inside an adam
 * train_step (found through the update m' = beta1 m + (1 - beta1) g). */
static pt_value *find_value(pt_func *f, const char *name) {
  if (strncmp(name, "->", 2) == 0) {
    int i = pt_func_find_result(f, name + 2);
    ck_assert_msg(i >= 0, "@%s has no result %s", f->name, name + 2);
    return f->results[i].value;
  }
  if (strncmp(name, "grad.", 5) == 0) {
    char r[256];
    snprintf(r, sizeof r, "opt.%s.m", name + 5);
    int i = pt_func_find_result(f, r);
    ck_assert_msg(i >= 0, "@%s has no result %s", f->name, r);
    const pt_op *add = f->results[i].value->def;
    ck_assert_msg(add && add->code == PT_OP_ADD && add->operands[1]->def &&
                      add->operands[1]->def->code == PT_OP_MUL,
                  "adam's update of %s no longer reads add(mul(.., m), mul(.., g)): update "
                  "find_value",
                  r);
    return add->operands[1]->def->operands[1];
  }
  for (int i = 0; i < f->nargs; i++)
    if (strcmp(f->args[i]->name, name) == 0)
      return f->args[i];
  for (int i = 0; i < f->nops; i++)
    if (f->ops[i]->result->name && strcmp(f->ops[i]->result->name, name) == 0)
      return f->ops[i]->result;
  ck_abort_msg("@%s has no value %s", f->name, name);
  return NULL;
}

/* ---- bad scripts and tactics that cannot apply ------------------------- */

typedef struct {
  const char *name;
  const char *yaml;
  const char *pir; /* NULL: examples/mlp.pir (for apply-time errors) */
  const char *want;
  int line, col;
} bad_case;

static const char *const mesh4_prog = "mesh {batch = 4}\n"
                                      "func @loss(input %x: f32[8,4]) -> (y: f32[8,4]) {\n"
                                      "  %y = neg %x : f32[8,4]\n"
                                      "  return %y\n}\n";

static const bad_case bad_cases[] = {
    /* YAML itself */
    {"unclosed flow mapping", "mesh: {batch: 2\nschedule: []\n", NULL,
     "YAML syntax: did not find expected ',' or '}'", 2, 9},
    {"bad indentation", "mesh:\n  batch: 2\n schedule: []\n", NULL,
     "YAML syntax: did not find expected key", 3, 2},
    {"undefined alias", "mesh: {batch: 2}\nschedule: *x\n", NULL, "found undefined alias", 2, 11},
    {"a tab", "mesh: {batch: 2}\n\tschedule: []\n", NULL,
     "found character that cannot start any token", 2, 1},
    {"invalid UTF-8", "mesh: {batch: 2}\nschedule: [\xff]\n", NULL, "invalid leading UTF-8 octet",
     2, 12},
    {"two documents", "mesh: {batch: 2}\nschedule: []\n---\nmesh: {batch: 2}\n", NULL,
     "holds one YAML document", 4, 1},
    /* the top level */
    {"empty script", "", NULL, "the tactic script is empty", 1, 1},
    {"top level is a list", "- a\n- b\n", NULL,
     "the top level must be a mapping with keys 'mesh' and 'schedule', not a list", 1, 1},
    {"unknown top-level key", "mesh: {batch: 2}\nschedul: []\n", NULL,
     "unknown key 'schedul' in the top level (did you mean 'schedule'?); allowed keys: mesh, "
     "schedule",
     2, 1},
    {"missing mesh", "schedule: []\n", NULL, "has no 'mesh'", 1, 1},
    {"missing schedule", "mesh: {batch: 2}\n", NULL, "has no 'schedule'", 1, 1},
    {"schedule is a mapping", "mesh: {batch: 2}\nschedule: {a: 1}\n", NULL,
     "'schedule' must be a list of tactics", 2, 11},
    /* the mesh */
    {"mesh is a list", "mesh: [2]\nschedule: []\n", NULL,
     "'mesh' must be a mapping of axis names to sizes", 1, 7},
    {"mesh axis size 0", "mesh: {batch: 0}\nschedule: []\n", NULL,
     "mesh axis 'batch' has size 0; a size must be at least 1", 1, 15},
    {"negative mesh axis size", "mesh:\n  batch: 2\n  model: -4\nschedule: []\n", NULL,
     "mesh axis 'model' has size -4", 3, 10},
    {"mesh axis size not an integer", "mesh: {batch: 1.5}\nschedule: []\n", NULL,
     "mesh axis 'batch' has size '1.5'; a size is a positive integer", 1, 15},
    {"mesh axis size a word", "mesh: {batch: two}\nschedule: []\n", NULL, "has size 'two'", 1, 15},
    {"mesh axis without a size", "mesh: {batch: }\nschedule: []\n", NULL,
     "mesh axis 'batch' has no size", 1, 15},
    {"duplicate mesh axis", "mesh: {batch: 2, batch: 4}\nschedule: []\n", NULL,
     "mesh axis 'batch' is declared twice", 1, 18},
    {"mesh axis not an identifier", "mesh: {\"my axis\": 2}\nschedule: []\n", NULL,
     "is not an identifier", 1, 8},
    {"empty mesh", "mesh: {}\nschedule: []\n", NULL, "the mesh has no axes", 1, 7},
    /* size limits */
    {"mesh over 2^31 devices", "mesh: {a: 65536, b: 65536}\nschedule: []\n", NULL,
     "mesh axis 'b' of size 65536 makes the mesh larger than 2^31 devices", 1, 21},
    {"mesh axis over 2^24", "mesh: {a: 16777217}\nschedule: []\n", NULL,
     "mesh axis 'a' of size 16777217 makes the mesh larger than 2^31 devices", 1, 11},
    {"mesh axis size beyond int64", "mesh: {a: 99999999999999999999}\nschedule: []\n", NULL,
     "mesh axis 'a' has size '99999999999999999999'; a size is a positive integer", 1, 11},
    /* tactics */
    {"tactic is a scalar", "mesh: {batch: 2}\nschedule:\n  - dp\n", NULL,
     "a tactic must be a mapping", 3, 5},
    {"unknown tactic key",
     "mesh: {batch: 2}\nschedule:\n  - name: dp\n    axis: batch\n"
     "    shards: {x: 0}\n",
     NULL,
     "unknown key 'shards' in a tactic (did you mean 'shard'?); allowed keys: name, axis, "
     "shard, replicate",
     5, 5},
    {"missing axis", "mesh: {batch: 2, model: 2}\nschedule:\n  - name: dp\n    shard: {x: 0}\n",
     NULL,
     "tactic 'dp' has no 'axis'; say which mesh axis it decides (the mesh has 'batch' and "
     "'model')",
     3, 5},
    {"unknown axis",
     "mesh: {batch: 2, model: 2}\nschedule:\n  - name: mp\n    axis: modle\n"
     "    shard: {w1: 1}\n",
     NULL,
     "'modle' is not an axis of the mesh (did you mean 'model'?); the mesh has 'batch' and "
     "'model'",
     4, 11},
    {"axis is a list", "mesh: {batch: 2}\nschedule:\n  - axis: [batch]\n    shard: {x: 0}\n", NULL,
     "'axis' must be the name of a mesh axis, not a list", 3, 11},
    {"negative dim", "mesh: {batch: 2}\nschedule:\n  - axis: batch\n    shard: {x: -1}\n", NULL,
     "the dimension of 'x' must be a non-negative integer, not '-1'", 4, 16},
    {"dim is a word", "mesh: {batch: 2}\nschedule:\n  - axis: batch\n    shard: {x: rows}\n", NULL,
     "not 'rows'", 4, 16},
    {"dim is quoted", "mesh: {batch: 2}\nschedule:\n  - axis: batch\n    shard: {x: \"0\"}\n", NULL,
     "the dimension of 'x' must be a non-negative integer", 4, 16},
    {"dim missing", "mesh: {batch: 2}\nschedule:\n  - axis: batch\n    shard: {x: }\n", NULL,
     "'x' has no dimension", 4, 16},
    {"dim is a list", "mesh: {batch: 2}\nschedule:\n  - axis: batch\n    shard: {x: [0]}\n", NULL,
     "must be a non-negative integer, not a list", 4, 16},
    {"shard is a list", "mesh: {batch: 2}\nschedule:\n  - axis: batch\n    shard: [x]\n", NULL,
     "'shard' must be a mapping of argument names (or globs) to dimensions", 4, 12},
    {"replicate is a mapping",
     "mesh: {batch: 2}\nschedule:\n  - axis: batch\n    shard: {x: 0}\n    replicate: {b2: 0}\n",
     NULL, "'replicate' must be a list of argument names (or globs)", 5, 16},
    {"replicate item is a list",
     "mesh: {batch: 2}\nschedule:\n  - axis: batch\n    replicate: [[b2]]\n", NULL,
     "an item of 'replicate' must be an argument name or a glob, not a list", 4, 17},
    {"same name twice in shard",
     "mesh: {batch: 2}\nschedule:\n  - axis: batch\n    shard: {x: 0, y: 0, x: 1}\n", NULL,
     "'x' is listed twice in 'shard' (first at line 4)", 4, 25},
    {"same name twice in replicate",
     "mesh: {batch: 2}\nschedule:\n  - axis: batch\n    replicate: [b2, b1, b2]\n", NULL,
     "'b2' is listed twice in 'replicate'", 4, 25},
    {"sharded and replicated",
     "mesh: {model: 2}\nschedule:\n  - name: mp\n    axis: model\n    shard: {w1: 1, b2: 0}\n"
     "    replicate: [b2]\n",
     NULL, "'b2' is both sharded (line 5) and replicated along 'model' in one tactic", 6, 17},
    {"tactic that does nothing", "mesh: {batch: 2}\nschedule:\n  - name: idle\n    axis: batch\n",
     NULL, "tactic 'idle' has neither 'shard' nor 'replicate'", 3, 5},
    {"duplicate tactic name",
     "mesh: {batch: 2}\nschedule:\n  - {name: a, axis: batch, shard: {x: 0}}\n"
     "  - {name: a, axis: batch, shard: {y: 0}}\n",
     NULL, "tactic name 'a' is already used by tactic 1 (line 3)", 4, 12},
    /* applying them */
    {"glob matching no argument",
     "mesh: {batch: 2}\nschedule:\n  - name: dp\n    axis: batch\n    shard: {x: 0, \"z*\": 0}\n",
     NULL, "'z*' matches no argument of @loss", 5, 19},
    {"dim out of range",
     "mesh: {batch: 2}\nschedule:\n  - name: dp\n    axis: batch\n"
     "    shard:\n      b1: 1\n",
     NULL, "%b1 is f32[1024]: it has no dimension 1", 6, 7},
    {"dim not divisible",
     "mesh: {batch: 3}\nschedule:\n  - name: dp\n    axis: batch\n"
     "    shard: {x: 0}\n",
     NULL,
     "dimension 0 of %x has 64 elements per device, which 'batch' (3 devices) does not divide", 5,
     13},
    {"already decided by an earlier tactic",
     "mesh: {batch: 2}\nschedule:\n  - name: dp\n    axis: batch\n    shard: {x: 0}\n"
     "  - name: again\n    axis: batch\n    shard: {x: 1}\n",
     NULL, "%x is already decided along 'batch' by an earlier tactic", 8, 13},
    {"replicating what is sharded",
     "mesh: {batch: 2}\nschedule:\n  - name: dp\n    axis: batch\n    shard: {x: 0}\n"
     "  - name: again\n    axis: batch\n    replicate: [x]\n",
     NULL, "%x is already sharded along 'batch' by an earlier tactic; it cannot be made replicated",
     8, 17},
    {"mesh differs from the program's",
     "mesh: {batch: 2}\nschedule:\n  - axis: batch\n"
     "    shard: {x: 0}\n",
     mesh4_prog, "the tactic script's mesh differs from the mesh", 1, 1},
};

START_TEST(bad_scripts) {
  const bad_case *c = &bad_cases[_i];
  pt_diag *d = pt_diag_create(NULL);
  pt_schedule *s = pt_schedule_parse(c->yaml, strlen(c->yaml), "bad.yaml", d);
  pt_module *m = NULL;
  if (s) {
    /* the script is fine: the error comes when it meets the program */
    if (c->pir) {
      m = pt_test_parse_ok(c->pir);
    } else {
      pt_diag *d2 = pt_diag_create(NULL);
      m = load_example("examples/mlp.pir", d2);
      pt_diag_destroy(d2);
    }
    pt_func *f = pt_module_find_func(m, "loss");
    pt_prop_report rep = {0};
    pt_status st = pt_schedule_set_mesh(m, s, d);
    if (st == PT_OK)
      st = pt_schedule_apply(f, s, &rep, d);
    ck_assert_msg(st == PT_ERR, "case '%s': the script applied without an error", c->name);
    pt_prop_report_free(&rep);
  }
  ck_assert_msg(pt_diag_error_count(d) >= 1, "case '%s': no error reported", c->name);
  const char *text = pt_diag_text(d, 0);
  pt_loc loc = pt_diag_loc(d, 0);
  ck_assert_msg(strstr(text, c->want), "case '%s': the message is\n  %s\nwhich lacks\n  %s",
                c->name, pt_diag_message(d, 0), c->want);
  ck_assert_msg(
      loc.file && strcmp(loc.file, "bad.yaml") == 0 && loc.line == c->line && loc.col == c->col,
      "case '%s': located at %s:%d:%d, expected bad.yaml:%d:%d (%s)", c->name,
      loc.file ? loc.file : "?", loc.line, loc.col, c->line, c->col, pt_diag_message(d, 0));
  /* one clear message, not a cascade */
  ck_assert_msg(pt_diag_error_count(d) == 1, "case '%s': %d errors, the second: %s", c->name,
                pt_diag_error_count(d), pt_diag_message(d, 1));
  pt_module_destroy(m);
  pt_schedule_destroy(s);
  pt_diag_destroy(d);
}
END_TEST

/* A good script: every field, locations at the key of `name: dim`. */
START_TEST(good_script_fields) {
  const char *text = "# a comment\n"
                     "mesh: {batch: 2, model: 4}\n"
                     "schedule:\n"
                     "  - name: data-parallel\n"
                     "    axis: batch\n"
                     "    shard: {x: 0, \"y*\": 0}\n"
                     "  - axis: model\n"
                     "    shard:\n"
                     "      w1: 1\n"
                     "      'w[23]': 0\n"
                     "    replicate: [b2, b3]\n";
  pt_diag *d = pt_diag_create(NULL);
  pt_schedule *s = pt_schedule_parse(text, strlen(text), "good.yaml", d);
  if (!s)
    pt_diag_print(d, stderr);
  ck_assert_ptr_nonnull(s);
  ck_assert_str_eq(s->file, "good.yaml");
  ck_assert_int_eq(s->mesh.naxes, 2);
  ck_assert_str_eq(s->mesh.names[0], "batch");
  ck_assert_int_eq(s->mesh.sizes[0], 2);
  ck_assert_str_eq(s->mesh.names[1], "model");
  ck_assert_int_eq(s->mesh.sizes[1], 4);
  ck_assert_int_eq(s->mesh.loc.line, 2);
  ck_assert_int_eq(s->ntactics, 2);
  const pt_tactic *t = &s->tactics[0];
  ck_assert_str_eq(t->name, "data-parallel");
  ck_assert_str_eq(t->axis_name, "batch");
  ck_assert_int_eq(t->axis, 0);
  ck_assert_int_eq(t->loc.line, 4);
  ck_assert_int_eq(t->loc.col, 5);
  ck_assert_int_eq(t->nshard, 2);
  ck_assert_int_eq(t->nreplicate, 0);
  ck_assert_str_eq(t->shard[1].glob, "y*");
  ck_assert_int_eq(t->shard[1].dim, 0);
  ck_assert_int_eq(t->shard[1].loc.line, 6);
  ck_assert_int_eq(t->shard[1].loc.col, 19);
  t = &s->tactics[1];
  ck_assert_str_eq(t->name, "tactic 2"); /* the default name */
  ck_assert_int_eq(t->axis, 1);
  ck_assert_int_eq(t->nshard, 2);
  ck_assert_str_eq(t->shard[0].glob, "w1");
  ck_assert_int_eq(t->shard[0].dim, 1);
  ck_assert_int_eq(t->shard[0].loc.line, 9);
  ck_assert_int_eq(t->shard[0].loc.col, 7);
  ck_assert_str_eq(t->shard[1].glob, "w[23]");
  ck_assert_int_eq(t->nreplicate, 2);
  ck_assert_str_eq(t->replicate[1].glob, "b3");
  ck_assert_int_eq(t->replicate[1].dim, -1);
  ck_assert_int_eq(t->replicate[1].loc.line, 11);
  ck_assert_int_eq(t->replicate[1].loc.col, 21);
  ck_assert_int_eq(pt_diag_count(d), 0);
  pt_schedule_destroy(s);
  /* the empty schedule is allowed: everything ends replicated */
  s = pt_schedule_parse("mesh: {a: 1}\nschedule: []\n", 26, "e.yaml", d);
  ck_assert_ptr_nonnull(s);
  ck_assert_int_eq(s->ntactics, 0);
  pt_schedule_destroy(s);
  /* an unreadable file */
  ck_assert_ptr_null(pt_schedule_read("/nonexistent/t.yaml", d));
  ck_assert(strstr(pt_diag_message(d, 0), "/nonexistent/t.yaml: error: cannot open"));
  pt_diag_destroy(d);
}
END_TEST

/* ---- the shipped strategies: textbook layouts -------------------------- */

typedef struct {
  const char *value; /* see find_value */
  const char *want;  /* the textbook sharding */
} expect;

typedef struct {
  const char *name, *pir, *yaml;
  bool train;    /* partition the adam train_step */
  int conflicts; /* -1: not checked */
  const expect *e;
} golden;

#define END                                                                                        \
  { NULL, NULL }

/* MLP: x . w1 + b1 -> relu -> . w2 + b2 -> mse */
static const expect mlp_bp[] = {{"x", "{[batch], []}"},
                                {"y", "{[batch], []}"},
                                {"w1", "{[], []}"},
                                {"b1", "{[]}"},
                                {"w2", "{[], []}"},
                                {"b2", "{[]}"},
                                {"xw1", "{[batch], []}"},
                                {"h", "{[batch], []}"},
                                {"hw2", "{[batch], []}"},
                                {"err", "{[batch], []}"},
                                {"sum", "{} partial(sum: batch)"},
                                {"loss", "{}"},
                                END};
static const expect mlp_bp_train[] = {{"w1", "{[], []}"},
                                      {"h", "{[batch], []}"},
                                      {"grad.w1", "{[], []} partial(sum: batch)"},
                                      {"grad.b1", "{[]} partial(sum: batch)"},
                                      {"grad.w2", "{[], []} partial(sum: batch)"},
                                      {"grad.b2", "{[]} partial(sum: batch)"},
                                      {"opt.w1.m", "{[], []}"},
                                      {"opt.w1.v", "{[], []}"},
                                      {"opt.step", "{}"},
                                      {"->w1", "{[], []}"},
                                      {"->opt.w2.v", "{[], []}"},
                                      {"->loss", "{}"},
                                      END};
static const expect mlp_mp[] = {
    {"x", "{[], []}"},          {"w1", "{[], [model]}"}, {"b1", "{[model]}"},
    {"w2", "{[model], []}"},    {"b2", "{[]}"},          {"xw1", "{[], [model]}"},
    {"h_pre", "{[], [model]}"}, {"h", "{[], [model]}"},  {"hw2", "{[], []} partial(sum: model)"},
    {"pred", "{[], []}"},       {"loss", "{}"},          END};
/* w1's and w2's updates (and b1's and b2's) use equal hyper-parameter
 * constants, which cse merges; the tactics split them again, so each
 * update follows its own param. */
static const expect mlp_mp_train[] = {{"w1", "{[], [model]}"},
                                      {"w2", "{[model], []}"},
                                      {"h", "{[], [model]}"},
                                      {"hw2", "{[], []} partial(sum: model)"},
                                      {"pred", "{[], []}"},
                                      {"y", "{[], []}"},
                                      {"grad.w1", "{[], [model]}"},
                                      {"grad.b1", "{[model]}"},
                                      {"grad.w2", "{[model], []}"},
                                      {"grad.b2", "{[]}"},
                                      {"opt.w1.m", "{[], [model]}"},
                                      {"opt.b1.v", "{[model]}"},
                                      {"opt.w2.m", "{[model], []}"},
                                      {"opt.b2.m", "{[]}"},
                                      {"->w1", "{[], [model]}"},
                                      {"->w2", "{[model], []}"},
                                      {"->opt.w2.v", "{[model], []}"},
                                      END};
static const expect mlp_bp_mp[] = {{"x", "{[batch], []}"},
                                   {"w1", "{[], [model]}"},
                                   {"b1", "{[model]}"},
                                   {"w2", "{[model], []}"},
                                   {"b2", "{[]}"},
                                   {"h", "{[batch], [model]}"},
                                   {"hw2", "{[batch], []} partial(sum: model)"},
                                   {"pred", "{[batch], []}"},
                                   {"sum", "{} partial(sum: batch)"},
                                   END};
static const expect mlp_bp_mp_train[] = {{"h", "{[batch], [model]}"},
                                         {"grad.w1", "{[], [model]} partial(sum: batch)"},
                                         {"grad.b1", "{[model]} partial(sum: batch)"},
                                         {"grad.w2", "{[model], []} partial(sum: batch)"},
                                         {"opt.w1.m", "{[], [model]}"},
                                         {"opt.w2.m", "{[model], []}"},
                                         {"->w1", "{[], [model]}"},
                                         END};
static const expect mlp_z3_train[] = {
    {"x", "{[batch], []}"},
    {"w1", "{[batch], []}"},
    {"b1", "{[batch]}"},
    {"w2", "{[batch], []}"},
    {"b2", "{[batch]}"},
    {"opt.w1.m", "{[batch], []}"},
    {"opt.w1.v", "{[batch], []}"},
    {"opt.b2.v", "{[batch]}"},
    {"opt.step", "{}"},
    {"xw1", "{[batch], []}"},
    {"h", "{[batch], []}"},
    /* gradients: partial over batch (BP), consumed by the sharded update */
    {"grad.w1", "{[], []} partial(sum: batch)"},
    {"grad.b1", "{[]} partial(sum: batch)"},
    {"grad.w2", "{[], []} partial(sum: batch)"},
    {"->w1", "{[batch], []}"},
    {"->opt.w1.m", "{[batch], []}"},
    {"->opt.b2.v", "{[batch]}"},
    END};

/* Transformer block: attention by heads, MLP by hidden units. */
static const expect tb_bp[] = {{"x", "{[batch], [], []}"},
                               {"attn.wq", "{[], []}"},
                               {"mlp.w_in", "{[], []}"},
                               {"norm1.scale", "{[]}"},
                               {"h1", "{[batch], [], []}"},
                               {"q", "{[batch], [], [], []}"},
                               {"probs", "{[batch], [], [], []}"},
                               {"u", "{[batch], [], []}"},
                               {"err_sum", "{} partial(sum: batch)"},
                               END};
static const expect tb_bp_train[] = {{"grad.attn.wq", "{[], []} partial(sum: batch)"},
                                     {"grad.mlp.w_out", "{[], []} partial(sum: batch)"},
                                     {"grad.norm1.scale", "{[]} partial(sum: batch)"},
                                     {"opt.attn.wq.m", "{[], []}"},
                                     {"->attn.wq", "{[], []}"},
                                     END};
static const expect tb_mp[] = {
    {"x", "{[], [], []}"},
    {"attn.wq", "{[], [model]}"},
    {"attn.wk", "{[], [model]}"},
    {"attn.wv", "{[], [model]}"},
    {"attn.wo", "{[model], []}"},
    {"mlp.w_in", "{[], [model]}"},
    {"mlp.w_out", "{[model], []}"},
    {"norm1.scale", "{[]}"},
    {"norm2.scale", "{[]}"},
    {"h1", "{[], [], []}"},
    /* per-head tensors: [batch, seq, head, dim] and [batch, head, ...] */
    {"q_proj", "{[], [], [model]}"},
    {"q_heads", "{[], [], [model], []}"},
    {"q", "{[], [model], [], []}"},
    {"k", "{[], [model], [], []}"},
    {"v", "{[], [model], [], []}"},
    {"qk", "{[], [model], [], []}"},
    {"row_max", "{[], [model], []}"},
    {"probs", "{[], [model], [], []}"},
    {"ctx", "{[], [model], [], []}"},
    {"ctx_merged", "{[], [], [model]}"},
    {"attn_out", "{[], [], []} partial(sum: model)"},
    {"x2", "{[], [], []}"},
    {"u", "{[], [], [model]}"},
    {"gelu", "{[], [], [model]}"},
    {"mlp_out", "{[], [], []} partial(sum: model)"},
    {"out", "{[], [], []}"},
    END};
static const expect tb_mp_train[] = {
    {"q", "{[], [model], [], []}"},       {"grad.attn.wq", "{[], [model]}"},
    {"grad.attn.wo", "{[model], []}"},    {"grad.mlp.w_in", "{[], [model]}"},
    {"grad.mlp.w_out", "{[model], []}"},  {"grad.norm1.scale", "{[]}"},
    {"opt.attn.wq.m", "{[], [model]}"},   {"opt.attn.wo.m", "{[model], []}"},
    {"opt.mlp.w_out.v", "{[model], []}"}, {"opt.norm2.scale.m", "{[]}"},
    {"->attn.wq", "{[], [model]}"},       {"->attn.wo", "{[model], []}"},
    {"->mlp.w_in", "{[], [model]}"},      END};
static const expect tb_bp_mp[] = {{"x", "{[batch], [], []}"},
                                  {"attn.wq", "{[], [model]}"},
                                  {"attn.wo", "{[model], []}"},
                                  {"q", "{[batch], [model], [], []}"},
                                  {"probs", "{[batch], [model], [], []}"},
                                  {"ctx_merged", "{[batch], [], [model]}"},
                                  {"attn_out", "{[batch], [], []} partial(sum: model)"},
                                  {"u", "{[batch], [], [model]}"},
                                  {"mlp_out", "{[batch], [], []} partial(sum: model)"},
                                  {"err_sum", "{} partial(sum: batch)"},
                                  END};
static const expect tb_bp_mp_train[] = {{"grad.attn.wq", "{[], [model]} partial(sum: batch)"},
                                        {"grad.mlp.w_out", "{[model], []} partial(sum: batch)"},
                                        {"opt.mlp.w_in.m", "{[], [model]}"},
                                        {"opt.attn.wo.m", "{[model], []}"},
                                        END};
static const expect tb_z3_train[] = {{"x", "{[batch], [], []}"},
                                     {"attn.wq", "{[batch], []}"},
                                     {"attn.wo", "{[batch], []}"},
                                     {"mlp.w_in", "{[batch], []}"},
                                     {"mlp.w_out", "{[batch], []}"},
                                     {"norm1.scale", "{[batch]}"},
                                     {"opt.attn.wq.m", "{[batch], []}"},
                                     {"opt.mlp.w_out.v", "{[batch], []}"},
                                     {"opt.norm2.scale.m", "{[batch]}"},
                                     {"opt.step", "{}"},
                                     {"q", "{[batch], [], [], []}"},
                                     {"grad.attn.wq", "{[], []} partial(sum: batch)"},
                                     {"grad.mlp.w_in", "{[], []} partial(sum: batch)"},
                                     {"grad.norm2.scale", "{[]} partial(sum: batch)"},
                                     {"->attn.wq", "{[batch], []}"},
                                     {"->opt.mlp.w_in.m", "{[batch], []}"},
                                     END};

/* Griffin by heads (examples/griffin.mp.yaml): the recurrence width split
 * through the convolution (its [1, R] taps reshaped to [R] keep the split),
 * the block-diagonal gates by head, the scan by channel; the attention by
 * query heads with the one key/value head whole. */
static const expect griffin_mp_train[] = {
    {"layers.0.rg_lru.conv_w", "{[], [model]}"},
    {"layers.0/conv_w1", "{[], [model]}"},
    {"layers.0/conv_w1_r", "{[model]}"},
    {"layers.0/xr_shift3", "{[], [], [model]}"},
    {"layers.0/conv_heads", "{[], [], [model], []}"},
    {"layers.0/r_heads", "{[model], [], [], []}"},
    {"layers.0/log_a", "{[], [], [model]}"},
    {"layers.1/lru", "{[], [], [model]}"},
    {"layers.1/mix_out", "{[], [], []} partial(sum: model)"},
    {"layers.2/q_blocks", "{[], [], [], [model], []}"},
    {"layers.2/k_window", "{[], [], [], []}"},
    {"layers.2/probs", "{[], [], [], [model], []}"},
    {"layers.2/attn_out", "{[], [], []} partial(sum: model)"},
    {"grad.layers.0.rg_lru.wa", "{[model], [], []}"},
    {"grad.layers.0.rg_lru.conv_w", "{[], [model]}"},
    {"opt.layers.1.rg_lru.lambda.v", "{[model]}"},
    {"->layers.2.attn.wk", "{[], []}"},
    END};

static const golden goldens[] = {
    {"mlp bp", "examples/mlp.pir", "examples/mlp.bp.yaml", false, 0, mlp_bp},
    {"mlp bp train", "examples/mlp.pir", "examples/mlp.bp.yaml", true, 0, mlp_bp_train},
    {"mlp mp", "examples/mlp.pir", "examples/mlp.mp.yaml", false, 0, mlp_mp},
    {"mlp mp train", "examples/mlp.pir", "examples/mlp.mp.yaml", true, 0, mlp_mp_train},
    {"mlp bp_mp", "examples/mlp.pir", "examples/mlp.bp_mp.yaml", false, 0, mlp_bp_mp},
    {"mlp bp_mp train", "examples/mlp.pir", "examples/mlp.bp_mp.yaml", true, 0, mlp_bp_mp_train},
    {"mlp bp_z3 train", "examples/mlp.pir", "examples/mlp.bp_z3.yaml", true, -1, mlp_z3_train},
    {"tb bp", "examples/transformer_block.pir", "examples/transformer_block.bp.yaml", false, 0,
     tb_bp},
    {"tb bp train", "examples/transformer_block.pir", "examples/transformer_block.bp.yaml", true, 0,
     tb_bp_train},
    {"tb mp", "examples/transformer_block.pir", "examples/transformer_block.mp.yaml", false, 0,
     tb_mp},
    {"tb mp train", "examples/transformer_block.pir", "examples/transformer_block.mp.yaml", true, 0,
     tb_mp_train},
    {"tb bp_mp", "examples/transformer_block.pir", "examples/transformer_block.bp_mp.yaml", false,
     0, tb_bp_mp},
    {"tb bp_mp train", "examples/transformer_block.pir", "examples/transformer_block.bp_mp.yaml",
     true, 0, tb_bp_mp_train},
    {"tb bp_z3 train", "examples/transformer_block.pir", "examples/transformer_block.bp_z3.yaml",
     true, -1, tb_z3_train},
    {"griffin mp train", "tests/data/tiny_griffin.pir", "examples/griffin.mp.yaml", true, 0,
     griffin_mp_train},
};
#define NGOLDENS ((int)(sizeof goldens / sizeof goldens[0]))

START_TEST(textbook_layouts) {
  const golden *g = &goldens[_i];
  pt_diag *d = pt_diag_create(NULL);
  pt_module *m = load_example(g->pir, d);
  pt_schedule *s = load_script(g->yaml, d);
  pt_func *f = example_func(m, g->train, d);
  pt_prop_report rep = {0};
  ck_assert_int_eq(pt_schedule_set_mesh(m, s, d), PT_OK);
  if (pt_schedule_apply(f, s, &rep, d) != PT_OK)
    pt_diag_print(d, stderr);
  ck_assert_msg(pt_diag_error_count(d) == 0, "%s: the schedule did not apply", g->name);
  int bad = 0;
  for (const expect *e = g->e; e->value; e++) {
    char got[512];
    pt_sharding_str(find_value(f, e->value), got, sizeof got);
    if (strcmp(got, e->want) == 0)
      continue;
    fprintf(stderr, "%s: %%%s is %s, expected %s\n", g->name, e->value, got, e->want);
    bad++;
  }
  ck_assert_msg(bad == 0, "%s: %d values are not laid out as the textbook says (above)", g->name,
                bad);
  /* every value ends with every axis decided */
  for (int i = 0; i < f->nargs + f->nops; i++) {
    pt_value *v = i < f->nargs ? f->args[i] : f->ops[i - f->nargs]->result;
    ck_assert(pt_sharding_complete(v));
  }
  if (g->conflicts >= 0)
    ck_assert_msg(rep.nconflicts == g->conflicts,
                  "%s: %d conflicts, expected %d (the first at "
                  "%%%s)",
                  g->name, rep.nconflicts, g->conflicts,
                  rep.nconflicts ? rep.conflicts[0].op->result->name : "");
  pt_prop_report_free(&rep);
  pt_schedule_destroy(s);
  pt_module_destroy(m);
  pt_diag_destroy(d);
}
END_TEST

/* ZeRO-3: the weight gradient, a partial sum over batch, is consumed by an
 * update sharded along batch (where the lowering reduce-scatters), and the
 * forward dots that read the sharded weights are conflicts (all-gathers). */
START_TEST(zero3_gathers_and_scatters) {
  pt_diag *d = pt_diag_create(NULL);
  pt_module *m = load_example("examples/mlp.pir", d);
  pt_schedule *s = load_script("examples/mlp.bp_z3.yaml", d);
  pt_func *f = example_func(m, true, d);
  pt_prop_report rep = {0};
  ck_assert_int_eq(pt_schedule_set_mesh(m, s, d), PT_OK);
  ck_assert_int_eq(pt_schedule_apply(f, s, &rep, d), PT_OK);
  pt_value *g = find_value(f, "grad.w1");
  int consumers = 0;
  for (int i = 0; i < f->nops; i++)
    for (int k = 0; k < f->ops[i]->noperands; k++)
      if (f->ops[i]->operands[k] == g) {
        char b[256];
        ck_assert_str_eq(pt_sharding_str(f->ops[i]->result, b, sizeof b), "{[batch], []}");
        consumers++;
      }
  ck_assert_int_ge(consumers, 1);
  bool xw1 = false;
  for (int i = 0; i < rep.nconflicts; i++) {
    ck_assert_int_eq(rep.conflicts[i].tactic, 1); /* zero-3 meets data-parallel */
    xw1 |=
        rep.conflicts[i].op->result->name && strcmp(rep.conflicts[i].op->result->name, "xw1") == 0;
  }
  ck_assert_msg(xw1, "no conflict at the first dot, where w1 is gathered");
  pt_prop_report_free(&rep);
  pt_schedule_destroy(s);
  pt_module_destroy(m);
  pt_diag_destroy(d);
}
END_TEST

/* ---- properties -------------------------------------------------------- */

/* Every shipped strategy on the loss (where it applies) and the train step. */
typedef struct {
  const char *pir, *yaml;
  bool train;
} config;

static const config configs[] = {
    {"examples/mlp.pir", "examples/mlp.bp.yaml", false},
    {"examples/mlp.pir", "examples/mlp.mp.yaml", false},
    {"examples/mlp.pir", "examples/mlp.bp_mp.yaml", false},
    {"examples/mlp.pir", "examples/mlp.bp_mp.yaml", true},
    {"examples/mlp.pir", "examples/mlp.bp_z3.yaml", true},
    {"examples/transformer_block.pir", "examples/transformer_block.bp.yaml", false},
    {"examples/transformer_block.pir", "examples/transformer_block.mp.yaml", true},
    {"examples/transformer_block.pir", "examples/transformer_block.bp_mp.yaml", false},
    {"examples/transformer_block.pir", "examples/transformer_block.bp_mp.yaml", true},
    {"examples/transformer_block.pir", "examples/transformer_block.bp_z3.yaml", true},
};
#define NCONFIGS ((int)(sizeof configs / sizeof configs[0]))

/* Re-running propagation along every tactic's axis changes nothing, both
 * before the schedule's end makes the rest replicated and after. */
START_TEST(propagation_is_idempotent) {
  const config *c = &configs[_i];
  pt_diag *d = pt_diag_create(NULL);
  pt_module *m = load_example(c->pir, d);
  pt_schedule *s = load_script(c->yaml, d);
  pt_func *f = example_func(m, c->train, d);
  ck_assert_int_eq(pt_schedule_set_mesh(m, s, d), PT_OK);
  for (int i = 0; i < s->ntactics; i++)
    ck_assert_int_eq(pt_tactic_apply(f, s, i, NULL, d), PT_OK);
  for (int round = 0; round < 2; round++) {
    char *before = func_text(f);
    for (int i = 0; i < s->ntactics; i++) {
      pt_prop_report rep = {0};
      ck_assert_int_eq(pt_propagate_axis(f, s->tactics[i].axis, i, &rep), PT_OK);
      ck_assert_int_eq(rep.sweeps, 1); /* one sweep that finds nothing to do */
      pt_prop_report_free(&rep);
    }
    char *after = func_text(f);
    ck_assert_msg(strcmp(before, after) == 0, "%s on %s: propagation changed its own fixpoint",
                  c->yaml, c->train ? "train_step" : "loss");
    pt_free(before);
    pt_free(after);
    pt_propagate_finish(f);
  }
  pt_schedule_destroy(s);
  pt_module_destroy(m);
  pt_diag_destroy(d);
}
END_TEST

typedef struct {
  uint8_t kind;
  int8_t dim;
} axstate;

/* Tactic by tactic on a fresh copy equals the whole schedule at once, and
 * nothing decided after one tactic changes afterwards (tactics never undo).
 * The sharded function also prints, parses and prints back the same. */
START_TEST(one_by_one_equals_schedule) {
  const config *c = &configs[_i];
  pt_diag *d = pt_diag_create(NULL);
  pt_schedule *s = load_script(c->yaml, d);

  pt_module *ma = load_example(c->pir, d);
  pt_func *fa = example_func(ma, c->train, d);
  ck_assert_int_eq(pt_schedule_set_mesh(ma, s, d), PT_OK);
  ck_assert_int_eq(pt_schedule_apply(fa, s, NULL, d), PT_OK);
  char *whole = func_text(fa);

  pt_module *mb = load_example(c->pir, d);
  pt_func *fb = example_func(mb, c->train, d);
  ck_assert_int_eq(pt_schedule_set_mesh(mb, s, d), PT_OK);
  int nv = fb->nargs + fb->nops, na = mb->mesh.naxes;
  axstate *seen = pt_calloc((size_t)s->ntactics * (size_t)nv * (size_t)na + 1, sizeof *seen);
  char **texts = pt_calloc((size_t)s->ntactics + 1, sizeof *texts);
  for (int t = 0; t < s->ntactics; t++) {
    ck_assert_int_eq(pt_tactic_apply(fb, s, t, NULL, d), PT_OK);
    texts[t] = func_text(fb);
    for (int i = 0; i < nv; i++) {
      pt_value *v = i < fb->nargs ? fb->args[i] : fb->ops[i - fb->nargs]->result;
      for (int a = 0; a < na; a++) {
        pt_axis_state st = pt_sharding_axis(v, a);
        seen[((size_t)t * nv + i) * na + a] = (axstate){st.kind, st.dim};
      }
    }
  }
  pt_propagate_finish(fb);
  char *stepwise = func_text(fb);
  ck_assert_msg(strcmp(whole, stepwise) == 0, "%s: tactic by tactic differs from the schedule",
                c->yaml);
  for (int t = 0; t < s->ntactics; t++) {
    if (t > 0)
      ck_assert_msg(strcmp(texts[t - 1], texts[t]) != 0 || s->tactics[t].nshard == 0,
                    "%s: tactic %d changed nothing", c->yaml, t + 1);
    for (int i = 0; i < nv; i++) {
      pt_value *v = i < fb->nargs ? fb->args[i] : fb->ops[i - fb->nargs]->result;
      for (int a = 0; a < na; a++) {
        axstate was = seen[((size_t)t * nv + i) * na + a];
        pt_axis_state now = pt_sharding_axis(v, a);
        if (was.kind != PT_SH_UNKNOWN)
          ck_assert_msg(was.kind == now.kind && was.dim == now.dim,
                        "%s: a value decided after tactic %d changed later", c->yaml, t + 1);
      }
    }
  }
  for (int t = 0; t < s->ntactics; t++)
    pt_free(texts[t]);
  /* the sharded module prints and parses back to the same text */
  char *text = pt_print_module_str(mb);
  pt_module *back = pt_parse(text, strlen(text), "back.pir", d);
  if (!back)
    pt_diag_print(d, stderr);
  ck_assert_ptr_nonnull(back);
  ck_assert_int_eq(pt_verify_module(back, d), PT_OK);
  char *again = pt_print_module_str(back);
  ck_assert_msg(strcmp(text, again) == 0, "%s: the sharded module does not round-trip", c->yaml);
  pt_free(text);
  pt_free(again);
  pt_module_destroy(back);

  pt_free(texts);
  pt_free(seen);
  pt_free(whole);
  pt_free(stepwise);
  pt_module_destroy(ma);
  pt_module_destroy(mb);
  pt_schedule_destroy(s);
  pt_diag_destroy(d);
}
END_TEST

/* ---- the commands ------------------------------------------------------ */

static char tmpdir[256];


typedef pt_test_result result;
#define slurp pt_test_slurp
#define result_free pt_test_result_free

static result partita(const char *args) { return pt_test_partita_run(tmpdir, args); }


static void setup(void) {
  snprintf(tmpdir, sizeof tmpdir, "/tmp/partita-tactics-XXXXXX");
  ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void teardown(void) {
  char cmd[512];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
  ck_assert_int_eq(system(cmd), 0);
}

typedef pt_test_usage_case usage_case;

static const usage_case usage_cases[] = {
    {"partition without --tactics", "partition examples/mlp.pir", 2, "--tactics is required"},
    {"partition without a file", "partition --tactics examples/mlp.bp.yaml", 2, "no input file"},
    {"partition with two files", "partition -t examples/mlp.bp.yaml examples/mlp.pir x.pir", 2,
     "partition takes one file"},
    {"partition with a bad optimizer",
     "partition examples/mlp.pir -t examples/mlp.bp.yaml --optimizer lion", 2,
     "unknown optimizer 'lion'"},
    {"partition with a bad --min-bytes",
     "partition examples/mlp.pir -t examples/mlp.bp.yaml --min-bytes lots", 2,
     "--min-bytes needs a non-negative integer"},
    {"partition with an unknown option", "partition examples/mlp.pir -t x --frob", 2,
     "unknown option"},
    {"partition with a missing script", "partition examples/mlp.pir -t /nonexistent.yaml", 1,
     "/nonexistent.yaml: error: cannot open"},
    {"partition a missing function", "partition examples/mlp.pir -t examples/mlp.bp.yaml -f nope",
     1, "has no function '@nope'"},
    {"zero-3 without an optimizer", "partition examples/mlp.pir -t examples/mlp.bp_z3.yaml", 1,
     "examples/mlp.bp_z3.yaml:18:7: error: 'opt.*.*' matches no argument of @loss"},
    {"explain without a value", "explain examples/mlp.pir -t examples/mlp.bp.yaml", 2,
     "which value?"},
    {"explain without --tactics", "explain examples/mlp.pir h", 2, "--tactics is required"},
    {"explain an unknown value", "explain examples/mlp.pir -t examples/mlp.bp.yaml h_pr", 1,
     "@loss has no value '%h_pr'; close names: %h_pre"},
};

START_TEST(bad_command_lines) {
  const usage_case *c = &usage_cases[_i];
  pt_test_check_usage(tmpdir, c);
}
END_TEST

START_TEST(help_and_bad_script) {
  const char *cmds[] = {"partition", "explain"};
  for (int i = 0; i < 2; i++) {
    char args[64], want[64];
    snprintf(args, sizeof args, "%s --help", cmds[i]);
    snprintf(want, sizeof want, "Usage: partita %s", cmds[i]);
    result r = partita(args);
    ck_assert_msg(r.status == 0 && strstr(r.out, want), "%s --help failed", cmds[i]);
    result_free(&r);
  }
  result r = partita("--help");
  ck_assert(strstr(r.out, "partition") && strstr(r.out, "explain"));
  result_free(&r);
  /* a YAML error: located, with the line and a caret */
  char path[512], args[1024];
  snprintf(path, sizeof path, "%s/bad.yaml", tmpdir);
  FILE *f = fopen(path, "w");
  ck_assert_ptr_nonnull(f);
  fputs("mesh: {batch: 2, model: 2}\nschedule:\n  - name: mp\n    axis: modle\n"
        "    shard: {w1: 1}\n",
        f);
  fclose(f);
  snprintf(args, sizeof args, "partition examples/mlp.pir --tactics '%s'", path);
  r = partita(args);
  ck_assert_int_eq(r.status, 1);
  ck_assert_msg(strstr(r.err, "bad.yaml:4:11: error: 'modle' is not an axis of the mesh (did "
                              "you mean 'model'?); the mesh has 'batch' and 'model'\n"
                              "      axis: modle\n            ^\n"),
                "%s", r.err);
  result_free(&r);
}
END_TEST

START_TEST(partition_json) {
  result r = partita("partition examples/mlp.pir --tactics examples/mlp.bp_mp.yaml --json "
                     "--min-bytes 131072");
  ck_assert_msg(r.status == 0, "%s", r.err);
  json_error_t je;
  json_t *root = json_loads(r.out, 0, &je);
  ck_assert_msg(root, "not JSON: %s", je.text);
  ck_assert_str_eq(json_string_value(json_object_get(root, "func")), "loss");
  ck_assert_int_eq(json_integer_value(json_object_get(root, "devices")), 4);
  ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(root, "mesh"), "model")), 2);
  json_t *args = json_object_get(root, "arguments");
  ck_assert_int_eq(json_array_size(args), 6);
  json_t *w1 = json_array_get(args, 2);
  ck_assert_str_eq(json_string_value(json_object_get(w1, "name")), "w1");
  ck_assert_str_eq(json_string_value(json_object_get(w1, "role")), "param");
  ck_assert_str_eq(json_string_value(json_object_get(w1, "sharding")), "{[], [model]}");
  ck_assert_int_eq(json_integer_value(json_array_get(json_object_get(w1, "local_shape"), 1)), 512);
  ck_assert_int_eq(json_integer_value(json_object_get(w1, "local_bytes")), 1024 * 512 * 4);
  json_t *ax = json_array_get(json_object_get(w1, "axes"), 1);
  ck_assert_str_eq(json_string_value(json_object_get(ax, "state")), "sharded");
  ck_assert_int_eq(json_integer_value(json_object_get(ax, "dim")), 1);
  ck_assert_str_eq(json_string_value(json_object_get(ax, "tactic")), "megatron");
  json_t *res = json_object_get(root, "results");
  ck_assert_int_eq(json_array_size(res), 1);
  ck_assert_str_eq(json_string_value(json_object_get(json_array_get(res, 0), "name")), "loss");
  /* intermediates of at least 128 KiB per device: those not sharded on model */
  json_t *mid = json_object_get(root, "intermediates");
  ck_assert_int_eq(json_array_size(mid), 5);
  ck_assert_str_eq(json_string_value(json_object_get(json_array_get(mid, 0), "name")), "hw2");
  ck_assert_str_eq(json_string_value(json_object_get(json_array_get(mid, 0), "sharding")),
                   "{[batch], []} partial(sum: model)");
  ck_assert_int_eq(json_array_size(json_object_get(root, "conflicts")), 0);
  ck_assert(strstr(json_string_value(json_object_get(root, "text")), "func @loss("));
  json_decref(root);
  result_free(&r);

  /* conflicts, located at the op */
  r = partita("partition examples/mlp.pir -t examples/mlp.bp_z3.yaml --optimizer adam --json");
  ck_assert_msg(r.status == 0, "%s", r.err);
  root = json_loads(r.out, 0, &je);
  ck_assert_ptr_nonnull(root);
  ck_assert_str_eq(json_string_value(json_object_get(root, "func")), "train_step");
  json_t *cs = json_object_get(root, "conflicts");
  ck_assert_int_ge(json_array_size(cs), 1);
  json_t *c0 = json_array_get(cs, 0);
  ck_assert_str_eq(json_string_value(json_object_get(c0, "file")), "examples/mlp.pir");
  ck_assert_int_gt(json_integer_value(json_object_get(c0, "line")), 0);
  ck_assert_str_eq(json_string_value(json_object_get(c0, "axis")), "batch");
  ck_assert_str_eq(json_string_value(json_object_get(c0, "tactic")), "zero-3");
  ck_assert(strlen(json_string_value(json_object_get(c0, "why"))) > 0);
  json_decref(root);
  result_free(&r);

  /* the text form: the sharded function, then the tables */
  r = partita("partition examples/mlp.pir -t examples/mlp.mp.yaml");
  ck_assert_msg(r.status == 0, "%s", r.err);
  ck_assert(strstr(r.out, "mesh {model = 2}\n"));
  ck_assert(strstr(r.out, "param %w1: f32[1024,1024] {[], [model]},"));
  ck_assert(strstr(r.out, "%hw2 = dot %h, %w2 {lhs_contract = [1], rhs_contract = [0]} : "
                          "f32[64,1024] {[], []} partial(sum: model)\n"));
  ck_assert(strstr(r.out, "  %w1   param  f32[1024,1024]  {[], [model]}  f32[1024,512]       2 "
                          "MiB\n"));
  ck_assert(strstr(r.out, "conflicts (0)\n"));
  result_free(&r);

  /* -o writes a module that checks */
  char cmd[1024];
  snprintf(cmd, sizeof cmd, "partition examples/mlp.pir -t examples/mlp.mp.yaml -q -o '%s/s.pir'",
           tmpdir);
  r = partita(cmd);
  ck_assert_msg(r.status == 0, "%s", r.err);
  ck_assert(strstr(r.out, "wrote "));
  result_free(&r);
  snprintf(cmd, sizeof cmd, "check '%s/s.pir'", tmpdir);
  r = partita(cmd);
  ck_assert_msg(r.status == 0, "%s", r.err);
  ck_assert(strstr(r.out, "s.pir: ok"));
  result_free(&r);
}
END_TEST

START_TEST(explain_chain_and_grid) {
  result r = partita("explain examples/mlp.pir --tactics examples/mlp.bp_mp.yaml %h");
  ck_assert_msg(r.status == 0, "%s", r.err);
  const char *o = r.out;
  ck_assert(strstr(o, "%h: f32[64,1024] {[batch], [model]} in @loss"));
  ck_assert(strstr(o, "per device: f32[32,512] (64 KiB)"));
  /* along model: back through max, add and dot to the seed of w1 */
  const char *model = strstr(o, "along 'model'");
  ck_assert_ptr_nonnull(model);
  ck_assert(strstr(model, "  %h ← max %h_pre, %zero (examples/mlp.pir:16:8) [dim 1]\n"));
  ck_assert(strstr(model, "  %xw1 ← dot %x, %w1 (examples/mlp.pir:12:10) [dim 1]\n"));
  ck_assert(strstr(model, "  %w1 seeded on dim 1 by tactic 'megatron' "
                          "(examples/mlp.bp_mp.yaml:10:13)\n"));
  const char *batch = strstr(o, "along 'batch'");
  ck_assert(batch && batch < model);
  ck_assert(strstr(batch, "  %x seeded on dim 0 by tactic 'data-parallel' "
                          "(examples/mlp.bp_mp.yaml:7:13)\n"));
  /* the grid: 2 x 2 blocks, one device each */
  ck_assert(strstr(o, "┌───────────────────┬───────────────────┐"));
  ck_assert(strstr(o, "│       dev 0       │       dev 1       │"));
  ck_assert(strstr(o, "│  [32:64, 0:512]   │ [32:64, 512:1024] │"));
  result_free(&r);

  /* a partial value, a replicated axis, a bias; the grid lists every holder */
  r = partita("explain examples/mlp.pir -t examples/mlp.bp_mp.yaml hw2");
  ck_assert_msg(r.status == 0, "%s", r.err);
  ck_assert(strstr(r.out, "along 'model' (2 devices): a partial sum"));
  ck_assert(strstr(r.out, "  %hw2 ← dot %h, %w2 (examples/mlp.pir:18:10) [partial sum]\n"));
  ck_assert(strstr(r.out, "│     dev 0,1     │"));
  ck_assert(strstr(r.out, "partial sum over 'model'"));
  result_free(&r);
  r = partita("explain examples/mlp.pir -t examples/mlp.bp_mp.yaml b1");
  ck_assert_msg(r.status == 0, "%s", r.err);
  ck_assert(strstr(r.out, "no tactic decided %b1 along 'batch'"));
  ck_assert(strstr(r.out, "│  dev 0,2   │  dev 1,3   │"));
  result_free(&r);
  r = partita("explain examples/mlp.pir -t examples/mlp.mp.yaml b2");
  ck_assert_msg(r.status == 0, "%s", r.err);
  ck_assert(strstr(r.out, "  %b2 made replicated along 'model' by tactic 'megatron' "
                          "(examples/mlp.mp.yaml:11:17)\n"));
  result_free(&r);

  /* backward steps, through a train step; an unnamed value by number */
  r = partita("explain examples/mlp.pir -t examples/mlp.bp_z3.yaml --optimizer adam opt.w1.m");
  ck_assert_msg(r.status == 0, "%s", r.err);
  ck_assert(strstr(r.out, "%opt.w1.m seeded on dim 0 by tactic 'zero-3' "
                          "(examples/mlp.bp_z3.yaml:18:7) [glob 'opt.*.*']"));
  result_free(&r);
  r = partita("explain examples/transformer_block.pir -t examples/transformer_block.mp.yaml "
              "norm1.scale");
  ck_assert_msg(r.status == 0, "%s", r.err);
  ck_assert(strstr(r.out, "made replicated along 'model' by tactic 'megatron' "
                          "(examples/transformer_block.mp.yaml:20:17) [glob 'norm*.scale']"));
  result_free(&r);
  r = partita("explain examples/transformer_block.pir -t examples/transformer_block.mp.yaml q");
  ck_assert_msg(r.status == 0, "%s", r.err);
  ck_assert(strstr(r.out, "  %q ← transpose %q_heads"));
  ck_assert(strstr(r.out, "  %q_heads ← reshape %q_proj"));
  ck_assert(strstr(r.out, "  %attn.wq seeded on dim 1 by tactic 'megatron'"));
  ck_assert(!strstr(r.out, "┌")); /* rank 4: no grid */
  result_free(&r);
}
END_TEST

int main(void) {
  Suite *s = suite_create("tactics");
  TCase *tc = tcase_create("scripts");
  tcase_add_loop_test(tc, bad_scripts, 0, (int)(sizeof bad_cases / sizeof bad_cases[0]));
  tcase_add_test(tc, good_script_fields);
  suite_add_tcase(s, tc);
  TCase *gold = tcase_create("strategies");
  tcase_set_timeout(gold, 300);
  tcase_add_loop_test(gold, textbook_layouts, 0, NGOLDENS);
  tcase_add_test(gold, zero3_gathers_and_scatters);
  tcase_add_loop_test(gold, propagation_is_idempotent, 0, NCONFIGS);
  tcase_add_loop_test(gold, one_by_one_equals_schedule, 0, NCONFIGS);
  suite_add_tcase(s, gold);
  TCase *cli = tcase_create("cli");
  tcase_add_checked_fixture(cli, setup, teardown);
  tcase_set_timeout(cli, 300);
  tcase_add_loop_test(cli, bad_command_lines, 0, (int)(sizeof usage_cases / sizeof usage_cases[0]));
  tcase_add_test(cli, help_and_bad_script);
  tcase_add_test(cli, partition_json);
  tcase_add_test(cli, explain_chain_and_grid);
  suite_add_tcase(s, cli);
  return pt_test_main(s);
}
