"""auditwheel's verdict, from hand-written `auditwheel show --json` outputs in the shape of its
schema version 1 (auditwheel 6.8's show-schema.json: result_platform / result_pure / error)."""

import json

import pytest

from tfbuild import wheel_audit as wa
from tfbuild.wheel_audit import WheelAudit


def show(**fields) -> str:
    base = {"version": 1, "wheel": "w.whl", "pure": False, "overall_tag": "manylinux_2_17_x86_64",
            "sym_tag": "manylinux_2_17_x86_64", "pyfpe": False, "ucs2": False,
            "unsupported_isa": False, "versioned_symbols": {}, "external_libs": {},
            "policy_upgrades": {}}
    return json.dumps({**base, **fields}, indent=4)  # auditwheel indents its JSON


MANYLINUX = show(versioned_symbols={
    "libc.so.6": ["GLIBC_2.2.5", "GLIBC_2.17", "GLIBC_2.3.4", "GLIBC_2.9"],
    "libstdc++.so.6": ["GLIBCXX_3.4.19", "CXXABI_1.3.7"],
    "libtensorflow_cc.so.2": ["tensorflow"]})
CUDA = show(overall_tag="linux_x86_64", sym_tag="manylinux_2_28_x86_64",
            external_libs={"libcudnn.so.9": None,
                           "libcudart.so.12": "/usr/local/cuda/lib64/libcudart.so.12"},
            versioned_symbols={"libc.so.6": ["GLIBC_2.27", "GLIBC_2.28"]},
            policy_upgrades={"manylinux_2_28_x86_64": {"libs_to_eliminate": ["libcudart.so.12"]}})


def test_a_manylinux_wheel():
    audit = wa.parse_show_json(MANYLINUX, "tensorflow-2.18.1-cp311-cp311-manylinux_2_17_x86_64.whl",
                               "auditwheel 6.8.2")
    assert audit.ok and audit.portable
    assert (audit.policy, audit.symbol_policy, audit.external_libs) == (
        "manylinux_2_17_x86_64", "manylinux_2_17_x86_64", {})
    assert audit.glibc == "2.17"  # the newest GLIBC_ version, compared as numbers
    assert wa.summary(audit) == ("manylinux_2_17_x86_64, glibc >= 2.17; shared libraries "
                                 "needed from outside: none")
    assert wa.meaning(audit) == ["runs on any Linux that manylinux_2_17_x86_64 covers "
                                 "(glibc 2.17 or newer)"]


def test_a_wheel_that_needs_libraries_from_outside_is_linux_only():
    audit = wa.parse_show_json(CUDA, "tensorflow-2.18.1-cp310-cp310-linux_x86_64.whl")
    assert not audit.portable and audit.policy == "linux_x86_64"
    assert audit.external_libs == {"libcudart.so.12": "/usr/local/cuda/lib64/libcudart.so.12",
                                   "libcudnn.so.9": None}
    assert wa.summary(audit) == ("linux_x86_64, glibc >= 2.28; shared libraries needed from "
                                 "outside: libcudart.so.12, libcudnn.so.9 (not found here)")
    meaning = wa.meaning(audit)
    assert meaning[0].startswith("only linux_x86_64: no manylinux policy fits")
    assert "PyPI refuses it" in meaning[0]
    assert meaning[1].startswith("every machine that installs it must provide libcudart.so.12, "
                                 "libcudnn.so.9")
    assert "auditwheel repair" in meaning[1]
    assert len(meaning) == 2  # its symbols alone would fit manylinux_2_28


def test_symbols_newer_than_any_policy():
    audit = wa.parse_show_json(show(overall_tag="linux_x86_64", sym_tag="linux_x86_64",
                                    versioned_symbols={"libc.so.6": ["GLIBC_2.41"]}), "x.whl")
    assert wa.meaning(audit)[-1].startswith("it references symbol versions newer than any "
                                            "manylinux policy allows")


def test_blockers_are_named():
    audit = wa.parse_show_json(show(overall_tag="linux_x86_64", unsupported_isa=True), "x.whl")
    assert audit.blockers == ("needs unsupported ISA extensions",)
    assert "it needs unsupported ISA extensions" in wa.meaning(audit)


@pytest.mark.parametrize(("name", "expected"), [
    ("tensorflow-2.18.1-cp310-cp310-linux_x86_64.whl",
     "its file name says linux_x86_64, not manylinux_2_17_x86_64"),
    ("tensorflow-2.18.1-py3-none-any.whl", "its file name says it runs on any platform"),
])
def test_a_file_name_that_says_less_than_the_contents_meet(name, expected):
    meaning = wa.meaning(wa.parse_show_json(MANYLINUX, name))
    assert len(meaning) == 2 and meaning[1].startswith(expected)


def test_a_correctly_named_manylinux_wheel_needs_no_advice():
    name = "tensorflow-2.18.1-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"
    assert len(wa.meaning(wa.parse_show_json(MANYLINUX, name))) == 1


def test_pure_python():
    audit = wa.parse_show_json(json.dumps({"version": 1, "wheel": "p.whl", "pure": True}), "p.whl")
    assert audit.pure and audit.portable and wa.meaning(audit) == []
    assert wa.summary(audit) == "pure Python: installs anywhere"


@pytest.mark.parametrize(("stdout", "error"), [
    (json.dumps({"version": 1, "wheel": "x.whl", "error": "This does not look like a platform "
                 "wheel"}), "This does not look like a platform wheel"),
    ("usage: auditwheel [-h]", "auditwheel printed no JSON"),
    ("", "auditwheel printed no JSON"),
    (json.dumps({"version": 2, "wheel": "x.whl"}), "auditwheel's JSON is not schema version 1"),
])
def test_errors_are_data_not_exceptions(stdout, error):
    audit = wa.parse_show_json(stdout, "x.whl")
    assert not audit.ok and audit.error == error
    assert wa.summary(audit) == f"not audited: {error}"
    assert wa.meaning(audit) == []


def test_as_dict_for_the_manifest():
    data = wa.parse_show_json(CUDA, "t-1-cp310-cp310-linux_x86_64.whl", "auditwheel 6.8.2").as_dict()
    assert data["policy"] == "linux_x86_64" and data["glibc"] == "2.28"
    assert data["external_libs"]["libcudnn.so.9"] is None
    assert data["tool"] == "auditwheel 6.8.2" and data["error"] is None
    assert data["meaning"] and json.loads(json.dumps(data)) == data


def test_missing_auditwheel_is_an_audit_with_an_error(monkeypatch, tmp_path):
    from importlib import metadata

    from tfbuild import wheel_check as wheels
    from tfbuild.runner import Runner

    def not_installed(name):
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(wheels.metadata, "version", not_installed)
    audit = wheels.audit_wheel(tmp_path / "t-1-py3-none-any.whl", Runner(echo=False))
    assert audit == WheelAudit("t-1-py3-none-any.whl", error=audit.error)
    assert "auditwheel is not installed" in audit.error and "pip install" in audit.error


def test_a_cached_result_is_used_without_running_auditwheel(monkeypatch, tmp_path):
    from tfbuild import wheel_check as wheels
    from tfbuild.runner import Runner

    monkeypatch.setattr(wheels.metadata, "version", lambda name: "6.8.2")
    (tmp_path / "abc-6.8.2.json").write_text(MANYLINUX)
    audit = wheels.audit_wheel(tmp_path / "t-1-py3-none-any.whl", Runner(echo=False),
                               sha256="abc", cache=tmp_path)  # unit tests refuse processes
    assert audit.policy == "manylinux_2_17_x86_64" and audit.tool == "auditwheel 6.8.2"
