/* The watchdog of a distributed run (watchdog.h). The training thread
 * publishes what it does in three atomics (the step, what it waits in, and
 * since when); a second thread looks every 100 ms. */
#include "watchdog.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static struct {
  double timeout;
  const pt_mpi_mesh *mm;
  pthread_t thread;
  bool running;
  atomic_bool stop;
  atomic_uint_least64_t step;         /* 0: between steps */
  atomic_uintptr_t op;                /* the collective waited in, or 0 */
  atomic_uintptr_t what;              /* else what is waited for, or 0 */
  atomic_int_least64_t since_ns;      /* when the wait, or else the step, began */
} w;

static int64_t now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

/* "rank 1", "ranks 1, 2 and 3": the group's ranks but this one. */
static void others(const int *ranks, int n, int self, char *buf, size_t cap) {
  int k = 0, m = 0;
  for (int i = 0; i < n; i++)
    m += ranks[i] != self;
  size_t len = (size_t)snprintf(buf, cap, "rank%s ", m == 1 ? "" : "s");
  for (int i = 0; i < n && len < cap; i++) {
    if (ranks[i] == self)
      continue;
    const char *sep = k == 0 ? "" : k + 1 == m ? " and " : ", ";
    len += (size_t)snprintf(buf + len, cap - len, "%s%d", sep, ranks[i]);
    k++;
  }
}

static void report(uint64_t step, const pt_op *op, const char *what, double secs) {
  int rank = pt_mpi_mesh_rank(w.mm), size = pt_mpi_mesh_size(w.mm);
  char head[64] = "", who[512] = "", where[512] = "";
  if (step)
    snprintf(head, sizeof head, "step %llu: ", (unsigned long long)step);
  if (op) {
    int ranks[256];
    int n = pt_mpi_group_ranks(w.mm, op, ranks, 256);
    if (n > 0 && n <= 256)
      others(ranks, n, rank, who, sizeof who);
    else
      snprintf(who, sizeof who, "the other ranks of its group");
    const pt_attr *a = pt_op_attr(op, PT_A_AXES);
    char axes[128] = "";
    size_t len = 0;
    for (int i = 0; a && i < a->val.n && len < sizeof axes; i++)
      len += (size_t)snprintf(axes + len, sizeof axes - len, "%s'%s'", i ? ", " : "",
                              a->val.items[i].s);
    pt_loc_str(op->loc, where, sizeof where);
    fprintf(stderr, "partita (rank %d of %d): error: %s%s over %s at %s has waited %.0f s for "
            "%s (--timeout %g): %s stopped, hung or gone? Ending the job.\n",
            rank, size, head, pt_op_name(op->code), axes, where, secs, who, w.timeout,
            strchr(who, ',') || strstr(who, " and ") ? "is one of them" : "is it");
  } else if (what) {
    fprintf(stderr, "partita (rank %d of %d): error: %s%s has waited %.0f s for the other "
            "ranks (--timeout %g): is one stopped, hung or gone? Ending the job.\n",
            rank, size, head, what, secs, w.timeout);
  } else {
    fprintf(stderr, "partita (rank %d of %d): error: %shas computed for %.0f s on this rank "
            "without finishing, outside any collective (--timeout %g). Ending the job.\n",
            rank, size, head, secs, w.timeout);
  }
  fflush(stderr);
}

static void *watch(void *arg) {
  (void)arg;
  /* a look that comes a second late means this whole process was stopped
   * (SIGSTOP, a debugger) or starved: the time before it was not spent
   * waiting, and is not counted */
  int64_t last = now_ns(), counted_from = last;
  while (!atomic_load(&w.stop)) {
    usleep(100000);
    int64_t t = now_ns();
    if (t - last > 1000000000)
      counted_from = t;
    last = t;
    uint64_t step = atomic_load(&w.step);
    const pt_op *op = (const pt_op *)atomic_load(&w.op);
    const char *what = (const char *)atomic_load(&w.what);
    if (!step && !op && !what)
      continue;
    int64_t since = atomic_load(&w.since_ns);
    double secs = (double)(t - (since > counted_from ? since : counted_from)) / 1e9;
    if (secs <= w.timeout)
      continue;
    report(step, op, what, secs);
    sleep(1); /* the other live ranks notice at about the same time: let them say so */
    _exit(1);
  }
  return NULL;
}

bool pt_watchdog_start(double timeout_s, const pt_mpi_mesh *mm, char *err, size_t n) {
  pt_watchdog_stop();
  w.timeout = timeout_s;
  w.mm = mm;
  atomic_store(&w.step, 0);
  atomic_store(&w.op, 0);
  atomic_store(&w.what, 0);
  atomic_store(&w.stop, false);
  if (timeout_s <= 0)
    return true;
  int e = pthread_create(&w.thread, NULL, watch, NULL);
  if (e != 0) {
    snprintf(err, n, "cannot start the watchdog thread: %s", strerror(e));
    return false;
  }
  w.running = true;
  return true;
}

void pt_watchdog_stop(void) {
  if (!w.running)
    return;
  atomic_store(&w.stop, true);
  pthread_join(w.thread, NULL);
  w.running = false;
}

void pt_watchdog_step(uint64_t step) {
  if (!w.running)
    return;
  atomic_store(&w.since_ns, now_ns());
  atomic_store(&w.step, step);
}

void pt_watchdog_wait(const pt_op *op, const char *what) {
  if (!w.running)
    return;
  atomic_store(&w.since_ns, now_ns());
  atomic_store(&w.what, (uintptr_t)what);
  atomic_store(&w.op, (uintptr_t)op);
}

void pt_watchdog_done(void) {
  if (!w.running)
    return;
  /* the time first: seen before the wait ends, it only makes the wait look
   * shorter (and each mark stores it first for the same reason) */
  atomic_store(&w.since_ns, now_ns()); /* the step's computation goes on from here */
  atomic_store(&w.op, 0);
  atomic_store(&w.what, 0);
}
