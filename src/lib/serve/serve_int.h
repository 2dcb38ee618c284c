/* serve_int.h: the parts of kiln serve: the source (a store or one profile file) and its
 * selections (source.c), the endpoints (api.c), the page (assets.c), HTTP (http.c). */
#ifndef KILN_SERVE_SERVE_INT_H
#define KILN_SERVE_SERVE_INT_H
#include "profile/profile.h"
#include "store/store.h"
#include "util/strbuf.h"
#include <stdint.h>

/* ---- source.c ---- */

/* What the UI reads: a store (windows with labels and times) or one profile file (its
 * threads' comm and pid are its only labels, and it has no time range). */
struct sv_source {
	int is_file;
	char *name;              /* the spec or the path, as given */
	struct kst st;           /* a store */
	struct kp_profile prof;  /* a file */
};

/* The samples the user picked: a time range and labels. */
struct sv_sel {
	uint64_t from_ns, to_ns; /* 0 and UINT64_MAX: all */
	int has_range;           /* from or to given */
	struct kst_labels where;
};
#define SV_SEL_INIT { 0, UINT64_MAX, 0, KST_LABELS_INIT }
void sv_sel_release(struct sv_sel *s);

/* Opens a store spec or loads a profile file. -1 after one line in err (a file that does
 * not load: the line is on stderr already, and err is left empty). */
int sv_source_open_store(struct sv_source *s, const char *spec, struct strbuf *err);
int sv_source_open_file(struct sv_source *s, const char *path, struct strbuf *err);
void sv_source_close(struct sv_source *s);

/* Checks a selection against what the source has (a file: no time range, labels comm and
 * pid only). -1 after one line in err (a client error). */
int sv_source_check_sel(const struct sv_source *s, const struct sv_sel *sel, struct strbuf *err);
/* The selected samples as one profile (out initialized by the call; release it).
 * -1 after one line in err. */
int sv_source_query(struct sv_source *s, const struct sv_sel *sel, struct kp_profile *out, struct strbuf *err);
/* The distinct values of label key among the selection, sorted. */
int sv_source_label_values(struct sv_source *s, const struct sv_sel *sel, const char *key,
			   struct kst_strlist *out, struct strbuf *err);
/* Label keys with at least one value (a file: comm, pid). out owns its strings. */
int sv_source_label_keys(struct sv_source *s, struct kst_strlist *out, struct strbuf *err);
/* Samples per step per value of key (a store only). */
int sv_source_series(struct sv_source *s, const struct sv_sel *sel, const char *key, uint64_t step_ns,
		     struct kst_series *out, struct strbuf *err);
/* The store's first and last window times (0, 0 for a file or an empty store). */
int sv_source_range(struct sv_source *s, uint64_t *first_ns, uint64_t *last_ns, struct strbuf *err);

/* The samples of p that keep[] marks (all when keep is NULL), as a new profile with p's
 * value types and meta (out initialized by the call). */
void sv_profile_subset(const struct kp_profile *p, const uint8_t *keep, struct kp_profile *out);

/* ---- api.c ---- */

/* One request as the endpoints see it: its arguments, and the answer they build. */
struct sv_req {
	const char *path;
	/* the value of argument name (the first one), or NULL */
	const char *(*arg)(void *ctx, const char *name);
	/* every value of argument name, in order; returns how many (up to max) */
	size_t (*args)(void *ctx, const char *name, const char **out, size_t max);
	void *ctx;
	uint64_t now_ns;
	/* answer */
	int status;
	const char *ctype;       /* a static string */
	struct strbuf body;
};

/* Parses a selection from arguments PREFIXfrom, PREFIXto and PREFIXwhere (repeated, k=v)
 * plus the shared "where". Returns 0, or -1 after one line in err. */
int sv_sel_parse(struct sv_req *r, const char *prefix, struct sv_sel *sel, struct strbuf *err);

/* Endpoint handlers: each fills r->status, r->ctype and r->body (an error is a 4xx/5xx
 * status and {"error": "..."}). */
typedef void (*sv_handler)(struct sv_source *src, struct sv_req *r);
/* The handler of an API path ("/api/top"), or NULL. */
sv_handler sv_api_find(const char *path);
/* Sets an error answer: JSON {"error": msg}. */
void sv_req_error(struct sv_req *r, int status, const char *msg);

/* ---- assets.c (generated from ui/ by scripts/gen-serve-assets.py) ---- */
struct sv_asset {
	const char *path, *ctype, *data;
};
extern const struct sv_asset sv_assets[];
extern const size_t sv_nassets;

#endif
