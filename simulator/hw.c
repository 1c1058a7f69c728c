/* Hardware files (docs/hardware.md), read with libyaml's document API through
 * the loader layer tactic scripts use (tactics/yamlnode.h): every error is
 * located at the YAML node it is about. The models they describe (GEMM
 * interpolation, alpha-beta collectives) are evaluated here too. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hw.h"
#include "yamlnode.h"

_Static_assert(PT_OP_REDUCE_SCATTER - PT_OP_ALL_GATHER == PT_SIM_REDUCE_SCATTER &&
                   PT_OP_ALL_REDUCE - PT_OP_ALL_GATHER == PT_SIM_ALL_REDUCE &&
                   PT_OP_ALL_TO_ALL - PT_OP_ALL_GATHER == PT_SIM_ALL_TO_ALL &&
                   PT_OP_AXIS_SLICE - PT_OP_ALL_GATHER == PT_SIM_AXIS_SLICE &&
                   PT_OP_COLLECTIVE_PERMUTE - PT_OP_ALL_GATHER == PT_SIM_PERMUTE,
               "collective kinds follow the op table");

const char *pt_sim_kind_name(int kind) {
  PT_ASSERT(kind >= 0 && kind < PT_SIM_NKINDS);
  return pt_op_name((pt_opcode)(PT_OP_ALL_GATHER + kind));
}

/* ---- the YAML reader -------------------------------------------------- */

/* The value of a required key; reports it missing (at the mapping) unless an
 * unknown key was already reported there. */
static yaml_node_t *require(pt_yaml_loader *L, const yaml_node_t *n, const char *key, bool unknown,
                            const char *what, const char *hint) {
  yaml_node_t *v = pt_yaml_lookup(L, n, key, NULL);
  if (v)
    return v;
  if (unknown)
    L->errors++;
  else
    pt_yaml_error(L, n, "%s has no '%s'%s", what, key, hint);
  return NULL;
}

static bool expect_mapping(pt_yaml_loader *L, const yaml_node_t *n, const char *what,
                           const char *example) {
  if (n->type == YAML_MAPPING_NODE)
    return true;
  pt_yaml_error(L, n, "%s must be a mapping%s, not %s", what, example, pt_yaml_kind(n));
  return false;
}

/* A plain scalar that is a finite decimal number. */
static bool parse_number(const yaml_node_t *n, double *out) {
  if (!pt_yaml_is_scalar(n) || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE || !*pt_yaml_text(n))
    return false;
  errno = 0;
  char *end;
  double v = strtod(pt_yaml_text(n), &end);
  if (errno || *end || !isfinite(v))
    return false;
  *out = v;
  return true;
}

/* The range of every number in a hardware file: a positive one is at least
 * PT_HW_MIN (rates divide bytes and flops), and none is over PT_HW_MAX, so
 * that any program's times stay finite (2^63 bytes at the slowest rate, or
 * times the largest beta, is far below the largest double). */
#define PT_HW_MIN 1e-6
#define PT_HW_MAX 1e15

/* A number for `key`: positive (rates) or, with zero_ok, at least zero. */
static bool get_number(pt_yaml_loader *L, const yaml_node_t *v, const char *key, bool zero_ok,
                       double *out) {
  if (!parse_number(v, out)) {
    if (pt_yaml_is_scalar(v))
      pt_yaml_error(L, v, "'%s' must be a number, not '%s'", key, pt_yaml_text(v));
    else
      pt_yaml_error(L, v, "'%s' must be a number, not %s", key, pt_yaml_kind(v));
    return false;
  }
  if (*out < 0 || (*out == 0 && !zero_ok)) {
    pt_yaml_error(L, v, "'%s' is %s; it must be %s", key, pt_yaml_text(v),
                  zero_ok ? "zero or more" : "more than zero");
    return false;
  }
  if ((*out > 0 && *out < PT_HW_MIN) || *out > PT_HW_MAX) {
    pt_yaml_error(L, v, "'%s' is %s; partita takes %s from %g to %g", key, pt_yaml_text(v),
                  zero_ok ? "0, or numbers" : "numbers", PT_HW_MIN, PT_HW_MAX);
    return false;
  }
  return true;
}

