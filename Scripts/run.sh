#!/usr/bin/env bash
# Sets up a machine, builds Haven and runs it. With no arguments it starts the server with its
# embedded default: SQLite in ./data, the demo room "lobby", listening on 127.0.0.1:8080.
# Arguments are passed to `haven` instead (e.g. `bash Scripts/run.sh --help`); another port:
# `bash Scripts/run.sh serve --listen 127.0.0.1:8090 --data ./data`.
set -euo pipefail
cd "$(dirname "$0")/.."

bash Scripts/bootstrap.sh
bash Scripts/build-sodium-wasm.sh
swift build --product haven
haven=".build/debug/haven"

if [ $# -gt 0 ]; then
    exec "$haven" "$@"
fi
"$haven" --version
echo
echo "Haven is starting: open http://127.0.0.1:8080/ in a browser (room \"lobby\"; WebSocket ws://127.0.0.1:8080/v1/ws)."
echo "Health: http://127.0.0.1:8080/healthz   Metrics: http://127.0.0.1:8080/metrics   Stop: Ctrl-C"
exec "$haven" serve --listen 127.0.0.1:8080 --data ./data
