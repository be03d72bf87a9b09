"""A poll worker process: its share of the SNMP devices, polled on its own event loop.

    python -m collector.snmp.worker      (started by collector/snmp/workers.py, never by hand)

The service writes one CONFIG frame to the worker's stdin (its index, the `snmp:` section,
the credentials its devices use, its devices), then POLL frames (poll a device now) and
STOP; the worker writes HELLO, then a RESULT for every poll, SKIPPED for every tick a poll
still running made it skip, PROFILES when `profile: auto` is resolved, and STATS (its
engine's datagram counters) every second, to its stdout (collector/snmp/wire.py). Its own
stdout is pointed at stderr first, so a stray print cannot corrupt the frames; its log
lines go to stderr, which it shares with the service.

The worker runs `SnmpPolling` (collector/snmp/component.py) as the service would: the same
schedule, engine, timeouts and profile mapping, with its own UDP socket; the SNMPv3
sessions (engine ids, clocks, keys) of its devices live here. It ends when the service says
STOP, when its stdin closes (the service is gone) or on SIGTERM; SIGINT is the service's to
handle (a Ctrl-C reaches the whole process group).
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import signal
import sys
import time
from typing import Any

from collector.config import CredentialConfig, DeviceConfig, SnmpConfig
from collector.snmp import transport
from collector.snmp.component import SnmpPolling
from collector.snmp.wire import (
    HEADER,
    MAX_FRAME,
    Kind,
    ResultEncoder,
    WireError,
    decode_config,
    decode_poll,
    encode_hello,
    encode_profiles,
    encode_skipped,
    encode_stats,
    parse_header,
)
from tierwatch.core.gcsettle import settle_garbage_collector
from tierwatch.core.model import PollResult

log = logging.getLogger(__name__)

STATS_EVERY = 1.0  # seconds between STATS frames (only when a counter moved)
# Octets written but not yet taken by the service (beyond the pipe's own 64 KiB) above
# which no scheduled poll starts: its tick is skipped and counted, as a tick is when the
# device's last poll still runs. So a service that falls behind (its one core busy with
# /metrics, the store, the alerts) slows its workers down rather than reading results
# seconds old: about 90 results of a 160-varbind walk.
MAX_BACKLOG = 128 * 1024
# beyond this, a poll that did run has its result dropped (counted as a skipped tick)
# rather than queued: the polls in flight when the backlog began, at most `concurrency`
MAX_QUEUED = 8 * 1024 * 1024
# Frames are written to the pipe together, at most every FLUSH_EVERY seconds (sooner once
# FLUSH_AT octets wait): each write wakes the service, whose one thread also renders
# /metrics, and on a busy machine every wake-up waits for a core. A poll's result is
# then up to 100 ms later, against intervals of seconds.
FLUSH_EVERY = 0.1
FLUSH_AT = 64 * 1024
DRAIN_WITHIN = 10.0  # seconds, after STOP, for the service to read what is written


class _Pipe(asyncio.Protocol):
    """The write end towards the service; `closed` is set when the service is gone."""

    def __init__(self) -> None:
        self.closed = asyncio.Event()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed.set()


class Worker:
    def __init__(self, config: dict[str, Any], out: asyncio.WriteTransport) -> None:
        self.index = int(config["index"])
        snmp = SnmpConfig.model_validate(config["snmp"])
        credentials = {name: CredentialConfig.model_validate(c)
                       for name, c in config["credentials"].items()}
        devices = [DeviceConfig.model_validate(d) for d in config["devices"]]
        self.polling = SnmpPolling(snmp, credentials, devices)
        self.position = {d.id: i for i, d in enumerate(devices)}
        self.encoder = ResultEncoder()
        self.out = out
        # the profiles the service knows (from the config); `profile: auto` is sent once
        # resolved
        self.profiles_sent = {k: list(v) for k, v in self.polling.profiles().items()}
        self.owed_skips: dict[int, int] = {}  # ticks not yet reported (a full pipe)
        self.tasks: set[asyncio.Task[None]] = set()
        self.behind_logged = -math.inf
        self.batch: list[bytes] = []  # frames not yet written (see FLUSH_EVERY)
        self.batch_size = 0
        self.flush_at: asyncio.TimerHandle | None = None

    # ------------------------------------------------------------------ to the service

    def _write(self, data: bytes) -> None:
        if self.out.is_closing():
            return
        self.batch.append(data)
        self.batch_size += len(data)
        if self.batch_size >= FLUSH_AT:
            self.flush()
        elif self.flush_at is None:
            self.flush_at = asyncio.get_running_loop().call_later(FLUSH_EVERY, self.flush)

    def flush(self) -> None:
        if self.flush_at is not None:
            self.flush_at.cancel()
            self.flush_at = None
        if self.batch and not self.out.is_closing():
            self.out.write(b"".join(self.batch))
        self.batch.clear()
        self.batch_size = 0

    def unsent(self) -> int:
        """Octets written here that the service has not taken (beyond the pipe's own)."""
        return self.out.get_write_buffer_size() + self.batch_size

    def may_poll(self) -> bool:
        if self.unsent() <= MAX_BACKLOG:
            return True
        now = time.monotonic()
        if now - self.behind_logged > 60.0:  # a line a minute at most; each tick is counted
            self.behind_logged = now
            log.warning("the service has not read %d octets of results: scheduled polls "
                        "are skipped until it catches up (tierwatch_polls_skipped_total)",
                        self.unsent())
        return False

    def _backlogged(self) -> bool:
        return self.unsent() > MAX_QUEUED

    def send_result(self, result: PollResult, tag: int = 0) -> None:
        device = self.position[result.device]
        runtime = self.polling.devices[result.device]
        if self.profiles_sent.get(result.device) != runtime.profiles:
            self.profiles_sent[result.device] = list(runtime.profiles)
            self._write(encode_profiles(device, runtime.profiles))
        if tag == 0 and self._backlogged():
            self.owed_skips[device] = self.owed_skips.get(device, 0) + 1
            return
        self._pay_skips()
        try:
            data = self.encoder.encode(device, result, tag)
        except WireError as exc:  # a result over MAX_FRAME: the poll fails, says why
            log.error("poll of %s: %s", result.device, exc)
            self.encoder.forget()  # what the service has of every shape is still right,
            # but start over rather than reason about a half-sent state
            failed = PollResult(result.device, result.ts, result.duration,
                                varbinds=result.varbinds, error="result_too_large",
                                message=str(exc))
            data = self.encoder.encode(device, failed, tag)
        self._write(data)

    def send_skipped(self, device_id: str) -> None:
        device = self.position[device_id]
        self.owed_skips[device] = self.owed_skips.get(device, 0) + 1
        if self.may_poll():
            self._pay_skips()

    def _pay_skips(self) -> None:
        if self.owed_skips:
            for device, count in self.owed_skips.items():
                self._write(encode_skipped(device, count))
            self.owed_skips.clear()

    async def send_stats(self) -> None:
        last: dict[str, int] = {}
        while True:
            stats = transport.transport_stats()
            if stats != last:
                self._write(encode_stats(stats))
                last = stats
            await asyncio.sleep(STATS_EVERY)

    # ------------------------------------------------------------------ from the service

    def poll_now(self, tag: int, device: int) -> None:
        ids = list(self.position)
        if not 0 <= device < len(ids):
            log.error("POLL of device %d: this worker has %d", device, len(ids))
            return
        device_id = ids[device]

        async def run() -> None:
            result = await self.polling.poll(device_id)
            self.send_result(result, tag)

        task = asyncio.get_running_loop().create_task(run())
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def stop(self) -> None:
        await self.polling.stop()
        for task in list(self.tasks):
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        transport.close_all()


async def _read_frame(reader: asyncio.StreamReader) -> tuple[Kind, bytes] | None:
    try:
        head = await reader.readexactly(HEADER.size)
    except asyncio.IncompleteReadError:
        return None
    kind, length = parse_header(head)
    return kind, await reader.readexactly(length)


async def serve(stdin_fd: int, stdout_fd: int) -> int:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=MAX_FRAME)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader),
                                 os.fdopen(stdin_fd, "rb", buffering=0))
    pipe = _Pipe()
    out, _ = await loop.connect_write_pipe(lambda: pipe, os.fdopen(stdout_fd, "wb",
                                                                   buffering=0))
    first = await _read_frame(reader)
    if first is None or first[0] is not Kind.CONFIG:
        log.error("poll worker: the service sent no CONFIG frame first")
        return 2
    config = decode_config(first[1])
    logging.getLogger().setLevel(int(config.get("log_level", logging.INFO)))
    worker = Worker(config, out)
    out.write(encode_hello(os.getpid(), worker.index))
    settle_garbage_collector()  # as the service's own process does once it runs
    worker.polling.start_schedule(worker.send_result, worker.send_skipped, worker.may_poll)
    stats = loop.create_task(worker.send_stats())
    terminated = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, terminated.set)
    ended = loop.create_task(terminated.wait())
    try:
        while True:
            read = loop.create_task(_read_frame(reader))
            done, _ = await asyncio.wait({read, ended}, return_when=asyncio.FIRST_COMPLETED)
            if read not in done:
                read.cancel()
                break
            got = read.result()
            if got is None or got[0] is Kind.STOP:
                break
            kind, payload = got
            if kind is Kind.POLL:
                worker.poll_now(*decode_poll(payload))
            else:
                log.error("poll worker: unexpected %s frame from the service", kind.name)
    except (WireError, asyncio.IncompleteReadError) as exc:
        log.error("poll worker: broken frame from the service: %s", exc)
    finally:
        stats.cancel()
        ended.cancel()
        await worker.stop()
        worker.flush()
        if not out.is_closing():
            # let what is written reach the service (it reads until our end closes; it
            # kills a worker that takes too long), never half a frame
            deadline = time.monotonic() + DRAIN_WITHIN
            while out.get_write_buffer_size() and time.monotonic() < deadline \
                    and not pipe.closed.is_set():
                await asyncio.sleep(0.01)
            out.close()
            await asyncio.sleep(0)  # the transport's close runs on the loop
    return 0


def main() -> int:
    # the frames' fd is a copy of stdout; stdout itself goes to stderr from here on
    frames_fd = os.dup(sys.stdout.fileno())
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    index = os.environ.get("TIERWATCH_WORKER_INDEX", "?")
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format=f"%(asctime)s %(levelname)-7s worker-{index} %(name)s: "
                               "%(message)s")
    return asyncio.run(serve(sys.stdin.fileno(), frames_fd))


if __name__ == "__main__":
    sys.exit(main())
