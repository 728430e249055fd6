"""Deployment files (etc/, man/): each is proven by the program that reads it.

make install lays everything out under the prefix; systemd-analyze verifies the units;
etc/spawn-fcgi.sh starts real handlers as an unprivileged user behind a 0660 socket that the
web server's group can reach and others cannot; logrotate rotates a file that processes keep
appending to; promtool checks the Prometheus file and the dashboard's queries, which must name
metrics /metrics really serves; the man pages render without a warning and document every
option; the nginx and Apache site files serve jangteo and keep /metrics to loopback.

Needs root for the unprivileged-user and site tests (the stack runs as root); promtool is
optional (package prometheus): without it the YAML and PromQL checks are structural only."""
import grp
import json
import os
import pwd
import re
import shutil
import socket
import stat
import struct
import subprocess
import tempfile
import http.client

from jt import PORT, RUN, SRC, Response, check_static_file, eq, eventually, get, static_version

BUILD = os.environ.get("JT_BUILDDIR", os.path.join(SRC, "_build"))
ETC = os.path.join(SRC, "etc")
MAN = os.path.join(SRC, "man")
UNITS = ["jangteo.target", "jangteo-fcgi.service", "jangteo-bus.service",
         "jangteo-worker@.service", "jangteo-janitor.service"]
# The daily reconciliation runs on its own timer, outside jangteo.target.
TIMER_UNITS = ["jangteo-reconcile.service", "jangteo-reconcile.timer"]
SBIN_PROGRAMS = ["jangteo-fcgi", "jangteo-worker", "jangteo-janitor", "jangteo-bus"]
MAN_PAGES = {"man8/jangteo-fcgi.8": ["fcgi/jangteo-fcgi"],
             "man8/jangteo-worker.8": ["workers/jangteo-worker", "workers/jangteo-bus",
                                       "workers/jangteo-janitor"],
             "man1/jangteoctl.1": ["ctl/jangteoctl"]}
HEX32 = re.compile(r"[0-9a-f]{32}")
# The site files name the installed static directory; the tests serve the source tree's.
INSTALLED_STATIC = "/usr/local/share/jangteo/static"

_installed = {}


def need(tool):
    path = shutil.which(tool)
    assert path, "%s is not installed (script/setup installs it)" % tool
    return path


def run(argv, **kw):
    """Runs argv; returns (status, stdout, stderr) as text."""
    p = subprocess.run(argv, capture_output=True, text=True, timeout=kw.pop("timeout", 300), **kw)
    return p.returncode, p.stdout, p.stderr


def scratch_dir(tag):
    """A fresh directory under /tmp that other users may enter (mode 0755)."""
    d = tempfile.mkdtemp(prefix="jt-deploy-%s." % tag)
    os.chmod(d, 0o755)
    return d


def build_dirs():
    """The installation directories the build directory was configured with."""
    names = ["prefix", "bindir", "sbindir", "sysconfdir", "pkgdatadir", "mandir"]
    rule = "jt-print-dirs:\n" + "".join("\t@echo '%s=$(%s)'\n" % (n, n) for n in names)
    rc, out, err = run(["make", "-s", "-C", BUILD, "-f", "Makefile", "-f", "-", "jt-print-dirs"],
                       input=rule)
    assert rc == 0, err
    dirs = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
    eq(sorted(dirs), sorted(names), "directories reported by make")
    return dirs


def installed():
    """Runs `make install DESTDIR=...` in the build directory once; returns (destdir, dirs)."""
    if not _installed:
        dest = scratch_dir("dest")
        rc, out, err = run(["make", "-C", BUILD, "install", "DESTDIR=" + dest], timeout=900)
        assert rc == 0, "make install failed:\n" + out[-3000:] + err[-3000:]
        _installed["dest"] = dest
        _installed["dirs"] = build_dirs()
    return _installed["dest"], _installed["dirs"]


def under(dest, path):
    return dest + path


