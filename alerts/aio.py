"""asyncio helpers the alerting loops share."""

from __future__ import annotations

import asyncio


async def wait_event(event: asyncio.Event, timeout: float) -> bool:
    """Wait for `event` at most `timeout` seconds; True if it was set.

    asyncio.timeout, not wait_for: on Python 3.11, wait_for can swallow a cancellation that
    arrives as its timeout expires, and a loop built on it then never stops.
    """
    try:
        async with asyncio.timeout(timeout):
            await event.wait()
        return True
    except TimeoutError:
        return False