/* A positive integer (sizes, counts) at most 2^53. */
static bool get_count(pt_yaml_loader *L, const yaml_node_t *v, const char *key, int64_t min,
                      int64_t *out) {
  double x;
  if (!parse_number(v, &x) || x != floor(x)) {
    if (pt_yaml_is_scalar(v))
      pt_yaml_error(L, v, "'%s' must be a whole number, not '%s'", key, pt_yaml_text(v));
    else
      pt_yaml_error(L, v, "'%s' must be a whole number, not %s", key, pt_yaml_kind(v));
    return false;
  }
  if (x < (double)min || x > 9007199254740992.0) {
    pt_yaml_error(L, v, "'%s' is %s; it must be from %lld to 2^53", key, pt_yaml_text(v),
                  (long long)min);
    return false;
  }
  *out = (int64_t)x;
  return true;
}

int pt_sim_parse_size(const char *s, double *bytes) {
  static const struct {
    const char *unit;
    double scale;
  } units[] = {{"", 1},
               {"B", 1},
               {"KiB", 1024.0},
               {"MiB", 1048576.0},
               {"GiB", 1073741824.0},
               {"TiB", 1099511627776.0},
               {"KB", 1e3},
               {"MB", 1e6},
               {"GB", 1e9},
               {"TB", 1e12}};
  if (!s || !*s)
    return 0;
  errno = 0;
  char *end;
  double x = strtod(s, &end);
  if (end == s || errno || !isfinite(x))
    return 0;
  while (*end == ' ')
    end++;
  for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
    if (strcmp(end, units[i].unit) == 0) {
      *bytes = x * units[i].scale;
      return *bytes >= 1 && *bytes <= 9.2e18 ? 1 : -1;
    }
  return 0;
}

/* A byte size: a whole number of bytes, or a number with a unit. */
static bool get_bytes(pt_yaml_loader *L, const yaml_node_t *v, const char *key, int64_t *out) {
  const char *s = pt_yaml_is_scalar(v) && v->data.scalar.style == YAML_PLAIN_SCALAR_STYLE
                      ? pt_yaml_text(v)
                      : NULL;
  double b;
  int got = pt_sim_parse_size(s, &b);
  if (got > 0) {
    *out = (int64_t)llround(b);
    return true;
  }
  if (got < 0)
    pt_yaml_error(L, v, "'%s' is %s; it must be from one byte to 8 EiB", key, s);
  else
    pt_yaml_error(
        L, v,
        "'%s' must be a size in bytes, like 24GiB or 80GB (units B, KiB, MiB, GiB, TiB, KB, "
        "MB, GB, TB), not %s%s%s",
        key, s ? "'" : "", s ? s : pt_yaml_kind(v), s ? "'" : "");
  return false;
}

/* ---- devices ---------------------------------------------------------- */

