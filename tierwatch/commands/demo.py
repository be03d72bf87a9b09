"""demo and sim: the simulated data center, for a person trying tierwatch and for tests."""

from __future__ import annotations

import asyncio
import json
import os
import signal
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml

from sim import agent as sim_agent
from sim.egov import CityServices
from tierwatch.config import ConfigError, parse
from tierwatch.core.configtypes import split_host_port

DEMO_CONFIG = sim_agent.SIM_DIR / "demo.yaml"
DEFAULT_RUN_DIR = Path(".tierwatch-demo")
DEMO_TRAPS = "127.0.0.1:16162"  # the demo's trap receiver (a free port if this one is taken)

RunDirOpt = Annotated[Path, typer.Option("--run-dir", help="where the simulator keeps its state")]

sim_app = typer.Typer(help="The simulated data center: serve it, inject and clear faults.",
                      no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
    app.add_typer(sim_app, name="sim")


def _fail(message: str, code: int = 1) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def demo(
    listen: Annotated[str | None, typer.Option(
        help="address of /metrics and the API (port 0: any free port)")] = None,
    run_dir: RunDirOpt = DEFAULT_RUN_DIR,
    interval: Annotated[float | None, typer.Option(help="poll interval in seconds")] = None,
) -> None:
    """Start the simulated data center and the monitor on loopback; Ctrl-C stops both."""
    asyncio.run(_demo(listen, run_dir.resolve(), interval))


def effective_demo_config(addresses: dict[str, tuple[str, int]], run_dir: Path,
                          interval: float | None,
                          trap_listen: tuple[str, int] | None = None) -> dict[str, Any]:
    raw: dict[str, Any] = yaml.safe_load(DEMO_CONFIG.read_text(encoding="utf-8"))
    if trap_listen is not None:
        # the demo's own trap receiver: its simulated devices send their traps there, so a
        # fault pages at once (sim/traps.py). Other instances on this config listen nowhere.
        raw["traps"] = {
            "enabled": True, "listen": f"{trap_listen[0]}:{trap_listen[1]}",
            "communities": ["sim"]}
    for device in [*raw.get("devices", []), *(raw.get("modbus") or {}).get("devices", [])]:
        if device["id"] in addresses:
            host, port = addresses[device["id"]]
            device["address"] = f"{host}:{port}"
    if interval is not None:
        raw.setdefault("snmp", {}).setdefault("defaults", {})["interval"] = interval
    raw["store"] = {"url": f"sqlite:///{run_dir / 'tierwatch.sqlite'}"}
    return raw


async def _demo(listen: str | None, run_dir: Path, interval: float | None) -> None:
    from tierwatch.runner import run_forever

    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "demo.json").unlink(missing_ok=True)
    base = yaml.safe_load(DEMO_CONFIG.read_text(encoding="utf-8"))
    wanted_ports = {d["id"]: split_host_port(d["address"], 161)[1] for d in base["devices"]}
    wanted_ports.update({d["id"]: split_host_port(d["address"], 502)[1]
                         for d in (base.get("modbus") or {}).get("devices", [])})
    inventory = sim_agent.load_inventory()
    modbus = sim_agent.load_modbus_inventory()
    for spec in inventory:
        spec.port = wanted_ports.get(spec.id) or 0
    for mspec in modbus:
        mspec.port = wanted_ports.get(mspec.id) or 0
    trap_listen = _free_udp_or_default(DEMO_TRAPS)
    simulator = sim_agent.Simulator(run_dir, inventory, trap_sinks=[trap_listen],
                                    modbus=modbus)
    sim_agent.write_faults(run_dir / "faults.json", {})  # a new demo starts healthy
    await simulator.start()
    city = CityServices(run_dir)  # the e-government services, real servers on loopback
    await city.start()
    _add_to_inventory(run_dir, city.devices())
    raw = effective_demo_config(simulator.addresses, run_dir, interval, trap_listen)
    raw["services"] = {"interval": "5s", "timeout": "2s", "checks": city.checks()}
    # a concrete port in the written config, so `tierwatch score/whatif -c` it find the demo
    listen = _concrete(listen or raw.get("server", {}).get("listen", "127.0.0.1:9650"))
    raw.setdefault("server", {})["listen"] = listen
    config_path = run_dir / "tierwatch.yaml"
    config_path.write_text(
        "# written by `tierwatch demo` from sim/demo.yaml: the addresses are this run's "
        "simulator\n" + yaml.safe_dump(raw, allow_unicode=True, sort_keys=False),
        encoding="utf-8")
    try:
        config = parse(config_path.read_text(encoding="utf-8"), config_path).config
    except ConfigError as exc:
        await simulator.stop()
        await city.stop()
        _fail(str(exc))
        return

    async def announce(service: Any, server: Any) -> None:
        info = {
            "metrics": f"{server.url}/metrics",
            "api_docs": f"{server.url}/docs",
            "status": f"{server.url}/",
            "config": str(config_path),
            "run_dir": str(run_dir),
            "devices": {k: f"{h}:{p}" for k, (h, p) in simulator.addresses.items()},
            "traps": f"{trap_listen[0]}:{trap_listen[1]}",
            "pid": os.getpid(),
        }
        (run_dir / "demo.json").write_text(json.dumps(info, indent=1), encoding="utf-8")
        typer.echo(
            f"\ntierwatch demo: {len(simulator.devices)} simulated devices, "
            f"polled every {config.snmp.defaults.interval:g}s\n"
            f"  status    {info['status']}\n"
            f"  metrics   {info['metrics']}\n"
            f"  API docs  {info['api_docs']}\n"
            f"  config    {config_path}\n"
            f"  try       tierwatch sim fault ups-b on-bypass --run-dir {run_dir}\n"
            f"            tierwatch score -c {config_path}\n"
            f"            tierwatch whatif -c {config_path} --remove UPS-A\n"
            f"            tierwatch sim fault core-1 port-down --port 15 --run-dir {run_dir}\n"
            f"            tierwatch sim fault portal-web failing --run-dir {run_dir}\n"
            f"            tierwatch sim clear --run-dir {run_dir}\n"
            f"  Ctrl-C stops the demo.\n")

    try:
        await run_forever(config, listen=listen, on_started=announce)
    finally:
        await city.stop()
        await simulator.stop()


