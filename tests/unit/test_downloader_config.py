"""The Bazel downloader config tfbuild writes from the profile's mirror.

The file shape is Bazel's UrlRewriterConfig (src/main/java/com/google/devtools/build/lib/bazel/
repository/downloader/UrlRewriterConfig.java: `rewrite <regex> <replacement>` lines, `#`
comments; UrlRewriter.java matches the regex against the whole URL without its scheme, returns
only the rewritten URLs when one matches, and keeps the original scheme unless the replacement
has one). The integration test runs it through the real Bazel 4.2.3."""

import re

import pytest

from tfbuild.downloads import downloader_config
from tfbuild.errors import ConfigError
from tfbuild.settings import resolve

EXPECTED = """\
# Bazel downloader config, written by tfbuild from the profile (mirrors.host_mirrors,
# mirrors.tf_mirror, mirrors.direct_hosts): each download through its mirror first,
# then at its original URL; direct hosts and URLs already on a mirror as they are.
rewrite ^(?!(?:developer\\.download\\.nvidia\\.com|storage\\.googleapis\\.com/mirror\\.tensorflow\\.org)(?:[/:]|$))(.*)$ https://storage.googleapis.com/mirror.tensorflow.org/$1
rewrite ^(.*)$ $1
"""


def rewrite(config: str, url: str) -> list[str]:
    """UrlRewriter's rewrite step, in Python (the regexes use only syntax Java shares)."""
    scheme, rest = url.split("://", 1)
    out: list[str] = []
    for line in config.splitlines():
        if not line.startswith("rewrite "):
            continue
        _, pattern, replacement = line.split()
        match = re.fullmatch(pattern, rest)
        if match:
            new = re.sub(r"\$(\d)", lambda m: match.group(int(m.group(1))), replacement)
            new = new if new.startswith(("http://", "https://")) else f"{scheme}://{new}"
            if new not in out:
                out.append(new)
    return out or [url]


def test_file_shape_for_the_default_mirror():
    settings = resolve("cpu", overrides=["mirrors.downloader_config=true"]).settings
    text = downloader_config.render(settings)
    assert text == EXPECTED
    for line in text.splitlines():  # UrlRewriterConfig splits on whitespace: exactly 3 parts
        assert line.startswith("#") or len(line.split()) == 3


def test_every_download_mirror_first_except_direct_hosts_and_the_mirror():
    config = downloader_config.render(
        resolve("cpu", overrides=["mirrors.downloader_config=true"]).settings)
    gh = "https://github.com/bazelbuild/rules_python/releases/download/0.34.0/rules_python-0.34.0.tar.gz"
    assert rewrite(config, gh) == [
        "https://storage.googleapis.com/mirror.tensorflow.org/github.com/bazelbuild/rules_python/"
        "releases/download/0.34.0/rules_python-0.34.0.tar.gz", gh]
    nvidia = "https://developer.download.nvidia.com/compute/cuda/redist/redistrib_12.4.0.json"
    assert rewrite(config, nvidia) == [nvidia]
    mirrored = "https://storage.googleapis.com/mirror.tensorflow.org/github.com/x/y.tar.gz"
    assert rewrite(config, mirrored) == [mirrored]


def test_off_by_default_and_no_file_without_a_mirror(tmp_path):
    assert downloader_config.options(resolve("cpu").settings, tmp_path, write=False) == ()
    settings = resolve("cpu", overrides=["mirrors.downloader_config=true",
                                         "mirrors.tf_mirror="]).settings
    assert downloader_config.options(settings, tmp_path, write=False) == ()


def test_plain_http_mirror_needs_allow_http():
    with pytest.raises(ConfigError, match="allow_http"):  # refused where settings resolve
        resolve("cpu", overrides=["mirrors.downloader_config=true",
                                  "mirrors.tf_mirror=http://mirror.example"])