static void read_gemm(pt_yaml_loader *L, yaml_node_t *n) {
  if (n->type != YAML_SEQUENCE_NODE) {
    pt_yaml_error(L, n,
                  "'gemm' must be a list of measured points like {m: 64, n: 1024, k: 1024, "
                  "gflops: 95}, not %s",
                  pt_yaml_kind(n));
    return;
  }
  int count = (int)(n->data.sequence.items.top - n->data.sequence.items.start);
  if (!count) {
    pt_yaml_error(L, n,
                  "'gemm' has no points; give at least one, like {m: 64, n: 1024, k: 1024, "
                  "gflops: 95}");
    return;
  }
  pt_sim_hw *hw = L->ud;
  hw->gemm = pt_arena_alloc(hw->arena, (size_t)count * sizeof *hw->gemm);
  static const char *const keys[] = {"m", "n", "k", "gflops"};
  for (int i = 0; i < count; i++) {
    yaml_node_t *p = pt_yaml_node(L, n->data.sequence.items.start[i]);
    if (!expect_mapping(L, p, "a gemm point", " like {m: 64, n: 1024, k: 1024, gflops: 95}"))
      continue;
    int before = L->errors;
    bool unknown = pt_yaml_check_keys(L, p, keys, 4, "a gemm point");
    int64_t dims[3] = {0, 0, 0};
    double gflops = 0;
    for (int j = 0; j < 3; j++) {
      yaml_node_t *v = require(L, p, keys[j], unknown, "a gemm point", "");
      if (v)
        get_count(L, v, keys[j], 1, &dims[j]);
    }
    yaml_node_t *v = require(L, p, "gflops", unknown, "a gemm point", " (its measured GFLOP/s)");
    if (v)
      get_number(L, v, "gflops", false, &gflops);
    if (L->errors != before)
      continue;
    for (int j = 0; j < hw->ngemm; j++)
      if (hw->gemm[j].m == dims[0] && hw->gemm[j].n == dims[1] && hw->gemm[j].k == dims[2]) {
        pt_yaml_error(L, p, "gemm point m=%lld n=%lld k=%lld is given twice (first as point %d)",
                      (long long)dims[0], (long long)dims[1], (long long)dims[2], j + 1);
        break;
      }
    if (L->errors == before)
      hw->gemm[hw->ngemm++] = (pt_sim_gemm_point){dims[0], dims[1], dims[2], gflops * 1e9};
  }
}

const pt_opcode pt_sim_element_ops[] = {PT_OP_EXP,  PT_OP_LOG, PT_OP_TANH,       PT_OP_LOGISTIC,
                                        PT_OP_SIN,  PT_OP_COS, PT_OP_POW,        PT_OP_RSQRT,
                                        PT_OP_SQRT, PT_OP_DIV, PT_OP_REDUCE_SUM, PT_OP_REDUCE_MAX};
const int pt_sim_nelement_ops = (int)(sizeof pt_sim_element_ops / sizeof pt_sim_element_ops[0]);

/* element_ns: {exp: 12.5, reduce_sum: 1.1, ...} */
static void read_element_ns(pt_yaml_loader *L, yaml_node_t *n) {
  if (!expect_mapping(L, n, "'element_ns'", " like {exp: 12, tanh: 30, reduce_sum: 1}"))
    return;
  const char *names[sizeof pt_sim_element_ops / sizeof pt_sim_element_ops[0]];
  for (int i = 0; i < pt_sim_nelement_ops; i++)
    names[i] = pt_op_name(pt_sim_element_ops[i]);
  pt_yaml_check_keys(L, n, names, pt_sim_nelement_ops, "'element_ns'");
  pt_sim_hw *hw = L->ud;
  for (int i = 0; i < pt_sim_nelement_ops; i++) {
    yaml_node_t *v = pt_yaml_lookup(L, n, names[i], NULL);
    double ns;
    if (v && get_number(L, v, names[i], true, &ns))
      hw->element_time[pt_sim_element_ops[i]] = ns * 1e-9;
  }
}

