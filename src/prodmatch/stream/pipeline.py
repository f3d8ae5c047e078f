"""Matching catalogs too large for memory: every stage in chunks, through a work folder.

    prepare  each catalog read `chunk_rows` listings at a time, serialised, encoded and stored
             (see `SideStore`); memory holds one chunk.
    index    the right side's vectors indexed by FAISS (IVF past 50k: see
             `prodmatch.retrieve.dense`), nprobe calibrated against exact search, saved.
    search   the left side's vectors searched a chunk at a time; each chunk's candidates are
             scored (the same scorers as `Linker`) and written as one Parquet part.
    decide   the threshold calibrated on the candidates (`Linker.cut`, on all of them or an
             even sample), then the parts above it assigned (one-to-one by default).

Everything a stage finishes is on disk before it counts as finished, so running the same
command again resumes where a stopped run left off: at the first unfinished chunk of a side,
with the saved index, at the first missing candidate part. The work folder remembers its
inputs and settings and refuses to mix runs.

Candidates come from dense retrieval alone: lexical (TF-IDF) retrieval would multiply every
query against every listing, which does not scale to a million. The TF-IDF and model-number
signals still score each candidate: with a trained matcher, from the TF-IDF vocabulary and IDF
it was trained with (so a pair scores as it would in memory); otherwise from a vocabulary
fitted on the first `sample_rows` listings of each side (the same whatever the chunk size, so
chunked and unchunked runs agree).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from prodmatch.data.catalog import Catalog
from prodmatch.data.chunks import DEFAULT_CHUNK_ROWS, estimate_rows, read_catalog_chunks
from prodmatch.decide import assign
from prodmatch.decide.calibrate import Cut
from prodmatch.encode import TextEncoder
from prodmatch.errors import ProdmatchError
from prodmatch.io import atomic_path, atomic_write_text
from prodmatch.linker import Linker, Side, output_columns
from prodmatch.progress import peak_rss_mb, progress_bar
from prodmatch.retrieve import DenseIndex, SparseIndex
from prodmatch.retrieve.dense import choose_kind, exact_top_k, index_recall, train_size
from prodmatch.score import code_signals, needs_sparse
from prodmatch.settings import MatchSettings
from prodmatch.stream.store import SideStore, damaged, read_work_part
from prodmatch.text.attributes import ATTRIBUTE_COLUMNS, Attributes, attribute_signals

DEFAULT_SAMPLE_ROWS = 50_000
RECALL_QUERIES = 1_000  # queries to calibrate nprobe, and as many again to report recall
_RUN_FORMAT = "prodmatch-run/1"
_BLOCK = 100_000  # vectors read at once when scanning the store
BLOCK_CAP = 20  # model numbers on more listings than this a side are no block
# Candidates read to calibrate the threshold (compact columns, ~20 bytes each); past this,
# an even sample of the left file's parts: the estimate needs thousands, not millions.
CALIBRATION_ROWS = 2_000_000


@dataclass
class ReadOptions:
    sep: str | None = None
    id_col: str = "id"
    encoding: str | None = None


@dataclass
class StageClock:
    """Wall time, rows and the process's peak memory so far, per stage."""

    stages: dict[str, dict[str, float]] = field(default_factory=dict)

    @contextmanager
    def measure(self, name: str, rows: int = 0) -> Iterator[None]:
        start = time.perf_counter()
        yield
        stage = self.stages.setdefault(name, {"seconds": 0.0, "rows": 0})
        stage["seconds"] += time.perf_counter() - start
        stage["rows"] += rows
        stage["peak_rss_mb"] = peak_rss_mb()

    def report(self) -> dict[str, dict[str, float]]:
        out = {}
        for name, stage in self.stages.items():
            rate = stage["rows"] / stage["seconds"] if stage["seconds"] > 0 else 0.0
            out[name] = {
                "seconds": round(stage["seconds"], 2),
                "rows": int(stage["rows"]),
                "rows_per_second": round(rate, 1),
                "peak_rss_mb": stage["peak_rss_mb"],
            }
        return out


@dataclass
class StreamResult:
    matches: pd.DataFrame
    report: dict[str, Any]
    cut: Cut | None = None  # the threshold used, and why


