/* The distributed training loop (train.h, opts.tactics set): one MPI rank
 * per device. Every rank builds the same train_step, partitions it with the
 * tactic script, lowers it, and runs its own local program with the MPI
 * collectives; each rank initialises only its own blocks of every argument
 * (the counter-based init, its blocks of the data source's tensors, or its
 * blocks of the --inputs file), so the full model never exists on one rank.
 *
 * Failures fall in two kinds. Those every rank meets alike (the program,
 * the script, a file's contents) are reported on every rank and agreed by
 * any_failed; those one rank can meet alone (MPI, the runtime, writing a
 * file) are agreed by rank_failed, which first announces the rank's own
 * messages with PT_TRAIN_RANK_FAILED. Either way every rank returns the
 * same status. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <mpi.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "checkpoint.h"
#include "exec.h"
#include "lower.h"
#include "mpi_coll.h"
#include "profile.h"
#include "safetensors.h"
#include "shard_init.h"
#include "sharding.h"
#include "tactics.h"
#include "train_impl.h"
#include "vmesh.h"
#include "watchdog.h"

typedef struct {
  const pt_train_opts *o;
  int rank, size;
  bool root;
  pt_diag *d;
  pt_module *m;
  pt_schedule *s;
  pt_func *ts, *g;
  pt_layout *lay; /* each argument's layout in g (a carried block's, passes/lower.h) */
  pt_init_spec *specs;
  int nupd; /* results 0..nupd-1 are the next step's arguments 0..nupd-1 */
  int64_t batch;
  uint64_t start; /* the step a resumed run starts after */
  pt_mpi_mesh *mm;
  pt_exec *e;
  pt_tensor **cur; /* see current() */
  int nin;         /* the --inputs file's tensors */
  char **in_names;
  pt_tensor **given; /* this rank's blocks of them, by train_step argument */
  pt_tensor **args;  /* this rank's blocks of every argument */
  pt_tensor **ref;   /* --verify: rank 0's global tensors */
  pt_prof *prof;
  /* the steps' seconds in collectives (the first step left out when there
   * are more: it faults in the buffers) */
  double comm_s;
} dist;

