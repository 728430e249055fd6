# jangteo.sh: start, stop and probe jangteo's own processes in the local stack: the ZeroMQ bus,
# the FastCGI pool, the demo workers, the payment workers and the janitor (sourced by
# script/stack).
#
# Contract with the caller: script/stack has set JT_RUN, JT_BUILDDIR, JT_CONF, JT_PREFORK,
# JT_WORKERS, JT_PAY_WORKERS, JT_FCGI_MODE and JT_START_WAIT, written $JT_CONF, created $JT_RUN/pids and
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

# ---- workers: JT_WORKERS demo workers pulling from bus.out_demo --------------------------------

worker_running() {
	stack_all_running "worker-$1" jangteo-worker
}

# Starts demo worker $1 unless it runs.
worker_start() {
	local n=$1 exe="$JT_BUILDDIR/workers/jangteo-worker"
	if worker_running "$n"; then
		echo "worker-$n: already running" >&2
		return 0
	fi
	stack_need_program "$exe"
	stack_spawn "worker-$n" "$exe" --config "$JT_CONF" --queue demo
	_jangteo_check_alive "worker-$n" jangteo-worker || return 1
	echo "worker-$n: running, pid $(stack_live_pids "worker-$n" jangteo-worker)" >&2
}

worker_stop() {
	stack_stop_pidfile "worker-$1" jangteo-worker
}

# Stops demo worker $1 if it still runs (a test may have killed it) and starts it again.
worker_restart() {
	worker_stop "$1"
	worker_start "$1"
}

# Prints the worker numbers that have a pid file, whatever JT_WORKERS is now.
_workers_recorded() {
	local f n
	for f in "$JT_RUN"/pids/worker-*.pid; do
		[[ -e $f ]] || continue
		n=${f##*/worker-}
		n=${n%.pid}
		[[ $n =~ ^[0-9]+$ ]] && printf '%s\n' "$n"
	done
	return 0
}

workers_running() {
	local n
	for (( n = 1; n <= JT_WORKERS; n++ )); do
		worker_running "$n" || return 1
	done
	return 0
}

# Starts the workers that do not run (all of them on a fresh start, only the dead ones after).
workers_start() {
	local n
	for (( n = 1; n <= JT_WORKERS; n++ )); do
		worker_start "$n" || return 1
	done
}

workers_stop() {
	local n
	for n in $(_workers_recorded); do
		worker_stop "$n"
	done
}

workers_status() {
	local n
	if (( JT_WORKERS == 0 )); then
		printf '%-10s none (JT_WORKERS=0)\n' workers
	fi
	for (( n = 1; n <= JT_WORKERS; n++ )); do
		if worker_running "$n"; then
			printf '%-10s running  pid %s\n' "worker-$n" \
				"$(stack_live_pids "worker-$n" jangteo-worker)"
		else
			printf '%-10s stopped\n' "worker-$n"
		fi
	done
}

# ---- payment workers: JT_PAY_WORKERS workers pulling payment.confirm from bus.out_payment ----

payworker_running() {
	stack_all_running "payworker-$1" jangteo-worker
}

# Starts payment worker $1 unless it runs.
payworker_start() {
	local n=$1 exe="$JT_BUILDDIR/workers/jangteo-worker"
	if payworker_running "$n"; then
		echo "payworker-$n: already running" >&2
		return 0
	fi
	stack_need_program "$exe"
	stack_spawn "payworker-$n" "$exe" --config "$JT_CONF" --queue payment
	_jangteo_check_alive "payworker-$n" jangteo-worker || return 1
	echo "payworker-$n: running, pid $(stack_live_pids "payworker-$n" jangteo-worker)" >&2
}

payworker_stop() {
	stack_stop_pidfile "payworker-$1" jangteo-worker
}

# Stops payment worker $1 if it still runs (a test may have killed it) and starts it again.
payworker_restart() {
	payworker_stop "$1"
	payworker_start "$1"
}

# Prints the payment worker numbers that have a pid file, whatever JT_PAY_WORKERS is now.
_payworkers_recorded() {
	local f n
	for f in "$JT_RUN"/pids/payworker-*.pid; do
		[[ -e $f ]] || continue
		n=${f##*/payworker-}
		n=${n%.pid}
		[[ $n =~ ^[0-9]+$ ]] && printf '%s\n' "$n"
	done
	return 0
}

payworkers_running() {
	local n
	for (( n = 1; n <= JT_PAY_WORKERS; n++ )); do
		payworker_running "$n" || return 1
	done
	return 0
}

# Starts the payment workers that do not run (all on a fresh start, only the dead ones after).
payworkers_start() {
	local n
	for (( n = 1; n <= JT_PAY_WORKERS; n++ )); do
		payworker_start "$n" || return 1
	done
}

payworkers_stop() {
	local n
	for n in $(_payworkers_recorded); do
		payworker_stop "$n"
	done
}

payworkers_status() {
	local n
	if (( JT_PAY_WORKERS == 0 )); then
		printf '%-10s none (JT_PAY_WORKERS=0)\n' payworkers
	fi
	for (( n = 1; n <= JT_PAY_WORKERS; n++ )); do
		if payworker_running "$n"; then
			printf '%-10s running  pid %s\n' "payworker-$n" \
				"$(stack_live_pids "payworker-$n" jangteo-worker)"
		else
			printf '%-10s stopped\n' "payworker-$n"
		fi
	done
}

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
