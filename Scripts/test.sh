#!/usr/bin/env bash
# Sets up a machine and runs every Haven test: the Swift suites, the PyNaCl cross-check (which
# also runs the Swift half of the exchange), the browser crypto (libsodium in WebAssembly)
# against the same test vectors, the web widget in headless Chromium, and calls between browsers
# (with a real coturn relay). Exits non-zero on the first failure.
set -euo pipefail
cd "$(dirname "$0")/.."

bash Scripts/bootstrap.sh --tests

# The tests start PostgreSQL and Redis servers of their own and stop them as they end; a test
# process that crashed leaves them running: they are stopped here, whatever happened.
stop_test_databases() {
    local as_postgres=()
    [ "$(id -u)" -eq 0 ] && as_postgres=(runuser -u postgres --)
    pkill -KILL -f "redis-server .*haven-redis-" 2>/dev/null || true
    for folder in "${TMPDIR:-/tmp}" /tmp; do
        for data in "$folder"/haven-pg-*/data; do
            [ -d "$data" ] && "${as_postgres[@]}" "$(pg_config --bindir)/pg_ctl" -D "$data" -m immediate stop >/dev/null 2>&1 || true
        done
        rm -rf "$folder"/haven-pg-* "$folder"/haven-redis-*
    done
}
trap stop_test_databases EXIT
bash Scripts/check-boundaries.sh

echo "test: building (debug, with tests)"
start=$(date +%s)
swift build --build-tests
echo "test: build took $(( $(date +%s) - start )) s"

echo "test: running the Swift test suites"
start=$(date +%s)
# A run that stops answering fails here, with what it printed, instead of holding CI for hours.
timeout --signal=KILL 1200 swift test --skip-build
echo "test: Swift tests took $(( $(date +%s) - start )) s"

echo "test: fuzzing the frame decoder and the HTTP parser (libFuzzer, AddressSanitizer), a minute each"
bash Scripts/fuzz.sh 60

echo "test: cross-checking the crypto against PyNaCl"
python3 Tests/CrossCheck/crosscheck.py

echo "test: building libsodium for the browser and checking the JavaScript crypto against the vectors"
bash Scripts/build-sodium-wasm.sh
node Tests/Web/vectors.test.mjs

echo "test: the widget's words come from one catalog, in English and Spanish"
node Tests/Web/strings.test.mjs

echo "test: a download's body is held only up to what the sender's size allows"
node Tests/Web/attachments.test.mjs

echo "test: the web widget in real headless Chromium"
python3 Tests/Web/test_widget.py

echo "test: nothing typed is lost or doubled (a rate-limited burst, a server restart mid-conversation)"
python3 Tests/Web/test_never_lose_a_word.py

echo "test: help and a way out, one tap each (crisis contacts, quick exit)"
python3 Tests/Web/test_safety.py

echo "test: a counsellor one tap away (availability, the line, 'Talk now', worrying reports) with two browsers"
python3 Tests/Web/test_counsellor_queue.py

echo "test: trust anchors the server cannot swap (pinned organisation key, staff roster, hosted widget with SRI, identity on a shared device)"
python3 Tests/Web/test_trust_anchors.py

echo "test: browsers against a lying server (ghost members, a swapped key, a forked log, a replay, a held-back log)"
python3 Tests/Web/test_lying_server.py

echo "test: calls between browsers (fake camera and microphone), directly and through a real coturn"
python3 Tests/Web/test_calls.py

echo "test: the Debian package installed on a fresh Debian 12 (dependencies, modes, units, ExecStart)"
bash Scripts/package.sh dist
bash Tests/Package/test_package.sh dist/haven_*.deb

echo "test: all tests passed"
