#!/usr/bin/env bash
# down.sh [SERVICE...] : stop the named services of the local stack (default: all,
# including app instances started by app.sh), by their recorded PIDs.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
services=("$@")
if [[ ${#services[@]} -eq 0 ]]; then
  mapfile -t services < <(find "$run_dir" -name '*-app.pid' -o -name '*-daprd.pid' | xargs -r -n1 basename | sed 's/\.pid$//' | sort -r)
  services+=(scheduler placement kafka postgres)
fi
for s in "${services[@]}"; do
  case "$s" in
    postgres) stop_pid postgres INT ;;   # SIGINT = PostgreSQL's fast shutdown
    *) stop_pid "$s" ;;
  esac
done
