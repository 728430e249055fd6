#!/usr/bin/env bash
# spawn-fcgi.sh: starts and stops jangteo's FastCGI handlers under spawn-fcgi, for machines
# without systemd (with systemd, use jangteo-fcgi.service: spawn-fcgi's -F N pool cannot run in
# the foreground, so systemd could not supervise it). Installed as
# <datadir>/jangteo/examples/spawn-fcgi.sh with the installed paths filled in.
#
# Usage, as root: spawn-fcgi.sh start|stop|status
#
# start runs, with the settings below:
#   spawn-fcgi -s SOCKET -M 0660 -u USER -g GROUP -U SOCKET_USER -G SOCKET_GROUP -F N \
#       -P PIDFILE -- jangteo-fcgi --config CONF
# i.e. spawn-fcgi, as root, creates the unix socket, makes it SOCKET_USER:SOCKET_GROUP mode
# 0660 (the web server's group may connect, nobody else), forks N handlers that drop to
# USER:GROUP (never root: spawn-fcgi refuses -u root) with the socket as their fd 0, writes
# their pids one per line to PIDFILE and exits. Nothing restarts a handler that dies: watch
# them (status) or use systemd. The handlers' stdout/stderr are /dev/null, so log.file in
# CONF must name a file USER may append to (rotated by etc/logrotate/jangteo). CONF must be
# readable by USER (root:GROUP 0640 keeps it from everyone else).
#
# Settings (environment; defaults in brackets):
#   JANGTEO_FCGI          the program [@sbindir@/jangteo-fcgi]
#   JANGTEO_CONF          its configuration [@sysconfdir@/jangteo.conf]
#   JANGTEO_SOCKET        the socket; the web server's site file names the same path
#                         [/run/jangteo/fcgi.sock]
#   JANGTEO_PIDFILE       [/run/jangteo/fcgi.pid]
#   JANGTEO_USER, JANGTEO_GROUP  the handlers' user and group [jangteo, jangteo]
#   JANGTEO_SOCKET_USER, JANGTEO_SOCKET_GROUP  the socket's owner and group: the web server's
#                         workers must be in that group [jangteo, www-data]
#   JANGTEO_CHILDREN      handler processes, 1..256 [4]
# The socket's directory is created when missing: owner USER, group SOCKET_GROUP, mode 0750.
#
# stop sends TERM to each pid in PIDFILE that is still a jangteo-fcgi process (a handler
# finishes the request in hand and exits), waits up to 10 s, then KILLs what is left and removes
# the pid file and the socket. status exits 0 when every recorded handler runs, 3 otherwise.
set -euo pipefail

fcgi=${JANGTEO_FCGI:-@sbindir@/jangteo-fcgi}
conf=${JANGTEO_CONF:-@sysconfdir@/jangteo.conf}
sock=${JANGTEO_SOCKET:-/run/jangteo/fcgi.sock}
pidfile=${JANGTEO_PIDFILE:-/run/jangteo/fcgi.pid}
user=${JANGTEO_USER:-jangteo}
group=${JANGTEO_GROUP:-jangteo}
sock_user=${JANGTEO_SOCKET_USER:-jangteo}
sock_group=${JANGTEO_SOCKET_GROUP:-www-data}
children=${JANGTEO_CHILDREN:-4}

die() {
	echo "spawn-fcgi.sh: $*" >&2
	exit 1
}

# Prints the pids recorded in the pid file, one per line (spawn-fcgi may omit the last newline).
recorded_pids() {
	local line
	[[ -f $pidfile ]] || return 0
	while IFS= read -r line || [[ -n $line ]]; do
		[[ $line =~ ^[1-9][0-9]{0,9}$ ]] && printf '%s\n' "$line"
	done <"$pidfile"
	return 0
}

# Prints those of the recorded pids that are live (not zombie) jangteo-fcgi processes (the name
# check keeps a recycled pid from being signalled).
live_pids() {
	local pid stat state
	for pid in $(recorded_pids); do
		stat=$(cat "/proc/$pid/stat" 2>/dev/null) || continue
		state=${stat##*) }
		state=${state%% *}
		[[ $state != Z && $state != X ]] || continue
		if [[ $(cat "/proc/$pid/comm" 2>/dev/null) == jangteo-fcgi ]]; then
			printf '%s\n' "$pid"
		fi
	done
	return 0
}

do_start() {
	local dir
	(( EUID == 0 )) || die "start must run as root (spawn-fcgi switches to $user)"
	command -v spawn-fcgi >/dev/null || die "spawn-fcgi is not installed"
	[[ -x $fcgi ]] || die "$fcgi is not an executable"
	if [[ ! $children =~ ^[1-9][0-9]{0,2}$ ]] || (( children > 256 )); then
		die "JANGTEO_CHILDREN must be 1..256 (got '$children')"
	fi
	[[ $user != root && $user != 0 ]] || die "JANGTEO_USER must not be root"
	if [[ -n $(live_pids) ]]; then
		die "handlers from $pidfile still run (pids $(live_pids | paste -sd ' ' -)): stop first"
	fi
	dir=$(dirname -- "$sock")
	if [[ ! -d $dir ]]; then
		install -d -o "$user" -g "$sock_group" -m 0750 -- "$dir"
	fi
	rm -f -- "$pidfile"
	spawn-fcgi -s "$sock" -M 0660 -u "$user" -g "$group" -U "$sock_user" -G "$sock_group" \
		-F "$children" -P "$pidfile" -- "$fcgi" --config "$conf"
}

do_stop() {
	local -a pids
	local i
	mapfile -t pids < <(live_pids)
	if (( ${#pids[@]} > 0 )); then
		kill -TERM "${pids[@]}" 2>/dev/null || true
		for (( i = 0; i < 100; i++ )); do
			mapfile -t pids < <(live_pids)
			(( ${#pids[@]} == 0 )) && break
			sleep 0.1
		done
		if (( ${#pids[@]} > 0 )); then
			echo "spawn-fcgi.sh: pids ${pids[*]} outlived TERM for 10 s; sending KILL" >&2
			kill -KILL "${pids[@]}" 2>/dev/null || true
		fi
	fi
	rm -f -- "$pidfile" "$sock"
}

do_status() {
	local recorded live
	recorded=$(recorded_pids)
	live=$(live_pids)
	if [[ -n $recorded && $recorded == "$live" ]]; then
		echo "jangteo-fcgi: running, pids $(paste -sd ' ' - <<<"$live"), socket $sock"
		return 0
	fi
	echo "jangteo-fcgi: $(grep -c . <<<"$live" || true) of" \
		"$(grep -c . <<<"$recorded" || true) recorded handlers running"
	return 3
}

case ${1:-} in
start) do_start ;;
stop) do_stop ;;
status) do_status ;;
*)
	echo "usage: spawn-fcgi.sh start|stop|status" >&2
	exit 2
	;;
esac