static void read_devices(pt_yaml_loader *L, yaml_node_t *n) {
  if (!expect_mapping(L, n, "'devices'", " with keys memory, gemm, elementwise_gbps"))
    return;
  static const char *const keys[] = {"count",          "memory", "gemm",      "elementwise_gbps",
                                     "op_overhead_us", "cores",  "element_ns"};
  bool unknown = pt_yaml_check_keys(L, n, keys, 7, "'devices'");
  pt_sim_hw *hw = L->ud;
  yaml_node_t *v;
  if ((v = pt_yaml_lookup(L, n, "count", NULL))) {
    hw->count_loc = pt_yaml_at(L, v);
    get_count(L, v, "count", 1, &hw->count);
  }
  if ((v = pt_yaml_lookup(L, n, "cores", NULL)))
    get_count(L, v, "cores", 1, &hw->cores);
  if ((v = pt_yaml_lookup(L, n, "element_ns", NULL)))
    read_element_ns(L, v);
  if ((v = require(L, n, "memory", unknown, "'devices'", " (bytes per device, like 24GiB)")))
    get_bytes(L, v, "memory", &hw->memory);
  if ((v = require(L, n, "gemm", unknown, "'devices'", " (measured GEMM rates)")))
    read_gemm(L, v);
  if ((v = require(L, n, "elementwise_gbps", unknown, "'devices'",
                   " (GB/s read plus written by element-wise ops)"))) {
    double gbps;
    if (get_number(L, v, "elementwise_gbps", false, &gbps))
      hw->elementwise_rate = gbps * 1e9;
  }
  if ((v = pt_yaml_lookup(L, n, "op_overhead_us", NULL))) {
    double us;
    if (get_number(L, v, "op_overhead_us", true, &us))
      hw->op_overhead = us * 1e-6;
  }
}

/* ---- links ------------------------------------------------------------ */

static const char *const ab_keys[] = {"alpha_us", "beta_ns_per_byte"};

/* {alpha_us: A, beta_ns_per_byte: B}, or the two keys inside a larger mapping. */
static bool read_ab(pt_yaml_loader *L, yaml_node_t *n, bool unknown, const char *what,
                    pt_sim_ab *out) {
  int before = L->errors;
  double a = 0, b = 0;
  yaml_node_t *v;
  if ((v = require(L, n, "alpha_us", unknown, what, " (latency in microseconds)")))
    get_number(L, v, "alpha_us", true, &a);
  if ((v = require(L, n, "beta_ns_per_byte", unknown, what, " (nanoseconds per byte)")))
    get_number(L, v, "beta_ns_per_byte", false, &b);
  out->alpha = a * 1e-6;
  out->beta = b * 1e-9;
  return L->errors == before;
}

static const char *const kind_keys[] = {"all_gather", "reduce_scatter", "all_reduce", "all_to_all",
                                        "collective_permute"};
static const int kind_of_key[] = {PT_SIM_ALL_GATHER, PT_SIM_REDUCE_SCATTER, PT_SIM_ALL_REDUCE,
                                  PT_SIM_ALL_TO_ALL, PT_SIM_PERMUTE};

static void read_table(pt_yaml_loader *L, pt_sim_link *link, int kind, yaml_node_t *n) {
  if (!expect_mapping(L, n, "a collective's table",
                      " of group sizes to alpha-beta, like {2: {alpha_us: 1.3, "
                      "beta_ns_per_byte: 0.13}}"))
    return;
  size_t cap = (size_t)(n->data.mapping.pairs.top - n->data.mapping.pairs.start);
  pt_sim_ab_point *t = pt_arena_alloc(L->arena, (cap ? cap : 1) * sizeof *t);
  int nt = 0;
  for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
    yaml_node_t *k = pt_yaml_node(L, p->key), *v = pt_yaml_node(L, p->value);
    int64_t g;
    if (!get_count(L, k, "group size", 2, &g))
      continue;
    bool dup = false;
    for (int i = 0; i < nt && !dup; i++)
      dup = t[i].group == g;
    if (dup) {
      pt_yaml_error(L, k, "group size %lld is given twice for %s", (long long)g,
                    pt_sim_kind_name(kind));
      continue;
    }
    if (!expect_mapping(L, v, "an alpha-beta entry",
                        " like {alpha_us: 1.3, beta_ns_per_byte: 0.13}"))
      continue;
    bool unknown = pt_yaml_check_keys(L, v, ab_keys, 2, "an alpha-beta entry");
    pt_sim_ab ab;
    if (read_ab(L, v, unknown, "an alpha-beta entry", &ab)) {
      int i = nt++;
      for (; i > 0 && t[i - 1].group > g; i--)
        t[i] = t[i - 1];
      t[i] = (pt_sim_ab_point){g, ab};
    }
  }
  link->table[kind] = t;
  link->ntable[kind] = nt;
}

