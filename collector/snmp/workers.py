"""SNMP polling from worker processes: one per core (or `snmp.workers`), each with a share
of the devices, its own event loop and UDP socket (collector/snmp/worker.py), all feeding
the one state of this process. /metrics, the Tier engine, the API and the trap port stay
here.

`snmp_polling()` picks: with one worker, `SnmpPolling` polls in this process, as it always
did; with more, `WorkerPolling` splits the devices (collector/snmp/workershare.py), starts
a process per share and applies what each sends back exactly as `SnmpPolling` would
(`State.update` for every scheduled poll, `State.count_skipped` for every skipped tick), so
the profile mapping, status rules, self-metrics and transitions are one implementation.
`poll(device)` (`tierwatch poll`, the traps' confirming polls) asks the owning worker, or
polls here before the workers start.

What a worker sends is read as the network is (collector/snmp/wire.py): a frame that is
refused is counted by reason (`tierwatch_snmp_worker_refused_frames_total`) and its worker
is killed and started again. A worker that ends while the service runs is started again
after a pause that doubles up to a minute (reset once a worker has run for a minute), and
counted (`tierwatch_snmp_worker_restarts_total`); its devices go unpolled meanwhile, so they
age exactly as they would behind a stalled poller. Each worker's CPU (from /proc) is
`tierwatch_snmp_worker_cpu_seconds_total`; the CPU of an ended process counts up to its
last reading (taken every second and at each scrape).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
import time
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import Any

from collector.config import CredentialConfig, DeviceConfig, SnmpConfig
from collector.snmp.component import SnmpPolling, poll_deadline
from collector.snmp.metrics import SnmpEngineCollector, WorkersCollector
from collector.snmp.transport import transport_stats
from collector.snmp.wire import (
    HEADER,
    Kind,
    ResultDecoder,
    WireError,
    decode_hello,
    decode_profiles,
    decode_skipped,
    decode_stats,
    encode_config,
    encode_poll,
    frame,
    parse_header,
)
from collector.snmp.workershare import split_devices, worker_count
from tierwatch.core.model import PollResult
from tierwatch.core.runtime import Runtime

log = logging.getLogger(__name__)

HELLO_WITHIN = 60.0  # seconds a new worker has to import, read its config and say hello
STOP_WITHIN = 5.0  # seconds a worker has to finish after STOP before it is killed
RESTART_FIRST, RESTART_MAX, RESTART_RESET = 0.5, 60.0, 60.0
MAX_SKIPPED_PER_FRAME = 1_000_000
_ROOT = Path(__file__).resolve().parents[2]  # the directory that holds collector/
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def snmp_polling(snmp: SnmpConfig, credentials: Mapping[str, CredentialConfig],
                 devices: Sequence[DeviceConfig]) -> SnmpPolling | WorkerPolling:
    """The SNMP poller `snmp.workers` asks for (1: this process)."""
    count = worker_count(snmp, devices)
    if count <= 1:
        return SnmpPolling(snmp, credentials, devices)
    return WorkerPolling(snmp, credentials, devices, count)


def process_cpu_seconds(pid: int) -> float | None:
    """User + system CPU of a process, or None once it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            fields = f.read().rpartition(b")")[2].split()
    except OSError:
        return None
    # after "(comm)": state is field 3; utime and stime are fields 14 and 15
    return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS


def _credentials_doc(credentials: Mapping[str, CredentialConfig],
                     devices: Sequence[DeviceConfig]) -> dict[str, Any]:
    """The credentials these devices use, secrets as written (`${ENV}` references are read
    by the worker from the environment it inherits, as this process read them)."""
    out: dict[str, Any] = {}
    for name in sorted({d.credentials for d in devices}):
        cred = credentials[name]
        doc = cred.model_dump(mode="json", exclude={"community", "auth_key", "priv_key"})
        for key in ("community", "auth_key", "priv_key"):
            secret = getattr(cred, key)
            if secret is not None:
                doc[key] = secret.get_secret_value()
        out[name] = doc
    return out


