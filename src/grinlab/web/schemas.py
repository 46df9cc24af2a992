"""Response schemas for the OpenAPI document: the same fields as the CLI's JSONL rows
(``FrameResult.to_dict()``), so one parser reads both."""

from __future__ import annotations

from pydantic import BaseModel, Field


class FaceBoxOut(BaseModel):
    x: float
    y: float
    w: float
    h: float
    score: float
    landmarks: list[list[float]] | None = None


class PredictionOut(BaseModel):
    model: str
    task: str
    label: str
    score: float
    probabilities: dict[str, float]


class FaceOut(BaseModel):
    index: int
    box: FaceBoxOut
    predictions: dict[str, PredictionOut]
    smile_intensity: float | None = None
    track_id: int | None = None


class FrameOut(BaseModel):
    """One analysed image: every face, per-stage timings (ms)."""

    source: str
    frame_index: int
    width: int
    height: int
    faces: list[FaceOut]
    timestamp_ms: float | None = None
    timings_ms: dict[str, float] | None = None


class ModelOut(BaseModel):
    name: str
    task: str
    labels: list[str]
    architecture: str = ""
    params: int = 0
    size_bytes: int
    metrics: dict = Field(default_factory=dict)
    command: str = ""


class HealthOut(BaseModel):
    status: str
    version: str
    models: list[str]
    detector: str
    workers: int
    busy: int


class ErrorBody(BaseModel):
    code: int
    message: str


class ErrorOut(BaseModel):
    error: ErrorBody