static void read_link(pt_yaml_loader *L, pt_sim_link *link, yaml_node_t *n) {
  if (!expect_mapping(L, n, "a link",
                      " with keys alpha_us, beta_ns_per_byte and optionally "
                      "collectives"))
    return;
  static const char *const keys[] = {"alpha_us", "beta_ns_per_byte", "collectives"};
  bool unknown = pt_yaml_check_keys(L, n, keys, 3, "a link");
  char what[160];
  snprintf(what, sizeof what, "link '%s'", link->name);
  read_ab(L, n, unknown, what, &link->p2p);
  yaml_node_t *c = pt_yaml_lookup(L, n, "collectives", NULL);
  if (!c || !expect_mapping(L, c, "'collectives'", " of collective kinds to tables"))
    return;
  for (yaml_node_pair_t *p = c->data.mapping.pairs.start; p < c->data.mapping.pairs.top; p++) {
    yaml_node_t *k = pt_yaml_node(L, p->key);
    if (!pt_yaml_is_scalar(k)) {
      pt_yaml_error(L, k, "a key of 'collectives' must be a collective's name, not %s",
                    pt_yaml_kind(k));
      continue;
    }
    if (strcmp(pt_yaml_text(k), "axis_slice") == 0) {
      pt_yaml_error(L, k,
                    "axis_slice sends nothing (each device keeps its own block); it has no cost "
                    "table");
      continue;
    }
    int i = 0;
    while (i < 5 && strcmp(pt_yaml_text(k), kind_keys[i]) != 0)
      i++;
    if (i == 5) {
      char sb[96];
      pt_yaml_error(
          L, k,
          "unknown collective '%s' in 'collectives'%s; allowed: all_gather, reduce_scatter, "
          "all_reduce, all_to_all, collective_permute",
          pt_yaml_text(k), pt_yaml_suggest(pt_yaml_text(k), kind_keys, 5, sb, sizeof sb));
      continue;
    }
    if (link->ntable[kind_of_key[i]] ||
        pt_yaml_lookup(L, c, pt_yaml_text(k), NULL) != pt_yaml_node(L, p->value)) {
      pt_yaml_error(L, k, "'%s' appears twice in 'collectives'", pt_yaml_text(k));
      continue;
    }
    read_table(L, link, kind_of_key[i], pt_yaml_node(L, p->value));
  }
}

static void read_links(pt_yaml_loader *L, yaml_node_t *n) {
  if (!expect_mapping(L, n, "'links'", " of link names to alpha-beta models"))
    return;
  size_t cap = (size_t)(n->data.mapping.pairs.top - n->data.mapping.pairs.start);
  if (!cap) {
    pt_yaml_error(L, n,
                  "'links' is empty; give at least one link, like shm: {alpha_us: 3.6, "
                  "beta_ns_per_byte: 0.04}");
    return;
  }
  pt_sim_hw *hw = L->ud;
  hw->links = pt_arena_alloc(hw->arena, cap * sizeof *hw->links);
  for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
    yaml_node_t *k = pt_yaml_node(L, p->key), *v = pt_yaml_node(L, p->value);
    if (!pt_yaml_is_scalar(k) || !pt_yaml_is_ident(pt_yaml_text(k), "-.")) {
      pt_yaml_error(L, k, "a link name must be an identifier, not %s%s%s",
                    pt_yaml_is_scalar(k) ? "'" : "",
                    pt_yaml_is_scalar(k) ? pt_yaml_text(k) : pt_yaml_kind(k),
                    pt_yaml_is_scalar(k) ? "'" : "");
      continue;
    }
    bool dup = false;
    for (int i = 0; i < hw->nlinks && !dup; i++)
      dup = strcmp(hw->links[i].name, pt_yaml_text(k)) == 0;
    if (dup) {
      pt_yaml_error(L, k, "link '%s' is defined twice", pt_yaml_text(k));
      continue;
    }
    pt_sim_link *link = &hw->links[hw->nlinks++];
    link->name = pt_arena_strdup(hw->arena, pt_yaml_text(k));
    link->loc = pt_yaml_at(L, k);
    read_link(L, link, v);
  }
}