class StreamMatcher:
    """Matches two catalog files through a work folder (see the module docstring)."""

    def __init__(
        self,
        work_dir: Path,
        settings: MatchSettings | None = None,
        *,
        chunk_rows: int = DEFAULT_CHUNK_ROWS,
        sample_rows: int = DEFAULT_SAMPLE_ROWS,
        read: ReadOptions | None = None,
        progress: bool = True,
    ) -> None:
        if chunk_rows < 1 or sample_rows < 1:
            raise ProdmatchError("chunk_rows and sample_rows must be at least 1")
        self.work = Path(work_dir)
        self.settings = settings or MatchSettings()
        self.chunk_rows = chunk_rows
        self.sample_rows = sample_rows
        self.read = read or ReadOptions()
        self.progress = progress
        s = self.settings
        encoder = TextEncoder(
            s.model,
            max_seq_length=s.max_seq_length,
            batch_size=s.batch_size,
            engine=s.engine,
            device=s.device,
            cache=False,  # the work folder is the cache
        )
        self.linker = Linker(s, encoder=encoder, progress=progress)
        self.clock = StageClock()
        self.sparse: SparseIndex | None = None
        if s.image_column is not None:
            raise ProdmatchError("streamed matching reads no images; leave out --image-col")
        if self.linker.reranker is not None:
            raise ProdmatchError(
                f"{s.model}: streamed matching (--work-dir) does not run cross-encoders yet; "
                "match in memory, or use a matcher trained without --cross-encoder"
            )

    def run(self, left: Path, right: Path, *, threshold: float | None = None) -> StreamResult:
        self._claim(Path(left), Path(right))
        started = time.perf_counter()
        if needs_sparse(self.settings.scorer):
            with self.clock.measure("load"):
                self.sparse = self.linker.lexical or self._fit_sparse(Path(left), Path(right))
        left_store = self.prepare(Path(left), "left")
        right_store = self.prepare(Path(right), "right")
        index, recall = self.index(left_store, right_store)
        self.search(left_store, right_store, index)
        matches, cut = self.decide(threshold)
        report = {
            "left_rows": left_store.progress.rows,
            "right_rows": right_store.progress.rows,
            "index": index.kind,
            "nprobe": index.nprobe if index.kind in ("ivf", "ivfpq") else None,
            "index_recall": recall,
            "k": self.settings.k,
            "matches": len(matches),
            "threshold": cut.threshold,
            "decision": cut.source,
            "stages": self.clock.report(),
            "total_seconds": round(time.perf_counter() - started, 1),
            "peak_rss_mb": peak_rss_mb(),
        }
        atomic_write_text(self.work / "report.json", json.dumps(report, indent=2) + "\n")
        return StreamResult(matches, report, cut)

    # -- the run's identity ------------------------------------------------------------------

    def _claim(self, left: Path, right: Path) -> None:
        """Record what this work folder is for; refuse to resume a different run in it."""
        identity = {
            "format": _RUN_FORMAT,
            "left": _file_identity(left),
            "right": _file_identity(right),
            "settings": self.settings.to_dict(),
            "chunk_rows": self.chunk_rows,
            "sample_rows": self.sample_rows,
            "read": self.read.__dict__,
        }
        path = self.work / "run.json"
        if path.is_file():
            try:
                recorded = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError) as error:
                raise damaged(path, error) from None
            if recorded != identity:
                raise ProdmatchError(
                    f"{self.work}: this work folder holds a run with other inputs or settings; "
                    "give a new --work-dir (or delete this one) to start afresh"
                )
            return
        self.work.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, json.dumps(identity, indent=2) + "\n")

    # -- prepare -----------------------------------------------------------------------------

    def _chunks(self, path: Path, rows: int) -> Iterator[Catalog]:
        r = self.read
        return read_catalog_chunks(path, rows=rows, sep=r.sep, id_col=r.id_col, encoding=r.encoding)

    def _fit_sparse(self, left: Path, right: Path) -> SparseIndex:
        """The TF-IDF vocabulary of the first `sample_rows` listings of each side."""
        texts: list[str] = []
        for path in (left, right):
            first = next(self._chunks(path, self.sample_rows))
            texts += self.linker.side(first).plain
        return SparseIndex(texts)

    def prepare(self, path: Path, name: str) -> SideStore:
        """Serialise, vectorise and encode one catalog into its store, resuming if begun."""
        store = SideStore(self.work / name)
        if store.progress.complete:
            return store
        done = store.progress.chunks
        total = estimate_rows(path)
        with progress_bar(
            f"preparing {name}", total, unit="listings", enabled=self.progress
        ) as advance:
            advance(min(store.progress.rows, total))
            for number, catalog in enumerate(self._chunks(path, self.chunk_rows)):
                if number < done:
                    continue
                with self.clock.measure("load", len(catalog)):
                    side = self.linker.side(catalog)
                    tfidf = self.sparse.transform(side.plain) if self.sparse else None
                with self.clock.measure("encode", len(catalog)):
                    vectors = self.linker.encoder.encode(side.texts, progress=False)
                frame = pd.DataFrame(
                    {
                        "id": catalog.ids,
                        "plain": side.plain,
                        "codes": [" ".join(sorted(c)) for c in side.codes],
                        # what the attribute signals read, kept since the columns are not
                        "attributes": [a.to_json() for a in self.linker.attributes(side)],
                    }
                )
                store.append(frame, vectors, tfidf)
                advance(len(catalog))
        store.finish()
        return store

    # -- index -------------------------------------------------------------------------------

    def index(self, left: SideStore, right: SideStore) -> tuple[DenseIndex, float | None]:
        """The right side's index, opened if saved, else built, calibrated and saved; and its
        top-k recall against exact search on held-out left queries (None for exact kinds)."""
        path = self.work / "index" / "right.faiss"
        k = self.settings.k
        n = right.progress.rows
        exact_kind = choose_kind(self.settings.index, n) == "flat"
        queries = left.sample(0 if exact_kind else 2 * RECALL_QUERIES)  # flat needs no check
        tune, held = queries[0::2], queries[1::2]
        if DenseIndex.saved(path):
            with self.clock.measure("index"):
                index = DenseIndex.load(path, lookup=right.gather)
        else:
            with self.clock.measure("index", n):
                train = right.sample(train_size(self.settings.index, n))
                index = DenseIndex.from_chunks(
                    right.iter_vectors(_BLOCK),
                    size=n,
                    dim=right.progress.dim,
                    kind=self.settings.index,
                    train=train,
                    lookup=right.gather,
                )
                if not exact_kind:
                    exact = exact_top_k(tune, right.iter_vectors(_BLOCK), min(k, n))[1]
                    index.calibrate(tune, exact, min(k, n))
                index.save(path)
        if exact_kind:
            return index, None
        with self.clock.measure("recall check"):
            exact = exact_top_k(held, right.iter_vectors(_BLOCK), min(k, n))[1]
            recall = index_recall(index.search(held, min(k, n))[1], exact)
        return index, round(recall, 4)

    # -- search and score --------------------------------------------------------------------

    def search(self, left: SideStore, right: SideStore, index: DenseIndex) -> None:
        """Candidates and their scores, one Parquet part per left chunk (existing parts kept)."""
        folder = self.work / "candidates"
        folder.mkdir(exist_ok=True)
        todo = [c for c in left.chunk_rows() if not _part(folder, c[0]).is_file()]
        if not todo:
            return
        right_side = _RightSide(
            right, self.settings.scorer, self.sparse is not None, self.linker.reads_attributes()
        )
        right_side.block_on_codes(left.column("codes"), BLOCK_CAP)
        total = left.progress.rows
        with progress_bar("matching", total, unit="listings", enabled=self.progress) as advance:
            advance(total - sum(end - start for _, start, end in todo))
            for number, start, end in todo:
                queries = left.read(start, end)
                with self.clock.measure("search", end - start):
                    hits = index.search(queries, self.settings.k)
                with self.clock.measure("score", end - start):
                    part = self._score_chunk(left, number, start, queries, hits, right_side)
                with atomic_path(_part(folder, number)) as tmp:
                    part.to_parquet(tmp, index=False)
                advance(end - start)

    def _score_chunk(
        self,
        left: SideStore,
        number: int,
        start: int,
        queries: npt.NDArray[np.float32],
        hits: tuple[npt.NDArray[np.float32], npt.NDArray[np.int64]],
        right: _RightSide,
    ) -> pd.DataFrame:
        """One chunk's candidates with their signals and score, best first per listing."""
        scores, found = hits
        info = left.part(number)
        left_codes = [frozenset(c.split()) for c in info["codes"]]
        li, ri, dense = _with_code_pairs(scores, found, right.code_pairs(left_codes))
        missing = np.isnan(dense)
        if missing.any():  # found by model number only: score from the stored vectors
            stored = right.store.gather(ri[missing])
            dense[missing] = np.einsum("ij,ij->i", queries[li[missing]], stored)
        feats = pd.DataFrame({"left": li, "dense": dense})
        left_tfidf = left.tfidf(number) if self.sparse is not None else None
        if left_tfidf is not None and right.tfidf is not None:
            feats["sparse"] = SparseIndex.pair_scores(left_tfidf, right.tfidf, li, ri)
        for name, values in code_signals(left_codes, right.codes, li, ri).items():
            feats[name] = values
        if right.attributes is not None:
            mine = [Attributes.from_json(text) for text in info["attributes"]]
            for name, signal in attribute_signals(mine, right.attributes, li, ri).items():
                feats[name] = signal
        unique, local = np.unique(ri, return_inverse=True)
        feats.insert(1, "right", local.astype(np.int64))
        left_side = _side(info["id"].tolist(), info["plain"].tolist(), left_codes, queries)
        score = self.linker.score(left_side, right.gather(unique), feats)
        part = pd.DataFrame(
            {
                "left": li + start,
                "right": ri,
                "left_id": info["id"].to_numpy(dtype=object)[li],
                "right_id": right.ids[ri],
                "score": score,
            }
        )
        for column in ("dense", "sparse", "code_agreement", "code_variant", *ATTRIBUTE_COLUMNS):
            if column in feats:
                part[column] = feats[column].to_numpy()
        part = part.sort_values(["left", "score"], ascending=[True, False], kind="stable")
        part["rank"] = part.groupby("left").cumcount() + 1
        return part.reset_index(drop=True)

    # -- decide ------------------------------------------------------------------------------

    def decide(self, threshold: float | None = None) -> tuple[pd.DataFrame, Cut]:
        """Matches among all candidate parts, and the threshold used: the linker's (`Linker.cut`)
        on the parts' compact columns, or an even sample of parts past `CALIBRATION_ROWS`
        candidates; then only pairs above the threshold are read in full."""
        folder = self.work / "candidates"
        parts = sorted(folder.glob("*.parquet"))
        with self.clock.measure("decide"):
            cut = self.linker.cut(_calibration_sample(parts), threshold)
            frames = (_candidates_part(p) for p in parts)
            above = [frame[frame["score"] >= cut.threshold] for frame in frames]
            pairs = pd.concat(above, ignore_index=True) if above else pd.DataFrame()
            if pairs.empty:
                return pd.DataFrame(columns=output_columns(pd.DataFrame())), cut
            pairs["decision"] = assign(pairs, cut.threshold, self.settings.assignment).to_numpy()
            matches = pairs[pairs["decision"]].copy()
            if cut.calibration is not None and cut.calibration.knots:
                probability = cut.calibration.probabilities(matches["score"].to_numpy())
                matches["probability"] = probability.astype(np.float32)
            matches = matches.sort_values(["left", "score"], ascending=[True, False])
        self.clock.stages["decide"]["rows"] = len(pairs)
        return matches[output_columns(matches)].reset_index(drop=True), cut


