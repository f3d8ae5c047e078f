"""The FIFO queue of embeddings and the momentum update, by hand."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from prodmatch.train.queue import EmbeddingQueue, momentum_copy, momentum_update


def rows(*values: float) -> torch.Tensor:
    """One 2-d row per value v: (v, -v), so a row says which push it came from."""
    return torch.tensor([[float(v), -float(v)] for v in values])


def test_the_queue_fills_then_overwrites_the_oldest_first() -> None:
    queue = EmbeddingQueue(size=4, dim=2)
    assert len(queue) == 0 and queue.contents()[0].shape == (0, 2)
    queue.push(rows(1, 2, 3), torch.tensor([10, 20, 30]))
    vectors, labels = queue.contents()
    assert torch.equal(vectors, rows(1, 2, 3)) and labels.tolist() == [10, 20, 30]
    queue.push(rows(4, 5), torch.tensor([40, 50]))  # wraps: 1 goes, 5 takes its slot
    vectors, labels = queue.contents()
    assert len(queue) == 4
    assert torch.equal(vectors, rows(2, 3, 4, 5)) and labels.tolist() == [20, 30, 40, 50]
    assert queue.vectors[0].tolist() == [5.0, -5.0]  # the slot of the oldest entry
    queue.push(rows(6, 7, 8, 9, 10, 11), torch.arange(6))  # longer than the queue
    vectors, labels = queue.contents()
    assert torch.equal(vectors, rows(8, 9, 10, 11)) and labels.tolist() == [2, 3, 4, 5]


def test_the_queue_is_its_state_dict_and_stores_no_gradient() -> None:
    queue = EmbeddingQueue(size=3, dim=2)
    pushed = rows(1, 2).requires_grad_(True)
    queue.push(pushed, torch.tensor([1, 2]))
    assert not queue.vectors.requires_grad
    restored = EmbeddingQueue(size=3, dim=2)
    restored.load_state_dict(queue.state_dict())
    restored.push(rows(3, 4), torch.tensor([3, 4]))
    vectors, labels = restored.contents()
    assert torch.equal(vectors, rows(2, 3, 4)) and labels.tolist() == [2, 3, 4]


def test_bad_pushes_are_named() -> None:
    queue = EmbeddingQueue(size=3, dim=2)
    with pytest.raises(ValueError, match="vectors must be"):
        queue.push(torch.zeros(2, 3), torch.tensor([0, 1]))
    with pytest.raises(ValueError, match="labels must be"):
        queue.push(torch.zeros(2, 2), torch.tensor([0]))


def test_momentum_update_moves_the_copy_a_fraction_of_the_way() -> None:
    source = nn.Linear(2, 1)
    with torch.no_grad():
        source.weight.copy_(torch.tensor([[1.0, 2.0]]))
        source.bias.fill_(0.0)
    copy = momentum_copy(source)
    assert not any(p.requires_grad for p in copy.parameters()) and not copy.training
    with torch.no_grad():
        source.weight.copy_(torch.tensor([[3.0, -2.0]]))
        source.bias.fill_(4.0)
    momentum_update(copy, source, 0.75)
    # 0.75 * old + 0.25 * new
    assert copy.weight.tolist() == [[1.5, 1.0]] and copy.bias.tolist() == [1.0]
    momentum_update(copy, source, 0.0)  # momentum 0: the copy is the source
    assert torch.equal(copy.weight, source.weight)
    with pytest.raises(ValueError, match="momentum"):
        momentum_update(copy, source, 1.5)
