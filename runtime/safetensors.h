/* safetensors files (the format of the safetensors project): an 8-byte
 * little-endian header length N, N bytes of JSON (UTF-8) mapping each
 * tensor name to {"dtype", "shape", "data_offsets": [begin, end]} plus an
 * optional "__metadata__" object of string values, then the raw
 * little-endian data. partita reads and writes F32, I32 and BOOL. */
#ifndef PT_SAFETENSORS_H
#define PT_SAFETENSORS_H

#include "interp.h"

typedef struct pt_st_file pt_st_file;

/* Reads and validates a whole file. Every problem (missing, unreadable,
 * truncated, bad header length, malformed JSON, unknown dtype, bad shape,
 * offsets out of range, overlapping or leaving gaps, duplicate names) is
 * reported as `path: error: ...` and gives NULL. */
pt_st_file *pt_st_read(const char *path, pt_diag *d);
void pt_st_close(pt_st_file *f);

int pt_st_count(const pt_st_file *f);
/* Tensors in header order; borrowed until pt_st_close. */
const char *pt_st_name(const pt_st_file *f, int i);
const pt_tensor *pt_st_tensor(const pt_st_file *f, int i);
/* The tensor called `name`, or NULL. */
const pt_tensor *pt_st_find(const pt_st_file *f, const char *name);
/* Metadata value for key, or NULL. */
const char *pt_st_meta(const pt_st_file *f, const char *key);
const char *pt_st_path(const pt_st_file *f);

/* Writes n tensors (and nmeta key/value metadata strings, meta[2k] the key
 * and meta[2k+1] the value) to path atomically: to a temporary file in the
 * same directory, fsync'd, then renamed over path, so a failure never
 * leaves a partial file at path. Names must be distinct. */
pt_status pt_st_write(const char *path, int n, const char *const *names,
                      const pt_tensor *const *tensors, int nmeta,
                      const char *const *meta, pt_diag *d);

#endif
