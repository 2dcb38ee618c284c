/* heap_session.h: the reader side of `kiln heap`: finds the session files the preload
 * library creates (one per process image), maps them, drains their rings, symbolizes
 * stacks and feeds heap_agg, which fills the profile.
 *
 *   s = heap_session_new(dir, p, sample_bytes);
 *   while (program runs) { heap_session_poll(s, now, 0); heap_agg_emit(...); sleep; }
 *   heap_session_finish(s, now);   everything drained, live blocks become leaks
 *
 * Process images are recognised as the program, its fork children (which inherit
 * their parent's modules and stacks) and exec'd images (a newer file with the same
 * pid ends the older one). A process is finished when its pid has exited. */
#ifndef KILN_HEAP_SESSION_H
#define KILN_HEAP_SESSION_H
#include "heap/heap_agg.h"
#include "profile/profile.h"
#include <stdint.h>

struct heap_session;

struct heap_session_info {
	unsigned processes;       /* process images seen */
	unsigned running;         /* not finished yet */
	unsigned gave_up;         /* images whose library stopped recording */
	unsigned bad;             /* files that could not be read (damaged, wrong version) */
	unsigned long long events;
};

/* dir: the session directory (absolute); start_ns: CLOCK_MONOTONIC at the start (event
 * times in the profile are relative to it). Adds the heap value types to p. Returns
 * NULL after a one-line error. */
struct heap_session *heap_session_new(const char *dir, struct kp_profile *p, uint64_t sample_bytes,
				      uint64_t start_ns);
/* One round at now_ns (CLOCK_MONOTONIC): new epoch, new files (every few ms),
 * drain what is ready, end processes that exited. Returns the number of events
 * processed. */
unsigned long long heap_session_poll(struct heap_session *s, uint64_t now_ns);
/* Looks for new session files now (heap_session_poll looks every few ms). */
void heap_session_scan(struct heap_session *s, uint64_t now_ns);
/* Drains everything, ends every process (what is live is leaked), tells the
 * libraries still running to stop, and waits for every stack to be symbolized
 * (calling progress, when set, every 100 ms meanwhile with the stacks left). */
void heap_session_finish(struct heap_session *s, uint64_t now_ns);
typedef void (*heap_progress_fn)(void *ctx, size_t stacks_left);
void heap_session_set_progress(struct heap_session *s, heap_progress_fn fn, void *ctx);
/* When the last image of pid ran exit() (ns since the start), or 0 when unknown (it
 * was killed, called _exit, or was never seen). Valid until heap_session_finish. */
uint64_t heap_session_exit_time(const struct heap_session *s, int32_t pid);
/* The profile stack of stack id of the process image (pid, created_ns) as its library
 * numbered it, or 0 when unknown (kiln lock maps its table's stack ids with it). */
kp_stack_t heap_session_stack(struct heap_session *s, int32_t pid, uint64_t created_ns, uint32_t id);
void heap_session_get_info(const struct heap_session *s, struct heap_session_info *info);
struct heap_agg *heap_session_agg(struct heap_session *s);
/* Removes the session files and the directory. */
void heap_session_cleanup(struct heap_session *s);
void heap_session_free(struct heap_session *s);

/* Keep CPython's own native frames around Python frames (default: hidden). */
void heap_session_py_internals(struct heap_session *s, int keep);

#endif