class _RightSide:
    """What scoring needs of the indexed side, by row: ids, model numbers, TF-IDF rows, and
    (for the learned or fuzzy scorers) vectors and texts, gathered per chunk."""

    def __init__(self, store: SideStore, scorer: str, sparse: bool, attributes: bool) -> None:
        self.store = store
        self.attributes = (
            [Attributes.from_json(text) for text in store.column("attributes")]
            if attributes
            else None
        )
        self.ids = np.asarray(store.column("id"), dtype=object)
        self.codes = [frozenset(c.split()) for c in store.column("codes")]
        self.tfidf = store.all_tfidf() if sparse else None
        self.plain = np.asarray(store.column("plain"), dtype=object) if scorer == "fuzzy" else None
        self.needs_vectors = scorer == "learned"  # the pair classifier reads both vectors
        self.blocks: dict[str, npt.NDArray[np.int64]] = {}

    def block_on_codes(self, left_codes: list[str], cap: int) -> None:
        """Index the model numbers that make useful blocks: on at most `cap` listings a side.

        A model number shared by two listings is the strongest evidence of one product, and
        dense retrieval alone misses some such pairs (measured on synthetic catalogs: top-10
        dense recall 0.79, with model-number blocking 0.97). Common codes ("usb3") would make
        huge blocks and carry little, so they are left out, as blocking rules do.
        """
        left_counts: dict[str, int] = {}
        for codes in left_codes:
            for code in codes.split():
                left_counts[code] = left_counts.get(code, 0) + 1
        rows: dict[str, list[int]] = {}
        for row, codes_r in enumerate(self.codes):
            for code in codes_r:
                if 0 < left_counts.get(code, 0) <= cap:
                    rows.setdefault(code, []).append(row)
        self.blocks = {c: np.asarray(r, dtype=np.int64) for c, r in rows.items() if len(r) <= cap}

    def code_pairs(
        self, codes: list[frozenset[str]]
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """(left position, right row) of listings sharing a blocked model number."""
        li: list[npt.NDArray[np.int64]] = []
        ri: list[npt.NDArray[np.int64]] = []
        for position, mine in enumerate(codes):
            for code in mine:
                rows = self.blocks.get(code)
                if rows is not None:
                    li.append(np.full(len(rows), position, dtype=np.int64))
                    ri.append(rows)
        if not li:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        return np.concatenate(li), np.concatenate(ri)

    def gather(self, rows: npt.NDArray[np.int64]) -> Side:
        plain = self.plain[rows].tolist() if self.plain is not None else []
        vectors = self.store.gather(rows) if self.needs_vectors else None
        codes = [self.codes[r] for r in rows]
        return _side(self.ids[rows].tolist(), plain, codes, vectors)


def _side(
    ids: list[str],
    plain: list[str],
    codes: list[frozenset[str]],
    vectors: npt.NDArray[np.float32] | None,
) -> Side:
    records = pd.DataFrame(index=pd.Index(ids, name="id", dtype=object))
    return Side(Catalog("chunk", records), texts=[], plain=plain, codes=codes, vectors=vectors)


def _with_code_pairs(
    scores: npt.NDArray[np.float32],
    found: npt.NDArray[np.int64],
    coded: tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]],
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.float32]]:
    """Dense hits united with model-number pairs, each pair once, in (left, right) order; the
    dense score is NaN where only the model number found the pair."""
    keep = found >= 0
    li = np.concatenate([np.nonzero(keep)[0].astype(np.int64), coded[0]])
    ri = np.concatenate([found[keep].astype(np.int64), coded[1]])
    nan = np.full(len(coded[0]), np.nan, dtype=np.float32)
    dense = np.concatenate([scores[keep].astype(np.float32), nan])
    _, first = np.unique(np.stack([li, ri]), axis=1, return_index=True)
    return li[first], ri[first], dense[first]


