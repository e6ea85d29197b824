#!/usr/bin/env python3
"""The cluster drill (`scripts/cluster test`): a creator's whole pipeline through the gateway
while the provider fails a share of its requests, one API instance and one worker are killed
with SIGKILL in the middle of the clip batch, and the other worker and the other API instance
are stopped with SIGTERM. Then it checks what docs/OPERATIONS.md promises:

- every task ends completed, or failed with a permanent error (never a transient one given up);
- no provider video job is submitted twice (the emulator counts the jobs);
- every asset of the project is an object in the S3 bucket, and downloads;
- the live feed through the gateway saw every task end (reconnecting with `since`);
- no request is lost beyond those in flight at the killed instance;
- how long each killed or stopped process took to be back.

Environment (set by scripts/cluster): GATEWAY, CA_FILE, EMULATOR_URL, EMULATOR_STATS, SCRATCH,
S3_ENDPOINT, S3_BUCKET, S3_ACCESS_KEY, S3_SECRET_KEY.
"""

import asyncio
import json
import os
import signal
import sys
import time
import urllib.parse
import urllib.request
from datetime import datetime

import boto3
import websockets

from cluster_client import GATEWAY, SCRATCH, TLS, emulator_stats, http, pid_of

TERMINAL = {"completed", "failed", "cancelled"}
# Lease of a killed worker's task (compose's default, 30 s) plus the restart: the drill's bound.
DEADLINE_SECS = 240


def log(*parts):
    print(f"[{time.strftime('%T')}]", *parts, flush=True)


class Failed(Exception):
    pass


def check(condition, message):
    if not condition:
        raise Failed(message)


async def call(method, path, token=None, body=None, expect=(200,)):
    status, answer = await asyncio.to_thread(http, method, path, token, body)
    check(status in expect, f"{method} {path} answered {status}: {answer}")
    return answer["data"] if answer and "data" in answer else answer


def moment(text):
    """An RFC 3339 time as the server writes it (up to nine fractional digits)."""
    head, _, fraction = text.rstrip("Z").partition(".")
    return datetime.fromisoformat(head + "+00:00").timestamp() + float(f"0.{fraction or 0}")


class Feed:
    """The live task feed through the gateway, reconnecting with `since` whenever it drops."""

    def __init__(self, token):
        self.token = token
        self.final = {}  # task id -> terminal status seen
        self.events = {}  # task id -> [(when received, status)]
        self.since = None
        self.reconnects = 0
        self.stopped = False

    def take(self, task, live):
        if live:  # a change as it happened, not a snapshot's account of it
            self.events.setdefault(task["id"], []).append((time.monotonic(), task["status"]))
        if self.since is None or moment(task["updated_at"]) > moment(self.since):
            self.since = task["updated_at"]
        if task["status"] in TERMINAL:
            self.final[task["id"]] = task["status"]

    async def run(self):
        base = GATEWAY.replace("https://", "wss://")
        while not self.stopped:
            query = {"token": self.token}
            if self.since:
                query["since"] = self.since
            url = f"{base}/api/v1/ws/tasks?{urllib.parse.urlencode(query)}"
            try:
                async with websockets.connect(url, ssl=TLS, open_timeout=5) as socket:
                    async for raw in socket:
                        message = json.loads(raw)
                        if message["type"] == "snapshot":
                            for task in message["tasks"]:
                                self.take(task, live=False)
                        else:
                            self.take(message["task"], live=True)
            except (OSError, websockets.exceptions.WebSocketException, asyncio.TimeoutError):
                pass
            if not self.stopped:
                self.reconnects += 1
                await asyncio.sleep(0.2)


class Traffic:
    """Readers and writers keeping the gateway busy: each has at most one request in flight, so
    a killed instance can take at most one request of each."""

    def __init__(self, token, project, loops=4):
        self.token, self.project, self.loops = token, project, loops
        self.sent = 0
        self.lost = []  # (time, what, why)
        self.stopped = False

    async def loop(self, n):
        requests = [
            ("GET", f"/api/v1/projects/{self.project}", None),
            ("GET", f"/api/v1/ai/tasks?project_id={self.project}&size=100", None),
            ("POST", "/api/v1/ws/ticket", {}),  # not repeated by the gateway if an instance dies
        ]
        i = n
        while not self.stopped:
            method, path, body = requests[i % len(requests)]
            i += 1
            self.sent += 1
            at = time.monotonic()
            try:
                status, _ = await asyncio.to_thread(http, method, path, self.token, body, GATEWAY, 10)
                if status >= 500:
                    self.lost.append((at, f"{method} {path}", f"HTTP {status}"))
            except OSError as error:
                self.lost.append((at, f"{method} {path}", str(error)))
            await asyncio.sleep(0.05)

    async def run(self):
        await asyncio.gather(*(self.loop(n) for n in range(self.loops)))


