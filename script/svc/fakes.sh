# shellcheck shell=bash
# fakes.sh: the stand-ins for the internet services jangteo talks to (SMTP relay, Naver and
# Kakao OAuth, the Toss and KakaoPay gateways, Naver Shopping search, NHN Cloud's KakaoTalk
# 알림톡 API), all served by one python3 process, tests/fakes/fakes.py, on
# loopback. Sourced by script/stack. Mail the sink receives lands in $JT_RUN/mail/ as one
# .eml file per message; each fake keeps its own log of requests under $JT_RUN/fakes/.

fakes_running() {
	stack_all_running fakes python3
}

fakes_start() {
	local i
	if fakes_running; then
		echo "fakes: already running" >&2
		return 0
	fi
	# Debian's own interpreter: a version manager's shim (pyenv) would exec through other
	# program names, and the pid check below goes by name.
	[[ -x /usr/bin/python3 ]] || stack_die "/usr/bin/python3 is missing (script/setup installs it)"
	mkdir -p "$JT_RUN/mail" "$JT_RUN/fakes"
	stack_spawn fakes /usr/bin/python3 "$JT_REPO/tests/fakes/fakes.py" --run "$JT_RUN" \
		--smtp-port "$JT_SMTP_PORT" --oauth-port "$JT_OAUTH_PORT" \
		--pg-port "$JT_PG_PORT" --naver-port "$JT_NAVER_PORT" --alimtalk-port "$JT_ALIMTALK_PORT"
	for (( i = 0; i < JT_START_WAIT * 10; i++ )); do
		if [[ -f $JT_RUN/fakes/ready ]]; then
			echo "fakes: running, pid $(stack_live_pids fakes python3)" \
				"(smtp :$JT_SMTP_PORT, oauth :$JT_OAUTH_PORT, pg :$JT_PG_PORT, naver :$JT_NAVER_PORT," \
				"alimtalk :$JT_ALIMTALK_PORT)" >&2
			return 0
		fi
		fakes_running || break
		sleep 0.1
	done
	stack_fail fakes "the fakes did not become ready"
	return 1
}

fakes_stop() {
	stack_stop_pidfile fakes python3
	rm -f "$JT_RUN/fakes/ready"
}
