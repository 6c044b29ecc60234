#!/usr/bin/env bash
# The offline plans of a pull request's base and head, and what the head changes, as Markdown.
#
#   plan-diff.sh BASE_DIR HEAD_DIR OUT_DIR STACK...
#
# For every stack it runs `make plan STACK=<stack> JSON=...` in both trees (documents and logs land in
# OUT_DIR), then the head tree's `make diff` (the base may predate it), and writes the report.
# `make plan` exits 1 on a mandatory guardrail violation (the document is still written) and 2 on invalid
# input (no document). Every plan runs and the report is always written; the exit status is 1 when a head
# plan or a diff failed. A failing base only shows in the report: the pull request may be what fixes it.
# OUT_DIR/summary.md is the whole report (for the job summary); OUT_DIR/diff.md the same, cut to fit in
# one pull-request comment.
set -uo pipefail

if [ "$#" -lt 4 ]; then
  echo "usage: $0 BASE_DIR HEAD_DIR OUT_DIR STACK..." >&2
  exit 64
fi
base_dir=$1 head_dir=$2 out=$3
shift 3
mkdir -p "$out" && out=$(cd "$out" && pwd)
report="$out/summary.md"
limit=60000 # a pull-request comment holds 65,536 characters
status=0

meaning() {
  case "$1" in
    0) echo "ok" ;;
    1) echo "mandatory guardrail violation: \`pulumi up\` would refuse" ;;
    2) echo "invalid input: nothing planned, no document" ;;
    *) echo "failed" ;;
  esac
}

log_tail() { # a collapsed block with the end of a plan's log
  printf '<details><summary>%s</summary>\n\n```\n' "$1"
  tail -n 25 "$2" | cut -c1-300
  printf '```\n\n</details>\n\n'
}

{
  echo "# Offline plan: what this pull request changes"
  echo
  echo "\`make plan\` of the base and of the head on Pulumi's mock engine (no cloud credentials), compared"
  echo "with \`make diff\`. Updated on every push."
  echo
} >"$report"

for stack in "$@"; do
  rc_base=0 rc_head=0
  for side in base head; do
    dir=$base_dir
    [ "$side" = head ] && dir=$head_dir
    doc="$out/$side-$stack.json"
    rm -f "$doc"
    echo "::group::make plan STACK=$stack ($side)"
    make -C "$dir" --no-print-directory plan STACK="$stack" JSON="$doc" >"$out/$side-$stack.log" 2>&1
    rc=$?
    cat "$out/$side-$stack.log"
    echo "::endgroup::"
    if [ "$side" = base ]; then rc_base=$rc; else rc_head=$rc; fi
  done

  {
    echo "## Stack \`$stack\`"
    echo
    echo "- base plan: exit $rc_base ($(meaning "$rc_base"))"
    echo "- head plan: exit $rc_head ($(meaning "$rc_head"))"
    echo
  } >>"$report"
  [ "$rc_head" -ne 0 ] && status=1
  [ "$rc_base" -gt 1 ] && log_tail "base plan log ($stack)" "$out/base-$stack.log" >>"$report"
  [ "$rc_head" -gt 1 ] && log_tail "head plan log ($stack)" "$out/head-$stack.log" >>"$report"

  if [ ! -s "$out/head-$stack.json" ]; then
    echo "No diff: the head plan wrote no document." >>"$report"
    echo >>"$report"
    continue
  fi
  if [ ! -s "$out/base-$stack.json" ]; then
    echo '{"resources": []}' >"$out/base-$stack.json"
    printf '%s\n\n' "The base plan wrote no document: the diff below is against an empty stack." >>"$report"
  fi
  # The stack's heading stands in for the diff's title; its sections sit under it.
  if make -C "$head_dir" --no-print-directory -s diff BASE="$out/base-$stack.json" HEAD="$out/head-$stack.json" \
      >"$out/diff-$stack.md" 2>"$out/diff-$stack.log"; then
    sed -e '/^## Infrastructure diff$/d' -e 's/^## /### /' "$out/diff-$stack.md" >>"$report"
  else
    status=1
    log_tail "make diff failed ($stack)" "$out/diff-$stack.log" >>"$report"
  fi
  echo >>"$report"
done

if [ "$(wc -c <"$report")" -gt "$limit" ]; then
  head -c "$limit" "$report" >"$out/diff.md"
  printf '\n\n... cut here: the whole report is in the job summary and the `plan-diff` artifact.\n' >>"$out/diff.md"
else
  cp "$report" "$out/diff.md"
fi
exit "$status"
