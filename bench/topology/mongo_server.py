"""The topology's MongoDB: a mongoeco wire server that can be stopped and started again
while its data stays, as a MongoDB restarts on its disk.

    .venv-mongoeco/bin/python bench/topology/mongo_server.py --port N

SIGUSR1 stops the server: the listener closes and every client connection is dropped, so
clients see connections reset and refused, as with a stopped ``mongod``. SIGUSR2 starts it
again on the same port. The data lives in the engine (mongoeco's ``MemoryEngine``), which
outlives the stop: it stands in for the disk a real MongoDB restarts on. (mongoeco's SQLite
engine keeps data across a real process restart, but checks a unique index by loading every
document, too slow for the load run.) SIGTERM ends the process.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys


async def serve(port: int) -> None:
    from mongoeco import AsyncMongoClient
    from mongoeco.engines import MemoryEngine
    from mongoeco.wire import AsyncMongoEcoProxyServer

    client = AsyncMongoClient(MemoryEngine())  # outlives each server instance: the "disk"
    await client.get_database("admin").command("ping")
    loop = asyncio.get_running_loop()
    events: asyncio.Queue[str] = asyncio.Queue()
    for signum, name in ((signal.SIGUSR1, "stop"), (signal.SIGUSR2, "start"),
                         (signal.SIGTERM, "exit"), (signal.SIGINT, "exit")):
        loop.add_signal_handler(signum, events.put_nowait, name)
    server: AsyncMongoEcoProxyServer | None = None

    async def start() -> AsyncMongoEcoProxyServer:
        proxy = AsyncMongoEcoProxyServer(client=client, host="127.0.0.1", port=port)
        await proxy.start()
        print(f"mongoeco serving on 127.0.0.1:{port}", file=sys.stderr, flush=True)
        return proxy

    server = await start()
    while True:
        event = await events.get()
        if event == "stop" and server is not None:
            await server.close()
            server = None
            print("mongoeco stopped (connections dropped, port closed)", file=sys.stderr,
                  flush=True)
        elif event == "start" and server is None:
            server = await start()
        elif event == "exit":
            if server is not None:
                await server.close()
            return


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    asyncio.run(serve(parser.parse_args().port))


if __name__ == "__main__":
    main()
