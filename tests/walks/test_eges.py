"""EGES / GES: attention shapes, multi-valued side fields, the cold-start path, persistence, pair kernel."""

from __future__ import annotations

from pathlib import Path

import numba
import numpy as np
import pytest
import torch

from graphrec import Sequences, SideField, SideInfo, datasets
from graphrec.build import build_item_graph
from graphrec.errors import DataError
from graphrec.model import load_model
from graphrec.sequences import csr_from_lengths
from walks import kernels
from walks.eges import EGES, GES, EGESNet, _side_rows, common_values, row_weights, side_matrices, value_weights
from walks.eges_kernel import center_step

FAST = {"embedding_dim": 16, "num_walks": 4, "walk_length": 10, "epochs": 1, "deterministic": True}


def _field(name: str, rows: list[list[int]], num_values: int) -> SideField:
    lengths = np.array([len(r) for r in rows])
    values = np.array([v for r in rows for v in r], dtype=np.int32)
    return SideField(name, csr_from_lengths(lengths), values, np.array([f"{name}{i}" for i in range(num_values)]))


@pytest.fixture
def toy() -> tuple:
    """Items 1..6; item 6 is cold (side info, no interaction); genre is multi-valued; item 5 has no brand."""
    genre = _field("genre", [[], [1], [1, 2], [2], [2, 3], [3], [1, 3]], 3)
    brand = _field("brand", [[], [1], [1], [2], [2], [], [2]], 2)
    side = SideInfo([genre, brand], 6)
    seqs = Sequences.from_lists([[1, 2, 3, 4, 5], [2, 1, 3, 5, 4], [4, 5, 3, 1]], num_items=6)
    graph = build_item_graph(seqs, window=2, directed=False, side_info=side)
    return graph, side


def test_side_matrices_pad_multi_valued_fields(toy: tuple) -> None:
    _, side = toy
    mats, sizes = side_matrices(side, 6, max_values=8)
    assert sizes == [3, 2]
    assert mats[0].shape == (7, 2) and mats[0][2].tolist() == [1, 2] and mats[0][1].tolist() == [1, 0]
    assert mats[1][:, 0].tolist() == [0, 1, 1, 2, 2, 0, 2]
    mats, _ = side_matrices(side, 6, max_values=1)
    assert mats[0].shape == (7, 1)


def _tags() -> SideInfo:
    """Tag 1 is on every item, tags 2 and 3 on two items each; item 2's only tag is the common one."""
    return SideInfo([_field("tag", [[], [1, 2], [1], [1, 3], [1], [1, 2], [1, 3]], 3)], 6)


def test_common_values_are_left_out_where_an_item_has_a_rarer_one() -> None:
    tags = _tags()
    assert [m.tolist() for m in common_values(tags, 0.5)] == [[False, True, False, False]]
    assert [m.tolist() for m in common_values(tags, 1.0)] == [[False, False, False, False]]
    mats, _ = side_matrices(tags, 6, max_values=8, common=common_values(tags, 0.5))
    assert mats[0].tolist() == [[0], [2], [1], [3], [1], [2], [3]]  # items 2 and 4 keep their only tag
    mats, _ = side_matrices(tags, 6, max_values=8)
    assert mats[0][1].tolist() == [1, 2]


def test_max_value_share_applies_to_cold_vectors_after_reload(toy: tuple, tmp_path: Path) -> None:
    graph, _ = toy
    tags = _tags()
    model = EGES(**FAST, max_value_share=0.5).fit_graph(graph, side_info=tags)
    table = model.net_.fields[0].weight.detach().numpy()
    np.testing.assert_allclose(model.item_embeddings().vectors[6], table[3], rtol=1e-6)  # cold: tag 3 alone
    np.testing.assert_allclose(model.cold_vectors(tags)[2], table[1], rtol=1e-6)
    model.save(tmp_path / "run")
    again = load_model(tmp_path / "run")
    assert isinstance(again, EGES)
    np.testing.assert_allclose(again.cold_vectors(tags), model.cold_vectors(tags), rtol=1e-6)
    plain = EGES(**FAST).fit_graph(graph, side_info=tags)  # the default keeps every value
    plain_table = plain.net_.fields[0].weight.detach().numpy()
    np.testing.assert_allclose(plain.cold_vectors(tags)[6], plain_table[[1, 3]].mean(0), rtol=1e-6)


