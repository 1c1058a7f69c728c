/* JSON helpers the commands' --json output shares (cli/json.c). */
#ifndef PT_CLI_JSON_H
#define PT_CLI_JSON_H

#include <jansson.h>

#include "ir.h"

/* [d0, d1, ...] of t's shape. */
json_t *pt_cli_json_shape(const pt_type *t);
/* A number, or "nan", "inf", "-inf" as strings (JSON has none of them). */
json_t *pt_cli_json_num(double v);
/* Prints root to stdout with JSON_INDENT(2) and `flags`, then a newline,
 * and releases it. */
void pt_cli_json_print(json_t *root, size_t flags);

#endif
