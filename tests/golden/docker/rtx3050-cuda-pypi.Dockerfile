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

# CUDA 12.4 from NVIDIA's PyPI wheels (docker.cuda_from = "pypi"), through the profile's
# pip index, each hash-pinned; laid out as one toolkit with the redistributable archives' lib/
# layout (lib/libcudart.so.12, bin/ptxas, nvvm/libdevice).
COPY install_cuda_wheels.py /tmp/install_cuda_wheels.py
RUN printf '%s\n' \
        'nvidia-cublas-cu12==12.4.5.8 --hash=sha256:2fc8da60df463fdefa81e323eef2e36489e1c94335b5358bcb38360adf75ac9b' \
        'nvidia-cuda-cccl-cu12==12.4.127 --hash=sha256:8f3b3ec42b90f013adfbbac16677fbf479cf6e8d0e8c3cbde7af67b0da79589a' \
        'nvidia-cuda-cupti-cu12==12.4.127 --hash=sha256:9dec60f5ac126f7bb551c055072b69d85392b13311fcc1bcda2202d172df30fb' \
        'nvidia-cuda-nvcc-cu12==12.4.131 --hash=sha256:e4c9a35435c3b0e36c6397c5696334c9ea6650e524736cbd1c5d345ea099bb04' \
        'nvidia-cuda-nvrtc-cu12==12.4.127 --hash=sha256:a178759ebb095827bd30ef56598ec182b85547f1508941a3d560eb7ea1fbf338' \
        'nvidia-cuda-runtime-cu12==12.4.127 --hash=sha256:64403288fa2136ee8e467cdc9c9427e0434110899d07c779f25b5c068934faa5' \
        'nvidia-cufft-cu12==11.2.1.3 --hash=sha256:f083fc24912aa410be21fa16d157fed2055dab1cc4b6934a0e03cba69eb242b9' \
        'nvidia-curand-cu12==10.3.5.147 --hash=sha256:a88f583d4e0bb643c49743469964103aa59f7f708d862c3ddb0fc07f851e3b8b' \
        'nvidia-cusolver-cu12==11.6.1.9 --hash=sha256:19e33fa442bcfd085b3086c4ebf7e8debc07cfe01e11513cc6d332fd918ac260' \
        'nvidia-cusparse-cu12==12.3.1.170 --hash=sha256:ea4f11a2904e2a8dc4b1833cc1b5181cde564edd0d5cd33e3c168eff2d1863f1' \
        'nvidia-nvjitlink-cu12==12.4.127 --hash=sha256:06b3b9b25bf3f8af351d664978ca26a16d2c5127dbd53c0497e28d1fb9611d57' \
        'nvidia-nvml-dev-cu12==12.4.127 --hash=sha256:f3d070140734992f018d46b5fc1663495898637534b94a87cec64bf12bdc584c' \
        'nvidia-nvtx-cu12==12.4.127 --hash=sha256:781e950d9b9f60d8241ccea575b32f5105a5baf4c2351cab5256a24869f12a1a' \
        > /tmp/cuda.txt \
    && /opt/tfbuild-venv/bin/pip download --index-url https://pypi.mirrors.ustc.edu.cn/simple/ --no-deps --require-hashes -r /tmp/cuda.txt -d /tmp/cuda \
    && python3.10 /tmp/install_cuda_wheels.py --prefix /usr/local/cuda-12.4 /tmp/cuda/*.whl \
    && rm -rf /tmp/cuda /tmp/cuda.txt /tmp/install_cuda_wheels.py

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
