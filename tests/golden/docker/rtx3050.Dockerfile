# Rendered by tfbuild from profile rtx3050 (`invoke docker-build`); edit the profile or
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
    && /opt/tfbuild-venv/bin/pip install --no-cache-dir --index-url https://pypi.mirrors.ustc.edu.cn/simple/ \
        invoke==3.0.3 jinja2==3.1.6 packaging==26.4 requests==2.34.2 rich==15.0.0

# bazelisk 1.25.0, sha256-pinned (docker.bazelisk_url: where from); it runs the Bazel the tree's .bazelversion names.
RUN curl -fsSL -o /usr/local/bin/bazelisk https://github.com/bazelbuild/bazelisk/releases/download/v1.25.0/bazelisk-linux-amd64 \
    && echo "fd8fdff418a1758887520fa42da7e6ae39aefc788cf5e7f7bb8db6934d279fc4  /usr/local/bin/bazelisk" | sha256sum -c - \
    && chmod 0755 /usr/local/bin/bazelisk

# CUDA 12.4.0 from NVIDIA's redistributable archives, not the runfile installer: the
# redistrib JSON's pinned sha256 (the one TF's hermetic rules use) pins every archive, and they
# unpack into a lib/ layout TF's rules link as is. (A runfile install has lib64/ only and keeps
# CUPTI in extras/CUPTI/, which needs tfbuild's lib->lib64 fix: cuda.layout_fix.)
COPY install_cuda_redist.py /tmp/install_cuda_redist.py
RUN python3.10 /tmp/install_cuda_redist.py \
        --json-url https://developer.download.nvidia.com/compute/cuda/redist/redistrib_12.4.0.json \
        --json-sha256 a4f496b8d5299939b34c9ef88dc4274821f8c9451b2d7c9bcee53166932da067 \
        --url-prefix https://developer.download.nvidia.com/compute/cuda/redist/ \
        --prefix /usr/local/cuda-12.4 \
        --component cuda_cccl --component cuda_cudart --component cuda_cupti --component cuda_nvcc --component cuda_nvml_dev --component cuda_nvrtc --component cuda_nvtx --component cuda_profiler_api --component libcublas --component libcufft --component libcurand --component libcusolver --component libcusparse --component libnvjitlink \
    && rm /tmp/install_cuda_redist.py

# cuDNN 9.10.2 (not one of TF 2.18's hermetic redistributions, so a local install) from
# NVIDIA's PyPI wheel, hash-checked by pip.
RUN echo "nvidia-cudnn-cu12==9.10.2.21 --hash=sha256:949452be657fa16687d0930933f032835951ef0892b37d2d53824d1a84dc97a8" > /tmp/cudnn.txt \
    && /opt/tfbuild-venv/bin/pip download --index-url https://pypi.mirrors.ustc.edu.cn/simple/ --no-deps --require-hashes -r /tmp/cudnn.txt -d /tmp/cudnn \
    && mkdir -p /opt/cudnn-9.10.2 \
    && unzip -q /tmp/cudnn/*.whl 'nvidia/cudnn/include/*' 'nvidia/cudnn/lib/*' -d /tmp/cudnn \
    && mv /tmp/cudnn/nvidia/cudnn/include /tmp/cudnn/nvidia/cudnn/lib /opt/cudnn-9.10.2/ \
    && rm -rf /tmp/cudnn /tmp/cudnn.txt

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
      io.tfbuild.profile=rtx3050
USER 1000
ENV PATH=/usr/local/cuda-12.4/bin:/usr/lib/llvm-17/bin:/opt/tfbuild-venv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    PYTHONPATH=/opt/tfbuild
WORKDIR /workspace
VOLUME ["/cache"]
