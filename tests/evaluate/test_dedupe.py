from __future__ import annotations

import pandas as pd
import pytest

from prodmatch.data import catalog_from_frame
from prodmatch.errors import ProdmatchError
from prodmatch.evaluate.dedupe import dedupe_report, gold_labels, score_clusters


def test_pairwise_and_bcubed_on_a_hand_case() -> None:
    # predicted {0,1,2} {3,4}; gold {0,1} {2,3} {4}
    p, r, f1, bp, br, bf1, n_pred, n_gold, tp = score_clusters([0, 0, 0, 1, 1], [0, 0, 1, 1, 2])
    assert (n_pred, n_gold, tp) == (4, 2, 1)
    assert (p, r, f1) == pytest.approx((0.25, 0.5, 1 / 3))
    # B-cubed precision: 2/3, 2/3, 1/3, 1/2, 1/2; recall: 1, 1, 1/2, 1/2, 1
    assert bp == pytest.approx(8 / 15)
    assert br == pytest.approx(4 / 5)
    assert bf1 == pytest.approx(0.64)


def test_a_perfect_clustering_scores_one_and_labels_do_not_matter() -> None:
    scores = score_clusters([5, 5, 9, 7], [0, 0, 1, 2])
    assert scores[:6] == pytest.approx((1.0, 1.0, 1.0, 1.0, 1.0, 1.0))


def test_one_giant_cluster_has_full_recall_and_poor_precision() -> None:
    p, r, _, bp, br, _, *_ = score_clusters([0] * 6, [0, 0, 1, 1, 2, 2])
    assert (p, r) == pytest.approx((3 / 15, 1.0))
    assert (bp, br) == pytest.approx((2 / 6, 1.0))


def test_gold_pairs_join_transitively() -> None:
    pairs = pd.DataFrame({"left_id": ["a", "b"], "right_id": ["b", "c"]})
    labels = gold_labels(["a", "b", "c", "d"], pairs=pairs)
    assert labels[0] == labels[1] == labels[2] != labels[3]


def test_gold_column_with_empty_values_keeps_those_listings_alone() -> None:
    labels = gold_labels(["a", "b", "c", "d"], column=["p1", "", "p1", None])
    assert labels[0] == labels[2]
    assert len({labels[1], labels[3], labels[0]}) == 3


def test_unknown_gold_id_is_one_clear_error() -> None:
    pairs = pd.DataFrame({"left_id": ["a"], "right_id": ["zz"]})
    with pytest.raises(ProdmatchError, match="'zz' is not in the catalog"):
        gold_labels(["a", "b"], pairs=pairs)


def test_report_counts_cluster_sizes_and_the_largest() -> None:
    catalog = catalog_from_frame(pd.DataFrame({"id": list("abcde"), "title": list("vwxyz")}))
    clusters = pd.DataFrame({"product_id": list("edcba"), "cluster_id": [1, 1, 0, 0, 0]})
    report = dedupe_report(clusters, catalog, [0, 0, 1, 1, 2])
    assert report.cluster_sizes == {2: 1, 3: 1}
    assert report.largest_cluster == 3 and report.clusters == 2
    assert report.f1 == pytest.approx(1 / 3)
