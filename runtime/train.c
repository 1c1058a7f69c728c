/* The training loop (train.h): what both ways of running share -- building
 * train_step, starting values, the checkpoint's metadata, the report -- and
 * the one-rank loop in the reference interpreter. The distributed loop is
 * runtime/train_dist.c; the synthetic data sources runtime/train_data.c. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "safetensors.h"
#include "train_impl.h"

double pt_train_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

const char *pt_train_optim_name(pt_optim_kind k) {
  switch (k) {
  case PT_OPTIM_SGD:
    return "sgd";
  case PT_OPTIM_MOMENTUM:
    return "momentum";
  case PT_OPTIM_ADAM:
    return "adam";
  }
  PT_UNREACHABLE();
}

bool pt_train_input_is_argument(const pt_func *f, const char *name, const char *path, pt_diag *d) {
  if (pt_func_find_arg(f, name))
    return true;
  char have[512] = "", near[160] = "";
  size_t k = 0;
  int best = 3; /* suggest a name at most 2 edits away */
  for (int a = 0; a < f->nargs; a++) {
    const char *an = f->args[a]->name ? f->args[a]->name : "?";
    if (a <= 10 && k + 8 < sizeof have)
      k += (size_t)snprintf(have + k, sizeof have - k, "%s%s", a ? ", " : "", a < 10 ? an : "...");
    int e = pt_edit_distance(name, an);
    if (e < best) {
      best = e;
      snprintf(near, sizeof near, "did you mean '%s'? ", an);
    }
  }
  pt_diag_error(d, (pt_loc){path, 0, 0},
                "tensor '%s' is not an argument of @%s (%sits arguments: %s)", name, f->name, near,
                have);
  return false;
}

/* ---- shared with runtime/train_dist.c ----------------------------------- */

pt_status pt_train_build_step(const pt_train_opts *o, pt_func **ts, pt_init_spec **specs,
                              pt_diag *d) {
  const pt_func *f = o->loss;
  *specs = pt_calloc((size_t)f->nargs + 1, sizeof **specs);
  for (int i = 0; i < f->nargs; i++)
    (*specs)[i] = pt_init_spec_for(f, f->args[i], o->seed);
  char name[64] = "train_step";
  for (int k = 2; pt_module_find_func(o->module, name); k++)
    snprintf(name, sizeof name, "train_step.%d", k);
  return pt_pass_train_step(o->module, f->name, &o->opt, name, ts, d);
}

bool pt_train_use_data(const pt_train_opts *o, int n, const char *const *given) {
  if (!o->data.make)
    return false;
  for (int k = 0; k < n; k++) {
    const pt_value *la = pt_func_find_arg(o->loss, given[k]);
    if (la && la->role == PT_ROLE_INPUT)
      return false;
  }
  return true;
}

pt_tensor *pt_train_start_value(const pt_train_opts *o, const pt_value *a,
                                const pt_init_spec *specs, bool use_data) {
  const pt_value *la = pt_func_find_arg(o->loss, a->name);
  pt_tensor *t = NULL;
  if (la && la->role == PT_ROLE_INPUT && use_data)
    t = o->data.make(o->data.ctx, o->loss, la, o->seed);
  PT_ASSERT(!t || pt_type_equal(&t->type, &a->type));
  if (!t && la)
    t = pt_init_tensor(&specs[la->arg_index], a->type);
  return t ? t : pt_tensor_create(a->type);
}

const char *pt_train_ckpt_path(const char *dir, char *buf, size_t n) {
  snprintf(buf, n, "%s/checkpoint.safetensors", dir);
  return buf;
}

bool pt_train_ckpt_meta_ok(const pt_train_opts *o, const char *path, const char *func,
                           const char *optim, const char *st, uint64_t *step, pt_diag *d) {
  const char *want = pt_train_optim_name(o->opt.kind);
  if (!func || strcmp(func, o->loss->name) != 0 || !optim || strcmp(optim, want) != 0) {
    pt_diag_error(d, (pt_loc){path, 0, 0},
                  "not a checkpoint of @%s trained with %s (it says func '%s', optimizer '%s')",
                  o->loss->name, want, func ? func : "?", optim ? optim : "?");
    return false;
  }
  if (!st) {
    pt_diag_error(d, (pt_loc){path, 0, 0},
                  "the file has no \"partita.step\": it is not a checkpoint (--checkpoint-dir "
                  "writes them; --out files are read with --inputs)");
    return false;
  }
  /* the step counts on from here: digits only, and far from wrapping */
  uint64_t v = 0;
  bool digits = *st != 0;
  for (const char *p = st; *p && digits; p++) {
    digits = *p >= '0' && *p <= '9' && v <= (PT_TRAIN_MAX_STEP - (uint64_t)(*p - '0')) / 10;
    if (digits)
      v = v * 10 + (uint64_t)(*p - '0');
  }
  if (!digits || v == 0) {
    pt_diag_error(d, (pt_loc){path, 0, 0},
                  "the checkpoint's \"partita.step\" is '%s', not a step from 1 to %" PRIu64, st,
                  PT_TRAIN_MAX_STEP);
    return false;
  }
  *step = v;
  return true;
}

