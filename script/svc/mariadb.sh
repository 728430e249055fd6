# mariadb.sh: start, stop and probe the local stack's private MariaDB (sourced by script/stack).
#
# Contract with the caller: JT_RUN is an absolute, existing run directory; `set -euo pipefail`
# may be in effect. Everything lives under $JT_RUN:
#   mariadb/          the datadir (initialised on the first start)
#   mysql.sock        the server's unix socket (the only way in unless JT_DB_PORT is set)
#   pids/mariadb.pid  the server's pid, written by us; the only pid mariadb_stop signals
#   log/mariadb.log   the server's error log (and its stdout/stderr)
#   tmp/              the server's tmpdir and its own pid file
# Optional environment:
#   JT_DB_PORT        also listen on 127.0.0.1:$JT_DB_PORT (default: unix socket only)
#   JT_DB_FLUSH       innodb_flush_log_at_trx_commit, default 2: a commit survives a crash of
#                     the server but not of the machine; fine for a dev/test stack, and it makes
#                     the test suites several times faster. Production keeps 1.
#
# Server settings worth knowing (production should use the same):
#   transaction-isolation=READ-COMMITTED  state changes are guarded UPDATEs (WHERE id = ? AND
#       status = ?) and stock is reserved with `available >= ?`; none of that needs the gap
#       locks of REPEATABLE READ, which only add deadlocks between concurrent checkouts.
#   innodb-lock-wait-timeout=5  a request waiting longer than that has already failed its user;
#       db_tx reruns the transaction instead (lib/infra/db.c).
#   sql_mode: strict, no zero dates, division by zero is an error. Not ONLY_FULL_GROUP_BY:
#       MariaDB's version ignores functional dependencies and rejects correct queries.
#       lib/infra/db.c sets the same mode on every session, so an external server behaves alike.

# The sql_mode lib/infra/db.c also sets per session (keep the two equal).
MARIADB_SQL_MODE=STRICT_ALL_TABLES,NO_ZERO_IN_DATE,NO_ZERO_DATE,ERROR_FOR_DIVISION_BY_ZERO
MARIADB_SQL_MODE+=,NO_ENGINE_SUBSTITUTION

