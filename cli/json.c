/* JSON helpers the commands' --json output shares (cli/json.h). */
#include "json.h"

#include <math.h>

json_t *pt_cli_json_shape(const pt_type *t) {
  json_t *a = json_array();
  for (int i = 0; i < t->rank; i++)
    json_array_append_new(a, json_integer(t->dims[i]));
  return a;
}

json_t *pt_cli_json_num(double v) {
  if (isnan(v))
    return json_string("nan");
  if (isinf(v))
    return json_string(v > 0 ? "inf" : "-inf");
  return json_real(v);
}

void pt_cli_json_print(json_t *root, size_t flags) {
  json_dumpf(root, stdout, JSON_INDENT(2) | flags);
  fputc('\n', stdout);
  json_decref(root);
}
