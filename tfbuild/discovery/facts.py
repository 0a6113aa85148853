"""What discovery found, as plain frozen data. Checks and renderers read only these, so they
can be tested with facts written by hand."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from tfbuild.cachekeys import Places


@dataclass(frozen=True)
class Tool:
    """A program found on this machine (path None: not found)."""

    name: str
    path: str | None = None
    version: str | None = None
    detail: str = ""


@dataclass(frozen=True)
class Clang:
    path: str | None = None  # as found (may end in clang-17)
    bazel_path: str | None = None  # the same compiler under a name ending in `clang`
    version: str | None = None
    candidates: tuple[tuple[str, str | None], ...] = ()
    compiles_cxx: bool | None = None
    compile_error: str = ""
    include_dirs: tuple[str, ...] = ()
    gcc_installation: str = ""
    libcxx_runtime_dir: str | None = None  # a standalone LLVM install's libc++ dir
    prefix: str = ""
    prefix_exists: bool = False

    @property
    def major(self) -> int | None:
        return int(self.version.split(".")[0]) if self.version else None


@dataclass(frozen=True)
class Bazel:
    path: str | None = None
    version: str | None = None
    version_source: str = ""  # "binary", "dpkg"
    error: str = ""
    needs_download: str = ""  # bazelisk, without this Bazel version in its cache yet


@dataclass(frozen=True)
class Python:
    path: str | None = None
    version: str | None = None
    executable: str | None = None  # its sys.executable (a pyenv shim resolves to the real one)
    site_packages: tuple[str, ...] = ()
    # NVIDIA's pip packages in it (name, version), e.g. left by `pip install tensorflow[and-cuda]`:
    # TensorFlow loads their CUDA/cuDNN before the profile's. Asked only for CUDA profiles.
    nvidia_packages: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class CudaToolkit:
    root: str
    layout: str  # "runfile" (lib64), "redist" (lib), "pip" (site-packages/nvidia/...)
    version: str | None = None
    version_source: str = ""
    has_lib: bool = False
    has_lib64: bool = False
    cudart: str | None = None
    cupti_include: str | None = None
    cupti_lib: str | None = None
    libdevice: str | None = None
    ptxas: str | None = None
    ptxas_version: str | None = None
    nvcc: str | None = None


@dataclass(frozen=True)
class Cudnn:
    root: str
    version: str | None = None
    header: str | None = None
    library: str | None = None
    lib_dir: str | None = None
    # The CUDA major this cuDNN was built for and who says so: the pip distribution that owns it
    # (nvidia-cudnn-cu12), the Debian package (libcudnn9-cuda-12) or NVIDIA's archive name
    # (cudnn-linux-x86_64-9.10.2.21_cuda12-archive). None: nothing installed says.
    cuda_major: int | None = None
    cuda_major_source: str = ""


@dataclass(frozen=True)
class Gpu:
    name: str
    compute_cap: str
    driver: str


@dataclass(frozen=True)
class Gpus:
    nvidia_smi: str | None = None
    gpus: tuple[Gpu, ...] = ()
    error: str = ""


@dataclass(frozen=True)
class Machine:
    cpu_count: int
    mem_total_gib: float
    mem_available_gib: float
    disk_path: str
    disk_free_gib: float


@dataclass(frozen=True)
class FsPlace:
    name: str  # "output root", "disk cache", "repository cache", "logs", "dist"
    path: str
    key: str  # the setting that moves it
    used_gib: float = 0.0  # measured for the disk cache (it grows up to its limit)
    measured_gib: float | None = None  # what a build adds, where measured (NVIDIA's JSON)


@dataclass(frozen=True)
class FsSpace:
    """One filesystem tfbuild writes to, and which of its places are on it."""

    mount: str
    free_gib: float
    total_gib: float
    places: tuple[FsPlace, ...]


@dataclass(frozen=True)
class ContainerEngine:
    """The container engine `docker.engine` names (or the first that answers), for doctor."""

    choice: str  # the profile's docker.engine
    name: str = ""  # docker | podman; "" when none answers
    version: str = ""
    server: str = ""
    storage: str = ""  # where it keeps images
    storage_free_gib: float | None = None
    problem: str = ""  # why none answers
    image: str = ""  # the profile's image, when the engine has it
    image_id: str = ""
    runs: str = ""  # "yes", or what running a container in that image said; "" when not tried


@dataclass(frozen=True)
class Source:
    path: str
    exists: bool = False
    is_tf_tree: bool = False
    tf_version: str | None = None
    bazelversion: str | None = None
    git_commit: str | None = None
    git_describe: str | None = None
    git_commit_time: int | None = None  # HEAD's committer time, seconds since 1970
    chosen_by: str = ""  # why this tree: --source, the current directory, tensorflow.source_dir


@dataclass(frozen=True)
class Facts:
    """Everything doctor, configure and build need to know about this machine."""

    clang: Clang = field(default_factory=Clang)
    lld: Tool = field(default_factory=lambda: Tool("ld.lld"))
    gcc: Tool = field(default_factory=lambda: Tool("gcc"))
    gxx: Tool = field(default_factory=lambda: Tool("g++"))
    home_rc: tuple[tuple[int, str], ...] | None = None  # ~/.bazelrc's lines (None: no file)
    bazelisk_base_url: tuple[str, str] | None = None  # (URL, where it was set)
    patchelf: Tool = field(default_factory=lambda: Tool("patchelf"))  # on the actions' PATH
    patchelf_elsewhere: str | None = None  # where the shell's PATH has it
    bazel: Bazel = field(default_factory=Bazel)
    python: Python = field(default_factory=Python)
    cuda: CudaToolkit | None = None  # the profile's local CUDA (or the one found)
    cuda_candidates: tuple[CudaToolkit, ...] = ()
    path_ptxas: Tool = field(default_factory=lambda: Tool("ptxas"))
    cudnn: Cudnn | None = None
    cudnn_candidates: tuple[Cudnn, ...] = ()
    gpus: Gpus = field(default_factory=Gpus)
    machine: Machine | None = None
    source: Source | None = None
    ld_library_path: tuple[str, ...] = ()  # of the shell discovery ran in
    path: tuple[str, ...] = ()  # PATH of that shell
    nccl_path_exists: bool = False
    network: tuple = ()  # discovery.network.Probe rows; empty with --offline
    network_checked: bool = False
    key_places: Places | None = None  # this user's/machine's own directories (cache keys)
    cuda_shim: str = ""  # where tfbuild keeps the CUDA shim for this tree
    netty_tcnative: str = ""  # Debian's netty-tcnative library: TLS gRPC for Debian's Bazel
    filesystems: tuple[FsSpace, ...] = ()  # each filesystem once
    container_engine: ContainerEngine | None = None

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)
