# nginx.sh: start, stop and probe the local stack's private nginx, which serves /static/ from
# the source tree's static/ and passes every other request on 127.0.0.1:$JT_HTTP_PORT to the
# FastCGI socket (sourced by script/stack).
#
# Contract with the caller: script/stack has set JT_RUN, JT_HTTP_PORT, JT_PREFORK and
# JT_START_WAIT, created $JT_RUN/pids and $JT_RUN/log, and defined the stack_* helpers.
# JT_FCGI_KEEPALIVE=0 turns off keep-alive connections to the handlers (see below). Files:
#   nginx/nginx.conf     written on every start from the settings (temp dirs beside it)
#   pids/nginx.pid       the master's pid: nginx runs with `daemon off` as a background job and
#                        we record $!; nginx's own pid file is nginx/nginx.pid
#   log/nginx-error.log, log/nginx-access.log, log/nginx.log (the master's stdout/stderr)
# Started as `nginx -e ... -p ... -c ...`, so it never opens /var/log/nginx or
# /etc/nginx/nginx.conf.
#
# Running as root, the workers run as root too (`user root;`): the FastCGI socket is created
# by jangteo-fcgi, running as root, with whatever mode its umask gives, and the workers must be
# able to connect to it. Acceptable for a loopback-only dev stack; a deployment runs both as
# unprivileged users sharing a group (etc/nginx-jangteo.conf).

JT_FASTCGI_PARAMS=${JT_FASTCGI_PARAMS:-/etc/nginx/fastcgi_params}

# Prints the nginx.conf for the current settings.
#
# Keep-alive to the FastCGI handlers (fastcgi_keep_conn): each handler serves one connection at
# a time, and a kept connection pins its handler while it idles in an nginx worker's cache. With
# W nginx workers caching K idle connections each, W*K handlers can be pinned, so W*K must stay
# below the number of handlers, or requests on new connections wait for a pinned one to be
# released (up to keepalive_timeout). K = (handlers - 1) / W; with fewer than W+1 handlers, or
# JT_FCGI_KEEPALIVE=0, keep-alive is off. Measured against 4 stub handlers: 500 sequential
# instant requests took 0.14 s with keep-alive, 0.16 s without; bursts of 40 concurrent
# requests of 0.1 s each took 1.8-2.2 s with, 1.3 s without (pinned handlers idle while
# requests queue). Keep-alive stays on by default so the stack exercises FCGI_KEEP_CONN.
_nginx_conf_text() {
	local nworkers=2 keep user_line="" keep_lines keep_conn
	keep=$(( (JT_PREFORK - 1) / nworkers ))
	if [[ ${JT_FCGI_KEEPALIVE:-0} == 0 ]]; then
		keep=0
	fi
	if (( EUID == 0 )); then
		user_line="user root;"
	fi
	if (( keep > 0 )); then
		keep_lines="keepalive $keep;
        keepalive_timeout 15s;"
		keep_conn=on
	else
		keep_lines="# no keep-alive (see script/svc/nginx.sh)"
		keep_conn=off
	fi
	cat <<-EOF
		# nginx.conf for jangteo's local stack, written by script/svc/nginx.sh on every start.
		$user_line
		daemon off;
		master_process on;
		worker_processes $nworkers;
		pid $JT_RUN/nginx/nginx.pid;
		error_log $JT_RUN/log/nginx-error.log info;

		# The concurrency tests open a thousand connections at once; each request holds two
		# (client and FastCGI).
		worker_rlimit_nofile 16384;
		events {
		    worker_connections 4096;
		}

		http {
		    access_log $JT_RUN/log/nginx-access.log combined buffer=64k flush=1s;
		    client_body_temp_path $JT_RUN/nginx/client_body;
		    fastcgi_temp_path $JT_RUN/nginx/fastcgi;
		    proxy_temp_path $JT_RUN/nginx/proxy;
		    uwsgi_temp_path $JT_RUN/nginx/uwsgi;
		    scgi_temp_path $JT_RUN/nginx/scgi;

		    server_tokens off;
		    client_max_body_size 2m;

		    upstream jangteo_fcgi {
		        server unix:$JT_RUN/fcgi.sock;
		        $keep_lines
		    }

		    server {
		        listen 127.0.0.1:$JT_HTTP_PORT;
		        server_name localhost;

		        # The pages' static files, from the source tree (static.dir in the stack's config):
		        # their URLs carry a version from their content, so they may be kept a year.
		        location ^~ /static/ {
		            alias $JT_REPO/static/;
		            types { text/javascript js; text/css css; image/svg+xml svg; }
		            default_type application/octet-stream;
		            charset utf-8;
		            charset_types text/javascript text/css;
		            add_header Cache-Control "public, max-age=31536000, immutable";
		            add_header X-Content-Type-Options nosniff always;
		        }

		        # Everything else is the application's: no index, no try_files.
		        location / {
		            include $JT_FASTCGI_PARAMS;
		            # nginx's own id for the request (a client's X-Request-Id is not trusted)
		            fastcgi_param HTTP_X_REQUEST_ID \$request_id;
		            fastcgi_pass jangteo_fcgi;
		            fastcgi_keep_conn $keep_conn;
		        }
		    }
		}
	EOF
}

nginx_running() {
	stack_all_running nginx nginx
}

# Starts nginx unless it runs; returns once the port answers (any HTTP status: 502 only means
# the FastCGI pool is not up).
nginx_start() {
	local dir="$JT_RUN/nginx"
	if nginx_running; then
		echo "nginx: already running" >&2
		return 0
	fi
	command -v nginx >/dev/null || stack_die "nginx is not installed: run script/setup"
	[[ -f $JT_FASTCGI_PARAMS ]] || stack_die "$JT_FASTCGI_PARAMS is missing (package nginx-common)"
	rm -f "$(stack_pidfile nginx)"
	stack_http_port_free
	mkdir -p "$dir/client_body" "$dir/fastcgi" "$dir/proxy" "$dir/uwsgi" "$dir/scgi"
	_nginx_conf_text >"$dir/nginx.conf"
	if ! nginx -q -t -e "$JT_RUN/log/nginx-error.log" -p "$dir/" -c "$dir/nginx.conf" \
		>>"$(stack_logfile nginx)" 2>&1; then
		stack_fail nginx "nginx -t rejected $dir/nginx.conf"
		return 1
	fi
	stack_spawn nginx nginx -e "$JT_RUN/log/nginx-error.log" -p "$dir/" -c "$dir/nginx.conf"
	stack_http_wait nginx nginx "$JT_RUN/log/nginx-error.log"
}

# Stops the master (TERM: fast shutdown); its workers exit with it.
nginx_stop() {
	stack_stop_pidfile nginx nginx
}