class _Worker:
    """One worker process and what this side keeps of it, across its restarts."""

    def __init__(self, index: int, share: list[DeviceConfig], config: dict[str, Any],
                 pool: WorkerPolling) -> None:
        self.index = index
        self.share = share
        self.config = config
        self.pool = pool
        self.decoder = ResultDecoder([d.id for d in share])
        self.process: asyncio.subprocess.Process | None = None
        self.up = False
        self.stopping = False
        self.task: asyncio.Task[None] | None = None
        self.restarts = 0
        self.cpu_ended = 0.0  # CPU of this worker's ended processes
        self.cpu_last = 0.0  # the running process's CPU at its last reading
        self.stats_ended: dict[str, int] = {}
        self.stats: dict[str, int] = {}
        self.ready = asyncio.Event()  # set while `up`
        self._pending: dict[int, asyncio.Future[PollResult]] = {}
        self._next_tag = 0

    # ------------------------------------------------------------------ readings

    def cpu_seconds(self) -> float:
        process = self.process
        if process is not None and process.returncode is None:
            now = process_cpu_seconds(process.pid)
            if now is not None:
                self.cpu_last = now
        return self.cpu_ended + self.cpu_last

    def engine_stats(self) -> dict[str, int]:
        out = dict(self.stats_ended)
        for key, value in self.stats.items():
            out[key] = out.get(key, 0) + value
        return out

    # ------------------------------------------------------------------ requests

    async def request(self, device_id: str, position: int, deadline: float) -> PollResult:
        if not self.up and not self.stopping:  # starting, or between two processes
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(deadline):
                    await self.ready.wait()
        process = self.process
        if not self.up or process is None or process.stdin is None:
            return PollResult(device_id, time.time(), error="worker_down",
                              message=f"poll worker {self.index} is not running")
        self._next_tag = self._next_tag % 0xFFFFFFFF + 1
        while self._next_tag in self._pending:
            self._next_tag = self._next_tag % 0xFFFFFFFF + 1
        tag = self._next_tag
        future: asyncio.Future[PollResult] = asyncio.get_running_loop().create_future()
        self._pending[tag] = future
        started = time.time()
        try:
            process.stdin.write(encode_poll(tag, position))
            async with asyncio.timeout(deadline):
                return await future
        except TimeoutError:
            return PollResult(device_id, started, time.time() - started, error="poll_timeout",
                              message=f"poll worker {self.index} did not answer within "
                                      f"{deadline:g}s")
        finally:
            self._pending.pop(tag, None)

    def _fail_pending(self, why: str) -> None:
        for future in self._pending.values():
            if not future.done():
                future.set_result(PollResult("", time.time(), error="worker_down",
                                             message=why))
        self._pending.clear()

    # ------------------------------------------------------------------ the process

    async def supervise(self) -> None:
        delay = RESTART_FIRST
        loop = asyncio.get_running_loop()
        while not self.stopping:
            began = loop.time()
            try:
                await self._run_process()
            except asyncio.CancelledError:
                raise
            except Exception:  # a defect here must not end supervision: logged, restarted
                log.exception("poll worker %d: supervision failed", self.index)
            if self.stopping:
                return
            if loop.time() - began > RESTART_RESET:
                delay = RESTART_FIRST
            self.restarts += 1
            log.error("poll worker %d ended; starting it again in %gs (restart %d)",
                      self.index, delay, self.restarts)
            await asyncio.sleep(delay)
            delay = min(delay * 2, RESTART_MAX)

    async def _run_process(self) -> None:
        env = {**os.environ, "TIERWATCH_WORKER_INDEX": str(self.index),
               "PYTHONPATH": os.pathsep.join(
                   p for p in (str(_ROOT), os.environ.get("PYTHONPATH", "")) if p)}
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "collector.snmp.worker", stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE, env=env,
            # its own process group: a signal to the service's group (Ctrl-C, `kill -- -PID`)
            # is the service's to handle; it stops its workers itself
            start_new_session=True)
        assert process.stdin is not None and process.stdout is not None
        self.process = process
        self.cpu_last = 0.0
        self.decoder.forget()
        try:
            process.stdin.write(encode_config(self.config))
            if self.stopping:  # stop() came while the process was starting
                process.stdin.write(frame(Kind.STOP))
            async with asyncio.timeout(HELLO_WITHIN):
                hello = await _read_frame(process.stdout)
            if hello is None:
                log.error("poll worker %d exited before it said hello", self.index)
                return
            if hello[0] is not Kind.HELLO:
                raise WireError("unexpected_kind", f"{hello[0].name} before HELLO")
            said = decode_hello(hello[1])
            if said.pid != process.pid or said.index != self.index:
                raise WireError("malformed", f"HELLO from pid {said.pid} index {said.index}")
            self.up = True
            self.ready.set()
            log.info("poll worker %d (pid %d) polls %d devices", self.index, process.pid,
                     len(self.share))
            while True:
                got = await _read_frame(process.stdout)
                if got is None:
                    break
                self._dispatch(*got)
        except WireError as exc:
            if self.stopping and exc.reason == "truncated":
                log.info("poll worker %d: its last frame was cut short at shutdown",
                         self.index)
            else:
                self.pool.refused[exc.reason] = self.pool.refused.get(exc.reason, 0) + 1
                log.error("poll worker %d sent a frame refused (%s): %s; killing it",
                          self.index, exc.reason, exc)
        except TimeoutError:
            log.error("poll worker %d did not say hello within %gs", self.index, HELLO_WITHIN)
        except (BrokenPipeError, ConnectionResetError, asyncio.IncompleteReadError):
            pass  # the process is gone: its return code says more below
        finally:
            self.up = False
            self.ready.clear()
            self.cpu_seconds()  # the last reading, while /proc still has it
            self.cpu_ended += self.cpu_last
            self.cpu_last = 0.0
            for key, value in self.stats.items():
                self.stats_ended[key] = self.stats_ended.get(key, 0) + value
            self.stats = {}
            self._fail_pending(f"poll worker {self.index} ended")
            if process.returncode is None:
                process.kill()
            code = await process.wait()
            if not self.stopping:
                log.error("poll worker %d (pid %d) exited with %s", self.index, process.pid,
                          code)

    def _dispatch(self, kind: Kind, payload: bytes) -> None:
        state = self.pool.state
        if kind is Kind.RESULT:
            tag, result = self.decoder.decode(payload)
            if tag == 0:
                if state is not None:
                    state.update(result)
                return
            future = self._pending.pop(tag, None)
            if future is None:  # the answer to a request that timed out here: too late
                log.debug("poll worker %d: late answer to request %d (%s)", self.index, tag,
                          result.device)
            elif not future.done():
                future.set_result(result)
        elif kind is Kind.SKIPPED:
            position, count = decode_skipped(payload)
            device_id = self.decoder.device(position)
            if not 1 <= count <= MAX_SKIPPED_PER_FRAME:
                raise WireError("malformed", f"{count} skipped ticks")
            if state is not None:
                state.count_skipped(device_id, count)
        elif kind is Kind.PROFILES:
            position, names = decode_profiles(payload)
            device_id = self.decoder.device(position)
            self.pool.resolved[device_id] = names
            log.info("device %s: profiles %s", device_id, ", ".join(names))
        elif kind is Kind.STATS:
            self.stats = decode_stats(payload)
            self.cpu_seconds()
        else:
            raise WireError("unexpected_kind", f"a {kind.name} frame from a worker")

    async def stop(self) -> None:
        self.stopping = True
        process = self.process
        if process is not None and process.returncode is None and process.stdin is not None:
            try:
                process.stdin.write(frame(Kind.STOP))
                process.stdin.close()
            except (BrokenPipeError, ConnectionResetError):
                pass
        self.ready.set()  # a request waiting for the worker to start gives up now
        task = self.task
        if task is None:
            return
        if process is None or process.returncode is not None:
            task.cancel()  # starting or between two processes: nothing to wait for
        else:
            done, _ = await asyncio.wait({task}, timeout=STOP_WITHIN)
            if not done:
                log.error("poll worker %d did not stop within %gs; killed", self.index,
                          STOP_WITHIN)
                if process.returncode is None:
                    process.kill()
                task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        process = self.process  # (a process started meanwhile is killed by the task's end)
        if process is not None and process.returncode is None:
            process.kill()
            await process.wait()


