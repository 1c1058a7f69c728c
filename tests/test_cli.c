/* The `partita` command as a user runs it: exit codes, messages, --help on
 * every command, run's summary and JSON, safetensors in and out, fmt -i. */
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "safetensors.h"
#include "testutil.h"

static char tmpdir[256];


typedef pt_test_result result;
#define slurp pt_test_slurp
#define result_free pt_test_result_free

static result partita(const char *args) { return pt_test_partita_run(tmpdir, args); }


static void write_text(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  ck_assert_ptr_nonnull(f);
  fputs(text, f);
  fclose(f);
}

static void setup(void) {
  snprintf(tmpdir, sizeof tmpdir, "/tmp/partita-cli-XXXXXX");
  ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void teardown(void) {
  char cmd[512];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
  ck_assert_int_eq(system(cmd), 0);
}

/* Bad command lines: each gets its exit code and a message naming the
 * problem. */
typedef pt_test_usage_case usage_case;

static const usage_case usage_cases[] = {
    {"no command", "", 2, "Usage: partita COMMAND"},
    {"unknown command", "frobnicate", 2, "unknown command 'frobnicate'"},
    {"help for an unknown command", "help frobnicate", 2, "unknown command 'frobnicate'"},
    {"check without a file", "check", 2, "partita check: error: no input file"},
    {"check a missing file", "check /nonexistent/x.pir", 1,
     "/nonexistent/x.pir: error: cannot open: No such file or directory"},
    {"check a directory", "check examples", 1, "examples: error: cannot read"},
    {"check unknown option", "check --frob examples/mlp.pir", 2, "unknown option"},
    {"fmt two files", "fmt examples/mlp.pir examples/mlp.pir", 2, "fmt takes one file"},
    {"fmt -i with --check", "fmt -i --check examples/mlp.pir", 2, "cannot be combined"},
    {"run without a file", "run", 2, "partita run: error: no input file"},
    {"run with a bad seed", "run examples/mlp.pir --seed abc", 2,
     "--seed needs a non-negative integer, not 'abc'"},
    {"run with a negative seed", "run examples/mlp.pir --seed -3", 2,
     "--seed needs a non-negative integer"},
    {"run with a missing value", "run examples/mlp.pir --inputs", 2, "missing value"},
    {"run an unknown function", "run examples/mlp.pir --func nope", 1,
     "has no function '@nope'; it has: @loss"},
    {"run with a missing inputs file", "run examples/mlp.pir --inputs /nonexistent.st", 1,
     "/nonexistent.st: error: cannot open"},
    {"reshard without a layout", "reshard --mesh x=2 --shape 4", 2,
     "--mesh, --shape, --from and --to are all needed"},
    {"reshard with a zero-size axis", "reshard --mesh x=0 --shape 4 --from '{[x]}' --to '{[]}'",
     2, "--mesh: 'x=0' is not AXIS=SIZE with a size of at least 1"},
    {"reshard on an unknown axis", "reshard --mesh x=2 --shape 4 --from '{[y]}' --to '{[]}'", 2,
     "--from: 'y' is not an axis of the mesh"},
    {"reshard with a layout the shape does not divide",
     "reshard --mesh x=4 --shape 6 --from '{[x]}' --to '{[]}'", 2,
     "--from does not fit the shape"},
    {"reshard to a partial layout",
     "reshard --mesh x=2 --shape 4 --from '{[]}' --to '{[]} partial(sum: x)'", 2,
     "--to cannot be partial"},
    {"lower without tactics", "lower examples/mlp.pir", 2, "partita lower: error: --tactics is needed"},
    {"lower with a missing script", "lower examples/mlp.pir --tactics /nonexistent.yaml", 1,
     "/nonexistent.yaml: error: cannot open"},
    {"run --compare without tactics", "run examples/mlp.pir --compare", 2,
     "--compare needs --tactics"},
    {"run with a script that does not fit the model",
     "run examples/mlp.pir --tactics examples/transformer_block.mp.yaml", 1,
     "matches no argument of @loss"},
    {"run writing to a missing directory",
     "run tests/data/every_op.pir --func every_op --out /nonexistent/dir/o.safetensors", 1,
     "cannot"},
};

START_TEST(bad_command_lines) {
  const usage_case *c = &usage_cases[_i];
  pt_test_check_usage(tmpdir, c);
}
END_TEST

START_TEST(help_everywhere) {
  const char *cmds[] = {"check", "fmt", "run", "lower", "reshard"};
  result r = partita("--help");
  ck_assert_int_eq(r.status, 0);
  for (int i = 0; i < 5; i++)
    ck_assert_msg(strstr(r.out, cmds[i]), "top-level help lacks %s", cmds[i]);
  result_free(&r);
  for (int i = 0; i < 5; i++) {
    char args[64], want[64];
    snprintf(args, sizeof args, "%s --help", cmds[i]);
    snprintf(want, sizeof want, "Usage: partita %s", cmds[i]);
    r = partita(args);
    ck_assert_msg(r.status == 0 && strstr(r.out, want), "%s --help failed", cmds[i]);
    result_free(&r);
    snprintf(args, sizeof args, "help %s", cmds[i]);
    r = partita(args);
    ck_assert_msg(r.status == 0 && strstr(r.out, want), "help %s failed", cmds[i]);
    result_free(&r);
  }
  r = partita("--version");
  ck_assert_int_eq(r.status, 0);
  ck_assert(strstr(r.out, "LLVM      16."));
  result_free(&r);
}
END_TEST

START_TEST(check_reports_located_errors) {
  char path[512];
  snprintf(path, sizeof path, "%s/bad.pir", tmpdir);
  write_text(path, "func @f(input %x: f32[2]) -> (r: f32[2]) {\n"
                   "  %r = add %x, %x : f32[3]\n"
                   "  return %r\n}\n");
  char args[600];
  snprintf(args, sizeof args, "check '%s'", path);
  result r = partita(args);
  ck_assert_int_eq(r.status, 1);
  ck_assert_msg(strstr(r.err, "bad.pir:2:8: error: 'add' gives f32[2], but its result is "
                              "declared f32[3]\n    %r = add %x, %x : f32[3]\n         ^\n"),
                "%s", r.err);
  result_free(&r);
  r = partita("check examples/mlp.pir");
  ck_assert_int_eq(r.status, 0);
  ck_assert(strstr(r.out, "examples/mlp.pir: ok (1 function, 13 ops)"));
  result_free(&r);
}
END_TEST

START_TEST(fmt_in_place_and_check) {
  char path[512], args[600];
  snprintf(path, sizeof path, "%s/messy.pir", tmpdir);
  write_text(path, "func @f(input %x: f32[2])->(r: f32[2]){\n%r=neg %x:f32[2]\nreturn %r}");
  snprintf(args, sizeof args, "fmt --check '%s'", path);
  result r = partita(args);
  ck_assert_int_eq(r.status, 1);
  ck_assert(strstr(r.err, "not in canonical form"));
  result_free(&r);
  snprintf(args, sizeof args, "fmt -i '%s'", path);
  r = partita(args);
  ck_assert_int_eq(r.status, 0);
  result_free(&r);
  char *text = slurp(path);
  ck_assert_str_eq(text, "func @f(input %x: f32[2]) -> (r: f32[2]) {\n  %r = neg %x : f32[2]\n"
                         "  return %r\n}\n");
  pt_free(text);
  snprintf(args, sizeof args, "fmt --check '%s'", path);
  r = partita(args);
  ck_assert_int_eq(r.status, 0);
  result_free(&r);
  /* a file that does not verify is left untouched by -i */
  write_text(path, "func @f(input %x: f32[2]) -> (r: f32[2]) {\n  return %y\n}\n");
  snprintf(args, sizeof args, "fmt -i '%s'", path);
  r = partita(args);
  ck_assert_int_eq(r.status, 1);
  result_free(&r);
  text = slurp(path);
  ck_assert(strstr(text, "return %y"));
  pt_free(text);
}
END_TEST

/* run: values from --inputs, the rest from --seed; JSON summary; results
 * written with --out read back with the same values. */
START_TEST(run_inputs_json_out) {
  char prog[512], in[512], out[512], args[2048];
  snprintf(prog, sizeof prog, "%s/p.pir", tmpdir);
  snprintf(in, sizeof in, "%s/in.safetensors", tmpdir);
  snprintf(out, sizeof out, "%s/out.safetensors", tmpdir);
  write_text(prog, "func @f(input %a: f32[2,2], param %w: f32[2,2], input %t: i32[3], "
                   "param %e: f32[4,2]) -> (y: f32[2,2], s: f32[], g: f32[3,2]) {\n"
                   "  %y = dot %a, %w {lhs_contract = [1], rhs_contract = [0]} : f32[2,2]\n"
                   "  %s = reduce_sum %y {dims = [0, 1]} : f32[]\n"
                   "  %g = take %e, %t : f32[3,2]\n"
                   "  return %y, %s, %g\n}\n");
  pt_tensor *a = pt_tensor_create(pt_type_make(PT_F32, 2, (int64_t[]){2, 2}));
  pt_tensor *w = pt_tensor_create(pt_type_make(PT_F32, 2, (int64_t[]){2, 2}));
  float av[] = {1, 2, 3, 4}, wv[] = {1, 0, 1, 1};
  memcpy(a->data, av, sizeof av);
  memcpy(w->data, wv, sizeof wv);
  const char *names[] = {"a", "w"};
  const pt_tensor *ts[] = {a, w};
  pt_diag *d = pt_diag_create(stderr);
  ck_assert_int_eq(pt_st_write(in, 2, names, ts, 0, NULL, d), PT_OK);
  snprintf(args, sizeof args, "run '%s' --inputs '%s' --out '%s' --seed 7 --json", prog, in,
           out);
  result r = partita(args);
  ck_assert_msg(r.status == 0, "%s", r.err);
  json_error_t je;
  json_t *root = json_loads(r.out, 0, &je);
  ck_assert_msg(root != NULL, "run --json is not JSON: %s\n%s", je.text, r.out);
  json_t *res = json_object_get(root, "results");
  ck_assert_int_eq(json_array_size(res), 3);
  /* y = a.w = [[3,2],[7,4]], s = 16 */
  json_t *s = json_array_get(res, 1);
  ck_assert_str_eq(json_string_value(json_object_get(s, "name")), "s");
  ck_assert(fabs(json_real_value(json_object_get(s, "mean")) - 16.0) < 1e-6);
  json_t *seeded = json_object_get(root, "seeded");
  ck_assert_int_eq(json_array_size(seeded), 2); /* t and e */
  json_decref(root);
  result_free(&r);
  pt_st_file *o = pt_st_read(out, d);
  ck_assert_ptr_nonnull(o);
  const pt_tensor *y = pt_st_find(o, "y");
  ck_assert_ptr_nonnull(y);
  float want[] = {3, 2, 7, 4};
  ck_assert_mem_eq(y->data, want, sizeof want);
  ck_assert_str_eq(pt_st_meta(o, "partita.func"), "f");
  pt_st_close(o);
  /* the same seed gives the same seeded values (checksums equal) */
  snprintf(args, sizeof args, "run '%s' --inputs '%s' --seed 7", prog, in);
  result r1 = partita(args), r2 = partita(args);
  ck_assert_int_eq(r1.status, 0);
  ck_assert_str_eq(r1.out + strcspn(r1.out, "\n"), r2.out + strcspn(r2.out, "\n"));
  result_free(&r1);
  result_free(&r2);
  /* a tensor of the wrong shape in --inputs is named with both types */
  pt_tensor *bad = pt_tensor_create(pt_type_make(PT_F32, 1, (int64_t[]){3}));
  const char *bn[] = {"a"};
  const pt_tensor *bt[] = {bad};
  ck_assert_int_eq(pt_st_write(in, 1, bn, bt, 0, NULL, d), PT_OK);
  snprintf(args, sizeof args, "run '%s' --inputs '%s'", prog, in);
  r = partita(args);
  ck_assert_int_eq(r.status, 1);
  ck_assert_msg(strstr(r.err, "tensor 'a' is f32[3] but argument %a of @f is f32[2,2]"), "%s",
                r.err);
  result_free(&r);
  /* an index outside the table is a located runtime error */
  pt_tensor *idx = pt_tensor_create(pt_type_make(PT_I32, 1, (int64_t[]){3}));
  ((int32_t *)idx->data)[1] = 9;
  const char *in2[] = {"t"};
  const pt_tensor *it[] = {idx};
  ck_assert_int_eq(pt_st_write(in, 1, in2, it, 0, NULL, d), PT_OK);
  r = partita(args);
  ck_assert_int_eq(r.status, 1);
  ck_assert_msg(strstr(r.err, "p.pir:4:8: error:") && strstr(r.err, "9"), "%s", r.err);
  result_free(&r);
  pt_tensor_destroy(a);
  pt_tensor_destroy(w);
  pt_tensor_destroy(bad);
  pt_tensor_destroy(idx);
  pt_diag_destroy(d);
}
END_TEST

START_TEST(run_examples) {
  result r = partita("run examples/mlp.pir");
  ck_assert_msg(r.status == 0, "%s", r.err);
  ck_assert(strstr(r.out, "@loss: 1 result"));
  ck_assert(strstr(r.out, "loss    f32[]"));
  result_free(&r);
}
END_TEST

int main(void) {
  Suite *s = suite_create("cli");
  TCase *tc = tcase_create("cli");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 120);
  tcase_add_loop_test(tc, bad_command_lines, 0,
                      (int)(sizeof usage_cases / sizeof usage_cases[0]));
  tcase_add_test(tc, help_everywhere);
  tcase_add_test(tc, check_reports_located_errors);
  tcase_add_test(tc, fmt_in_place_and_check);
  tcase_add_test(tc, run_inputs_json_out);
  tcase_add_test(tc, run_examples);
  suite_add_tcase(s, tc);
  return pt_test_main(s);
}
