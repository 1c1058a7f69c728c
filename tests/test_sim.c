/* The simulator: hardware files (bad input located at the node), the cost
 * formulas on tiny hand-made lowered programs, memory from the runtime's
 * planner, the Chrome trace, and the `sim` and `explore` commands. */
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "exec.h"
#include "lower.h"
#include "passes.h"
#include "sim.h"
#include "tactics.h"
#include "testutil.h"

/* ---- hardware files: bad input ----------------------------------------- */

typedef struct {
  const char *name;
  const char *yaml;
  const char *mesh; /* NULL: a parse error; else "axis=size,..." checked against the file */
  const char *want;
  int line, col;
} bad_case;

#define DEVICES                                                                                    \
  "devices:\n"                                                                                     \
  "  memory: 1GiB\n"                                                                               \
  "  gemm:\n"                                                                                      \
  "    - {m: 64, n: 64, k: 64, gflops: 100}\n"                                                     \
  "  elementwise_gbps: 10\n"
#define LINKS                                                                                      \
  "links:\n"                                                                                       \
  "  net: {alpha_us: 1, beta_ns_per_byte: 0.5}\n"
#define COLL_LINK(table)                                                                           \
  "name: t\n" DEVICES "links:\n"                                                                   \
  "  net:\n"                                                                                       \
  "    alpha_us: 1\n"                                                                              \
  "    beta_ns_per_byte: 0.5\n"                                                                    \
  "    collectives:\n"                                                                             \
  "      " table "\n"                                                                              \
  "axes:\n"                                                                                        \
  "  default: net\n"

static const bad_case bad_cases[] = {
    /* YAML itself */
    {"unclosed flow sequence", "name: t\ndevices: [1, 2\n", NULL,
     "YAML syntax: did not find expected ',' or ']'", 3, 1},
    {"a tab", "name: t\n\tdevices: {}\n", NULL, "found a tab character", 2, 1},
    {"two documents", "name: t\n" DEVICES LINKS "axes: {default: net}\n---\nname: u\n", NULL,
     "holds one YAML document", 11, 1},
    {"empty file", "", NULL, "the hardware file is empty", 1, 1},
    {"top level is a list", "- a\n", NULL, "the top level must be a mapping", 1, 1},
    /* keys */
    {"unknown top-level key", "name: t\n" DEVICES "linkz:\n  net: {alpha_us: 1}\n", NULL,
     "unknown key 'linkz' in the top level (did you mean 'links'?)", 7, 1},
    {"missing devices", "name: t\n" LINKS, NULL, "the hardware file has no 'devices'", 1, 1},
    {"missing memory",
     "name: t\ndevices:\n  gemm:\n    - {m: 64, n: 64, k: 64, gflops: 100}\n"
     "  elementwise_gbps: 10\n" LINKS,
     NULL, "'devices' has no 'memory'", 3, 3},
    {"misspelt memory",
     "name: t\ndevices:\n  memroy: 1GiB\n  gemm:\n    - {m: 64, n: 64, k: 64, gflops: 100}\n"
     "  elementwise_gbps: 10\n" LINKS,
     NULL, "unknown key 'memroy' in 'devices' (did you mean 'memory'?)", 3, 3},
    {"memory twice",
     "name: t\ndevices:\n  memory: 1GiB\n  memory: 2GiB\n  gemm:\n"
     "    - {m: 64, n: 64, k: 64, gflops: 100}\n  elementwise_gbps: 10\n" LINKS,
     NULL, "key 'memory' appears twice in 'devices' (first at line 3)", 4, 3},
    {"gemm point without k",
     "name: t\ndevices:\n  memory: 1GiB\n  gemm:\n    - {m: 64, n: 64, gflops: 100}\n"
     "  elementwise_gbps: 10\n" LINKS,
     NULL, "a gemm point has no 'k'", 5, 7},
    {"link without beta", "name: t\n" DEVICES "links:\n  net: {alpha_us: 1}\n", NULL,
     "link 'net' has no 'beta_ns_per_byte'", 8, 8},
    /* values */
    {"negative memory",
     "name: t\ndevices:\n  memory: -1GiB\n  gemm:\n    - {m: 64, n: 64, k: 64, gflops: 100}\n"
     "  elementwise_gbps: 10\n" LINKS,
     NULL, "'memory' is -1GiB; it must be from one byte to 8 EiB", 3, 11},
    {"memory in parsecs",
     "name: t\ndevices:\n  memory: 24 parsecs\n  gemm:\n    - {m: 64, n: 64, k: 64, gflops: "
     "100}\n  elementwise_gbps: 10\n" LINKS,
     NULL, "'memory' must be a size in bytes, like 24GiB", 3, 11},
    {"memory as a list",
     "name: t\ndevices:\n  memory: [1]\n  gemm:\n    - {m: 64, n: 64, k: 64, gflops: 100}\n"
     "  elementwise_gbps: 10\n" LINKS,
     NULL, "not a list", 3, 11},
    {"zero device count",
     "name: t\ndevices:\n  count: 0\n  memory: 1GiB\n  gemm:\n"
     "    - {m: 64, n: 64, k: 64, gflops: 100}\n  elementwise_gbps: 10\n" LINKS,
     NULL, "'count' is 0; it must be from 1 to 2^53", 3, 10},
    {"zero gflops",
     "name: t\ndevices:\n  memory: 1GiB\n  gemm:\n    - {m: 64, n: 64, k: 64, gflops: 0}\n"
     "  elementwise_gbps: 10\n" LINKS,
     NULL, "'gflops' is 0; it must be more than zero", 5, 37},
    {"no gemm points",
     "name: t\ndevices:\n  memory: 1GiB\n  gemm: []\n  elementwise_gbps: 10\n" LINKS, NULL,
     "'gemm' has no points", 4, 9},
    {"negative bandwidth",
     "name: t\ndevices:\n  memory: 1GiB\n  gemm:\n    - {m: 64, n: 64, k: 64, gflops: 100}\n"
     "  elementwise_gbps: -5\n" LINKS,
     NULL, "'elementwise_gbps' is -5; it must be more than zero", 6, 21},
    {"negative alpha", "name: t\n" DEVICES "links:\n  net: {alpha_us: -1, beta_ns_per_byte: 0.5}\n",
     NULL, "'alpha_us' is -1; it must be zero or more", 8, 19},
    {"zero beta", "name: t\n" DEVICES "links:\n  net: {alpha_us: 1, beta_ns_per_byte: 0}\n", NULL,
     "'beta_ns_per_byte' is 0; it must be more than zero", 8, 40},
    {"unknown collective", COLL_LINK("allreduce: {2: {alpha_us: 1, beta_ns_per_byte: 1}}"), NULL,
     "unknown collective 'allreduce' in 'collectives' (did you mean 'all_reduce'?)", 12, 7},
    {"a table for axis_slice", COLL_LINK("axis_slice: {2: {alpha_us: 1, beta_ns_per_byte: 1}}"),
     NULL, "axis_slice sends nothing", 12, 7},
    {"group size 1", COLL_LINK("all_reduce: {1: {alpha_us: 1, beta_ns_per_byte: 1}}"), NULL,
     "'group size' is 1; it must be from 2 to 2^53", 12, 20},
    /* size limits: every number bounded, so no count overflows and every time is finite */
    {"device count over 2^53",
     "name: t\ndevices:\n  count: 1e300\n  memory: 1GiB\n  gemm:\n"
     "    - {m: 64, n: 64, k: 64, gflops: 100}\n  elementwise_gbps: 10\n" LINKS,
     NULL, "'count' is 1e300; it must be from 1 to 2^53", 3, 10},
    {"memory over 8 EiB",
     "name: t\ndevices:\n  memory: 9000000TiB\n  gemm:\n    - {m: 64, n: 64, k: 64, gflops: "
     "100}\n  elementwise_gbps: 10\n" LINKS,
     NULL, "'memory' is 9000000TiB; it must be from one byte to 8 EiB", 3, 11},
    {"gemm shape over 2^53",
     "name: t\ndevices:\n  memory: 1GiB\n  gemm:\n    - {m: 1e17, n: 64, k: 64, gflops: 100}\n"
     "  elementwise_gbps: 10\n" LINKS,
     NULL, "'m' is 1e17; it must be from 1 to 2^53", 5, 11},
    {"a rate too small to divide by",
     "name: t\ndevices:\n  memory: 1GiB\n  gemm:\n    - {m: 64, n: 64, k: 64, gflops: 1e-300}\n"
     "  elementwise_gbps: 10\n" LINKS,
     NULL, "'gflops' is 1e-300; partita takes numbers from 1e-06 to 1e+15", 5, 37},
    {"a bandwidth over 1e15",
     "name: t\ndevices:\n  memory: 1GiB\n  gemm:\n    - {m: 64, n: 64, k: 64, gflops: 100}\n"
     "  elementwise_gbps: 1e300\n" LINKS,
     NULL, "'elementwise_gbps' is 1e300; partita takes numbers from 1e-06 to 1e+15", 6, 21},
    {"a beta that makes times infinite",
     "name: t\n" DEVICES "links:\n  net: {alpha_us: 1, beta_ns_per_byte: 1e308}\n", NULL,
     "'beta_ns_per_byte' is 1e308; partita takes numbers from 1e-06 to 1e+15", 8, 40},
    {"an alpha over 1e15",
     "name: t\n" DEVICES "links:\n  net: {alpha_us: 1e16, beta_ns_per_byte: 1}\n", NULL,
     "'alpha_us' is 1e16; partita takes 0, or numbers from 1e-06 to 1e+15", 8, 19},
    {"group size over 2^53", COLL_LINK("all_reduce: {1e300: {alpha_us: 1, beta_ns_per_byte: 1}}"),
     NULL, "'group size' is 1e300; it must be from 2 to 2^53", 12, 20},
    {"unknown link", "name: t\n" DEVICES LINKS "axes:\n  default: nett\n", NULL,
     "'nett' is not a link of this file (did you mean 'net'?)", 10, 12},
    /* the file against a mesh */
    {"an axis with no link", "name: t\n" DEVICES LINKS "axes:\n  batch: net\n", "batch=2,model=2",
     "mesh axis 'model' has no link in bad.yaml", 9, 1},
    {"no axes at all", "name: t\n" DEVICES LINKS, "model=2",
     "mesh axis 'model' has no link in bad.yaml", 1, 1},
    {"mesh larger than the machine",
     "name: t\ndevices:\n  count: 4\n  memory: 1GiB\n  gemm:\n"
     "    - {m: 64, n: 64, k: 64, gflops: 100}\n  elementwise_gbps: 10\n" LINKS
     "axes: {default: net}\n",
     "batch=4,model=2", "the mesh has 8 devices but 't' has 4 (devices.count)", 3, 10},
};

