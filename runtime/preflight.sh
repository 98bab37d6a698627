#!/usr/bin/env bash
# Check (and, as root on Debian, install) the machine tools the local stack needs:
# Go (GO_MIN_VERSION or newer, until the Dapr binaries are cached), Java 17+ and Maven
# (Kafka), PostgreSQL, curl, envsubst, setpriv, flock. With PREFLIGHT_BROWSER=1 (runtime/
# test.sh, so `make test`) also Debian's chromium, which the console's browser tests drive
# with Playwright (tests/integration/test_console_browser.py), and fonts-liberation, named
# so the screenshots they save into docs/console/ look the same on every machine.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
missing_pkgs=()
command -v curl >/dev/null || missing_pkgs+=(curl)
command -v envsubst >/dev/null || missing_pkgs+=(gettext-base)
command -v setpriv >/dev/null || missing_pkgs+=(util-linux)
command -v flock >/dev/null || missing_pkgs+=(util-linux)
command -v mvn >/dev/null || missing_pkgs+=(maven)
command -v java >/dev/null || missing_pkgs+=(openjdk-17-jre-headless)
[[ -x "/usr/lib/postgresql/$POSTGRES_MAJOR/bin/postgres" ]] || missing_pkgs+=("postgresql-$POSTGRES_MAJOR")
command -v psql >/dev/null || missing_pkgs+=(postgresql-client)
if [[ "${PREFLIGHT_BROWSER:-0}" == 1 ]]; then
  chromium="${PROGRESS_CHROMIUM:-/usr/bin/chromium}"
  if [[ ! -x "$chromium" ]]; then
    [[ "$chromium" == /usr/bin/chromium ]] ||
      die "PROGRESS_CHROMIUM=$chromium is not an executable (unset it to use Debian's chromium)"
    missing_pkgs+=(chromium)
  fi
  [[ -d /usr/share/fonts/truetype/liberation ]] || missing_pkgs+=(fonts-liberation)
fi
if [[ ${#missing_pkgs[@]} -gt 0 ]]; then
  [[ "$(id -u)" == 0 ]] || die "missing packages: ${missing_pkgs[*]} (install them with apt-get)"
  log "installing ${missing_pkgs[*]} from Debian's packages"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${missing_pkgs[@]}" >/dev/null
fi
# Go builds the Dapr binaries (runtime/build-dapr.sh) when they are not cached yet.
dapr_binaries_cached || require_go
