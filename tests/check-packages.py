#!/usr/bin/env python3
"""check-packages: every outside program, library and runtime that the build, the scripts and
the tests use comes from a Debian package that script/setup installs.

script/setup's package list is the contract: a fresh Debian 12 gets exactly those packages
(with their dependencies, never their recommendations) on top of a minimal root. A tool that
happens to be preinstalled on the machine running the tests can hide a gap in that list, so
for each entry of NEEDS below this test finds the file the build or a script would use, asks
dpkg which package ships it (every hop of a symlink chain, under both names of a merged /usr),
and fails unless that package is
  - the package the entry names, which must be in script/setup's list, or one that package
    depends on (Depends and Pre-Depends of the installed packages, followed to the end), or
  - for an entry that names "(base)", a package of every Debian root (Essential: yes or
    Priority: required: debootstrap --variant=minbase installs exactly those, with apt).
Programs are looked up in the directories a fresh Debian puts them in (/usr/sbin:/usr/bin:
/sbin:/bin), not on this machine's PATH: a program found only elsewhere (/usr/local, pyenv,
a vendor's node) does not exist on a fresh machine and fails the test; one that merely
shadows a Debian program on this PATH is reported as a note. A program reached through
/etc/alternatives passes when one of its alternatives passes.

It needs dpkg and no network. Exits 77 (skipped) on a machine without dpkg-query."""
import os
import re
import shutil
import subprocess
import sys

SRC = os.environ.get("JT_SRCDIR") or os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEBIAN_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"
BASE = "(base)"

# (kind, what, package): kind is "prog" (a program, looked up in DEBIAN_PATH), "file" (a fixed
# path), "pc" (a pkg-config module of the build) or "clang-rt" (the compiler runtime libraries
# clang links for the given -fsanitize= value); package is the name in script/setup's list
# that brings it, or BASE.
NEEDS = [
    # The build: autogen.sh, configure, make, make distcheck (dist-xz), the man pages.
    ("prog", "cc", "build-essential"),
    ("prog", "gcc", "build-essential"),
    ("prog", "make", "build-essential"),
    ("prog", "ar", "build-essential"),
    ("prog", "autoreconf", "autoconf"),
    ("prog", "m4", "autoconf"),
    ("prog", "automake", "automake"),
    ("prog", "aclocal", "automake"),
    ("prog", "libtoolize", "libtool"),
    ("prog", "pkg-config", "pkg-config"),
    ("prog", "perl", BASE),
    ("prog", "xz", "xz-utils"),
    ("prog", "tar", BASE),
    ("pc", "json-c", "libjson-c-dev"),
    ("pc", "libmariadb", "libmariadb-dev"),
    ("pc", "hiredis", "libhiredis-dev"),
    ("pc", "libcurl", "libcurl4-openssl-dev"),
    ("pc", "libzmq", "libzmq3-dev"),
    ("pc", "libxcrypt", "libcrypt-dev"),
    ("pc", "fcgi", "libfcgi-dev"),
    ("pc", "check", "check"),
    # script/test's sanitizer and libFuzzer builds.
    ("prog", "clang", "clang"),
    ("clang-rt", "address,undefined", "libclang-rt-14-dev"),
    ("clang-rt", "fuzzer,address,undefined", "libclang-rt-14-dev"),
    # script/stack and script/svc/: the private stack.
    ("file", "/usr/sbin/mariadbd", "mariadb-server"),
    ("prog", "mariadb-install-db", "mariadb-server"),
    ("prog", "mariadb", "mariadb-client"),
    ("prog", "mariadb-admin", "mariadb-client"),
    ("prog", "redis-server", "redis-server"),
    ("prog", "redis-cli", "redis-server"),
    ("prog", "nginx", "nginx-light"),
    ("prog", "apache2", "apache2"),
    ("file", "/usr/lib/apache2/modules/mod_proxy_fcgi.so", "apache2"),
    ("file", "/usr/lib/apache2/modules/mod_mpm_event.so", "apache2"),
    ("file", "/usr/lib/apache2/modules/mod_headers.so", "apache2"),
    ("file", "/usr/lib/apache2/modules/mod_unique_id.so", "apache2"),
    ("prog", "spawn-fcgi", "spawn-fcgi"),
    ("file", "/usr/bin/python3", "python3"),
    ("prog", "python3", "python3"),
    ("prog", "curl", "curl"),
    ("prog", "ps", "procps"),
    ("prog", "timeout", BASE),
    ("prog", "realpath", BASE),
    ("prog", "getconf", BASE),
    ("prog", "awk", BASE),
    ("prog", "sed", BASE),
    ("prog", "grep", BASE),
    ("prog", "find", BASE),
    ("prog", "gzip", BASE),
    ("prog", "bash", BASE),
    ("prog", "rm", BASE),
    ("prog", "dpkg-query", BASE),
    ("prog", "update-alternatives", BASE),
    # The integration tests (test_deploy) and the benchmarks.
    ("prog", "logrotate", "logrotate"),
    ("prog", "systemd-analyze", "systemd"),
    ("prog", "groff", "groff-base"),
    ("prog", "man", "man-db"),
    ("prog", "wrk", "wrk"),
    # script/deb (the .deb), tests/cluster/deb-root.sh (the package in a clean root under
    # systemd) and script/cluster (the failover drill: hosts in network namespaces, Galera
    # with rsync SST, Redis Sentinel).
    ("prog", "dpkg-buildpackage", "dpkg-dev"),
    ("prog", "dpkg-parsechangelog", "dpkg-dev"),
    ("prog", "dh", "debhelper"),
    ("prog", "fakeroot", "fakeroot"),
    ("prog", "dpkg-deb", BASE),
    ("prog", "debootstrap", "debootstrap"),
    ("prog", "chroot", BASE),
    ("prog", "systemd-nspawn", "systemd-container"),
    ("prog", "ip", "iproute2"),
    ("prog", "ss", "iproute2"),
    ("prog", "mountpoint", BASE),
    ("file", "/usr/lib/galera/libgalera_smm.so", "galera-4"),
    ("prog", "wsrep_sst_rsync", "mariadb-server"),
    ("prog", "rsync", "rsync"),
    ("prog", "redis-sentinel", "redis-sentinel"),
    # The browser tests: Debian's node and npm (tests/run-browser-tests.sh prefers
    # /usr/bin/node), the registry's certificates, Debian's Chromium, Korean glyphs.
    ("prog", "node", "nodejs"),
    ("prog", "npm", "npm"),
    ("prog", "update-ca-certificates", "ca-certificates"),
    ("file", "/usr/lib/chromium/chromium", "chromium"),
    ("file", "/usr/share/fonts/truetype/nanum/NanumGothic.ttf", "fonts-nanum"),
]