def test_make_install_lays_out_programs_config_data_units_and_man_pages():
    dest, d = installed()
    for prog in ["jangteoctl"]:
        p = under(dest, d["bindir"] + "/" + prog)
        assert os.access(p, os.X_OK), p
    for prog in SBIN_PROGRAMS:
        p = under(dest, d["sbindir"] + "/" + prog)
        assert os.access(p, os.X_OK), p
    with open(os.path.join(ETC, "jangteo.conf"), "rb") as a, \
            open(under(dest, d["sysconfdir"] + "/jangteo.conf"), "rb") as b:
        eq(b.read(), a.read(), "installed jangteo.conf")
    data = under(dest, d["pkgdatadir"])
    for sub, pattern in [("sql", r"^\d{3}_[a-z0-9_]+\.sql$"), ("templates", r"^[a-z0-9_]+\.html$"),
                         ("static", r"^[a-z0-9][a-z0-9._-]*$"),
                         ("static/products", r"^[a-z0-9-]+\.svg$")]:
        want = sorted(f for f in os.listdir(os.path.join(SRC, sub)) if re.match(pattern, f)
                      and os.path.isfile(os.path.join(SRC, sub, f)))
        got = sorted(f for f in os.listdir(os.path.join(data, sub))
                     if os.path.isfile(os.path.join(data, sub, f)))
        eq(got, want, "installed %s/" % sub)
    examples = os.path.join(data, "examples")
    for rel in ["nginx-jangteo.conf", "apache-jangteo.conf", "spawn-fcgi.sh",
                "logrotate/jangteo", "prometheus/jangteo.yml", "grafana/jangteo-dashboard.json"]:
        assert os.path.isfile(os.path.join(examples, rel)), "examples/" + rel
    script = os.path.join(examples, "spawn-fcgi.sh")
    eq(stat.S_IMODE(os.stat(script).st_mode), 0o755, "spawn-fcgi.sh mode")
    eq(run(["bash", "-n", script])[0], 0, "spawn-fcgi.sh parses")
    unitdir = under(dest, d["prefix"] + "/lib/systemd/system")
    eq(sorted(os.listdir(unitdir)), sorted(UNITS + TIMER_UNITS), "installed units")
    # The placeholders are filled in with the configured paths, and nothing else is changed.
    pairs = [(os.path.join(unitdir, u), os.path.join(ETC, "systemd", u))
             for u in UNITS + TIMER_UNITS]
    for path, src in pairs + [(script, os.path.join(ETC, "spawn-fcgi.sh"))]:
        with open(path) as fh:
            text = fh.read()
        with open(src) as fh:
            want = fh.read().replace("@sbindir@", d["sbindir"]).replace(
                "@bindir@", d["bindir"]).replace("@sysconfdir@", d["sysconfdir"])
        eq(text, want, "installed " + os.path.basename(path))
        assert not re.search(r"@[a-z_]+@", text), "placeholder left in " + path
    for page in MAN_PAGES:
        assert os.path.isfile(under(dest, d["mandir"] + "/" + page)), page
    # Everything lies under DESTDIR + prefix, except the configuration (sysconfdir).
    for root, _, files in os.walk(dest):
        for f in files:
            p = os.path.join(root, f)[len(dest):]
            assert p.startswith(d["prefix"] + "/") or p.startswith(d["sysconfdir"] + "/"), p


def test_systemd_units_verify_without_a_warning():
    need("systemd-analyze")
    dest, d = installed()
    unitdir = under(dest, d["prefix"] + "/lib/systemd/system")
    work = scratch_dir("units")
    try:
        # systemd-analyze checks that ExecStart's program exists: point the units at the
        # programs make install just laid out, and let it find the man pages named in
        # Documentation= among those installed.
        for u in UNITS + TIMER_UNITS:
            with open(os.path.join(unitdir, u)) as fh:
                text = fh.read()
            with open(os.path.join(work, u), "w") as fh:
                fh.write(text.replace(d["sbindir"] + "/", under(dest, d["sbindir"]) + "/")
                         .replace(d["bindir"] + "/", under(dest, d["bindir"]) + "/"))
        names = [os.path.join(work, u.replace("@.", "@demo.")) for u in UNITS + TIMER_UNITS]
        env = dict(os.environ, MANPATH=under(dest, d["mandir"]))
        rc, out, err = run(["systemd-analyze", "verify"] + names, env=env)
        eq((rc, out + err), (0, ""), "systemd-analyze verify")
        # A deliberate mistake is reported: the check above is not vacuous.
        with open(os.path.join(work, "jangteo-bus.service"), "a") as fh:
            fh.write("[Service]\nNoSuchSetting=1\n")
        rc, out, err = run(["systemd-analyze", "verify", os.path.join(work, "jangteo-bus.service")],
                           env=env)
        assert "NoSuchSetting" in err, err
    finally:
        shutil.rmtree(work)
    units = {}
    for u in UNITS:
        with open(os.path.join(unitdir, u)) as fh:
            units[u] = fh.read()
    wants = re.search(r"^Wants=(.*)$", units["jangteo.target"], re.M).group(1).split()
    eq(sorted(wants), sorted(u.replace("@.", "@demo.") for u in UNITS[1:]), "target's Wants")
    for u in UNITS[1:]:
        assert re.search(r"^PartOf=jangteo\.target$", units[u], re.M), u
        assert re.search(r"^User=jangteo$", units[u], re.M), u
        assert re.search(r"^ExecStart=%s/" % re.escape(d["sbindir"]), units[u], re.M), u
        assert "--config %s/jangteo.conf" % d["sysconfdir"] in units[u], u
    assert re.search(r"--queue %i$", units["jangteo-worker@.service"], re.M)
    with open(os.path.join(unitdir, "jangteo-reconcile.service")) as fh:
        recon = fh.read()
    assert "%s/jangteoctl --config %s/jangteo.conf reconcile --pg toss --fetch" % (
        d["bindir"], d["sysconfdir"]) in recon, recon
    with open(os.path.join(unitdir, "jangteo-reconcile.timer")) as fh:
        assert re.search(r"^Unit=jangteo-reconcile\.service$", fh.read(), re.M)
    # The pool runs in prefork mode on the socket the site files name.
    assert "--listen /run/jangteo/fcgi.sock" in units["jangteo-fcgi.service"]
    for site in ["nginx-jangteo.conf", "apache-jangteo.conf"]:
        with open(os.path.join(ETC, site)) as fh:
            assert "unix:/run/jangteo/fcgi.sock" in fh.read(), site


