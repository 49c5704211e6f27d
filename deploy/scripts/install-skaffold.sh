#!/bin/sh
# Builds Skaffold from the Go module proxy into .tools/bin/skaffold (git-ignored), for the
# offline check of skaffold.yaml (deploy/test/skaffold.test.ts) and for `skaffold dev`.
#
# Why not `go install …/cmd/skaffold@VERSION`: Skaffold's go.mod has replace directives, which
# go install refuses, and the proxy answers 403 to the module's version list. So the build
# runs in a throwaway module that requires that exact version and copies its replace and
# exclude lines. Takes several minutes on first build (Go caches the rest). Concurrent runs
# (two test runs at once) wait for each other instead of building twice.
set -eu
VERSION=${SKAFFOLD_VERSION:-v2.16.1}
MODULE=github.com/GoogleContainerTools/skaffold/v2
root=$(cd "$(dirname "$0")/../.." && pwd)
bin="$root/.tools/bin/skaffold"
stamp="$bin.version"
lock="$bin.lock"

built() { [ -x "$bin" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$VERSION" ]; }
built && exit 0
command -v go >/dev/null || { echo "install-skaffold: go is not installed" >&2; exit 1; }

mkdir -p "$(dirname "$bin")"
until mkdir "$lock" 2>/dev/null; do
  holder=$(cat "$lock/pid" 2>/dev/null || true)
  if [ -n "$holder" ] && ! kill -0 "$holder" 2>/dev/null; then rm -rf "$lock"; continue; fi
  sleep 2
done
echo $$ > "$lock/pid"
work=$(mktemp -d)
trap 'rm -rf "$work" "$lock"' EXIT
built && exit 0

cd "$work"
export GOFLAGS=-mod=mod GOTOOLCHAIN=local
modfile=$(go mod download -json "$MODULE@$VERSION" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",*$/\1/p')
[ -f "$modfile" ] || { echo "install-skaffold: could not download $MODULE@$VERSION" >&2; exit 1; }

{
  echo "module skaffold-build"
  grep -E '^go [0-9]' "$modfile"
  grep -E '^(replace|exclude) ' "$modfile"
  echo "require $MODULE $VERSION"
} > go.mod
printf '//go:build tools\npackage tools\nimport _ "%s/cmd/skaffold/app"\n' "$MODULE" > tools.go
echo "install-skaffold: building skaffold $VERSION (several minutes the first time)…" >&2
go mod tidy -e >/dev/null 2>&1
go build -trimpath -ldflags "-s -w -X $MODULE/pkg/skaffold/version.version=$VERSION" -o "$work/skaffold" "$MODULE/cmd/skaffold"
mv "$work/skaffold" "$bin.tmp.$$"
mv "$bin.tmp.$$" "$bin"
echo "$VERSION" > "$stamp"
echo "install-skaffold: $bin" >&2
