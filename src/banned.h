/* banned.h: libc calls that are easy to misuse; using one is a compile error.
 * Use snprintf, strbuf_*, or memcpy with a checked length instead. */
#ifndef KILN_BANNED_H
#define KILN_BANNED_H
#define BANNED(func) sorry_##func##_is_banned_in_kiln
#undef strcpy
#define strcpy(x, y) BANNED(strcpy)
#undef strcat
#define strcat(x, y) BANNED(strcat)
#undef strncpy
#define strncpy(x, y, n) BANNED(strncpy)
#undef sprintf
#define sprintf(...) BANNED(sprintf)
#undef vsprintf
#define vsprintf(...) BANNED(vsprintf)
#undef strtok
#define strtok(x, y) BANNED(strtok)
#undef gets
#define gets(x) BANNED(gets)
#endif
