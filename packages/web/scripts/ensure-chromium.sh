#!/bin/sh
# Installs Debian's chromium (the real browser the web app's tests drive through playwright-core)
# when it is missing: `npx playwright install` cannot download its own browser here.
# Run by packages/web/test/browser.test.ts before its tests; needs root or sudo.
set -eu
if [ -x /usr/bin/chromium ]; then
  exit 0
fi
if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium
test -x /usr/bin/chromium
