#!/usr/bin/env python3
"""gen-serve-assets.py: turn the page of kiln serve (src/lib/serve/ui/: index.html, app.js,
app.css) into src/lib/serve/assets.c, so the binary carries them and never opens a file
for a client. Run after editing ui/; the e2e tests check that the two agree.
    gen-serve-assets.py [--check]"""
import os
import sys

top = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
ui = os.path.join(top, "src/lib/serve/ui")
dst = os.path.join(top, "src/lib/serve/assets.c")
files = [("index.html", "text/html; charset=utf-8"),
         ("app.js", "text/javascript; charset=utf-8"),
         ("app.css", "text/css; charset=utf-8")]

out = ["/* assets.c: generated from ui/ by scripts/gen-serve-assets.py; do not edit. */",
       '#include "serve/serve_int.h"', ""]
for i, (name, _) in enumerate(files):
    out.append("static const char asset%d[] =" % i)
    with open(os.path.join(ui, name), encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            esc = line.replace("\\", "\\\\").replace('"', '\\"').replace("\t", "\\t")
            out.append('\t"%s\\n"' % esc)
    out[-1] += ";"
    out.append("")
out.append("const struct sv_asset sv_assets[] = {")
for i, (name, ctype) in enumerate(files):
    out.append('\t{ "/%s", "%s", asset%d },' % (name, ctype, i))
out.append("};")
out.append("const size_t sv_nassets = sizeof(sv_assets) / sizeof(sv_assets[0]);")
text = "\n".join(out) + "\n"
if "--check" in sys.argv[1:]:
    with open(dst, encoding="utf-8") as f:
        sys.exit(0 if f.read() == text else "assets.c is out of date: run scripts/gen-serve-assets.py")
with open(dst, "w", encoding="utf-8") as f:
    f.write(text)