static void read_axes(pt_yaml_loader *L, yaml_node_t *n) {
  pt_sim_hw *hw = L->ud;
  if (!expect_mapping(L, n, "'axes'",
                      " of mesh axis names to link names, like {model: nvlink, "
                      "default: infiniband}"))
    return;
  size_t cap = (size_t)(n->data.mapping.pairs.top - n->data.mapping.pairs.start);
  hw->axes = pt_arena_alloc(hw->arena, (cap ? cap : 1) * sizeof *hw->axes);
  const char **names = pt_calloc((size_t)hw->nlinks + 1, sizeof *names);
  for (int i = 0; i < hw->nlinks; i++)
    names[i] = hw->links[i].name;
  for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
    yaml_node_t *k = pt_yaml_node(L, p->key), *v = pt_yaml_node(L, p->value);
    if (!pt_yaml_is_scalar(k) || !pt_yaml_is_ident(pt_yaml_text(k), "-.")) {
      pt_yaml_error(L, k, "a key of 'axes' must be a mesh axis name or 'default', not %s%s%s",
                    pt_yaml_is_scalar(k) ? "'" : "",
                    pt_yaml_is_scalar(k) ? pt_yaml_text(k) : pt_yaml_kind(k),
                    pt_yaml_is_scalar(k) ? "'" : "");
      continue;
    }
    bool dup = false;
    for (yaml_node_pair_t *q = n->data.mapping.pairs.start; q < p && !dup; q++)
      dup = pt_yaml_is_scalar(pt_yaml_node(L, q->key)) &&
            strcmp(pt_yaml_text(pt_yaml_node(L, q->key)), pt_yaml_text(k)) == 0;
    if (dup) {
      pt_yaml_error(L, k, "'%s' is given twice in 'axes'", pt_yaml_text(k));
      continue;
    }
    if (!pt_yaml_is_scalar(v) || !*pt_yaml_text(v)) {
      pt_yaml_error(L, v, "the link of '%s' must be a link name, not %s", pt_yaml_text(k),
                    pt_yaml_kind(v));
      continue;
    }
    int link = -1;
    for (int i = 0; i < hw->nlinks; i++)
      if (strcmp(hw->links[i].name, pt_yaml_text(v)) == 0)
        link = i;
    if (link < 0) {
      char sb[96];
      pt_yaml_error(L, v, "'%s' is not a link of this file%s", pt_yaml_text(v),
                    pt_yaml_suggest(pt_yaml_text(v), names, hw->nlinks, sb, sizeof sb));
      continue;
    }
    if (strcmp(pt_yaml_text(k), "default") == 0)
      hw->default_link = link;
    else
      hw->axes[hw->naxes++] =
          (pt_sim_axis_link){pt_arena_strdup(hw->arena, pt_yaml_text(k)), link, pt_yaml_at(L, k)};
  }
  pt_free(names);
}

/* ---- the document ----------------------------------------------------- */

