"""Sending through Apprise's services without stalling the event loop: myapp's bounded pool against
Apprise's own async_notify, in the same run.

    python -m bench.apprise [--sends 200] [--delay-ms 200] [--threads 20]

A local HTTP server answers every POST after ``--delay-ms`` (a slow chat service).  ``--sends`` messages
go to it through json:// at once, on one event loop, two ways:

- myapp: each send is Apprise's blocking notify() on a thread of a pool of ``--threads`` (the outbox's
  ``alerts.apprise_threads``), through ``loop.run_in_executor``: myapp.alerts.kinds.apprise.notify itself;
- apprise async: ``Apprise.async_notify()`` with Apprise's defaults, which runs the same blocking code on
  Apprise's shared pool of min(32, cores + 4) threads.

For each: the time until every message is sent, and the loop's lag (a 10 ms ticker's lateness, p99 and
max): what every other task on the loop (checks, requests) waits for while the sends are in flight.
"""

import argparse
import asyncio
import concurrent.futures
import http.server
import statistics
import threading
import time

import apprise

from myapp.alerts.kinds.apprise import notify, parse


def receiver(delay):
    class Slow(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            time.sleep(delay)
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    http.server.ThreadingHTTPServer.request_queue_size = 1024
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Slow)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


async def ticker(lags, stop):
    while not stop.is_set():
        before = time.perf_counter()
        await asyncio.sleep(0.01)
        lags.append(time.perf_counter() - before - 0.01)


async def measure(send, sends):
    lags, stop = [], asyncio.Event()
    tick = asyncio.create_task(ticker(lags, stop))
    started = time.perf_counter()
    results = await asyncio.gather(*(send() for _ in range(sends)))
    took = time.perf_counter() - started
    stop.set()
    await tick
    lags.sort()
    return took, sum(results), lags[int(len(lags) * 0.99)] * 1000, lags[-1] * 1000, statistics.median(lags) * 1000


async def main(args):
    server = receiver(args.delay_ms / 1000)
    url = f"json://127.0.0.1:{server.server_port}/hook"
    pool = concurrent.futures.ThreadPoolExecutor(args.threads)
    loop = asyncio.get_running_loop()

    async def ours():
        sent, _ = await loop.run_in_executor(pool, notify, parse(url), "a title", "a message", "info")
        return sent

    async def theirs():
        sender = apprise.Apprise()
        sender.add(url)
        return bool(await sender.async_notify(body="a message", title="a title"))

    await measure(ours, 5)  # warm-up: imports, the first connections
    print(f"{args.sends} sends to a service answering in {args.delay_ms} ms")
    print(f"{'way':<28}{'all sent':>10}{'ok':>6}{'lag p50':>10}{'lag p99':>10}{'lag max':>10}")
    rows = {}
    for name, send in ((f"myapp ({args.threads} threads)", ours), ("apprise async_notify", theirs)):
        took, ok, p99, most, p50 = await measure(send, args.sends)
        rows[name] = took
        print(f"{name:<28}{took:>9.2f}s{ok:>6}{p50:>8.1f}ms{p99:>8.1f}ms{most:>8.1f}ms")
    ours_took, theirs_took = rows.values()
    print(f"ratio (apprise async / myapp), time to send all: {theirs_took / ours_took:.2f}")
    server.shutdown()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sends", type=int, default=200)
    parser.add_argument("--delay-ms", type=int, default=200)
    parser.add_argument("--threads", type=int, default=20)
    asyncio.run(main(parser.parse_args()))
