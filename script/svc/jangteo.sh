# jangteo.sh: start, stop and probe jangteo's own processes in the local stack: the ZeroMQ bus,
# the FastCGI pool, the demo workers, the payment workers and the janitor (sourced by
# script/stack).
#
# Contract with the caller: script/stack has set JT_RUN, JT_BUILDDIR, JT_CONF, JT_PREFORK,
# JT_WORKERS, JT_PAY_WORKERS, JT_SETTLE_WORKERS, JT_NOTIFY_WORKERS, JT_FCGI_MODE and JT_START_WAIT, written $JT_CONF, created $JT_RUN/pids and
# $JT_RUN/log, and defined the stack_* helpers. Each program runs in the foreground, logs to
# stderr (captured in $JT_RUN/log/<name>.log) and to log.file ($JT_RUN/log/jangteo.log), and
# exits on SIGTERM.
#
# Pid files: pids/bus.pid, pids/fcgi.pid, pids/worker-N.pid (N = 1..JT_WORKERS),
# pids/payworker-N.pid (N = 1..JT_PAY_WORKERS),
# pids/janitor.pid. In prefork mode fcgi.pid holds the parent, which forks and respawns the
# handlers and stops them on TERM. In spawn-fcgi mode it holds one pid per handler (spawn-fcgi
# -F N writes them one per line) and stop signals each.
#
# spawn-fcgi as root: spawn-fcgi 1.6.4 (Debian 12) keeps running as root when no -u is given (it
# refuses only an explicit -u root), so the handlers run as root like every other process of
# this dev stack and need no permission changes under $JT_RUN. A deployment instead starts it as
# root with -u jangteo -g jangteo (see etc/nginx-jangteo.conf).

# Waits until every path in "${@:3}" exists while the processes of service $1 (named $2) live.
# Fails, with the log's tail, when one dies or JT_START_WAIT seconds pass; then stops what is
# left of the service, so a failed start leaves nothing behind.
_jangteo_wait_paths() {
	local name=$1 comm=$2 i path missing
	shift 2
	for (( i = 0; i < JT_START_WAIT * 10; i++ )); do
		if ! stack_all_running "$name" "$comm"; then
			stack_stop_pidfile "$name" "$comm"
			stack_fail "$name" "exited during start-up"
			return 1
		fi
		missing=
		for path in "$@"; do
			[[ -e $path ]] || missing=$path
		done
		[[ -z $missing ]] && return 0
		sleep 0.1
	done
	stack_stop_pidfile "$name" "$comm"
	stack_fail "$name" "$missing did not appear within ${JT_START_WAIT}s"
	return 1
}

# Checks, a moment after the start, that service $1's processes (named $2) are still alive: a
# program that rejects its config exits at once. Stops what is left when one is gone.
_jangteo_check_alive() {
	sleep 0.3
	stack_all_running "$1" "$2" && return 0
	stack_stop_pidfile "$1" "$2"
	stack_fail "$1" "exited during start-up"
}

# ---- bus: jangteo-bus binds bus.in and bus.out_demo ----------------------------------------

bus_running() {
	stack_all_running bus jangteo-bus
}

bus_start() {
	local exe="$JT_BUILDDIR/workers/jangteo-bus"
	if bus_running; then
		echo "bus: already running" >&2
		return 0
	fi
	stack_need_program "$exe"
	# Stale ipc files would satisfy the readiness check below before the bus has bound.
	rm -f "$JT_RUN/bus-in" "$JT_RUN/bus-demo"
	stack_spawn bus "$exe" --config "$JT_CONF"
	_jangteo_wait_paths bus jangteo-bus "$JT_RUN/bus-in" "$JT_RUN/bus-demo" || return 1
	echo "bus: running, pid $(stack_live_pids bus jangteo-bus)" >&2
}

bus_stop() {
	stack_stop_pidfile bus jangteo-bus
	bus_running || rm -f "$JT_RUN/bus-in" "$JT_RUN/bus-demo"
}

# ---- fcgi: the FastCGI handlers on $JT_RUN/fcgi.sock ------------------------------------------

fcgi_running() {
	stack_all_running fcgi jangteo-fcgi
}

fcgi_start() {
	local exe="$JT_BUILDDIR/fcgi/jangteo-fcgi" sock="$JT_RUN/fcgi.sock"
	if fcgi_running; then
		echo "fcgi: already running" >&2
		return 0
	fi
	stack_need_program "$exe"
	# Some handlers may be left from a partly dead spawn-fcgi pool: stop them, start afresh.
	stack_stop_pidfile fcgi jangteo-fcgi
	rm -f "$sock"
	case $JT_FCGI_MODE in
	prefork)
		stack_spawn fcgi "$exe" --config "$JT_CONF" --listen "$sock" --prefork "$JT_PREFORK"
		_jangteo_wait_paths fcgi jangteo-fcgi "$sock" || return 1
		;;
	spawn-fcgi)
		command -v spawn-fcgi >/dev/null || stack_die "spawn-fcgi is not installed: run script/setup"
		# spawn-fcgi creates the socket, forks the handlers with it as stdin, writes their
		# pids and exits; the handlers' own stdout/stderr go to /dev/null, so their log is
		# log.file only.
		printf '==== %s start: spawn-fcgi -F %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
			"$JT_PREFORK" >>"$(stack_logfile fcgi)"
		if ! spawn-fcgi -s "$sock" -M 0666 -F "$JT_PREFORK" -P "$(stack_pidfile fcgi)" \
			-- "$exe" --config "$JT_CONF" </dev/null >>"$(stack_logfile fcgi)" 2>&1; then
			stack_stop_pidfile fcgi jangteo-fcgi
			stack_fail fcgi "spawn-fcgi failed"
			return 1
		fi
		_jangteo_check_alive fcgi jangteo-fcgi || return 1
		;;
	esac
	echo "fcgi: running ($JT_FCGI_MODE), pid $(stack_live_pids fcgi jangteo-fcgi |
		paste -sd ' ' -), socket $sock" >&2
}

