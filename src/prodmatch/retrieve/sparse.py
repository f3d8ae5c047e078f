"""Lexical retrieval and scoring with character n-gram TF-IDF.

Model numbers are lexical: an untrained sentence encoder places "PSLX350H" and "PSLX250H" close
together, while character n-grams keep them apart. Measured on abt-buy-full, n-gram TF-IDF finds
more true matches in its top 10 than untrained MiniLM, so prodmatch always retrieves with both.

A trained matcher keeps the vocabulary and IDF it was trained with (`SparseIndex.save`, in the
folder's `lexical/`), so its `sparse` signal means the same at match time as in training: fitted
on whatever was loaded, the same pair would get another TF-IDF cosine in every run, and the
classifier and its threshold would meet a distribution they never learned.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer

from prodmatch.errors import ProdmatchError
from prodmatch.io import atomic_path, atomic_write_text, read_format_json

LEXICAL_FORMAT = "prodmatch-lexical/1"
LEXICAL_FILE = "lexical.json"  # format, analyzer and the vocabulary (n-grams by column)
IDF_FILE = "idf.safetensors"  # one float32 tensor "idf", by column
# The lexical signal's terms: character n-grams within words (also the registry's, which
# counts them itself: `prodmatch.registry.lexical`).
ANALYZER = "char_wb"
NGRAMS = (3, 5)
_ANALYZER = {"analyzer": ANALYZER, "ngram_range": list(NGRAMS), "sublinear_tf": True}

# Rows of queries multiplied at once: bounds the dense score block to rows x indexed floats.
# Each block also lives as a sparse product (up to twice its bytes) and as argpartition's
# int64 indices (twice again): 256 MB blocks cost ~1.5 GB at a time, 32 MB ones ~200 MB.
_BLOCK_BYTES = 32 * 1024 * 1024
# Bytes of gathered rows per chunk of `pair_scores`: a chunk's pairs copy both listings'
# n-grams (8 bytes each, value and column), and a listing with a description holds a thousand
# or more; a fixed 20,000 pairs a chunk made this the peak of deduping 25k listings.
_PAIR_BYTES = 32 * 1024 * 1024


class SparseIndex:
    """TF-IDF over character 3-5-grams within words, fitted on both sides together.

    Fitting on both sides gives one vocabulary and IDF, so a token common on one platform only
    ("genuine", "free shipping") is still discounted.
    """

    def __init__(self, corpus: Sequence[str]) -> None:
        self.vectorizer = _vectorizer()
        self.vectorizer.fit(corpus)

    @classmethod
    def fitted(cls, corpus: Sequence[str]) -> tuple[SparseIndex, sp.csr_matrix]:
        """An index fitted on `corpus` and the corpus's rows, each text analysed once
        (fitting and then transforming the same texts reads them twice)."""
        index = cls.__new__(cls)
        index.vectorizer = _vectorizer()
        return index, sp.csr_matrix(index.vectorizer.fit_transform(corpus))

    def save(self, folder: str | Path) -> Path:
        """The vocabulary (JSON) and IDF (safetensors) in `folder`, each written atomically."""
        from safetensors.numpy import save_file

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        vocabulary = sorted(self.vectorizer.vocabulary_, key=self.vectorizer.vocabulary_.get)
        idf = np.ascontiguousarray(self.vectorizer.idf_, dtype=np.float32)
        with atomic_path(folder / IDF_FILE) as tmp:
            save_file({"idf": idf}, str(tmp))
        config = {"format": LEXICAL_FORMAT, **_ANALYZER, "vocabulary": vocabulary}
        atomic_write_text(folder / LEXICAL_FILE, json.dumps(config, ensure_ascii=False) + "\n")
        return folder

    @classmethod
    def load(cls, folder: str | Path) -> SparseIndex:
        """The statistics `save` wrote: no fitting, so every corpus is vectorised alike."""
        from safetensors import SafetensorError
        from safetensors.numpy import load_file

        folder = Path(folder)
        config = read_format_json(folder / LEXICAL_FILE, LEXICAL_FORMAT, "lexical statistics")
        vocabulary = config.get("vocabulary")
        if {k: config.get(k) for k in _ANALYZER} != _ANALYZER or not isinstance(vocabulary, list):
            raise ProdmatchError(f"{folder / LEXICAL_FILE}: analyzer or vocabulary not understood")
        try:
            idf = load_file(str(folder / IDF_FILE)).get("idf")
        except (OSError, ValueError, SafetensorError) as error:
            raise ProdmatchError(f"{folder / IDF_FILE}: cannot read the IDF: {error}") from None
        if idf is None or idf.shape != (len(vocabulary),) or not np.isfinite(idf).all():
            raise ProdmatchError(
                f"{folder / IDF_FILE}: the IDF does not fit the {len(vocabulary)}-term vocabulary"
            )
        mapping = {term: column for column, term in enumerate(vocabulary)}
        if len(mapping) != len(vocabulary) or not all(isinstance(t, str) for t in mapping):
            raise ProdmatchError(f"{folder / LEXICAL_FILE}: the vocabulary has repeated terms")
        index = cls.__new__(cls)
        index.vectorizer = _vectorizer()
        index.vectorizer.vocabulary_ = mapping
        index.vectorizer.idf_ = idf.astype(np.float32)
        return index

    def transform(self, texts: Sequence[str]) -> sp.csr_matrix:
        """L2-normalised TF-IDF rows (so a dot product is a cosine)."""
        return sp.csr_matrix(self.vectorizer.transform(texts))

    @staticmethod
    def search(
        queries: sp.csr_matrix, indexed: sp.csr_matrix, k: int
    ) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int64]]:
        """Top-`k` cosine (scores, row indices) of `indexed` for each query row."""
        k = min(k, indexed.shape[0])
        scores = np.zeros((queries.shape[0], k), dtype=np.float32)
        idx = np.zeros((queries.shape[0], k), dtype=np.int64)
        rows = max(1, _BLOCK_BYTES // (4 * max(1, indexed.shape[0])))
        indexed_t = indexed.T.tocsr()
        for start in range(0, queries.shape[0], rows):
            block = (queries[start : start + rows] @ indexed_t).toarray()
            np.negative(block, out=block)  # in place: the best are the k smallest
            top = np.argpartition(block, k - 1, axis=1)[:, :k] if k else block[:, :0]
            top_scores = -np.take_along_axis(block, top, axis=1)
            order = np.argsort(-top_scores, axis=1, kind="stable")
            idx[start : start + rows] = np.take_along_axis(top, order, axis=1)
            scores[start : start + rows] = np.take_along_axis(top_scores, order, axis=1)
        return scores, idx

    @staticmethod
    def pair_scores(
        left: sp.csr_matrix,
        right: sp.csr_matrix,
        li: npt.NDArray[np.int64],
        ri: npt.NDArray[np.int64],
    ) -> npt.NDArray[np.float32]:
        """Cosine of given (left row, right row) pairs without forming the full product.

        Done in chunks: gathering the rows of a few hundred thousand pairs at once would copy
        every n-gram of every listing once per pair.
        """
        out = np.zeros(len(li), dtype=np.float32)
        per_row = max(left.nnz / max(1, left.shape[0]), right.nnz / max(1, right.shape[0]), 1.0)
        chunk = max(256, int(_PAIR_BYTES // (2 * 8 * per_row)))
        for start in range(0, len(li), chunk):
            stop = start + chunk
            product = left[li[start:stop]].multiply(right[ri[start:stop]])
            out[start:stop] = np.asarray(product.sum(axis=1), dtype=np.float32).ravel()
        return out


def _vectorizer() -> TfidfVectorizer:
    return TfidfVectorizer(
        analyzer=ANALYZER, ngram_range=NGRAMS, sublinear_tf=True, min_df=1, dtype=np.float32
    )
