#!/bin/sh
# Runs the browser tests of the pages (tests/browser/page.test.js: the graph
# page's behaviour and states; drawing.test.js: drawing modes, contrast,
# daylight-saving ticks; layout.test.js: sizes, phone, the overview;
# setup.test.js: the settings page, its login and what it saves;
# totals.test.js: the totals page, the graph's 95th percentile and CSV links;
# and the static checks of web/ in tests/browser/static.test.js):
# headless Debian Chromium driven by playwright-core from Node, against the
# real mt-trafmon daemon collecting from routeros-sim, all on 127.0.0.1.
# Installs what is missing first: Debian's chromium and nodejs/npm (apt, as
# root or through sudo; Debian 12's Node 18 is enough, which is why
# playwright-core is pinned at 1.61.1, the last release for Node 18),
# playwright-core at the version pinned in
# tests/browser/package-lock.json (npm ci; it never downloads a browser),
# the static librrd (scripts/build-librrd.sh, cached) and the two binaries
# (cargo build --bins). Screenshots, logs and measured figures (metrics.json)
# land in target/browser-artifacts/. Called by scripts/test.sh.
set -eu
cd "$(dirname "$0")/.."

missing=""
command -v chromium >/dev/null 2>&1 || missing="$missing chromium"
command -v node >/dev/null 2>&1 || missing="$missing nodejs"
command -v npm >/dev/null 2>&1 || missing="$missing npm"
if [ -n "$missing" ]; then
    sudo=""
    if [ "$(id -u)" -ne 0 ]; then
        if ! command -v sudo >/dev/null 2>&1; then
            echo "test-browser.sh: missing Debian packages:$missing (run as root or install them)" >&2
            exit 1
        fi
        sudo=sudo
    fi
    echo "test-browser.sh: installing$missing"
    $sudo apt-get update -qq
    # shellcheck disable=SC2086 # $missing is a list of package names
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

sh scripts/build-librrd.sh
cargo build --locked --bins --quiet

# npm ci only when the lock file changed since the last install.
stamp=tests/browser/node_modules/.lock-stamp
if ! cmp -s tests/browser/package-lock.json "$stamp" 2>/dev/null; then
    (cd tests/browser && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
    cp tests/browser/package-lock.json "$stamp"
fi

rm -rf target/browser-artifacts
mkdir -p target/browser-artifacts
cd tests/browser
# One file per run, so the files never run at once (Node 18, Debian 12's,
# has no --test-concurrency).
for file in static.test.js page.test.js drawing.test.js layout.test.js setup.test.js totals.test.js; do
    node --test --test-reporter=spec "$file"
done
