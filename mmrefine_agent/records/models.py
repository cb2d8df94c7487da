"""Typed, versioned records: everything a run writes to disk and reads back.

Every record line (``steps.jsonl``, ``results.jsonl``, ``judgments.jsonl``) and every JSON
document (``usage.json``, ``scores.json``, ``fingerprint.json``) carries ``version``: the
schema's major version. Readers accept the versions in :data:`READABLE_VERSIONS` (version 1
is what mmrefine-agent 0.1 wrote) and refuse anything else with a message naming the file and
line. Fields added within a major version are optional, and unknown fields are ignored, so a
reader never breaks on a newer minor addition.

Only ``submission.json`` is not versioned: it is the official MMRefine submission format, which
the official evaluator reads as is.
"""

from __future__ import annotations

from mmrefine_agent.records.base import (
    FAILURE_KINDS,
    READABLE_VERSIONS,
    SCHEMA_VERSION,
    FailureKind,
    Part,
    Record,
    Status,
)
from mmrefine_agent.records.documents import (
    CellSummary,
    Completeness,
    DirMarker,
    Fingerprint,
    NodeUsage,
    ParseHealth,
    PluginFingerprint,
    PluginModule,
    ScoreBlock,
    Scores,
    SubmissionEntry,
    SweepDoc,
    UsageDoc,
    UsageMark,
    UsageSession,
)
from mmrefine_agent.records.outcomes import (
    Failure,
    FinalOutput,
    ItemResult,
    JudgmentRecord,
    RoundJudgment,
    RoundSummary,
    UsageBlock,
)
from mmrefine_agent.records.step_scores import RoundCorrection, StepScoreBlock, StepScores
from mmrefine_agent.records.trace import (
    CallRecord,
    CallUsage,
    ImageSummary,
    JudgeCallRecord,
    MessageSummary,
    StepError,
    StepEvent,
    ToolCallRecord,
    ToolRunRecord,
)

__all__ = [
    "FAILURE_KINDS",
    "READABLE_VERSIONS",
    "SCHEMA_VERSION",
    "CallRecord",
    "CallUsage",
    "CellSummary",
    "Completeness",
    "DirMarker",
    "Failure",
    "FailureKind",
    "FinalOutput",
    "Fingerprint",
    "ImageSummary",
    "ItemResult",
    "JudgeCallRecord",
    "JudgmentRecord",
    "MessageSummary",
    "NodeUsage",
    "ParseHealth",
    "Part",
    "PluginFingerprint",
    "PluginModule",
    "Record",
    "RoundCorrection",
    "RoundJudgment",
    "RoundSummary",
    "ScoreBlock",
    "Scores",
    "Status",
    "StepError",
    "StepEvent",
    "StepScoreBlock",
    "StepScores",
    "SubmissionEntry",
    "SweepDoc",
    "ToolCallRecord",
    "ToolRunRecord",
    "UsageBlock",
    "UsageDoc",
    "UsageMark",
    "UsageSession",
]
