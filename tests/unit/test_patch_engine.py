"""The patch engine over the tests' own files shaped like the upstream ones."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tfbuild.errors import ConfigError
from tfbuild.patching import engine, literals
from tfbuild.patching.spec import all_specs, load

WS = Path(__file__).resolve().parents[1] / "fixtures" / "tfshaped"
REPO_BZL = WS / "third_party/xla/third_party/tsl/third_party/repo.bzl"
INSTALLER = WS / "third_party/rules_python_standin/python/private/pypi/whl_installer/wheel_installer.py"
CUDA_BZL = WS / "third_party/xla/third_party/tsl/third_party/gpus/cuda/hermetic/cuda_redist_init_repositories.bzl"
MIRROR = {"mirror": "https://mirrors.example.cn/tf", "mirror_host": "mirrors.example.cn",
          "direct_hosts": ["developer.download.nvidia.com"]}


def test_every_patch_is_described():
    specs = {s.id: s for s in all_specs()}
    assert set(specs) == {"download-mirror", "pip-mirror", "cuda-lib64"}
    for spec in specs.values():
        assert spec.why and spec.tf_versions == ("2.18.1",) and spec.files and spec.hunks


def test_download_mirror_routes_and_accepts_the_host():
    patched = engine.apply(REPO_BZL.read_text(), load("download-mirror"), MIRROR)
    assert "    return _tfbuild_mirror_urls(url)  # tfbuild:download-mirror\n" in patched
    assert '        "mirrors.example.cn",  # tfbuild:download-mirror\n' in patched
    assert '_TFBUILD_MIRROR = "https://mirrors.example.cn/tf"' in patched
    assert '_TFBUILD_DIRECT_HOSTS = ["developer.download.nvidia.com"]' in patched
    assert engine.is_patched(patched, load("download-mirror"))
    assert patched.startswith(REPO_BZL.read_text().split("def tf_mirror_urls")[0])


def test_missing_anchor_is_drift_and_optional_hunks_may_be_absent():
    spec = load("download-mirror")
    renamed = REPO_BZL.read_text().replace("def tf_mirror_urls(url):", "def tf_mirror_urls(url, x = 1):")
    with pytest.raises(engine.Drift) as info:
        engine.apply(renamed, spec, MIRROR)
    assert info.value.hunk.name == "route tf_mirror_urls to tfbuild's helper"
    without_check = REPO_BZL.read_text().split("def _tf_http_archive_impl")[0]
    assert "_tfbuild_mirror_urls" in engine.apply(without_check, spec, MIRROR)
    assert engine.drifted_hunks(renamed, spec)[0][1] == 0


def test_pip_index_lands_before_no_deps_as_one_list_element():
    original = INSTALLER.read_text()
    patched = engine.apply(original, load("pip-mirror"), {"pip_index": "https://pypi.example/simple"})
    assert '        + ["-i", "https://pypi.example/simple"]  # tfbuild:pip-mirror\n        + ["--no-deps"]' in patched
    ast.parse(patched)


HOSTILE = ['"]; import os; os.system("touch /tmp/pwned"); x = ["',
           'https://a.example/"\nimport os\n',
           "https://a.example/\\\"; import os #"]


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_values_are_refused_by_validation(value):
    with pytest.raises(ConfigError):
        literals.validate_url("mirrors.pip_index", value, allow_http=False)


@pytest.mark.parametrize("value", HOSTILE)
def test_escaping_keeps_hostile_values_inside_one_literal(value):
    """Even past validation, a value cannot leave its string literal."""
    patched = engine.apply(INSTALLER.read_text(), load("pip-mirror"), {"pip_index": value})
    tree = ast.parse(patched)
    assert len(tree.body) == len(ast.parse(INSTALLER.read_text()).body)
    literals_found = [n.value for n in ast.walk(tree) if isinstance(n, ast.Constant)]
    assert value in literals_found
    assert ast.literal_eval(literals.starlark(value)) == value


def test_url_validation():
    assert literals.validate_url("k", "https://mirror.example/tf/", allow_http=False) == \
        "https://mirror.example/tf"
    with pytest.raises(ConfigError, match="allow_http"):
        literals.validate_url("mirrors.tf_mirror", "http://mirror.example", allow_http=False)
    assert literals.validate_url("k", "http://10.0.0.1:8080/m", allow_http=True)
    for bad in ("ftp://x", "https://", "https://a b", "https://x/?q=1"):
        with pytest.raises(ConfigError):
            literals.validate_url("k", bad, allow_http=True)
    with pytest.raises(ConfigError, match="not a host name"):
        literals.validate_host("mirrors.direct_hosts", 'evil"]')


def test_cuda_lib64_routes_create_symlinks():
    patched = engine.apply(CUDA_BZL.read_text(), load("cuda-lib64"), {})
    assert "    return _tfbuild_create_symlinks(repository_ctx, local_path, dirs)  # tfbuild:cuda-lib64\n" in patched
    assert 'return path + "64"' in patched
