/* flame_color.c: frame colours: FlameGraph's palettes (hot, mem, io, java, js, ...),
 * varied per frame or hashed by name, and the red/blue of differential graphs. */
#include "render/flame_int.h"
#include "util/error.h"
#include "util/strbuf.h"
#include "util/xalloc.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t hash_name(const char *s, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)s[i]) * 0x100000001b3ull;
	h ^= h >> 31;
	h *= 0x9e3779b97f4a7c15ull;
	h ^= h >> 29;
	return h;
}

static inline uint32_t rgb(double r, double g, double b)
{
	uint32_t R = r < 0 ? 0 : r > 255 ? 255 : (uint32_t)r;
	uint32_t G = g < 0 ? 0 : g > 255 ? 255 : (uint32_t)g;
	uint32_t B = b < 0 ? 0 : b > 255 ? 255 : (uint32_t)b;
	return (R << 16) | (G << 8) | B;
}

/* A shade of one of the single-hue palettes; v1..v3 in [0, 1). */
static uint32_t hue(enum kf_palette p, double v1, double v2, double v3)
{
	switch (p) {
	case KF_HOT:
		return rgb(205 + 50 * v3, 230 * v1, 55 * v2);
	case KF_MEM:
		return rgb(0, 190 + 50 * v2, 210 * v1);
	case KF_IO:
		return rgb(80 + 60 * v1, 80 + 60 * v1, 190 + 55 * v2);
	case KF_RED:
		return rgb(200 + 55 * v1, 50 + 80 * v1, 50 + 80 * v1);
	case KF_GREEN:
		return rgb(50 + 60 * v1, 200 + 55 * v1, 50 + 60 * v1);
	case KF_BLUE:
		return rgb(80 + 60 * v1, 80 + 60 * v1, 205 + 50 * v1);
	case KF_AQUA:
	case KF_WAKEUP:
		return rgb(50 + 60 * v1, 165 + 55 * v1, 165 + 55 * v1);
	case KF_YELLOW:
		return rgb(175 + 55 * v1, 175 + 55 * v1, 50 + 20 * v1);
	case KF_PURPLE:
		return rgb(190 + 65 * v1, 80 + 60 * v1, 190 + 65 * v1);
	case KF_ORANGE:
		return rgb(190 + 65 * v1, 90 + 65 * v1, 0);
	default:
		return rgb(205 + 50 * v3, 230 * v1, 55 * v2);
	}
}

static int has_sub(const char *s, size_t len, const char *sub)
{
	size_t n = strlen(sub);
	if (n > len)
		return 0;
	for (size_t i = 0; i + n <= len; i++)
		if (!memcmp(s + i, sub, n))
			return 1;
	return 0;
}

static int ends_with(const char *s, size_t len, const char *suf)
{
	size_t n = strlen(suf);
	return len >= n && !memcmp(s + len - n, suf, n);
}

/* Language palettes: the hue tells the kind of code. */
static enum kf_palette java_kind(const char *s, size_t len, uint32_t flags)
{
	if ((flags & KP_FRAME_KERNEL) || ends_with(s, len, "_[k]"))
		return KF_ORANGE;
	if ((flags & KP_FRAME_INLINE) || ends_with(s, len, "_[i]"))
		return KF_AQUA;
	if ((flags & KP_FRAME_JIT) || ends_with(s, len, "_[j]"))
		return KF_GREEN;
	/* Java methods carry their package path: java/util/HashMap.get, Lcom/x/Y;::m */
	if (memchr(s, '/', len))
		return KF_GREEN;
	if (has_sub(s, len, "::"))
		return KF_YELLOW;
	return KF_RED;
}

