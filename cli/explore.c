/* `partita explore FILE --tactics A.yaml B.yaml ... --hw HW.yaml`: simulates
 * each strategy on one machine and ranks them, optionally as an SVG chart. */
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "simulate.h"

static int run(int argc, char **argv);

const pt_command pt_cmd_explore = {
    "explore", run, "simulate several tactic scripts on a machine and rank them",
    "Usage: partita explore FILE --tactics A.yaml B.yaml ... --hw HW.yaml [--func NAME]\n"
    "                        [--optimizer OPT] [--svg CHART.svg] [--json]\n\n"
    "Simulates each strategy (a tactic script; each sets its own mesh) on the machine\n"
    "the hardware file describes, as `partita sim` does, and prints them ranked:\n"
    "strategies that fit in memory first, each group by predicted step time, with\n"
    "the communication share, the bytes each device sends and the peak memory per\n"
    "device. A strategy that fails (a script that does not apply, a mesh the\n"
    "machine does not have) is reported and listed last.\n\n"
    "Options:\n"
    "  -t, --tactics FILE...  the strategies: every argument after --tactics up to\n"
    "                         the next option (-t may also be repeated)\n"
    "      --hw FILE          the hardware file (YAML)\n"
    "  -f, --func NAME        the function (default: the only one, or @loss;\n"
    "                         @train_step with --optimizer)\n"
    "      --optimizer OPT    first build train_step with sgd, momentum or adam\n"
    "      --svg FILE         also draw the ranking as a bar chart (compute and\n"
    "                         communication stacked) in an SVG file\n"
    "      --json             print the ranking as one JSON object instead\n"
    "  -h, --help             show this help\n\n"
    "FILE comes before --tactics (or after another option).\n"
    "Exit status: 0 success, 1 bad input (any strategy failed), 2 bad usage.\n"};

typedef struct {
  const char *script;
  bool ok, fits;
  char mesh[256];
  int64_t devices, peak, bytes;
  double step, compute, comm;
} row;

static int by_rank(const void *a, const void *b) {
  const row *x = a, *y = b;
  if (x->ok != y->ok)
    return x->ok ? -1 : 1;
  if (x->fits != y->fits)
    return x->fits ? -1 : 1;
  if (x->step != y->step)
    return x->step < y->step ? -1 : 1;
  return strcmp(x->script, y->script);
}

/* ---- the chart ---------------------------------------------------------- */

static void xml_text(FILE *f, const char *s) {
  for (; *s; s++) {
    switch (*s) {
    case '<':
      fputs("&lt;", f);
      break;
    case '>':
      fputs("&gt;", f);
      break;
    case '&':
      fputs("&amp;", f);
      break;
    case '"':
      fputs("&quot;", f);
      break;
    default:
      fputc(*s, f);
    }
  }
}

/* A tick step of 1, 2 or 5 times a power of ten giving at most 6 ticks. */
static double tick_step(double max) {
  double p = pow(10, floor(log10(max)));
  static const double m[] = {0.1, 0.2, 0.5, 1, 2, 5, 10};
  for (int i = 0; i < 7; i++)
    if (max / (m[i] * p) <= 6)
      return m[i] * p;
  return 10 * p;
}

