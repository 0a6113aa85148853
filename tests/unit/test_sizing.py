from tfbuild import sizing
from tfbuild.building.command import BuildRequest, plan_command
from tfbuild.discovery.facts import Machine
from tfbuild.settings import resolve


def machine(total, available, cores=32):
    return Machine(cpu_count=cores, mem_total_gib=total, mem_available_gib=available,
                   disk_path="/", disk_free_gib=500.0)


def test_jobs_come_from_available_memory_less_heap_and_link_headroom():
    # 64 GiB installed, 20 available (a desktop, a browser, another build)
    plan = sizing.budget(machine(64.0, 20.0), cuda=True)
    assert (plan.heap_gib, plan.link_headroom_gib, plan.per_job_gib) == (6.0, 2.0, 3.0)
    assert plan.jobs == 4  # floor((20 - 6 - 2) / 3), not 64 / 3
    cpu = sizing.budget(machine(64.0, 20.0), cuda=False)
    assert (cpu.heap_gib, cpu.link_headroom_gib, cpu.jobs) == (4.0, 2.0, 7)  # (20 - 4 - 2) / 2


def test_jobs_are_at_least_one_and_at_most_the_cores():
    assert sizing.recommended_jobs(machine(8.0, 5.0), cuda=True) == 1
    assert sizing.recommended_jobs(machine(512.0, 500.0, cores=8), cuda=True) == 8


def test_jvm_cap_is_a_stable_startup_option_from_the_pins():
    cuda = resolve("rtx3050", env={}).settings
    startup = plan_command(cuda, BuildRequest(jobs=2), bazel="bazel", jobs=2, env={}).startup
    again = plan_command(cuda, BuildRequest(jobs=9), bazel="bazel", jobs=9, env={}).startup
    assert startup == again and "--host_jvm_args=-Xmx6g" in startup
    cpu = resolve("cpu", env={}).settings
    assert sizing.jvm_startup_options(cpu) == ["--host_jvm_args=-Xmx4g"]


def test_the_profiles_own_heap_cap_wins_and_sizes_the_jobs():
    settings = resolve("cpu", env={}, overrides=[
        "build.startup_options=--host_jvm_args=-Xmx12288m"]).settings
    assert sizing.jvm_startup_options(settings) == []
    assert sizing.bazel_heap_gib(settings) == 12.0
    startup = plan_command(settings, BuildRequest(), bazel="bazel", jobs=1, env={}).startup
    assert [o for o in startup if "Xmx" in o] == ["--host_jvm_args=-Xmx12288m"]
    assert sizing.recommended_jobs(machine(64.0, 30.0), False, 12.0) == 8  # (30 - 12 - 2) / 2


def test_the_heap_is_capped_only_when_memory_is_short_for_the_jobs():
    """Issue 20 item 8: a 6 GiB cap is below the JVM's default (25% of RAM) on machines with
    more than 24 GiB; it is set only where that default would take the jobs' memory."""
    cuda = resolve("rtx3050", env={}).settings
    cpu = resolve("cpu", env={}).settings
    roomy = sizing.heap_plan(cuda, machine(128.0, 120.0, cores=16))  # 32 + 16 x 3 + 2 <= 128
    assert roomy.cap_gib is None and roomy.default_gib == 32.0
    assert sizing.jvm_startup_options(cuda, machine(128.0, 120.0, cores=16)) == []
    assert "not capped" in roomy.reason and roomy.sizing_gib == 32.0
    short = sizing.heap_plan(cuda, machine(64.0, 60.0, cores=16))  # 16 + 48 + 2 > 64
    assert short.cap_gib == 6.0 and "capped at 6 GiB" in short.reason
    assert sizing.jvm_startup_options(cuda, machine(64.0, 60.0, cores=16)) == [
        "--host_jvm_args=-Xmx6g"]
    small = sizing.heap_plan(cpu, machine(8.0, 7.0, cores=2))  # default 2 GiB < 4 needed
    assert small.cap_gib == 4.0 and "below what TF's analysis needs" in small.reason
    here = sizing.heap_plan(cpu, machine(24.0, 20.0, cores=2))  # this machine: no cap
    assert here.cap_gib is None


def test_the_heap_decision_is_stable_from_run_to_run():
    """A startup option: from the physical RAM and the cores, never from what is free now."""
    cuda = resolve("rtx3050", env={}).settings
    busy = plan_command(cuda, BuildRequest(), bazel="b", jobs=1, env={},
                        machine=machine(64.0, 10.0, cores=16)).startup
    idle = plan_command(cuda, BuildRequest(), bazel="b", jobs=1, env={},
                        machine=machine(64.0, 62.0, cores=16)).startup
    assert busy == idle


def test_the_heap_decision_goes_into_the_manifest():
    from tfbuild.building import manifest
    from tests.helpers.facts import healthy_facts

    profile = resolve("rtx3050", env={})
    facts = healthy_facts()
    doc = manifest.build_manifest(
        profile=profile, settings=profile.settings, facts=facts, patches=[], rc_sha256="0" * 64,
        argv=[], environment={}, cwd="/src", artifacts=[], run={},
        heap=sizing.heap_plan(profile.settings, facts.machine).as_dict())
    assert doc["bazel"]["heap"]["cap_gib"] == 6.0 and doc["bazel"]["heap"]["reason"]
