#!/usr/bin/env bash
# make image: the service's OCI image, built without a Docker daemon (docs/image.md,
# docs/decisions/013-image-built-without-a-daemon.md), written to
# build/progress-service-image.tar (oci-archive, gzip layers).
#
#   1. mmdebstrap: a Debian bookworm minbase root file system from this machine's apt
#      sources, with python3 and ca-certificates; its customize hook (customize.sh) adds
#      the runtime part of requirements.lock (installed by uv with --require-hashes), the
#      app, the service user (uid 10001) and removes what the build needed.
#   2. buildah: one layer from that tar, the config (user, workdir, env, command, OCI
#      labels), committed straight to the archive.
#
# The archive is rebuilt only when its inputs changed (a hash of them in
# build/progress-service-image.inputs); FORCE=1 rebuilds anyway (for example to take
# Debian's security updates). IMAGE_SOURCE sets the source label, IMAGE_APT_SOURCES the
# apt sources file the base is built from.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
source "$runtime_dir/image/tools.sh"
cd "$repo_dir"

# What goes into the image, and what builds it: any change here rebuilds.
inputs=(actors service config migrations alembic.ini verify.py requirements.lock pyproject.toml runtime/image)
version="$(image_version)"
[[ -n "$version" ]] || die "no version in pyproject.toml"
reference="$image_name:$version"
stamp="$image_build_dir/progress-service-image.inputs"

# revision: the last commit that changed an input (so the label names a commit whose
# tree holds exactly what the image packages), "-dirty" when the working tree differs.
revision="$(git log -1 --format=%H -- "${inputs[@]}")"
[[ -n "$revision" ]] || die "no commit touches the image's inputs: commit them first"
if [[ -n "$(git status --porcelain -- "${inputs[@]}")" ]]; then revision="$revision-dirty"; fi
source_url="${IMAGE_SOURCE:-$(git config --get remote.origin.url || true)}"
if [[ -z "$source_url" ]]; then
  # no remote here: the repository the deployment (ArgoCD) builds from
  source_url="$(sed -nE 's/^ *repoURL: *//p' deploy/argocd-application.yaml | head -n1)"
fi
[[ -n "$source_url" ]] || die "set IMAGE_SOURCE to the repository's URL (the source label)"

