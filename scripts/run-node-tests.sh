#!/usr/bin/env bash
# Runs every test under test/ (or the files given) with Node's own test runner through tsx.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ $# -gt 0 ]; then files=("$@"); else mapfile -t files < <(find test -name '*.test.ts' | sort); fi
# A hung test fails after 15 minutes (naming itself) rather than stalling CI until its limit.
exec node --import tsx --test --test-concurrency=2 --test-timeout=900000 --test-reporter=spec "${files[@]}"