static char *chart(const row *rows, int n, const char *title) {
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  PT_ASSERT(f);
  /* room for the longest label at ~7.5 px per character of 13 px text */
  int chars = 0;
  bool pale = false;
  double max = 0;
  for (int i = 0; i < n; i++) {
    int c = pt_cli_width(rows[i].script) + pt_cli_width(rows[i].mesh) + 3;
    chars = c > chars ? c : chars;
    if (rows[i].ok) {
      max = rows[i].step > max ? rows[i].step : max;
      pale |= !rows[i].fits;
    }
  }
  const int left = 24 + (int)(7.5 * chars), right = 150, top = 70, rowh = 34, barh = 20;
  const int W = left + 560 + right;
  if (max <= 0)
    max = 1e-6;
  /* one unit for the whole axis */
  double unit = max < 1e-3 ? 1e-6 : max < 1 ? 1e-3 : 1;
  const char *uname = unit == 1e-6 ? "µs" : unit == 1e-3 ? "ms" : "s";
  double step = tick_step(max / unit) * unit;
  double span = ceil(max / step - 1e-9) * step;
  int plotw = W - left - right, H = top + (n ? n : 1) * rowh + 60;
  fprintf(f,
          "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
          "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
          "viewBox=\"0 0 %d %d\" font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\" "
          "font-size=\"13\">\n",
          W, H, W, H);
  fprintf(f, "<rect width=\"%d\" height=\"%d\" fill=\"white\"/>\n", W, H);
  fprintf(f, "<text x=\"16\" y=\"26\" font-size=\"16\" font-weight=\"bold\">");
  xml_text(f, title);
  fprintf(f, "</text>\n");
  /* legend */
  fprintf(f, "<rect x=\"16\" y=\"40\" width=\"14\" height=\"14\" fill=\"#4e79a7\"/>"
             "<text x=\"36\" y=\"52\">compute</text>\n"
             "<rect x=\"110\" y=\"40\" width=\"14\" height=\"14\" fill=\"#f28e2b\"/>"
             "<text x=\"130\" y=\"52\">communication</text>\n");
  if (pale)
    fprintf(f, "<text x=\"260\" y=\"52\" fill=\"#555\">pale: does not fit in memory</text>\n");
  /* grid and axis */
  int axis_y = top + n * rowh + 6;
  for (double t = 0; t <= span * (1 + 1e-9); t += step) {
    double x = left + plotw * t / span;
    fprintf(f,
            "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#ddd\"/>"
            "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\" fill=\"#333\">%g</text>\n",
            x, top - 6, x, axis_y, x, axis_y + 18, t / unit);
  }
  fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" fill=\"#333\">step time (%s)</text>\n",
          left + plotw / 2, axis_y + 38, uname);
  for (int i = 0; i < n; i++) {
    const row *r = &rows[i];
    int y = top + i * rowh;
    fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">", left - 10, y + barh - 5);
    xml_text(f, r->script);
    fprintf(f, " <tspan fill=\"#666\">(");
    xml_text(f, r->mesh);
    fprintf(f, ")</tspan></text>\n");
    if (!r->ok) {
      fprintf(f, "<text x=\"%d\" y=\"%d\" fill=\"#b00\">failed (see the messages)</text>\n",
              left + 4, y + barh - 5);
      continue;
    }
    double wc = plotw * r->compute / span, wm = plotw * r->comm / span;
    const char *op = r->fits ? "1" : "0.35";
    fprintf(f,
            "<rect x=\"%d\" y=\"%d\" width=\"%.2f\" height=\"%d\" fill=\"#4e79a7\" "
            "fill-opacity=\"%s\"><title>compute %.3g %s</title></rect>\n",
            left, y, wc, barh, op, r->compute / unit, uname);
    fprintf(f,
            "<rect x=\"%.2f\" y=\"%d\" width=\"%.2f\" height=\"%d\" fill=\"#f28e2b\" "
            "fill-opacity=\"%s\"><title>communication %.3g %s</title></rect>\n",
            left + wc, y, wm, barh, op, r->comm / unit, uname);
    char t[32];
    fprintf(f, "<text x=\"%.2f\" y=\"%d\">%s%s</text>\n", left + wc + wm + 6, y + barh - 5,
            pt_sim_time_str(r->step, t, sizeof t), r->fits ? "" : " (does not fit)");
  }
  fprintf(f, "</svg>\n");
  fclose(f);
  char *out = pt_strdup(text);
  free(text);
  return out;
}

/* ---- the command -------------------------------------------------------- */

/* The value of option `name` in argv[*i] ("--name=V" or "--name V"); NULL
 * if argv[*i] is not that option, and *missing set when it has no value. */
static const char *opt_value(int argc, char **argv, int *i, const char *name, const char *shrt,
                             bool *missing) {
  const char *s = argv[*i];
  size_t n = strlen(name);
  if (strncmp(s, name, n) == 0 && s[n] == '=')
    return s + n + 1;
  if (strcmp(s, name) == 0 || (shrt && strcmp(s, shrt) == 0)) {
    if (*i + 1 >= argc) {
      *missing = true;
      return NULL;
    }
    return argv[++*i];
  }
  return NULL;
}

