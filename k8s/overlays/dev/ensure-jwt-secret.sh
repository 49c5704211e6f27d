#!/bin/sh
# Makes k8s/overlays/dev/jwt-secret.txt (the dev JWT signing key) if it is not there yet:
# 48 random bytes, base64url, no newline. Never overwrites: tokens already issued stay valid.
set -eu
dir=$(cd "$(dirname "$0")" && pwd)
file="$dir/jwt-secret.txt"
if [ -s "$file" ]; then
  exit 0
fi
umask 077
head -c 48 /dev/urandom | base64 | tr -d '\n=' | tr '+/' '-_' > "$file.tmp"
mv "$file.tmp" "$file"
echo "created $file (dev-only JWT secret, git-ignored)"