int64_t pt_train_batch(const pt_func *ts) {
  for (int i = 0; i < ts->nargs; i++)
    if (ts->args[i]->role == PT_ROLE_INPUT && ts->args[i]->type.rank > 0)
      return ts->args[i]->type.dims[0];
  return 0;
}

void pt_train_emit(const pt_train_opts *o, pt_train_event ev, int rank, int ranks, int64_t batch) {
  if (!o->progress)
    return;
  ev.rank = rank;
  ev.ranks = ranks;
  ev.steps = o->steps;
  ev.batch = batch;
  o->progress(o->progress_ctx, &ev);
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

void pt_train_report_fill(pt_train_report *r, const pt_train_opts *o, pt_func *ts,
                          uint64_t start_step, double *losses, double *secs, int ranks,
                          int64_t batch) {
  uint64_t n = o->steps;
  double *s = pt_malloc((size_t)n * sizeof *s);
  memcpy(s, secs, (size_t)n * sizeof *s);
  qsort(s, (size_t)n, sizeof *s, cmp_double);
  *r = (pt_train_report){.train_step = ts,
                         .first_step = start_step + 1,
                         .steps = n,
                         .losses = losses,
                         .seconds = secs,
                         .median_seconds = n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2,
                         .ranks = ranks,
                         .batch = batch};
  pt_free(s);
}

/* ---- signals ---------------------------------------------------------------- */

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig) {
  if (stop_signal) { /* the second: at once */
    static const char msg[] = "partita: interrupted again, exiting now\n";
    ssize_t w = write(STDERR_FILENO, msg, sizeof msg - 1);
    (void)w;
    _exit(128 + sig);
  }
  stop_signal = sig;
}

void pt_train_signals_install(const pt_train_opts *o, struct sigaction old[2]) {
  stop_signal = 0;
  if (!o->stop_on_signal)
    return;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART; /* a collective or a write in progress carries on */
  sigaction(SIGINT, &sa, &old[0]);
  sigaction(SIGTERM, &sa, &old[1]);
}

void pt_train_signals_restore(const pt_train_opts *o, const struct sigaction old[2]) {
  if (!o->stop_on_signal)
    return;
  sigaction(SIGINT, &old[0], NULL);
  sigaction(SIGTERM, &old[1], NULL);
}

int pt_train_stop_signal(void) { return stop_signal; }

void pt_train_interrupted(pt_diag *d, const pt_train_opts *o, int sig, uint64_t step,
                          const char *path) {
  const char *name = sig == SIGINT ? "SIGINT" : sig == SIGTERM ? "SIGTERM" : "a signal";
  if (path)
    pt_diag_error(d, PT_NOLOC, "interrupted by %s after step %llu; its state is in the "
                  "checkpoint %s (--resume continues from it)", name, (unsigned long long)step,
                  path);
  else
    pt_diag_error(d, PT_NOLOC, "interrupted by %s after step %llu; nothing was written%s", name,
                  (unsigned long long)step,
                  o->tactics ? " (--checkpoint-dir would have kept the state)" : "");
}

int pt_train_first_nonfinite(const pt_tensor *const *t, int n) {
  for (int i = 0; i < n; i++) {
    if (!t[i] || t[i]->wide || t[i]->type.dtype != PT_F32)
      continue;
    const float *v = t[i]->data;
    int64_t m = pt_type_numel(&t[i]->type);
    for (int64_t k = 0; k < m; k++)
      if (!isfinite(v[k]))
        return i;
  }
  return -1;
}

