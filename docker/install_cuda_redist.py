"""Installs CUDA components from NVIDIA's redistributable archives into one prefix, inside the
image build (standard library only). The redistrib JSON is checked against a pinned sha256 and
every archive against the sha256 the JSON gives, as TF's hermetic CUDA rules do."""

import argparse
import hashlib
import json
import shutil
import tarfile
import tempfile
import urllib.request
from pathlib import Path


def fetch(url: str, sha256: str, dest: Path) -> Path:
    digest = hashlib.sha256()
    with urllib.request.urlopen(url, timeout=120) as response, open(dest, "wb") as out:
        while block := response.read(1 << 20):
            digest.update(block)
            out.write(block)
    if digest.hexdigest() != sha256:
        raise SystemExit(f"sha256 mismatch for {url}: expected {sha256}, got {digest.hexdigest()}")
    return dest


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--json-url", required=True)
    parser.add_argument("--json-sha256", required=True)
    parser.add_argument("--url-prefix", required=True)
    parser.add_argument("--prefix", required=True)
    parser.add_argument("--component", action="append", required=True)
    args = parser.parse_args()
    prefix = Path(args.prefix)
    prefix.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        index = json.loads(fetch(args.json_url, args.json_sha256, Path(tmp) / "redistrib.json").read_text())
        for component in args.component:
            entry = index[component]["linux-x86_64"]
            archive = fetch(args.url_prefix + entry["relative_path"], entry["sha256"],
                            Path(tmp) / Path(entry["relative_path"]).name)
            with tarfile.open(archive) as tar:
                top = tar.getnames()[0].split("/")[0]
                tar.extractall(tmp, filter="data")
            for item in (Path(tmp) / top).iterdir():
                target = prefix / item.name
                if item.is_dir():
                    shutil.copytree(item, target, symlinks=True, dirs_exist_ok=True)
                else:
                    shutil.copy2(item, target, follow_symlinks=False)
            shutil.rmtree(Path(tmp) / top)
            archive.unlink()
            print(f"installed {component} {index[component].get('version', '')}")


if __name__ == "__main__":
    main()