def test_idf_weights_count_broad_values_less(toy: tuple, tmp_path: Path) -> None:
    tags = _tags()
    (idf,) = value_weights(tags, "idf")
    np.testing.assert_allclose(idf[1:], [1.0, 1 + np.log(7 / 3), 1 + np.log(7 / 3)], rtol=1e-6)  # 6 items
    assert value_weights(tags, "mean") is None
    mats, _ = side_matrices(tags, 6, max_values=8)
    (w,) = row_weights(mats, [idf])
    np.testing.assert_allclose(w[1], np.array([1.0, 1 + np.log(7 / 3)]) / (2 + np.log(7 / 3)), rtol=1e-6)
    np.testing.assert_allclose(w[2], [1.0, 0.0])
    np.testing.assert_allclose(row_weights(mats, None)[0][1], [0.5, 0.5])
    graph, _ = toy
    model = EGES(**FAST, side_weighting="idf").fit_graph(graph, side_info=tags)
    table = model.net_.fields[0].weight.detach().numpy()
    np.testing.assert_allclose(model.item_embeddings().vectors[6], w[6] @ table[mats[0][6]], rtol=1e-5)
    model.save(tmp_path / "run")
    again = load_model(tmp_path / "run")
    np.testing.assert_allclose(again.cold_vectors(tags), model.cold_vectors(tags), rtol=1e-6)
    with pytest.raises(DataError, match="value code 4 was not in the training side info"):
        row_weights([np.array([[0], [4]])], [idf])


def test_attention_shapes_and_weights(toy: tuple) -> None:
    graph, side = toy
    model = EGES(**FAST).fit_graph(graph)
    net = model.net_
    items = torch.tensor([1, 3, 5])
    assert net.sources(items).shape == (3, 3, 16)
    assert net(items).shape == (3, 16)
    w = model.attention_weights()
    assert w.shape == (7, 3)
    np.testing.assert_allclose(w[1:].sum(axis=1), 1.0, rtol=1e-6)
    assert w[5, 2] == 0.0  # item 5 has no brand: that source is left out
    # the genre source of item 2 is the mean of the embeddings of genres 1 and 2
    g = net.fields[0].weight.detach()
    np.testing.assert_allclose(net.sources(torch.tensor([2]))[0, 1].detach(), (g[1] + g[2]) / 2, rtol=1e-6)
    # H is the attention-weighted sum of the sources
    h = (net.weights(items).unsqueeze(-1) * net.sources(items)).sum(1)
    np.testing.assert_allclose(net(items).detach(), h.detach(), rtol=1e-6)


def test_ges_averages_uniformly(toy: tuple) -> None:
    graph, _ = toy
    w = GES(**FAST).fit_graph(graph).attention_weights()
    np.testing.assert_allclose(w[1], [1 / 3] * 3, rtol=1e-6)
    np.testing.assert_allclose(w[5], [0.5, 0.5, 0.0], rtol=1e-6)


def test_cold_items_get_side_information_vectors(toy: tuple) -> None:
    graph, side = toy
    model = EGES(**FAST).fit_graph(graph)
    emb = model.item_embeddings()
    net = model.net_
    assert emb.known.tolist() == [False, True, True, True, True, True, True]  # item 6 is cold but recommendable
    genre = net.fields[0].weight.detach().numpy()
    brand = net.fields[1].weight.detach().numpy()
    expect = ((genre[1] + genre[3]) / 2 + brand[2]) / 2  # the average of the side embeddings, as in the paper
    np.testing.assert_allclose(emb.vectors[6], expect, rtol=1e-5)
    np.testing.assert_allclose(model.cold_vectors(side)[6], expect, rtol=1e-5)
    assert not np.allclose(emb.vectors[1], model.cold_vectors(side)[1])  # warm items use their own vector too


def test_cold_start_quality_on_synthetic() -> None:
    """Held-out cold items: their side-information vectors lie nearer warm items of the same category."""
    data = datasets.load("synthetic", num_users=400, num_items=200, num_categories=4, seed=2)
    split = data.split()
    model = EGES(**{**FAST, "num_walks": 10, "epochs": 2}).fit(split)
    emb = model.item_embeddings()
    cold = emb.known & ~model.walked_
    assert cold.sum() >= 3
    cat = split.side_info["category"].first_value()
    v = emb.vectors / np.maximum(np.linalg.norm(emb.vectors, axis=1, keepdims=True), 1e-12)
    same, other = [], []
    for i in np.flatnonzero(cold):
        sims = v[model.walked_] @ v[i]
        match = cat[model.walked_] == cat[i]
        same.append(sims[match].mean())
        other.append(sims[~match].mean())
    assert np.mean(same) > np.mean(other) + 0.1, (np.mean(same), np.mean(other))


