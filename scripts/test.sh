#!/usr/bin/env bash
# The whole test suite: build, typecheck and lint every package, the unit tests, then the end-to-end tests on
# each engine flavor (default: current and legacy). Ends with one line "N passed, N failed" over all runs.
#   bash scripts/test.sh                 everything
#   KILN_FLAVORS=current bash scripts/test.sh    end-to-end on one flavor only
set -uo pipefail
export TURBO_TELEMETRY_DISABLED=1
cd "$(dirname "$0")/.."

flavors=${KILN_FLAVORS:-current legacy}
results=.cache/test-results
rm -rf "$results" && mkdir -p "$results"
status=0
reports=()

step() { printf '\n== %s\n' "$*" >&2; }

step "build, typecheck, lint"
if ! pnpm exec turbo run build typecheck lint --continue --output-logs=errors-only; then
  echo "build, typecheck or lint failed" >&2
  reports+=(--failed-step "build, typecheck, lint")
  status=1
fi

step "unit tests"
reports+=("$results/unit.json")
pnpm exec vitest run --reporter=default --reporter=json --outputFile.json="$results/unit.json" || status=1

for flavor in $flavors; do
  step "end-to-end tests on the $flavor engine"
  if ! address=$(bash scripts/engine.sh start "$flavor"); then
    echo "the $flavor engine did not start; run: bash scripts/setup.sh --engines $flavor" >&2
    reports+=("$results/e2e-$flavor.json")
    status=1
    continue
  fi
  bash scripts/fixtures.sh "$flavor" >&2 || status=1
  reports+=("$results/e2e-$flavor.json")
  KILN_E2E=1 KILN_ENGINE="$address" KILN_ENGINE_FLAVOR="$flavor" \
    pnpm exec vitest run --reporter=default --reporter=json --outputFile.json="$results/e2e-$flavor.json" || status=1
done

step "summary"
node scripts/test-summary.mjs "${reports[@]}" || status=1
exit "$status"
