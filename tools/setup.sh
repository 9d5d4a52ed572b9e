#!/usr/bin/env bash
# Set-up on a fresh Debian machine (README: `npm run setup && npm run build`, then `npm test`).
#  1. from apt (skipped when present; needs root or sudo): chromium for the e2e tests, and Debian's PyTorch stack
#     (python3-torch, python3-numpy, python3-onnx, python3-pil, libopenblas0-pthread) for the PyTorch-hook tests,
#     which CI (CI=true) never skips.
#  2. npm dependencies from package-lock.json with `npm install` (skipped when node_modules already matches).
# Node >= 20.19 (package.json engines) and npm must already be installed. Nothing else is downloaded: the site build is offline.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=()
[ -x /usr/bin/chromium ] || APT_PACKAGES+=(chromium)
for p in python3-torch python3-numpy python3-onnx python3-pil libopenblas0-pthread; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || APT_PACKAGES+=("$p")
done
if [ ${#APT_PACKAGES[@]} -eq 0 ]; then
  echo "setup: chromium and the PyTorch test packages present ($(/usr/bin/chromium --version 2>/dev/null || echo /usr/bin/chromium))"
else
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "setup: need root (or sudo) to apt-get install ${APT_PACKAGES[*]}" >&2; exit 1; }
    SUDO="sudo"
  fi
  export DEBIAN_FRONTEND=noninteractive
  echo "setup: apt-get install ${APT_PACKAGES[*]}"
  $SUDO apt-get update
  $SUDO apt-get install -y --no-install-recommends "${APT_PACKAGES[@]}"
fi

# node_modules is up to date when npm's hidden lockfile lists every package of package-lock.json at the
# same version (npm writes node_modules/.package-lock.json after each install).
up_to_date() {
  node -e '
    const fs = require("fs");
    const want = JSON.parse(fs.readFileSync("package-lock.json", "utf8")).packages;
    const have = JSON.parse(fs.readFileSync("node_modules/.package-lock.json", "utf8")).packages;
    for (const [p, w] of Object.entries(want)) {
      if (!p.startsWith("node_modules/")) continue;
      if (!have[p] && !w.optional) process.exit(1);
      if (have[p] && have[p].version !== w.version) process.exit(1);
    }
  ' 2>/dev/null
}
if [ -f node_modules/.package-lock.json ] && up_to_date; then
  echo "setup: node_modules matches package-lock.json, skipping npm ci"
else
  # `npm install`, not `npm ci`: npm 11 on these machines writes a lock file without the other platforms'
  # optional packages (@duckdb/node-bindings-darwin-*, @rollup/rollup-*), and `npm ci` then refuses the
  # lock as "out of sync". The lock pins every installed version; `npm install` follows it.
  ONNXRUNTIME_NODE_INSTALL=skip npm install --no-audit --no-fund
fi
echo "setup: done (node $(node --version), npm $(npm --version))"