def test_man_pages_render_without_warnings_and_document_every_option():
    need("groff")
    need("man")
    for page, programs in MAN_PAGES.items():
        path = os.path.join(MAN, os.path.basename(page))
        rc, out, err = run(["groff", "-man", "-ww", "-z", path])
        eq((rc, err), (0, ""), "groff warnings for " + page)
        rc, out, err = run(["man", "-l", path], env=dict(os.environ, MANWIDTH="80"))
        eq((rc, err), (0, ""), "man -l " + page)
        text = re.sub(r".\x08", "", out)
        for section in ["NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "EXIT STATUS", "SEE ALSO"]:
            assert re.search(r"^%s$" % section, text, re.M), "%s lacks %s" % (page, section)
        # Options are looked up in the source, where a line break cannot split them.
        with open(path) as fh:
            flat = fh.read().replace("\\-", "-")
        for prog in programs:
            exe = os.path.join(BUILD, prog)
            rc, usage, _ = run([exe, "--help"])
            eq(rc, 0, prog + " --help")
            name = os.path.basename(prog)
            assert name in flat, "%s not named in %s" % (name, page)
            opts = set(re.findall(r"--[a-z][a-z-]+", usage))
            cmds = set(re.findall(r"^  ([a-z][a-z-]+) ", usage, re.M)) if "commands:" in usage \
                else set()
            for word in sorted(opts | cmds):
                assert word in flat, "%s: %s is not documented in %s" % (name, word, page)


# ---- spawn-fcgi ------------------------------------------------------------------------------

def fcgi_request(sock_path, path, timeout=10):
    """One FastCGI GET on a unix socket. Returns (status, headers dict, body bytes)."""
    def record(kind, content):
        return struct.pack("!BBHHBB", 1, kind, 1, len(content), 0, 0) + content

    def length(n):
        return bytes([n]) if n < 128 else struct.pack("!I", n | 0x80000000)

    params = {"REQUEST_METHOD": "GET", "REQUEST_URI": path, "SCRIPT_NAME": path,
              "QUERY_STRING": "", "SERVER_PROTOCOL": "HTTP/1.1", "GATEWAY_INTERFACE": "CGI/1.1",
              "REMOTE_ADDR": "127.0.0.1", "SERVER_NAME": "localhost", "SERVER_PORT": "80",
              "HTTP_HOST": "localhost", "HTTP_X_REQUEST_ID": "0123456789abcdef0123456789abcdef"}
    pairs = b"".join(length(len(k)) + length(len(v)) + k.encode() + v.encode()
                     for k, v in params.items())
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect(sock_path)
        s.sendall(record(1, struct.pack("!HB5x", 1, 0)) + record(4, pairs) + record(4, b"") +
                  record(5, b""))
        buf, out = b"", b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                raise AssertionError("connection closed before FCGI_END_REQUEST")
            buf += chunk
            while len(buf) >= 8:
                _, kind, _, clen, plen, _ = struct.unpack("!BBHHBB", buf[:8])
                if len(buf) < 8 + clen + plen:
                    break
                content, buf = buf[8:8 + clen], buf[8 + clen + plen:]
                if kind == 6:
                    out += content
                elif kind == 3:
                    head, _, body = out.partition(b"\r\n\r\n")
                    headers = {}
                    for line in head.decode("latin-1").split("\r\n"):
                        k, _, v = line.partition(":")
                        headers[k.strip().lower()] = v.strip()
                    return int(headers.get("status", "200 OK").split()[0]), headers, body
    finally:
        s.close()


def as_user(user, fn):
    """Runs fn() in a child process with user's uid, gid and no supplementary groups. Returns
    what fn returned, or the exception's text."""
    pw = pwd.getpwnam(user)
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            os.close(r)
            os.setgroups([])
            os.setgid(pw.pw_gid)
            os.setuid(pw.pw_uid)
            try:
                res = {"ok": fn()}
            except Exception as e:   # reported to the parent, which asserts on it
                res = {"error": "%s: %s" % (type(e).__name__, e)}
            os.write(w, json.dumps(res).encode())
        except BaseException:
            code = 1
        finally:
            os._exit(code)
    os.close(w)
    data = b""
    while True:
        chunk = os.read(r, 65536)
        if not chunk:
            break
        data += chunk
    os.close(r)
    os.waitpid(pid, 0)
    assert data, "the child running as %s reported nothing" % user
    return json.loads(data)


def spawn_fcgi_env(d, **over):
    env = dict(os.environ,
               JANGTEO_FCGI=os.path.join(d, "jangteo-fcgi"),
               JANGTEO_CONF=os.path.join(d, "jangteo.conf"),
               JANGTEO_SOCKET=os.path.join(d, "run", "fcgi.sock"),
               JANGTEO_PIDFILE=os.path.join(d, "fcgi.pid"),
               JANGTEO_USER="nobody", JANGTEO_GROUP="nogroup",
               JANGTEO_SOCKET_USER="nobody", JANGTEO_SOCKET_GROUP="www-data",
               JANGTEO_CHILDREN="2")
    env.update(over)
    return env


def test_spawn_fcgi_script_runs_unprivileged_handlers_behind_a_0660_socket():
    if os.geteuid() != 0:
        print("skip: needs root to start handlers as another user")
        return
    need("spawn-fcgi")
    script = os.path.join(ETC, "spawn-fcgi.sh")
    d = scratch_dir("spawn")
    nobody, nogroup, www = pwd.getpwnam("nobody"), grp.getgrnam("nogroup"), grp.getgrnam("www-data")
    try:
        # Everything the handlers read is readable by them (the stack's run directory is not).
        shutil.copy(os.path.join(BUILD, "fcgi", "jangteo-fcgi"), d)
        shutil.copytree(os.path.join(SRC, "templates"), os.path.join(d, "templates"))
        shutil.copytree(os.path.join(SRC, "static"), os.path.join(d, "static"))
        os.mkdir(os.path.join(d, "log"))
        os.chown(os.path.join(d, "log"), nobody.pw_uid, -1)
        with open(os.path.join(RUN, "jangteo.conf")) as fh:
            conf = fh.read()
        for key, value in [("log.file", os.path.join(d, "log", "jangteo.log")),
                           ("metrics.file", os.path.join(d, "log", "metrics")),
                           ("templates.dir", os.path.join(d, "templates")),
                           ("static.dir", os.path.join(d, "static"))]:
            conf = re.sub(r"^%s = .*$" % re.escape(key), "%s = %s" % (key, value), conf, flags=re.M)
        with open(os.path.join(d, "jangteo.conf"), "w") as fh:
            fh.write(conf)
        os.chown(os.path.join(d, "jangteo.conf"), 0, nogroup.gr_gid)
        os.chmod(os.path.join(d, "jangteo.conf"), 0o640)

        # Refused settings start nothing.
        for over, msg in [({"JANGTEO_USER": "root"}, "JANGTEO_USER must not be root"),
                          ({"JANGTEO_CHILDREN": "0"}, "JANGTEO_CHILDREN must be 1..256"),
                          ({"JANGTEO_CHILDREN": "257"}, "JANGTEO_CHILDREN must be 1..256"),
                          ({"JANGTEO_CHILDREN": "2; id"}, "JANGTEO_CHILDREN must be 1..256")]:
            rc, _, err = run([script, "start"], env=spawn_fcgi_env(d, **over))
            eq(rc, 1, "status for %r" % over)
            assert msg in err, err
            assert not os.path.exists(os.path.join(d, "run")), "nothing created for %r" % over
        rc, _, err = run([script, "bogus"], env=spawn_fcgi_env(d))
        eq(rc, 2, "unknown command")

        rc, out, err = run([script, "start"], env=spawn_fcgi_env(d))
        eq(rc, 0, "start: " + out + err)
        with open(os.path.join(d, "fcgi.pid")) as fh:
            pids = [int(x) for x in fh.read().split()]
        eq(len(pids), 2, "one pid per handler (-F 2)")
        for pid in pids:
            with open("/proc/%d/status" % pid) as fh:
                st = fh.read()
            eq(re.search(r"^Uid:\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)", st, re.M).groups(),
               (str(nobody.pw_uid),) * 4, "uid of %d" % pid)
            eq(re.search(r"^Gid:\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)", st, re.M).groups(),
               (str(nogroup.gr_gid),) * 4, "gid of %d" % pid)
            groups = set(re.search(r"^Groups:\s*(.*)$", st, re.M).group(1).split())
            assert groups <= {str(nogroup.gr_gid)}, "supplementary groups %r" % groups
        run_dir, sock = os.path.join(d, "run"), os.path.join(d, "run", "fcgi.sock")
        st = os.stat(run_dir)
        eq((stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid), (0o750, nobody.pw_uid, www.gr_gid),
           "socket directory mode and owner")
        st = os.stat(sock)
        assert stat.S_ISSOCK(st.st_mode)
        eq((stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid), (0o660, nobody.pw_uid, www.gr_gid),
           "socket mode and owner")
        rc, out, _ = run([script, "status"], env=spawn_fcgi_env(d))
        eq(rc, 0, "status while running")
        rc, _, err = run([script, "start"], env=spawn_fcgi_env(d))
        eq(rc, 1, "a second start is refused")
        assert "still run" in err, err

        # The web server's user reaches the handlers through the socket...
        res = as_user("www-data", lambda: fcgi_request(sock, "/metrics")[:2])
        assert "ok" in res, res
        status, headers = res["ok"]
        eq(status, 200, "/metrics through the socket")
        eq(headers.get("content-type"), "text/plain; version=0.0.4; charset=utf-8", "type")
        eq(headers.get("x-request-id"), "0123456789abcdef0123456789abcdef", "request id")
        # ...and another user may not connect, even where it can enter the directory.
        os.chmod(run_dir, 0o755)
        res = as_user("daemon", lambda: fcgi_request(sock, "/metrics")[:2])
        assert "PermissionError" in res.get("error", ""), res
        def all_ready():
            with open(os.path.join(d, "log", "jangteo.log")) as fh:
                log = fh.read()
            return all("jangteo-fcgi[%d] req=- user=- handler ready" % pid in log for pid in pids)
        eventually(all_ready, timeout=10, what="every handler logs 'handler ready' to log.file")
        eq(os.stat(os.path.join(d, "log", "metrics")).st_uid, nobody.pw_uid, "metrics owner")

        rc, out, err = run([script, "stop"], env=spawn_fcgi_env(d))
        eq(rc, 0, "stop: " + err)
        for pid in pids:
            assert not os.path.exists("/proc/%d/status" % pid) or \
                "\nState:\tZ" in open("/proc/%d/status" % pid).read(), "handler %d gone" % pid
        assert not os.path.exists(sock) and not os.path.exists(os.path.join(d, "fcgi.pid"))
        eq(run([script, "status"], env=spawn_fcgi_env(d))[0], 3, "status once stopped")
    finally:
        run([script, "stop"], env=spawn_fcgi_env(d))
        shutil.rmtree(d, ignore_errors=True)


# ---- logrotate -------------------------------------------------------------------------------

def test_logrotate_file_rotates_a_log_that_processes_keep_appending_to():
    need("logrotate")
    # The file as make install lays it out: logrotate ignores a file that group or others may
    # write, and the source file's mode is the checkout's (0664 from a git archive).
    dest, dirs = installed()
    src = os.path.join(under(dest, dirs["pkgdatadir"]), "examples", "logrotate", "jangteo")
    eq(stat.S_IMODE(os.stat(src).st_mode), 0o644, "installed logrotate file mode")
    d = tempfile.mkdtemp(prefix="jt-deploy-logrotate.")
    try:
        rc, out, err = run(["logrotate", "-d", "-s", os.path.join(d, "dry.state"), src])
        eq(rc, 0, "logrotate -d: " + err)
        assert "error" not in (out + err).lower(), out + err
        assert "rotating pattern: /var/log/jangteo/*.log" in out + err, out + err
        # The same rules on a directory of our own, forced, while a writer holds the log open
        # with O_APPEND as jangteo's programs do.
        logdir = os.path.join(d, "log")
        os.mkdir(logdir, 0o750)
        with open(src) as fh:
            conf = fh.read().replace("/var/log/jangteo/", logdir + "/")
        with open(os.path.join(d, "jangteo"), "w") as fh:
            fh.write(conf)
        log = os.path.join(logdir, "jangteo.log")
        fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
        try:
            os.write(fd, b"before rotation\n" * 100)
            rc, out, err = run(["logrotate", "-f", "-s", os.path.join(d, "state"),
                                os.path.join(d, "jangteo")])
            eq((rc, err), (0, ""), "logrotate -f")
            os.write(fd, b"after rotation\n")
        finally:
            os.close(fd)
        with open(log + ".1", "rb") as fh:
            eq(fh.read(), b"before rotation\n" * 100, "rotated copy (compressed only next time)")
        with open(log, "rb") as fh:
            eq(fh.read(), b"after rotation\n", "the live log starts afresh, without a hole")
    finally:
        shutil.rmtree(d, ignore_errors=True)


# ---- Prometheus and Grafana ------------------------------------------------------------------

def exported_metrics():
    """The metric family names /metrics serves (after a request, so the counters are there)."""
    get("/healthz")
    r = get("/metrics")
    eq(r.status, 200, "/metrics")
    return r.text, set(re.findall(r"^(jangteo_[a-z_]+)[{ ]", r.text, re.M))


def test_prometheus_config_scrapes_metrics_and_metrics_pass_promtool():
    path = os.path.join(ETC, "prometheus", "jangteo.yml")
    with open(path) as fh:
        text = fh.read()
    promtool = shutil.which("promtool")
    if promtool:
        rc, out, err = run([promtool, "check", "config", path])
        eq(rc, 0, "promtool check config: " + out + err)
        body, _ = exported_metrics()
        rc, out, err = run([promtool, "check", "metrics"], input=body)
        eq((rc, out + err), (0, ""), "promtool check metrics (lint of /metrics)")
    else:
        print("note: promtool missing (package prometheus): structural check only")
    try:
        import yaml
    except ImportError:
        yaml = None
    if yaml is not None:
        conf = yaml.safe_load(text)
        jobs = [j for j in conf["scrape_configs"] if j["job_name"] == "jangteo"]
        eq(len(jobs), 1, "one jangteo job")
        eq(jobs[0]["metrics_path"], "/metrics", "metrics_path")
        assert jobs[0]["static_configs"][0]["targets"], "targets"
    else:
        assert re.search(r"^  - job_name: jangteo$", text, re.M)
        assert re.search(r"^    metrics_path: /metrics$", text, re.M)


def dashboard_queries(dash):
    """Every PromQL text of the dashboard: panel targets and query variables."""
    out = []
    for p in dash["panels"]:
        for t in p.get("targets", []):
            out.append(("panel %d %s" % (p["id"], p["title"]), t["expr"]))
    for v in dash["templating"]["list"]:
        if v["type"] == "query":
            q = v["query"]["query"] if isinstance(v["query"], dict) else v["query"]
            out.append(("variable " + v["name"], q))
    return out


def test_grafana_dashboard_charts_only_metrics_jangteo_exports():
    with open(os.path.join(ETC, "grafana", "jangteo-dashboard.json")) as fh:
        dash = json.load(fh)
    _, exported = exported_metrics()
    http = {"jangteo_http_request_duration_seconds_bucket",
            "jangteo_http_request_duration_seconds_count",
            "jangteo_http_request_duration_seconds_sum", "jangteo_http_requests_total"}
    # The breaker families have samples once some process's breaker reported (Redis).
    breaker = {"jangteo_breaker_state", "jangteo_breaker_calls_total",
               "jangteo_breaker_failures_total", "jangteo_breaker_slow_total",
               "jangteo_breaker_rejected_total", "jangteo_breaker_transitions_total"}
    assert http <= exported <= http | breaker, "exported families: %s" % sorted(exported)
    exported = http | breaker
    ids = [p["id"] for p in dash["panels"]]
    eq(len(ids), len(set(ids)), "panel ids are unique")
    queries = dashboard_queries(dash)
    assert len(queries) >= len(dash["panels"]), queries
    used = set()
    for where, expr in queries:
        names = set(re.findall(r"\b(jangteo_[a-z_]+)\b", expr))
        assert names, "%s queries no jangteo metric: %s" % (where, expr)
        assert names <= exported, "%s names %s, not exported" % (where, names - exported)
        assert 'job="jangteo"' in expr, "%s is not limited to the jangteo job" % where
        used |= names
        if "rate(" in expr:
            assert "[$__rate_interval]" in expr, where
    eq(used, exported, "every exported metric is charted")
    for p in dash["panels"]:
        eq(p["datasource"]["uid"], "${datasource}", "panel %d data source" % p["id"])
    promtool = shutil.which("promtool")
    if not promtool:
        print("note: promtool missing: the PromQL syntax is not checked")
        return
    # promtool checks PromQL in rule files: one recording rule per query, with Grafana's
    # variables replaced by what they expand to.
    d = tempfile.mkdtemp(prefix="jt-deploy-promql.")
    try:
        rules = {"groups": [{"name": "jangteo_dashboard", "rules": [
            {"record": "jangteo_dashboard:q%d" % i,
             "expr": expr.replace("$__rate_interval", "1m").replace("$instance", ".*")}
            for i, (where, expr) in enumerate(queries) if not expr.startswith("label_values(")]}]}
        with open(os.path.join(d, "rules.yml"), "w") as fh:
            json.dump(rules, fh)     # JSON is YAML
        rc, out, err = run([promtool, "check", "rules", os.path.join(d, "rules.yml")])
        eq(rc, 0, "promtool check rules (dashboard PromQL): " + out + err)
    finally:
        shutil.rmtree(d, ignore_errors=True)


# ---- the site files ----------------------------------------------------------------------------

def http_get(port, path, headers=None, source="127.0.0.1"):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10,
                                      source_address=(source, 0))
    try:
        conn.request("GET", path, headers=headers or {})
        r = conn.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        conn.close()


