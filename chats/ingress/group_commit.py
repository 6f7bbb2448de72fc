"""Group commit: many coroutines' items written by one thread, a batch per transaction.

An item submitted while no batch is being written starts one at once (no timer, so at
low load a batch is one item); items submitted while a batch is being written wait and
go together into the next, up to `max_batch`. Each submitter gets its own item's result
once the batch that held it has returned.
"""
from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Generic, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


class GroupCommit(Generic[Item, Result]):
    """`await submit(item)` runs `write_batch(items) -> results` (one per item, in order) on one thread.

    `write_batch` must not raise: it answers for every item of its batch, failures included.
    """

    def __init__(self, write_batch: Callable[[Sequence[Item]], Sequence[Result]], *, max_batch: int,
                 thread_name: str):
        self._write_batch, self._max_batch = write_batch, max_batch
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=thread_name)
        self._waiting: list[tuple[Item, asyncio.Future]] = []
        self._writing = False

    @property
    def waiting(self) -> int:
        """Items waiting for the batch being written to finish."""
        return len(self._waiting)

    async def submit(self, item: Item) -> Result:
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._waiting.append((item, future))
        if not self._writing:
            self._writing = True
            loop.create_task(self._write_while_waiting(loop))
        return await future

    async def _write_while_waiting(self, loop: asyncio.AbstractEventLoop) -> None:
        batch: list[tuple[Item, asyncio.Future]] = []
        try:
            while self._waiting:
                batch, self._waiting = self._waiting[:self._max_batch], self._waiting[self._max_batch:]
                try:
                    results = await loop.run_in_executor(self._executor, self._write_batch,
                                                         [item for item, _ in batch])
                except Exception as exc:  # against the contract: this batch's submitters get the error
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(exc)
                    continue
                for (_, future), result in zip(batch, results, strict=True):
                    if not future.done():  # a submitter that gave up (client gone) still had its item written
                        future.set_result(result)
        finally:
            self._writing = False
            for _, future in batch + self._waiting:  # only when this task was cancelled (loop shutting down)
                if not future.done():
                    future.cancel()
            self._waiting = []
