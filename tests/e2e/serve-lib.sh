# serve-lib.sh: starting and stopping `kiln serve` in the t23xx tests (source after lib.sh).
#   serve_start DIR ARGS...  starts kiln serve ARGS on a free loopback port; DIR gets url,
#                            out, err and pid; waits for the URL; prints nothing; the
#                            server is killed when the calling shell exits
#   serve_stop DIR           SIGTERM, waits; fails unless it exited 0
#   http_status URL [CURL ARGS...]  prints the status code of a GET
serve_start() {
	local dir=$1 i
	shift
	# (the redirections below truncate in the child, after this shell may have looked)
	rm -f "$dir/out" "$dir/err" "$dir/url"
	"$KILN" serve --listen 127.0.0.1:0 "$@" >"$dir/out" 2>"$dir/err" &
	echo $! >"$dir/pid"
	# a body that fails before serve_stop leaves no server behind
	SERVE_PIDS="${SERVE_PIDS:-} $!"
	trap 'kill $SERVE_PIDS 2>/dev/null' EXIT
	for i in $(seq 1 300); do
		if grep -q "^http://" "$dir/out" 2>/dev/null; then
			head -1 "$dir/out" >"$dir/url"
			return 0
		fi
		kill -0 "$(cat "$dir/pid")" 2>/dev/null || { echo "kiln serve exited:" >&2; cat "$dir/err" >&2; return 1; }
		sleep 0.1
	done
	echo "kiln serve printed no URL" >&2
	return 1
}
serve_stop() {
	local pid rc
	pid=$(cat "$1/pid")
	SERVE_PIDS=${SERVE_PIDS/ $pid/}
	kill -TERM "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	rc=$?
	# not a child of this shell (another subshell started it): poll
	while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
	[ "$rc" -eq 0 ] || [ "$rc" -eq 127 ] || { echo "kiln serve exited $rc" >&2; cat "$1/err" >&2; return 1; }
}
http_status() {
	local url=$1
	shift
	curl -s -o /dev/null -w "%{http_code}" --max-time 60 "$@" "$url"
}
export -f serve_start serve_stop http_status
