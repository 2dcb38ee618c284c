/* lat_report.h: the views of a latency result: text for people (a table per function
 * with a histogram bar chart), JSON (documented in docs/kiln-latency.md), and an SVG
 * latency histogram. All append to a strbuf; nothing is printed here. */
#ifndef KILN_LATENCY_LAT_REPORT_H
#define KILN_LATENCY_LAT_REPORT_H
#include "latency/latency.h"

struct strbuf;

void lat_report_text(const struct lat_result *r, struct strbuf *out);
void lat_report_json(const struct lat_result *r, struct strbuf *out);
void lat_report_svg(const struct lat_result *r, struct strbuf *out);

/* Display bins: the histogram's buckets merged by LAT_BIN_MERGE (8 per power of two).
 * Calls fn(low, high, count) for every non-empty bin in increasing order. */
#define LAT_BIN_MERGE 4
typedef void (*lat_bin_fn)(void *ctx, uint64_t low, uint64_t high, uint64_t count);
void lat_bins(const struct hdr_hist *h, lat_bin_fn fn, void *ctx);

#endif