apt_sources="${IMAGE_APT_SOURCES:-}"
if [[ -z "$apt_sources" ]]; then
  for f in /etc/apt/sources.list.d/*.sources /etc/apt/sources.list; do
    if [[ -s "$f" ]] && grep -q '^[^#]*bookworm' "$f"; then apt_sources="$f"; break; fi
  done
fi
[[ -n "$apt_sources" && -s "$apt_sources" ]] \
  || die "no apt sources for bookworm found; set IMAGE_APT_SOURCES to a sources file"

files_digest() {
  git ls-files -z --cached --others --exclude-standard -- "${inputs[@]}" | sort -z \
    | while IFS= read -r -d '' f; do
        [[ -f "$f" ]] || continue  # deleted, not yet committed
        printf '%s %s %s\n' "$(stat -c %a "$f")" "$(sha256sum <"$f" | cut -d' ' -f1)" "$f"
      done
}
want="$( { files_digest; echo "revision=$revision source=$source_url version=$version";
           cat "$apt_sources"; } | sha256sum | cut -d' ' -f1)"

print_reference() {
  local size
  size="$(du -m "$image_archive" | cut -f1)"
  log "image $reference (revision $revision), ${size} MB: $image_archive"
  echo "image: $reference"
  echo "archive: ${image_archive#"$repo_dir"/}"
  echo "push: skopeo copy oci-archive:${image_archive#"$repo_dir"/} docker://REGISTRY/$reference"
}

if [[ "${FORCE:-0}" != 1 && -s "$image_archive" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
  log "image up to date (inputs unchanged; FORCE=1 rebuilds)"
  print_reference
  exit 0
fi

ensure_image_tools
"$runtime_dir/python-env.sh"  # .venv: runs runtime_requirements.py below
uv_bin="$("$runtime_dir/uv.sh")"  # the pinned uv, copied into the build root, then removed

started=$SECONDS
work="$image_build_dir/work"
rm -rf "$work" "$stamp"
mkdir -p "$work/stage"
cleanup() {
  if [[ -n "${container:-}" ]]; then buildah "${storage_opts[@]}" rm "$container" >/dev/null 2>&1 || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

# The stage the customize hook reads (outside the rootfs, removed with $work).
cp "$uv_bin" "$work/stage/uv"
cp "${SSL_CERT_FILE:-/etc/ssl/certs/ca-certificates.crt}" "$work/stage/ca.crt"
.venv/bin/python runtime/image/runtime_requirements.py requirements.lock pyproject.toml \
  >"$work/stage/requirements.runtime.lock"
# the app: tracked and new (not ignored) files, never caches or local state
git ls-files -z --cached --others --exclude-standard -- \
    actors service config migrations alembic.ini verify.py \
  | xargs -0 sh -c 'for f; do [ -f "$f" ] && printf "%s\0" "$f"; done' sh \
  | tar --null -T - -cf "$work/stage/app.tar" --owner=0 --group=0

log "building the root file system (mmdebstrap, Debian bookworm minbase; downloads every package)"
mmdebstrap --variant=minbase --mode=root --format=tar \
  --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr \
  --include=python3,ca-certificates \
  --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
  --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/info/*' \
  --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-exclude=/usr/share/lintian/*' \
  --customize-hook="\"$runtime_dir/image/customize.sh\" \"\$1\" \"$work/stage\"" \
  bookworm "$work/rootfs.tar" "$apt_sources" >"$image_build_dir/mmdebstrap.log" 2>&1 \
  || { tail -n 40 "$image_build_dir/mmdebstrap.log" >&2; die "mmdebstrap failed (log: $image_build_dir/mmdebstrap.log)"; }
rm -rf "$work/stage"  # the CA copy and uv: not needed any more
log "root file system built in $((SECONDS - started)) s"

log "writing the image (buildah, one layer, gzip)"
container="$(buildah "${storage_opts[@]}" from --quiet scratch)"
buildah "${storage_opts[@]}" add --quiet "$container" "$work/rootfs.tar" / >/dev/null
# No ENTRYPOINT: the command below is the chart's (deployment.yaml); the migrations job
# and verify.py replace it (`alembic upgrade head`, `python verify.py`), as Kubernetes'
# `command` does.
buildah "${storage_opts[@]}" config \
  --user 10001:10001 --workingdir /app --port 8000/tcp --stop-signal SIGTERM \
  --env PATH=/opt/venv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  --env VIRTUAL_ENV=/opt/venv --env PYTHONDONTWRITEBYTECODE=1 --env PYTHONUNBUFFERED=1 \
  --env LANG=C.UTF-8 \
  --entrypoint '[]' \
  --cmd '["uvicorn", "service.main:app", "--host", "0.0.0.0", "--port", "8000", "--timeout-keep-alive", "620"]' \
  --label "org.opencontainers.image.title=$image_name" \
  --label "org.opencontainers.image.description=$(sed -nE 's/^description *= *"(.*)"$/\1/p' pyproject.toml)" \
  --label "org.opencontainers.image.version=$version" \
  --label "org.opencontainers.image.revision=$revision" \
  --label "org.opencontainers.image.source=$source_url" \
  --label "org.opencontainers.image.base.name=debian:bookworm (mmdebstrap minbase; package versions in /usr/share/progress-service/debian-packages.txt)" \
  "$container"
rm -f "$image_archive"
buildah "${storage_opts[@]}" commit --quiet --format oci --disable-compression=false --rm \
  "$container" "oci-archive:$image_archive:$reference" >/dev/null
container=""
tar -xOf "$work/rootfs.tar" ./usr/share/progress-service/debian-packages.txt \
  >"$image_build_dir/progress-service-image.debian-packages.txt"
echo "$want" >"$stamp"
log "image built in $((SECONDS - started)) s"
print_reference
