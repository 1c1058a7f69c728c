/* `partita train ... --tactics T.yaml` under mpirun: the sharded training
 * loop, one MPI rank per device. Every rank builds the same train_step,
 * partitions it with the tactic script, lowers it, and runs its own local
 * program with the MPI collectives; each rank initialises only its own
 * blocks of every argument (the counter-based init, or its blocks of the
 * --inputs file), so the full model never exists on one rank. */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <mpi.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "build.h"
#include "checkpoint.h"
#include "exec.h"
#include "init.h"
#include "lower.h"
#include "mpi_coll.h"
#include "profile.h"
#include "safetensors.h"
#include "shard_init.h"
#include "sharding.h"
#include "tactics.h"
#include "train_dist.h"
#include "vmesh.h"

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* ---- the default data: targets from a fixed random teacher ------------ */

static bool depends_on_param(const pt_value *v, bool *memo, bool *seen) {
  if (seen[v->id])
    return memo[v->id];
  seen[v->id] = true;
  bool r = false;
  if (!v->def)
    r = v->role == PT_ROLE_PARAM;
  else
    for (int k = 0; k < v->def->noperands && !r; k++)
      r = depends_on_param(v->def->operands[k], memo, seen);
  memo[v->id] = r;
  return r;
}

/* For an input compared (by `sub`) with a value computed from the params --
 * the model's prediction -- returns that prediction; NULL if none. */
static const pt_value *prediction_for(const pt_func *f, const pt_value *input) {
  bool *memo = pt_calloc((size_t)f->nvalues + 1, 1), *seen = pt_calloc((size_t)f->nvalues + 1, 1);
  const pt_value *p = NULL;
  for (int i = 0; i < f->nops && !p; i++) {
    const pt_op *op = f->ops[i];
    if (op->code != PT_OP_SUB)
      continue;
    for (int k = 0; k < 2; k++)
      if (op->operands[k] == input && pt_type_equal(&op->operands[1 - k]->type, &input->type) &&
          depends_on_param(op->operands[1 - k], memo, seen))
        p = op->operands[1 - k];
  }
  pt_free(memo);
  pt_free(seen);
  return p;
}

/* Computes the teacher's prediction for input `y` of f: the ops computing
 * the prediction, run with params from a different seed and the same other
 * inputs. Returns the global tensor, or NULL if y is not a target. */
static pt_tensor *teacher_target(const pt_func *f, const pt_value *y, uint64_t seed) {
  const pt_value *pred = prediction_for(f, y);
  if (!pred)
    return NULL;
  pt_module *m = pt_module_create(f->module->file);
  pt_func *g = pt_func_create(m, "teacher", f->loc);
  pt_value **map = pt_calloc((size_t)f->nvalues + 1, sizeof *map);
  for (int i = 0; i < f->nargs; i++)
    map[f->args[i]->id] =
        pt_func_add_arg(g, f->args[i]->name, f->args[i]->role, f->args[i]->type, f->args[i]->loc);
  pt_builder b = {g, f->loc};
  pt_value *ops[64];
  for (int i = 0; i < f->nops; i++) {
    const pt_op *op = f->ops[i];
    for (int k = 0; k < op->noperands; k++)
      ops[k] = map[op->operands[k]->id];
    map[op->result->id] = pt_b_clone(&b, op, ops);
    if (op->result == pred)
      break;
  }
  pt_func_add_result(g, "prediction", pred->type, map[pred->id], pred->loc);
  pt_tensor **args = pt_calloc((size_t)g->nargs + 1, sizeof *args);
  for (int i = 0; i < f->nargs; i++) {
    const pt_value *a = f->args[i];
    /* the teacher's own weights; the inputs are the student's */
    uint64_t s = a->role == PT_ROLE_PARAM ? seed ^ 0x7eac4e57eac4e5ull : seed;
    pt_init_spec sp = pt_init_spec_for(f, a, s);
    args[i] = pt_init_tensor(&sp, a->type);
  }
  pt_tensor *out = NULL;
  pt_diag *d = pt_diag_create(NULL);
  if (pt_interp_run(g, args, &out, d) != PT_OK)
    out = NULL;
  pt_diag_destroy(d);
  for (int i = 0; i < g->nargs; i++)
    pt_tensor_destroy(args[i]);
  pt_free(args);
  pt_free(map);
  pt_module_destroy(m);
  return out;
}

