#!/usr/bin/env bash
# Runs the whole test suite against the project's own engine: PODGRAPH_ENGINE=podman (default)
# or docker. Installs and starts whatever is missing first.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
engine="${PODGRAPH_ENGINE:-podman}"

scripts/install-deps.sh
# The browser test drives Debian's chromium.
source scripts/apt.sh
[ -x /usr/bin/chromium ] || apt_install chromium
export "$(scripts/engine.sh "$engine" | tail -n 1)"
# The history store's tests run on SQLite and on this PostgreSQL server.
export "$(scripts/postgres.sh | tail -n 1)"
export PODGRAPH_ENGINE="$engine"
npm run -s codegen >/dev/null
npx tsc --noEmit
# The console's tests load it as the server serves it: built again when what it is built from changed.
if [ ! -f console/dist/index.html ] ||
  [ -n "$(find console client/operations.graphql schema.graphql package-lock.json -type f -newer console/dist/index.html -not -path 'console/dist/*' -print -quit)" ]; then
  npm run -s build:console
else
  npx tsc -p console
fi

report=".engine/vitest-$engine.json"
status=0
npx vitest run --reporter=default --reporter=json --outputFile.json="$report" "$@" || status=$?
# One plain closing line that any CI can read.
node -e '
  const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  console.log(`${process.argv[2]}: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests + r.numTodoTests} skipped`);
' "$report" "$engine" || true
exit "$status"
