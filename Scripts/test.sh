#!/usr/bin/env bash
# Sets up a machine and runs every Haven test: the Swift suites, then the PyNaCl cross-check
# (which also runs the Swift half of the exchange). Exits non-zero on the first failure.
set -euo pipefail
cd "$(dirname "$0")/.."

bash Scripts/bootstrap.sh
bash Scripts/check-boundaries.sh

echo "test: building (debug, with tests)"
start=$(date +%s)
swift build --build-tests
echo "test: build took $(( $(date +%s) - start )) s"

echo "test: running the Swift test suites"
start=$(date +%s)
swift test --skip-build
echo "test: Swift tests took $(( $(date +%s) - start )) s"

echo "test: cross-checking the crypto against PyNaCl"
python3 Tests/CrossCheck/crosscheck.py

echo "test: all tests passed"