static enum kf_palette js_kind(const char *s, size_t len, uint32_t flags)
{
	if ((flags & KP_FRAME_KERNEL) || ends_with(s, len, "_[k]"))
		return KF_ORANGE;
	if ((flags & KP_FRAME_JIT) || ends_with(s, len, "_[j]"))
		return KF_GREEN;
	if ((flags & KP_FRAME_INLINE) || ends_with(s, len, "_[i]"))
		return KF_AQUA;
	if (has_sub(s, len, "::"))
		return KF_YELLOW;
	/* JavaScript functions name their script: "render /app/main.js:12", "LazyCompile:*f" */
	if (memchr(s, '/', len) || has_sub(s, len, ".js"))
		return KF_GREEN;
	if (memchr(s, ':', len))
		return KF_AQUA; /* V8 builtins and stubs: "Builtin:", "Stub:" */
	if (!len || (len == 1 && s[0] == ' '))
		return KF_GREEN;
	return KF_RED;
}

int kf_is_python_name(const char *s, size_t len)
{
	/* "QUALNAME (FILE:FIRSTLINE)", FILE a .py file or a pseudo-file such as
	 * <frozen importlib._bootstrap> or <string> */
	size_t i = len, colon, open;
	if (len < 6 || s[len - 1] != ')')
		return 0;
	i = len - 1;
	while (i > 0 && s[i - 1] >= '0' && s[i - 1] <= '9')
		i--;
	if (i == len - 1 || i < 2 || s[i - 1] != ':')
		return 0;
	colon = i - 1;
	for (open = colon; open > 1 && !(s[open - 1] == '(' && s[open - 2] == ' '); open--)
		;
	if (open <= 1)
		return 0;
	return ends_with(s + open, colon - open, ".py") || (colon > open && s[open] == '<' && s[colon - 1] == '>');
}

uint32_t kf_color(const struct kf_opts *o, const char *name, size_t len, uint32_t flags, uint64_t seed)
{
	uint64_t h = hash_name(name, len);
	if (!o->hash)
		h = (h ^ seed) * 0x9e3779b97f4a7c15ull, h ^= h >> 32;
	double v1 = (double)(h & 0xffff) / 65536.0;
	double v2 = (double)((h >> 16) & 0xffff) / 65536.0;
	double v3 = (double)((h >> 32) & 0xffff) / 65536.0;
	if (flags & KP_FRAME_OFFCPU)
		return rgb(60 + 40 * v1, 90 + 50 * v1, 200 + 55 * v2); /* off the CPU: blue */
	/* Python frames are blue-green and JIT frames green in every palette: one look
	 * tells the interpreter's code from the native code around it */
	if ((flags & KP_FRAME_PY) || kf_is_python_name(name, len)) {
		/* Python's two colours: its blue, or its yellow among the bluish palettes
		 * (mem: heap flame graphs, io, wakeup, blue, aqua) */
		if (o->palette == KF_MEM || o->palette == KF_IO || o->palette == KF_WAKEUP || o->palette == KF_BLUE ||
		    o->palette == KF_AQUA)
			return rgb(225 + 30 * v1, 185 + 40 * v1, 30 + 50 * v2);
		return rgb(40 + 40 * v1, 110 + 45 * v1, 175 + 50 * v2);
	}
	if ((flags & KP_FRAME_JIT) || ends_with(name, len, "_[j]"))
		return hue(KF_GREEN, v1, v2, v3);
	enum kf_palette p = o->palette;
	if (p == KF_JAVA)
		p = java_kind(name, len, flags);
	else if (p == KF_JS)
		p = js_kind(name, len, flags);
	return hue(p, v1, v2, v3);
}

uint32_t kf_diff_color(double delta, double max)
{
	double s = max > 0 ? fabs(delta) / max : 0;
	if (s > 1)
		s = 1;
	if (delta == 0 || s == 0)
		return rgb(255, 255, 255);
	/* any change shows (at least a light tint); the square root lifts small ones */
	int fade = (int)lround(225 * (1 - sqrt(s)));
	return delta > 0 ? rgb(255, fade, fade) : rgb(fade, fade, 255);
}
