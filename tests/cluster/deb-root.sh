#!/usr/bin/env bash
# deb-root: proves the jangteo .deb in a clean Debian 12 root, as a sysadmin would use it:
#   1. dpkg -i in the root (chroot): postinst makes the unprivileged jangteo system user, the
#      configuration is a conffile readable by root and that group only, no unit is enabled;
#   2. systemd boots the root in a container (systemd-nspawn, no network of its own) and a
#      one-shot unit checks that nothing of jangteo runs, then runs
#      `systemctl start jangteo.target` and checks that the bus, the FastCGI pool, the janitor
#      and the demo worker are active, run as jangteo, and that the FastCGI socket exists;
#      then the container powers off.
# The root comes from debootstrap (minbase and the package's run-time libraries) once and is
# cached as a tarball; later runs unpack it. Needs root, debootstrap and systemd-container.
#
# Usage: tests/cluster/deb-root.sh DEB
# Environment: JT_DEBROOT_CACHE  the cached root [/var/cache/jangteo-test/debroot-bookworm.tar]
#              JT_DEBROOT_DIR    where the root is unpacked [/var/tmp/jt-debroot.XXXXXX]
#              JT_DEBROOT_KEEP=1 keeps the unpacked root (to look into a failure)
set -euo pipefail

deb=$(realpath -- "${1:?usage: tests/cluster/deb-root.sh DEB}")
cache=${JT_DEBROOT_CACHE:-/var/cache/jangteo-test/debroot-bookworm.tar}
libs=libmariadb3,libhiredis0.14,libzmq5,libfcgi0ldbl,libjson-c5,libcurl4,libcrypt1
root=

die() {
	echo "deb-root: $*" >&2
	exit 1
}

cleanup() {
	if [[ -n $root && -d $root && ${JT_DEBROOT_KEEP:-0} != 1 ]]; then
		rm -rf --one-file-system "$root"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

(( EUID == 0 )) || die "must run as root"
command -v debootstrap >/dev/null || die "debootstrap is not installed (script/setup installs it)"
command -v systemd-nspawn >/dev/null || die "systemd-nspawn is not installed (systemd-container)"

if [[ ! -s $cache ]]; then
	echo "deb-root: debootstrap bookworm (minbase, systemd, the package's libraries) into $cache"
	mkdir -p "$(dirname "$cache")"
	tmp=$(mktemp -d /var/tmp/jt-debootstrap.XXXXXX)
	chmod 755 "$tmp"   # the root's "/": mktemp makes it 0700
	# The mirror is debootstrap's default, the same registry apt uses here.
	if ! debootstrap --variant=minbase --include=systemd,systemd-sysv,dbus,adduser,"$libs" \
		bookworm "$tmp" >"$tmp.log" 2>&1; then
		tail -n 20 "$tmp.log" >&2
		rm -rf --one-file-system "$tmp"
		die "debootstrap failed"
	fi
	tar -C "$tmp" -cf "$cache.tmp" .
	mv -f "$cache.tmp" "$cache"
	rm -rf --one-file-system "$tmp" "$tmp.log"
fi

root=$(mktemp -d "${JT_DEBROOT_DIR:-/var/tmp/jt-debroot.XXXXXX}")
# mktemp makes the directory 0700, and a cache made before that was set carries a 0700 "./":
# the root's "/" must be 0755, or no unprivileged process in it (dbus, jangteo) can chdir to it.
chmod 755 "$root"
tar -C "$root" -xf "$cache"
chmod 755 "$root"
cp "$deb" "$root/tmp/jangteo.deb"

# 1. The package installs: postinst runs (in a chroot, as dpkg on a host would run it).
chroot "$root" dpkg -i /tmp/jangteo.deb >"$root/tmp/dpkg.log" 2>&1 ||
	{ cat "$root/tmp/dpkg.log" >&2; die "dpkg -i failed"; }
chroot "$root" getent passwd jangteo | grep -q ':/nonexistent:/usr/sbin/nologin$' ||
	die "postinst did not make the jangteo system user"
# Names as the root's own /etc/passwd and /etc/group know them.
mode=$(chroot "$root" stat -c '%U:%G %a' /etc/jangteo/jangteo.conf)
[[ $mode == "root:jangteo 640" ]] || die "jangteo.conf is $mode, not root:jangteo 640"
grep -qx /etc/jangteo/jangteo.conf "$root/var/lib/dpkg/info/jangteo.conffiles" ||
	die "jangteo.conf is not a conffile"
if find "$root/etc/systemd/system" -name 'jangteo*' | grep -q .; then
	die "installing the package enabled a unit: $(find "$root/etc/systemd/system" -name 'jangteo*')"
fi
echo "deb-root: dpkg -i: user jangteo made, jangteo.conf a conffile (root:jangteo 0640), no unit enabled"

# 2. systemd in the root starts jangteo.target when asked.
cat >"$root/usr/local/sbin/jt-deb-check" <<'EOF'
#!/bin/sh
# Runs once at boot in the container: jangteo must not run until asked, then must.
out=/root/jt-deb-check.out
units="jangteo-bus jangteo-fcgi jangteo-janitor jangteo-worker@demo"
{
	echo "before: $(systemctl is-active jangteo.target $units | tr '\n' ' ')"
	systemctl start jangteo.target
	sleep 3
	echo "after: $(systemctl is-active jangteo.target $units | tr '\n' ' ')"
	echo "users: $(for u in $units; do stat -c %U "/proc/$(systemctl show -P MainPID "$u")"; done | tr '\n' ' ')"
	echo "socket: $(stat -c '%F %a %U:%G' /run/jangteo/fcgi.sock 2>&1)"
	journalctl -q -b -u "jangteo*" --no-pager | tail -n 5
} >"$out" 2>&1
systemctl poweroff
EOF
chmod 755 "$root/usr/local/sbin/jt-deb-check"
cat >"$root/etc/systemd/system/jt-deb-check.service" <<'EOF'
[Unit]
Description=jangteo package check (tests/cluster/deb-root.sh)
After=multi-user.target

[Service]
Type=oneshot
ExecStart=/usr/local/sbin/jt-deb-check

[Install]
WantedBy=multi-user.target
EOF
ln -s /etc/systemd/system/jt-deb-check.service \
	"$root/etc/systemd/system/multi-user.target.wants/jt-deb-check.service"
echo jt-deb-root >"$root/etc/hostname"

# --keep-unit and --register=no: no systemd (nor machined) on the host side to ask for a scope.
timeout -k 5 120 systemd-nspawn --quiet --register=no --keep-unit --private-network --boot \
	--directory="$root" >"$root/tmp/nspawn.log" 2>&1 </dev/null || true
[[ -f $root/root/jt-deb-check.out ]] ||
	{ tail -n 30 "$root/tmp/nspawn.log" >&2; die "the container did not run the check"; }
cat "$root/root/jt-deb-check.out"
grep -qx 'before: inactive inactive inactive inactive inactive ' "$root/root/jt-deb-check.out" ||
	die "something of jangteo ran before it was asked"
grep -qx 'after: active active active active active ' "$root/root/jt-deb-check.out" ||
	die "systemctl start jangteo.target did not bring every unit up"
grep -qx 'users: jangteo jangteo jangteo jangteo ' "$root/root/jt-deb-check.out" ||
	die "a unit does not run as jangteo"
grep -q '^socket: socket 660 jangteo:www-data' "$root/root/jt-deb-check.out" ||
	die "no FastCGI socket"
echo "deb-root: systemctl start jangteo.target in a clean root: every unit active, as jangteo"
