# lib_clickhouse.sh: a private clickhouse-server for a test (t22xx) or bench/fleet.sh.
# Source after lib.sh (or set SCRATCH). ch_start DIR starts one with its data in DIR on
# free ports and waits for /ping; CH_HTTP is then its HTTP port, CH_PID its pid. ch_stop
# (called at exit) kills it. ch_sql SQL runs SQL through the HTTP port.
KST_TOOL="$BUILD/tests/tools/kst_tool"
CH_PID="" CH_HTTP="" CH_TCP="" CH_INTER="" CH_DIR=""
free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
# ch_have: 0 when clickhouse-server can run here; else prints why.
ch_have() {
	command -v clickhouse-server >/dev/null 2>&1 || { echo "clickhouse-server is not installed (scripts/deps.sh --test installs it)"; return 1; }
	[ -r /etc/clickhouse-server/config.xml ] || { echo "/etc/clickhouse-server/config.xml is missing"; return 1; }
	command -v curl >/dev/null 2>&1 || { echo "curl is not installed"; return 1; }
	return 0
}
# ch_start DIR: start (or restart on the same ports) a server whose data is in DIR.
ch_start() {
	CH_DIR=$1
	mkdir -p "$CH_DIR/tmp" "$CH_DIR/user_files" "$CH_DIR/format_schemas"
	if [ -z "$CH_HTTP" ]; then
		CH_HTTP=$(free_port) CH_TCP=$(free_port) CH_INTER=$(free_port)
	fi
	clickhouse-server --config-file=/etc/clickhouse-server/config.xml -- \
		--path="$CH_DIR/" --tmp_path="$CH_DIR/tmp/" --user_files_path="$CH_DIR/user_files/" \
		--format_schema_path="$CH_DIR/format_schemas/" \
		--http_port="$CH_HTTP" --tcp_port="$CH_TCP" --interserver_http_port="$CH_INTER" \
		--logger.log="$CH_DIR/s.log" --logger.errorlog="$CH_DIR/e.log" \
		>"$CH_DIR/out.log" 2>&1 &
	CH_PID=$!
	disown "$CH_PID" 2>/dev/null
	echo "$CH_PID" >"$CH_DIR/server.pid"
	local i
	for i in $(seq 1 120); do
		curl -s "http://127.0.0.1:$CH_HTTP/ping" 2>/dev/null | grep -q Ok && return 0
		kill -0 "$CH_PID" 2>/dev/null || break
		sleep 0.25
	done
	echo "clickhouse-server did not start; its log:" >&2
	tail -5 "$CH_DIR/out.log" "$CH_DIR/e.log" >&2 2>/dev/null
	return 1
}
# The pid is kept in DIR/server.pid: a test body (a child shell) may restart the server.
ch_stop() {
	CH_PID=$(cat "$CH_DIR/server.pid" 2>/dev/null)
	if [ -n "$CH_PID" ]; then
		kill "$CH_PID" 2>/dev/null
		local i
		for i in $(seq 1 40); do
			kill -0 "$CH_PID" 2>/dev/null || break
			sleep 0.25
		done
		kill -9 "$CH_PID" 2>/dev/null
		rm -f "$CH_DIR/server.pid"
		CH_PID=""
	fi
}
# ch_kill9: the server dies at once.
ch_kill9() {
	CH_PID=$(cat "$CH_DIR/server.pid" 2>/dev/null)
	kill -9 "$CH_PID" 2>/dev/null
	local i
	for i in $(seq 1 40); do
		kill -0 "$CH_PID" 2>/dev/null || break
		sleep 0.1
	done
	rm -f "$CH_DIR/server.pid"
	CH_PID=""
}
ch_sql() {
	curl -sS "http://127.0.0.1:$CH_HTTP/" --data-binary "$1"
}
export -f free_port ch_have ch_start ch_stop ch_kill9 ch_sql
