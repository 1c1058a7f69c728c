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

/* The header of a file of n tensors -- names[i] of types[i], its data from
 * byte offsets[i] to offsets[i+1] of the data section -- and nmeta
 * metadata pairs: the 8-byte little-endian length, the JSON (keys sorted,
 * compact) and spaces up to a multiple of 8 bytes. pt_free it; *len is its
 * size. NULL with the problem in err (a name reserved, given twice or not
 * UTF-8). pt_st_write and the collective checkpoint writer both use it. */
char *pt_st_header(int n, const char *const *names, const pt_type *types, const uint64_t *offsets,
                   int nmeta, const char *const *meta, uint64_t *len, char *err, size_t errcap);

/* The safetensors name of dtype dt ("F32", "I32", "BOOL"). */
const char *pt_st_dtype_name(pt_dtype dt);
/* The dtype named s: 1 found (in *out); 0 a safetensors dtype partita does
 * not read (F16, I64, ...); -1 not a dtype at all. */
int pt_st_dtype_lookup(const char *s, pt_dtype *out);

/* Makes a rename into path's directory durable by fsync'ing the directory;
 * best effort, as not every file system lets a directory be fsync'd. */
void pt_sync_dir(const char *path);

/* Writes n tensors (and nmeta key/value metadata strings, meta[2k] the key
 * and meta[2k+1] the value) to path atomically: to a temporary file in the
 * same directory, fsync'd, then renamed over path, so a failure never
 * leaves a partial file at path. Names must be distinct. */
pt_status pt_st_write(const char *path, int n, const char *const *names,
                      const pt_tensor *const *tensors, int nmeta, const char *const *meta,
                      pt_diag *d);

#endif