static pt_mesh parse_mesh(pt_arena *a, const char *spec) {
  pt_mesh m = {0};
  char *s = pt_arena_strdup(a, spec);
  for (char *tok = strtok(s, ","); tok; tok = strtok(NULL, ",")) {
    char *eq = strchr(tok, '=');
    *eq = 0;
    m.names[m.naxes] = tok;
    m.sizes[m.naxes++] = atoll(eq + 1);
  }
  return m;
}

START_TEST(bad_hardware_files) {
  const bad_case *c = &bad_cases[_i];
  pt_diag *d = pt_diag_create(NULL);
  pt_sim_hw *hw = pt_sim_hw_parse(c->yaml, strlen(c->yaml), "bad.yaml", d);
  if (c->mesh) {
    ck_assert_msg(hw, "case '%s': the file does not parse: %s", c->name,
                  pt_diag_count(d) ? pt_diag_message(d, 0) : "?");
    pt_arena *a = pt_arena_create();
    pt_mesh m = parse_mesh(a, c->mesh);
    ck_assert_msg(pt_sim_hw_check_mesh(hw, &m, NULL, d) == PT_ERR,
                  "case '%s': the mesh was accepted", c->name);
    pt_arena_destroy(a);
  } else {
    ck_assert_msg(!hw, "case '%s': the file was accepted", c->name);
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
  ck_assert_msg(pt_diag_error_count(d) == 1, "case '%s': %d errors, the second: %s", c->name,
                pt_diag_error_count(d), pt_diag_message(d, 1));
  pt_sim_hw_destroy(hw);
  pt_diag_destroy(d);
}
END_TEST

/* The shipped files parse, and a100-cluster takes meshes up to 16 x 16. */
START_TEST(shipped_hardware_files) {
  const char *files[] = {"examples/hw/this-machine.yaml", "examples/hw/a100-cluster.yaml"};
  for (int i = 0; i < 2; i++) {
    char *p = pt_test_path(files[i]);
    pt_diag *d = pt_diag_create(NULL);
    pt_sim_hw *hw = pt_sim_hw_read(p, d);
    ck_assert_msg(hw, "%s does not parse", files[i]);
    pt_mesh m = {2, {"batch", "model"}, {8, 8}, PT_NOLOC};
    int links[PT_MAX_AXES];
    ck_assert(pt_sim_hw_check_mesh(hw, &m, links, d) == PT_OK);
    if (i == 1) {
      ck_assert_str_eq(hw->links[links[0]].name, "infiniband");
      ck_assert_str_eq(hw->links[links[1]].name, "nvlink");
      m.sizes[0] = m.sizes[1] = 16; /* 256 devices */
      ck_assert(pt_sim_hw_check_mesh(hw, &m, links, d) == PT_OK);
      m.sizes[0] = 32; /* 512 devices */
      ck_assert(pt_sim_hw_check_mesh(hw, &m, links, d) == PT_ERR);
    }
    pt_sim_hw_destroy(hw);
    pt_diag_destroy(d);
    pt_free(p);
  }
}
END_TEST

/* Random byte mutations of a shipped file never crash the reader, and
 * every rejection is located; a file that is accepted is usable. */
START_TEST(mutations_never_crash) {
  char *path = pt_test_path("examples/hw/a100-cluster.yaml");
  char *orig = pt_test_slurp(path);
  size_t len = strlen(orig);
  ck_assert(len > 100);
  uint64_t state = 4242;
  const char alphabet[] = "{}[]:,-# \n\t0123456789.e_akmnGiB'\"&*";
  int rejected = 0;
  for (int iter = 0; iter < 3000; iter++) {
    char *s = pt_strdup(orig);
    int nmut = 1 + iter % 4;
    for (int k = 0; k < nmut; k++) {
      state = state * 6364136223846793005ull + 1442695040888963407ull;
      size_t pos = (size_t)(state >> 33) % len;
      s[pos] = alphabet[(state >> 20) % (sizeof alphabet - 1)];
    }
    pt_diag *d = pt_diag_create(NULL);
    pt_sim_hw *hw = pt_sim_hw_parse(s, len, "fuzz.yaml", d);
    if (hw) {
      ck_assert(hw->ngemm > 0 && hw->nlinks > 0 && hw->memory > 0 && hw->elementwise_rate > 0);
      double rate = pt_sim_gemm_rate(hw, 100, 200, 300);
      ck_assert(rate > 0 && isfinite(rate));
      for (int l = 0; l < hw->nlinks; l++)
        for (int k = 0; k < PT_SIM_NKINDS; k++) {
          pt_sim_ab ab = pt_sim_collective_ab(hw, l, k, 8);
          ck_assert(ab.alpha >= 0 && ab.beta >= 0 && isfinite(ab.alpha) && isfinite(ab.beta));
        }
    } else {
      rejected++;
      ck_assert(pt_diag_error_count(d) >= 1);
      ck_assert_msg(pt_diag_loc(d, 0).line >= 1, "unlocated error: %s", pt_diag_message(d, 0));
    }
    pt_sim_hw_destroy(hw);
    pt_diag_destroy(d);
    pt_free(s);
  }
  ck_assert_int_gt(rejected, 300);
  pt_free(orig);
  pt_free(path);
}
END_TEST

/* ---- the cost formulas ------------------------------------------------- */

static const char unit_hw[] = "name: unit\n"
                              "devices:\n"
                              "  memory: 1MiB\n"
                              "  gemm:\n"
                              "    - {m: 64, n: 256, k: 128, gflops: 100}\n"
                              "    - {m: 1024, n: 1024, k: 1024, gflops: 400}\n"
                              "  elementwise_gbps: 8\n"
                              "links:\n"
                              "  fast: {alpha_us: 2, beta_ns_per_byte: 0.01}\n"
                              "  slow:\n"
                              "    alpha_us: 10\n"
                              "    beta_ns_per_byte: 0.1\n"
                              "    collectives:\n"
                              "      all_reduce: {2: {alpha_us: 1.3, beta_ns_per_byte: 0.13}}\n"
                              "axes:\n"
                              "  a: fast\n"
                              "  default: slow\n";

static pt_sim_hw *unit(pt_diag *d) {
  pt_sim_hw *hw = pt_sim_hw_parse(unit_hw, strlen(unit_hw), "unit.yaml", d);
  ck_assert_msg(hw, "%s", pt_diag_count(d) ? pt_diag_message(d, 0) : "?");
  return hw;
}

/* Simulates the only function of text; returns the module (caller destroys). */
static pt_module *simulate(const char *text, const pt_sim_hw *hw, pt_sim_result *r) {
  pt_module *m = pt_test_parse_ok(text);
  pt_diag *d = pt_diag_create(stderr);
  ck_assert(pt_sim_run(hw, m->funcs[0], r, d) == PT_OK);
  pt_diag_destroy(d);
  return m;
}

static void near(double got, double want, const char *what) {
  ck_assert_msg(fabs(got - want) <= 1e-12 * fabs(want) + 1e-18, "%s: %.17g, expected %.17g", what,
                got, want);
}

START_TEST(dot_time_is_flops_over_rate) {
  pt_diag *d = pt_diag_create(stderr);
  pt_sim_hw *hw = unit(d);
  pt_sim_result r;
  pt_module *m = simulate("func @f(input %x: f32[64,128], input %w: f32[128,256]) -> (y: "
                          "f32[64,256]) {\n"
                          "  %y = dot %x, %w {lhs_contract = [1], rhs_contract = [0]} : "
                          "f32[64,256]\n"
                          "  return %y\n}\n",
                          hw, &r);
  double flops = 2.0 * 64 * 256 * 128;
  near(r.flops, flops, "flops");
  near(r.ops[0].time, flops / 100e9, "dot time");
  near(r.step, flops / 100e9, "step");
  ck_assert(r.comm == 0 && r.bytes_sent == 0);
  ck_assert_int_eq(r.ntop, 1);
  ck_assert_int_eq(r.top[0], 0);
  /* batch dims multiply the flops, not the shape the rate is looked up for */
  pt_sim_result r2;
  pt_module *m2 = simulate("func @f(input %x: f32[3,64,128], input %w: f32[3,128,256]) -> (y: "
                           "f32[3,64,256]) {\n"
                           "  %y = dot %x, %w {lhs_batch = [0], rhs_batch = [0], lhs_contract = "
                           "[2], rhs_contract = [1]} : f32[3,64,256]\n"
                           "  return %y\n}\n",
                           hw, &r2);
  near(r2.ops[0].time, 3 * flops / 100e9, "batched dot time");
  /* between the points the rate is between theirs */
  double mid = pt_sim_gemm_rate(hw, 256, 512, 512);
  ck_assert(mid > 100e9 && mid < 400e9);
  near(pt_sim_gemm_rate(hw, 1024, 1024, 1024), 400e9, "a measured point");
  /* far from both, nearer the nearer one's */
  ck_assert(pt_sim_gemm_rate(hw, 8, 8, 8) < 200e9);
  ck_assert(pt_sim_gemm_rate(hw, 8192, 8192, 8192) > 200e9);
  pt_sim_result_free(&r);
  pt_sim_result_free(&r2);
  pt_module_destroy(m);
  pt_module_destroy(m2);
  pt_sim_hw_destroy(hw);
  pt_diag_destroy(d);
}
END_TEST

START_TEST(elementwise_time_is_bytes_over_bandwidth) {
  pt_diag *d = pt_diag_create(stderr);
  pt_sim_hw *hw = unit(d);
  pt_sim_result r;
  const char *text = "func @f(input %x: f32[1024]) -> (y: f32[1024]) {\n"
                     "  %c = constant {value = 2.0} : f32[1024]\n"
                     "  %y = add %x, %c : f32[1024]\n"
                     "  return %y\n}\n";
  /* op by op (fusion off) */
  setenv("PT_FUSION", "0", 1);
  pt_module *m = simulate(text, hw, &r);
  unsetenv("PT_FUSION");
  near(r.ops[0].time, 4096.0 / 8e9, "constant: bytes written");
  near(r.ops[1].time, 3 * 4096.0 / 8e9, "add: bytes read and written");
  near(r.ops[1].start, r.ops[0].time, "ops run one after the other");
  ck_assert(r.comm == 0);
  for (int k = 0; k < PT_SIM_NKINDS; k++)
    ck_assert(r.comm_kind[k] == 0 && r.count_kind[k] == 0);
  pt_sim_result_free(&r);
  pt_module_destroy(m);
  /* fused, as the executor runs it: the splat is a literal in the add's loop */
  m = simulate(text, hw, &r);
  near(r.ops[0].time, 0, "constant: absorbed");
  near(r.ops[1].time, 2 * 4096.0 / 8e9, "add: reads x, writes y");
  pt_sim_result_free(&r);
  pt_module_destroy(m);
  /* a fused chain reads its inputs and writes its outputs once */
  m = simulate("func @f(input %x: f32[1024], input %z: f32[1024]) -> (y: f32[1024]) {\n"
               "  %a = mul %x, %z : f32[1024]\n"
               "  %b = exp %a : f32[1024]\n"
               "  %y = sub %b, %x : f32[1024]\n"
               "  return %y\n}\n",
               hw, &r);
  near(r.ops[0].time + r.ops[1].time, 0, "members before the last");
  near(r.ops[2].time, 3 * 4096.0 / 8e9, "the chain: x and z read, y written");
  near(r.step, 3 * 4096.0 / 8e9, "step");
  ck_assert_int_eq(r.memory.temp_bytes, 0);
  pt_sim_result_free(&r);
  pt_module_destroy(m);
  /* an update written over the param it reads (donation, runtime/exec.h)
   * skips the line fill of a fresh buffer: its write costs a quarter */
  const char *update = "func @f(param %w: f32[1024], input %g: f32[1024]) -> (w: f32[1024]) {\n"
                       "  %c = constant {value = 0.5} : f32[1024]\n"
                       "  %s = mul %c, %g : f32[1024]\n"
                       "  %n = sub %w, %s : f32[1024]\n"
                       "  return %n\n}\n";
  m = simulate(update, hw, &r);
  near(r.ops[2].time, (2 * 4096.0 + 0.25 * 4096.0) / 8e9, "fused update in place");
  ck_assert_int_eq(r.memory.result_bytes, 0);
  pt_sim_result_free(&r);
  pt_module_destroy(m);
  setenv("PT_FUSION", "0", 1);
  m = simulate(update, hw, &r);
  unsetenv("PT_FUSION");
  near(r.ops[2].time, (2 * 4096.0 + 0.25 * 4096.0) / 8e9, "update op by op, in place");
  near(r.ops[1].time, (2 * 4096.0 + 0.25 * 4096.0) / 8e9, "its mul, over the dying constant");
  near(r.ops[0].time, 4096.0 / 8e9, "the constant, written fresh");
  pt_sim_result_free(&r);
  pt_module_destroy(m);
  pt_sim_hw_destroy(hw);
  pt_diag_destroy(d);
}
END_TEST

/* More devices than cores time-share them: local ops take devices/cores
 * times as long; collectives keep their measured prices. */
START_TEST(oversubscribed_devices_share_cores) {
  pt_diag *d = pt_diag_create(stderr);
  char text[sizeof unit_hw + 64];
  const char *at = strstr(unit_hw, "  memory:");
  /* cores must be a whole number of at least one, located */
  const char *bad[] = {"0", "1.5", "two"};
  for (int i = 0; i < 3; i++) {
    snprintf(text, sizeof text, "%.*s  cores: %s\n%s", (int)(at - unit_hw), unit_hw, bad[i], at);
    pt_diag *d2 = pt_diag_create(NULL);
    ck_assert_ptr_null(pt_sim_hw_parse(text, strlen(text), "cores.yaml", d2));
    ck_assert_int_eq(pt_diag_error_count(d2), 1);
    ck_assert_msg(strstr(pt_diag_message(d2, 0), "'cores'"), "%s", pt_diag_message(d2, 0));
    ck_assert_int_eq(pt_diag_loc(d2, 0).line, 3);
    pt_diag_destroy(d2);
  }
  snprintf(text, sizeof text, "%.*s  cores: 2\n%s", (int)(at - unit_hw), unit_hw, at);
  pt_sim_hw *shared = pt_sim_hw_parse(text, strlen(text), "cores.yaml", d);
  ck_assert_msg(shared, "%s", pt_diag_count(d) ? pt_diag_message(d, 0) : "?");
  ck_assert_int_eq(shared->cores, 2);
  pt_sim_hw *own = unit(d);
  const char *prog =
      "mesh {a = 4}\n"
      "func @f(input %x: f32[64,128], input %w: f32[128,256]) -> (y: f32[64,256]) {\n"
      "  %p = dot %x, %w {lhs_contract = [1], rhs_contract = [0]} : f32[64,256]\n"
      "  %y = all_reduce %p {reduce = sum, axes = [a]} : f32[64,256]\n"
      "  return %y\n}\n";
  pt_sim_result r1, r2;
  pt_module *m1 = simulate(prog, own, &r1), *m2 = simulate(prog, shared, &r2);
  near(r2.ops[0].time, 2 * r1.ops[0].time, "a dot on 4 devices sharing 2 cores");
  near(r2.ops[1].time, r1.ops[1].time, "the all_reduce");
  pt_sim_result_free(&r1);
  pt_sim_result_free(&r2);
  pt_module_destroy(m1);
  pt_module_destroy(m2);
  pt_sim_hw_destroy(own);
  pt_sim_hw_destroy(shared);
  pt_diag_destroy(d);
}
END_TEST

/* Ops bound by computing (devices.element_ns) cost the longer of their
 * memory traffic and their elements times the per-element time; a fused
 * loop sums its members' per-element times. */
START_TEST(element_ns_prices_compute_bound_ops) {
  pt_diag *d = pt_diag_create(stderr);
  char text[sizeof unit_hw + 128];
  const char *at = strstr(unit_hw, "  memory:");
  snprintf(text, sizeof text, "%.*s  element_ns: {exp: 10, tanh: 30, reduce_sum: 0.001}\n%s",
           (int)(at - unit_hw), unit_hw, at);
  pt_sim_hw *hw = pt_sim_hw_parse(text, strlen(text), "fn.yaml", d);
  ck_assert_msg(hw, "%s", pt_diag_count(d) ? pt_diag_message(d, 0) : "?");
  pt_sim_result r;
  pt_module *m = simulate("func @f(input %x: f32[1024]) -> (y: f32[1024], s: f32[]) {\n"
                          "  %e = exp %x : f32[1024]\n"
                          "  %y = tanh %e : f32[1024]\n"
                          "  %s = reduce_sum %x {dims = [0]} : f32[]\n"
                          "  return %y, %s\n}\n",
                          hw, &r);
  near(r.ops[1].time, 1024 * 40e-9, "exp and tanh fused: 40 ns an element");
  near(r.ops[2].time, (4096.0 + 4) / 8e9, "a cheap reduction: its memory traffic");
  pt_sim_result_free(&r);
  pt_module_destroy(m);
  pt_sim_hw_destroy(hw);
  /* bad values and keys are located */
  snprintf(text, sizeof text, "%.*s  element_ns: {exp: -1, tan: 3}\n%s", (int)(at - unit_hw),
           unit_hw, at);
  pt_diag *d2 = pt_diag_create(NULL);
  ck_assert_ptr_null(pt_sim_hw_parse(text, strlen(text), "bad.yaml", d2));
  ck_assert_int_eq(pt_diag_error_count(d2), 2);
  ck_assert_msg(strstr(pt_diag_message(d2, 0), "tan") || strstr(pt_diag_message(d2, 1), "tan"),
                "%s", pt_diag_message(d2, 0));
  pt_diag_destroy(d2);
  pt_diag_destroy(d);
}
END_TEST

START_TEST(collective_time_is_alpha_beta) {
  pt_diag *d = pt_diag_create(stderr);
  pt_sim_hw *hw = unit(d);
  pt_sim_result r;
  pt_module *m = simulate(
      "mesh {a = 2, b = 2}\n"
      "func @f(input %x: f32[65536], input %v: f32[256]) -> (y: f32[65536], z: f32[512], w: "
      "f32[65536], p: f32[256]) {\n"
      "  %y = all_reduce %x {reduce = sum, axes = [b]} : f32[65536]\n"
      "  %z = all_gather %v {dim = 0, axes = [a]} : f32[512]\n"
      "  %w = all_reduce %x {reduce = sum, axes = [a, b]} : f32[65536]\n"
      "  %p = collective_permute %v {axes = [a], pairs = [[0, 1], [1, 0]]} : f32[256]\n"
      "  return %y, %z, %w, %p\n}\n",
      hw, &r);
  /* 'b' uses the default link, whose table has all_reduce on 2 devices */
  near(r.ops[0].time, 1.3e-6 + 0.13e-9 * 262144, "all_reduce on 2 devices (measured)");
  ck_assert_int_eq(r.ops[0].bytes, 262144);
  ck_assert_int_eq(r.ops[0].group, 2);
  ck_assert_str_eq(hw->links[r.ops[0].link].name, "slow");
  /* 'a' is fast, with no table: the ring factors of its point-to-point model */
  near(r.ops[1].time, 2e-6 + 0.01e-9 * 1024, "all_gather on 2 devices (point-to-point)");
  ck_assert_int_eq(r.ops[1].bytes, 1024);
  /* [a, b]: 4 devices, at the slower of the two links; slow's 2-device entry
   * scaled by the ring factors (alpha 2(G-1), beta 2(G-1)/G) */
  double fast = 6 * 2e-6 + 1.5 * 0.01e-9 * 262144, slow = 3 * 1.3e-6 + 1.5 * 0.13e-9 * 262144;
  ck_assert(slow > fast);
  near(r.ops[2].time, slow, "all_reduce over two axes");
  ck_assert_int_eq(r.ops[2].group, 4);
  ck_assert_int_eq(r.ops[2].bytes, 2 * 3 * 262144 / 4);
  near(r.ops[3].time, 2e-6 + 0.01e-9 * 1024, "collective_permute");
  ck_assert_int_eq(r.ops[3].bytes, 1024);
  near(r.comm, r.ops[0].time + r.ops[1].time + r.ops[2].time + r.ops[3].time, "comm");
  near(r.comm_kind[PT_SIM_ALL_REDUCE], r.ops[0].time + r.ops[2].time, "all_reduce total");
  ck_assert_int_eq(r.count_kind[PT_SIM_ALL_REDUCE], 2);
  ck_assert_int_eq(r.bytes_sent, 262144 + 1024 + 393216 + 1024);
  ck_assert(r.compute == 0);
  ck_assert_int_eq(r.devices, 4);
  /* the most expensive first */
  ck_assert_int_eq(r.top[0], 2);
  pt_sim_result_free(&r);
  pt_module_destroy(m);
  pt_sim_hw_destroy(hw);
  pt_diag_destroy(d);
}
END_TEST

START_TEST(bytes_sent_match_redistribution) {
  /* the formulas of passes/redistribute.c */
  ck_assert_int_eq(pt_sim_bytes_sent(PT_SIM_ALL_GATHER, 4, 1000), 3000);
  ck_assert_int_eq(pt_sim_bytes_sent(PT_SIM_REDUCE_SCATTER, 4, 1000), 750);
  ck_assert_int_eq(pt_sim_bytes_sent(PT_SIM_ALL_REDUCE, 4, 1000), 1500);
  ck_assert_int_eq(pt_sim_bytes_sent(PT_SIM_ALL_TO_ALL, 4, 1000), 750);
  ck_assert_int_eq(pt_sim_bytes_sent(PT_SIM_PERMUTE, 4, 1000), 1000);
  ck_assert_int_eq(pt_sim_bytes_sent(PT_SIM_AXIS_SLICE, 4, 1000), 0);
  /* a group of 2^31 devices and 2^50 bytes: exact where the result fits
   * int64 (the product does not), INT64_MAX where it does not */
  int64_t g = INT64_C(1) << 31, b = INT64_C(1) << 50;
  ck_assert_int_eq(pt_sim_bytes_sent(PT_SIM_ALL_REDUCE, g, b), (b << 1) - (INT64_C(1) << 20));
  ck_assert_int_eq(pt_sim_bytes_sent(PT_SIM_REDUCE_SCATTER, g, b), b - (INT64_C(1) << 19));
  ck_assert_int_eq(pt_sim_bytes_sent(PT_SIM_ALL_TO_ALL, g, b), b - (INT64_C(1) << 19));
  ck_assert_int_eq(pt_sim_bytes_sent(PT_SIM_ALL_GATHER, g, b), INT64_MAX);
}
END_TEST

/* 9000 arguments of 2^48 f32 elements (2^50 bytes each) sum past int64: the
 * buffer planner's sums stop at INT64_MAX instead of wrapping, so the
 * executor and the simulator refuse the plan as too big. */
START_TEST(byte_sums_saturate) {
  size_t cap = 9000 * 48 + 256, n = 0;
  char *text = pt_malloc(cap);
  n += (size_t)snprintf(text + n, cap - n, "func @f(");
  for (int i = 0; i < 9000; i++)
    n += (size_t)snprintf(text + n, cap - n, "%sinput %%a%d: f32[281474976710656]", i ? ", " : "",
                          i);
  snprintf(text + n, cap - n, ") -> (r: f32[281474976710656]) {\n  return %%a0\n}\n");
  pt_module *m = pt_test_parse_ok(text);
  pt_buffer_plan plan;
  pt_plan_buffers(m->funcs[0], &plan);
  ck_assert_int_eq(plan.arg_bytes, INT64_MAX);
  ck_assert_int_eq(plan.peak_bytes, INT64_MAX);
  pt_buffer_plan_free(&plan);
  pt_module_destroy(m);
  pt_free(text);
}
END_TEST

/* ---- lowered examples -------------------------------------------------- */

typedef struct {
  pt_module *m;
  pt_func *g;
  int64_t lowered_bytes; /* what the lowering says each device sends */
} lowered;

static lowered lower_example(const char *pir, const char *script, bool adam) {
  pt_diag *d = pt_diag_create(stderr);
  char *p = pt_test_path(pir), *s = pt_test_path(script);
  lowered L = {0};
  L.m = pt_parse_file(p, d);
  ck_assert(L.m && pt_verify_module(L.m, d) == PT_OK);
  pt_func *f = pt_module_find_func(L.m, "loss");
  if (adam) {
    pt_optimizer o = pt_optimizer_default(PT_OPTIM_ADAM);
    ck_assert(pt_pass_train_step(L.m, "loss", &o, NULL, &f, d) == PT_OK);
  }
  pt_schedule *sc = pt_schedule_read(s, d);
  ck_assert(sc);
  ck_assert(pt_schedule_set_mesh(L.m, sc, d) == PT_OK);
  ck_assert(pt_schedule_apply(f, sc, NULL, d) == PT_OK);
  pt_lower_stats st = {0};
  pt_lower_opts lo = {NULL, NULL, 0, &st};
  ck_assert(pt_pass_lower(L.m, f, &lo, &L.g, d) == PT_OK);
  ck_assert(pt_verify_func(L.g, d) == PT_OK);
  L.lowered_bytes = st.bytes;
  pt_lower_stats_free(&st);
  pt_schedule_destroy(sc);
  pt_free(p);
  pt_free(s);
  pt_diag_destroy(d);
  return L;
}

static pt_sim_hw *read_hw(const char *rel, pt_diag *d) {
  char *p = pt_test_path(rel);
  pt_sim_hw *hw = pt_sim_hw_read(p, d);
  ck_assert_msg(hw, "%s does not parse", rel);
  pt_free(p);
  return hw;
}

static const char *const mlp_scripts[] = {"examples/mlp.bp.yaml", "examples/mlp.mp.yaml",
                                          "examples/mlp.bp_mp.yaml", "examples/mlp.bp_z3.yaml"};

/* Peak memory is the runtime planner's figure; bytes sent are the
 * lowering's; a strategy without communication has none. */
START_TEST(mlp_memory_and_bytes) {
  pt_diag *d = pt_diag_create(stderr);
  pt_sim_hw *hw = read_hw("examples/hw/a100-cluster.yaml", d);
  lowered L = lower_example("examples/mlp.pir", mlp_scripts[_i], true);
  pt_sim_result r;
  ck_assert(pt_sim_run(hw, L.g, &r, d) == PT_OK);
  pt_buffer_plan plan;
  pt_plan_buffers(L.g, &plan);
  ck_assert_int_eq(r.memory.peak_bytes, plan.peak_bytes);
  ck_assert_int_eq(r.memory.argument_bytes + r.memory.result_bytes + r.memory.temp_bytes,
                   plan.peak_bytes);
  ck_assert(r.fits);
  pt_buffer_plan_free(&plan);
  ck_assert_msg(r.bytes_sent == L.lowered_bytes, "%s: simulated %lld bytes sent, lowering %lld",
                mlp_scripts[_i], (long long)r.bytes_sent, (long long)L.lowered_bytes);
  near(r.step, r.compute + r.comm, "step");
  double sum = 0;
  for (int k = 0; k < PT_SIM_NKINDS; k++)
    sum += r.comm_kind[k];
  near(sum, r.comm, "comm by kind");
  ck_assert(r.comm > 0);
  /* ops follow each other with no gap and no overlap */
  for (int i = 1; i < r.nops; i++)
    near(r.ops[i].start, r.ops[i - 1].start + r.ops[i - 1].time, "start");
  for (int i = 1; i < r.ntop; i++)
    ck_assert(r.ops[r.top[i - 1]].time >= r.ops[r.top[i]].time);
  pt_sim_result_free(&r);
  pt_module_destroy(L.m);
  /* a capacity below the planner's peak: does not fit */
  hw->memory = 1 << 20;
  L = lower_example("examples/mlp.pir", mlp_scripts[_i], true);
  ck_assert(pt_sim_run(hw, L.g, &r, d) == PT_OK);
  ck_assert(!r.fits);
  pt_sim_result_free(&r);
  pt_module_destroy(L.m);
  pt_sim_hw_destroy(hw);
  pt_diag_destroy(d);
}
END_TEST

START_TEST(one_device_has_no_communication) {
  pt_diag *d = pt_diag_create(stderr);
  pt_sim_hw *hw = read_hw("examples/hw/this-machine.yaml", d);
  pt_module *m = pt_test_parse_ok("func @f(input %x: f32[64,64], input %w: f32[64,64]) -> (y: "
                                  "f32[]) {\n"
                                  "  %h = dot %x, %w {lhs_contract = [1], rhs_contract = [0]} : "
                                  "f32[64,64]\n"
                                  "  %t = tanh %h : f32[64,64]\n"
                                  "  %y = reduce_sum %t {dims = [0, 1]} : f32[]\n"
                                  "  return %y\n}\n");
  pt_sim_result r;
  ck_assert(pt_sim_run(hw, m->funcs[0], &r, d) == PT_OK);
  ck_assert(r.comm == 0 && r.bytes_sent == 0 && r.compute > 0);
  near(r.step, r.compute, "step");
  ck_assert_int_eq(r.devices, 1);
  pt_sim_result_free(&r);
  pt_module_destroy(m);
  pt_sim_hw_destroy(hw);
  pt_diag_destroy(d);
}
END_TEST

/* The trace parses and every event carries what the format requires. */
START_TEST(trace_is_valid_chrome_json) {
  pt_diag *d = pt_diag_create(stderr);
  pt_sim_hw *hw = read_hw("examples/hw/a100-cluster.yaml", d);
  lowered L = lower_example("examples/mlp.pir", "examples/mlp.bp_z3.yaml", true);
  pt_sim_result r;
  ck_assert(pt_sim_run(hw, L.g, &r, d) == PT_OK);
  char *text = pt_sim_trace_json(&r, "test \"device\"");
  json_error_t je;
  json_t *root = json_loads(text, 0, &je);
  ck_assert_msg(root, "the trace does not parse: %s at %d:%d", je.text, je.line, je.column);
  json_t *events = json_object_get(root, "traceEvents");
  ck_assert(json_is_array(events));
  int complete = 0, comm = 0, meta = 0;
  double end = 0;
  size_t i;
  json_t *e;
  json_array_foreach(events, i, e) {
    ck_assert(json_is_object(e));
    json_t *ph = json_object_get(e, "ph");
    ck_assert_msg(json_is_string(json_object_get(e, "name")), "event %zu has no name", i);
    ck_assert_msg(json_is_string(ph), "event %zu has no ph", i);
    ck_assert_msg(json_is_integer(json_object_get(e, "pid")), "event %zu has no pid", i);
    ck_assert_msg(json_is_integer(json_object_get(e, "tid")), "event %zu has no tid", i);
    ck_assert_msg(json_is_object(json_object_get(e, "args")), "event %zu has no args", i);
    if (strcmp(json_string_value(ph), "M") == 0) {
      meta++;
      continue;
    }
    ck_assert_str_eq(json_string_value(ph), "X");
    json_t *ts = json_object_get(e, "ts"), *dur = json_object_get(e, "dur");
    ck_assert_msg(json_is_number(ts) && json_is_number(dur), "event %zu lacks ts or dur", i);
    double t = json_number_value(ts), du = json_number_value(dur);
    ck_assert(t >= 0 && du >= 0);
    ck_assert_msg(t >= end - 1e-9,
                  "event %zu starts at %.17g, before the previous one ends (%.17g)", i, t, end);
    end = t + du;
    json_int_t tid = json_integer_value(json_object_get(e, "tid"));
    ck_assert(tid == 1 || tid == 2);
    comm += tid == 2;
    ck_assert(json_is_string(json_object_get(json_object_get(e, "args"), "where")));
    complete++;
  }
  ck_assert_int_eq(complete, r.nops);
  /* every collective but axis_slice (a local copy) is on the communication lane */
  ck_assert_int_eq(comm, r.count_kind[PT_SIM_ALL_GATHER] + r.count_kind[PT_SIM_REDUCE_SCATTER] +
                             r.count_kind[PT_SIM_ALL_REDUCE] + r.count_kind[PT_SIM_ALL_TO_ALL] +
                             r.count_kind[PT_SIM_PERMUTE]);
  ck_assert(comm > 0 && meta >= 3);
  ck_assert(fabs(end - r.step * 1e6) < 1e-2);
  json_decref(root);
  pt_free(text);
  pt_sim_result_free(&r);
  pt_module_destroy(L.m);
  pt_sim_hw_destroy(hw);
  pt_diag_destroy(d);
}
END_TEST

/* ---- the commands ------------------------------------------------------- */

static char tmpdir[] = "/tmp/pt_test_sim_XXXXXX";

static void setup(void) {
  strcpy(tmpdir, "/tmp/pt_test_sim_XXXXXX");
  ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void teardown(void) {
  char cmd[512];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
  ck_assert_int_eq(system(cmd), 0);
}

static pt_test_result partita(const char *args) {
  return pt_test_partita_run(tmpdir, args);
}

static void write_file(const char *name, const char *text) {
  char path[512];
  snprintf(path, sizeof path, "%s/%s", tmpdir, name);
  FILE *f = fopen(path, "w");
  ck_assert_ptr_nonnull(f);
  fputs(text, f);
  fclose(f);
}

typedef pt_test_usage_case usage_case;

static const usage_case usage_cases[] = {
    {"sim without --hw", "sim examples/mlp.pir -t examples/mlp.bp.yaml", 2, "--hw is needed"},
    {"sim without --tactics", "sim examples/mlp.pir --hw examples/hw/a100-cluster.yaml", 2,
     "--tactics is needed"},
    {"sim without a file", "sim -t examples/mlp.bp.yaml --hw examples/hw/a100-cluster.yaml", 2,
     "no input file"},
    {"sim with an unknown option", "sim examples/mlp.pir --frob", 2, "unknown option"},
    {"sim with a missing hardware file",
     "sim examples/mlp.pir -t examples/mlp.bp.yaml --hw /nonexistent.yaml", 1,
     "/nonexistent.yaml: error: cannot open"},
    {"sim with a bad optimizer",
     "sim examples/mlp.pir -t examples/mlp.bp.yaml --hw examples/hw/a100-cluster.yaml "
     "--optimizer lion",
     2, "unknown optimizer 'lion'"},
    {"explore without --tactics", "explore examples/mlp.pir --hw examples/hw/a100-cluster.yaml", 2,
     "--tactics is needed"},
    {"explore without --hw", "explore examples/mlp.pir --tactics examples/mlp.bp.yaml", 2,
     "--hw is needed"},
    {"explore without a file", "explore --tactics examples/mlp.bp.yaml --hw x.yaml", 2,
     "no input file"},
    {"explore with --svg and no value",
     "explore examples/mlp.pir --tactics examples/mlp.bp.yaml --hw x.yaml --svg", 2,
     "option '--svg' needs a value"},
    {"explore with an unknown option", "explore examples/mlp.pir --frob", 2,
     "unknown option '--frob'"},
};

/* A calibrated file measured on another CPU, or with another
 * OPENBLAS_CORETYPE, gets a warning from sim and explore -- and the report
 * still comes, exit 0. The same machine's header gets none. */
START_TEST(warns_about_another_machine) {
  char here[256];
  pt_cpu_model(here, sizeof here);
  const char *ct = getenv("OPENBLAS_CORETYPE");
  char *path = pt_test_path("examples/hw/a100-cluster.yaml");
  char *body = pt_test_slurp(path);
  size_t cap = strlen(body) + 1024;
  char *hw = pt_malloc(cap);
  snprintf(hw, cap, "# on 2026-12-04, host h: nproc 2, cpu \"%s\", 2 ranks on 1 node.\n"
                    "#   (kernels Zen, 1 thread); OPENBLAS_CORETYPE %s, OPENBLAS_NUM_THREADS 1.\n%s",
           here, ct && *ct ? ct : "unset", body);
  write_file("same.yaml", hw);
  snprintf(hw, cap, "# on 2026-12-04, host h: nproc 2, cpu \"Imaginary CPU 9000\", 2 ranks.\n%s",
           body);
  write_file("other.yaml", hw);
  snprintf(hw, cap, "# on 2026-12-04, host h: nproc 2, cpu \"%s\", 2 ranks on 1 node.\n"
                    "#   (kernels Zen, 1 thread); OPENBLAS_CORETYPE Imaginary, OPENBLAS_NUM_THREADS 1.\n%s",
           here, body);
  write_file("coretype.yaml", hw);
  pt_test_result r = partita("sim examples/mlp.pir -t examples/mlp.bp.yaml --hw $T/same.yaml");
  ck_assert_msg(r.status == 0 && !strstr(r.err, "warning"), "same machine: %d %s", r.status, r.err);
  pt_test_result_free(&r);
  r = partita("sim examples/mlp.pir -t examples/mlp.bp.yaml --hw $T/other.yaml");
  ck_assert_msg(r.status == 0 && strstr(r.err, "other.yaml: warning: measured on cpu \"Imaginary CPU "
                                               "9000\", but this machine's is"),
                "other cpu: %d %s", r.status, r.err);
  ck_assert_ptr_nonnull(strstr(r.out, "step time"));
  pt_test_result_free(&r);
  r = partita("explore examples/mlp.pir --hw $T/coretype.yaml --tactics examples/mlp.bp.yaml");
  ck_assert_msg(r.status == 0 && strstr(r.err, "coretype.yaml: warning: measured with "
                                               "OPENBLAS_CORETYPE Imaginary"),
                "other coretype: %d %s", r.status, r.err);
  pt_test_result_free(&r);
  pt_free(hw);
  pt_free(body);
  pt_free(path);
}
END_TEST

START_TEST(bad_command_lines) {
  const usage_case *c = &usage_cases[_i];
  pt_test_check_usage(tmpdir, c);
}
END_TEST

START_TEST(help_and_located_errors) {
  const char *cmds[] = {"sim", "explore"};
  for (int i = 0; i < 2; i++) {
    char args[64], want[64];
    snprintf(args, sizeof args, "%s --help", cmds[i]);
    snprintf(want, sizeof want, "Usage: partita %s FILE", cmds[i]);
    pt_test_result r = partita(args);
    ck_assert_msg(r.status == 0 && strstr(r.out, want), "%s --help failed", cmds[i]);
    pt_test_result_free(&r);
  }
  pt_test_result r = partita("--help");
  ck_assert(strstr(r.out, "  sim ") && strstr(r.out, "  explore "));
  pt_test_result_free(&r);
  /* a bad hardware file: located, with the line and a caret */
  write_file("hw.yaml", "name: t\n" DEVICES "links:\n  net: {alpha_us: 1, beta_ns_per_byte: 0}\n"
                        "axes: {default: net}\n");
  r = partita("sim examples/mlp.pir -t examples/mlp.bp.yaml --hw $T/hw.yaml");
  ck_assert_int_eq(r.status, 1);
  ck_assert_msg(strstr(r.err, "hw.yaml:8:40: error: 'beta_ns_per_byte' is 0; it must be more "
                              "than zero\n"
                              "    net: {alpha_us: 1, beta_ns_per_byte: 0}\n"
                              "                                         ^\n"),
                "%s", r.err);
  pt_test_result_free(&r);
  /* a mesh axis the file has no link for */
  write_file("hw2.yaml", "name: t\n" DEVICES LINKS "axes:\n  batch: net\n");
  r = partita("sim examples/mlp.pir -t examples/mlp.bp_mp.yaml --hw $T/hw2.yaml");
  ck_assert_int_eq(r.status, 1);
  ck_assert_msg(strstr(r.err, "hw2.yaml:9:1: error: mesh axis 'model' has no link in "), "%s",
                r.err);
  pt_test_result_free(&r);
}
END_TEST

START_TEST(sim_report) {
  pt_test_result r = partita("sim examples/mlp.pir --tactics examples/mlp.bp_z3.yaml --hw "
                             "examples/hw/a100-cluster.yaml --optimizer adam --trace $T/t.json");
  ck_assert_msg(r.status == 0, "%s", r.err);
  const char *want[] = {"@train_step of examples/mlp.pir under examples/mlp.bp_z3.yaml on "
                        "a100-cluster",
                        "step time",
                        "  compute",
                        "  communication",
                        /* no weight gathered: the dots run on the weights' own
                         * rows with the activations moved (passes/lower.c, split
                         * dots), the weight gradients computed by rows (sharded
                         * updates); the biases gathered, their gradients
                         * reduce-scattered */
                        "    all_gather x4",
                        "    reduce_scatter x4",
                        "    all_to_all x3",
                        "bytes sent per device",
                        "712.0 KiB",
                        "peak memory per device",
                        ": fits",
                        "top 10 ops by time:",
                        "examples/mlp.pir:12:10"};
  for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
    ck_assert_msg(strstr(r.out, want[i]), "the report lacks '%s':\n%s", want[i], r.out);
  pt_test_result_free(&r);
  char path[512];
  snprintf(path, sizeof path, "%s/t.json", tmpdir);
  char *trace = pt_test_slurp(path);
  json_error_t je;
  json_t *t = json_loads(trace, 0, &je);
  ck_assert_msg(t && json_array_size(json_object_get(t, "traceEvents")) > 150, "%s", je.text);
  json_decref(t);
  pt_free(trace);
  r = partita("sim examples/mlp.pir --tactics examples/mlp.mp.yaml --hw "
              "examples/hw/this-machine.yaml --json");
  ck_assert_msg(r.status == 0, "%s", r.err);
  json_t *j = json_loads(r.out, 0, &je);
  ck_assert_msg(j, "%s", je.text);
  ck_assert_str_eq(json_string_value(json_object_get(j, "hardware")), "this-machine");
  double step = json_number_value(json_object_get(j, "step_s")),
         compute = json_number_value(json_object_get(j, "compute_s")),
         comm = json_number_value(json_object_get(j, "communication_s"));
  ck_assert(step > 0 && fabs(step - compute - comm) < 1e-12);
  ck_assert(json_is_true(json_object_get(j, "fits")));
  ck_assert_int_eq(json_array_size(json_object_get(j, "top_ops")), 10);
  json_t *c0 = json_array_get(json_object_get(j, "collectives"), 0);
  ck_assert_str_eq(json_string_value(json_object_get(c0, "kind")), "all_reduce");
  /* the hidden activation's partial sum, 64 x 1024 f32 over 2 devices */
  ck_assert_int_eq(json_integer_value(json_object_get(c0, "bytes_per_device")), 262144);
  json_decref(j);
  pt_test_result_free(&r);
}
END_TEST

/* Checks that an SVG document's tags are balanced (well-formed enough to
 * render: rsvg-convert and browsers reject unbalanced ones). */
static void check_svg(const char *s) {
  ck_assert(strncmp(s, "<?xml", 5) == 0);
  const char *stack[64];
  size_t len[64];
  int depth = 0, elements = 0;
  for (const char *p = strchr(s, '<'); p; p = strchr(p + 1, '<')) {
    if (p[1] == '?' || p[1] == '!')
      continue;
    const char *end = strchr(p, '>');
    ck_assert_ptr_nonnull(end);
    if (p[1] == '/') {
      ck_assert_msg(depth > 0, "a closing tag with nothing open");
      depth--;
      ck_assert_msg(strncmp(p + 2, stack[depth], len[depth]) == 0, "mismatched </%.*s>",
                    (int)len[depth], stack[depth]);
      continue;
    }
    elements++;
    if (end[-1] == '/')
      continue;
    ck_assert(depth < 64);
    stack[depth] = p + 1;
    len[depth] = strcspn(p + 1, " >/");
    depth++;
  }
  ck_assert_msg(depth == 0, "%d elements left open", depth);
  ck_assert(elements > 10 && strstr(s, "<svg ") && strstr(s, "</svg>"));
}

/* A deliberately bad strategy: the contracting dimension split over 8 devices
 * on InfiniBand, so every activation is an all-reduced partial sum. */
static const char bad_script[] = "mesh: {batch: 8}\n"
                                 "schedule:\n"
                                 "  - name: contraction\n"
                                 "    axis: batch\n"
                                 "    shard: {x: 1, w1: 0, y: 1, w2: 1, b1: 0, b2: 0}\n";

START_TEST(explore_ranks_the_better_strategy_first) {
  write_file("bad.yaml", bad_script);
  pt_test_result r = partita("explore examples/mlp.pir --tactics $T/bad.yaml "
                             "examples/mlp.bp.yaml --hw examples/hw/a100-cluster.yaml --json "
                             "--svg $T/chart.svg");
  ck_assert_msg(r.status == 0, "%s", r.err);
  json_error_t je;
  json_t *j = json_loads(r.out, 0, &je);
  ck_assert_msg(j, "%s", je.text);
  json_t *s = json_object_get(j, "strategies");
  ck_assert_int_eq(json_array_size(s), 2);
  json_t *first = json_array_get(s, 0), *second = json_array_get(s, 1);
  ck_assert_str_eq(json_string_value(json_object_get(first, "tactics")), "examples/mlp.bp.yaml");
  double t1 = json_number_value(json_object_get(first, "step_s")),
         t2 = json_number_value(json_object_get(second, "step_s"));
  ck_assert_msg(t2 > 1.5 * t1, "bad %g s vs BP %g s: not clearly worse", t2, t1);
  ck_assert(json_number_value(json_object_get(second, "communication_share")) >
            json_number_value(json_object_get(first, "communication_share")));
  json_decref(j);
  pt_test_result_free(&r);
  char path[512];
  snprintf(path, sizeof path, "%s/chart.svg", tmpdir);
  char *svg = pt_test_slurp(path);
  check_svg(svg);
  ck_assert(strstr(svg, "examples/mlp.bp.yaml") && strstr(svg, "bad.yaml"));
  pt_free(svg);
  /* the text table, and a failing strategy listed last with exit 1 */
  r = partita("explore examples/mlp.pir --tactics examples/mlp.bp.yaml examples/mlp.bp_z3.yaml "
              "--hw examples/hw/a100-cluster.yaml");
  ck_assert_int_eq(r.status, 1);
  ck_assert_msg(strstr(r.out, "     1  examples/mlp.bp.yaml") &&
                    strstr(r.out, "     -  examples/mlp.bp_z3.yaml") &&
                    strstr(r.err, "'opt.*.*' matches no argument"),
                "%s\n%s", r.out, r.err);
  pt_test_result_free(&r);
}
END_TEST

int main(void) {
  Suite *s = suite_create("sim");
  TCase *hw = tcase_create("hardware");
  tcase_add_loop_test(hw, bad_hardware_files, 0, (int)(sizeof bad_cases / sizeof bad_cases[0]));
  tcase_add_test(hw, shipped_hardware_files);
  tcase_add_test(hw, mutations_never_crash);
  suite_add_tcase(s, hw);
  TCase *cost = tcase_create("cost");
  tcase_set_timeout(cost, 120);
  tcase_add_test(cost, dot_time_is_flops_over_rate);
  tcase_add_test(cost, elementwise_time_is_bytes_over_bandwidth);
  tcase_add_test(cost, collective_time_is_alpha_beta);
  tcase_add_test(cost, oversubscribed_devices_share_cores);
  tcase_add_test(cost, element_ns_prices_compute_bound_ops);
  tcase_add_test(cost, bytes_sent_match_redistribution);
  tcase_add_test(cost, byte_sums_saturate);
  tcase_add_loop_test(cost, mlp_memory_and_bytes, 0, 4);
  tcase_add_test(cost, one_device_has_no_communication);
  tcase_add_test(cost, trace_is_valid_chrome_json);
  suite_add_tcase(s, cost);
  TCase *cli = tcase_create("cli");
  tcase_add_checked_fixture(cli, setup, teardown);
  tcase_set_timeout(cli, 300);
  tcase_add_loop_test(cli, bad_command_lines, 0, (int)(sizeof usage_cases / sizeof usage_cases[0]));
  tcase_add_test(cli, help_and_located_errors);
  tcase_add_test(cli, sim_report);
  tcase_add_test(cli, warns_about_another_machine);
  tcase_add_test(cli, explore_ranks_the_better_strategy_first);
  suite_add_tcase(s, cli);
  return pt_test_main(s);
}