static void read_root(pt_yaml_loader *L, yaml_node_t *root) {
  pt_sim_hw *hw = L->ud;
  hw->root_loc = pt_yaml_at(L, root);
  hw->axes_loc = hw->root_loc;
  if (!expect_mapping(L, root, "the top level", " with keys name, devices, links and axes"))
    return;
  static const char *const keys[] = {"name", "devices", "links", "axes"};
  bool unknown = pt_yaml_check_keys(L, root, keys, 4, "the top level");
  yaml_node_t *v;
  if ((v = require(L, root, "name", unknown, "the hardware file", " (like name: this-machine)"))) {
    if (!pt_yaml_is_scalar(v) || !*pt_yaml_text(v))
      pt_yaml_error(L, v, "'name' must be a non-empty string, not %s", pt_yaml_kind(v));
    else
      hw->name = pt_arena_strdup(hw->arena, pt_yaml_text(v));
  }
  if ((v = require(L, root, "devices", unknown, "the hardware file",
                   " (memory, gemm and elementwise_gbps of each device)")))
    read_devices(L, v);
  yaml_node_t *links = require(L, root, "links", unknown, "the hardware file",
                               " (named alpha-beta models of the interconnect)");
  if (links)
    read_links(L, links);
  if ((v = pt_yaml_lookup(L, root, "axes", NULL))) {
    for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top;
         p++)
      if (pt_yaml_node(L, p->value) == v) /* "mesh axis has no link": point at 'axes' */
        hw->axes_loc = pt_yaml_at(L, pt_yaml_node(L, p->key));
    if (links && hw->nlinks)
      read_axes(L, v);
  }
}

pt_sim_hw *pt_sim_hw_parse(const char *buf, size_t len, const char *file, pt_diag *d) {
  pt_arena *a = pt_arena_create();
  pt_sim_hw *hw = pt_arena_alloc(a, sizeof *hw);
  hw->arena = a;
  hw->file = pt_arena_strdup(a, file);
  hw->default_link = -1;
  pt_yaml_loader L = {.d = d, .file = hw->file, .arena = a, .ud = hw};
  yaml_node_t *root = pt_yaml_open(&L, buf, len, "hardware file", "name, devices and links");
  if (root)
    read_root(&L, root);
  pt_yaml_close(&L);
  if (L.errors) {
    pt_arena_destroy(a);
    return NULL;
  }
  return hw;
}

pt_sim_hw *pt_sim_hw_read(const char *path, pt_diag *d) {
  size_t n = 0;
  char *buf = pt_read_file(path, &n, d);
  if (!buf)
    return NULL;
  pt_sim_hw *hw = pt_sim_hw_parse(buf, n, path, d);
  pt_free(buf);
  return hw;
}

void pt_sim_hw_destroy(pt_sim_hw *hw) {
  if (hw)
    pt_arena_destroy(hw->arena);
}

/* ---- the models ------------------------------------------------------- */

pt_status pt_sim_hw_check_mesh(const pt_sim_hw *hw, const pt_mesh *mesh, int *links, pt_diag *d) {
  pt_status st = PT_OK;
  int64_t devices = 1;
  for (int a = 0; a < mesh->naxes; a++) {
    devices *= mesh->sizes[a];
    int link = hw->default_link;
    for (int i = 0; i < hw->naxes; i++)
      if (strcmp(hw->axes[i].axis, mesh->names[a]) == 0)
        link = hw->axes[i].link;
    if (link < 0) {
      pt_diag_error(d, hw->axes_loc,
                    "mesh axis '%s' has no link in %s; map it under 'axes' (%s: LINK) or give "
                    "'default: LINK' there",
                    mesh->names[a], hw->file, mesh->names[a]);
      st = PT_ERR;
    }
    if (links)
      links[a] = link;
  }
  if (hw->count && devices > hw->count) {
    pt_diag_error(d, hw->count_loc,
                  "the mesh has %lld devices but '%s' has %lld (devices.count); use a smaller "
                  "mesh",
                  (long long)devices, hw->name, (long long)hw->count);
    st = PT_ERR;
  }
  return st;
}