def test_save_load_roundtrip(toy: tuple, tmp_path: Path) -> None:
    graph, _ = toy
    model = EGES(**FAST).fit_graph(graph)
    model.save(tmp_path / "run")
    again = load_model(tmp_path / "run")
    assert isinstance(again, EGES)
    np.testing.assert_array_equal(again.item_embeddings().vectors, model.item_embeddings().vectors)
    np.testing.assert_allclose(again.attention_weights(), model.attention_weights())


def test_models_saved_before_value_weights_load_with_the_plain_mean(toy: tuple, tmp_path: Path) -> None:
    graph, side = toy
    model = EGES(**FAST).fit_graph(graph)
    model.save(tmp_path / "run")
    state = torch.load(tmp_path / "run" / "model.pt", weights_only=True)
    torch.save({k: v for k, v in state.items() if not k.startswith("sidew")}, tmp_path / "run" / "model.pt")
    again = load_model(tmp_path / "run")
    assert isinstance(again, EGES)
    np.testing.assert_allclose(again.cold_vectors(side), model.cold_vectors(side), rtol=1e-6)
    np.testing.assert_allclose(again.net_(torch.arange(7)).detach().numpy(),
                               model.net_(torch.arange(7)).detach().numpy(), rtol=1e-6)


def test_pairs_kernel_windows() -> None:
    walks = np.array([[1, 2, 3, 4], [5, 6, 0, 0]], dtype=np.int32)
    lengths = np.array([4, 2], dtype=np.int32)
    c, x = kernels.skipgram_pairs(walks, lengths, 2, False, 0, 0)
    pairs = set(zip(c.tolist(), x.tolist(), strict=True))
    assert pairs == {(1, 2), (1, 3), (2, 1), (2, 3), (2, 4), (3, 1), (3, 2), (3, 4), (4, 2), (4, 3), (5, 6), (6, 5)}
    c, x = kernels.skipgram_pairs(walks, lengths, 3, True, 7, 0)
    assert set(zip(c.tolist(), x.tolist(), strict=True)) <= {(a, b) for a in range(1, 7) for b in range(1, 7)}
    c2, x2 = kernels.skipgram_pairs(walks, lengths, 3, True, 7, 0)
    np.testing.assert_array_equal(c, c2)


def test_eges_net_without_side_info() -> None:
    net = EGESNet(5, [], [], 4)
    assert net(torch.tensor([1, 2])).shape == (2, 4)


@pytest.mark.parametrize(("attention", "weighting"), [(True, "mean"), (False, "mean"), (True, "idf")])
def test_kernel_gradients_match_autograd(toy: tuple, attention: bool, weighting: str) -> None:
    """One SGD step of the numba kernel equals ``w - lr * grad`` of the PyTorch reference loss (autograd)."""
    graph, side = toy
    side, c = (side, 2) if weighting == "mean" else (_tags(), 3)  # item 3: tags 1 and 3, unequal IDF weights
    mats, sizes = side_matrices(side, 6, max_values=8)
    weights = row_weights(mats, value_weights(side, weighting))
    torch.manual_seed(0)
    net = EGESNet(6, mats, sizes, 8, attention=attention, side_weights=weights)
    with torch.no_grad():  # non-trivial attention and context vectors
        net.attn.weight.normal_()
        net.attn_bias.normal_()
        net.context.weight.normal_(std=0.3)
        for p in (net.item.weight, *[b.weight for b in net.fields]):
            p.normal_(std=0.3)
    ctx, neg, lr = [3, 4], [[1, 5], [6, 2]], 0.05
    h = net(torch.tensor([c]))[0]
    pos = net.context(torch.tensor(ctx)) @ h
    negs = net.context(torch.tensor(neg).view(-1)) @ h
    loss = -(torch.nn.functional.logsigmoid(pos).sum() + torch.nn.functional.logsigmoid(-negs).sum())
    loss.backward()
    params = [net.item.weight, *[b.weight for b in net.fields], net.attn.weight, net.context.weight, net.attn_bias]
    expect = [(p.detach() - lr * (p.grad.to_dense() if p.grad is not None else 0)).numpy() for p in params]

    item, ctx_w, attn, bias = (x.detach().numpy().copy()
                               for x in (net.item.weight, net.context.weight, net.attn.weight, net.attn_bias))
    tables = [b.weight.detach().numpy() for b in net.fields]
    side_emb = np.concatenate(tables).copy()
    rows, cols = _side_rows(mats, [len(t) for t in tables], 7)
    got_loss = center_step(c, np.array(ctx), np.array(neg), lr, item, side_emb, rows, np.concatenate(weights, axis=1),
                           cols, net.present.numpy(), attn, ctx_w, attention, bias)
    assert got_loss == pytest.approx(float(loss.detach()), rel=1e-5)
    split_at = np.cumsum([len(t) for t in tables])[:-1]
    got = [item, *np.split(side_emb, split_at), attn, ctx_w, bias]
    for e, g in zip(expect, got, strict=True):
        np.testing.assert_allclose(g, e, rtol=1e-5, atol=1e-6)
    assert not np.allclose(expect[-2], net.context.weight.detach().numpy())  # the step did change something
    if attention:
        assert not np.allclose(attn, net.attn.weight.detach().numpy())
        assert not np.allclose(bias, net.attn_bias.detach().numpy())


