#!/bin/sh
# Installs Debian's chromium (the real browser the web app's tests drive through playwright-core)
# when it is missing: `npx playwright install` cannot download its own browser here.
# Run by packages/web/test/chromium.ts before the browser tests; needs root or sudo. Fails (and
# so fails those tests) when chromium cannot be installed.
set -eu
if [ -x /usr/bin/chromium ]; then
  exit 0
fi
# Both browser test files may call this at once: one installs, the other waits (the lock is this
# script file itself, so no shared temp path is needed).
exec 9<"$0"
flock 9
if [ -x /usr/bin/chromium ]; then
  exit 0
fi
if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
# Other installers (e.g. the provider's ensure-age.sh) may hold apt's locks: wait, then retry.
attempt=1
until $SUDO apt-get -o DPkg::Lock::Timeout=120 update -qq &&
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get -o DPkg::Lock::Timeout=120 install -y -qq chromium; do
  if [ "$attempt" -ge 5 ]; then
    echo "ensure-chromium: could not install chromium" >&2
    exit 1
  fi
  attempt=$((attempt + 1))
  sleep 15
done
test -x /usr/bin/chromium
