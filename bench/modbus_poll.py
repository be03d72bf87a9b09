"""Modbus polling of many meters: CPU per register, tierwatch's collector against a
minimal pymodbus loop, in the same run.

    PYTHONPATH=. python -m bench.modbus_poll [--meters 200] [--interval 5] [--rounds 6]

The meters are the simulator's (sim/modbus.py, the power-meter map: 27 registers in two
reads each), each a pymodbus TCP server on its own loopback port, all served by a child
process so their CPU is not counted here. Each side polls every meter every `interval`
seconds for `rounds` rounds and the CPU this process spent (user + system) is divided by the
registers it read:

* tierwatch: collector/modbus (ModbusPolling on the poll schedule, its own framing and
  checks, the profile's decoding, samples and statuses into a State);
* pymodbus: a minimal loop of AsyncModbusTcpClient reads of the same blocks, floats decoded
  with the client's convert_from_registers, nothing checked or kept (the floor a plain
  pymodbus poller costs).

Telegraf's modbus input (the issue's preferred peer) cannot be installed here: Telegraf is
not packaged in Debian, PyPI or npm.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def serve(meters: int) -> None:
    """The child: `meters` simulated meters; prints their ports as JSON, then serves."""
    from sim.modbus import ModbusServer, ModbusSimDevice, load_modbus_models

    async def run() -> None:
        model = load_modbus_models()["meter"]
        servers = [ModbusServer(ModbusSimDevice(f"m{i}", model)) for i in range(meters)]
        ports = [(await s.start("127.0.0.1", 0))[1] for s in servers]
        print(json.dumps(ports), flush=True)
        await asyncio.Event().wait()

    asyncio.run(run())


async def tierwatch_side(ports: list[int], interval: float, rounds: int) -> tuple[float, int]:
    from collector.modbus.component import ModbusPolling
    from collector.modbus.config import ModbusConfig
    from tierwatch.core.runtime import Runtime
    from tierwatch.core.state import State

    config = ModbusConfig.model_validate({
        "defaults": {"interval": interval, "timeout": 2, "retries": 0},
        "concurrency": 256,
        "devices": [{"id": f"m{i}", "address": f"127.0.0.1:{p}", "profile": "power-meter"}
                    for i, p in enumerate(ports)]})
    polling = ModbusPolling(config)
    state = State(polling.device_ids())
    await polling.start(Runtime.for_tests(state=state))
    await asyncio.sleep(interval)  # the first round (connections, splits) is not counted
    cpu, read = _cpu(), sum(polling.counters.registers.values())
    await asyncio.sleep(interval * rounds)
    cpu, read = _cpu() - cpu, sum(polling.counters.registers.values()) - read
    await polling.stop()
    refused = sum(polling.counters.refused.values())
    if refused:  # the first read across the meter's unmapped 3026..3029, once per meter
        print(f"# tierwatch side: {refused} refusals (before the reads were split)",
              file=sys.stderr)
    return cpu, read


async def pymodbus_side(ports: list[int], interval: float, rounds: int) -> tuple[float, int]:
    from pymodbus.client import AsyncModbusTcpClient

    clients = [AsyncModbusTcpClient("127.0.0.1", port=p, timeout=2, retries=0)
               for p in ports]
    for client in clients:
        await client.connect()
    kinds = AsyncModbusTcpClient.DATATYPE
    registers = 0

    async def poll(client: AsyncModbusTcpClient) -> int:
        got = 0
        # the reads tierwatch settles on: the meter refuses one across 3026..3029
        for address, count in ((3000, 10), (3020, 6), (3030, 6)):
            answer = await client.read_input_registers(address, count=count, device_id=1)
            if answer.isError():
                continue
            words = answer.registers
            got += len(words)
            for at in range(0, count - 1, 2):
                if address == 3000 and at == 8:  # the energy counter, a uint32
                    client.convert_from_registers(words[at:at + 2], kinds.UINT32)
                    continue
                client.convert_from_registers(words[at:at + 2], kinds.FLOAT32,
                                              word_order="little")
        return got

    async def one_round() -> int:
        return sum(await asyncio.gather(*(poll(c) for c in clients)))

    loop = asyncio.get_running_loop()
    await one_round()  # warm
    cpu = _cpu()
    start = loop.time()
    for k in range(rounds):
        registers += await one_round()
        await asyncio.sleep(max(0.0, start + (k + 1) * interval - loop.time()))
    cpu = _cpu() - cpu
    for client in clients:
        client.close()
    return cpu, registers


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--meters", type=int, default=200)
    parser.add_argument("--interval", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        serve(args.serve)
        return 0
    child = subprocess.Popen([sys.executable, "-m", "bench.modbus_poll", "--serve",
                              str(args.meters)], stdout=subprocess.PIPE, text=True,
                             env={**os.environ, "PYTHONPATH": str(REPO)})
    try:
        assert child.stdout is not None
        ports = json.loads(child.stdout.readline())
        ours_cpu, ours_regs = asyncio.run(tierwatch_side(ports, args.interval, args.rounds))
        peer_cpu, peer_regs = asyncio.run(pymodbus_side(ports, args.interval, args.rounds))
    finally:
        child.terminate()
        child.wait(timeout=30)
    ours = ours_cpu / max(1, ours_regs) * 1e6
    peer = peer_cpu / max(1, peer_regs) * 1e6
    print(f"{'side':12} {'registers':>10} {'cpu_s':>8} {'us/register':>12}")
    print(f"{'tierwatch':12} {ours_regs:>10} {ours_cpu:>8.2f} {ours:>12.2f}")
    print(f"{'pymodbus':12} {peer_regs:>10} {peer_cpu:>8.2f} {peer:>12.2f}")
    print(f"modbus_meters={args.meters}")
    print(f"modbus_interval_s={args.interval:g}")
    print(f"modbus_tierwatch_cpu_us_per_register={ours:.2f}")
    print(f"modbus_pymodbus_cpu_us_per_register={peer:.2f}")
    print(f"modbus_cpu_ratio_tierwatch_over_pymodbus={ours / peer:.2f}" if peer else
          "modbus_cpu_ratio_tierwatch_over_pymodbus=nan")
    print(f"modbus_tierwatch_cpu_share_of_one_core="
          f"{ours_cpu / (args.interval * args.rounds):.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
