# Helpers for runtime/image/ scripts (sourced): the Debian tools that build and run the
# image without a Docker daemon, installed with apt when missing (as root, like the
# PostgreSQL packages of the local stack), and podman/buildah pointed at storage inside
# build/ so nothing lands in /var/lib/containers or the user's home.
# shellcheck shell=bash

# command -> Debian package. podman does not pull in runc: it is named on its own.
image_tools=(mmdebstrap:mmdebstrap buildah:buildah umoci:umoci skopeo:skopeo podman:podman
  runc:runc newuidmap:uidmap fuse-overlayfs:fuse-overlayfs)

ensure_image_tools() {
  local missing=() entry
  for entry in "${image_tools[@]}"; do
    command -v "${entry%%:*}" >/dev/null || missing+=("${entry#*:}")
  done
  ((${#missing[@]})) || return 0
  [[ "$(id -u)" == 0 ]] || die "missing ${missing[*]}: install them with apt-get (as root) or run this as root"
  log "installing ${missing[*]} with apt-get"
  local i
  for ((i = 1; i <= 20; i++)); do
    # another job may hold the dpkg lock for a while: wait for it, do not fight over it
    if DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" \
        >>"$image_build_dir/apt.log" 2>&1; then
      return 0
    fi
    if ((i == 1)); then apt-get update -q >>"$image_build_dir/apt.log" 2>&1 || true; fi
    log "apt-get install failed (attempt $i; the dpkg lock may be held): retrying in 15 s (log: $image_build_dir/apt.log)"
    sleep 15
  done
  die "could not install ${missing[*]} (log: $image_build_dir/apt.log)"
}

image_build_dir="$repo_dir/build"
image_archive="$image_build_dir/progress-service-image.tar"
image_name=progress-service
image_version() {
  sed -nE 's/^version *= *"([^"]+)".*/\1/p' "$repo_dir/pyproject.toml" | head -n1
}
mkdir -p "$image_build_dir"

# Container storage of buildah and podman, kept under build/ (vfs: works on any file
# system, including the overlay this machine's own root may sit on).
containers_root="$image_build_dir/containers"
storage_opts=(--root "$containers_root/storage" --runroot "$containers_root/run" --storage-driver vfs)
