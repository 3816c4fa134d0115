"""The cost of running a no-op coroutine from sync code, per call, by each way of doing it.

    python -m bench.roundtrip [--calls N]

myapp.aio runs a view's coroutine on the calling thread's own persistent loop;
the peers are a new loop per call (asyncio.run), asgiref's async_to_sync (what
Flask and Django use), and a shared loop thread (run_coroutine_threadsafe).

myapp.aio is measured where waitress runs views, on a worker thread: uvloop costs
two to three times as much on the main thread (each run sets up its signal wakeup there),
which is shown too, and is why an earlier measurement there picked asyncio.
"""

import argparse
import asyncio
import json
import threading
import time

from myapp.aio import Runtime


async def noop():
    pass


def per_call_us(fn, calls):
    """Best of three runs of ``calls`` calls, in microseconds per call."""
    fn()  # warm up: the first call creates the loop
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        for _ in range(calls):
            fn()
        best = min(best, time.perf_counter() - started)
    return best / calls * 1e6


def on_a_worker_thread(fn):
    """``fn()`` on a thread of its own, as waitress calls views; its result."""
    result = []
    thread = threading.Thread(target=lambda: result.append(fn()))
    thread.start()
    thread.join()
    return result[0]


def measure(calls=20000):
    results = {}
    for kind in ("uvloop", "asyncio"):
        runtime = Runtime(loop_kind=kind)
        once, with_timeout = (lambda rt=runtime: rt.run(noop())), (lambda rt=runtime: rt.run(noop(), 30))
        results[f"myapp.aio ({kind})"] = on_a_worker_thread(lambda: per_call_us(once, calls))  # noqa: B023 (run now)
        results[f"myapp.aio ({kind}, 30 s timeout)"] = on_a_worker_thread(lambda: per_call_us(with_timeout, calls))  # noqa: B023 (run now)
        if kind == "uvloop":
            results["myapp.aio (uvloop, on the main thread)"] = per_call_us(once, calls)
        runtime.shutdown()
    results["asyncio.run (new loop per call)"] = per_call_us(lambda: asyncio.run(noop()), max(calls // 10, 100))

    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    results["shared loop thread (run_coroutine_threadsafe)"] = per_call_us(
        lambda: asyncio.run_coroutine_threadsafe(noop(), loop).result(), max(calls // 5, 100)
    )
    loop.call_soon_threadsafe(loop.stop)
    thread.join()
    loop.close()

    try:
        from asgiref.sync import async_to_sync
    except ImportError:
        pass
    else:
        call = async_to_sync(noop)
        results["asgiref async_to_sync"] = per_call_us(call, max(calls // 10, 100))
    return results


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=20000)
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args(argv)
    results = measure(args.calls)
    if args.json:
        print(json.dumps(results, indent=2))
        return
    base = results["myapp.aio (uvloop)"]
    print(f"{'no-op coroutine from sync code':48} {'us/call':>9} {'x myapp':>8}")
    for name, us in results.items():
        print(f"{name:48} {us:9.1f} {us / base:8.1f}")


if __name__ == "__main__":
    main()