def _candidates_part(path: Path) -> pd.DataFrame:
    """One candidates part. Parts written before the output column ``codes`` was named
    ``code_agreement`` (what it holds) are read with the new name, so a work folder begun by
    an earlier version resumes with the column instead of losing it."""
    part = read_work_part(path)
    if "codes" in part and "code_agreement" not in part:
        part = part.rename(columns={"codes": "code_agreement"})
    return part


def _calibration_sample(parts: list[Path]) -> pd.DataFrame:
    """The compact columns a calibration reads (`Linker.cut`), from every candidate part or,
    past `CALIBRATION_ROWS` candidates, from parts spread evenly over the left file."""
    columns = ["left", "right", "score", "rank"]
    if not parts:
        return pd.DataFrame(columns=columns)
    first = read_work_part(parts[0], columns)
    wanted = max(1, min(len(parts), CALIBRATION_ROWS // max(len(first), 1)))
    chosen = np.unique(np.linspace(0, len(parts) - 1, wanted).round().astype(int))
    frames = [first if n == 0 else read_work_part(parts[n], columns) for n in chosen]
    return pd.concat(frames, ignore_index=True)


def _part(folder: Path, number: int) -> Path:
    return folder / f"{number:05d}.parquet"


def _file_identity(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise ProdmatchError(f"{path}: file not found")
    stat = path.stat()
    return {"path": str(path.resolve()), "bytes": stat.st_size, "modified": int(stat.st_mtime)}
