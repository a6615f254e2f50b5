"""What a notice mentions: one entity found in ``NoticeRecord.body_text`` (pipeline/entities.py).

Offsets are Python string indexes (code points) into ``body_text``:
``record.body_text[e.start:e.end] == e.text`` always holds.
"""

from __future__ import annotations

from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, model_validator

EntityLabel = Literal["DATE", "ORG", "DOC_NO", "LAW", "QUANTITY", "GPE"]

ENTITY_LABELS: tuple[EntityLabel, ...] = get_args(EntityLabel)


class Entity(BaseModel):
    """One mention in the main text: a date, an organisation, a 文号, a law, a count or a place."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, description="实体文本: the mention exactly as printed in body_text")
    label: EntityLabel = Field(
        description=(
            "Kind: DATE 日期时间, ORG 机构, DOC_NO 文号, LAW 法规文件 (《…》 titles of laws, "
            "regulations and policy documents), QUANTITY 数量, GPE 地名"
        )
    )
    start: int = Field(ge=0, description="Start offset into body_text (code points)")
    end: int = Field(gt=0, description="End offset into body_text (exclusive)")
    section_path: list[int] = Field(
        default_factory=list,
        description=(
            "所在章节: indexes into the record's sections tree ([2, 0] = first child of the third "
            "top-level section); [] when the mention is outside every section"
        ),
    )
    normalized: str | None = Field(
        None,
        description=(
            "规范化值. DATE: ISO 8601 resolved against the notice's published date — 2024-09-25, "
            "2024-09-25T10:00, 2024-09 (a month), 2024 (a year), --09-20 (no year and no publication "
            "date), T10:00 (a time alone), start/end for a range or a part of a month "
            "(9月下旬 → 2024-09-21/2024-09-30). DOC_NO: the 文号 with its year in 〔〕 and no 第 "
            "(固政公开办发〔2024〕3号). QUANTITY: '<value>[+] <unit>' with 万/亿 applied, + for 余/多 "
            "(2.3万亩 → '23000 亩'). None for ORG, GPE and LAW, and for a date that does not exist."
        ),
    )

    @model_validator(mode="after")
    def _span_matches_text(self) -> Entity:
        if self.end - self.start != len(self.text):
            raise ValueError(f"span {self.start}:{self.end} does not fit text {self.text!r}")
        return self
