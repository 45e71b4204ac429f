#!/usr/bin/env bash
# Installs the Debian package on a fresh Debian 12 (a minimal debootstrap root, so apt must pull
# every runtime library by dependency), checks what it installed and that it started nothing,
# verifies the systemd units and rates their hardening, and runs the service's own ExecStart
# command line as the service's user until /healthz answers, then stops it with SIGTERM.
#   bash Tests/Package/test_package.sh dist/haven_*.deb
set -euo pipefail
deb="$(realpath "${1:?the .deb to test}")"
port=18431
root="$(mktemp -d /tmp/haven-debian12.XXXXXX)"
chmod 0755 "$root"
log="$(mktemp)"
server=""
cleanup() {
    [ -n "$server" ] && kill "$server" 2>/dev/null || true
    umount "$root/proc" 2>/dev/null || true
    rm -rf "$root" "$log"
}
trap cleanup EXIT
fail() { echo "package test: FAILED: $*" >&2; tail -20 "$log" >&2; exit 1; }

command -v debootstrap >/dev/null || apt-get install -y debootstrap >/dev/null
echo "package test: a fresh Debian 12 root (debootstrap, minbase)"
debootstrap --variant=minbase bookworm "$root" >>"$log" 2>&1 || fail "debootstrap"
mount -t proc proc "$root/proc"
cp "$deb" "$root/tmp/haven.deb"

echo "package test: apt install ./haven.deb (only its dependencies, as a fresh system would)"
chroot "$root" apt-get install -y --no-install-recommends /tmp/haven.deb >>"$log" 2>&1 || fail "apt install"
chroot "$root" haven --version | grep -q "^haven " || fail "haven --version"
check_mode() {
    [ "$(chroot "$root" stat -c '%a %U:%G' "$1")" = "$2" ] || fail "$1 is $(chroot "$root" stat -c '%a %U:%G' "$1"), expected $2"
}
check_mode /var/lib/haven "700 haven:haven"
check_mode /etc/haven/Keys "700 haven:haven"
check_mode /etc/haven/haven.toml "640 root:haven"
check_mode /var/backups/haven "700 haven:haven"
[ -f "$root/usr/share/haven/web/index.html" ] && [ -f "$root/usr/share/haven/web/sodium.wasm" ] || fail "the widget is not in /usr/share/haven/web"
[ -z "$(ls "$root/etc/systemd/system/multi-user.target.wants" 2>/dev/null | grep haven)" ] || fail "the package enabled its service"

echo "package test: the systemd units verify, and their hardening is rated"
chroot "$root" apt-get install -y --no-install-recommends systemd >>"$log" 2>&1 || fail "installing systemd"
systemd-analyze verify --root="$root" /lib/systemd/system/haven.service /lib/systemd/system/haven-backup.service \
    /lib/systemd/system/haven-backup.timer || fail "systemd-analyze verify"
for unit in haven.service haven-backup.service; do
    echo "package test: $(systemd-analyze security --offline=true --root="$root" "$unit" | tail -1)"
done

echo "package test: the service's ExecStart, as its user, on a fresh data folder"
sed -i "s/^listen = .*/listen = \"127.0.0.1:$port\"/" "$root/etc/haven/haven.toml"
exec_start="$(sed -n 's/^ExecStart=//p' "$root/lib/systemd/system/haven.service")"
# shellcheck disable=SC2086  # the unit's command line, split as systemd splits it
chroot --userspec=haven:haven "$root" $exec_start 2>"$log" &
server=$!
for _ in $(seq 1 300); do
    curl -fs "http://127.0.0.1:$port/healthz" >/dev/null && break
    kill -0 "$server" 2>/dev/null || fail "the server exited"
    sleep 0.1
done
curl -fs "http://127.0.0.1:$port/healthz" | grep -q '"ok"' || fail "/healthz did not answer"
curl -fs "http://127.0.0.1:$port/" | grep -qi "<html" || fail "the widget is not served from /usr/share/haven/web"
check_mode /var/lib/haven/haven.sqlite "600 haven:haven"
kill -TERM "$server"
status=0
wait "$server" || status=$?
server=""
[ "$status" -eq 0 ] || fail "SIGTERM ended the server with status $status"
# The log names the address it listens on, and no other.
if grep -v "listening on" "$log" | grep -Eq '([0-9]{1,3}\.){3}[0-9]{1,3}'; then fail "the log holds an IP address"; fi
echo "package test: what the service logged (the journal gets the same):"
sed "s/^/    /" "$log"
echo "package test: passed"
