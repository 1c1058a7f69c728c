/* The measured timeline of a distributed training run (profile.h; `partita
 * train --tactics ... --profile`): per-op records kept on each rank,
 * gathered to rank 0 at the end and written as Chrome trace-event JSON laid
 * out as simulator/trace.c lays out a predicted run, so the two can be
 * compared lane by lane. */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "profile.h"
#include "sim.h"
#include "tracefmt.h"

/* Lanes as in simulator/trace.c, plus one with a box per step above them. */
enum { TID_COMPUTE = PT_TRACE_COMPUTE, TID_COMM = PT_TRACE_COMM, TID_STEP = PT_TRACE_STEP };

/* A record is REC_HEAD doubles then (start, seconds) per op, starts from
 * the executor's run start; doubles, so that one MPI_Gatherv moves it all. */
enum { R_STEP, R_RUN_START, R_BARRIER, R_RUN_SECONDS, R_STEP_SECONDS, R_NOPS, REC_HEAD };

struct pt_prof {
  const pt_func *g;
  int cap, n;
  double *rec;
};

static int rec_len(int nops) {
  return REC_HEAD + 2 * nops;
}

pt_prof *pt_prof_create(const pt_func *g, int max_steps) {
  pt_prof *p = pt_calloc(1, sizeof *p);
  p->g = g;
  p->cap = max_steps;
  p->rec = pt_calloc((size_t)max_steps * (size_t)rec_len(g->nops) + 1, sizeof *p->rec);
  return p;
}

void pt_prof_destroy(pt_prof *p) {
  if (!p)
    return;
  pt_free(p->rec);
  pt_free(p);
}

void pt_prof_record(pt_prof *p, const pt_exec *e, uint64_t step, double barrier_exit,
                    double step_seconds) {
  if (p->n >= p->cap)
    return;
  int nops = p->g->nops;
  double *r = p->rec + (size_t)p->n++ * (size_t)rec_len(nops);
  const double *starts = pt_exec_op_starts(e), *secs = pt_exec_op_seconds(e);
  r[R_STEP] = (double)step;
  r[R_RUN_START] = pt_exec_run_start(e);
  r[R_BARRIER] = barrier_exit;
  r[R_RUN_SECONDS] = pt_exec_run_seconds(e);
  r[R_STEP_SECONDS] = step_seconds;
  r[R_NOPS] = nops;
  for (int i = 0; i < nops; i++) {
    r[REC_HEAD + 2 * i] = starts[i];
    r[REC_HEAD + 2 * i + 1] = secs[i];
  }
}

