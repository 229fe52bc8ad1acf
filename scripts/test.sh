#!/usr/bin/env bash
# The whole test command: reference tools, type-check (also proving src/fits is free of Node),
# lint, then every test. `.ci/run` and the README call exactly this through `npm test`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-debian-packages.sh
echo "== type-check"
npx tsc --noEmit -p tsconfig.json
npx tsc --noEmit -p src/fits/tsconfig.json
npx tsc --noEmit -p src/cloud/tsconfig.json
npx tsc --noEmit -p src/web/tsconfig.json
if grep -rnE "from ['\"](node:|fs|path|zlib|http|https|stream|buffer|crypto|os)['\"/]" src/fits; then
  echo "src/fits must not import Node modules"; exit 1
fi
echo "== lint"
npx biome lint src test bench scripts
echo "== web app (dist/webapp, for the browser tests)"
npm run build:web
echo "== tests"
bash scripts/run-node-tests.sh
