# apache.sh: start, stop and probe the local stack's private Apache httpd, the alternative to
# nginx (JT_WEB=apache), which serves /static/ from the source tree's static/ and passes every
# other request on 127.0.0.1:$JT_HTTP_PORT to the FastCGI socket through mod_proxy_fcgi
# (sourced by script/stack).
#
# Contract with the caller: script/stack has set JT_RUN, JT_HTTP_PORT and JT_START_WAIT,
# created $JT_RUN/pids and $JT_RUN/log, and defined the stack_* helpers. Files:
#   apache/apache2.conf  written on every start from the settings; the only config read (-f):
#                        /etc/apache2 and the system's apache2 service are never touched
#   pids/apache.pid      the parent's pid: apache2 runs with -D FOREGROUND as a background job
#                        and we record $!; Apache's own pid file is apache/apache2.pid
#   log/apache-error.log, log/apache-access.log, log/apache.log (the parent's stdout/stderr)
# Modules are loaded from JT_APACHE_MODULES [/usr/lib/apache2/modules]: mpm_event,
# authz_core, proxy, proxy_fcgi, headers, unique_id, alias, mime (log_config and unixd are
# built in).
#
# The request id: mod_unique_id gives each request a 24-character id over [A-Za-z0-9@-];
# jangteo accepts only [A-Za-z0-9_-] ids of 8..N bytes, so the X-Request-Id header passed on is
# the MD5 of UNIQUE_ID in hex: 32 hex digits, like nginx's $request_id, and set (never kept)
# whatever the client sent. The access log records it as the last field.
#
# Running as root: Apache refuses to run its children as root (they handle the requests), so
# they run as www-data with group root. The FastCGI socket jangteo-fcgi creates as root is
# mode 0660 root:root, so group root is what lets them connect. Acceptable for a loopback-only
# dev stack; a deployment runs both as unprivileged users sharing a group
# (etc/apache-jangteo.conf). As another user, Apache runs as that user and no User/Group is set.

JT_APACHE_MODULES=${JT_APACHE_MODULES:-/usr/lib/apache2/modules}

