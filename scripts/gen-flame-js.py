#!/usr/bin/env python3
"""gen-flame-js.py: turn src/lib/render/flame.js (the viewer embedded in flame graph
SVGs) into src/lib/render/flame_js.c. Run after editing flame.js; the e2e tests check
that the two agree.    gen-flame-js.py [--check]"""
import os
import sys

top = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
src = os.path.join(top, "src/lib/render/flame.js")
dst = os.path.join(top, "src/lib/render/flame_js.c")

out = ["/* flame_js.c: generated from flame.js by scripts/gen-flame-js.py; do not edit. */",
       "extern const char kf_script[];", "const char kf_script[] ="]
with open(src, encoding="utf-8") as f:
    for line in f:
        line = line.rstrip("\n")
        if "]]>" in line:
            sys.exit("flame.js must not contain ']]>' (it goes into a CDATA section)")
        esc = line.replace("\\", "\\\\").replace('"', '\\"').replace("\t", "\\t")
        out.append('\t"%s\\n"' % esc)
out[-1] += ";"
text = "\n".join(out) + "\n"
if "--check" in sys.argv[1:]:
    with open(dst, encoding="utf-8") as f:
        sys.exit(0 if f.read() == text else "flame_js.c is out of date: run scripts/gen-flame-js.py")
with open(dst, "w", encoding="utf-8") as f:
    f.write(text)