void pt_train_nonfinite(pt_diag *d, const pt_train_opts *o, uint64_t step, double loss,
                        const char *tensor, uint64_t kept) {
  char where[1200];
  if (o->ckpt_dir && kept)
    snprintf(where, sizeof where, "the checkpoint of step %llu in %s is kept",
             (unsigned long long)kept, o->ckpt_dir);
  else if (o->ckpt_dir)
    snprintf(where, sizeof where, "no checkpoint was written");
  else
    snprintf(where, sizeof where, "nothing was written");
  if (tensor)
    pt_diag_error(d, PT_NOLOC, "step %llu: %%%s is not finite after the step's update "
                  "(--check-numerics); training stopped before writing that step's state (%s)",
                  (unsigned long long)step, tensor, where);
  else
    pt_diag_error(d, PT_NOLOC, "step %llu: the loss is %g; training stopped before writing "
                  "that step's state (%s)", (unsigned long long)step, loss, where);
}

void pt_train_report_free(pt_train_report *r) {
  if (!r)
    return;
  pt_free(r->losses);
  pt_free(r->seconds);
  pt_free(r->peak_bytes);
  pt_free(r->comm_share);
  *r = (pt_train_report){0};
}

/* ---- one rank, in the reference interpreter ------------------------------ */

typedef struct {
  const pt_train_opts *o;
  pt_diag *d;
  pt_func *ts;
  int nupd;         /* results 0..nupd-1 are the next step's arguments 0..nupd-1 */
  pt_tensor **args; /* train_step's, owned */
} one;

/* The starting values: from the inputs file, else pt_train_start_value.
 * Reports every mismatch, then false. */
static bool initial_args(one *x, const pt_init_spec *specs) {
  const pt_train_opts *o = x->o;
  pt_st_file *in = NULL;
  if (pt_interp_check_memory(x->ts, x->d) != PT_OK ||
      (o->inputs && !(in = pt_st_read(o->inputs, x->d))))
    return false;
  int n = in ? pt_st_count(in) : 0;
  const char **given = pt_calloc((size_t)n + 1, sizeof *given);
  for (int k = 0; k < n; k++)
    given[k] = pt_st_name(in, k);
  bool use_data = pt_train_use_data(o, n, given), bad = false;
  for (int i = 0; i < x->ts->nargs; i++) {
    const pt_value *a = x->ts->args[i];
    const pt_tensor *t = in ? pt_st_find(in, a->name) : NULL;
    if (t && !pt_type_equal(&t->type, &a->type)) {
      char b1[PT_TYPE_STRLEN], b2[PT_TYPE_STRLEN];
      pt_diag_error(x->d, (pt_loc){o->inputs, 0, 0},
                    "tensor '%s' is %s but argument %%%s of @%s is %s", a->name,
                    pt_type_str(&t->type, b1, sizeof b1), a->name, x->ts->name,
                    pt_type_str(&a->type, b2, sizeof b2));
      bad = true;
    } else {
      x->args[i] = t ? pt_tensor_clone(t) : pt_train_start_value(o, a, specs, use_data);
    }
  }
  for (int k = 0; k < n; k++)
    bad |= !pt_train_input_is_argument(x->ts, given[k], o->inputs, x->d);
  pt_free(given);
  pt_st_close(in);
  return !bad;
}

/* Replaces the params and optimizer state by the checkpoint's; its step in
 * *step. */
static bool resume(one *x, const char *path, uint64_t *step) {
  pt_st_file *f = pt_st_read(path, x->d);
  if (!f)
    return false;
  bool ok = pt_train_ckpt_meta_ok(x->o, path, pt_st_meta(f, "partita.func"),
                                  pt_st_meta(f, "partita.optimizer"), pt_st_meta(f, "partita.step"),
                                  step, x->d);
  for (int i = 0; ok && i < x->nupd; i++) {
    const pt_value *a = x->ts->args[i];
    const pt_tensor *t = pt_st_find(f, a->name);
    char b1[PT_TYPE_STRLEN], b2[PT_TYPE_STRLEN];
    if (!t) {
      pt_diag_error(x->d, (pt_loc){path, 0, 0}, "the checkpoint has no tensor '%s'", a->name);
      ok = false;
    } else if (!pt_type_equal(&t->type, &a->type)) {
      pt_diag_error(x->d, (pt_loc){path, 0, 0},
                    "checkpoint tensor '%s' is %s but the program's %%%s is %s", a->name,
                    pt_type_str(&t->type, b1, sizeof b1), a->name,
                    pt_type_str(&a->type, b2, sizeof b2));
      ok = false;
    }
  }
  for (int i = 0; ok && i < x->nupd; i++) {
    pt_tensor_destroy(x->args[i]);
    x->args[i] = pt_tensor_clone(pt_st_find(f, x->ts->args[i]->name));
  }
  pt_st_close(f);
  return ok;
}

