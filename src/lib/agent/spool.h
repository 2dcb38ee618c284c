/* spool.h: the agent's bounded spool: windows a sink did not take, kept on disk until it
 * does. One kiln.prof per window, named START_NS.kiln.prof (START_NS: the window's start,
 * unix ns, 20 digits, so names sort by time), written to a temporary name and renamed, so
 * a spooled file is whole or absent and `kiln report` reads any of them. Past max_bytes
 * the oldest files are dropped (and counted). */
#ifndef KILN_AGENT_SPOOL_H
#define KILN_AGENT_SPOOL_H
#include <stddef.h>
#include <stdint.h>

struct kp_profile;
struct strbuf;

struct ka_spool {
	char *dir;
	uint64_t max_bytes;
	uint64_t dropped;        /* windows dropped to stay under max_bytes, in all */
};

/* Creates dir (and its parents) when missing and removes temporary files a killed agent
 * left. Returns 0, or -1 with err set. */
int ka_spool_open(struct ka_spool *sp, const char *dir, uint64_t max_bytes, struct strbuf *err);
void ka_spool_close(struct ka_spool *sp);

/* Writes window w (starting at start_ns) into the spool, then drops the oldest files while
 * the spool holds more than max_bytes (never the one just written); *dropped (may be NULL)
 * gets how many. Returns 0, or -1 with err set (nothing written). */
int ka_spool_put(struct ka_spool *sp, struct kp_profile *w, uint64_t start_ns, unsigned *dropped,
		 struct strbuf *err);

/* The spooled files, oldest first: full paths (malloc'd, caller frees each and the array);
 * *bytes (may be NULL) gets their total size. Returns how many. */
size_t ka_spool_list(const struct ka_spool *sp, char ***paths, uint64_t *bytes);

#endif
