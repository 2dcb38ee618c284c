# py_code_reuse.py: code objects made and freed one after the other, each taking the
# address the one before it left (code.replace right after the free), each run from
# the same line, so that its frame too is where the one before it was: for
# tests/e2e/t2501. Round i keeps 10 blocks of (i % 7 + 1) * 1000 bytes, made in f<i>
# of file gen<i>.py.
import types

def template(n):
    return [bytearray(n), bytearray(n), bytearray(n), bytearray(n), bytearray(n),
            bytearray(n), bytearray(n), bytearray(n), bytearray(n), bytearray(n)]

keep = []
def call(fn, n):
    return fn(n)
def main():
    base = template.__code__
    for i in range(300):
        code = base.replace(co_name="f%d" % i, co_qualname="f%d" % i, co_filename="gen%d.py" % i)
        fn = types.FunctionType(code, globals())
        keep.append(call(fn, (i % 7 + 1) * 1000))
        del fn, code
main()