static int run(int argc, char **argv) {
  if (pt_cli_wants_help(&pt_cmd_explore, argc, argv))
    return PT_EXIT_OK;
  const char *file = NULL, *hwpath = NULL, *func = NULL, *optimizer = NULL, *svg = NULL;
  bool json = false, collecting = false;
  const char **scripts = pt_calloc((size_t)argc, sizeof *scripts);
  int nscripts = 0, status = PT_EXIT_USAGE;
  for (int i = 1; i < argc; i++) {
    const char *s = argv[i], *v;
    bool missing = false;
    if (s[0] != '-' || strcmp(s, "-") == 0) {
      if (collecting)
        scripts[nscripts++] = s;
      else if (!file)
        file = s;
      else {
        pt_cli_usage(&pt_cmd_explore, "explore takes one program file, got '%s' and '%s'", file, s);
        goto out;
      }
      continue;
    }
    collecting = false;
    if ((v = opt_value(argc, argv, &i, "--tactics", "-t", &missing))) {
      scripts[nscripts++] = v;
      collecting = true;
    } else if ((v = opt_value(argc, argv, &i, "--hw", NULL, &missing))) {
      hwpath = v;
    } else if ((v = opt_value(argc, argv, &i, "--func", "-f", &missing))) {
      func = v;
    } else if ((v = opt_value(argc, argv, &i, "--optimizer", NULL, &missing))) {
      optimizer = v;
    } else if ((v = opt_value(argc, argv, &i, "--svg", NULL, &missing))) {
      svg = v;
    } else if (strcmp(s, "--json") == 0) {
      json = true;
    } else if (missing) {
      pt_cli_usage(&pt_cmd_explore, "option '%s' needs a value", s);
      goto out;
    } else {
      pt_cli_usage(&pt_cmd_explore, "unknown option '%s'", s);
      goto out;
    }
  }
  if (!file) {
    pt_cli_usage(&pt_cmd_explore, "no input file (FILE comes before --tactics)");
    goto out;
  }
  if (!nscripts) {
    pt_cli_usage(&pt_cmd_explore, "--tactics is needed: one or more tactic scripts");
    goto out;
  }
  if (!hwpath) {
    pt_cli_usage(&pt_cmd_explore, "--hw is needed (a hardware file, e.g. "
                                  "examples/hw/a100-cluster.yaml)");
    goto out;
  }

  pt_diag *hwd;
  pt_sim_hw *hw = pt_cli_read_hw(hwpath, &hwd);
  if (!hw) {
    pt_diag_destroy(hwd);
    status = PT_EXIT_INPUT;
    goto out;
  }
  status = PT_EXIT_OK;
  row *rows = pt_calloc((size_t)nscripts, sizeof *rows);
  char fname[256] = "";
  for (int i = 0; i < nscripts; i++) {
    row *r = &rows[i];
    r->script = scripts[i];
    snprintf(r->mesh, sizeof r->mesh, "?");
    pt_cli_shard_args a = {file, scripts[i], func, optimizer};
    pt_cli_sim s;
    int st = pt_cli_simulate(&pt_cmd_explore, &a, hw, hwd, &s);
    if (s.x.m && s.x.s)
      pt_cli_mesh_str(&s.x.s->mesh, r->mesh, sizeof r->mesh);
    if (s.x.f)
      snprintf(fname, sizeof fname, "%s", s.x.f->name);
    if (st == PT_EXIT_OK) {
      r->ok = true;
      r->fits = s.r.fits;
      r->devices = s.r.devices;
      r->peak = s.r.memory.peak_bytes;
      r->bytes = s.r.bytes_sent;
      r->step = s.r.step;
      r->compute = s.r.compute;
      r->comm = s.r.comm;
    } else {
      fprintf(stderr, "partita explore: strategy %s failed (above)\n", scripts[i]);
      if (st > status)
        status = st;
    }
    pt_cli_sim_free(&s);
    if (st == PT_EXIT_USAGE)
      break;
  }
  if (status == PT_EXIT_USAGE)
    goto done;
  qsort(rows, (size_t)nscripts, sizeof *rows, by_rank);
  char title[768], b1[32], b2[32], t1[32];
  snprintf(title, sizeof title, "@%s of %s on %s", fname[0] ? fname : "?", file, hw->name);
  if (svg) {
    char *text = chart(rows, nscripts, title);
    if (!pt_cli_write_text(svg, text))
      status = PT_EXIT_INPUT;
    pt_free(text);
  }
  if (json) {
    json_t *root = json_object(), *arr = json_array();
    json_object_set_new(root, "file", json_string(file));
    json_object_set_new(root, "func", json_string(fname));
    json_object_set_new(root, "hardware", json_string(hw->name));
    json_object_set_new(root, "memory_capacity_bytes", json_integer(hw->memory));
    for (int i = 0; i < nscripts; i++) {
      const row *r = &rows[i];
      json_t *o = json_object();
      json_object_set_new(o, "rank", json_integer(i + 1));
      json_object_set_new(o, "tactics", json_string(r->script));
      json_object_set_new(o, "mesh", json_string(r->mesh));
      json_object_set_new(o, "ok", json_boolean(r->ok));
      if (r->ok) {
        json_object_set_new(o, "devices", json_integer(r->devices));
        json_object_set_new(o, "step_s", json_real(r->step));
        json_object_set_new(o, "compute_s", json_real(r->compute));
        json_object_set_new(o, "communication_s", json_real(r->comm));
        json_object_set_new(o, "communication_share",
                            json_real(r->step > 0 ? r->comm / r->step : 0));
        json_object_set_new(o, "bytes_per_device", json_integer(r->bytes));
        json_object_set_new(o, "peak_memory_bytes", json_integer(r->peak));
        json_object_set_new(o, "fits", json_boolean(r->fits));
      }
      json_array_append_new(arr, o);
    }
    json_object_set_new(root, "strategies", arr);
    json_dumpf(root, stdout, JSON_INDENT(2));
    fputc('\n', stdout);
    json_decref(root);
  } else {
    printf("%s (%s per device", title, pt_cli_bytes((uint64_t)hw->memory, b1, sizeof b1));
    if (hw->count)
      printf(", %lld devices", (long long)hw->count);
    printf("): %d strateg%s\n", nscripts, nscripts == 1 ? "y" : "ies");
    size_t w = strlen("strategy");
    for (int i = 0; i < nscripts; i++)
      w = (size_t)pt_cli_width(rows[i].script) > w ? (size_t)pt_cli_width(rows[i].script) : w;
    printf("  rank  ");
    pt_cli_col("strategy", -(int)w);
    printf("  %-18s %7s %11s %11s %11s %6s %10s %11s  %s\n", "mesh", "devices", "step time",
           "compute", "comm", "comm%", "sent", "peak mem", "fits");
    for (int i = 0; i < nscripts; i++) {
      const row *r = &rows[i];
      if (!r->ok) {
        printf("  %4s  ", "-");
        pt_cli_col(r->script, -(int)w);
        printf("  %-18s  failed (see the messages above)\n", r->mesh);
        continue;
      }
      char tc[32], tm[32];
      printf("  %4d  ", i + 1);
      pt_cli_col(r->script, -(int)w);
      printf("  %-18s %7lld ", r->mesh, (long long)r->devices);
      pt_cli_col(pt_sim_time_str(r->step, t1, sizeof t1), 11);
      putchar(' ');
      pt_cli_col(pt_sim_time_str(r->compute, tc, sizeof tc), 11);
      putchar(' ');
      pt_cli_col(pt_sim_time_str(r->comm, tm, sizeof tm), 11);
      printf(" %5.1f%% ", r->step > 0 ? 100 * r->comm / r->step : 0.0);
      pt_cli_col(pt_cli_bytes((uint64_t)r->bytes, b1, sizeof b1), 10);
      putchar(' ');
      pt_cli_col(pt_cli_bytes((uint64_t)r->peak, b2, sizeof b2), 11);
      printf("  %s\n", r->fits ? "yes" : "NO");
    }
  }
done:
  pt_free(rows);
  pt_sim_hw_destroy(hw);
  pt_diag_destroy(hwd);
out:
  pt_free(scripts);
  return status;
}