/* Writes the params and optimizer state to path with metadata meta (nmeta
 * pairs). */
static bool write_state(one *x, const char *path, int nmeta, const char *const *meta) {
  const char **names = pt_calloc((size_t)x->nupd + 1, sizeof *names);
  for (int i = 0; i < x->nupd; i++)
    names[i] = x->ts->args[i]->name;
  pt_status st =
      pt_st_write(path, x->nupd, names, (const pt_tensor *const *)x->args, nmeta, meta, x->d);
  pt_free(names);
  return st == PT_OK;
}

/* A checkpoint after step `step`, with the metadata a distributed run's
 * has (but the mesh and script), so either kind resumes from it. */
static bool checkpoint(one *x, uint64_t step, const char *path) {
  char sb[32];
  snprintf(sb, sizeof sb, "%llu", (unsigned long long)step);
  const char *meta[] = {"partita.step",      sb,
                        "partita.optimizer", pt_train_optim_name(x->o->opt.kind),
                        "partita.func",      x->o->loss->name,
                        "partita.source",    x->o->module->file};
  return write_state(x, path, 4, meta);
}

/* opts.out: the final state with the run's settings. */
static bool write_out(one *x) {
  const pt_optimizer *opt = &x->o->opt;
  char sb[32], seedb[32], lrb[40], mb[40], b1b[40], b2b[40], eb[40];
  snprintf(sb, sizeof sb, "%llu", (unsigned long long)x->o->steps);
  snprintf(seedb, sizeof seedb, "%llu", (unsigned long long)x->o->seed);
  pt_fmt_double(opt->lr, lrb, sizeof lrb);
  pt_fmt_double(opt->momentum, mb, sizeof mb);
  pt_fmt_double(opt->beta1, b1b, sizeof b1b);
  pt_fmt_double(opt->beta2, b2b, sizeof b2b);
  pt_fmt_double(opt->eps, eb, sizeof eb);
  const char *meta[20] = {"partita.func",      x->o->loss->name,
                          "partita.source",    x->o->module->file,
                          "partita.steps",     sb,
                          "partita.seed",      seedb,
                          "partita.optimizer", pt_train_optim_name(opt->kind),
                          "partita.lr",        lrb};
  int nmeta = 6;
  if (opt->kind == PT_OPTIM_MOMENTUM) {
    meta[2 * nmeta] = "partita.momentum";
    meta[2 * nmeta++ + 1] = mb;
  }
  if (opt->kind == PT_OPTIM_ADAM) {
    const char *kv[] = {"partita.beta1", b1b, "partita.beta2", b2b, "partita.eps", eb};
    for (int k = 0; k < 3; k++) {
      meta[2 * nmeta] = kv[2 * k];
      meta[2 * nmeta++ + 1] = kv[2 * k + 1];
    }
  }
  return write_state(x, x->o->out, nmeta, meta);
}

/* The steps, each taking the params and state the previous returned; a
 * non-finite loss stops them before its step's state is written. */
static bool loop(one *x, uint64_t start, double *losses, double *secs, int64_t batch) {
  const pt_train_opts *o = x->o;
  pt_tensor **results = pt_calloc((size_t)x->ts->nresults, sizeof *results);
  char path[1024];
  bool ok = true;
  uint64_t kept = o->resume ? start : 0; /* the checkpoint on disk */
  for (uint64_t s = 0; s < o->steps && ok; s++) {
    double t0 = pt_train_now();
    if (pt_interp_run(x->ts, x->args, results, x->d) != PT_OK) {
      ok = false;
      break;
    }
    secs[s] = pt_train_now() - t0;
    for (int i = 0; i < x->nupd; i++) {
      pt_tensor_destroy(x->args[i]);
      x->args[i] = results[i];
      results[i] = NULL;
    }
    losses[s] = pt_tensor_get(results[x->nupd], 0);
    pt_tensor_destroy(results[x->nupd]);
    results[x->nupd] = NULL;
    uint64_t step = start + s + 1;
    pt_train_emit(
        o,
        (pt_train_event){
            .kind = PT_TRAIN_STEP, .step = step, .index = s, .loss = losses[s], .seconds = secs[s]},
        0, 1, batch);
    int bad = o->check_numerics ? pt_train_first_nonfinite((const pt_tensor *const *)x->args,
                                                           x->nupd)
                                : -1;
    if (!isfinite(losses[s]) || bad >= 0) {
      pt_train_nonfinite(x->d, o, step, losses[s],
                         isfinite(losses[s]) ? x->ts->args[bad]->name : NULL, kept);
      ok = false;
      break;
    }
    int sig = pt_train_stop_signal();
    if (o->ckpt_dir && ((o->ckpt_every && step % o->ckpt_every == 0) || s + 1 == o->steps || sig)) {
      ok = checkpoint(x, step, pt_train_ckpt_path(o->ckpt_dir, path, sizeof path));
      if (ok) {
        kept = step;
        pt_train_emit(o, (pt_train_event){.kind = PT_TRAIN_CHECKPOINT, .step = step, .path = path},
                      0, 1, batch);
      }
    }
    if (ok && sig) {
      pt_train_emit(o, (pt_train_event){.kind = PT_TRAIN_INTERRUPTED, .step = step, .signal = sig},
                    0, 1, batch);
      pt_train_interrupted(x->d, o, sig, step, kept == step && o->ckpt_dir ? path : NULL);
      ok = false;
    }
  }
  pt_free(results);
  return ok;
}

