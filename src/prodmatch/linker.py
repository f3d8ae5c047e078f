"""The matching pipeline behind `prodmatch match` and `prodmatch dedupe`.

Serialise each listing, encode it, retrieve candidates (dense and lexical), score them and
decide. `Linker` is the facade; each step lives in its own module.

With `MatchSettings.image_column` set, each listing's photos are encoded too (see
`prodmatch.images`): pairs gain the signals "image" and "image_both", a trained matcher with
a fusion head joins text and image into one vector, and dedup flags listings that reuse one
photo. Without it no image code is imported.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import scipy.sparse as sp

from prodmatch.data.catalog import Catalog
from prodmatch.decide import assign
from prodmatch.decide.calibrate import Cut, choose_cut
from prodmatch.encode import TextEncoder
from prodmatch.errors import ProdmatchError
from prodmatch.matcher.folder import (
    CROSS_DIR,
    FUSION_DIR,
    HEAD_DIR,
    LEXICAL_DIR,
    is_matcher,
    part,
    read_matcher_info,
)
from prodmatch.retrieve import SparseIndex, retrieve_candidates
from prodmatch.retrieve.hybrid import NOT_RANKED, RANK_COLUMNS
from prodmatch.score import code_signals, needs_dense, needs_sparse, score_pairs
from prodmatch.settings import MatchSettings
from prodmatch.text import extract_model_numbers, load_rates, serialize_records
from prodmatch.text.attributes import (
    ATTRIBUTE_COLUMNS,
    Attributes,
    attribute_signals,
    listing_attributes,
    tagged_attributes,
)

if TYPE_CHECKING:
    from prodmatch.dedup import DedupeOptions
    from prodmatch.images.encoder import ImageEncoder
    from prodmatch.images.fusion import FusionHead
    from prodmatch.matcher.head import MatchHead
    from prodmatch.rerank import Reranker

MATCH_COLUMNS = ["left_id", "right_id", "score", "probability", "rank", "decision"]
SIGNAL_COLUMNS = (
    "dense",
    "sparse",
    "code_agreement",
    "code_variant",
    "image",
    "image_both",
    "same_photo",
    *ATTRIBUTE_COLUMNS,
)
# Pairs whose vectors are gathered at once: gathering every candidate's two vectors in one go
# held 2 x candidates x dim floats (3 GB for a million 384-dim pairs) for one dot product.
PAIR_CHUNK = 16_384


@dataclass
class Side:
    """One catalog prepared for matching: texts for the encoder and for lexical signals."""

    catalog: Catalog
    texts: list[str]  # tagged "[title] ..." text, read by the encoder
    plain: list[str]  # the same values untagged, read by n-grams and fuzzy matching
    codes: list[frozenset[str]]  # model numbers found in each listing
    vectors: npt.NDArray[np.float32] | None = None  # text, or text and image fused
    tfidf: sp.csr_matrix | None = field(default=None, repr=False)
    image_vectors: npt.NDArray[np.float32] | None = field(default=None, repr=False)
    has_image: npt.NDArray[np.bool_] | None = field(default=None, repr=False)
    image_paths: list[list[Path]] | None = field(default=None, repr=False)
    attributes: list[Attributes] | None = field(default=None, repr=False)  # read when asked

    @classmethod
    def of_texts(cls, catalog: Catalog, texts: list[str], plain: list[str]) -> Side:
        """A side from serialised texts (tagged and plain), with the model numbers they name."""
        return cls(catalog=catalog, texts=texts, plain=plain, codes=model_numbers(plain))


def model_numbers(plain: Sequence[str]) -> list[frozenset[str]]:
    """The model numbers each plain text names (what the code signals compare)."""
    return [frozenset(extract_model_numbers(text)) for text in plain]


class Linker:
    """Matches two catalogs, or one catalog against itself, under one `MatchSettings`."""

    def __init__(
        self,
        settings: MatchSettings | None = None,
        *,
        encoder: TextEncoder | None = None,
        image_encoder: ImageEncoder | None = None,
        fusion: FusionHead | None = None,
        lexical: SparseIndex | None = None,
        progress: bool = True,
    ) -> None:
        """`fusion` joins text and image vectors (default: the trained matcher's, if any).

        `lexical` is the TF-IDF vocabulary and IDF behind the `sparse` signal and lexical
        retrieval: by default the trained matcher's (fitted on its training catalogs), so a
        pair gets the same `sparse` value in training and in every later run; with no matcher
        (or one saved before matchers kept it), fitted on the catalogs being matched.
        """
        self.settings = settings or MatchSettings()
        self._encoder = encoder
        self._image_encoder = image_encoder
        self.progress = progress
        self.head = _load_head(self.settings) if self.settings.scorer == "learned" else None
        self.reranker = _load_reranker(self.settings) if self.head is not None else None
        self.fusion = fusion if fusion is not None else _load_fusion(self.settings)
        self.lexical = lexical if lexical is not None else _load_lexical(self.settings)
        if self.fusion is not None and self.settings.image_column is None:
            raise ProdmatchError(
                f"{self.settings.model}: this matcher fuses text with product photos; "
                "name the photo column (image_column, --image-col)"
            )

    @property
    def encoder(self) -> TextEncoder:
        if self._encoder is None:
            s = self.settings
            self._encoder = TextEncoder(
                s.model,
                max_seq_length=s.max_seq_length,
                batch_size=s.batch_size,
                engine=s.engine,
                device=s.device,
            )
        return self._encoder

    @property
    def image_encoder(self) -> ImageEncoder:
        """EfficientNet-Lite0 (or `image_model`), on as many threads as torch is set to use."""
        if self._image_encoder is None:
            import torch

            from prodmatch.images.encoder import ImageEncoder

            model = self.settings.image_model
            self._image_encoder = ImageEncoder(model, threads=torch.get_num_threads())
        return self._image_encoder

    # -- preparation -------------------------------------------------------------------------

    def prepare(self, left: Catalog, right: Catalog | None = None) -> tuple[Side, Side]:
        """Serialise, encode and vectorise both sides (the same side twice for dedup)."""
        sides = [self.side(left)] if right is None else [self.side(left), self.side(right)]
        s = self.settings
        if s.image_column is not None:
            for side in sides:
                self._add_images(side, s.image_column)
        if s.retrieval in ("hybrid", "dense") or needs_dense(s.scorer):
            for side in sides:
                side.vectors = self.encoder.encode(
                    side.texts, progress=self.progress, description=f"encoding {side.catalog.name}"
                )
                if self.fusion is not None:
                    side.vectors = self._fuse(side, side.vectors)
        if s.retrieval in ("hybrid", "sparse") or needs_sparse(s.scorer):
            self.add_tfidf(sides)
        return sides[0], sides[-1]

    def add_tfidf(self, sides: list[Side]) -> None:
        """Each side's TF-IDF rows: the matcher's vocabulary, else one fitted on these sides
        (each text analysed once: fitting and then transforming read every text twice)."""
        _, rows = self.lexical_rows([text for side in sides for text in side.plain])
        start = 0
        for side in sides:
            side.tfidf = sp.csr_matrix(rows[start : start + len(side.plain)])
            start += len(side.plain)

    def lexical_index(self, *sides: Side) -> SparseIndex:
        """The TF-IDF statistics behind `sparse`: the matcher's, else fitted on these sides'
        texts (as `prepare` fits them), so an explanation re-reads a changed listing alike."""
        return self.lexical or SparseIndex([text for side in sides for text in side.plain])

    def lexical_rows(self, plain: Sequence[str]) -> tuple[SparseIndex, sp.csr_matrix]:
        """`lexical_index` of these plain texts, and their TF-IDF rows (read once)."""
        if self.lexical is not None:
            return self.lexical, self.lexical.transform(plain)
        return SparseIndex.fitted(plain)

    def side(self, catalog: Catalog) -> Side:
        """One catalog serialised (not yet encoded)."""
        columns = self._columns(catalog)
        rows: list[dict[str, str]] = catalog.records[columns].to_dict("records")  # type: ignore[assignment]
        rates = load_rates(self.settings.exchange_rates)  # prices in one currency, if given
        return Side.of_texts(
            catalog,
            serialize_records(rows, columns, rates=rates),
            serialize_records(rows, columns, tags=False, rates=rates),
        )

    def _add_images(self, side: Side, column: str) -> None:
        """Photos and their vectors; problems are one warning per catalog, never a stop."""
        from prodmatch.images.listings import encode_catalog_images

        images = encode_catalog_images(
            side.catalog, column, self.image_encoder, progress=self.progress
        )
        side.image_paths = images.paths
        side.image_vectors = images.vectors
        side.has_image = images.has_image

    def _fuse(self, side: Side, text: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        """One vector per listing from its text and photo (the missing-photo embedding where
        it has none)."""
        assert self.fusion is not None
        assert side.image_vectors is not None and side.has_image is not None
        try:
            return self.fusion.fuse(text, side.image_vectors, side.has_image)
        except ValueError as error:
            raise ProdmatchError(f"the fusion head does not fit these encoders: {error}") from None

    def _columns(self, catalog: Catalog) -> list[str]:
        wanted = self.settings.columns
        if wanted is None:
            image = self.settings.image_column
            return [c for c in catalog.columns if c != image]
        missing = [c for c in wanted if c not in catalog.columns]
        if missing:
            raise ProdmatchError(
                f"{catalog.name}: no column {', '.join(map(repr, missing))}; "
                f"columns are {', '.join(catalog.columns)}"
            )
        return list(wanted)

    # -- scoring -----------------------------------------------------------------------------

    def features(
        self,
        left: Side,
        right: Side,
        li: npt.ArrayLike,
        ri: npt.ArrayLike,
        *,
        attributes: bool | None = None,
    ) -> pd.DataFrame:
        """The raw signals of given (left position, right position) pairs. The attribute
        signals (`prodmatch.text.attributes`) are added with `attributes`, by default when
        the matcher's classifier reads any: they cost a pass over each pair in Python."""
        li = np.asarray(li, dtype=np.int64)
        ri = np.asarray(ri, dtype=np.int64)
        # columns gathered first, the frame made once: adding them one by one cost more
        # than computing them for the few pairs of a registry write
        columns: dict[str, Any] = {"left": li, "right": ri}
        if left.vectors is not None and right.vectors is not None:
            columns["dense"] = rowwise_dot(left.vectors, right.vectors, li, ri)
        if left.tfidf is not None and right.tfidf is not None:
            columns["sparse"] = SparseIndex.pair_scores(left.tfidf, right.tfidf, li, ri)
        columns.update(code_signals(left.codes, right.codes, li, ri))
        if left.image_vectors is not None and right.image_vectors is not None:
            columns["image"], columns["image_both"] = _image_signals(left, right, li, ri)
        if attributes if attributes is not None else self.reads_attributes():
            columns.update(attribute_signals(self.attributes(left), self.attributes(right), li, ri))
        return pd.DataFrame(columns)

    def attributes(self, side: Side) -> list[Attributes]:
        """Each listing's attributes, read once per side: from the columns matching reads,
        or, for a side kept only as tagged texts (the registry's), from the tags."""
        if side.attributes is None:
            if side.catalog.columns:
                columns = self._columns(side.catalog)
                rows: list[dict[str, str]] = side.catalog.records[columns].to_dict("records")  # type: ignore[assignment]
                rates = load_rates(self.settings.exchange_rates)
                side.attributes = [listing_attributes(row, columns, rates) for row in rows]
            elif side.texts:
                side.attributes = [tagged_attributes(text) for text in side.texts]
            else:
                raise ProdmatchError(
                    f"{side.catalog.name}: the listings' attributes (price, year, ...) were not "
                    "kept, and this matcher reads them"
                )
        return side.attributes

    def reads_attributes(self) -> bool:
        """Whether the matcher's classifier reads any attribute signal."""
        read = self.head.extra_columns if self.head is not None else ()
        return not set(read).isdisjoint(ATTRIBUTE_COLUMNS)

    def score(self, left: Side, right: Side, features: pd.DataFrame) -> npt.NDArray[np.float64]:
        s = self.settings
        if self.head is not None:
            assert left.vectors is not None and right.vectors is not None
            li, ri = features["left"].to_numpy(), features["right"].to_numpy()
            extra = self.head.extra_matrix(features)
            scores = np.zeros(len(li), dtype=np.float64)
            for start in range(0, len(li), PAIR_CHUNK):  # a chunk's vectors at a time
                rows = slice(start, start + PAIR_CHUNK)
                u, v = left.vectors[li[rows]], right.vectors[ri[rows]]
                scores[rows] = self.head.score(u, v, extra[rows])
            if self.reranker is None:
                return scores
            return self.reranker.rescore(
                scores,
                [left.texts[i] for i in li],
                [right.texts[i] for i in ri],
                floor=self.settings.rerank_floor,
                progress=self.progress,
            )
        return score_pairs(
            features,
            s.scorer,
            dense_weight=s.dense_weight,
            code_weight=s.code_weight,
            left_texts=left.plain,
            right_texts=right.plain,
        )

    def score_id_pairs(
        self, left: Side, right: Side, pairs: pd.DataFrame
    ) -> npt.NDArray[np.float64]:
        """Scores of labelled pairs given by id (columns left_id, right_id)."""
        li = left.catalog.records.index.get_indexer(pd.Index(pairs["left_id"]))
        ri = right.catalog.records.index.get_indexer(pd.Index(pairs["right_id"]))
        if (li < 0).any() or (ri < 0).any():
            raise ProdmatchError("some pair ids are not in the catalogs")
        return self.score(left, right, self.features(left, right, li, ri))

    # -- candidates and decisions ------------------------------------------------------------

    def candidates(
        self, left: Side, right: Side, *, exclude_self: bool = False, k: int | None = None
    ) -> pd.DataFrame:
        """Scored candidate pairs with the retrievers' ranks, best first per left listing;
        `k` (default: the settings') candidates per listing and retriever.

        Compact columns only (positions, int32 ranks, float32 signals, int8 codes): a million
        candidates take tens of MB. The listings' ids are added for output (`with_ids`).
        """
        s = self.settings
        use_dense = s.retrieval in ("hybrid", "dense")
        use_sparse = s.retrieval in ("hybrid", "sparse")
        found = retrieve_candidates(
            left.vectors if use_dense else None,
            right.vectors if use_dense else None,
            left.tfidf if use_sparse else None,
            right.tfidf if use_sparse else None,
            k=s.k if k is None else k,
            index_kind=s.index,
            exclude_self=exclude_self,
        ).pairs
        feats = self.features(left, right, found["left"], found["right"])
        pairs = pd.concat([found, feats.drop(columns=["left", "right"])], axis=1)
        pairs["score"] = self.score(left, right, feats)
        return _ranked(pairs)

    def match(
        self, left: Catalog, right: Catalog, *, threshold: float | None = None
    ) -> pd.DataFrame:
        """All scored candidates of two catalogs with a `decision` column and the ids."""
        left_side, right_side = self.prepare(left, right)
        pairs = self.candidates(left_side, right_side)
        return with_ids(self.decide(pairs, threshold), left_side, right_side)

    def decide(self, pairs: pd.DataFrame, threshold: float | None = None) -> pd.DataFrame:
        """`pairs` with a `decision` column (and `probability`, when it can be estimated)."""
        return self.decide_explained(pairs, threshold)[0]

    def decide_explained(
        self, pairs: pd.DataFrame, threshold: float | None = None, *, left_rows: int | None = None
    ) -> tuple[pd.DataFrame, Cut]:
        """`decide`, and the threshold it used with the reason for it."""
        cut = self.cut(pairs, threshold, left_rows=left_rows)
        pairs = pairs.copy()
        if cut.calibration is not None and cut.calibration.knots:
            scores = pairs["score"].to_numpy()
            pairs["probability"] = cut.calibration.probabilities(scores).astype(np.float32)
        pairs["decision"] = assign(pairs, cut.threshold, self.settings.assignment).to_numpy()
        return pairs, cut

    def cut(
        self, pairs: pd.DataFrame, threshold: float | None = None, *, left_rows: int | None = None
    ) -> Cut:
        """The threshold for `pairs` (columns left, right, score, rank) and why
        (`prodmatch.decide.calibrate.choose_cut`, which every path decides through)."""
        return choose_cut(pairs, self.settings, threshold=threshold, left_rows=left_rows)

    def dedupe(
        self,
        catalog: Catalog,
        *,
        threshold: float | None = None,
        options: DedupeOptions | None = None,
    ) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Duplicate pairs within one catalog, and the clusters they form.

        Clusters come from average linkage at the dedup threshold (`threshold`, else the
        scorer's dedup default), not from connected components, which chain look-alike
        products together; see `prodmatch.dedup` for sources and the options.
        """
        from prodmatch.dedup import DedupeOptions, dedupe_catalog

        chosen = options if options is not None else DedupeOptions(threshold=threshold)
        result = dedupe_catalog(self, catalog, chosen)
        return result.pairs, result.clusters

    def with_same_photo(self, side: Side, pairs: pd.DataFrame) -> pd.DataFrame:
        """Candidates plus a `same_photo` flag; pairs sharing a photo join the candidates.

        Such a pair is scored like any other and only its score decides: a shop may show one
        stock photo for every colour of a product, so a shared photo is shown, never merged on.
        """
        from prodmatch.images.phash import listing_hashes, same_photo_pairs

        assert side.image_paths is not None
        hashes = listing_hashes(side.image_paths, progress=self.progress)
        found = same_photo_pairs(hashes, side.catalog.ids)
        position = side.catalog.records.index
        li = position.get_indexer(pd.Index(found["left_id"]))
        ri = position.get_indexer(pd.Index(found["right_id"]))
        shared = set(zip(li.tolist(), ri.tolist(), strict=True))
        known = set(zip(pairs["left"].tolist(), pairs["right"].tolist(), strict=True))
        fresh = sorted(shared - known)
        if fresh:
            pairs = self._add_pairs(side, pairs, fresh)
        keys = zip(pairs["left"].tolist(), pairs["right"].tolist(), strict=True)
        flags = [pair in shared for pair in keys]
        return pairs.assign(same_photo=np.asarray(flags, dtype=bool))

    def _add_pairs(
        self, side: Side, pairs: pd.DataFrame, extra: list[tuple[int, int]]
    ) -> pd.DataFrame:
        """`pairs` with more (left, right) positions scored, ranks recomputed."""
        li, ri = (np.asarray(column, dtype=np.int64) for column in zip(*extra, strict=True))
        feats = self.features(side, side, li, ri)
        feats["score"] = self.score(side, side, feats)
        for column in RANK_COLUMNS:
            if column in pairs:
                feats[column] = np.int32(NOT_RANKED)  # found by photo, by no retriever
        return _ranked(pd.concat([pairs.drop(columns="rank"), feats], ignore_index=True))


def with_ids(pairs: pd.DataFrame, left: Side, right: Side) -> pd.DataFrame:
    """`pairs` with the listings' ids (left_id, right_id) beside their positions.

    Ids are Python strings (object columns, ~60 bytes a cell with the string): add them to
    what is written or returned, not to every candidate while matching.
    """
    left_ids = np.asarray(left.catalog.ids, dtype=object)
    right_ids = left_ids if right is left else np.asarray(right.catalog.ids, dtype=object)
    return pairs.assign(
        left_id=left_ids[pairs["left"].to_numpy()], right_id=right_ids[pairs["right"].to_numpy()]
    )


def rowwise_dot(
    left: npt.NDArray[np.float32],
    right: npt.NDArray[np.float32],
    li: npt.NDArray[np.int64],
    ri: npt.NDArray[np.int64],
) -> npt.NDArray[np.float32]:
    """Dot products of rows `left[li]` and `right[ri]`, gathered `PAIR_CHUNK` pairs at a time."""
    out = np.zeros(len(li), dtype=np.float32)
    for start in range(0, len(li), PAIR_CHUNK):
        rows = slice(start, start + PAIR_CHUNK)
        out[rows] = np.einsum("ij,ij->i", left[li[rows]], right[ri[rows]])
    return out


def _ranked(pairs: pd.DataFrame) -> pd.DataFrame:
    """Best score first per left listing, with its 1-based `rank` (int32)."""
    pairs = pairs.sort_values(["left", "score"], ascending=[True, False], kind="stable")
    pairs["rank"] = (pairs.groupby("left").cumcount() + 1).astype(np.int32)
    return pairs.reset_index(drop=True)


def output_columns(pairs: pd.DataFrame) -> list[str]:
    """The columns users get: the decision and, as its explanation, each signal behind it
    (`probability` only where it was estimated)."""
    signals = [c for c in SIGNAL_COLUMNS if c in pairs]
    shown = [c for c in MATCH_COLUMNS if c != "probability" or c in pairs]
    return [*shown, *signals]


def _image_signals(
    left: Side, right: Side, li: npt.NDArray[np.int64], ri: npt.NDArray[np.int64]
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    """Cosine of the two listings' photos where both have one (else 0), and whether both do.

    The flag keeps "no photo to compare" apart from "photos that differ" for a classifier.
    """
    assert left.image_vectors is not None and right.image_vectors is not None
    assert left.has_image is not None and right.has_image is not None
    both = left.has_image[li] & right.has_image[ri]
    cosine = rowwise_dot(left.image_vectors, right.image_vectors, li, ri)
    return np.where(both, cosine, 0.0).astype(np.float32), both.astype(np.float32)


def _load_head(settings: MatchSettings) -> MatchHead:
    """The pair classifier of the trained matcher named by `settings.model`."""
    from prodmatch.matcher.head import MatchHead

    if not is_matcher(settings.model):
        raise ProdmatchError(
            f"the learned scorer needs a trained matcher folder as model, not '{settings.model}'"
        )
    read_matcher_info(settings.model)  # its format, and no link leading out of it
    return MatchHead.load(part(settings.model, HEAD_DIR))


def _load_reranker(settings: MatchSettings) -> Reranker | None:
    """The cross-encoder of the trained matcher named by `settings.model`, if it has one."""
    folder = Path(settings.model) / CROSS_DIR
    if not folder.is_dir():
        return None
    from prodmatch.rerank import Reranker

    return Reranker.load(part(settings.model, CROSS_DIR), device=settings.device)


def _load_fusion(settings: MatchSettings) -> FusionHead | None:
    """The fusion head of the trained matcher named by `settings.model`, if it has one."""
    folder = Path(settings.model) / FUSION_DIR
    if not is_matcher(settings.model) or not folder.is_dir():
        return None
    from prodmatch.images.fusion import FusionHead

    read_matcher_info(settings.model)
    return FusionHead.load(part(settings.model, FUSION_DIR))


def _load_lexical(settings: MatchSettings) -> SparseIndex | None:
    """The TF-IDF statistics of the trained matcher named by `settings.model`, if it has them."""
    if not is_matcher(settings.model) or not (Path(settings.model) / LEXICAL_DIR).is_dir():
        return None
    return SparseIndex.load(part(settings.model, LEXICAL_DIR))
