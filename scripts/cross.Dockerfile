# The image in which `cross build --target <triple>` builds mt-trafmon
# (Cross.toml): Debian 12 with the cross C toolchains, clang for rrd-sys's
# bindgen, and the static, graph-less librrd of scripts/build-librrd.sh,
# built here for the one target in /opt/mt-trafmon/target/rrd-static/<triple>.
# NOT TESTED IN CI: no container engine or image registry on the project's
# build machines. cross mounts the project and its own Rust toolchain (rustup,
# with the target added) into a container of this image; .cargo/config.toml
# names the linker, and Cross.toml points rrd-sys at this librrd.
FROM debian:bookworm
ARG TRIPLE
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y \
        --no-install-recommends ca-certificates debian-archive-keyring \
        build-essential pkg-config make dpkg-dev xz-utils clang libclang-dev \
        libglib2.0-dev gcc-aarch64-linux-gnu gcc-arm-linux-gnueabihf \
        libc6-dev-arm64-cross libc6-dev-armhf-cross \
    && rm -rf /var/lib/apt/lists/*
COPY build-librrd.sh private-apt.sh glibshim.c librrd-create.patch librrd-update.patch /opt/mt-trafmon/scripts/
RUN sh /opt/mt-trafmon/scripts/build-librrd.sh "$TRIPLE" \
    && rm -rf /root/.cache/mt-trafmon
