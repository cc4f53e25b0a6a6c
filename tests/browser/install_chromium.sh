#!/usr/bin/env bash
# `make test` runs this first: the browser tests need a Chromium, and they never skip.
# Debian's /usr/bin/chromium when it is there, or Playwright's own build if that is installed;
# otherwise install one: Debian's package when root on Debian or Ubuntu, else Playwright's build
# (into ~/.cache/ms-playwright, no root needed). tests/browser/conftest.py picks the same one.
set -euo pipefail
BIN="${1:-.venv/bin}"

found="$(command -v chromium || true)"
if [ -n "$found" ] && [ -x "$found" ]; then
  exit 0
fi
if "$BIN/python" - <<'EOF'; then
import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

with sync_playwright() as playwright:
    sys.exit(0 if Path(playwright.chromium.executable_path).exists() else 1)
EOF
  exit 0
fi

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null \
  && grep -qiE '^(ID|ID_LIKE)=.*(debian|ubuntu)' /etc/os-release 2>/dev/null; then
  echo "Chromium is missing: installing Debian's package (apt-get install chromium)"
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium
else
  echo "Chromium is missing: installing Playwright's build (playwright install chromium)"
  "$BIN/playwright" install chromium
fi
