"""Natural batching: what turns submit while a send is in flight goes out together."""

from __future__ import annotations

import asyncio

import pytest

from service.coalescing import Coalescer


class Recorder:
    def __init__(self, fail_on: int | None = None) -> None:
        self.sends: list[list[int]] = []
        self.release = asyncio.Event()
        self.fail_on = fail_on

    async def send(self, items: list[int]) -> None:
        self.sends.append(items)
        if len(self.sends) == 1:
            await self.release.wait()  # the first send is slow
        if self.fail_on is not None and self.fail_on in items:
            raise RuntimeError(f"send of {items} failed")


async def test_submissions_during_a_send_go_out_together_in_order() -> None:
    rec = Recorder()
    coalescer = Coalescer(rec.send, max_items=100)
    first = asyncio.create_task(coalescer.submit([1]))
    await asyncio.sleep(0)
    later = [asyncio.create_task(coalescer.submit([i, i + 1])) for i in (2, 4, 6)]
    await asyncio.sleep(0)
    assert not first.done()
    rec.release.set()
    await asyncio.gather(first, *later)
    assert rec.sends == [[1], [2, 3, 4, 5, 6, 7]]


async def test_a_send_carries_at_most_max_items_unless_one_submission_is_larger() -> None:
    rec = Recorder()
    coalescer = Coalescer(rec.send, max_items=3)
    first = asyncio.create_task(coalescer.submit([0]))
    await asyncio.sleep(0)
    rest = [asyncio.create_task(coalescer.submit(items)) for items in ([1, 2], [3], [4, 5, 6, 7])]
    await asyncio.sleep(0)
    rec.release.set()
    await asyncio.gather(first, *rest)
    assert rec.sends == [[0], [1, 2, 3], [4, 5, 6, 7]]


async def test_each_caller_gets_the_error_of_the_send_it_was_in() -> None:
    rec = Recorder(fail_on=3)
    coalescer = Coalescer(rec.send, max_items=2)
    first = asyncio.create_task(coalescer.submit([1]))
    await asyncio.sleep(0)
    in_failed = [asyncio.create_task(coalescer.submit([i])) for i in (2, 3)]
    after = asyncio.create_task(coalescer.submit([4]))
    await asyncio.sleep(0)
    rec.release.set()
    await first
    for task in in_failed:
        with pytest.raises(RuntimeError, match="failed"):
            await task
    await after
    assert rec.sends == [[1], [2, 3], [4]]


async def test_a_cancelled_caller_is_left_out_and_the_rest_still_go() -> None:
    rec = Recorder()
    coalescer = Coalescer(rec.send, max_items=10)
    first = asyncio.create_task(coalescer.submit([1]))
    await asyncio.sleep(0)
    gone = asyncio.create_task(coalescer.submit([2]))
    kept = asyncio.create_task(coalescer.submit([3]))
    await asyncio.sleep(0)
    gone.cancel()
    rec.release.set()
    await asyncio.gather(first, kept)
    assert rec.sends == [[1], [3]]


async def test_nothing_to_send_sends_nothing() -> None:
    rec = Recorder()
    await Coalescer(rec.send, max_items=10).submit([])
    assert rec.sends == []
