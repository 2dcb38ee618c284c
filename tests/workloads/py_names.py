# py_names.py DIR: Python functions whose names, files and line tables take each path
# of the heap library's reading of code objects (a first read of each object's
# start, then the rest where it did not hold it all): a Latin-1 name, a CJK name, a
# name longer than that first read, a module at a path longer than it, a function
# whose line table is longer than it. Each allocates its own known bytes; the module
# goes under DIR.
import importlib.util, os, sys

LONG = "f_" + "x" * 298  # 300 characters
here = sys.argv[1]
for i in range(6):
    here = os.path.join(here, "d%d_" % i + "p" * 90)
os.makedirs(here, exist_ok=True)
path = os.path.join(here, "names_mod.py")
filler = "".join("    v%d = %d\n" % (i, i) for i in range(1500))
with open(path, "w", encoding="utf-8") as f:
    f.write("keep = []\n"
            "def café():\n    keep.append(bytearray(100001))\n"
            "def 函数():\n    keep.append(bytearray(100002))\n"
            "def %s():\n    keep.append(bytearray(100003))\n" % LONG +
            "def big():\n" + filler + "    keep.append(bytearray(100004))\n")
spec = importlib.util.spec_from_file_location("names_mod", path)
mod = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mod)
for _ in range(3):
    getattr(mod, "café")()
    getattr(mod, "函数")()
    getattr(mod, LONG)()
    mod.big()
print(len(path))
