/* profile_io.h: the kiln profile file (kiln.prof), format version 1.
 *
 * Layout (all integers little endian; docs/profile-format.md has the details):
 *   header  "KILNPROF" u16 major u16 minor u32 reserved           (16 bytes)
 *   chunk*  u32 "KCHK" u16 type u16 flags u32 stored_len u32 raw_len u32 crc32 payload
 * Chunks are append-only and each refers only to items in earlier chunks or itself, so a
 * file cut anywhere (a writer killed with SIGKILL) loads up to its last complete chunk.
 * Payloads are zstd-compressed varint tables (strings, value types, frames, stacks,
 * threads) and columnar sample blocks; an END chunk marks a complete file.
 *
 * Writers: kp_writer for incremental files (record, heap: flush every so often), or
 * kp_profile_save() for a whole profile at once (temporary file, then rename). */
#ifndef KILN_PROFILE_IO_H
#define KILN_PROFILE_IO_H
#include "profile/profile.h"
#include <stddef.h>

#define KP_FORMAT_MAJOR 1
#define KP_FORMAT_MINOR 0
#define KP_MAGIC "KILNPROF"

struct kiln_input;
struct kp_writer;

/* Opens path for incremental writing and writes the header. An existing file at path is
 * kept as path.old (as perf does with perf.data). Returns NULL after a one-line error. */
struct kp_writer *kp_writer_open(const char *path);
/* Appends everything added to p since the last flush (strings, value types, frames,
 * stacks, threads, metadata when changed, samples). With drop_samples, the samples are
 * removed from p once written (p->nsamples becomes 0) so memory stays bounded.
 * Returns 0 or -1 (printed). */
int kp_writer_flush(struct kp_writer *w, struct kp_profile *p, int drop_samples);
/* Flushes, writes the END chunk, fsyncs and closes. Returns 0 or -1 (printed). The writer is
 * freed either way. */
int kp_writer_close(struct kp_writer *w, struct kp_profile *p);
/* Closes without the END chunk and removes the file (for a recording that never started). */
void kp_writer_abort(struct kp_writer *w);
/* Bytes written so far. */
unsigned long long kp_writer_size(const struct kp_writer *w);

/* Writes p to path through kiln_output_open (util/output.h): a regular file atomically
 * (temporary name, then rename), a device or FIFO in place. Returns 0 or -1 (printed). */
int kp_profile_save(struct kp_profile *p, const char *path);

struct kp_load_info {
	int complete;            /* END chunk seen */
	int truncated;           /* the file ends inside a chunk */
	int corrupt;             /* a chunk failed its checksum or validation; loading stopped there */
	unsigned chunks;         /* chunks loaded */
	unsigned long long bytes_lost; /* bytes after the last good chunk */
	unsigned major, minor;   /* format version of the file */
};

/* 1 if data (the first n bytes of a file) starts like a kiln profile. */
int kp_is_profile(const void *data, size_t n);
/* Reads a profile into p (initialized by the call). Returns 0 when the header was valid,
 * even if the file was cut short or damaged later (info says so; what loaded is in p);
 * -1 after a one-line error when the file is not a kiln profile, is empty, or is of a
 * newer major version. */
int kp_profile_read(struct kp_profile *p, struct kiln_input *in, struct kp_load_info *info);
int kp_profile_load(struct kp_profile *p, const char *path, struct kp_load_info *info);
/* Prints a warning describing an incomplete load (nothing when the file was whole). */
void kp_load_info_warn(const struct kp_load_info *info, const char *name, const struct kp_profile *p);

#endif
