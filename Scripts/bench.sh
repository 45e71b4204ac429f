#!/usr/bin/env bash
# Builds Haven in release mode and runs its benchmark. Pass --quick for a run of the same shape
# in under a minute; other arguments go to `haven bench`. The last line is the JSON summary.
set -euo pipefail
cd "$(dirname "$0")/.."

bash Scripts/bootstrap.sh >&2
swift build -c release --product haven >&2
exec .build/release/haven bench "$@"