PYPI_FILE = ("https://files.pythonhosted.org/packages/ab/cd/nvidia_nccl_cu12-2.21.5-py3-none-"
             "manylinux2014_x86_64.whl")
STANDALONE = ("https://github.com/indygreg/python-build-standalone/releases/download/20240224/"
              "cpython-3.10.13+20240224-x86_64-unknown-linux-gnu-install_only.tar.gz")


def test_each_host_goes_to_its_own_mirror_first_then_its_origin():
    """Issue 20 item 2: PyPI-hosted files (the NCCL wheel) to the pip mirror's file host,
    GitHub release archives to a GitHub proxy, NVIDIA's files to an NVIDIA mirror."""
    settings = resolve("cpu", overrides=[
        "mirrors.host_mirrors.files.pythonhosted.org=https://pypi.mirror.example/files",
        "mirrors.host_mirrors.github.com=https://ghproxy.example/github.com",
        "mirrors.host_mirrors.developer.download.nvidia.com=https://nv.mirror.example"]).settings
    config = downloader_config.render(settings)
    assert rewrite(config, PYPI_FILE) == [
        PYPI_FILE.replace("https://files.pythonhosted.org", "https://pypi.mirror.example/files"),
        PYPI_FILE]
    assert rewrite(config, STANDALONE)[0].startswith(
        "https://ghproxy.example/github.com/indygreg/python-build-standalone/")
    nvidia = "https://developer.download.nvidia.com/compute/cuda/redist/redistrib_12.4.0.json"
    assert rewrite(config, nvidia) == [
        "https://nv.mirror.example/compute/cuda/redist/redistrib_12.4.0.json", nvidia]
    other = "https://example.org/a.tar.gz"
    assert rewrite(config, other) == [other]  # downloader_config off: no tf_mirror rule
    assert downloader_config.options(settings, __import__("pathlib").Path("/tmp"), write=False)


def test_host_mirrors_come_before_the_tf_mirror_and_are_not_sent_through_it():
    settings = resolve("cpu", overrides=[
        "mirrors.downloader_config=true",
        "mirrors.host_mirrors.github.com=https://ghproxy.example/github.com"]).settings
    config = downloader_config.render(settings)
    assert rewrite(config, STANDALONE) == [
        STANDALONE.replace("https://github.com", "https://ghproxy.example/github.com"),
        STANDALONE]
    other = "https://example.org/a.tar.gz"
    assert rewrite(config, other) == [
        "https://storage.googleapis.com/mirror.tensorflow.org/example.org/a.tar.gz", other]


@pytest.mark.parametrize("override, key", [
    ("mirrors.host_mirrors.github.com=ftp://x", "mirrors.host_mirrors"),
    ("mirrors.host_mirrors.github.com=http://proxy.example", "mirrors.host_mirrors"),
    ("mirrors.host_mirrors.bad host=https://x.example", "mirrors.host_mirrors"),
])
def test_bad_host_mirrors_are_refused_naming_the_key(override, key):
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        resolve("cpu", overrides=[override])



def test_the_notes_profile_sends_pypi_files_to_its_pip_mirror_first():
    """rtx3050 (the seed notes' machine) uses the notes' USTC pip mirror for what Bazel
    downloads from PyPI's file host itself; NVIDIA stays direct, as in the notes' repo.bzl."""
    config = downloader_config.render(resolve("rtx3050").settings)
    wheel = ("https://files.pythonhosted.org/packages/ab/cd/"
             "nvidia_nccl_cu12-2.21.5-py3-none-manylinux2014_x86_64.whl")
    assert rewrite(config, wheel) == [
        "https://mirrors.ustc.edu.cn/pypi/packages/ab/cd/"
        "nvidia_nccl_cu12-2.21.5-py3-none-manylinux2014_x86_64.whl", wheel]
    nvidia = "https://developer.download.nvidia.com/compute/cuda/redist/redistrib_12.4.0.json"
    assert rewrite(config, nvidia) == [nvidia]