def check_site(port):
    """What either site file must do, seen from a browser and from elsewhere."""
    status, headers, body = http_get(port, "/", {"X-Request-Id": "forged-by-the-client"})
    eq(status, 200, "GET /")
    text = body.decode("utf-8")
    assert "좋은 상품을 장터에서" in text
    # The web server serves the static files the pages link (the layout's stylesheet and icon
    # with their content's version, and the demo's pictures), with their types and nosniff.
    for name, ctype in [("jangteo.css", "text/css; charset=utf-8"),
                        ("favicon.svg", "image/svg+xml")]:
        url = "/static/%s?v=%s" % (name, static_version(name))
        assert 'href="%s"' % url in text, "the layout links " + url
        st, hd, got = http_get(port, url)
        eq(st, 200, url)
        eq(hd.get("content-type"), ctype, url)
        eq(hd.get("x-content-type-options"), "nosniff", url + " nosniff")
        eq(hd.get("cache-control"), "public, max-age=31536000, immutable", url)
        with open(os.path.join(SRC, "static", name), "rb") as fh:
            eq(got, fh.read(), "%s as it is in the tree" % name)
    st, hd, _ = http_get(port, "/static/products/gamgyul-1.svg")
    eq((st, hd.get("content-type")), (200, "image/svg+xml"), "a demo picture")
    eq(http_get(port, "/static/../etc/passwd")[0] in (400, 404), True, "no way out of static/")
    assert HEX32.fullmatch(headers.get("x-request-id", "")), headers
    ids = {http_get(port, "/healthz")[1]["x-request-id"] for _ in range(3)}
    eq(len(ids), 3, "a new id per request")
    status, headers, body = http_get(port, "/no/such/page")
    eq(status, 404, "unknown page")
    assert headers["x-request-id"] in body.decode("utf-8")
    eq(http_get(port, "/metrics")[0], 200, "/metrics from loopback")
    # From another address (127.0.0.2 also reaches a loopback listener) the operator
    # endpoints are refused by the web server, the shop is not.
    eq(http_get(port, "/metrics", source="127.0.0.2")[0], 403, "/metrics from elsewhere")
    eq(http_get(port, "/healthz", source="127.0.0.2")[0], 403, "/healthz from elsewhere")
    eq(http_get(port, "/", source="127.0.0.2")[0], 200, "/ from elsewhere")
    status, _, body = http_get(port, "/api/v1/no-such-thing")
    eq(status, 404, "API 404")
    eq(json.loads(body)["error"]["code"], "NOT_FOUND", "envelope passes through")
    # The pages' scripts come from the static directory, served by the web server itself.
    status, headers, body = http_get(port, "/static/order-status.js?v=" +
                                     static_version("order-status.js"))
    check_static_file(Response(status, list(headers.items()), body), "order-status.js")
    status, headers, _ = http_get(port, "/static/no-such-file.js")
    eq((status, headers.get("x-request-id")), (404, None), "a missing file is the server's 404")



