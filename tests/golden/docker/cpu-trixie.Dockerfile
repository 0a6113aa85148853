# Rendered by tfbuild from profile cpu-trixie (`invoke docker-build`); edit the profile or
# tfbuild/data/pins.toml, not this file.
FROM registry.example:5000/debian:trixie@sha256:abababababababababababababababababababababababababababababababab

ARG DEBIAN_FRONTEND=noninteractive
SHELL ["/bin/bash", "-o", "pipefail", "-c"]

# The distro archive the profile names (docker.apt_sources) replaces the base image's own.
RUN rm -f /etc/apt/sources.list /etc/apt/sources.list.d/* \
    && printf '%s\n' 'deb http://deb.debian.org/debian trixie main' > /etc/apt/sources.list.d/tfbuild.list

# gcc/g++ 12 (clang 17 compiles against their libstdc++), patchelf (the wheel),
# git, Python 3.13, clang/lld 17, Bazel (bazel-bootstrap), and what the steps below need, from the distro.
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        ca-certificates curl git patchelf unzip xz-utils \
        gcc-12 g++-12 \
        python3.13 python3.13-venv python3.13-dev python3-setuptools python3-wheel \
        clang-17 lld-17 \
        bazel-bootstrap \
    && rm -rf /var/lib/apt/lists/*

# tfbuild's own dependencies, in a venv (its pip also fetches cuDNN below); tfbuild itself is
# mounted at /opt/tfbuild by `invoke build --in-docker`.
RUN python3.13 -m venv /opt/tfbuild-venv \
    && /opt/tfbuild-venv/bin/pip install --no-cache-dir \
        invoke==3.0.3 jinja2==3.1.6 packaging==26.4 requests==2.34.2 rich==15.0.0

# The distro's Bazel binary itself, as /usr/local/bin/bazel (the package's /usr/bin/bazel is a
# wrapper that wants a bazel-<.bazelversion> binary; tfbuild checks .bazelversion itself).
RUN ln -s "$(dpkg -L bazel-bootstrap | grep -E '^/usr/bin/bazel-[0-9.]+$' | head -1)" /usr/local/bin/bazel \
    && /usr/local/bin/bazel --version

# The versions inside the image are the profile's, or the image does not build.
COPY verify-toolchain.sh /usr/local/bin/tfbuild-verify-toolchain
RUN tfbuild-verify-toolchain

# What the image holds, for the build manifest (`invoke build --in-docker` records it): the
# base it was built from and every distro package with its version.
RUN mkdir -p /usr/share/tfbuild \
    && dpkg-query -W -f '${Package}=${Version}\n' | LC_ALL=C sort > /usr/share/tfbuild/packages.txt \
    && echo registry.example:5000/debian:trixie@sha256:abababababababababababababababababababababababababababababababab > /usr/share/tfbuild/base-image.txt

# A non-root builder for interactive use; `invoke build --in-docker` runs as the invoking user
# (dist/ files are theirs), with the TF source, dist/ and tfbuild's state mounted (not copied)
# at their host paths; Bazel's output root and disk cache live in the /cache volume (any user).
RUN useradd --create-home --uid 1000 --shell /bin/bash builder \
    && mkdir -p /cache /workspace \
    && chmod 1777 /cache \
    && chown builder /workspace
LABEL org.opencontainers.image.base.name=registry.example:5000/debian:trixie@sha256:abababababababababababababababababababababababababababababababab \
      io.tfbuild.profile=cpu-trixie
USER 1000
ENV PATH=/usr/lib/llvm-17/bin:/opt/tfbuild-venv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    PYTHONPATH=/opt/tfbuild
WORKDIR /workspace
VOLUME ["/cache"]