# True when pid is a live (not zombie) process whose command name is $2 ("" skips that test:
# just after the launch the forked shell may not have exec'd the server yet).
_mariadb_alive() {
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
_mariadb_pid() {
	local f="$JT_RUN/pids/mariadb.pid"
	[[ -s $f ]] || return 0
	head -c 32 "$f" | tr -dc '0-9'
}

_mariadb_dirs() {
	: "${JT_RUN:?JT_RUN must name the run directory}"
	mkdir -p "$JT_RUN/pids" "$JT_RUN/log" "$JT_RUN/tmp"
}

# The account the mariadb client uses as the server's superuser: the OS user, authenticated
# by the unix_socket plugin (mariadb-install-db creates it next to root).
_mariadb_admin_user() {
	id -un
}

# Runs the mariadb client as the superuser over the socket, SQL on stdin.
_mariadb_client() {
	timeout -k 1 30 mariadb --no-defaults --protocol=socket --socket="$JT_RUN/mysql.sock" \
		--user="$(_mariadb_admin_user)" --connect-timeout=5 --batch
}

# True when a server answers on the socket (bounded: a hung server must not hang the caller).
_mariadb_ping() {
	[[ -S $JT_RUN/mysql.sock ]] || return 1
	timeout -k 1 3 mariadb-admin --no-defaults --protocol=socket --socket="$JT_RUN/mysql.sock" \
		--user="$(_mariadb_admin_user)" --connect-timeout=1 ping >/dev/null 2>&1
}

# Prints the tail of the server's log to stderr, after a message.
_mariadb_fail() {
	echo "mariadb: $*" >&2
	if [[ -f $JT_RUN/log/mariadb.log ]]; then
		echo "---- last lines of $JT_RUN/log/mariadb.log ----" >&2
		tail -n 30 "$JT_RUN/log/mariadb.log" >&2 || true
	fi
	return 1
}

# Exit status 0 iff the pid file names a live mariadbd.
mariadb_running() {
	: "${JT_RUN:?JT_RUN must name the run directory}"
	_mariadb_alive "$(_mariadb_pid)" mariadbd
}

# Initialises $JT_RUN/mariadb when it holds no system tables yet. The datadir is built beside
# and renamed into place, so an interrupted initialisation is redone, not half-used.
_mariadb_init_datadir() {
	local datadir="$JT_RUN/mariadb" fresh="$JT_RUN/mariadb.init" user_opt=()
	if [[ -d $datadir/mysql ]]; then
		return 0
	fi
	if (( EUID == 0 )); then
		user_opt=(--user=root)
	fi
	rm -rf "$fresh"
	echo "mariadb: initialising $datadir" >&2
	if ! mariadb-install-db --no-defaults --datadir="$fresh" "${user_opt[@]}" \
		--auth-root-authentication-method=socket --skip-test-db \
		--skip-name-resolve >"$JT_RUN/log/mariadb-install.log" 2>&1; then
		tail -n 30 "$JT_RUN/log/mariadb-install.log" >&2 || true
		_mariadb_fail "mariadb-install-db failed (see $JT_RUN/log/mariadb-install.log)"
		return 1
	fi
	rm -rf "$datadir"
	mv "$fresh" "$datadir"
}

# Creates the application's databases and account. Idempotent, so it runs on every start
# (a first start interrupted between init and this step repairs itself).
_mariadb_bootstrap() {
	_mariadb_client <<-'SQL'
		CREATE DATABASE IF NOT EXISTS jangteo
		    CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
		CREATE DATABASE IF NOT EXISTS jangteo_test
		    CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
		CREATE USER IF NOT EXISTS 'jangteo'@'localhost' IDENTIFIED BY 'jangteo';
		CREATE USER IF NOT EXISTS 'jangteo'@'127.0.0.1' IDENTIFIED BY 'jangteo';
		GRANT ALL PRIVILEGES ON jangteo.* TO 'jangteo'@'localhost';
		GRANT ALL PRIVILEGES ON jangteo_test.* TO 'jangteo'@'localhost';
		GRANT ALL PRIVILEGES ON jangteo.* TO 'jangteo'@'127.0.0.1';
		GRANT ALL PRIVILEGES ON jangteo_test.* TO 'jangteo'@'127.0.0.1';
	SQL
}

# Starts the server unless it runs already; returns once it answers (30 s at most).
mariadb_start() {
	local sock="$JT_RUN/mysql.sock" log="$JT_RUN/log/mariadb.log" pid deadline
	local net_opt=(--skip-networking) user_opt=()

	_mariadb_dirs
	if mariadb_running; then
		return 0
	fi
	rm -f "$JT_RUN/pids/mariadb.pid"
	if (( ${#sock} > 107 )); then
		_mariadb_fail "socket path $sock is longer than a unix socket allows (107 bytes)"
		return 1
	fi
	_mariadb_init_datadir || return 1
	if [[ -n ${JT_DB_PORT:-} ]]; then
		[[ $JT_DB_PORT =~ ^[1-9][0-9]*$ ]] || { _mariadb_fail "bad JT_DB_PORT"; return 1; }
		net_opt=(--port="$JT_DB_PORT" --bind-address=127.0.0.1)
	fi
	if (( EUID == 0 )); then
		user_opt=(--user=root)
	fi
	if _mariadb_ping; then
		_mariadb_fail "a server answers on $sock but $JT_RUN/pids/mariadb.pid does not name it"
		return 1
	fi
	# A socket file left by a killed server would make the readiness probe below lie.
	rm -f "$sock" "$sock.lock"

	/usr/sbin/mariadbd --no-defaults \
		--datadir="$JT_RUN/mariadb" \
		--socket="$sock" \
		"${net_opt[@]}" \
		"${user_opt[@]}" \
		--pid-file="$JT_RUN/tmp/mariadbd.pid" \
		--log-error="$log" \
		--tmpdir="$JT_RUN/tmp" \
		--skip-log-bin \
		--skip-name-resolve \
		--performance-schema=OFF \
		--innodb-buffer-pool-size=128M \
		--innodb-log-file-size=48M \
		--innodb-flush-log-at-trx-commit="${JT_DB_FLUSH:-2}" \
		--innodb-lock-wait-timeout=5 \
		--character-set-server=utf8mb4 \
		--collation-server=utf8mb4_unicode_ci \
		--sql-mode="$MARIADB_SQL_MODE" \
		--transaction-isolation=READ-COMMITTED \
		--default-time-zone=+00:00 \
		--max-connections=300 \
		--max-allowed-packet=64M \
		</dev/null >>"$log" 2>&1 &
	pid=$!
	echo "$pid" >"$JT_RUN/pids/mariadb.pid"

	deadline=$((SECONDS + 30))
	while ! _mariadb_ping; do
		if ! _mariadb_alive "$pid" ""; then
			rm -f "$JT_RUN/pids/mariadb.pid"
			_mariadb_fail "mariadbd (pid $pid) exited during start-up"
			return 1
		fi
		if (( SECONDS >= deadline )); then
			mariadb_stop || true
			_mariadb_fail "mariadbd (pid $pid) did not answer within 30 s"
			return 1
		fi
		sleep 0.2
	done
	if ! _mariadb_bootstrap >>"$log" 2>&1; then
		_mariadb_fail "creating the jangteo databases and user failed"
		return 1
	fi
	echo "mariadb: running, pid $pid, socket $sock" >&2
}

# Stops the server named by the pid file: TERM, 30 s for a clean shutdown, then KILL.
mariadb_stop() {
	local pid i

	: "${JT_RUN:?JT_RUN must name the run directory}"
	pid=$(_mariadb_pid)
	if ! _mariadb_alive "$pid" mariadbd; then
		rm -f "$JT_RUN/pids/mariadb.pid"
		return 0
	fi
	kill -TERM "$pid" 2>/dev/null || true
	kill -CONT "$pid" 2>/dev/null || true   # a stopped (SIGSTOP) server must see the TERM
	for (( i = 0; i < 300; i++ )); do
		_mariadb_alive "$pid" mariadbd || break
		sleep 0.1
	done
	if _mariadb_alive "$pid" mariadbd; then
		echo "mariadb: pid $pid ignored TERM for 30 s, sending KILL" >&2
		kill -KILL "$pid" 2>/dev/null || true
		for (( i = 0; i < 50; i++ )); do
			_mariadb_alive "$pid" mariadbd || break
			sleep 0.1
		done
	fi
	rm -f "$JT_RUN/pids/mariadb.pid"
	return 0
}
