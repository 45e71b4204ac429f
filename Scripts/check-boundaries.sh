#!/usr/bin/env bash
# Fails when a C library is imported outside its one wrapper target (shared/DESIGN.md:
# "the C libraries are touched only by their wrapper").
set -euo pipefail
cd "$(dirname "$0")/.."

status=0
check() {
    local module="$1" allowed="$2" offenders
    offenders=$(grep -rlE "^\s*(@[_a-zA-Z()]+\s+)?(public |internal |package )?import $module\b" Sources Tests \
        | grep -v "^Sources/$allowed/" || true)
    if [ -n "$offenders" ]; then
        echo "boundaries: $module is imported outside Sources/$allowed:" >&2
        echo "$offenders" | sed 's/^/  /' >&2
        status=1
    fi
}
check CSodium Sodium
check CSQLite HavenStore
check CUV HavenNet
check CHTTPParser HavenNet
check CWslay HavenNet
check CCrypto HavenNet
check CPostgres Postgres
check CHiredis Redis
[ $status -eq 0 ] && echo "boundaries: each C library is imported only by its wrapper"
exit $status