def serve_site(argv, port, log):
    """Starts a web server in the foreground; returns the Popen once the port answers."""
    with open(log, "ab") as fh:
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=fh, stderr=fh)

    def up():
        assert p.poll() is None, "exited: " + open(log, errors="replace").read()[-2000:]
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return True
        except OSError:
            return False
    try:
        eventually(up, timeout=20, what="port %d answers" % port)
    except BaseException:
        stop_site(p)
        raise
    return p


def stop_site(p):
    if p.poll() is None:
        p.terminate()
        try:
            p.wait(timeout=15)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def test_apache_site_serves_jangteo_and_keeps_operator_endpoints_to_loopback():
    apache = need("apache2")
    mods = os.environ.get("JT_APACHE_MODULES", "/usr/lib/apache2/modules")
    port = PORT + 7
    d = scratch_dir("apache")
    p = None
    try:
        with open(os.path.join(ETC, "apache-jangteo.conf")) as fh:
            site = fh.read()
        eq(site.count("<VirtualHost *:80>"), 1, "one virtual host on port 80")
        site = site.replace("<VirtualHost *:80>", "<VirtualHost 127.0.0.1:%d>" % port)
        eq(site.count("unix:/run/jangteo/fcgi.sock|"), 1, "the socket")
        site = site.replace("unix:/run/jangteo/fcgi.sock|", "unix:%s/fcgi.sock|" % RUN)
        assert 'Alias "/static/" "%s/"' % INSTALLED_STATIC in site, "the static directory"
        # A copy where www-data can read it, as it can the installed directory: a checkout
        # under /root (the README's fresh machine) is not reachable for it.
        shutil.copytree(os.path.join(SRC, "static"), os.path.join(d, "static"))
        site = site.replace(INSTALLED_STATIC, os.path.join(d, "static"))
        with open(os.path.join(d, "site.conf"), "w") as fh:
            fh.write(site)
        users = "User www-data\nGroup root\n" if os.geteuid() == 0 else ""
        mod_lines = "".join("LoadModule %s_module %s/mod_%s.so\n" % (m, mods, m) for m in
                            ["mpm_event", "authz_core", "authz_host", "proxy", "proxy_fcgi",
                             "headers", "unique_id", "alias", "mime"])
        with open(os.path.join(d, "apache2.conf"), "w") as fh:
            fh.write("ServerRoot %s\nDefaultRuntimeDir %s\nPidFile %s/apache2.pid\n"
                     "ErrorLog %s/error.log\nDefine APACHE_LOG_DIR %s\n%s%s"
                     "TypesConfig /dev/null\n"
                     "Listen 127.0.0.1:%d\nServerName localhost\nInclude %s/site.conf\n"
                     % (d, d, d, d, d, users, mod_lines, port, d))
        rc, out, err = run([apache, "-t", "-f", os.path.join(d, "apache2.conf")])
        eq(rc, 0, "apache2 -t: " + out + err)
        p = serve_site([apache, "-f", os.path.join(d, "apache2.conf"), "-D", "FOREGROUND"],
                       port, os.path.join(d, "apache2.out"))
        check_site(port)
        with open(os.path.join(d, "jangteo-access.log")) as fh:
            last = fh.read().splitlines()[-1]
        assert HEX32.fullmatch(last.split()[-1]), "the access log ends with the id: " + last
    finally:
        if p is not None:
            stop_site(p)
        shutil.rmtree(d, ignore_errors=True)