# 15 s before escalating: in prefork mode the parent gives its handlers 10 s, then KILLs them.
fcgi_stop() {
	stack_stop_pidfile fcgi jangteo-fcgi 15
	fcgi_running || rm -f "$JT_RUN/fcgi.sock"
}

# ---- worker pools: N jangteo-worker processes per queue ----------------------------------------
# Each pool is named by its pid-file prefix: worker (queue demo, JT_WORKERS), payworker (payment,
# JT_PAY_WORKERS), settleworker (settle, JT_SETTLE_WORKERS), notifyworker (notify,
# JT_NOTIFY_WORKERS). Worker N of a pool has pids/<prefix>-N.pid.

# The queue and the size of pool $1.
_pool_queue() {
	case $1 in
		worker) echo demo ;;
		payworker) echo payment ;;
		settleworker) echo settle ;;
		notifyworker) echo notify ;;
	esac
}
_pool_size() {
	case $1 in
		worker) echo "$JT_WORKERS" ;;
		payworker) echo "$JT_PAY_WORKERS" ;;
		settleworker) echo "$JT_SETTLE_WORKERS" ;;
		notifyworker) echo "$JT_NOTIFY_WORKERS" ;;
	esac
}

pool_one_running() {
	stack_all_running "$1-$2" jangteo-worker
}

# Starts worker $2 of pool $1 unless it runs.
pool_one_start() {
	local p=$1 n=$2 exe="$JT_BUILDDIR/workers/jangteo-worker"
	if pool_one_running "$p" "$n"; then
		echo "$p-$n: already running" >&2
		return 0
	fi
	stack_need_program "$exe"
	stack_spawn "$p-$n" "$exe" --config "$JT_CONF" --queue "$(_pool_queue "$p")"
	_jangteo_check_alive "$p-$n" jangteo-worker || return 1
	echo "$p-$n: running, pid $(stack_live_pids "$p-$n" jangteo-worker)" >&2
}

pool_one_stop() {
	stack_stop_pidfile "$1-$2" jangteo-worker
}

# Stops worker $2 of pool $1 if it still runs (a test may have killed it) and starts it again.
pool_one_restart() {
	pool_one_stop "$1" "$2"
	pool_one_start "$1" "$2"
}

# Prints the worker numbers of pool $1 that have a pid file, whatever its size is now.
_pool_recorded() {
	local f n
	for f in "$JT_RUN"/pids/"$1"-*.pid; do
		[[ -e $f ]] || continue
		n=${f##*/"$1"-}
		n=${n%.pid}
		[[ $n =~ ^[0-9]+$ ]] && printf '%s\n' "$n"
	done
	return 0
}

pool_running() {
	local n size
	size=$(_pool_size "$1")
	for (( n = 1; n <= size; n++ )); do
		pool_one_running "$1" "$n" || return 1
	done
	return 0
}

# Starts the workers of pool $1 that do not run (all on a fresh start, only the dead ones after).
pool_start() {
	local n size
	size=$(_pool_size "$1")
	for (( n = 1; n <= size; n++ )); do
		pool_one_start "$1" "$n" || return 1
	done
}

pool_stop() {
	local n
	for n in $(_pool_recorded "$1"); do
		pool_one_stop "$1" "$n"
	done
}

pool_status() {
	local n size
	size=$(_pool_size "$1")
	if (( size == 0 )); then
		printf '%-10s none (size 0)\n' "$1s"
	fi
	for (( n = 1; n <= size; n++ )); do
		if pool_one_running "$1" "$n"; then
			printf '%-10s running  pid %s\n' "$1-$n" \
				"$(stack_live_pids "$1-$n" jangteo-worker)"
		else
			printf '%-10s stopped\n' "$1-$n"
		fi
	done
}

# The services script/stack knows: <pool>s_{running,start,stop,status}, and
# <pool>_restart N for `script/stack restart-<pool> N`.
for _p in worker payworker settleworker notifyworker; do
	eval "${_p}s_running() { pool_running $_p; }
${_p}s_start() { pool_start $_p; }
${_p}s_stop() { pool_stop $_p; }
${_p}s_status() { pool_status $_p; }
${_p}_restart() { pool_one_restart $_p \"\$1\"; }"
done
unset _p

# ---- janitor ---------------------------------------------------------------------------------

janitor_running() {
	stack_all_running janitor jangteo-janitor
}

janitor_start() {
	local exe="$JT_BUILDDIR/workers/jangteo-janitor"
	if janitor_running; then
		echo "janitor: already running" >&2
		return 0
	fi
	stack_need_program "$exe"
	stack_spawn janitor "$exe" --config "$JT_CONF"
	_jangteo_check_alive janitor jangteo-janitor || return 1
	echo "janitor: running, pid $(stack_live_pids janitor jangteo-janitor)" >&2
}

janitor_stop() {
	stack_stop_pidfile janitor jangteo-janitor
}