def test_deterministic_mode_is_reproducible(toy: tuple) -> None:
    graph, _ = toy
    a = EGES(**FAST, seed=5).fit_graph(graph).item_embeddings().vectors
    b = EGES(**FAST, seed=5).fit_graph(graph).item_embeddings().vectors
    c = EGES(**FAST, seed=6).fit_graph(graph).item_embeddings().vectors
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_training_lowers_the_loss() -> None:
    split = datasets.load("synthetic", num_users=300, num_items=150, num_categories=4, seed=3).split()
    model = EGES(**{**FAST, "epochs": 3, "num_walks": 5}).fit(split)
    losses = model.history_["epoch_losses"]
    assert losses[-1] < losses[0] and model.history_["pairs"] > 0


def test_shared_attention_bias_is_learned_and_saved(tmp_path: Path) -> None:
    split = datasets.load("synthetic", num_users=400, num_items=200, num_categories=8, seed=1).split()
    fast = {"embedding_dim": 16, "num_walks": 10, "epochs": 2, "seed": 1}
    shared = EGES(**fast).fit(split)
    bias = shared.net_.attn_bias.detach().numpy()
    # synthetic users pick items by category: the category source must gain weight over the item's own vector
    field = 1 + shared.field_names_.index("category")
    assert bias[field] - bias[0] > 0.5
    # the weights are softmax(a_v + b) over the sources each item has
    logits = shared.net_.attn.weight.detach().numpy()[1] + bias
    np.testing.assert_allclose(shared.attention_weights()[1], np.exp(logits) / np.exp(logits).sum(), rtol=1e-5)
    shared.save(tmp_path / "run")
    np.testing.assert_array_equal(load_model(tmp_path / "run").net_.attn_bias.detach().numpy(), bias)
    off = EGES(**fast, shared_attention=False).fit(split)
    assert not off.net_.attn_bias.detach().numpy().any()
    ges = GES(**fast).fit(split)  # no attention at all: the bias stays zero
    assert not ges.net_.attn_bias.detach().numpy().any()


def test_subsample_walks_keeps_an_ordered_subsequence_for_any_thread_count() -> None:
    from walks.eges_kernel import keep_probabilities, subsample_walks

    rng = np.random.default_rng(0)
    zipf = 1.0 / np.arange(1, 30)
    walks = rng.choice(np.arange(1, 30), size=(200, 12), p=zipf / zipf.sum()).astype(np.int32)
    lengths = rng.integers(2, 13, size=200).astype(np.int32)
    counts = np.bincount(walks[np.arange(12) < lengths[:, None]], minlength=30)
    keep = keep_probabilities(counts, 0.01)
    assert 0.2 < keep[counts > 0].min() < 1.0  # some nodes are thinned
    threads = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        out1, len1 = subsample_walks(walks, lengths, keep, 3, 100)
        numba.set_num_threads(min(2, numba.config.NUMBA_NUM_THREADS))
        out2, len2 = subsample_walks(walks, lengths, keep, 3, 100)
    finally:
        numba.set_num_threads(threads)
    np.testing.assert_array_equal(out1, out2)
    np.testing.assert_array_equal(len1, len2)
    assert (len1 <= lengths).all() and len1.sum() < lengths.sum()
    for i in range(len(lengths)):  # an order-preserving subsequence, zero-padded
        it = iter(walks[i, : lengths[i]].tolist())
        assert all(v in it for v in out1[i, : len1[i]].tolist())
        assert not out1[i, len1[i]:].any()
    # nodes kept with probability 1 are never dropped
    ones = np.ones_like(keep)
    same, same_len = subsample_walks(walks, lengths, ones, 3, 100)
    np.testing.assert_array_equal(same_len, lengths)
    np.testing.assert_array_equal(np.where(np.arange(12) < lengths[:, None], walks, 0), same)


