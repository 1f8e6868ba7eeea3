#!/usr/bin/env bash
# Mutation testing of one module at a time with mutmut (a dev dependency; never run by CI: a
# module takes minutes to an hour). Each run mutates only MODULE and runs only the given tests,
# of which mutmut then picks those that reach each mutated function.
#
#   tests/mutation.sh MODULE TEST_FILE... [-- MUTMUT_RUN_ARGS]
#   tests/mutation.sh handlers/withdraw.py tests/test_withdraw.py
#
# It works on a copy of the checkout (tracked and new files) in a temporary folder, prints the
# survivors with their diffs and a summary line for docs/testing.md, and keeps the copy's
# `mutants/` folder when KEEP=1 (its path is printed) so `mutmut show NAME` can be run there.
set -euo pipefail

if [ $# -lt 2 ]; then
    sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
fi
root=$(cd "$(dirname "$0")/.." && pwd)
module=$1
shift
tests=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do tests+=("$1"); shift; done
[ "${1:-}" = "--" ] && shift
[ -f "$root/$module" ] || { echo "no such module: $module" >&2; exit 2; }

work=$(mktemp -d "${TMPDIR:-/tmp}/casebook-mutation.XXXXXX")
if [ "${KEEP:-0}" != 1 ]; then trap 'rm -rf "$work"' EXIT; fi
(cd "$root" && git ls-files -co --exclude-standard -z | tar --null -T - -cf -) | tar -C "$work" -xf -

{
    echo "[mutmut]"
    echo "source_paths = bot"
    echo "    handlers"
    echo "    storage"
    echo "only_mutate = $module"
    # One process per mutant (mutmut runs several side by side); the suite's own -n 4 would
    # start four more for each.
    echo "pytest_add_cli_args = -n"
    echo "    0"
    echo "    -p"
    echo "    no:cacheprovider"
    echo "pytest_add_cli_args_test_selection = ${tests[0]}"
    for t in "${tests[@]:1}"; do echo "    $t"; done
} > "$work/setup.cfg"

cd "$work"
started=$(date +%s)
mutmut run "$@" >mutmut.log 2>&1 || { tail -20 mutmut.log >&2; exit 1; }
seconds=$(( $(date +%s) - started ))
mutmut results --all true > results.txt || { echo "mutmut results failed" >&2; exit 1; }
survivors=$(grep -c ': survived' results.txt || true)
# A mutant that makes a test hang until mutmut's timeout was noticed too: it counts as killed.
killed=$(grep -c -e ': killed' -e ': timeout' results.txt || true)
other=$(grep -vc -e ': survived' -e ': killed' -e ': timeout' results.txt || true)
for name in $(grep ': survived' results.txt | cut -d: -f1); do
    echo "== $name"
    mutmut show "$name" | tail -n +2
done
total=$((survivors + killed + other))
echo "| \`$module\` | $total | $killed | $survivors | $other | $(date +%F) | $((seconds / 60)) min |"
[ "${KEEP:-0}" = 1 ] && echo "kept: $work"
exit 0