double pt_sim_gemm_rate(const pt_sim_hw *hw, int64_t m, int64_t n, int64_t k) {
  PT_ASSERT(hw->ngemm > 0);
  double lm = log((double)(m > 0 ? m : 1)), ln = log((double)(n > 0 ? n : 1)),
         lk = log((double)(k > 0 ? k : 1));
  /* inverse-distance weights of power 4 (1/d2^2): near points dominate, and
   * far from every point the rate tends to the nearest points' */
  double wsum = 0, lsum = 0;
  for (int i = 0; i < hw->ngemm; i++) {
    const pt_sim_gemm_point *p = &hw->gemm[i];
    double dm = lm - log((double)p->m), dn = ln - log((double)p->n), dk = lk - log((double)p->k);
    double d2 = dm * dm + dn * dn + dk * dk;
    if (d2 < 1e-18)
      return p->rate;
    double w = 1.0 / (d2 * d2);
    wsum += w;
    lsum += w * log(p->rate);
  }
  return exp(lsum / wsum);
}

static void factors(int kind, int64_t group, double *fa, double *fb) {
  double g = (double)group;
  switch (kind) {
  case PT_SIM_ALL_GATHER:
    *fa = g - 1, *fb = g - 1;
    return;
  case PT_SIM_REDUCE_SCATTER:
    *fa = g - 1, *fb = (g - 1) / g;
    return;
  case PT_SIM_ALL_REDUCE:
    *fa = 2 * (g - 1), *fb = 2 * (g - 1) / g;
    return;
  case PT_SIM_ALL_TO_ALL:
    *fa = g - 1, *fb = (g - 1) / g;
    return;
  case PT_SIM_AXIS_SLICE:
    *fa = 0, *fb = 0;
    return;
  case PT_SIM_PERMUTE:
    *fa = 1, *fb = 1;
    return;
  }
  PT_UNREACHABLE();
}

pt_sim_ab pt_sim_collective_ab(const pt_sim_hw *hw, int link, int kind, int64_t group) {
  PT_ASSERT(link >= 0 && link < hw->nlinks && kind >= 0 && kind < PT_SIM_NKINDS);
  if (group <= 1 || kind == PT_SIM_AXIS_SLICE)
    return (pt_sim_ab){0, 0};
  const pt_sim_link *l = &hw->links[link];
  double fa, fb;
  factors(kind, group, &fa, &fb);
  int nt = l->ntable[kind];
  if (!nt)
    return (pt_sim_ab){l->p2p.alpha * fa, l->p2p.beta * fb};
  const pt_sim_ab_point *best = NULL;
  double bd = 0;
  for (int i = 0; i < nt; i++) {
    const pt_sim_ab_point *p = &l->table[kind][i];
    if (p->group == group)
      return p->ab;
    double dist = fabs(log((double)p->group) - log((double)group));
    if (!best || dist < bd)
      best = p, bd = dist;
  }
  double fa0, fb0;
  factors(kind, best->group, &fa0, &fb0);
  return (pt_sim_ab){best->ab.alpha * fa / fa0, best->ab.beta * fb / fb0};
}

/* A group of 2^31 devices times an operand of 2^50 bytes leaves int64
 * before the division: pt_muldiv_sat computes in 128 bits. */
int64_t pt_sim_bytes_sent(int kind, int64_t group, int64_t bytes) {
  if (group <= 1)
    return 0;
  switch (kind) {
  case PT_SIM_ALL_GATHER:
    return pt_mul_sat(group - 1, bytes);
  case PT_SIM_REDUCE_SCATTER:
    return pt_muldiv_sat(group - 1, bytes, group);
  case PT_SIM_ALL_REDUCE:
    return pt_muldiv_sat(2 * (group - 1), bytes, group);
  case PT_SIM_ALL_TO_ALL:
    return pt_muldiv_sat(group - 1, bytes, group);
  case PT_SIM_AXIS_SLICE:
    return 0;
  case PT_SIM_PERMUTE:
    return bytes;
  }
  PT_UNREACHABLE();
}