def test_nginx_site_serves_jangteo_and_keeps_operator_endpoints_to_loopback():
    nginx = need("nginx")
    port = PORT + 8
    d = scratch_dir("nginx")
    p = None
    try:
        with open(os.path.join(ETC, "nginx-jangteo.conf")) as fh:
            site = fh.read()
        for old, new in [("    listen 80;\n", "    listen 127.0.0.1:%d;\n" % port),
                         ("    listen [::]:80;\n", ""),
                         ("unix:/run/jangteo/fcgi.sock;", "unix:%s/fcgi.sock;" % RUN),
                         (INSTALLED_STATIC + "/;", os.path.join(SRC, "static") + "/;"),
                         ("/var/log/nginx/", d + "/")]:
            assert old in site, old
            site = site.replace(old, new)
        site = site.replace("include fastcgi_params;", "include /etc/nginx/fastcgi_params;")
        with open(os.path.join(d, "site.conf"), "w") as fh:
            fh.write(site)
        user = "user root;\n" if os.geteuid() == 0 else ""
        with open(os.path.join(d, "nginx.conf"), "w") as fh:
            fh.write("%sdaemon off;\npid %s/nginx.pid;\nerror_log %s/error.log;\n"
                     "events { worker_connections 64; }\n"
                     "http {\n  client_body_temp_path %s/body;\n  fastcgi_temp_path %s/fcgi;\n"
                     "  include %s/site.conf;\n}\n" % (user, d, d, d, d, d))
        argv = [nginx, "-e", os.path.join(d, "error.log"), "-p", d + "/", "-c",
                os.path.join(d, "nginx.conf")]
        rc, out, err = run(argv + ["-t", "-q"])
        eq(rc, 0, "nginx -t: " + out + err)
        p = serve_site(argv, port, os.path.join(d, "nginx.out"))
        check_site(port)
    finally:
        if p is not None:
            stop_site(p)
        shutil.rmtree(d, ignore_errors=True)


def test_make_uninstall_removes_every_installed_file():
    dest, _ = installed()
    rc, out, err = run(["make", "-C", BUILD, "uninstall", "DESTDIR=" + dest])
    eq(rc, 0, "make uninstall: " + err)
    left = [os.path.join(r, f) for r, _, files in os.walk(dest) for f in files]
    eq(left, [], "files left after make uninstall")
    shutil.rmtree(dest, ignore_errors=True)
    _installed.clear()
