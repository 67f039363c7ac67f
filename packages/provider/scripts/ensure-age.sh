#!/bin/sh
# Installs Debian's age (the real binary the age-plugin tests drive) when it is missing.
# Run by packages/provider/test/age-plugin.test.ts before its tests; needs root or sudo.
set -eu
if command -v age >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq age
command -v age >/dev/null 2>&1