def _add_to_inventory(run_dir: Path, devices: dict[str, dict[str, Any]]) -> None:
    """List the city's service servers in sim.json beside the SNMP agents, so `tierwatch
    sim fault portal-web failing` and `sim list` know them."""
    path = run_dir / "sim.json"
    info = json.loads(path.read_text(encoding="utf-8"))
    info["devices"].update(devices)
    path.write_text(json.dumps(info, indent=1), encoding="utf-8")


def _free_udp_or_default(listen: str) -> tuple[str, int]:
    """The configured UDP address if it is free, else the same host on a free port."""
    import socket

    host, port = split_host_port(listen, default_port=162)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            sock.bind((host, port or 0))
        except OSError:
            sock.bind((host, 0))
        return host, int(sock.getsockname()[1])


def _concrete(listen: str) -> str:
    """The address if its port is given and free, else the same host on a free port (the
    port number itself, so the written config names where the demo serves)."""
    import socket

    host, port = split_host_port(listen, default_port=None)
    bare = host.strip("[]")
    family = socket.AF_INET6 if ":" in bare else socket.AF_INET
    with socket.socket(family) as sock:
        if port:
            try:
                sock.bind((bare, port))
                return listen
            except OSError:
                pass
        sock.bind((bare, 0))
        found = sock.getsockname()[1]
    return f"[{bare}]:{found}" if ":" in bare else f"{bare}:{found}"


@sim_app.command("serve")
def sim_serve(run_dir: RunDirOpt = DEFAULT_RUN_DIR,
              host: Annotated[str, typer.Option(help="loopback address to serve on")] = "127.0.0.1",
              trap_sink: Annotated[list[str] | None, typer.Option(
                  metavar="HOST:PORT",
                  help="where to send the devices' traps when faults change (repeat it: "
                       "each trap goes to every sink)")] = None,
              ) -> None:
    """Serve the simulated devices (free ports; sim.json in the run dir says which)."""
    sinks = []
    for text in trap_sink or ():
        sink_host, sink_port = split_host_port(text, default_port=162)
        sinks.append((sink_host, int(sink_port or 162)))

    async def serve() -> None:
        simulator = sim_agent.Simulator(run_dir.resolve(), host=host, trap_sinks=sinks)
        await simulator.start()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        for dev_id, (h, p) in simulator.addresses.items():
            typer.echo(f"{dev_id:10} udp://{h}:{p}")
        try:
            await stop.wait()
        finally:
            await simulator.stop()

    asyncio.run(serve())


@sim_app.command("fault")
def sim_fault(device: str, fault: str, run_dir: RunDirOpt = DEFAULT_RUN_DIR,
              port: Annotated[int | None, typer.Option(help="port-down: ifIndex")] = None
              ) -> None:
    """Inject a fault: on-battery, on-bypass, battery-low, port-down, silent ..."""
    try:
        sim_agent.inject(run_dir, device, fault, {"port": port} if port else None)
    except sim_agent.SimError as exc:
        _fail(str(exc))
    typer.echo(f"{device}: {fault} injected")


@sim_app.command("clear")
def sim_clear(device: Annotated[str | None, typer.Argument()] = None,
              run_dir: RunDirOpt = DEFAULT_RUN_DIR) -> None:
    """Clear the faults of one device, or of all."""
    try:
        sim_agent.clear(run_dir, device)
    except sim_agent.SimError as exc:
        _fail(str(exc))
    typer.echo(f"{device or 'all devices'}: faults cleared")


@sim_app.command("list")
def sim_list(run_dir: RunDirOpt = DEFAULT_RUN_DIR) -> None:
    """The simulated devices, their addresses, active and available faults."""
    try:
        info = sim_agent.read_inventory(run_dir)
    except sim_agent.SimError as exc:
        _fail(str(exc))
        return
    active = sim_agent.read_faults(run_dir / "faults.json")
    for dev_id, dev in info["devices"].items():
        on = ", ".join(name for name, _ in active.get(dev_id, [])) or "-"
        typer.echo(f"{dev_id:10} {dev['address']:22} {dev['model']:16} active: {on}")
        typer.echo(f"{'':10} faults: {', '.join(sorted(dev['faults']))}")
