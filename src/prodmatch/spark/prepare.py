"""One catalog DataFrame checked, serialised and encoded on the executors.

Each listing becomes a row of the prepared side: `_row` (its position key: increasing in the
input's order, as a single-machine run numbers listings), `id`, the plain text, its model
numbers and its vector as the bytes of its float16 values (`pack`, `unpack`). Serialising
and encoding are the linker's own (`Linker.side`, `TextEncoder.encode`), run in
`mapInPandas` with the linker loaded once per worker (`prodmatch.spark.workers`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
import pandas as pd

from prodmatch.data.catalog import catalog_from_frame
from prodmatch.errors import InputError, ProdmatchError
from prodmatch.spark.workers import Job, linker_for
from prodmatch.stream.store import VECTOR_DTYPE

if TYPE_CHECKING:
    from pyspark.sql import DataFrame


def pack(vectors: npt.NDArray[np.float32]) -> list[bytes]:
    """Each vector as the bytes of its values rounded as the streamed store keeps them
    (`VECTOR_DTYPE`, float16), so a pair gets the same dense cosine, candidates and score on
    both scale-out paths. Bytes, not an array column: Spark moves a binary value as one
    block, where an array of floats is converted element by element at every shuffle and
    Arrow hand-over (the IVF search shuffles each left vector `nprobe` times)."""
    rows = np.ascontiguousarray(vectors, dtype=VECTOR_DTYPE)
    return [row.tobytes() for row in rows]


def unpack(column: pd.Series) -> npt.NDArray[np.float32]:
    """A packed vector column's values as one float32 matrix."""
    if len(column) == 0:
        return np.zeros((0, 0), dtype=np.float32)
    raw = np.frombuffer(b"".join(column.tolist()), dtype=VECTOR_DTYPE)
    return raw.reshape(len(column), -1).astype(np.float32)


PREPARED_SCHEMA = (
    "_row long, id string, plain string, codes array<string>, attributes string, vector binary"
)


def text_columns(df: DataFrame, job: Job, id_col: str, name: str) -> list[str]:
    """The columns read as product text, checked against the DataFrame's columns."""
    s = job.settings
    if id_col not in df.columns:
        raise InputError(f"no id column '{id_col}'; columns are {', '.join(df.columns)}", file=name)
    if s.columns is None:
        return [c for c in df.columns if c not in (id_col, s.image_column)]
    missing = [c for c in s.columns if c not in df.columns]
    if missing:
        named, have = ", ".join(map(repr, missing)), ", ".join(df.columns)
        raise ProdmatchError(f"{name}: no column {named}; columns are {have}")
    return list(s.columns)


def check_ids(ids: DataFrame, name: str, id_col: str) -> None:
    """Every id present and unique: one line naming the first offender, before any encoding."""
    from pyspark.sql import functions as F

    empty = ids.filter(F.col("id").isNull() | (F.col("id") == "")).limit(1).count()
    if empty:
        raise InputError("empty id (every listing needs one)", file=name, column=id_col)
    repeated = ids.groupBy("id").count().filter(F.col("count") > 1).orderBy("id").limit(1).collect()
    if repeated:
        value, times = repeated[0]["id"], repeated[0]["count"]
        raise InputError(f"duplicate id {value!r} ({times} listings)", file=name, column=id_col)


def prepare_side(df: DataFrame, job: Job, *, name: str, id_col: str = "id") -> DataFrame:
    """The prepared side of `df` (PREPARED_SCHEMA), persisted: it is read by every later step."""
    from pyspark import StorageLevel
    from pyspark.sql import functions as F

    columns = text_columns(df, job, id_col, name)
    renamed = [F.col(c).cast("string").alias(f"_c{i}") for i, c in enumerate(columns)]
    frame = df.select(F.trim(F.col(id_col).cast("string")).alias("id"), *renamed)
    check_ids(frame.select("id"), name, id_col)
    frame = frame.withColumn("_row", F.monotonically_increasing_id())

    def encode(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        linker = linker_for(job)
        for batch in batches:
            rows = batch.pop("_row").to_numpy()
            batch.columns = ["id", *columns]
            catalog = catalog_from_frame(batch, id_col="id", columns=columns, name=name)
            side = linker.side(catalog)
            vectors = linker.encoder.encode(side.texts, progress=False)
            yield pd.DataFrame(
                {
                    "_row": rows,
                    "id": catalog.ids,
                    "plain": side.plain,
                    "codes": [sorted(c) for c in side.codes],
                    # what the attribute signals read (JSON), kept since the columns are not
                    "attributes": [a.to_json() for a in linker.attributes(side)],
                    "vector": pack(vectors),
                }
            )

    prepared = frame.mapInPandas(encode, PREPARED_SCHEMA)
    return prepared.persist(StorageLevel.MEMORY_AND_DISK)
