#!/usr/bin/env python3
"""The cluster benchmark (`scripts/cluster bench`): N image tasks (5,000) submitted one request
each through the gateway, against a provider emulator that answers every request after exactly
one second, with 100 provider slots spread over the two workers. Prints the wall time from the
first submission to the last completion against the ideal (N / slots seconds), the submission
rate, and the peak RSS of every process of the topology.

Environment (set by scripts/cluster): GATEWAY, CA_FILE, EMULATOR_URL, EMULATOR_STATS, SCRATCH,
BENCH_TASKS, BENCH_SLOTS.
"""

import json
import os
import sys
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor

from cluster_client import SCRATCH, Connection, emulator_stats, http, pid_of

TASKS = int(os.environ.get("BENCH_TASKS", "5000"))
SLOTS = int(os.environ.get("BENCH_SLOTS", "100"))
SHOTS_PER_PROJECT = 50  # two keyframes each: 100 image targets per project


def data(status, answer, expect):
    if status != expect:
        sys.exit(f"error: answered {status}, not {expect}: {answer}")
    return answer["data"]


def finished(kind="ai.image"):
    """Tasks of `kind` the workers have finished, by outcome, from their metrics."""
    counts = {}
    for port in (9103, 9104):
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as answer:
            for line in answer.read().decode().splitlines():
                if line.startswith("cinegen_tasks_finished_total{") and f'type="{kind}"' in line:
                    outcome = line.split('outcome="', 1)[1].split('"', 1)[0]
                    counts[outcome] = counts.get(outcome, 0) + float(line.rsplit(" ", 1)[1])
    return counts


def peak_rss():
    """Peak resident memory (VmHWM) of each process of the topology, in MiB."""
    peaks = {name: pid_of(name) for name in ("api-1", "api-2", "worker-1", "worker-2", "nginx", "emulator")}
    out = {}
    for name, pid in peaks.items():
        try:
            with open(f"/proc/{pid}/status") as status:
                for line in status:
                    if line.startswith("VmHWM:"):
                        out[name] = int(line.split()[1]) / 1024
        except OSError:
            out[name] = None
    return out


def cpu_seconds():
    """CPU time (user + system) so far of each kind of process on the machine."""
    tick = os.sysconf("SC_CLK_TCK")
    named = {pid_of(name): name for name in ("api-1", "api-2", "worker-1", "worker-2", "emulator")}
    totals = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
            with open(f"/proc/{entry}/cmdline", "rb") as cmdline:
                command = cmdline.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        pid = int(entry)
        if pid in named:
            kind = named[pid]
        elif pid == os.getpid():
            kind = "load generator"
        elif "postgres" in command:
            kind = "postgres"
        elif "moto_server" in command or "s3s-fs" in command:
            kind = "s3"
        elif command.startswith("nginx"):
            kind = "nginx"
        elif "redis-server" in command:
            kind = "redis"
        else:
            continue
        totals[kind] = totals.get(kind, 0.0) + (int(fields[11]) + int(fields[12])) / tick
    return totals


def main():
    email = f"bench-{os.getpid()}@example.com"
    session = data(*http("POST", "/api/v1/auth/register", body={"email": email, "password": "bench-password-1", "name": "bench"}), 201)
    token = session["tokens"]["access"]
    data(*http("PUT", "/api/v1/settings/providers", token, {
        "providers": {"openai": {"api_key": "bench-key", "base_url": os.environ["EMULATOR_URL"] + "/v1"}},
        "defaults": {"image": "openai"},
    }), 200)
    targets = []
    for p in range((TASKS + 2 * SHOTS_PER_PROJECT - 1) // (2 * SHOTS_PER_PROJECT)):
        shots = [
            {"id": f"s{i}", "visualPrompt": f"镜头 {i}", "keyframes": [
                {"id": f"s{i}-start", "type": "start", "visualPrompt": f"渡口 黄昏 {i}"},
                {"id": f"s{i}-end", "type": "end", "visualPrompt": f"江心 深夜 {i}"},
            ]}
            for i in range(SHOTS_PER_PROJECT)
        ]
        project = data(*http("POST", "/api/v1/projects", token, {"title": f"bench {p}", "shots": shots}), 201)["project"]["id"]
        targets += [(project, f"s{i}", kind) for i in range(SHOTS_PER_PROJECT) for kind in ("start", "end")]
    targets = targets[:TASKS]
    before = finished().get("completed", 0)
    print(f"{TASKS} image tasks over {len(targets) // (2 * SHOTS_PER_PROJECT) or 1} projects, {SLOTS} provider slots, "
          f"the provider answering after 1 s: ideal {TASKS / SLOTS:.1f} s", flush=True)

    connections = threading.local()

    def submit(target):
        project, shot, kind = target
        if not hasattr(connections, "gateway"):
            connections.gateway = Connection()
        status, answer = connections.gateway.request("POST", "/api/v1/ai/image/generate", token,
                                                     {"project_id": project, "shot_id": shot, "keyframe_type": kind})
        if status != 202:
            raise RuntimeError(f"{status}: {answer}")

    cpu_before = cpu_seconds()
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=16) as pool:
        list(pool.map(submit, targets))
    submitted = time.monotonic() - started
    print(f"submitted in {submitted:.1f} s ({TASKS / submitted:.0f} requests/s through the gateway)", flush=True)
    while True:
        counts = finished()
        done = counts.get("completed", 0) - before
        if done + counts.get("failed", 0) >= TASKS:
            break
        if time.monotonic() - started > 20 * TASKS / SLOTS + 120:
            sys.exit(f"error: only {done} of {TASKS} finished: {counts}")
        time.sleep(0.5)  # each look reads the queue gauges from the database: not too often
    wall = time.monotonic() - started
    cpu_after = cpu_seconds()
    cpu = {kind: cpu_after[kind] - cpu_before.get(kind, 0.0) for kind in cpu_after}
    ideal = TASKS / SLOTS
    stats = emulator_stats()
    print(f"wall {wall:.1f} s = {wall / ideal:.3f} x ideal ({ideal:.0f} s); {counts.get('failed', 0):.0f} failed; "
          f"{stats['calls']} provider requests", flush=True)
    for name, mib in peak_rss().items():
        print(f"  peak RSS {name:9} {mib:7.1f} MiB" if mib else f"  peak RSS {name:9} (gone)")
    print(f"  CPU seconds while it ran ({wall * os.cpu_count():.0f} available on {os.cpu_count()} cores):")
    for kind, seconds in sorted(cpu.items(), key=lambda item: -item[1]):
        print(f"    {kind:15} {seconds:6.1f} s")
    with open(f"{SCRATCH}/bench.json", "w") as out:
        json.dump({"tasks": TASKS, "slots": SLOTS, "wall": wall, "ideal": ideal, "submitted": submitted,
                   "peak_rss_mib": peak_rss(), "cpu_seconds": cpu}, out)


if __name__ == "__main__":
    main()
