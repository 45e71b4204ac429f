#!/usr/bin/env bash
# Installs the Debian package on a fresh Debian 12 (a minimal debootstrap root, so apt must pull
# every runtime library by dependency), checks what it installed and that it started nothing,
# verifies the systemd units and rates their hardening, runs the service's own ExecStart command
# line as the service's user on its socket, puts Debian's Caddy (as its own user) in front of it
# with the packaged Caddyfile and a local certificate, then nginx with its packaged example, has
# members talk through wss:// through each, stops the service with SIGTERM, and makes a backup
# as the timer would and restores it as root.
#   bash Tests/Package/test_package.sh dist/haven_*.deb
set -euo pipefail
deb="$(realpath "${1:?the .deb to test}")"
tls_port=18443
nginx_port=18444
nginx=""
proxy=""
root="$(mktemp -d /tmp/haven-debian12.XXXXXX)"
chmod 0755 "$root"
log="$(mktemp)"
server=""
cleanup() {
    [ -n "$server" ] && kill "$server" 2>/dev/null || true
    [ -n "$proxy" ] && kill "$proxy" 2>/dev/null || true
    [ -n "$nginx" ] && kill "$nginx" 2>/dev/null || true
    umount "$root/proc" 2>/dev/null || true
    rm -rf "$root" "$log"
}
trap cleanup EXIT
fail() {
    echo "package test: FAILED: $*" >&2
    tail -20 "$log" >&2
    [ -f "$root/tmp/haven.log" ] && tail -20 "$root/tmp/haven.log" >&2
    exit 1
}

command -v debootstrap >/dev/null || apt-get install -y debootstrap >/dev/null
echo "package test: a fresh Debian 12 root (debootstrap, minbase)"
debootstrap --variant=minbase bookworm "$root" >>"$log" 2>&1 || fail "debootstrap"
mount -t proc proc "$root/proc"
# What an installed Debian has and a debootstrap root lacks: the name of this machine's loopback.
printf '127.0.0.1\tlocalhost\n::1\t\tlocalhost\n' > "$root/etc/hosts"
cp "$deb" "$root/tmp/haven.deb"

echo "package test: Caddy first, so the package finds its user (later: \`adduser caddy haven\`)"
chroot "$root" apt-get install -y --no-install-recommends caddy >>"$log" 2>&1 || fail "installing caddy"