static pt_status run_one_rank(const pt_train_opts *o, pt_train_report *r, pt_diag *d) {
  if (o->verify || o->profile) {
    pt_diag_error(d, PT_NOLOC, "%s needs a tactic script: it checks or times the lowered program",
                  o->verify ? "--verify" : "--profile");
    return PT_ERR;
  }
  one x = {.o = o, .d = d};
  pt_init_spec *specs = NULL;
  double *losses = NULL, *secs = NULL;
  uint64_t start = 0;
  bool ok = pt_train_build_step(o, &x.ts, &specs, d) == PT_OK;
  if (ok) {
    x.nupd = x.ts->nresults - 1;
    for (int i = 0; i < x.nupd; i++)
      PT_ASSERT(strcmp(x.ts->results[i].name, x.ts->args[i]->name) == 0);
    x.args = pt_calloc((size_t)x.ts->nargs + 1, sizeof *x.args);
    ok = initial_args(&x, specs);
  }
  int64_t batch = ok ? pt_train_batch(x.ts) : 0;
  char path[1024];
  if (ok && o->resume) {
    ok = resume(&x, pt_train_ckpt_path(o->ckpt_dir, path, sizeof path), &start);
    if (ok)
      pt_train_emit(o, (pt_train_event){.kind = PT_TRAIN_RESUMED, .step = start, .path = path}, 0,
                    1, batch);
  }
  if (ok && o->ckpt_dir && !o->resume)
    mkdir(o->ckpt_dir, 0777);
  if (ok) {
    pt_train_emit(o, (pt_train_event){.kind = PT_TRAIN_STARTED, .step = start}, 0, 1, batch);
    losses = pt_calloc((size_t)o->steps + 1, sizeof *losses);
    secs = pt_calloc((size_t)o->steps + 1, sizeof *secs);
    ok = loop(&x, start, losses, secs, batch);
  }
  if (ok) {
    pt_train_report rep;
    pt_train_report_fill(&rep, o, x.ts, start, losses, secs, 1, batch);
    losses = secs = NULL;
    ok = !o->out || write_out(&x);
    if (ok && r)
      *r = rep;
    else
      pt_train_report_free(&rep);
  }
  pt_tensors_destroy(x.args, x.args ? x.ts->nargs : 0);
  pt_free(losses);
  pt_free(secs);
  pt_free(specs);
  return ok ? PT_OK : PT_ERR;
}

/* ---- the entry point ------------------------------------------------------- */

pt_status pt_train_run(const pt_train_opts *o, pt_train_report *r, pt_diag *d) {
  if (r)
    *r = (pt_train_report){0};
  const char *bad = !o->module || !o->loss         ? "no module or loss function"
                    : o->loss->module != o->module ? "the loss function is not in the module"
                    : o->steps < 1                 ? "steps must be >= 1"
                    : (o->resume || o->ckpt_every) && !o->ckpt_dir
                        ? "resume and ckpt_every need ckpt_dir"
                        : NULL;
  if (bad) {
    pt_diag_error(d, PT_NOLOC, "pt_train_run: %s", bad);
    return PT_ERR;
  }
  struct sigaction old[2];
  pt_train_signals_install(o, old);
  pt_status st = o->tactics ? pt_train_run_distributed(o, r, d) : run_one_rank(o, r, d);
  pt_train_signals_restore(o, old);
  return st;
}
