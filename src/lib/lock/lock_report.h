/* lock_report.h: text and JSON views of a lock result (JSON documented in
 * docs/kiln-lock.md). Append to a strbuf; nothing is printed here. */
#ifndef KILN_LOCK_LOCK_REPORT_H
#define KILN_LOCK_LOCK_REPORT_H
#include "lock/lock.h"

struct strbuf;

/* top: locks shown (0: all); nstacks: stacks shown per lock and kind */
void lock_report_text(const struct lock_result *r, size_t top, size_t nstacks, struct strbuf *out);
void lock_report_json(const struct lock_result *r, struct strbuf *out);

#endif
