# lib_lock.sh: helpers for the kiln lock tests (t1803, t24xx). Source after lib.sh.
# lget FILE EXPR: a Python expression over the JSON (d, and L: locks by their first
# created frame + kind, e.g. L["hot_section mutex"]).
lget() {
	/usr/bin/python3 -c '
import json,sys
d=json.load(open(sys.argv[1]))
L={}
for l in d["locks"]:
    L.setdefault((l["created"][0] if l["created"] else "?")+" "+l["kind"], l)
print(eval(sys.argv[2]))' "$1" "$2"
}
# within A B P: A is within P% of B
within() {
	/usr/bin/python3 -c 'import sys; a,b,p=map(float,sys.argv[1:]); sys.exit(0 if abs(a-b)<=b*p/100 else 1)' "$1" "$2" "$3" ||
		{ echo "$1 is not within $3% of $2" >&2; return 1; }
}
# probed PID: waits until kiln lock -p's probes are in process PID (probed.py)
probed() {
	/usr/bin/python3 "$TOP/tests/e2e/probed.py" "$1"
}
export -f lget within probed