/* Every rank agrees on failure: returns true if any rank failed. */
static bool any_failed(bool failed) {
  int mine = failed, any = 0;
  MPI_Allreduce(&mine, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  return any != 0;
}

/* What stops the loop after a step, agreed by every rank in one
 * all-reduce (the maximum over them): a rank's run failing, rank 0's
 * --verify failing, a non-finite loss, the signal a rank caught (SIGTERM
 * over SIGINT if both were), and the least index of an updated tensor a
 * rank found non-finite (--check-numerics; -1 for none). */
typedef struct {
  bool run_failed, verify_failed, nonfinite;
  int signal, bad;
} step_verdict;

static step_verdict agree_step(bool run_failed, bool verify_failed, bool nonfinite, int sig,
                               int bad) {
  int mine[5] = {run_failed, verify_failed, nonfinite, sig, bad >= 0 ? INT_MAX - bad : 0};
  int all[5] = {0};
  MPI_Allreduce(mine, all, 5, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  return (step_verdict){all[0] != 0, all[1] != 0, all[2] != 0, all[3],
                        all[4] ? INT_MAX - all[4] : -1};
}

/* For failures that can differ between ranks (MPI, the runtime, files):
 * ranks other than 0 announce their own messages. */
static bool rank_failed(const dist *x, bool failed) {
  if (failed && !x->root)
    pt_train_emit(x->o, (pt_train_event){.kind = PT_TRAIN_RANK_FAILED, .diag = x->d}, x->rank,
                  x->size, x->batch);
  return any_failed(failed);
}

static void emit(const dist *x, pt_train_event ev) {
  pt_train_emit(x->o, ev, x->rank, x->size, x->batch);
}

/* train_step, partitioned and lowered; false (alike on every rank) if the
 * program, the script or the mesh does not fit. */
static bool build(dist *x) {
  const pt_train_opts *o = x->o;
  if (pt_train_build_step(o, &x->ts, &x->specs, x->d) != PT_OK)
    return false;
  if (!(x->s = pt_schedule_read(o->tactics, x->d)) ||
      pt_schedule_set_mesh(x->m, x->s, x->d) != PT_OK)
    return false;
  int64_t devices = pt_mesh_devices(&x->m->mesh);
  if (devices != x->size) {
    pt_diag_error(x->d, x->s->mesh.loc,
                  "the mesh has %lld devices but %d MPI ranks are running; start it with "
                  "mpirun -n %lld",
                  (long long)devices, x->size, (long long)devices);
    return false;
  }
  if (pt_schedule_apply(x->ts, x->s, NULL, x->d) != PT_OK)
    return false;
  const char **names = pt_calloc((size_t)x->s->ntactics + 1, sizeof *names);
  for (int i = 0; i < x->s->ntactics; i++)
    names[i] = x->s->tactics[i].name;
  x->lay = pt_calloc((size_t)x->ts->nargs + 1, sizeof *x->lay);
  pt_lower_opts lo = {NULL, names, x->s->ntactics, NULL, x->lay};
  bool ok =
      pt_pass_lower(x->m, x->ts, &lo, &x->g, x->d) == PT_OK && pt_verify_func(x->g, x->d) == PT_OK;
  pt_free(names);
  if (!ok)
    return false;
  /* every step feeds its updated params and state into the next: they must
   * come out laid out as they went in */
  x->nupd = x->ts->nresults - 1;
  for (int i = 0; i < x->nupd; i++) {
    pt_layout in = pt_layout_of(x->ts->args[i]), out = pt_lower_result_layout(x->ts, i);
    if (!pt_layout_equal(&in, &out)) {
      char a[256], b[256];
      pt_diag_error(x->d, x->s->tactics[0].loc,
                    "the script leaves %%%s laid out %s after a step but %s before it; shard "
                    "it and its update the same way",
                    x->ts->args[i]->name, pt_layout_str(&x->m->mesh, &out, b, sizeof b),
                    pt_layout_str(&x->m->mesh, &in, a, sizeof a));
      return false;
    }
  }
  x->batch = pt_train_batch(x->ts);
  return true;
}

/* The n tensors' names, types and layouts as train_step's arguments
 * idx[0..n) have them (pt_free each array). */
typedef struct {
  const char **names;
  pt_type *types;
  pt_layout *lay;
} ckpt_spec;

static ckpt_spec spec_of(const dist *x, int n, const int *idx) {
  ckpt_spec c = {pt_calloc((size_t)n + 1, sizeof *c.names),
                 pt_calloc((size_t)n + 1, sizeof *c.types),
                 pt_calloc((size_t)n + 1, sizeof *c.lay)};
  for (int k = 0; k < n; k++) {
    const pt_value *a = x->ts->args[idx ? idx[k] : k];
    c.names[k] = a->name;
    c.types[k] = a->type;
    c.lay[k] = x->lay[idx ? idx[k] : k];
  }
  return c;
}

static void spec_free(ckpt_spec *c) {
  pt_free(c->names);
  pt_free(c->types);
  pt_free(c->lay);
}

/* --inputs: the names of the tensors the file holds, every one an argument
 * of train_step (an unknown name is an error: a misspelt name would
 * otherwise be initialised from the seed unnoticed), then this rank's
 * blocks of them into x->given. Collective, alike on every rank; rank 0
 * reports. */
static bool read_inputs(dist *x, const char *path) {
  int ok = 1;
  if (x->root && access(path, R_OK) != 0) {
    pt_diag_error(x->d, (pt_loc){path, 0, 0}, "cannot read the --inputs file: %s", strerror(errno));
    ok = 0;
  }
  MPI_Bcast(&ok, 1, MPI_INT, 0, MPI_COMM_WORLD);
  if (!ok || pt_ckpt_names(MPI_COMM_WORLD, path, &x->nin, &x->in_names, x->d) != PT_OK)
    return false;
  bool bad = false;
  for (int i = 0; i < x->nin; i++)
    bad |= !pt_train_input_is_argument(x->ts, x->in_names[i], path, x->d);
  if (bad)
    return false;
  int n = x->nin;
  int *idx = pt_calloc((size_t)n + 1, sizeof *idx);
  for (int k = 0; k < n; k++)
    idx[k] = pt_func_find_arg(x->ts, x->in_names[k])->arg_index;
  ckpt_spec c = spec_of(x, n, idx);
  pt_tensor **blocks = pt_calloc((size_t)n + 1, sizeof *blocks);
  ok = pt_ckpt_read(MPI_COMM_WORLD, path, n, c.names, c.types, c.lay, &x->m->mesh, blocks, x->d) ==
       PT_OK;
  for (int k = 0; k < n && ok; k++)
    x->given[idx[k]] = blocks[k];
  spec_free(&c);
  pt_free(blocks);
  pt_free(idx);
  return ok;
}

/* This rank's blocks of every argument. */
static void start_args(dist *x, bool use_data) {
  const pt_train_opts *o = x->o;
  const pt_mesh *mesh = &x->m->mesh;
  x->args = pt_calloc((size_t)x->ts->nargs + 1, sizeof *x->args);
  for (int i = 0; i < x->ts->nargs; i++) {
    const pt_value *a = x->ts->args[i];
    pt_layout l = x->lay[i];
    const pt_value *la = pt_func_find_arg(o->loss, a->name);
    pt_tensor *made = NULL;
    if (!x->given[i] && la && la->role == PT_ROLE_INPUT && use_data)
      made = o->data.make(o->data.ctx, o->loss, la, o->seed);
    PT_ASSERT(!made || pt_type_equal(&made->type, &a->type));
    if (x->given[i]) {
      x->args[i] = x->given[i];
      x->given[i] = NULL;
    } else if (made) {
      x->args[i] = pt_block_of(made, mesh, &l, x->rank);
      pt_tensor_destroy(made);
    } else if (la) {
      x->args[i] = pt_init_block(&x->specs[la->arg_index], &a->type, mesh, &l, x->rank);
    } else {
      x->args[i] = pt_tensor_create(x->g->args[i]->type); /* optimizer state: zero */
    }
  }
}

/* Replaces the params and optimizer state by this rank's blocks of the
 * checkpoint's. Collective; pt_ckpt_* report on every rank alike. */
static bool resume(dist *x, const char *path) {
  int nmeta = 0;
  char **meta = NULL;
  bool failed = pt_ckpt_meta(MPI_COMM_WORLD, path, &nmeta, &meta, x->d) != PT_OK;
  if (!failed) {
    failed =
        !pt_train_ckpt_meta_ok(x->o, path, pt_ckpt_meta_find(nmeta, meta, "partita.func"),
                               pt_ckpt_meta_find(nmeta, meta, "partita.optimizer"),
                               pt_ckpt_meta_find(nmeta, meta, "partita.step"), &x->start, x->d);
    pt_ckpt_meta_free(nmeta, meta);
  }
  if (any_failed(failed))
    return false;
  ckpt_spec c = spec_of(x, x->nupd, NULL);
  pt_tensor **blocks = pt_calloc((size_t)x->nupd + 1, sizeof *blocks);
  failed = pt_ckpt_read(MPI_COMM_WORLD, path, x->nupd, c.names, c.types, c.lay, &x->m->mesh, blocks,
                        x->d) != PT_OK;
  for (int i = 0; i < x->nupd; i++) {
    if (!failed) {
      pt_tensor_destroy(x->args[i]);
      x->args[i] = blocks[i];
    } else {
      pt_tensor_destroy(blocks[i]);
    }
  }
  spec_free(&c);
  pt_free(blocks);
  return !any_failed(failed);
}

/* --verify: rank 0's whole starting values, for the reference interpreter. */
static bool verify_start(dist *x, bool use_data) {
  const pt_train_opts *o = x->o;
  pt_st_file *whole = NULL;
  bool failed = false;
  if (x->root && x->nin > 0)
    failed = !(whole = pt_st_read(o->inputs, x->d)); /* the global tensors, rank 0 only */
  if (any_failed(failed))
    return false;
  if (!x->root)
    return true;
  x->ref = pt_calloc((size_t)x->ts->nargs + 1, sizeof *x->ref);
  for (int i = 0; i < x->ts->nargs; i++) {
    const pt_value *a = x->ts->args[i];
    const pt_tensor *t = whole ? pt_st_find(whole, a->name) : NULL;
    x->ref[i] = t ? pt_tensor_clone(t) : pt_train_start_value(o, a, x->specs, use_data);
  }
  pt_st_close(whole);
  return true;
}

/* --verify on rank 0: the reference interpreter's step from x->ref, which
 * it advances; false after reporting a loss that differs. */
static bool verify_step(dist *x, uint64_t step, double loss) {
  pt_tensor **rr = pt_calloc((size_t)x->ts->nresults + 1, sizeof *rr);
  bool bad = pt_interp_run(x->ts, x->ref, rr, x->d) != PT_OK;
  if (!bad) {
    double want = pt_tensor_get(rr[x->nupd], 0);
    if (!(fabs(want - loss) <= 1e-4 * fmax(1.0, fabs(want)))) {
      pt_diag_error(x->d, PT_NOLOC,
                    "--verify: step %llu's loss is %.9g on the mesh but %.9g in the "
                    "reference interpreter",
                    (unsigned long long)step, loss, want);
      bad = true;
    }
    for (int i = 0; i < x->nupd; i++) {
      pt_tensor_destroy(x->ref[i]);
      x->ref[i] = rr[i];
      rr[i] = NULL;
    }
  }
  for (int i = 0; i < x->ts->nresults; i++)
    pt_tensor_destroy(rr[i]);
  pt_free(rr);
  return !bad;
}

/* The params and optimizer state as they are now: the executor's argument
 * buffers, where every step leaves them (borrowed; valid until the next
 * step). */
static pt_tensor *const *current(dist *x) {
  for (int i = 0; i < x->nupd; i++)
    x->cur[i] = pt_exec_arg_buffer(x->e, i);
  return x->cur;
}

/* The current state as a checkpoint of step `step` (collective). */
static bool save(dist *x, uint64_t step, const char *path) {
  ckpt_spec c = spec_of(x, x->nupd, NULL);
  char stepbuf[32], meshbuf[256] = "";
  snprintf(stepbuf, sizeof stepbuf, "%llu", (unsigned long long)step);
  for (int a = 0; a < x->m->mesh.naxes; a++)
    snprintf(meshbuf + strlen(meshbuf), sizeof meshbuf - strlen(meshbuf), "%s%s=%lld", a ? "," : "",
             x->m->mesh.names[a], (long long)x->m->mesh.sizes[a]);
  const char *meta[] = {
      "partita.step",    stepbuf,          "partita.optimizer", pt_train_optim_name(x->o->opt.kind),
      "partita.func",    x->o->loss->name, "partita.mesh",      meshbuf,
      "partita.tactics", x->o->tactics,    "partita.source",    x->m->file};
  pt_status st = pt_ckpt_write(MPI_COMM_WORLD, path, x->nupd, c.names, c.types, c.lay, &x->m->mesh,
                               current(x), 6, meta, x->d);
  spec_free(&c);
  return st == PT_OK;
}

/* --profile: the first step is a warm-up (caches, BLAS and MPI buffers,
 * lazily opened connections) unless it is the only one. */
static uint64_t prof_first(const pt_train_opts *o) {
  return o->steps > 1 ? 1 : 0;
}

/* The steps; a non-finite loss (on any rank: the ranks agree) stops them
 * before its step's state is written. */
static bool loop(dist *x, double *losses, double *secs) {
  const pt_train_opts *o = x->o;
  uint64_t kept = o->resume ? x->start : 0; /* the checkpoint on disk */
  uint64_t verify_steps = x->ref ? (o->steps < 2 ? o->steps : 2) : 0;
  uint64_t pfirst = prof_first(o), pend = pfirst + PT_PROF_MAX_STEPS;
  char path[1024];
  for (uint64_t s = 0; s < o->steps; s++) {
    bool recording = x->prof && s >= pfirst && s < pend;
    /* alike on every rank (only rank 0 holds x->ref) */
    bool verifying = o->verify && !o->resume && s < (o->steps < 2 ? o->steps : 2);
    pt_exec_set_profile(x->e, recording);
    /* the agreement after each step lines the ranks up for the next; the
     * first step, and the profiled ones (whose timelines are compared
     * across ranks), start at a barrier */
    if (s == 0 || recording) {
      pt_watchdog_wait(NULL, "the barrier before the step");
      MPI_Barrier(MPI_COMM_WORLD);
      pt_watchdog_done();
    }
    pt_watchdog_step(x->start + s + 1);
    double t0 = pt_train_now(), c0 = pt_exec_comm_seconds(x->e);
    /* the first step copies the arguments into the executor's buffers; the
     * updated params and optimizer state then stay there, handed from each
     * step's results to the next step's arguments without a copy */
    bool run_failed = pt_exec_run(x->e, s == 0 ? x->args : NULL, NULL, x->d) != PT_OK;
    pt_watchdog_step(0);
    if (run_failed && !x->root) /* its own messages, before the ranks agree */
      pt_train_emit(x->o, (pt_train_event){.kind = PT_TRAIN_RANK_FAILED, .diag = x->d}, x->rank,
                    x->size, x->batch);
    if (verifying) { /* rank 0 runs the interpreter only after a step every rank ran */
      pt_watchdog_wait(NULL, "the check that every rank ran the step");
      bool any = any_failed(run_failed);
      pt_watchdog_done();
      if (any)
        return false;
    }
    int bad = -1; /* --check-numerics: this rank's blocks of the updated state */
    if (o->check_numerics && !run_failed) {
      const pt_tensor **upd = pt_calloc((size_t)x->nupd + 1, sizeof *upd);
      for (int i = 0; i < x->nupd; i++)
        upd[i] = pt_exec_result_buffer(x->e, i);
      bad = pt_train_first_nonfinite(upd, x->nupd);
      pt_free(upd);
    }
    for (int i = 0; i < x->nupd && !run_failed; i++)
      pt_exec_carry(x->e, i, i);
    secs[s] = pt_train_now() - t0;
    if (s > 0 || o->steps == 1)
      x->comm_s += pt_exec_comm_seconds(x->e) - c0;
    uint64_t step = x->start + s + 1;
    if (recording && !run_failed)
      pt_prof_record(x->prof, x->e, step, t0, secs[s]);
    losses[s] = run_failed ? NAN : pt_tensor_get(pt_exec_result_buffer(x->e, x->nupd), 0);
    bool failed = false;
    if (x->ref && s < verify_steps) {
      failed = !verify_step(x, step, losses[s]);
      if (!failed)
        emit(x, (pt_train_event){.kind = PT_TRAIN_VERIFIED, .step = step, .loss = losses[s]});
    }
    /* the ranks agree on a failed run, --verify, a non-finite loss
     * (whatever rounding did) or state, and a signal any one of them
     * caught: one all-reduce per step */
    pt_watchdog_wait(NULL,
                     verifying ? "rank 0's --verify of the step" : "the agreement after the step");
    step_verdict v =
        agree_step(run_failed, x->ref && failed, !isfinite(losses[s]), pt_train_stop_signal(), bad);
    pt_watchdog_done();
    if (v.run_failed)
      return false;
    if (v.verify_failed)
      return false;
    emit(x, (pt_train_event){.kind = PT_TRAIN_STEP,
                             .step = step,
                             .index = s,
                             .loss = losses[s],
                             .seconds = secs[s]});
    if (v.nonfinite || v.bad >= 0) {
      pt_train_nonfinite(x->d, o, step, losses[s], v.nonfinite ? NULL : x->ts->args[v.bad]->name,
                         kept);
      return false;
    }
    int sig = v.signal;
    if (o->ckpt_dir && ((o->ckpt_every && step % o->ckpt_every == 0) || s + 1 == o->steps || sig)) {
      pt_watchdog_wait(NULL, "writing the checkpoint");
      failed = !save(x, step, pt_train_ckpt_path(o->ckpt_dir, path, sizeof path));
      pt_watchdog_done();
      if (rank_failed(x, failed)) {
        /* the write replaces the file atomically: the last one is whole */
        if (kept)
          pt_diag_report(x->d, PT_SEV_NOTE, PT_NOLOC,
                         "training stopped; %s still holds the "
                         "checkpoint of step %llu",
                         path, (unsigned long long)kept);
        else
          pt_diag_report(x->d, PT_SEV_NOTE, PT_NOLOC,
                         "training stopped; no checkpoint was "
                         "written");
        return false;
      }
      kept = step;
      emit(x, (pt_train_event){.kind = PT_TRAIN_CHECKPOINT, .step = step, .path = path});
    }
    if (sig) {
      emit(x, (pt_train_event){.kind = PT_TRAIN_INTERRUPTED, .step = step, .signal = sig});
      pt_train_interrupted(x->d, o, sig, step, o->ckpt_dir ? path : NULL);
      return false;
    }
  }
  return true;
}

/* Up to the first step: the program, the files, the executor, the
 * starting values. */
static bool set_up(dist *x) {
  const pt_train_opts *o = x->o;
  if (any_failed(!build(x)))
    return false;
  /* the files first: a bad one fails before the executor is built */
  if (o->profile && !pt_prof_check_path(MPI_COMM_WORLD, o->profile, x->d))
    return false;
  x->given = pt_calloc((size_t)x->ts->nargs + 1, sizeof *x->given);
  if (o->inputs && !read_inputs(x, o->inputs))
    return false;
  x->mm = pt_mpi_mesh_create(&x->m->mesh, MPI_COMM_WORLD, x->d);
  bool failed = !x->mm || !(x->e = pt_exec_create(x->g, x->mm, x->d));
  if (x->e)
    x->cur = pt_calloc((size_t)x->g->nargs + 1, sizeof *x->cur);
  if (rank_failed(x, failed))
    return false;
  bool use_data = pt_train_use_data(o, x->nin, (const char *const *)x->in_names);
  start_args(x, use_data);
  char path[1024];
  if (o->resume) {
    if (!resume(x, pt_train_ckpt_path(o->ckpt_dir, path, sizeof path)))
      return false;
    emit(x, (pt_train_event){.kind = PT_TRAIN_RESUMED, .step = x->start, .path = path});
  }
  if (o->ckpt_dir && !o->resume && x->root)
    mkdir(o->ckpt_dir, 0777);
  return !(o->verify && !o->resume) || verify_start(x, use_data);
}

/* After the last step: opts.out, the profile, the report. */
static bool finish(dist *x, double *losses, double *secs, pt_train_report *r) {
  const pt_train_opts *o = x->o;
  bool failed = o->out && !save(x, x->start + o->steps, o->out);
  if (any_failed(failed))
    return false;
  if (x->prof) {
    uint64_t pfirst = prof_first(o), pend = pfirst + PT_PROF_MAX_STEPS;
    pt_prof_info pi = {x->m->file,  o->loss->name, o->tactics, pt_train_optim_name(o->opt.kind),
                       &x->m->mesh, (int)pfirst};
    if (!pt_prof_write(x->prof, MPI_COMM_WORLD, o->profile, &pi, x->d))
      return false;
    emit(x, (pt_train_event){.kind = PT_TRAIN_PROFILED,
                             .first = x->start + pfirst + 1,
                             .step = x->start + (o->steps < pend ? o->steps : pend),
                             .path = o->profile});
  }
  long long peak = (long long)pt_exec_peak_bytes(x->e);
  long long *peaks = pt_calloc((size_t)x->size, sizeof *peaks);
  MPI_Allgather(&peak, 1, MPI_LONG_LONG, peaks, 1, MPI_LONG_LONG, MPI_COMM_WORLD);
  pt_train_report rep;
  pt_train_report_fill(&rep, o, x->ts, x->start, losses, secs, x->size, x->batch);
  rep.peak_bytes = pt_calloc((size_t)x->size, sizeof *rep.peak_bytes);
  for (int i = 0; i < x->size; i++)
    rep.peak_bytes[i] = peaks[i];
  pt_free(peaks);
  double step_s = 0; /* over the steps comm_s counts */
  for (uint64_t s = o->steps > 1; s < o->steps; s++)
    step_s += secs[s];
  double share = step_s > 0 ? x->comm_s / step_s : 0;
  rep.comm_share = pt_calloc((size_t)x->size, sizeof *rep.comm_share);
  MPI_Allgather(&share, 1, MPI_DOUBLE, rep.comm_share, 1, MPI_DOUBLE, MPI_COMM_WORLD);
  if (r)
    *r = rep;
  else
    pt_train_report_free(&rep);
  return true;
}

pt_status pt_train_run_distributed(const pt_train_opts *o, pt_train_report *r, pt_diag *d) {
  int inited = 0;
  MPI_Initialized(&inited);
  if (!inited) {
    pt_diag_error(d, PT_NOLOC, "a run with a tactic script needs MPI initialised (MPI_Init)");
    return PT_ERR;
  }
  dist x = {.o = o, .d = d, .m = o->module};
  MPI_Comm_rank(MPI_COMM_WORLD, &x.rank);
  MPI_Comm_size(MPI_COMM_WORLD, &x.size);
  x.root = x.rank == 0;
  double *losses = NULL, *secs = NULL;
  bool ok = set_up(&x);
  if (ok) {
    emit(&x, (pt_train_event){.kind = PT_TRAIN_STARTED, .step = x.start});
    if (o->profile)
      x.prof = pt_prof_create(x.g, PT_PROF_MAX_STEPS);
    losses = pt_calloc((size_t)o->steps + 1, sizeof *losses);
    secs = pt_calloc((size_t)o->steps + 1, sizeof *secs);
    char err[256];
    bool watched = pt_watchdog_start(o->timeout_s, x.mm, err, sizeof err);
    if (!watched)
      pt_diag_error(d, PT_NOLOC, "rank %d: %s", x.rank, err);
    ok = !any_failed(!watched) && loop(&x, losses, secs) && finish(&x, losses, secs, r);
    pt_watchdog_stop();
    if (ok)
      losses = secs = NULL; /* the report's */
  }
  int nargs = x.ts ? x.ts->nargs : 0;
  pt_tensors_destroy(x.ref, nargs);
  pt_tensors_destroy(x.args, nargs);
  pt_tensors_destroy(x.given, nargs);
  pt_free(losses);
  pt_free(secs);
  pt_free(x.specs);
  pt_free(x.lay);
  pt_ckpt_names_free(x.nin, x.in_names);
  pt_prof_destroy(x.prof);
  if (x.e)
    pt_exec_destroy(x.e);
  pt_free(x.cur);
  if (x.mm)
    pt_mpi_mesh_destroy(x.mm);
  pt_schedule_destroy(x.s);
  return ok ? PT_OK : PT_ERR;
}
