#!/usr/bin/env bash
# Installs what Haven's build and tests need, and only what is missing. Safe to run again:
# a second run installs nothing and says so.
#   Debian packages: the C libraries Haven wraps (with headers) and pkg-config; OpenSSL's
#                    libcrypto for the SHA-1 of the WebSocket handshake and libssl for the
#                    Swift client's wss://.
#   With --tests, also what the tests need: Chromium and its driver (browser tests), coturn
#   (the TURN relay the call tests run on loopback), the openssl tool (a test certificate),
#   debootstrap (a fresh Debian 12 root to install the package into), sqlite3 and curl (to watch
#   it), axe-core
#   (accessibility checks in the browser, from the axe-selenium-python wheel), PyNaCl
#   (the independent cross-check of the crypto), Selenium, and websockets (the lying server in
#   front of the real one in the browser tests) from PyPI, and Node.js (from
#   Debian if missing) to run the JavaScript crypto against the test vectors.
set -euo pipefail

DEBIAN_PACKAGES=(pkg-config libsodium-dev libsqlite3-dev libuv1-dev libhttp-parser-dev libwslay-dev libssl-dev libpq-dev libhiredis-dev)
PYTHON_PACKAGES=()
if [ "${1:-}" = "--tests" ]; then
    DEBIAN_PACKAGES+=(chromium chromium-driver coturn openssl debootstrap sqlite3 curl postgresql redis-server)
    PYTHON_PACKAGES+=(pynacl:nacl selenium:selenium websockets:websockets axe-selenium-python:axe_selenium_python)
fi

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

missing_debian=()
for package in "${DEBIAN_PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
        missing_debian+=("$package")
    fi
done
if [ ${#missing_debian[@]} -gt 0 ]; then
    echo "bootstrap: installing Debian packages: ${missing_debian[*]}"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing_debian[@]}" >/dev/null
else
    echo "bootstrap: Debian packages already installed: ${DEBIAN_PACKAGES[*]}"
fi

for entry in "${PYTHON_PACKAGES[@]+"${PYTHON_PACKAGES[@]}"}"; do
    package="${entry%%:*}" module="${entry##*:}"
    if python3 -c "import $module" 2>/dev/null; then
        echo "bootstrap: Python package already installed: $package"
    else
        echo "bootstrap: installing Python package: $package"
        python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore "$package"
    fi
done

if [ "${1:-}" = "--tests" ] && ! command -v node >/dev/null; then
    echo "bootstrap: installing Node.js"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nodejs >/dev/null
fi

if ! command -v swift >/dev/null; then
    echo "bootstrap: the Swift toolchain (6.x) is not on PATH; install it from swift.org first" >&2
    exit 1
fi
echo "bootstrap: $(swift --version 2>/dev/null | head -n 1)"
