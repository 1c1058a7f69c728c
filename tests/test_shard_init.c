/* Tests for per-device initial values: for random layouts on small meshes,
 * every device's pt_init_block equals the block pt_block_of cuts from the
 * whole pt_init_tensor, bit for bit, for every kind of initial value. */
#include <string.h>

#include "init.h"
#include "shard_init.h"
#include "testutil.h"
#include "vmesh.h"

static uint64_t rng_state;
static int rnd(int n) {
  return pt_test_rnd(&rng_state, n);
}

typedef struct {
  const char *name;
  pt_init_kind kind;
  pt_dtype dtype;
} init_case;

static const init_case kinds[] = {
    {"normal f32", PT_INIT_NORMAL, PT_F32},
    {"uniform i32", PT_INIT_UNIFORM_INT, PT_I32},
    {"bernoulli pred", PT_INIT_BERNOULLI, PT_PRED},
    {"zero f32", PT_INIT_ZERO, PT_F32},
};

START_TEST(blocks_match_whole_tensor) {
  const init_case *c = &kinds[_i];
  rng_state = 20260601 + (uint64_t)_i;
  static const char *names[4] = {"a", "b", "c", "d"};
  int checked = 0;
  for (int iter = 0; iter < 300; iter++) {
    pt_mesh mesh;
    memset(&mesh, 0, sizeof mesh);
    mesh.naxes = 1 + rnd(3);
    for (int a = 0; a < mesh.naxes; a++) {
      mesh.names[a] = names[a];
      mesh.sizes[a] = 1 + rnd(3);
    }
    pt_type t = pt_test_random_type(&rng_state, c->dtype, 0, 4, &mesh); /* scalars included */
    pt_init_spec s = {.kind = c->kind,
                      .std = 0.5 + rnd(4),
                      .bound = 1 + rnd(50),
                      .key = pt_rng_key_for((uint64_t)iter, names[iter % 4]),
                      .dtype = c->dtype};
    pt_layout l = pt_test_random_layout(&rng_state, &mesh, &t, false);
    ck_assert(pt_layout_valid(&mesh, &t, &l));
    pt_tensor *whole = pt_init_tensor(&s, t);
    int64_t ndev = pt_mesh_devices(&mesh);
    for (int64_t dev = 0; dev < ndev; dev++) {
      pt_tensor *want = pt_block_of(whole, &mesh, &l, dev);
      pt_tensor *got = pt_init_block(&s, &t, &mesh, &l, dev);
      char lb[128], tb[PT_TYPE_STRLEN];
      pt_layout_str(&mesh, &l, lb, sizeof lb);
      pt_type_str(&t, tb, sizeof tb);
      ck_assert_msg(pt_type_equal(&got->type, &want->type), "%s, case %d: %s %s device %lld: type",
                    c->name, iter, tb, lb, (long long)dev);
      ck_assert_msg(memcmp(got->data, want->data, pt_type_bytes(&got->type)) == 0,
                    "%s, case %d: %s laid out %s, device %lld: block differs", c->name, iter, tb,
                    lb, (long long)dev);
      pt_tensor_destroy(want);
      pt_tensor_destroy(got);
      checked++;
    }
    pt_tensor_destroy(whole);
  }
  ck_assert_int_ge(checked, 300);
}
END_TEST

/* A hand-checked case: f32[4,6] on a 2x3 mesh laid out {[x], [y]}: device
 * 5 = (x 1, y 2) holds rows 2..3 and columns 4..5, global indices 16, 17,
 * 22 and 23. */
START_TEST(known_block) {
  pt_mesh mesh;
  memset(&mesh, 0, sizeof mesh);
  mesh.naxes = 2;
  mesh.names[0] = "x";
  mesh.names[1] = "y";
  mesh.sizes[0] = 2;
  mesh.sizes[1] = 3;
  int64_t dims[2] = {4, 6};
  pt_type t = pt_type_make(PT_F32, 2, dims);
  pt_layout l;
  memset(&l, 0, sizeof l);
  l.rank = 2;
  l.axes[0][0] = 0;
  l.naxes[0] = 1;
  l.axes[1][0] = 1;
  l.naxes[1] = 1;
  pt_init_spec s = {
      .kind = PT_INIT_NORMAL, .std = 1, .key = pt_rng_key_for(7, "w"), .dtype = PT_F32};
  pt_tensor *b = pt_init_block(&s, &t, &mesh, &l, 5);
  ck_assert_int_eq(b->type.rank, 2);
  ck_assert_int_eq(b->type.dims[0], 2);
  ck_assert_int_eq(b->type.dims[1], 2);
  static const int64_t want[4] = {16, 17, 22, 23};
  for (int k = 0; k < 4; k++)
    ck_assert(pt_tensor_get(b, k) == pt_init_value(&s, want[k]));
  pt_tensor_destroy(b);
}
END_TEST

int main(void) {
  Suite *s = suite_create("shard_init");
  TCase *tc = tcase_create("shard_init");
  tcase_set_timeout(tc, 300);
  tcase_add_loop_test(tc, blocks_match_whole_tensor, 0, (int)(sizeof kinds / sizeof kinds[0]));
  tcase_add_test(tc, known_block);
  suite_add_tcase(s, tc);
  return pt_test_main(s);
}
