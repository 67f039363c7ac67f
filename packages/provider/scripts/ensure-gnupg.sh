#!/bin/sh
# Installs Debian's gnupg (the real gpg the format=pgp interop tests drive) when it is missing.
# Run by packages/provider/test/pgp-keeper.test.ts and packages/cli/test/pgp.test.ts before
# their gpg tests; needs root or sudo.
set -eu
if command -v gpg >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq gnupg
command -v gpg >/dev/null 2>&1
