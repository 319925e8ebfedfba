"""The delivery benchmark's reference: `python -m bench.sender SAMPLE BASE COUNT` sends COUNT PUTs of one
delivered message (SAMPLE: a JSON file of its headers and body, as the sink received it) to BASE/ref/N
under the dispatcher's own conditions: its HTTP client and call (provisioning/calls.py), on uvloop (as
`serve` runs), as many in flight as the dispatcher allows (Policy.in_flight). It prints its CPU seconds
as JSON, and exits 1 at the first call not answered with a 2xx. The bench times it as it times the
dispatcher, by the arrivals at the sink."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any

import uvloop

from provisionhub.provisioning.calls import call, client_session
from provisionhub.provisioning.dispatcher import Policy


class Refused(Exception):
    """A call was not answered with a 2xx: the reference would not be of real deliveries."""


async def send(base: str, count: int, headers: dict[str, str], body: Any) -> None:
    policy = Policy()
    in_flight = asyncio.Semaphore(policy.in_flight)
    async with client_session(policy.timeout_seconds, policy.in_flight) as client:

        async def one(n: int) -> None:
            async with in_flight:
                answer, failed, _ = await call(client, "PUT", f"{base}/ref/{n}", headers, body)
            if failed is not None or answer is None or not answer.is_success:
                raise Refused(f"PUT {base}/ref/{n}: {failed or answer}")

        await asyncio.gather(*(one(n) for n in range(count)))


def main(argv: list[str]) -> int:
    sample_path, base, count = argv
    sample = json.loads(Path(sample_path).read_text())
    cpu = time.process_time()
    try:
        uvloop.run(send(base, int(count), sample["headers"], sample["body"]))
    except Refused as refused:
        print(refused, file=sys.stderr)
        return 1
    print(json.dumps({"cpu_seconds": time.process_time() - cpu}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
