"""``echo``: a model backend that needs no model (the example of a backend plugin).

It answers every request in the official refinement format, calling the reviewed solution
correct and echoing the prompt's last line (with the official prompt, the solution's last
line) as its final answer: the "never finds an error" baseline (every correct solution
verified, every wrong one missed). Run it from the
repository root with::

    mmrefine run configs/quickstart.yaml --plugin examples/echo_backend.py \
        --set model.backend=echo --set model.name=echo --out runs/echo

Options (``model.options``): ``verdict`` (``Correct``, the default, or ``Incorrect``).
See docs/plugins.md, "A model backend".
"""

from __future__ import annotations

from typing import Any, ClassVar

from mmrefine_agent import (
    ConfigError,
    ModelBackend,
    ModelConfig,
    ModelRequest,
    ModelResponse,
    PermanentModelError,
    RegisterBackend,
    hookimpl,
)

ANSWER = """Review and Correction (if applicable):
The solution was read without checking it.

Overall Assessment:
Correctness: {verdict}
Explanation: the echo backend does not reason.
Final Answer: {last_line}"""


class EchoBackend(ModelBackend):
    """Answers without a model: the verdict it is told, and the prompt's last line."""

    description: ClassVar[str] = "example: answers without a model (docs/plugins.md)"
    options_doc: ClassVar[dict[str, str] | None] = {
        "verdict": "the verdict of every answer: Correct (default) or Incorrect"
    }  # any other model.options key is refused, with a did-you-mean, before anything runs
    sees_images: bool = False  # images are not sent; image items are counted as not seen

    def __init__(self, config: ModelConfig) -> None:
        super().__init__(config)
        verdict = config.options.get("verdict", "Correct")
        if verdict not in ("Correct", "Incorrect"):  # a bad option fails before any item
            raise ConfigError(
                f"model.options.verdict: expected Correct or Incorrect, got {verdict!r}"
            )
        self.verdict = verdict

    def identity(self) -> dict[str, Any]:
        """Everything besides the request that changes the answer: it keys the call cache."""
        return {**super().identity(), "verdict": self.verdict}

    def preflight(self) -> list[str]:
        """Nothing can stop every call (no server, no key), so no problem to report."""
        return []

    async def complete(self, request: ModelRequest) -> ModelResponse:
        """The official-format answer for the last message of ``request``."""
        if not request.messages:
            raise PermanentModelError("echo: a request without messages")
        lines = [line.strip() for line in request.messages[-1].text.splitlines() if line.strip()]
        text = ANSWER.format(verdict=self.verdict, last_line=lines[-1] if lines else "")
        return ModelResponse(
            text=text,
            model=self.config.name,
            input_tokens=sum(len(m.text.split()) for m in request.messages),
            output_tokens=len(text.split()),
            finish_reason="stop",
        )


@hookimpl
def mmrefine_register_backends(register: RegisterBackend) -> None:
    """Register ``echo``."""
    register("echo", EchoBackend)
