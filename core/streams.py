"""Turning a function that reports through a callback (Keras ``fit``, a download) into a generator of records.

The job runner and the CLI consume generators; Keras and ``urllib`` report through callbacks. The work runs
in a thread of its own and hands each record over a queue, so the consumer sees every record as it happens.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Generator
from typing import Any

_DONE = object()


def callback_steps(work: Callable[[Callable[[Any], None], Callable[[], bool]], Any],
                   should_stop: Callable[[], bool] | None = None) -> Generator[Any, None, Any]:
    """Runs ``work(emit, stop_requested)`` in a thread and yields everything it emits; returns its result.

    Closing the generator early (a Stop: the job runner closes it after a record) asks the work to stop
    through ``stop_requested`` and waits for it, so no thread outlives its consumer.

    Args:
        work: called with ``emit(record)`` and ``stop_requested() -> bool``.
        should_stop: polled by ``stop_requested`` too (a stop flag the caller owns).

    Returns:
        What ``work`` returned (``yield from`` hands it over); an exception in ``work`` is raised here.
    """
    records: queue.Queue = queue.Queue()
    stop, outcome = threading.Event(), {}

    def run():
        try:
            outcome["result"] = work(records.put, lambda: stop.is_set() or bool(should_stop and should_stop()))
        except BaseException as error:  # noqa: BLE001 - re-raised in the consumer's thread below
            outcome["error"] = error
        finally:
            records.put(_DONE)

    thread = threading.Thread(target=run, name="callback-steps", daemon=True)
    thread.start()
    try:
        while (record := records.get()) is not _DONE:
            yield record
    finally:
        stop.set()
        thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("result")
