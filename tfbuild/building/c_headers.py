"""The C API headers for dist/<profile>/include/, laid out as TensorFlow's libtensorflow archive
lays them out (`include/tensorflow/c/c_api.h` beside the libraries), so that a user's C program
(the notes' model_run) compiles and links from dist/ alone:

    cc -I dist/<profile>/include prog.c dist/<profile>/libtensorflow.so.2 \\
       -Wl,-rpath,dist/<profile> -o prog

Which headers: the wheel carries the C API under `tensorflow/include/` (TF 2.18.1's wheel:
`tensorflow/include/tensorflow/c/…`, with the headers they include from `tsl/` and `xla/tsl/`);
the C compiler says which of them the C API's entry headers include (`-MM`), and exactly those are
taken. Nothing is guessed from a glob or from parsing `#include` lines.
"""

from __future__ import annotations

import re
import tempfile
import zipfile
from pathlib import Path, PurePosixPath

from tfbuild import paths
from tfbuild.runner import Runner

WHEEL_INCLUDE = "tensorflow/include/"
# The C API a libtensorflow user includes: the graph/session API, its experimental part and the
# eager API (the C headers of TF's libtensorflow archive that compile as C).
ENTRY_HEADERS = ("tensorflow/c/c_api.h", "tensorflow/c/c_api_experimental.h",
                 "tensorflow/c/eager/c_api.h")
MAX_HEADER_BYTES = 4 << 20
_DEP_TOKEN = re.compile(r"(?:\\ |[^\s\\])+")  # a make-rule word (spaces escaped as "\ ")


def _extract_headers(wheel: Path, into: Path) -> int:
    """The wheel's .h files under tensorflow/include/, into `into` (paths checked: no absolute
    or `..` member leaves it)."""
    count = 0
    with zipfile.ZipFile(wheel) as archive:
        for info in archive.infolist():
            name = info.filename
            if not name.startswith(WHEEL_INCLUDE) or not name.endswith(".h") or info.is_dir():
                continue
            relative = PurePosixPath(name[len(WHEEL_INCLUDE):])
            if relative.is_absolute() or ".." in relative.parts or info.file_size > MAX_HEADER_BYTES:
                continue
            target = into / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(archive.read(info))
            count += 1
    return count


def included_by(make_rule: str, root: Path) -> list[str]:
    """The files under `root` that a `cc -MM` rule names, relative to root, in its order."""
    body = make_rule.split(":", 1)[1] if ":" in make_rule else ""
    out: list[str] = []
    base = str(root).rstrip("/") + "/"
    for token in _DEP_TOKEN.findall(body.replace("\\\n", " ")):
        path = token.replace("\\ ", " ")
        if path.startswith(base) and path[len(base):] not in out:
            out.append(path[len(base):])
    return out


def c_api_headers(wheel: Path, cc: str, runner: Runner) -> tuple[dict[str, bytes], str]:
    """{include-relative path: content} of the C API headers, and a note when there are none
    (a wheel without tensorflow/include/, or the compiler refused)."""
    with tempfile.TemporaryDirectory(prefix="tfbuild-headers-", dir=paths.scratch_root()) as tmp:
        root = Path(tmp) / "include"
        if not _extract_headers(wheel, root):
            return {}, f"{wheel.name} carries no C headers under {WHEEL_INCLUDE}"
        entries = [h for h in ENTRY_HEADERS if (root / h).is_file()]
        if not entries:
            return {}, f"{wheel.name} has none of {', '.join(ENTRY_HEADERS)}"
        unit = Path(tmp) / "c_api_headers.c"
        unit.write_text("".join(f'#include "{h}"\n' for h in entries))
        result = runner.run([cc, "-MM", "-I", str(root), str(unit)], check=False, quiet=True,
                            timeout=120)
        if not result.ok:
            return {}, (f"{cc} -MM refused the C API headers of {wheel.name}: "
                        + (result.stderr.strip().splitlines() or ["no output"])[-1][:300])
        return {name: (root / name).read_bytes() for name in included_by(result.stdout, root)}, ""