# Programs the tree names that need no package of script/setup's: program -> why.
EXEMPT = {
    "promtool": "optional: without it test_deploy checks the Prometheus files structurally only",
    "git": "only in a git checkout, which comes with git: script/deb copies the tracked files "
           "(any other tree whole) and script/fresh-check exports HEAD",
}

# Where the tree names the programs it runs, so that a new one cannot be added without an entry
# in NEEDS: a string literal given to need(), shutil.which(), run() or subprocess's functions
# (as argv[0]) in Python, and `command -v` in shell.
NAMED = [re.compile(r'\b(?:need|shutil\.which)\("([^"]+)"\)'),
         re.compile(r'\b(?:subprocess\.[a-z_]+|run)\(\[\s*"([^"/]+)"'),
         re.compile(r'\bcommand -v ([A-Za-z0-9_.-]+)')]
SCANNED = ["autogen.sh", "script", "tests", "bench"]


def run(argv, **kw):
    p = subprocess.run(argv, capture_output=True, text=True, **kw)
    return p.returncode, p.stdout, p.stderr


def setup_packages():
    """The package list of script/setup (script/setup --print-packages)."""
    rc, out, err = run([os.path.join(SRC, "script", "setup"), "--print-packages"])
    if rc != 0:
        sys.exit("check-packages: script/setup --print-packages failed: " + err)
    return set(out.split())


def dependency_names(field):
    """The alternative groups of a Depends-style field: [[name, ...], ...] without versions
    or architecture qualifiers."""
    groups = []
    for group in field.split(","):
        names = [re.sub(r"\s*\(.*?\)|\s*\[.*?\]|:[a-z0-9-]+$", "", alt.strip()).strip()
                 for alt in group.split("|")]
        names = [n for n in names if n]
        if names:
            groups.append(names)
    return groups


