import pytest

from tfbuild import capabilities as caps


@pytest.mark.parametrize("text, normal", [
    ("sm_80", "sm_80"), ("compute_90", "compute_90"), ("8.6", "sm_86"), ("86", "sm_86"),
    ("SM_89", "sm_89"), (" sm_90a ", "sm_90a"),
])
def test_accepted_forms_normalise(text, normal):
    assert str(caps.parse(text)) == normal


@pytest.mark.parametrize("text, reason, fix", [
    ("sm8", "needs two digits", "sm_80"),
    ("8.6.1", "major.minor, not a version number", "8.6 or sm_86"),
    ("sm86", "need the underscore", "sm_86"),
    ("sm_100", "only two-digit capabilities", "up to sm_90"),
    ("10.0", "only two-digit capabilities", "up to sm_90"),
    ("ampere", "not a compute capability", "sm_XY"),
])
def test_rejected_forms_explain_and_suggest(text, reason, fix):
    with pytest.raises(caps.CapabilityError) as info:
        caps.parse(text)
    assert reason in info.value.reason and fix in info.value.fix


def test_normalise_deduplicates_and_collects_problems():
    good, problems = caps.normalise(["8.6", "sm_86", "sm8", "compute_90"])
    assert [str(c) for c in good] == ["sm_86", "compute_90"]
    assert [p.text for p in problems] == ["sm8"]


def test_cuda_12_cannot_target_kepler():
    good, _ = caps.normalise(["sm_35", "sm_37", "sm_80"])
    problems = caps.untargetable(good, "12.4.0")
    assert [p.text for p in problems] == ["sm_35", "sm_37"]
    assert "oldest is sm_50" in problems[0].reason
    assert caps.untargetable(caps.normalise(["sm_35"])[0], "11.8") == []


@pytest.mark.parametrize("cap, gpu, runs", [
    ("sm_80", (8, 6), True),    # the notes: sm_80 for an RTX 3050
    ("sm_86", (8, 0), False),   # newer minor does not run on older
    ("sm_80", (9, 0), False),   # SASS does not cross majors
    ("compute_80", (9, 0), True),  # PTX is JIT-compiled forward
    ("compute_90", (8, 9), False),
    ("sm_90a", (9, 0), True),
    ("sm_90a", (10, 0), False),
])
def test_runs_on(cap, gpu, runs):
    assert caps.runs_on(caps.parse(cap), *gpu) is runs


def test_gpu_capability_and_native():
    assert caps.parse_gpu_capability("8.6") == (8, 6)
    assert caps.parse_gpu_capability("[N/A]") is None
    assert caps.native(8, 6) == "sm_86"
    assert caps.joined(caps.normalise(["8.6", "compute_90"])[0]) == "sm_86,compute_90"
