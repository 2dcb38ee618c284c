/* jit.h: JIT runtimes that `kiln record` recognises (node, java, dotnet), and what it
 * does so that their functions have names: JIT code has no symbol table, only the perf
 * map the runtime writes on request (/tmp/perf-PID.map, read by symbols/sym_jit.c).
 *
 *  - a command kiln starts that is node gets NODE_OPTIONS += "--perf-basic-prof
 *    --interpreted-frames-native-stack" (unless the user set either);
 *  - a process kiln attaches to that is a JIT runtime without a perf map gets a
 *    one-line hint saying how to restart it (or, for java, how to make the map). */
#ifndef KILN_COLLECT_JIT_H
#define KILN_COLLECT_JIT_H
#include <stddef.h>

enum kc_jit_kind { KC_JIT_NONE = 0, KC_JIT_NODE, KC_JIT_JAVA, KC_JIT_DOTNET };

/* The runtime an executable is: by its name (symbolic links resolved), and for node
 * also by its ELF identity (it exports node_module_register), so a renamed copy counts. */
enum kc_jit_kind kc_jit_kind_of(const char *exe_path);
/* The same for a command as execvp would find it (NULL when not found). */
enum kc_jit_kind kc_jit_kind_of_command(const char *cmd);

/* The NODE_OPTIONS value that makes node write a perf map, given the current one (NULL
 * when unset); NULL when the current one already asks for a perf map. malloc'd. */
char *kc_jit_node_options(const char *current);

/* For a process kiln attaches to: when it is a JIT runtime and has no perf map, writes
 * a one-line hint into buf and returns buf; else NULL. */
const char *kc_jit_attach_hint(int pid, char *buf, size_t size);
/* Removes what node process pid wrote because kiln asked it for a perf map: its map
 * /tmp/perf-PID.map, and the V8 log isolate-0xADDR-PID-v8.log that --perf-basic-prof also
 * makes V8 write in the directory it was started in (dir; names carry the pid, so only
 * that process's own log matches). */
void kc_jit_node_cleanup(int pid, const char *dir);

#endif
