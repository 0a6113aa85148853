# Rendered by tfbuild from profile cpu (`invoke docker-build`); edit the profile or
# tfbuild/data/pins.toml, not this file.
FROM ubuntu:22.04@sha256:149d67e29f765f4db62aa52161009e99e389544e25a8f43c8c89d4a445a7ca37

ARG DEBIAN_FRONTEND=noninteractive
SHELL ["/bin/bash", "-o", "pipefail", "-c"]

# gcc/g++ 12 (clang 17 compiles against their libstdc++), patchelf (the wheel),
# git, Python 3.10, and what the steps below need, from the distro.
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        ca-certificates curl git patchelf unzip xz-utils gnupg \
        gcc-12 g++-12 \
        python3.10 python3.10-venv python3.10-dev python3-setuptools python3-wheel \
    && rm -rf /var/lib/apt/lists/*

# clang 17 and lld 17 (TF links with -fuse-ld=lld) from apt.llvm.org (docker.llvm_apt_url);
# its signing key is checked against the pinned fingerprint before apt trusts it.
RUN curl -fsSL http://apt.llvm.org/llvm-snapshot.gpg.key -o /tmp/llvm.asc \
    && gpg --show-keys --with-colons /tmp/llvm.asc | grep -q "^fpr:::::::::6084F3CF814B57C1CF12EFD515CF4D18AF4F7421:" \
    && gpg --dearmor -o /usr/share/keyrings/llvm.gpg /tmp/llvm.asc \
    && echo "deb [signed-by=/usr/share/keyrings/llvm.gpg] http://apt.llvm.org/jammy/ llvm-toolchain-jammy-17 main" \
        > /etc/apt/sources.list.d/llvm.list \
    && apt-get update \
    && apt-get install -y --no-install-recommends clang-17 lld-17 \
    && rm -rf /var/lib/apt/lists/* /tmp/llvm.asc

# tfbuild's own dependencies, in a venv (its pip also fetches cuDNN below); tfbuild itself is
# mounted at /opt/tfbuild by `invoke build --in-docker`.
RUN python3.10 -m venv /opt/tfbuild-venv \
    && /opt/tfbuild-venv/bin/pip install --no-cache-dir \
        invoke==3.0.3 jinja2==3.1.6 packaging==26.4 requests==2.34.2 rich==15.0.0

# bazelisk 1.25.0, sha256-pinned (docker.bazelisk_url: where from); it runs the Bazel the tree's .bazelversion names.
RUN curl -fsSL -o /usr/local/bin/bazelisk https://github.com/bazelbuild/bazelisk/releases/download/v1.25.0/bazelisk-linux-amd64 \
    && echo "fd8fdff418a1758887520fa42da7e6ae39aefc788cf5e7f7bb8db6934d279fc4  /usr/local/bin/bazelisk" | sha256sum -c - \
    && chmod 0755 /usr/local/bin/bazelisk

# The versions inside the image are the profile's, or the image does not build.
COPY verify-toolchain.sh /usr/local/bin/tfbuild-verify-toolchain
RUN tfbuild-verify-toolchain

# What the image holds, for the build manifest (`invoke build --in-docker` records it): the
# base it was built from and every distro package with its version.
RUN mkdir -p /usr/share/tfbuild \
    && dpkg-query -W -f '${Package}=${Version}\n' | LC_ALL=C sort > /usr/share/tfbuild/packages.txt \
    && echo ubuntu:22.04@sha256:149d67e29f765f4db62aa52161009e99e389544e25a8f43c8c89d4a445a7ca37 > /usr/share/tfbuild/base-image.txt

# A non-root builder for interactive use; `invoke build --in-docker` runs as the invoking user
# (dist/ files are theirs), with the TF source, dist/ and tfbuild's state mounted (not copied)
# at their host paths; Bazel's output root and disk cache live in the /cache volume (any user).
RUN useradd --create-home --uid 1000 --shell /bin/bash builder \
    && mkdir -p /cache /workspace \
    && chmod 1777 /cache \
    && chown builder /workspace
LABEL org.opencontainers.image.base.name=ubuntu:22.04@sha256:149d67e29f765f4db62aa52161009e99e389544e25a8f43c8c89d4a445a7ca37 \
      io.tfbuild.profile=cpu
USER 1000
ENV PATH=/usr/lib/llvm-17/bin:/opt/tfbuild-venv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    PYTHONPATH=/opt/tfbuild
WORKDIR /workspace
VOLUME ["/cache"]
