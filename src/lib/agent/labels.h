/* labels.h: the labels `kiln agent` gives each process in a window (store.h's proc.PID):
 *   comm      the process's name (its main thread's)
 *   exe       the executable's path (/proc/PID/exe), absent for kernel threads
 *   build_id  the executable's GNU build-id, lowercase hex, when it has one
 *   cgroup    its cgroup path (the v2 line of /proc/PID/cgroup; the name=systemd one
 *             when v2 says only "/", as on a hybrid machine)
 *   service   the agent's --label service=X when given; else from the cgroup:
 *             a container id ("container:" + its first 12 hex digits) wins, then the
 *             innermost systemd unit ("nginx.service" -> "nginx", "session-3.scope" ->
 *             "session-3"); absent when the cgroup names neither ("/", "/init.scope" is
 *             "init"). */
#ifndef KILN_AGENT_LABELS_H
#define KILN_AGENT_LABELS_H
#include <stddef.h>

struct kst_labels;

/* The service a cgroup path stands for, into out (size bytes); returns 0, or -1 (out
 * empty) when the path names no unit or container. */
int ka_service_from_cgroup(const char *cgroup, char *out, size_t size);

/* The cgroup path from the text of a /proc/PID/cgroup file, into out; 0 or -1. */
int ka_cgroup_from_proc_text(const char *text, char *out, size_t size);

/* Reads pid's labels from /proc into out (added to what it holds). service: the agent's
 * --label service value, or NULL. comm_fallback: the name to use when /proc has none
 * (the process ended). Returns 0 when /proc had the process, -1 when it is gone (then
 * only comm, and service when given, are set). */
int ka_proc_labels(int pid, const char *service, const char *comm_fallback, struct kst_labels *out);

#endif