bool pt_prof_check_path(MPI_Comm comm, const char *path, pt_diag *d) {
  int rank, ok = 1;
  MPI_Comm_rank(comm, &rank);
  if (rank == 0) {
    size_t len = strlen(path) + 32;
    char *tmp = pt_malloc(len);
    snprintf(tmp, len, "%s.tmp.%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "wb");
    if (!f) {
      pt_diag_error(d, (pt_loc){path, 0, 0}, "cannot write the profile: %s", strerror(errno));
      ok = 0;
    } else {
      fclose(f);
      unlink(tmp);
    }
    pt_free(tmp);
  }
  MPI_Bcast(&ok, 1, MPI_INT, 0, comm);
  return ok != 0;
}

/* ---- the trace (rank 0) ------------------------------------------------- */

static void lanes(json_t *events, int rank) {
  int pid = rank + 1; /* pid 0 is special to some viewers */
  char title[32];
  snprintf(title, sizeof title, "rank %d", rank);
  json_array_append_new(events, pt_trace_meta("process_name", pid, 0, "name", json_string(title)));
  json_array_append_new(
      events, pt_trace_meta("process_sort_index", pid, 0, "sort_index", json_integer(rank)));
  const struct {
    int tid, sort;
    const char *name;
  } lane[] = {{TID_STEP, 0, "step"}, {TID_COMPUTE, 1, "compute"}, {TID_COMM, 2, "communication"}};
  for (int k = 0; k < 3; k++) {
    json_array_append_new(
        events, pt_trace_meta("thread_name", pid, lane[k].tid, "name", json_string(lane[k].name)));
    json_array_append_new(events, pt_trace_meta("thread_sort_index", pid, lane[k].tid, "sort_index",
                                                json_integer(lane[k].sort)));
  }
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* The event of op i of a step of `rank`: from start for seconds; `fused`
 * when the executor did not run it on its own. */
static json_t *op_event(const pt_op *op, int i, uint64_t step, int rank, double start,
                        double seconds, bool fused, char **names) {
  json_t *ev = pt_trace_op(op, i, names, rank + 1, start, start + seconds);
  json_t *args = json_object_get(ev, "args");
  json_object_set_new_nocheck(args, "step", json_integer((json_int_t)step));
  if (fused)
    json_object_set_new_nocheck(args, "fused", json_true());
  return ev;
}

/* The trace of every rank's records (all[off[r]..], n[r] records each), or
 * NULL after printing why not. */
static char *trace_json(const pt_func *g, int size, const double *all, const int *off, const int *n,
                        bool shared_clock, const pt_prof_info *info, const char *path, pt_diag *d) {
  int len = rec_len(g->nops);
  for (int r = 0; r < size; r++)
    for (int k = 0; k < n[r]; k++)
      if ((int)all[off[r] + k * len + R_NOPS] != g->nops) {
        pt_diag_error(d, (pt_loc){path, 0, 0},
                      "rank %d ran a program of %d ops but rank 0 one of %d", r,
                      (int)all[off[r] + k * len + R_NOPS], g->nops);
        return NULL;
      }
  /* Where each step starts on the trace's clock. With one clock for all
   * (one machine), at its own start; otherwise each rank's offset from the
   * barrier before the step is added to when rank 0 left that barrier. */
  double **origin = pt_calloc((size_t)size, sizeof *origin), t0 = INFINITY;
  for (int r = 0; r < size; r++) {
    origin[r] = pt_calloc((size_t)n[r] + 1, sizeof *origin[r]);
    for (int k = 0; k < n[r]; k++) {
      const double *rec = all + off[r] + k * len;
      origin[r][k] = rec[R_RUN_START];
      if (!shared_clock && k < n[0])
        origin[r][k] = all[off[0] + k * len + R_BARRIER] + (rec[R_RUN_START] - rec[R_BARRIER]);
    }
    if (n[r] > 0 && origin[r][0] < t0)
      t0 = origin[r][0];
  }

  char **names = pt_value_names(g);
  json_t **ops = pt_calloc((size_t)g->nops + 1, sizeof *ops);
  json_t *events = json_array(), *medians = json_array(), *recorded = json_array();
  char buf[64];
  for (int r = 0; r < size; r++) {
    lanes(events, r);
    double *secs = pt_calloc((size_t)n[r] + 1, sizeof *secs);
    for (int k = 0; k < n[r]; k++) {
      const double *rec = all + off[r] + k * len;
      double o = origin[r][k] - t0;
      snprintf(buf, sizeof buf, "step %lld", (long long)rec[R_STEP]);
      json_t *ev = pt_trace_span(buf, "step", r + 1, TID_STEP, o, o + rec[R_RUN_SECONDS]);
      json_t *args = json_object();
      json_object_set_new_nocheck(args, "step", json_integer((json_int_t)rec[R_STEP]));
      json_object_set_new_nocheck(args, "step_seconds", json_real(rec[R_STEP_SECONDS]));
      json_object_set_new_nocheck(ev, "args", args);
      json_array_append_new(events, ev);
      /* An op the executor did not run on its own -- a member of a fused
       * element-wise group, which runs at its last member, or a broadcast
       * or constant read in place -- has a start and a time of exactly 0:
       * it is drawn with no length where the next op that ran starts. */
      double next = rec[R_RUN_SECONDS];
      for (int i = g->nops - 1; i >= 0; i--) {
        double st = rec[REC_HEAD + 2 * i], sec = rec[REC_HEAD + 2 * i + 1];
        bool fused = st == 0 && sec == 0;
        if (!fused)
          next = st;
        ops[i] = op_event(g->ops[i], i, (uint64_t)rec[R_STEP], r, o + (fused ? next : st), sec,
                          fused, names);
      }
      for (int i = 0; i < g->nops; i++)
        json_array_append_new(events, ops[i]);
      secs[k] = rec[R_STEP_SECONDS];
      if (r == 0)
        json_array_append_new(recorded, json_integer((json_int_t)rec[R_STEP]));
    }
    qsort(secs, (size_t)n[r], sizeof *secs, cmp_double);
    json_array_append_new(
        medians,
        n[r] ? json_real(n[r] % 2 ? secs[n[r] / 2] : (secs[n[r] / 2 - 1] + secs[n[r] / 2]) / 2)
             : json_null());
    pt_free(secs);
  }
  pt_value_names_free(g, names);
  pt_free(ops);
  for (int r = 0; r < size; r++)
    pt_free(origin[r]);
  pt_free(origin);

  char mesh[256] = "";
  for (int a = 0; a < info->mesh->naxes; a++)
    snprintf(mesh + strlen(mesh), sizeof mesh - strlen(mesh), "%s%s=%lld", a ? "," : "",
             info->mesh->names[a], (long long)info->mesh->sizes[a]);
  json_t *root = json_object(), *other = json_object();
  json_object_set_new_nocheck(root, "traceEvents", events);
  json_object_set_new_nocheck(root, "displayTimeUnit", json_string("ns"));
  json_object_set_new_nocheck(other, "measured", json_string("partita train --profile"));
  json_object_set_new_nocheck(other, "source", json_string(info->source));
  json_object_set_new_nocheck(other, "func", json_string(info->func));
  json_object_set_new_nocheck(other, "optimizer", json_string(info->optimizer));
  json_object_set_new_nocheck(other, "tactics", json_string(info->tactics));
  json_object_set_new_nocheck(other, "mesh", json_string(mesh));
  json_object_set_new_nocheck(other, "ranks", json_integer(size));
  json_object_set_new_nocheck(other, "ops_per_step", json_integer(g->nops));
  json_object_set_new_nocheck(other, "steps_recorded", recorded);
  json_object_set_new_nocheck(other, "warmup_steps_skipped", json_integer(info->warmup));
  json_object_set_new_nocheck(other, "median_step_seconds", medians);
  json_object_set_new_nocheck(
      other, "clock",
      json_string(shared_clock ? "CLOCK_MONOTONIC of the one host every rank runs on"
                               : "each host's CLOCK_MONOTONIC, steps aligned at the barrier "
                                 "before each"));
  return pt_trace_finish(root, other);
}

bool pt_prof_write(const pt_prof *p, MPI_Comm comm, const char *path, const pt_prof_info *info,
                   pt_diag *d) {
  int rank, size;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);
  bool root = rank == 0;
  int len = rec_len(p->g->nops);
  /* every rank runs the same program, so the counts are alike; rank 0
   * checks that they are */
  int count = p->n * len, ok = 1;
  int *counts = root ? pt_calloc((size_t)size, sizeof *counts) : NULL;
  int *displs = root ? pt_calloc((size_t)size, sizeof *displs) : NULL;
  int *nrec = root ? pt_calloc((size_t)size, sizeof *nrec) : NULL;
  MPI_Gather(&count, 1, MPI_INT, counts, 1, MPI_INT, 0, comm);
  int64_t total = 0;
  if (root)
    for (int r = 0; r < size; r++) {
      displs[r] = (int)total;
      nrec[r] = counts[r] / len;
      total += counts[r];
    }
  if (root && total > INT32_MAX) {
    pt_diag_error(d, (pt_loc){path, 0, 0},
                  "the profile has %lld numbers, more than one gather moves", (long long)total);
    ok = 0;
  }
  MPI_Bcast(&ok, 1, MPI_INT, 0, comm);
  double *all = NULL;
  char *hosts = NULL;
  if (ok) {
    all = root ? pt_malloc((size_t)total * sizeof *all + 1) : NULL;
    MPI_Gatherv(p->rec, count, MPI_DOUBLE, all, counts, displs, MPI_DOUBLE, 0, comm);
    char host[MPI_MAX_PROCESSOR_NAME] = {0};
    int hlen = 0;
    MPI_Get_processor_name(host, &hlen);
    hosts = root ? pt_calloc((size_t)size, MPI_MAX_PROCESSOR_NAME) : NULL;
    MPI_Gather(host, MPI_MAX_PROCESSOR_NAME, MPI_CHAR, hosts, MPI_MAX_PROCESSOR_NAME, MPI_CHAR, 0,
               comm);
  }
  if (ok && root) {
    bool shared = true;
    for (int r = 1; r < size; r++)
      shared = shared && strncmp(hosts, hosts + (size_t)r * MPI_MAX_PROCESSOR_NAME,
                                 MPI_MAX_PROCESSOR_NAME) == 0;
    char *text = trace_json(p->g, size, all, displs, nrec, shared, info, path, d);
    ok = text && pt_write_file_atomic(path, text, d);
    pt_free(text);
  }
  MPI_Bcast(&ok, 1, MPI_INT, 0, comm);
  pt_free(counts);
  pt_free(displs);
  pt_free(nrec);
  pt_free(all);
  pt_free(hosts);
  return ok != 0;
}