class Installed:
    """The installed packages as dpkg records them."""

    def __init__(self):
        fmt = "${db:Status-Abbrev}\t${Package}\t${Essential}\t${Priority}\t${Provides}\t" \
              "${Pre-Depends}\t${Depends}\n"
        rc, out, err = run(["dpkg-query", "-W", "-f=" + fmt])
        if rc != 0:
            sys.exit("check-packages: dpkg-query failed: " + err)
        self.pkgs = {}
        self.providers = {}
        for line in out.splitlines():
            status, name, essential, priority, provides, predepends, depends = line.split("\t")
            if not status.startswith("ii"):
                continue
            self.pkgs[name] = {"base": essential == "yes" or priority == "required",
                               "deps": dependency_names(predepends) + dependency_names(depends)}
            for group in dependency_names(provides):
                for virtual in group:
                    self.providers.setdefault(virtual, set()).add(name)

    def resolve(self, name):
        """The installed packages that satisfy name: itself, else what provides it."""
        if name in self.pkgs:
            return {name}
        return set(self.providers.get(name, ()))

    def closure(self, names):
        """names (installed or provided) and everything they depend on, as installed: of each
        alternative group, the first alternative that is installed."""
        seen = set()
        todo = [p for n in names for p in self.resolve(n)]
        while todo:
            name = todo.pop()
            if name in seen:
                continue
            seen.add(name)
            for group in self.pkgs[name]["deps"]:
                for alt in group:
                    found = self.resolve(alt)
                    if found:
                        todo.extend(found)
                        break
        return seen

    def base(self):
        return {n for n, p in self.pkgs.items() if p["base"]}


def merged_usr_names(path):
    """path and its other name on a merged /usr (/bin/x for /usr/bin/x and the reverse)."""
    names = [path]
    for a, b in [("/usr/bin/", "/bin/"), ("/usr/sbin/", "/sbin/"), ("/usr/lib/", "/lib/")]:
        if path.startswith(a):
            names.append(b + path[len(a):])
        elif path.startswith(b):
            names.append(a + path[len(b):])
    return names


class Owners:
    """Which packages ship a file, from dpkg-query -S (asked once for many paths: each call
    reads every package's file list)."""

    def __init__(self):
        self.known = {}

    def prefetch(self, paths):
        names = sorted({n for p in paths for n in merged_usr_names(p)} - set(self.known))
        if not names:
            return
        for name in names:
            self.known[name] = set()
        # Exit status 1 only says that some paths belong to no package.
        _, out, _ = run(["dpkg-query", "-S"] + names)
        for line in out.splitlines():
            if line.startswith("diversion by"):
                continue
            pkgs, _, where = line.partition(": ")
            where = where.strip()
            if where in self.known:
                self.known[where] |= {p.strip().split(":")[0] for p in pkgs.split(",")}

    def of(self, path):
        """The packages that ship path under either of its names, or an empty set."""
        self.prefetch([path])
        return set().union(*(self.known[n] for n in merged_usr_names(path)))


OWNERS = Owners()


def chain(path):
    """path and every hop of the symlinks it goes through, ending with the real file."""
    hops = [path]
    seen = set()
    while os.path.islink(path) and path not in seen:
        seen.add(path)
        target = os.readlink(path)
        path = os.path.normpath(os.path.join(os.path.dirname(path), target))
        hops.append(path)
    real = os.path.realpath(path)
    if real != hops[-1]:
        hops.append(real)
    return hops


def alternatives(hops):
    """The alternatives of the first /etc/alternatives link among hops (empty when none)."""
    for hop in hops:
        if hop.startswith("/etc/alternatives/"):
            rc, out, _ = run(["update-alternatives", "--list", os.path.basename(hop)])
            return out.split() if rc == 0 else []
    return []


def check_chain(hops, allowed):
    """Checks that the files of a symlink chain are shipped by packages in allowed. A hop no
    package ships (a link made by update-alternatives or a maintainer script) is passed over,
    but the last one, the real file, must have an owner. Returns (ok, explanation)."""
    seen = []
    for hop in hops:
        pkgs = OWNERS.of(hop)
        if not pkgs:
            seen.append(hop)
            if hop == hops[-1]:
                return False, " -> ".join(seen) + ": no Debian package ships it"
            continue
        if not pkgs & allowed:
            return False, " -> ".join(seen + [hop]) + ": shipped by " + ", ".join(sorted(pkgs))
        seen.append("%s (%s)" % (hop, ", ".join(sorted(pkgs & allowed))))
    return True, " -> ".join(seen)