# Prints the apache2.conf for the current settings.
#
# No connection reuse to the handlers (mod_proxy_fcgi's default, enablereuse=off): for the same
# reason nginx's keep-alive is off in a deployment (etc/nginx-jangteo.conf), a kept connection
# pins a handler. ProxyFCGIBackendType GENERIC: pass SCRIPT_NAME/PATH_INFO as they are, without
# the PHP-FPM adjustments; jangteo routes on REQUEST_URI, the raw target of the request line.
_apache_conf_text() {
	local dir="$JT_RUN/apache" user_lines="" static="$JT_REPO/static"
	if (( EUID == 0 )); then
		user_lines="User www-data
Group root"
		# www-data cannot reach a checkout under /root (a fresh machine's): a copy in the
		# run directory, which it reaches for the socket (apache_start makes it).
		static="$dir/static"
	fi
	cat <<-EOF
		# apache2.conf for jangteo's local stack, written by script/svc/apache.sh on every start.
		ServerRoot "$dir"
		DefaultRuntimeDir "$dir/run"
		PidFile "$dir/apache2.pid"
		ErrorLog "$JT_RUN/log/apache-error.log"
		LogLevel warn
		$user_lines

		LoadModule mpm_event_module $JT_APACHE_MODULES/mod_mpm_event.so
		LoadModule authz_core_module $JT_APACHE_MODULES/mod_authz_core.so
		LoadModule proxy_module $JT_APACHE_MODULES/mod_proxy.so
		LoadModule proxy_fcgi_module $JT_APACHE_MODULES/mod_proxy_fcgi.so
		LoadModule headers_module $JT_APACHE_MODULES/mod_headers.so
		LoadModule unique_id_module $JT_APACHE_MODULES/mod_unique_id.so
		LoadModule alias_module $JT_APACHE_MODULES/mod_alias.so
		LoadModule mime_module $JT_APACHE_MODULES/mod_mime.so
		# No system-wide type table: the types served are set where they are served.
		TypesConfig /dev/null

		StartServers 1
		ServerLimit 2
		ThreadsPerChild 25
		MaxRequestWorkers 50
		Timeout 60
		# The concurrency tests open a thousand connections at once: they wait in the backlog.
		ListenBacklog 4096

		Listen 127.0.0.1:$JT_HTTP_PORT
		ServerName localhost
		ServerTokens Prod
		ServerSignature Off
		TraceEnable Off
		# A little above fcgi.max_body (1 MiB by default), like nginx's client_max_body_size 2m,
		# so jangteo answers oversize bodies itself, with its own error envelope.
		LimitRequestBody 2097152
		# Paths reach jangteo as sent: it refuses what it does not route itself.
		AllowEncodedSlashes NoDecode

		LogFormat "%h %l %u %t \"%r\" %>s %b %D %{X-Request-Id}i" jangteo
		CustomLog "$JT_RUN/log/apache-access.log" jangteo

		<Directory />
		    AllowOverride None
		    Require all denied
		</Directory>

		<VirtualHost 127.0.0.1:$JT_HTTP_PORT>
		    ServerName localhost
		    # Apache's own id for the request (a client's X-Request-Id is not trusted).
		    RequestHeader set X-Request-Id "expr=%{md5:%{reqenv:UNIQUE_ID}}"
		    ProxyFCGIBackendType GENERIC
		    # Everything but /static/ is the application's: no index.
		    <Location "/">
		        Require all granted
		        ProxyPass "unix:$JT_RUN/fcgi.sock|fcgi://localhost/"
		    </Location>
		    # The pages' static files, from the source tree (static.dir in the stack's config):
		    # their URLs carry a version from their content, so they may be kept a year.
		    Alias "/static/" "$static/"
		    <Directory "$static">
		        Require all granted
		        Options None
		        AddType "text/javascript; charset=utf-8" .js
		        AddType "text/css; charset=utf-8" .css
		        AddType image/svg+xml .svg
		    </Directory>
		    <Location "/static/">
		        ProxyPass "!"
		        Header set Cache-Control "public, max-age=31536000, immutable"
		        Header always set X-Content-Type-Options nosniff
		    </Location>
		</VirtualHost>
	EOF
}

apache_running() {
	stack_all_running apache apache2
}

# Starts Apache unless it runs; returns once the port answers (any HTTP status: 503 only means
# the FastCGI pool is not up).
apache_start() {
	local dir="$JT_RUN/apache"
	if apache_running; then
		echo "apache: already running" >&2
		return 0
	fi
	command -v apache2 >/dev/null || stack_die "apache2 is not installed: run script/setup"
	[[ -f $JT_APACHE_MODULES/mod_proxy_fcgi.so ]] ||
		stack_die "$JT_APACHE_MODULES/mod_proxy_fcgi.so is missing (package apache2-bin)"
	rm -f "$(stack_pidfile apache)"
	stack_http_port_free
	mkdir -p "$dir/run"
	# Apache refuses to start over a pid file naming a live process: ours is known dead here.
	rm -f "$dir/apache2.pid"
	if (( EUID == 0 )); then
		rm -rf "$dir/static"
		cp -R "$JT_REPO/static" "$dir/static"
		chmod -R a+rX "$dir/static"
	fi
	_apache_conf_text >"$dir/apache2.conf"
	if ! apache2 -t -f "$dir/apache2.conf" >>"$(stack_logfile apache)" 2>&1; then
		stack_fail apache "apache2 -t rejected $dir/apache2.conf"
		return 1
	fi
	stack_spawn apache apache2 -f "$dir/apache2.conf" -D FOREGROUND
	stack_http_wait apache apache2 "$JT_RUN/log/apache-error.log"
}

# Stops the parent (TERM: it stops its children at once and exits).
apache_stop() {
	stack_stop_pidfile apache apache2
}
