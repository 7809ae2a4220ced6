#!/usr/bin/env bash
# `npm run check:quick-start`: the README's quick start, as a new user meets it. This checkout's
# HEAD is cloned into a temporary folder, `npm install` runs there, and then `npx facefile archive`
# twice: once on nothing (it makes the folders and says what goes where), once with the shared
# group photos in known/ and photos/. It fails on any warning line, on a dirty `git status` after
# the install, or on a run that does not file the photos. Slow (the install is most of it), so it
# is a release check beside `npm run check:upgrade`, not part of `npm test`.
set -euo pipefail
root=$(git -C "$(dirname "$0")" rev-parse --show-toplevel)
datasets=${FACEFILE_DATASETS:-$root/../shared/datasets}
group=$datasets/group-photos
[ -f "$group/_posts/labels.json" ] || { echo "check:quick-start: test data not found at $datasets (set FACEFILE_DATASETS)" >&2; exit 2; }
work=$(mktemp -d "${TMPDIR:-/tmp}/facefile-quick-start-XXXXXX")
trap 'rm -rf "$work"' EXIT
failures=0
check() { # check <what> <command...>: runs the command, says ok or FAILED
  local what=$1
  shift
  if "$@"; then echo "check:quick-start: ok: $what"; else echo "check:quick-start: FAILED: $what"; failures=$((failures + 1)); fi
}
no_warnings() { ! grep -inE '(^|[^a-z])(warn|warning|deprecated)([^a-z]|$)' "$1"; }
no_errors() { no_warnings "$1" && ! grep -inE '(^|[^a-z])(error|failed|cannot)([^a-z]|$)' "$1"; }

git clone -q "$root" "$work/facefile"
cd "$work/facefile"
echo "check:quick-start: npm install in a fresh clone of $(git rev-parse --short HEAD) (a few minutes)"
start=$(date +%s)
npm install >"$work/install.log" 2>&1
echo "check:quick-start: npm install took $(($(date +%s) - start)) s, node_modules is $(du -sm node_modules | cut -f1) MB"
check "npm install printed no warning" no_warnings "$work/install.log"
check "git status is clean after npm install" test -z "$(git status --porcelain)"

npx facefile archive >"$work/first.out" 2>"$work/first.err"
check "the first run made known/, photos/ and archive/" test -d known -a -d photos -a -d archive
check "the first run says what goes in known/" grep -q 'known' "$work/first.out"
check "the first run printed nothing on stderr" test ! -s "$work/first.err"

for person in "$group"/*/; do
  name=$(basename "$person")
  case $name in _* | .*) continue ;; esac
  mkdir -p "known/$name"
  cp "$person"* "known/$name/"
done
cp "$group"/_posts/*.jpg "$group"/_posts/*.png photos/ 2>/dev/null || true
start=$(date +%s)
npx facefile archive >"$work/second.out" 2>"$work/second.err"
echo "check:quick-start: the second run sorted $(find photos -type f | wc -l) photos in $(($(date +%s) - start)) s"
# stderr carries the progress lines ("photos: 14/26"); nothing there may be a warning or an error.
check "the second run printed no warning or error" no_warnings "$work/second.out"
check "the second run's progress lines hold no warning or error" no_errors "$work/second.err"
check "the second run wrote report.html" test -f archive/report.html
check "the second run filed photos into people's folders" test "$(find archive -mindepth 2 -type f ! -path 'archive/_*' | wc -l)" -gt 0
check "git status is still clean (the folders are ignored)" test -z "$(git status --porcelain)"
tail -n 12 "$work/second.out"
if [ "$failures" -gt 0 ]; then
  echo "check:quick-start: $failures checks failed (logs were in $work)"
  exit 1
fi
echo "check:quick-start: the quick start works as the README says"
