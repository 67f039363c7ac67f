#!/bin/sh
# Installs Debian's zsh and fish (the real shells that check `saltbox completion zsh|fish`)
# when missing. Run by packages/cli/test/completion.test.ts before its tests; needs root or
# sudo. bash is always there.
set -eu
missing=""
for shell in zsh fish; do
  command -v "$shell" >/dev/null 2>&1 || missing="$missing $shell"
done
if [ -z "$missing" ]; then
  exit 0
fi
if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
$SUDO apt-get update -qq
# shellcheck disable=SC2086 # one word per package
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing
command -v zsh >/dev/null 2>&1 && command -v fish >/dev/null 2>&1
