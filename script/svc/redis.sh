# redis.sh: start, stop and probe the local stack's private Redis (sourced by script/stack).
#
# Contract with the caller: JT_RUN is an absolute, existing run directory; `set -euo pipefail`
# may be in effect. Everything lives under $JT_RUN:
#   redis.sock        the server's unix socket, mode 700 (the only way in unless JT_REDIS_PORT)
#   pids/redis.pid    the server's pid, written by us; the only pid redis_stop signals
#   log/redis.log     the server's log
#   tmp/              the server's own pid file
# Optional environment:
#   JT_REDIS_PORT     also listen on 127.0.0.1:$JT_REDIS_PORT (default: unix socket only)
# Nothing is persisted (no RDB, no AOF): Redis holds only what may be lost (docs/DESIGN.md).

# True when pid is a live (not zombie) process whose command name is $2 ("" skips that test:
# just after the launch the forked shell may not have exec'd the server yet).
_redis_alive() {
	local pid=$1 comm=$2 stat state
	[[ $pid =~ ^[1-9][0-9]*$ ]] || return 1
	kill -0 "$pid" 2>/dev/null || return 1
	stat=$(cat "/proc/$pid/stat" 2>/dev/null) || return 1
	state=${stat##*) }
	state=${state%% *}
	[[ $state != Z && $state != X ]] || return 1
	[[ -z $comm || $(cat "/proc/$pid/comm" 2>/dev/null) == "$comm" ]]
}

# The pid recorded in the pid file, or nothing.
_redis_pid() {
	local f="$JT_RUN/pids/redis.pid"
	[[ -s $f ]] || return 0
	head -c 32 "$f" | tr -dc '0-9'
}

_redis_dirs() {
	: "${JT_RUN:?JT_RUN must name the run directory}"
	mkdir -p "$JT_RUN/pids" "$JT_RUN/log" "$JT_RUN/tmp"
}

# True when a server answers PING on the socket (bounded: redis-cli has no timeout of its own).
_redis_ping() {
	[[ -S $JT_RUN/redis.sock ]] || return 1
	[[ $(timeout -k 1 2 redis-cli -s "$JT_RUN/redis.sock" ping 2>/dev/null) == PONG ]]
}

# Prints a message and the tail of the server's log to stderr; returns 1.
_redis_fail() {
	echo "redis: $*" >&2
	if [[ -f $JT_RUN/log/redis.log ]]; then
		echo "---- last lines of $JT_RUN/log/redis.log ----" >&2
		tail -n 30 "$JT_RUN/log/redis.log" >&2 || true
	fi
	return 1
}

# Exit status 0 iff the pid file names a live redis-server.
redis_running() {
	: "${JT_RUN:?JT_RUN must name the run directory}"
	_redis_alive "$(_redis_pid)" redis-server
}

# Starts the server unless it runs already; returns once it answers PING (10 s at most).
redis_start() {
	local sock="$JT_RUN/redis.sock" log="$JT_RUN/log/redis.log" pid deadline
	local net_opt=(--port 0)

	_redis_dirs
	if redis_running; then
		return 0
	fi
	rm -f "$JT_RUN/pids/redis.pid"
	if (( ${#sock} > 107 )); then
		_redis_fail "socket path $sock is longer than a unix socket allows (107 bytes)"
		return 1
	fi
	if [[ -n ${JT_REDIS_PORT:-} ]]; then
		[[ $JT_REDIS_PORT =~ ^[1-9][0-9]*$ ]] || { _redis_fail "bad JT_REDIS_PORT"; return 1; }
		net_opt=(--port "$JT_REDIS_PORT" --bind 127.0.0.1)
	fi
	if _redis_ping; then
		_redis_fail "a server answers on $sock but $JT_RUN/pids/redis.pid does not name it"
		return 1
	fi
	# A socket file left by a killed server would make the readiness probe below lie.
	rm -f "$sock"

	# A simple command run with & is exec'd by the forked shell, so $! is redis-server itself.
	redis-server \
		"${net_opt[@]}" \
		--unixsocket "$sock" \
		--unixsocketperm 700 \
		--dir "$JT_RUN" \
		--save "" \
		--appendonly no \
		--daemonize no \
		--pidfile "$JT_RUN/tmp/redis-server.pid" \
		--logfile "$log" \
		</dev/null >>"$log" 2>&1 &
	pid=$!
	echo "$pid" >"$JT_RUN/pids/redis.pid"

	deadline=$((SECONDS + 10))
	while ! _redis_ping; do
		if ! _redis_alive "$pid" ""; then
			rm -f "$JT_RUN/pids/redis.pid"
			_redis_fail "redis-server (pid $pid) exited during start-up"
			return 1
		fi
		if (( SECONDS >= deadline )); then
			redis_stop || true
			_redis_fail "redis-server (pid $pid) did not answer within 10 s"
			return 1
		fi
		sleep 0.1
	done
	echo "redis: running, pid $pid, socket $sock" >&2
}

# Stops the server named by the pid file: TERM, 10 s to exit, then KILL.
redis_stop() {
	local pid i

	: "${JT_RUN:?JT_RUN must name the run directory}"
	pid=$(_redis_pid)
	if ! _redis_alive "$pid" redis-server; then
		rm -f "$JT_RUN/pids/redis.pid"
		return 0
	fi
	kill -TERM "$pid" 2>/dev/null || true
	kill -CONT "$pid" 2>/dev/null || true   # a stopped (SIGSTOP) server must see the TERM
	for (( i = 0; i < 100; i++ )); do
		_redis_alive "$pid" redis-server || break
		sleep 0.1
	done
	if _redis_alive "$pid" redis-server; then
		echo "redis: pid $pid ignored TERM for 10 s, sending KILL" >&2
		kill -KILL "$pid" 2>/dev/null || true
		for (( i = 0; i < 50; i++ )); do
			_redis_alive "$pid" redis-server || break
			sleep 0.1
		done
	fi
	rm -f "$JT_RUN/pids/redis.pid"
	return 0
}