def test_torch_trainer_learns_reproducibly_and_beats_popularity() -> None:
    from graphrec.baselines import Popular
    from graphrec.evaluate import evaluate

    split = datasets.load("synthetic", num_users=400, num_items=200, num_categories=8, seed=1).split()
    fast = {**FAST, "num_walks": 10, "epochs": 3, "trainer": "torch", "batch_size": 512, "seed": 1}
    a = EGES(**fast).fit(split)
    losses = a.history_["epoch_losses"]
    assert losses[-1] < losses[0] and a.history_["pairs"] > 0
    b = EGES(**fast).fit(split)
    np.testing.assert_array_equal(a.item_embeddings().vectors, b.item_embeddings().vectors)
    # the shared attention logits are trained too: the category source gains weight (synthetic users pick by it)
    bias = a.net_.attn_bias.detach().numpy()
    assert bias[1 + a.field_names_.index("category")] > bias[0]
    pop = evaluate(Popular().fit(split), split.test, (10,))["HR@10"]
    hr = evaluate(a, split.test, (10,))["HR@10"]
    assert hr > 2 * pop + 0.03, (hr, pop)  # 0.59 against 0.26; untrained (torch_lr=1e-5) 0.41
    # per-item logits only: the shared ones stay out of the optimiser, the per-item ones (zero at start) move
    own = EGES(**{**fast, "shared_attention": False, "epochs": 1}).fit(split)
    assert not own.net_.attn_bias.detach().numpy().any() and own.net_.attn_bias.grad is None
    assert np.abs(own.net_.attn.weight.detach().numpy()).max() > 1e-3
    ges = GES(**{**fast, "epochs": 2}).fit(split)  # no attention parameters at all
    assert ges.history_["epoch_losses"][-1] < ges.history_["epoch_losses"][0]
    assert not ges.net_.attn.weight.detach().numpy().any()


def test_loss_leaves_out_negatives_equal_to_their_context(toy: tuple) -> None:
    graph, side = toy
    mats, sizes = side_matrices(side, 6, 4)
    torch.manual_seed(0)
    net = EGESNet(6, mats, sizes, 8)
    with torch.no_grad():
        net.context.weight.normal_()
    c, x = torch.tensor([1, 2]), torch.tensor([3, 4])
    only_pos = -torch.nn.functional.logsigmoid((net(c) * net.context(x)).sum(-1)).mean()
    torch.testing.assert_close(net.loss(c, x, torch.stack([x, x], dim=1)), only_pos)
    assert net.loss(c, x, torch.tensor([[5, 5], [6, 6]])) > only_pos


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_torch_trainer_on_cuda_returns_a_cpu_model() -> None:
    split = datasets.load("synthetic", num_users=200, num_items=100, num_categories=4, seed=1).split()
    m = EGES(**{**FAST, "trainer": "torch", "device": "cuda", "batch_size": 256}).fit(split)
    assert next(m.net_.parameters()).device.type == "cpu"
    assert np.isfinite(m.item_embeddings().vectors).all()


@pytest.mark.parametrize(("key", "value", "message"), [("trainer", "tf", "trainer must be one of"),
                                                        ("batch_size", 0, "batch_size must be >= 1"),
                                                        ("torch_lr", 0.0, "torch_lr must be > 0"),
                                                        ("device", "gpu0", "device must name a torch device")])
def test_torch_trainer_config_errors(key: str, value: object, message: str) -> None:
    from graphrec.errors import ConfigError

    with pytest.raises(ConfigError, match=message):
        EGES(**{key: value}).config.validate()
