/* The two runs of `partita train` (train_run.h): load the program, hand it
 * to the training loop of runtime/train.h, and print its progress and
 * summary. Under mpirun (--tactics) this file also starts and ends MPI and
 * prints what rank 0 sees; the loops themselves, the checkpoints and the
 * data are the library's. */
#include <jansson.h>
#include <math.h>
#include <mpi.h>

#include "mpi_coll.h"
#include "train_run.h"

/* ---- one rank, the reference interpreter ---------------------------------- */

static json_t *json_num(double v) {
  /* JSON has no nan or inf: write them as strings, as `run --json` does */
  if (isnan(v))
    return json_string("nan");
  if (isinf(v))
    return json_string(v > 0 ? "inf" : "-inf");
  return json_real(v);
}

/* What the one-rank run prints as it goes. */
typedef struct {
  const pt_cli_train_args *a;
  const pt_train_opts *o;
  int width;  /* of the step numbers */
  int signal; /* the one that interrupted the run, or 0 */
} one_rank;

static void one_rank_progress(void *ctx, const pt_train_event *ev) {
  one_rank *p = ctx;
  if (ev->kind == PT_TRAIN_INTERRUPTED)
    p->signal = ev->signal;
  FILE *progress = p->a->json ? stderr : stdout;
  uint64_t s = ev->index;
  if (ev->kind == PT_TRAIN_STARTED && !p->a->json)
    printf("training @%s with %s (lr %g) for %llu step%s\n", p->o->loss->name,
           pt_train_optim_name(p->o->opt.kind), p->o->opt.lr, (unsigned long long)ev->steps,
           ev->steps == 1 ? "" : "s");
  if (ev->kind == PT_TRAIN_STEP && (s == 0 || s + 1 == ev->steps || (s + 1) % p->a->every == 0)) {
    fprintf(progress, "step %*llu  loss %-14.7g  %10.3f ms\n", p->width,
            (unsigned long long)ev->step, ev->loss, ev->seconds * 1e3);
    fflush(progress);
  }
}

static void one_rank_json(const pt_cli_train_args *a, const pt_train_opts *o,
                          const pt_train_report *r) {
  json_t *root = json_object(), *ls = json_array();
  for (uint64_t s = 0; s < r->steps; s++)
    json_array_append_new(ls, json_num(r->losses[s]));
  double first = r->losses[0], final = r->losses[r->steps - 1];
  json_object_set_new(root, "file", json_string(a->file));
  json_object_set_new(root, "func", json_string(o->loss->name));
  json_object_set_new(root, "optimizer", json_string(pt_train_optim_name(o->opt.kind)));
  json_object_set_new(root, "lr", json_real(o->opt.lr));
  json_object_set_new(root, "seed", json_integer((json_int_t)o->seed));
  json_object_set_new(root, "steps", json_integer((json_int_t)r->steps));
  json_object_set_new(root, "first_loss", json_num(first));
  json_object_set_new(root, "final_loss", json_num(final));
  json_object_set_new(root, "ratio", json_num(first / final));
  json_object_set_new(root, "median_step_seconds", json_real(r->median_seconds));
  json_object_set_new(root, "losses", ls);
  json_dumpf(root, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(9));
  fputc('\n', stdout);
  json_decref(root);
}

int pt_cli_train_one_rank(pt_cli_train_args *a) {
  int status = PT_EXIT_INPUT;
  pt_diag *d = pt_diag_create(stderr);
  pt_module *m = pt_cli_load(a->file, d);
  pt_func *f = m ? pt_cli_pick_func(m, a->func, "train") : NULL;
  if (f) {
    pt_train_opts o = a->t;
    one_rank p = {a, &o, snprintf(NULL, 0, "%llu", (unsigned long long)o.steps), 0};
    o.module = m;
    o.loss = f;
    o.stop_on_signal = true;
    o.progress = one_rank_progress;
    o.progress_ctx = &p;
    pt_train_report r;
    if (pt_train_run(&o, &r, d) == PT_OK) {
      if (a->json) {
        one_rank_json(a, &o, &r);
      } else {
        double first = r.losses[0], final = r.losses[r.steps - 1];
        printf("first loss %.7g, final loss %.7g, first/final %.4g; median step %.3f ms\n", first,
               final, first / final, r.median_seconds * 1e3);
        if (o.out)
          printf("wrote %s\n", o.out);
      }
      status = PT_EXIT_OK;
    } else if (p.signal) {
      status = 128 + p.signal; /* as a shell reports a process the signal ended */
    }
    pt_train_report_free(&r);
  }
  pt_module_destroy(m);
  pt_diag_destroy(d);
  return status;
}
/* ---- under mpirun ----------------------------------------------------------- */

/* What rank 0 prints as the run goes; ranks but 0 print only their own
 * failures. */
typedef struct {
  const pt_cli_train_args *a;
  const pt_train_opts *o;
  int signal; /* the one that interrupted the run, or 0 */
} dist_print;