async def _read_frame(stream: asyncio.StreamReader) -> tuple[Kind, bytes] | None:
    """The next frame, None at a clean end, WireError for a broken one."""
    try:
        head = await stream.readexactly(HEADER.size)
    except asyncio.IncompleteReadError as exc:
        if exc.partial:
            raise WireError("truncated", f"the stream ended {len(exc.partial)} octets into "
                                         f"a frame header") from None
        return None
    kind, length = parse_header(head)
    try:
        return kind, await stream.readexactly(length)
    except asyncio.IncompleteReadError as exc:
        raise WireError("truncated", f"the stream ended {len(exc.partial)} octets into a "
                                     f"{length}-octet {kind.name} frame") from None


class WorkerPolling:
    """The SNMP devices of one instance, polled by `count` worker processes."""

    def __init__(self, snmp: SnmpConfig, credentials: Mapping[str, CredentialConfig],
                 devices: Sequence[DeviceConfig], count: int) -> None:
        # here, for polls before the workers start (`tierwatch poll`), the device list, the
        # profiles written in the config and each device's poll deadline
        self.local = SnmpPolling(snmp, credentials, devices)
        self.state: Any = None  # the runtime's State, once started
        self.resolved: dict[str, list[str]] = {}  # `profile: auto`, as workers report it
        self.refused: dict[str, int] = {}
        snmp_doc = snmp.model_dump(mode="json", exclude={"discovery"})
        self.workers: list[_Worker] = []
        self._owner: dict[str, tuple[_Worker, int]] = {}
        for index, share in enumerate(split_devices(snmp, devices, count)):
            config = {"index": index, "log_level": logging.getLogger().getEffectiveLevel(),
                      "snmp": snmp_doc, "credentials": _credentials_doc(credentials, share),
                      "devices": [d.model_dump(mode="json") for d in share]}
            worker = _Worker(index, share, config, self)
            self.workers.append(worker)
            for position, device in enumerate(share):
                self._owner[device.id] = (worker, position)
        self._started = False

    def device_ids(self) -> Collection[str]:
        return self.local.device_ids()

    def profiles(self) -> Mapping[str, list[str]]:
        """Each device's profiles (for `profile: auto`, once a worker resolved them)."""
        written = self.local.profiles()
        return {k: self.resolved.get(k, v) for k, v in written.items()}

    def longest_interval(self) -> float:
        return self.local.longest_interval()

    def engine_stats(self) -> dict[str, int]:
        """The native engine's counters: this process's own (sweeps, polls before start)
        and every worker's."""
        total = transport_stats()
        for worker in self.workers:
            for key, value in worker.engine_stats().items():
                total[key] = total.get(key, 0) + value
        return total

    async def poll(self, device_id: str) -> PollResult:
        """Poll one device now; nothing is recorded. Raises KeyError for an unknown id."""
        if not self._started:
            return await self.local.poll(device_id)
        worker, position = self._owner[device_id]
        # the worker keeps the device's own deadline; this one only guards against a
        # worker that hangs
        deadline = poll_deadline(self.local.devices[device_id]) * 2 + 10.0
        result = await worker.request(device_id, position, deadline)
        result.device = device_id
        return result

    async def start(self, rt: Runtime) -> None:
        self.state = rt.state
        rt.metrics.register(SnmpEngineCollector(self.engine_stats))
        rt.metrics.register(WorkersCollector(self))
        self._started = True
        loop = asyncio.get_running_loop()
        for worker in self.workers:
            worker.task = loop.create_task(worker.supervise(),
                                           name=f"snmp poll worker {worker.index}")

    async def stop(self) -> None:
        await asyncio.gather(*(w.stop() for w in self.workers))
        self._started = False
        await self.local.stop()
