/* Replays fuzz inputs through a harness built without libFuzzer: every file
 * named on the command line, or in a directory named there, goes once
 * through LLVMFuzzerTestOneInput. A bug aborts (the harness prints what and
 * this program which input first); otherwise it prints how many inputs it
 * replayed and exits 0. ctest runs it over each harness's seed corpus and
 * regressions (tests/fuzz/CMakeLists.txt). */
#include <dirent.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz.h"

/* A harness without an LLVMFuzzerInitialize links too. */
__attribute__((weak)) int LLVMFuzzerInitialize(int *argc, char ***argv);

static const char *current; /* the input being replayed */

/* Names the input that made the harness abort or crash. */
static void on_fatal(int sig) {
  static const char msg[] = "replay: the input that failed: ";
  if (current) {
    (void)!write(2, msg, sizeof msg - 1);
    (void)!write(2, current, strlen(current));
    (void)!write(2, "\n", 1);
  }
  signal(sig, SIG_DFL);
  raise(sig);
}

static int replay_file(const char *path) {
  FILE *fp = fopen(path, "rb");
  if (!fp) {
    fprintf(stderr, "replay: error: cannot open %s\n", path);
    exit(1);
  }
  size_t cap = 4096, n = 0;
  uint8_t *buf = malloc(cap);
  size_t k;
  while (buf && (k = fread(buf + n, 1, cap - n, fp)) > 0)
    if ((n += k) == cap)
      buf = realloc(buf, cap *= 2);
  fclose(fp);
  if (!buf) {
    fprintf(stderr, "replay: error: out of memory reading %s\n", path);
    exit(1);
  }
  /* an exact-size copy, as libFuzzer gives: a read past the end is seen */
  uint8_t *exact = malloc(n ? n : 1);
  memcpy(exact, buf, n);
  free(buf);
  current = path;
  LLVMFuzzerTestOneInput(exact, n);
  current = NULL;
  free(exact);
  return 1;
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The regular files of dir, in name order. */
static int replay_dir(const char *dir) {
  DIR *dp = opendir(dir);
  if (!dp) {
    fprintf(stderr, "replay: error: cannot open the directory %s\n", dir);
    exit(1);
  }
  char **names = NULL;
  int n = 0, cap = 0;
  struct dirent *e;
  while ((e = readdir(dp))) {
    if (e->d_name[0] == '.')
      continue;
    if (n == cap)
      names = realloc(names, (size_t)(cap = cap ? 2 * cap : 64) * sizeof *names);
    names[n++] = strdup(e->d_name);
  }
  closedir(dp);
  qsort(names, (size_t)n, sizeof *names, cmp_str);
  int done = 0;
  for (int i = 0; i < n; i++) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, names[i]);
    struct stat sb;
    if (stat(path, &sb) == 0 && S_ISREG(sb.st_mode))
      done += replay_file(path);
    free(names[i]);
  }
  free(names);
  return done;
}

int main(int argc, char **argv) {
  if (argc < 2 || strcmp(argv[1], "--help") == 0) {
    fprintf(argc < 2 ? stderr : stdout,
            "usage: %s FILE-OR-DIR...\nReplays each input (every file of a directory) "
            "through the fuzz harness once; exit 0 when none shows a bug.\n",
            argv[0]);
    return argc < 2 ? 2 : 0;
  }
  signal(SIGABRT, on_fatal);
  void (*old)(int) = signal(SIGSEGV, on_fatal);
  if (old != SIG_DFL) /* AddressSanitizer's own: keep it */
    signal(SIGSEGV, old);
  if (LLVMFuzzerInitialize)
    LLVMFuzzerInitialize(&argc, &argv);
  int done = 0;
  for (int i = 1; i < argc; i++) {
    struct stat sb;
    if (stat(argv[i], &sb) != 0) {
      fprintf(stderr, "replay: error: no such file or directory: %s\n", argv[i]);
      return 1;
    }
    done += S_ISDIR(sb.st_mode) ? replay_dir(argv[i]) : replay_file(argv[i]);
  }
  printf("replay: %d inputs, no bug\n", done);
  return 0;
}