echo "package test: apt install ./haven.deb (only its dependencies, as a fresh system would)"
chroot "$root" apt-get install -y --no-install-recommends /tmp/haven.deb >>"$log" 2>&1 || fail "apt install"
[[ "$(chroot "$root" haven --version)" == "haven "* ]] || fail "haven --version"
# Waits until the proxy $1 (process $2) answers over TLS on port $3, and checks that Haven took its
# word that the visitor came over TLS (HSTS).
proxy_ready() {
    for _ in $(seq 1 300); do
        curl -fs --cacert "$root/tmp/tls.crt" "https://localhost:$3/healthz" >/dev/null && break
        kill -0 "$2" 2>/dev/null || fail "$1 exited"
        sleep 0.1
    done
    [[ "$(curl -fsI --cacert "$root/tmp/tls.crt" "https://localhost:$3/" | tr 'A-Z' 'a-z')" == *"strict-transport-security"* ]] \
        || fail "no HSTS through $1: Haven did not trust its X-Forwarded-Proto"
}
check_mode() {
    [ "$(chroot "$root" stat -c '%a %U:%G' "$1")" = "$2" ] || fail "$1 is $(chroot "$root" stat -c '%a %U:%G' "$1"), expected $2"
}
check_mode /var/lib/haven "700 haven:haven"
check_mode /etc/haven/Keys "700 haven:haven"
check_mode /etc/haven/haven.toml "640 root:haven"
check_mode /var/backups/haven "700 haven:haven"
[ -f "$root/usr/share/haven/web/index.html" ] && [ -f "$root/usr/share/haven/web/sodium.wasm" ] || fail "the widget is not in /usr/share/haven/web"
[ -z "$(ls "$root/etc/systemd/system/multi-user.target.wants" 2>/dev/null | grep haven)" ] || fail "the package enabled its service"
[[ " $(chroot "$root" id -nG caddy) " == *" haven "* ]] || fail "the package did not let Caddy's user open Haven's socket"

echo "package test: the systemd units verify, and their hardening is rated"
chroot "$root" apt-get install -y --no-install-recommends systemd >>"$log" 2>&1 || fail "installing systemd"
systemd-analyze verify --root="$root" /lib/systemd/system/haven.service /lib/systemd/system/haven-backup.service \
    /lib/systemd/system/haven-backup.timer || fail "systemd-analyze verify"
for unit in haven.service haven-backup.service; do
    echo "package test: $(systemd-analyze security --offline=true --root="$root" "$unit" | tail -1)"
done

echo "package test: the service's ExecStart, as its user, on a fresh data folder, listening on its socket"
# What systemd's RuntimeDirectory= makes before the service starts.
install -d -o "$(stat -c %u "$root/var/lib/haven")" -g "$(stat -c %g "$root/var/lib/haven")" -m 0750 "$root/run/haven"
socket="$root/run/haven/haven.sock"
exec_start="$(sed -n 's/^ExecStart=//p' "$root/lib/systemd/system/haven.service")"
# shellcheck disable=SC2086  # the unit's command line, split as systemd splits it
chroot --userspec=haven:haven "$root" $exec_start 2>"$root/tmp/haven.log" &
server=$!
for _ in $(seq 1 300); do
    curl -fs --unix-socket "$socket" "http://localhost/healthz" >/dev/null && break
    kill -0 "$server" 2>/dev/null || fail "the server exited"
    sleep 0.1
done
# (Answers are read whole before they are searched: grep -q would stop reading early.)
[[ "$(curl -fs --unix-socket "$socket" "http://localhost/healthz")" == *'"ok"'* ]] || fail "/healthz did not answer"
[[ "$(curl -fs --unix-socket "$socket" "http://localhost/")" == *"<html"* ]] || fail "the widget is not served from /usr/share/haven/web"
check_mode /var/lib/haven/haven.sqlite "600 haven:haven"
check_mode /run/haven/haven.sock "660 haven:haven"
! setpriv --reuid=65534 --regid=65534 --clear-groups curl -fs --unix-socket "$socket" "http://localhost/healthz" >/dev/null 2>&1 \
    || fail "a user outside the haven group could open Haven's socket"

echo "package test: operator commands, typed as a bare 'haven' anywhere, work on the service's data"
[[ "$(chroot --userspec=haven:haven "$root" sh -c 'cd / && haven retention show')" == *"room_messages"* ]] \
    || fail "haven retention show did not find /var/lib/haven by default"

echo "package test: TLS in front: Debian's Caddy, as its own user, with the packaged Caddyfile and a local certificate"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=localhost" -addext "subjectAltName=DNS:localhost" \
    -keyout "$root/tmp/tls.key" -out "$root/tmp/tls.crt" >>"$log" 2>&1 || fail "making a certificate"
chmod 0644 "$root/tmp/tls.key"
sed -e "s|^\tadmin off|\tadmin off\n\tauto_https disable_redirects|" \
    -e "s|^support.example.org {|localhost:$tls_port {\n\ttls /tmp/tls.crt /tmp/tls.key|" \
    "$root/usr/share/doc/haven/examples/Caddyfile" > "$root/tmp/Caddyfile"
chroot --userspec=caddy:caddy "$root" env HOME=/var/lib/caddy caddy run --config /tmp/Caddyfile --adapter caddyfile >>"$log" 2>&1 &
proxy=$!
proxy_ready caddy "$proxy" "$tls_port"

[[ "$(curl -fs -D - -o /dev/null --cacert "$root/tmp/tls.crt" -H "Accept-Encoding: gzip" "https://localhost:$tls_port/sodium.wasm" | tr 'A-Z' 'a-z')" == *"content-encoding: gzip"* ]] \
    || fail "the proxy does not compress the widget's WebAssembly"

echo "package test: two members through wss://, the one reading first in the room"
chat=(haven chat --server "wss://localhost:$tls_port" --ca-file /tmp/tls.crt --server-name support.example.org --room lobby)
chroot "$root" "${chat[@]}" --name "Quiet Otter" --seconds 60 > "$root/tmp/reader.out" 2>>"$log" &
reader=$!
for _ in $(seq 1 300); do
    [ "$(sqlite3 "$root/var/lib/haven/haven.sqlite" "SELECT COUNT(*) FROM room_members" 2>/dev/null)" = "1" ] && break
    sleep 0.1
done
chroot "$root" "${chat[@]}" --name "Calm Heron" --say "hello through TLS" --seconds 1 >>"$log" 2>&1 || fail "the second member could not chat through the proxy"
for _ in $(seq 1 300); do
    grep -q "hello through TLS" "$root/tmp/reader.out" && break
    sleep 0.1
done
grep -q "Calm Heron (member): hello through TLS" "$root/tmp/reader.out" || fail "the message did not arrive through the proxy"

echo "package test: nginx instead, installed after Haven, with the packaged example"
chroot "$root" apt-get install -y --no-install-recommends nginx >>"$log" 2>&1 || fail "installing nginx"
chroot "$root" adduser --quiet www-data haven >>"$log" 2>&1 || fail "adduser www-data haven (docs/operations.md, TLS in front)"
rm -f "$root/etc/nginx/sites-enabled/default"
sed -e "s|listen 443 ssl http2;|listen 127.0.0.1:$nginx_port ssl http2;|" -e "/listen \[::\]:443/d" -e "s|server_name support.example.org;|server_name localhost;|" \
    -e "s|/etc/letsencrypt/live/support.example.org/fullchain.pem|/tmp/tls.crt|" -e "s|/etc/letsencrypt/live/support.example.org/privkey.pem|/tmp/tls.key|" \
    "$root/usr/share/doc/haven/examples/nginx.conf" > "$root/etc/nginx/conf.d/haven.conf"
chroot "$root" nginx -t >>"$log" 2>&1 || fail "nginx refuses the packaged example"
chroot "$root" nginx -g "daemon off;" >>"$log" 2>&1 &
nginx=$!
proxy_ready nginx "$nginx" "$nginx_port"
chroot "$root" haven chat --server "wss://localhost:$nginx_port" --ca-file /tmp/tls.crt --server-name support.example.org --room lobby \
    --name "Still Lake" --say "hello through nginx" --seconds 1 >>"$log" 2>&1 || fail "a member could not chat through nginx"
for _ in $(seq 1 300); do
    grep -q "hello through nginx" "$root/tmp/reader.out" && break
    sleep 0.1
done
grep -q "Still Lake (member): hello through nginx" "$root/tmp/reader.out" || fail "the message through nginx did not arrive"
kill "$nginx" 2>/dev/null || true
wait "$nginx" 2>/dev/null || true
nginx=""
echo "package test: haven doctor, as the service's user, through the proxy"
doctor="$(chroot --userspec=haven:haven "$root" haven doctor --url "https://localhost:$tls_port" --ca-file /tmp/tls.crt || true)"
[[ "$doctor" != *"no data folder"* ]] || { echo "$doctor" >&2; fail "haven doctor did not find the data folder from the packaged configuration"; }
[[ "$doctor" == *"reaches Haven over TLS"* && "$doctor" == *"(HSTS)"* && "$doctor" == *"the server answers on /run/haven/haven.sock"* ]] \
    || { echo "$doctor" >&2; fail "haven doctor did not find the service and its proxy healthy"; }
kill "$reader" "$proxy" 2>/dev/null || true
wait "$reader" "$proxy" 2>/dev/null || true
proxy=""
kill -TERM "$server"
status=0
wait "$server" || status=$?
server=""
[ "$status" -eq 0 ] || fail "SIGTERM ended the server with status $status"
[ ! -e "$socket" ] || fail "the stopped server left its socket behind"

echo "package test: the backup timer's service, as its user, and a restore by root (docs/operations.md, Backups)"
echo "a long enough passphrase" > "$root/root/passphrase"
chmod 0600 "$root/root/passphrase"
chroot --userspec=haven:haven "$root" env HAVEN_PASSPHRASE="a long enough passphrase" haven keys init --keys /etc/haven/Keys >>"$log" 2>&1 \
    || fail "haven keys init as the service's user"
chroot "$root" haven backup keygen --keys /root/backup-keys --passphrase-file /root/passphrase >>"$log" 2>&1 || fail "haven backup keygen"
chroot "$root" install -o haven -g haven -m 0644 /root/backup-keys/backup.pub /etc/haven/Keys/
backup_start="$(sed -n 's/^ExecStart=//p' "$root/lib/systemd/system/haven-backup.service")"
# shellcheck disable=SC2086  # the unit's command line, split as systemd splits it
chroot --userspec=haven:haven "$root" $backup_start >>"$log" 2>&1 || fail "the backup service's ExecStart"
made="$(ls "$root/var/backups/haven")"
[[ "$made" == haven-backup-*.sealed ]] || fail "the backup folder holds '$made', not one backup"
[ -z "$(ls -A "$root/var/lib/haven" | grep unfinished)" ] || fail "the backup left a snapshot in the clear"
chroot "$root" haven restore "/var/backups/haven/$made" --keys /root/backup-keys --passphrase-file /root/passphrase \
    --data /var/lib/haven --replace --yes > "$root/tmp/restore.out" 2>>"$log" || fail "haven restore as root"
grep -q "signed by server key" "$root/tmp/restore.out" || fail "the restore did not show what it put in place"
check_mode /var/lib/haven/haven.sqlite "600 haven:haven"
[ -z "$(ls -A "$root/var/lib" | grep unfinished)" ] || fail "the restore left its check behind"
if grep -Eq '([0-9]{1,3}\.){3}[0-9]{1,3}' "$root/tmp/haven.log"; then fail "the log holds an IP address"; fi
echo "package test: what the service logged (the journal gets the same):"
sed "s/^/    /" "$root/tmp/haven.log"
echo "package test: passed"