/* ---- the loop ----------------------------------------------------------- */

typedef struct {
  int rank, size;
  pt_diag *d;
  pt_module *m;
  pt_schedule *s;
  pt_func *loss, *ts, *g;
  pt_mpi_mesh *mm;
  pt_exec *e;
  pt_tensor **cur; /* see current() */
} dist;

/* Every rank agrees on failure: returns true if any rank failed. */
static bool any_failed(bool failed) {
  int mine = failed, any = 0;
  MPI_Allreduce(&mine, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  return any != 0;
}

/* For failures that can differ between ranks (MPI, the runtime, files):
 * ranks other than 0 print their own messages, naming the rank. */
static bool rank_failed(const dist *x, bool failed) {
  if (failed && x->rank != 0)
    for (int i = 0; i < pt_diag_count(x->d); i++)
      fprintf(stderr, "partita (rank %d of %d): %s\n", x->rank, x->size, pt_diag_message(x->d, i));
  return any_failed(failed);
}

static const char *ckpt_path(const char *dir, char *buf, size_t n) {
  snprintf(buf, n, "%s/checkpoint.safetensors", dir);
  return buf;
}

/* The params and optimizer state as they are now: the executor's argument
 * buffers, where every step leaves them (borrowed; valid until the next
 * step). */
static pt_tensor *const *current(dist *x, int nupd) {
  for (int i = 0; i < nupd; i++)
    x->cur[i] = pt_exec_arg_buffer(x->e, i);
  return x->cur;
}

static bool save(dist *x, const pt_train_dist_opts *o, pt_tensor *const *args, int nupd,
                 uint64_t step, const char *path) {
  const char **names = pt_calloc((size_t)nupd + 1, sizeof *names);
  pt_type *types = pt_calloc((size_t)nupd + 1, sizeof *types);
  pt_layout *lay = pt_calloc((size_t)nupd + 1, sizeof *lay);
  for (int i = 0; i < nupd; i++) {
    names[i] = x->ts->args[i]->name;
    types[i] = x->ts->args[i]->type;
    lay[i] = pt_layout_of(x->ts->args[i]);
  }
  char stepbuf[32], meshbuf[256] = "";
  snprintf(stepbuf, sizeof stepbuf, "%llu", (unsigned long long)step);
  for (int a = 0; a < x->m->mesh.naxes; a++)
    snprintf(meshbuf + strlen(meshbuf), sizeof meshbuf - strlen(meshbuf), "%s%s=%lld", a ? "," : "",
             x->m->mesh.names[a], (long long)x->m->mesh.sizes[a]);
  const char *meta[] = {"partita.step",    stepbuf,       "partita.optimizer", o->optimizer_name,
                        "partita.func",    x->loss->name, "partita.mesh",      meshbuf,
                        "partita.tactics", o->tactics,    "partita.source",    o->file};
  pt_status st = pt_ckpt_write(MPI_COMM_WORLD, path, nupd, names, types, lay, &x->m->mesh, args, 6,
                               meta, x->d);
  pt_free(names);
  pt_free(types);
  pt_free(lay);
  return st == PT_OK;
}

/* --inputs: the names of the tensors the file holds, every one an argument
 * of train_step (an unknown name is an error: a misspelt name would
 * otherwise be initialised from --seed unnoticed). Alike on every rank;
 * rank 0 reports. */
static bool input_names(dist *x, const char *path, int *n, char ***names) {
  int ok = 1;
  if (x->rank == 0 && access(path, R_OK) != 0) {
    pt_diag_error(x->d, (pt_loc){path, 0, 0}, "cannot read the --inputs file: %s", strerror(errno));
    ok = 0;
  }
  MPI_Bcast(&ok, 1, MPI_INT, 0, MPI_COMM_WORLD);
  if (!ok || pt_ckpt_names(MPI_COMM_WORLD, path, n, names, x->d) != PT_OK)
    return false;
  bool bad = false;
  for (int i = 0; i < *n; i++)
    bad |= !pt_cli_input_is_argument(x->ts, (*names)[i], path, x->d);
  return !bad;
}

/* This rank's blocks of the n tensors of the --inputs file, into given[]
 * (indexed as train_step's arguments; NULL for those the file lacks).
 * Collective, alike on every rank. */
static bool read_inputs(dist *x, const char *path, int n, char *const *names, pt_tensor **given) {
  const char **nm = pt_calloc((size_t)n + 1, sizeof *nm);
  pt_type *types = pt_calloc((size_t)n + 1, sizeof *types);
  pt_layout *lay = pt_calloc((size_t)n + 1, sizeof *lay);
  pt_tensor **blocks = pt_calloc((size_t)n + 1, sizeof *blocks);
  int *idx = pt_calloc((size_t)n + 1, sizeof *idx);
  for (int k = 0; k < n; k++) {
    const pt_value *a = pt_func_find_arg(x->ts, names[k]);
    idx[k] = a->arg_index;
    nm[k] = a->name;
    types[k] = a->type;
    lay[k] = pt_layout_of(a);
  }
  bool ok =
      pt_ckpt_read(MPI_COMM_WORLD, path, n, nm, types, lay, &x->m->mesh, blocks, x->d) == PT_OK;
  for (int k = 0; k < n && ok; k++)
    given[idx[k]] = blocks[k];
  pt_free(nm);
  pt_free(types);
  pt_free(lay);
  pt_free(blocks);
  pt_free(idx);
  return ok;
}

int pt_cli_train_distributed(const pt_train_dist_opts *o) {
  int inited = 0;
  MPI_Initialized(&inited);
  if (!inited)
    MPI_Init(NULL, NULL);
  dist x = {0};
  MPI_Comm_rank(MPI_COMM_WORLD, &x.rank);
  MPI_Comm_size(MPI_COMM_WORLD, &x.size);
  bool root = x.rank == 0;
  /* every rank reads and checks the same inputs; rank 0 alone speaks */
  x.d = pt_diag_create(root ? stderr : NULL);
  int status = PT_EXIT_INPUT;
  pt_tensor **args = NULL, **results = NULL;
  pt_init_spec *specs = NULL;
  double *losses = NULL, *secs = NULL;
  uint64_t start_step = 0;
  bool failed = false;
  int nin = 0;
  char **in_names = NULL;
  pt_st_file *in_whole = NULL;
  pt_prof *prof = NULL;
  pt_tensor **ref = NULL;   /* --verify: rank 0's global tensors */
  pt_tensor **given = NULL; /* this rank's blocks of the --inputs tensors */

  x.m = pt_cli_load(o->file, x.d);
  x.loss = x.m ? pt_cli_pick_func(x.m, o->func, "train") : NULL;
  failed = !x.loss;
  if (!failed) {
    specs = pt_calloc((size_t)x.loss->nargs + 1, sizeof *specs);
    for (int i = 0; i < x.loss->nargs; i++)
      specs[i] = pt_init_spec_for(x.loss, x.loss->args[i], o->seed);
    failed = pt_pass_train_step(x.m, x.loss->name, &o->opt, NULL, &x.ts, x.d) != PT_OK;
  }
  if (!failed)
    failed =
        !(x.s = pt_schedule_read(o->tactics, x.d)) || pt_schedule_set_mesh(x.m, x.s, x.d) != PT_OK;
  if (!failed) {
    int64_t devices = pt_mesh_devices(&x.m->mesh);
    if (devices != x.size) {
      pt_diag_error(x.d, x.s->mesh.loc,
                    "the mesh has %lld devices but %d MPI ranks are running; start it with "
                    "mpirun -n %lld",
                    (long long)devices, x.size, (long long)devices);
      failed = true;
    }
  }
  if (!failed)
    failed = pt_schedule_apply(x.ts, x.s, NULL, x.d) != PT_OK;
  if (!failed) {
    const char **names = pt_calloc((size_t)x.s->ntactics + 1, sizeof *names);
    for (int i = 0; i < x.s->ntactics; i++)
      names[i] = x.s->tactics[i].name;
    pt_lower_opts lo = {NULL, names, x.s->ntactics, NULL};
    failed = pt_pass_lower(x.m, x.ts, &lo, &x.g, x.d) != PT_OK || pt_verify_func(x.g, x.d) != PT_OK;
    pt_free(names);
  }
  /* every step feeds its updated params and state into the next: they must
   * come out laid out as they went in */
  int nupd = x.ts ? x.ts->nresults - 1 : 0;
  for (int i = 0; !failed && i < nupd; i++) {
    pt_layout in = pt_layout_of(x.ts->args[i]), out = pt_lower_result_layout(x.ts, i);
    if (!pt_layout_equal(&in, &out)) {
      char a[256], b[256];
      pt_diag_error(x.d, x.s->tactics[0].loc,
                    "the script leaves %%%s laid out %s after a step but %s before it; shard "
                    "it and its update the same way",
                    x.ts->args[i]->name, pt_layout_str(&x.m->mesh, &out, b, sizeof b),
                    pt_layout_str(&x.m->mesh, &in, a, sizeof a));
      failed = true;
    }
  }
  if (any_failed(failed))
    goto done;
  /* the files first: a bad one fails before the executor is built */
  if (o->profile && !pt_prof_check_path(MPI_COMM_WORLD, o->profile))
    goto done;
  given = pt_calloc((size_t)x.ts->nargs + 1, sizeof *given);
  if (o->inputs && (!input_names(&x, o->inputs, &nin, &in_names) ||
                    !read_inputs(&x, o->inputs, nin, in_names, given)))
    goto done;
  x.mm = pt_mpi_mesh_create(&x.m->mesh, MPI_COMM_WORLD, x.d);
  failed = !x.mm || !(x.e = pt_exec_create(x.g, x.mm, x.d));
  if (x.e)
    x.cur = pt_calloc((size_t)x.g->nargs + 1, sizeof *x.cur);
  if (rank_failed(&x, failed))
    goto done;
  /* The teacher's targets are computed from the seeded inputs: they are
   * used only when the file gives none of the loss's inputs. */
  bool teacher = o->synthetic;
  for (int k = 0; k < nin; k++) {
    const pt_value *la = pt_func_find_arg(x.loss, in_names[k]);
    if (la && la->role == PT_ROLE_INPUT)
      teacher = false;
  }

  /* this rank's blocks of every argument */
  const pt_mesh *mesh = &x.m->mesh;
  args = pt_calloc((size_t)x.ts->nargs + 1, sizeof *args);
  results = pt_calloc((size_t)x.ts->nresults + 1, sizeof *results);
  for (int i = 0; i < x.ts->nargs; i++) {
    const pt_value *a = x.ts->args[i];
    pt_layout l = pt_layout_of(a);
    const pt_value *la = pt_func_find_arg(x.loss, a->name);
    pt_tensor *target = NULL;
    if (!given[i] && la && la->role == PT_ROLE_INPUT && teacher)
      target = teacher_target(x.loss, la, o->seed);
    if (given[i]) {
      args[i] = given[i];
      given[i] = NULL;
    } else if (target) {
      args[i] = pt_block_of(target, mesh, &l, x.rank);
      pt_tensor_destroy(target);
    } else if (la) {
      args[i] = pt_init_block(&specs[la->arg_index], &a->type, mesh, &l, x.rank);
    } else {
      args[i] = pt_tensor_create(pt_sharding_local_type(a)); /* optimizer state: zero */
    }
  }
  char pathbuf[1024];
  if (o->resume) {
    const char *path = ckpt_path(o->ckpt_dir, pathbuf, sizeof pathbuf);
    int nmeta = 0;
    char **meta = NULL;
    failed = pt_ckpt_meta(MPI_COMM_WORLD, path, &nmeta, &meta, x.d) != PT_OK;
    if (!failed) {
      const char *func = pt_ckpt_meta_find(nmeta, meta, "partita.func");
      const char *optim = pt_ckpt_meta_find(nmeta, meta, "partita.optimizer");
      const char *step = pt_ckpt_meta_find(nmeta, meta, "partita.step");
      if (!func || !step || strcmp(func, x.loss->name) != 0 || !optim ||
          strcmp(optim, o->optimizer_name) != 0) {
        pt_diag_error(x.d, (pt_loc){path, 0, 0},
                      "not a checkpoint of @%s trained with %s (it says func '%s', optimizer "
                      "'%s')",
                      x.loss->name, o->optimizer_name, func ? func : "?", optim ? optim : "?");
        failed = true;
      } else {
        start_step = strtoull(step, NULL, 10);
      }
      pt_ckpt_meta_free(nmeta, meta);
    }
    if (!any_failed(failed)) {
      const char **names = pt_calloc((size_t)nupd + 1, sizeof *names);
      pt_type *types = pt_calloc((size_t)nupd + 1, sizeof *types);
      pt_layout *lay = pt_calloc((size_t)nupd + 1, sizeof *lay);
      pt_tensor **blocks = pt_calloc((size_t)nupd + 1, sizeof *blocks);
      for (int i = 0; i < nupd; i++) {
        names[i] = x.ts->args[i]->name;
        types[i] = x.ts->args[i]->type;
        lay[i] = pt_layout_of(x.ts->args[i]);
      }
      failed =
          pt_ckpt_read(MPI_COMM_WORLD, path, nupd, names, types, lay, mesh, blocks, x.d) != PT_OK;
      for (int i = 0; i < nupd; i++) {
        if (!failed) {
          pt_tensor_destroy(args[i]);
          args[i] = blocks[i];
        } else {
          pt_tensor_destroy(blocks[i]);
        }
      }
      pt_free(names);
      pt_free(types);
      pt_free(lay);
      pt_free(blocks);
    }
    /* pt_ckpt_* report on every rank alike: rank 0 has said it */
    if (any_failed(failed))
      goto done;
    if (root)
      fprintf(o->json ? stderr : stdout, "resumed from %s at step %llu\n", path,
              (unsigned long long)start_step);
  }
  if (o->ckpt_dir && !o->resume && root)
    mkdir(o->ckpt_dir, 0777);

  /* --verify: rank 0 runs the first steps in the reference interpreter */
  if (o->verify && root && !o->resume && nin > 0)
    failed = !(in_whole = pt_st_read(o->inputs, x.d)); /* the global tensors, rank 0 only */
  if (any_failed(failed))
    goto done;
  if (o->verify && root && !o->resume) {
    ref = pt_calloc((size_t)x.ts->nargs + 1, sizeof *ref);
    for (int i = 0; i < x.ts->nargs; i++) {
      const pt_value *a = x.ts->args[i];
      const pt_value *la = pt_func_find_arg(x.loss, a->name);
      const pt_tensor *whole = in_whole ? pt_st_find(in_whole, a->name) : NULL;
      pt_tensor *target = !whole && la && la->role == PT_ROLE_INPUT && teacher
                              ? teacher_target(x.loss, la, o->seed)
                              : NULL;
      if (whole)
        ref[i] = pt_tensor_clone(whole);
      else if (target)
        ref[i] = target;
      else if (la)
        ref[i] = pt_init_tensor(&specs[la->arg_index], a->type);
      else
        ref[i] = pt_tensor_create(a->type);
    }
  }

  losses = pt_calloc((size_t)o->steps + 1, sizeof *losses);
  secs = pt_calloc((size_t)o->steps + 1, sizeof *secs);
  int64_t batch = 0;
  for (int i = 0; i < x.ts->nargs && !batch; i++)
    if (x.ts->args[i]->role == PT_ROLE_INPUT && x.ts->args[i]->type.rank > 0)
      batch = x.ts->args[i]->type.dims[0];
  FILE *progress = o->json ? stderr : stdout;
  if (root && !o->json)
    printf("training @%s with %s on %d ranks (%s) for %llu steps\n", x.loss->name,
           o->optimizer_name, x.size, o->tactics, (unsigned long long)o->steps);
  uint64_t verify_steps = o->verify ? (o->steps < 2 ? o->steps : 2) : 0;
  /* --profile: the first step is a warm-up (caches, BLAS and MPI buffers,
   * lazily opened connections) unless it is the only one */
  uint64_t prof_first = o->steps > 1 ? 1 : 0;
  uint64_t prof_end = prof_first + PT_PROF_MAX_STEPS;
  if (o->profile)
    prof = pt_prof_create(x.g, PT_PROF_MAX_STEPS);
  for (uint64_t s = 0; s < o->steps; s++) {
    bool recording = prof && s >= prof_first && s < prof_end;
    pt_exec_set_profile(x.e, recording);
    MPI_Barrier(MPI_COMM_WORLD);
    double t0 = now();
    /* the first step copies the arguments into the executor's buffers; the
     * updated params and optimizer state then stay there, handed from each
     * step's results to the next step's arguments without a copy */
    failed = pt_exec_run(x.e, s == 0 ? args : NULL, NULL, x.d) != PT_OK;
    if (rank_failed(&x, failed))
      goto done;
    for (int i = 0; i < nupd; i++)
      pt_exec_carry(x.e, i, i);
    secs[s] = now() - t0;
    if (recording)
      pt_prof_record(prof, x.e, start_step + s + 1, t0, secs[s]);
    losses[s] = pt_tensor_get(pt_exec_result_buffer(x.e, nupd), 0);
    uint64_t step = start_step + s + 1;
    if (ref && s < verify_steps) {
      pt_tensor **rr = pt_calloc((size_t)x.ts->nresults + 1, sizeof *rr);
      bool bad = pt_interp_run(x.ts, ref, rr, x.d) != PT_OK;
      if (!bad) {
        double want = pt_tensor_get(rr[nupd], 0);
        if (!(fabs(want - losses[s]) <= 1e-4 * fmax(1.0, fabs(want)))) {
          pt_diag_error(x.d, PT_NOLOC,
                        "--verify: step %llu's loss is %.9g on the mesh but %.9g in the "
                        "reference interpreter",
                        (unsigned long long)step, losses[s], want);
          bad = true;
        }
        for (int i = 0; i < nupd; i++) {
          pt_tensor_destroy(ref[i]);
          ref[i] = rr[i];
          rr[i] = NULL;
        }
      }
      for (int i = 0; i < x.ts->nresults; i++)
        pt_tensor_destroy(rr[i]);
      pt_free(rr);
      failed = bad;
      if (!bad)
        fprintf(progress, "verify: step %llu matches the reference interpreter (loss %.9g)\n",
                (unsigned long long)step, losses[s]);
    }
    if (any_failed(ref ? failed : false))
      goto done;
    if (root && (s == 0 || s + 1 == o->steps || (s + 1) % o->every == 0)) {
      fprintf(progress, "step %6llu  loss %-14.7g %9.3f ms  %10.1f samples/s\n",
              (unsigned long long)step, losses[s], secs[s] * 1e3,
              secs[s] > 0 ? (double)batch / secs[s] : 0.0);
      fflush(progress);
    }
    bool last = s + 1 == o->steps;
    if (o->ckpt_dir && ((o->ckpt_every && step % o->ckpt_every == 0) || last)) {
      failed = !save(&x, o, current(&x, nupd), nupd, step,
                     ckpt_path(o->ckpt_dir, pathbuf, sizeof pathbuf));
      if (rank_failed(&x, failed))
        goto done;
      if (root)
        fprintf(progress, "checkpoint: step %llu written to %s\n", (unsigned long long)step,
                pathbuf);
    }
  }
  if (o->outpath && !save(&x, o, current(&x, nupd), nupd, start_step + o->steps, o->outpath))
    failed = true;
  if (any_failed(failed))
    goto done;
  if (prof) {
    pt_prof_info pi = {o->file,           x.loss->name, o->tactics,
                       o->optimizer_name, &x.m->mesh,   (int)prof_first};
    if (!pt_prof_write(prof, MPI_COMM_WORLD, o->profile, &pi))
      goto done;
    uint64_t last = o->steps < prof_end ? o->steps : prof_end;
    if (root)
      fprintf(progress, "profile: steps %llu-%llu of %d rank%s written to %s\n",
              (unsigned long long)(start_step + prof_first + 1),
              (unsigned long long)(start_step + last), x.size, x.size == 1 ? "" : "s", o->profile);
  }
  /* the summary */
  long long peak = (long long)pt_exec_peak_bytes(x.e);
  long long *peaks = root ? pt_calloc((size_t)x.size, sizeof *peaks) : NULL;
  MPI_Gather(&peak, 1, MPI_LONG_LONG, peaks, 1, MPI_LONG_LONG, 0, MPI_COMM_WORLD);
  if (root) {
    double *sorted = pt_malloc((size_t)o->steps * sizeof *sorted);
    memcpy(sorted, secs, (size_t)o->steps * sizeof *sorted);
    qsort(sorted, (size_t)o->steps, sizeof *sorted, cmp_double);
    double med = sorted[o->steps / 2];
    pt_free(sorted);
    if (o->json) {
      json_t *r = json_object(), *pk = json_array(), *ls = json_array();
      for (int i = 0; i < x.size; i++)
        json_array_append_new(pk, json_integer(peaks[i]));
      for (uint64_t s = 0; s < o->steps; s++)
        json_array_append_new(ls, json_real(losses[s]));
      json_object_set_new(r, "ranks", json_integer(x.size));
      json_object_set_new(r, "steps", json_integer((json_int_t)o->steps));
      json_object_set_new(r, "first_step", json_integer((json_int_t)start_step + 1));
      json_object_set_new(r, "first_loss", json_real(losses[0]));
      json_object_set_new(r, "final_loss", json_real(losses[o->steps - 1]));
      json_object_set_new(r, "median_step_seconds", json_real(med));
      json_object_set_new(r, "peak_buffer_bytes_per_rank", pk);
      json_object_set_new(r, "losses", ls);
      json_dumpf(r, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(9));
      fputc('\n', stdout);
      json_decref(r);
    } else {
      printf("first loss %.7g, final loss %.7g; median step %.3f ms (%.1f samples/s); peak "
             "buffers %.1f MiB per rank\n",
             losses[0], losses[o->steps - 1], med * 1e3, med > 0 ? (double)batch / med : 0.0,
             (double)peaks[0] / (1 << 20));
    }
  }
  pt_free(peaks);
  status = PT_EXIT_OK;
done:
  if (ref)
    for (int i = 0; i < x.ts->nargs; i++)
      pt_tensor_destroy(ref[i]);
  pt_free(ref);
  if (args)
    for (int i = 0; i < x.ts->nargs; i++)
      pt_tensor_destroy(args[i]);
  if (results)
    for (int i = 0; i < x.ts->nresults; i++)
      pt_tensor_destroy(results[i]);
  pt_free(args);
  pt_free(results);
  pt_free(losses);
  pt_free(secs);
  pt_free(specs);
  if (given)
    for (int i = 0; i < x.ts->nargs; i++)
      pt_tensor_destroy(given[i]);
  pt_free(given);
  pt_ckpt_names_free(nin, in_names);
  pt_st_close(in_whole);
  pt_prof_destroy(prof);
  if (x.e)
    pt_exec_destroy(x.e);
  pt_free(x.cur);
  if (x.mm)
    pt_mpi_mesh_destroy(x.mm);
  pt_schedule_destroy(x.s);
  pt_module_destroy(x.m);
  pt_diag_destroy(x.d);
  MPI_Finalize();
  return status;
}