def check_file(path, allowed):
    """Checks path as check_chain does; a path through /etc/alternatives also passes when
    another of its alternatives would (the one a fresh Debian has). Returns (ok, why)."""
    if not os.path.exists(path):
        return False, "%s does not exist" % path
    hops = chain(path)
    others = [chain(a) for a in alternatives(hops)]
    OWNERS.prefetch([h for c in [hops] + others for h in c])
    ok, why = check_chain(hops, allowed)
    if ok:
        return ok, why
    for other in others:
        ok2, why2 = check_chain(other, allowed)
        if ok2:
            return True, "%s; its alternative %s" % (why, why2)
    return False, why


def clang_runtimes(sanitizers):
    """The compiler runtime libraries clang links for -fsanitize=sanitizers."""
    clang = shutil.which("clang", path=DEBIAN_PATH)
    if not clang:
        return None, "clang is not installed"
    rc, out, err = run([clang, "-fsanitize=" + sanitizers, "-###", "-x", "c", "/dev/null",
                        "-o", "/dev/null"])
    libs = sorted(set(re.findall(r'"(/[^"]*libclang_rt\.[^"]*)"', out + err)))
    if not libs:
        return None, "clang -### names no libclang_rt library:\n" + out + err
    return libs, ""


def locate(kind, what):
    """The files entry (kind, what) stands for; returns (paths, None) or (None, why not)."""
    if kind == "prog":
        path = shutil.which(what, path=DEBIAN_PATH)
        here = shutil.which(what)
        if not path:
            where = " (this machine has %s, which a fresh Debian does not)" % here if here else ""
            return None, "not in %s%s" % (DEBIAN_PATH, where)
        if here and os.path.realpath(here) != os.path.realpath(path):
            print("note: on this PATH %s is %s; a fresh Debian runs %s" % (what, here, path))
        return [path], None
    if kind == "file":
        return [what], None
    if kind == "pc":
        rc, out, err = run(["pkg-config", "--path", what])
        if rc != 0 or not out.strip():
            return None, "pkg-config does not find it: " + err.strip()
        return [out.strip()], None
    if kind == "clang-rt":
        return clang_runtimes(what)
    raise ValueError(kind)


def named_programs():
    """{program: first file naming it} for every program the scripts and tests name."""
    found = {}
    files = []
    for top in SCANNED:
        path = os.path.join(SRC, top)
        if os.path.isfile(path):
            files.append(path)
        for root, dirs, names in os.walk(path):
            dirs[:] = [d for d in dirs if d not in ("node_modules", "__pycache__", "corpus")]
            files.extend(os.path.join(root, n) for n in names
                         if n.endswith((".py", ".sh", ".mjs")) or "." not in n)
    for f in sorted(files):
        try:
            with open(f, encoding="utf-8") as fh:
                text = fh.read()
        except (UnicodeDecodeError, OSError):
            continue
        for pattern in NAMED:
            for prog in pattern.findall(text):
                found.setdefault(prog, os.path.relpath(f, SRC))
    return found


def main():
    if not shutil.which("dpkg-query"):
        print("SKIP: not a Debian system (no dpkg-query)")
        return 77
    listed = setup_packages()
    db = Installed()
    failures = []
    todo = []
    progs = {what for kind, what, _ in NEEDS if kind == "prog"}
    for prog, where in sorted(named_programs().items()):
        if prog not in progs and prog not in EXEMPT:
            failures.append("%s runs %s, which has no entry in NEEDS (tests/check-packages.py)"
                            % (where, prog))
    for kind, what, package in NEEDS:
        name = "%s %s [%s]" % (kind, what, package)
        if package == BASE:
            allowed = db.base()
        elif package not in listed:
            failures.append("%s: %s is not in script/setup's list" % (name, package))
            continue
        else:
            allowed = db.closure([package])
            if not allowed:
                failures.append("%s: %s is in script/setup's list but not installed: run "
                                "script/setup as root" % (name, package))
                continue
        paths, why = locate(kind, what)
        if paths is None:
            failures.append("%s: %s" % (name, why))
            continue
        todo.extend((name, p, allowed) for p in paths)
    # One dpkg-query -S for every file and symlink hop (each call reads every file list).
    hops = [chain(p) for _, p, _ in todo if os.path.exists(p)]
    OWNERS.prefetch([h for c in hops + [chain(a) for c in hops for a in alternatives(c)]
                     for h in c])
    for name, path, allowed in todo:
        ok, why = check_file(path, allowed)
        if ok:
            print("ok   %s: %s" % (name, why))
        else:
            failures.append("%s: %s" % (name, why))
    for line in failures:
        print("FAIL " + line)
    print("check-packages: %d checked, %d failed" % (len(NEEDS), len(failures)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
