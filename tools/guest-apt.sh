# Sourced by tools/fetch-guests.sh: a private apt
# configuration for one Debian architecture (its own lists, an empty dpkg status, the
# archive's keyring), so the system's apt and dpkg state are left alone.
#   guest_apt ARCH DIR    exports APT_CONFIG and reads bookworm's index for ARCH into DIR
guest_apt() {
  local arch=$1 P=$2
  mkdir -p "$P/lists/partial" "$P/cache/archives/partial" "$P/parts"
  : >"$P/status"
  cat >"$P/parts/keel-$arch.sources" <<SRC
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Architectures: $arch
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
  cat >"$P/apt.conf" <<CONF
APT::Architecture "$arch";
APT::Architectures { "$arch"; };
Dir::Etc::SourceList "/dev/null";
Dir::Etc::SourceParts "$P/parts";
Dir::State::Lists "$P/lists";
Dir::State::status "$P/status";
Dir::Cache "$P/cache";
CONF
  export APT_CONFIG=$P/apt.conf
  apt-get update -q >"$P/update.log" 2>&1
}