async def back_after(name, old_pid, port, since):
    """Seconds from `since` until `name` runs as a new process that answers /ready."""
    while time.monotonic() - since < 60:
        try:
            if pid_of(name) != old_pid:
                status, _ = await asyncio.to_thread(http, "GET", "/ready", None, None, f"http://127.0.0.1:{port}", 2)
                if status == 200:
                    return time.monotonic() - since
        except (OSError, ValueError):
            pass
        await asyncio.sleep(0.05)
    raise Failed(f"{name} was not back within 60 s")


async def wait_task(token, task_id, timeout=DEADLINE_SECS):
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        task = (await call("GET", f"/api/v1/ai/tasks/{task_id}", token))["task"]
        if task["status"] in TERMINAL:
            return task
        await asyncio.sleep(0.5)
    raise Failed(f"task {task_id} did not finish within {timeout} s")


async def stats():
    return await asyncio.to_thread(emulator_stats)


WORKERS = {"worker-1": 9103, "worker-2": 9104}


def busy(port):
    """Tasks the worker with metrics on `port` is running now."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as answer:
        for line in answer.read().decode().splitlines():
            if line.startswith("cinegen_worker_busy "):
                return float(line.split()[1])
    return 0.0


async def chaos(recoveries):
    """Once clips are at the provider, kills an API instance and the worker running the most of
    them, then stops the other worker and the other API instance."""
    started = time.monotonic()
    while (await stats())["jobs"].get("video", 0) < 3 and time.monotonic() - started < 60:
        await asyncio.sleep(0.2)
    await asyncio.sleep(1)  # some polls and progress in flight
    loads = {name: await asyncio.to_thread(busy, port) for name, port in WORKERS.items()}
    victim = max(loads, key=loads.get)
    other = next(name for name in WORKERS if name != victim)
    check(loads[victim] > 0, f"no worker was running a clip: {loads}")
    log(f"running now: {loads}")
    kill_at = time.monotonic()
    killed = {}
    for name in ("api-1", victim):
        killed[name] = pid_of(name)
        os.kill(killed[name], signal.SIGKILL)
        log(f"killed {name} (pid {killed[name]}) with SIGKILL")
    for name, port in (("api-1", 8001), (victim, WORKERS[victim])):
        recoveries[name] = ("SIGKILL", await back_after(name, killed[name], port, kill_at))
    for name, port in ((other, WORKERS[other]), ("api-2", 8002)):
        pid, stopped_at = pid_of(name), time.monotonic()
        os.kill(pid, signal.SIGTERM)
        log(f"stopped {name} (pid {pid}) with SIGTERM")
        recoveries[name] = ("SIGTERM", await back_after(name, pid, port, stopped_at))
    return kill_at


async def drill():
    started = time.monotonic()
    email = f"drill-{os.getpid()}@example.com"
    session = await call(
        "POST", "/api/v1/auth/register", body={"email": email, "password": "drill-password-1", "name": "演练"},
        expect=(201,),
    )
    token = session["tokens"]["access"]
    await call("PUT", "/api/v1/settings/providers", token, {
        "providers": {"kling": {"api_key": "cluster-ak", "secret_key": "cluster-sk", "base_url": os.environ["EMULATOR_URL"]}},
        "defaults": {"text": "local", "image": "kling", "video": "kling"},
    })
    feed = Feed(token)
    feed_task = asyncio.create_task(feed.run())
    script = open("fixtures/scripts/dukou-zh.txt", encoding="utf-8").read()
    project = (await call("POST", "/api/v1/projects", token, {
        "title": "渡口记", "language": "zh", "target_duration": "30s", "raw_script": script,
    }, expect=(201,)))["project"]["id"]
    traffic = Traffic(token, project)
    traffic_task = asyncio.create_task(traffic.run())

    async def step(path, body=None):
        body = {"project_id": project, **(body or {})}
        task = (await call("POST", path, token, body, expect=(202,)))["task"]
        done = await wait_task(token, task["id"])
        log(f"{path}: {done['status']} {json.dumps(done.get('result'), ensure_ascii=False)}")
        return done

    await step("/api/v1/ai/script/parse")
    await step("/api/v1/ai/batch/images")
    await step("/api/v1/ai/batch/keyframes")
    doc = (await call("GET", f"/api/v1/projects/{project}", token))["project"]
    shots = [shot["id"] for shot in doc["shots"]]
    log(f"{len(shots)} shots; the clip batch starts")
    recoveries = {}
    clips = await call("POST", "/api/v1/ai/batch/clips", token, {"project_id": project}, expect=(202,))
    kill_at = await chaos(recoveries)
    done = await wait_task(token, clips["task"]["id"])
    log(f"/api/v1/ai/batch/clips: {done['status']} {done.get('result')}")
    await step("/api/v1/ai/video/merge", {"shot_ids": shots})
    traffic.stopped = True
    await traffic_task
    await asyncio.sleep(2)  # the last events reach the feed
    feed.stopped = True
    feed_task.cancel()

    # Every task ended well, or with a permanent error.
    tasks = (await call("GET", f"/api/v1/ai/tasks?project_id={project}&size=100", token))["items"]
    by_kind = {}
    for task in tasks:
        by_kind.setdefault(task["kind"], []).append(task)
        check(task["status"] in TERMINAL, f"task {task['id']} ({task['kind']}) is still {task['status']}")
        if task["status"] == "failed":
            code = task["error"]["code"]
            check(code not in ("TRANSIENT_ERROR", "INTERNAL_ERROR"),
                  f"task {task['id']} ({task['kind']}) gave up on a passing fault: {task['error']}")
            log(f"task {task['id']} ({task['kind']}) failed for good: {task['error']}")
    failed = [t for t in tasks if t["status"] != "completed"]
    check(not failed, f"{len(failed)} of {len(tasks)} tasks did not complete: {[t['error'] for t in failed]}")

    # One provider job per clip, and every request the emulator got was well-formed.
    seen = await stats()
    videos = len(by_kind.get("ai.video", []))
    check(seen["jobs"].get("video", 0) == videos, f"{seen['jobs']} provider jobs for {videos} clip tasks")
    check(not seen["violations"], f"the emulator saw malformed requests: {seen['violations']}")

    # Every asset is an object in the bucket, and downloads.
    doc = (await call("GET", f"/api/v1/projects/{project}", token))["project"]
    urls = [c["referenceImage"] for c in doc["script_data"]["characters"]]
    urls += [s["referenceImage"] for s in doc["script_data"].get("scenes", []) if s.get("referenceImage")]
    for shot in doc["shots"]:
        urls += [k["imageUrl"] for k in shot["keyframes"]]
        urls.append(shot["interval"]["videoUrl"])
    urls.append(doc["merged_video_url"])
    s3 = boto3.client(
        "s3", endpoint_url=os.environ["S3_ENDPOINT"], region_name="us-east-1",
        aws_access_key_id=os.environ["S3_ACCESS_KEY"], aws_secret_access_key=os.environ["S3_SECRET_KEY"],
    )
    bucket = os.environ["S3_BUCKET"]
    keys = {o["Key"] for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket) for o in page.get("Contents", [])}
    for url in urls:
        check(url, f"an asset slot is empty: {doc}")
        # A document names a file by its stable path (the server redirects it to a fresh link).
        path = urllib.parse.unquote(urllib.parse.urlsplit(url).path)
        key = path.removeprefix(f"/{bucket}/").removeprefix("/")
        check(key in keys, f"{url} is not an object of the bucket")
        link = GATEWAY + url if url.startswith("/") else url
        with urllib.request.urlopen(link, timeout=30, context=TLS) as answer:
            check(answer.status == 200 and len(answer.read()) > 100, f"{url} does not download")

    # The feed saw every task end.
    missing = [t["id"] for t in tasks if feed.final.get(t["id"]) != t["status"]]
    check(not missing, f"the feed missed the end of {len(missing)} tasks: {missing}")

    # The work back: every clip running at the SIGKILL moves again (the killed worker's once its
    # lease lapses; the stopped worker's at once, handed back).
    resumed = []
    for task in by_kind.get("ai.video", []):
        times = feed.events.get(task["id"], [])
        before = [status for at, status in times if at < kill_at]
        after = [at for at, _ in times if at >= kill_at]
        if before and before[-1] == "running" and after:
            resumed.append(after[0] - kill_at)
    work_back = max(resumed, default=0.0)

    # Requests lost only at the killed instance, while in flight.
    late = [(round(at - kill_at, 2), what, why) for at, what, why in traffic.lost if not (kill_at - 0.5 <= at <= kill_at + 1)]
    check(not late, f"requests lost away from the SIGKILL: {late}")
    check(len(traffic.lost) <= traffic.loops, f"more requests lost than were in flight: {traffic.lost}")

    log("the drill passed:")
    log(f"  {len(tasks)} tasks, {videos} clips from {seen['jobs']} provider jobs, {seen['calls']} provider requests")
    log(f"  {len(urls)} assets in the bucket; the feed reconnected {feed.reconnects} times and saw every task end")
    log(f"  {traffic.sent} requests through the gateway, {len(traffic.lost)} lost in flight at the SIGKILL")
    for name, (how, seconds) in recoveries.items():
        log(f"  {name}: back {seconds:.2f} s after {how}")
    log(f"  every clip that was running moved again within {work_back:.1f} s of the SIGKILL (the killed worker's once its lease lapsed)")
    log(f"  {time.monotonic() - started:.0f} s in all")
    with open(f"{SCRATCH}/drill.json", "w") as out:
        json.dump({"tasks": len(tasks), "recoveries": recoveries, "work_back": work_back,
                   "lost": len(traffic.lost), "sent": traffic.sent}, out)


def main():
    try:
        asyncio.run(asyncio.wait_for(drill(), DEADLINE_SECS + 120))
    except Failed as failure:
        print(f"error: the drill failed: {failure}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