static void progress(void *ctx, const pt_train_event *ev) {
  dist_print *p = ctx;
  if (ev->kind == PT_TRAIN_INTERRUPTED)
    p->signal = ev->signal;
  FILE *out = p->a->json ? stderr : stdout;
  uint64_t s = ev->index;
  if (ev->kind == PT_TRAIN_RANK_FAILED) {
    for (int i = 0; i < pt_diag_count(ev->diag); i++)
      fprintf(stderr, "partita (rank %d of %d): %s\n", ev->rank, ev->ranks,
              pt_diag_message(ev->diag, i));
    return;
  }
  if (ev->rank != 0)
    return;
  switch (ev->kind) {
  case PT_TRAIN_RESUMED:
    fprintf(out, "resumed from %s at step %llu\n", ev->path, (unsigned long long)ev->step);
    break;
  case PT_TRAIN_STARTED:
    if (!p->a->json)
      printf("training @%s with %s on %d ranks (%s) for %llu steps\n", p->o->loss->name,
             pt_train_optim_name(p->o->opt.kind), ev->ranks, p->o->tactics,
             (unsigned long long)ev->steps);
    break;
  case PT_TRAIN_VERIFIED:
    fprintf(out, "verify: step %llu matches the reference interpreter (loss %.9g)\n",
            (unsigned long long)ev->step, ev->loss);
    break;
  case PT_TRAIN_STEP:
    if (s == 0 || s + 1 == ev->steps || (s + 1) % p->a->every == 0)
      fprintf(out, "step %6llu  loss %-14.7g %9.3f ms  %10.1f samples/s\n",
              (unsigned long long)ev->step, ev->loss, ev->seconds * 1e3,
              ev->seconds > 0 ? (double)ev->batch / ev->seconds : 0.0);
    break;
  case PT_TRAIN_CHECKPOINT:
    fprintf(out, "checkpoint: step %llu written to %s\n", (unsigned long long)ev->step, ev->path);
    break;
  case PT_TRAIN_PROFILED:
    fprintf(out, "profile: steps %llu-%llu of %d rank%s written to %s\n",
            (unsigned long long)ev->first, (unsigned long long)ev->step, ev->ranks,
            ev->ranks == 1 ? "" : "s", ev->path);
    break;
  case PT_TRAIN_RANK_FAILED:
  case PT_TRAIN_INTERRUPTED: /* the error that follows says it */
    break;
  }
  fflush(out);
}

/* The share of each rank's steps spent in collectives: every rank's up to
 * four ranks, else the least and the most. */
static void comm_line(const pt_train_report *r) {
  if (!r->comm_share || r->ranks < 2)
    return;
  printf("time in collectives (waiting for slower ranks included):");
  if (r->ranks <= 4) {
    for (int i = 0; i < r->ranks; i++)
      printf("%s rank %d %.1f%%", i ? "," : "", i, 100 * r->comm_share[i]);
  } else {
    int lo = 0, hi = 0;
    for (int i = 1; i < r->ranks; i++) {
      lo = r->comm_share[i] < r->comm_share[lo] ? i : lo;
      hi = r->comm_share[i] > r->comm_share[hi] ? i : hi;
    }
    printf(" from %.1f%% (rank %d) to %.1f%% (rank %d)", 100 * r->comm_share[lo], lo,
           100 * r->comm_share[hi], hi);
  }
  printf(" of the step\n");
}

static void summary(const pt_cli_train_args *a, const pt_train_report *r) {
  double med = r->median_seconds;
  if (!a->json) {
    printf("first loss %.7g, final loss %.7g; median step %.3f ms (%.1f samples/s); peak "
           "buffers %.1f MiB per rank\n",
           r->losses[0], r->losses[r->steps - 1], med * 1e3, med > 0 ? (double)r->batch / med : 0.0,
           (double)r->peak_bytes[0] / (1 << 20));
    comm_line(r);
    return;
  }
  json_t *j = json_object(), *pk = json_array(), *ls = json_array(), *ss = json_array();
  json_t *cs = json_array();
  for (int i = 0; i < r->ranks; i++) {
    json_array_append_new(pk, json_integer(r->peak_bytes[i]));
    json_array_append_new(cs, json_real(r->comm_share ? r->comm_share[i] : 0.0));
  }
  for (uint64_t s = 0; s < r->steps; s++) {
    json_array_append_new(ls, json_real(r->losses[s]));
    json_array_append_new(ss, json_real(r->seconds[s]));
  }
  json_object_set_new(j, "ranks", json_integer(r->ranks));
  json_object_set_new(j, "steps", json_integer((json_int_t)r->steps));
  json_object_set_new(j, "first_step", json_integer((json_int_t)r->first_step));
  json_object_set_new(j, "first_loss", json_real(r->losses[0]));
  json_object_set_new(j, "final_loss", json_real(r->losses[r->steps - 1]));
  json_object_set_new(j, "median_step_seconds", json_real(med));
  json_object_set_new(j, "peak_buffer_bytes_per_rank", pk);
  json_object_set_new(j, "collective_share_per_rank", cs);
  json_object_set_new(j, "losses", ls);
  json_object_set_new(j, "step_seconds", ss);
  json_dumpf(j, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(9));
  fputc('\n', stdout);
  json_decref(j);
}

int pt_cli_train_distributed(pt_cli_train_args *a) {
  int rank = 0;
  pt_mpi_init();
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  /* every rank reads and checks the same inputs; rank 0 alone speaks */
  pt_diag *d = pt_diag_create(rank == 0 ? stderr : NULL);
  pt_module *m = pt_cli_load(a->file, d);
  pt_func *f = m ? pt_cli_pick_func(m, a->func, "train") : NULL;
  int mine = f == NULL, any = 0;
  MPI_Allreduce(&mine, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  int status = PT_EXIT_INPUT;
  if (!any) {
    pt_train_opts o = a->t;
    dist_print p = {a, &o, 0};
    o.module = m;
    o.loss = f;
    o.stop_on_signal = true;
    o.progress = progress;
    o.progress_ctx = &p;
    pt_train_report r;
    if (pt_train_run(&o, &r, d) == PT_OK) {
      if (rank == 0)
        summary(a, &r);
      status = PT_EXIT_OK;
    } else if (p.signal) {
      status = 128 + p.signal;
    }
    pt_train_report_free(&r);
  }
  pt_module_destroy(m);
  pt_diag_destroy(d);
  MPI_Finalize();
  return status;
}
