"""The HTTP payloads, checked by pydantic: a bad one is a 422 naming the field.

Photos are URLs (http or https) only: no request may name a file on the server; the
registry stores the URL and fetches it only when started with `--photos fetch`.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from prodmatch.registry.registry import NewListing

Platform = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")]
ListingId = Annotated[str, Field(min_length=1, max_length=256, pattern=r"^[^/\x00-\x1f]+$")]
MAX_ATTRIBUTES = 64
MAX_VALUE_CHARS = 10_000


class ListingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    platform: Platform
    id: ListingId
    attributes: dict[str, str | int | float] = Field(min_length=1)
    photo: str | None = Field(default=None, max_length=2048)

    @field_validator("attributes")
    @classmethod
    def _attributes(cls, value: dict[str, Any]) -> dict[str, Any]:
        if len(value) > MAX_ATTRIBUTES:
            raise ValueError(f"at most {MAX_ATTRIBUTES} attributes")
        for name, text in value.items():
            if not name.strip() or len(name) > 64:
                raise ValueError(f"attribute name {name[:64]!r} must be 1-64 characters")
            if len(str(text)) > MAX_VALUE_CHARS:
                raise ValueError(f"attribute '{name}' is longer than {MAX_VALUE_CHARS} characters")
        return value

    @field_validator("photo")
    @classmethod
    def _photo(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("photo must be an http(s) URL; file paths are not accepted")
        return value

    def to_listing(self) -> NewListing:
        attributes = {name: str(text) for name, text in self.attributes.items()}
        return NewListing(self.platform, self.id, attributes, self.photo)


class ListingsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    listings: list[ListingIn] = Field(min_length=1)


class MatchIn(ListingsIn):
    k: int = Field(default=10, ge=1, le=100)


class ListingRef(BaseModel):
    model_config = ConfigDict(extra="forbid")

    platform: Platform
    id: ListingId


class LabelIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    a: ListingRef
    b: ListingRef
    same: bool
