#!/usr/bin/env bash
# Sets up a machine, builds Haven and runs it. Arguments are passed to `haven`; with none,
# it shows the version (with the C libraries it links) and the available subcommands.
set -euo pipefail
cd "$(dirname "$0")/.."

bash Scripts/bootstrap.sh
swift build --product haven
haven=".build/debug/haven"

if [ $# -gt 0 ]; then
    exec "$haven" "$@"
fi
"$haven" --version
"$haven" --help
