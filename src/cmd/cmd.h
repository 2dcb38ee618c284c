/* cmd.h: what every command file shares: the entry points and option-error helpers.
 *
 * A command is int cmd_NAME(int argc, char **argv) with argv[0] = "NAME". It parses its
 * options (getopt_long), calls the library, prints, and returns the exit status:
 * 0 success, 1 failure, 2 usage error (record returns the target's status). */
#ifndef KILN_CMD_H
#define KILN_CMD_H
#include "util/error.h"

int cmd_collapse(int argc, char **argv);
int cmd_flame(int argc, char **argv);
int cmd_diff(int argc, char **argv);
int cmd_record(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_stat(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_heap(int argc, char **argv);
int cmd_latency(int argc, char **argv);
int cmd_lock(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_annotate(int argc, char **argv);
int cmd_agent(int argc, char **argv);
int cmd_query(int argc, char **argv);
int cmd_serve(int argc, char **argv);

/* Prints "kiln CMD: error: MSG" and "see 'kiln CMD --help'" to stderr; returns 2. */
int usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Reports getopt_long's '?' (unknown option or missing value) after a parse with opterr = 0
 * and the same short optstring; returns 2. Long options that take a value set optopt. */
int bad_option(const char *cmd, char **argv, const char *optstring);
/* 1 if stderr is a terminal (progress output allowed) and KILN_NO_PROGRESS is unset. */
int progress_allowed(void);

#endif
