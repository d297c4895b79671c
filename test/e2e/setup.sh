#!/usr/bin/env bash
# Installs what the e2e suite needs, outside the repository and idempotently:
# the apt packages code-server's native modules build against, Debian's chromium,
# and code-server 4.100.3 (VS Code 1.100) cached in $LORA_LAB_CODE_SERVER_DIR.
# Recipe: ../shared/guides/VSCODE-E2E.md. Never downloads a browser.
set -euo pipefail

CODE_SERVER_VERSION=4.100.3
DIR="${LORA_LAB_CODE_SERVER_DIR:-$HOME/.cache/lora-lab/code-server-$CODE_SERVER_VERSION}"
APT_PACKAGES=(libkrb5-dev libsecret-1-dev libx11-dev libxkbfile-dev ripgrep chromium)
STAMP="$DIR/.lora-lab-setup-complete"

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing apt packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends "${APT_PACKAGES[@]}"
fi
[ -x /usr/bin/chromium ] || { echo "setup: /usr/bin/chromium missing after apt-get" >&2; exit 1; }

if [ -f "$STAMP" ] && [ -x "$DIR/node_modules/.bin/code-server" ]; then
  echo "setup: code-server $CODE_SERVER_VERSION already installed in $DIR"
  exit 0
fi

echo "setup: installing code-server $CODE_SERVER_VERSION into $DIR (several minutes the first time)"
mkdir -p "$DIR"
cd "$DIR"
[ -f package.json ] || npm init -y >/dev/null
npm install --no-audit --no-fund --unsafe-perm --ignore-scripts "code-server@$CODE_SERVER_VERSION"
cd node_modules/code-server/lib/vscode
npm install --no-audit --no-fund --unsafe-perm --omit=dev --ignore-scripts
# @vscode/ripgrep's install script downloads rg from the internet: give it Debian's.
mkdir -p node_modules/@vscode/ripgrep/bin
cp /usr/bin/rg node_modules/@vscode/ripgrep/bin/rg
npm_config_yes=true npm rebuild --unsafe-perm
ln -sfn node_modules node_modules.asar
(cd extensions && npm install --no-audit --no-fund --unsafe-perm --omit=dev)
cd "$DIR"
npm rebuild argon2
"$DIR/node_modules/.bin/code-server" --version
touch "$STAMP"
echo "setup: done"
