# Sourced (not run) by scripts/build-librrd.sh, rust-sysroot.sh, test-deb.sh:
# apt-get on private lists, cache and sources under a scratch directory,
# aimed at the host's own Debian mirror, so that source packages and .debs of
# other architectures can be downloaded without root and without touching
# /etc/apt or dpkg's architecture list (docs/cross-build.md, section 5:
# a foreign architecture added to the host makes every later
# `apt-get update` depend on that architecture's mirror being in sync).
#   private_apt_init DIR ARCH...   lists for the host's architecture and ARCHes
#   apt_private ARGS...            apt-get with those settings
#   host_debian_mirror             prints the host's Debian mirror URI, and
#                                  sets private_apt_codename/_mirror
# shellcheck shell=sh

private_apt_init() {
    private_apt_dir=$1
    shift
    private_apt_arches="-o APT::Architecture=$(dpkg --print-architecture)"
    for arch in "$(dpkg --print-architecture)" "$@"; do
        private_apt_arches="$private_apt_arches -o APT::Architectures::=$arch"
    done
    mkdir -p "$private_apt_dir/lists/partial" \
        "$private_apt_dir/cache/archives/partial" "$private_apt_dir/parts"
    host_debian_mirror >/dev/null || return 1
    cat >"$private_apt_dir/parts/debian.sources" <<SOURCES
Types: deb deb-src
URIs: $private_apt_mirror
Suites: $private_apt_codename
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
    apt_private update >/dev/null
}

host_debian_mirror() {
    # The host's Debian mirror for the release it runs, as apt itself reads it
    # from /etc/apt (one-line and deb822 sources alike).
    # shellcheck disable=SC1091 # a system file, read at run time
    private_apt_codename=$(. /etc/os-release && echo "$VERSION_CODENAME")
    # shellcheck disable=SC2016 # $(…) is apt's format syntax, not the shell's
    private_apt_mirror=$(apt-get indextargets --format '$(REPO_URI) $(RELEASE) $(TARGET_OF)' |
        awk -v suite="$private_apt_codename" '$2 == suite && $3 == "deb" { print $1; exit }')
    if [ -z "$private_apt_mirror" ]; then
        echo "private-apt.sh: no Debian mirror for $private_apt_codename in the host's apt sources" >&2
        return 1
    fi
    echo "$private_apt_mirror"
}

apt_private() {
    # shellcheck disable=SC2086 # the -o options are meant to split
    apt-get -q $private_apt_arches \
        -o Dir::State::Lists="$private_apt_dir/lists" \
        -o Dir::Cache="$private_apt_dir/cache" \
        -o Dir::Etc::SourceList=/dev/null \
        -o Dir::Etc::SourceParts="$private_apt_dir/parts" \
        -o Acquire::Languages=none -o APT::Sandbox::User="$(id -un)" "$@"
}
