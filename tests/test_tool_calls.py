"""Tool calls end to end: messages, the wire format, the cache key, records, the scripted
backend, and a tool loop through ``mmrefine run`` into a run directory."""

from __future__ import annotations

import asyncio
import hashlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from helpers import ROOT, mmrefine, official_answer

from mmrefine_agent import ChatMessage, Image, ToolCall, ToolResult, tool_messages
from mmrefine_agent.config import build_config
from mmrefine_agent.engine.cache import CallCache, call_key
from mmrefine_agent.engine.client import params_record
from mmrefine_agent.errors import ConfigError, PluginError
from mmrefine_agent.model.image_urls import ContentBuilder
from mmrefine_agent.plugins_manager import load_plugins, register_object
from mmrefine_agent.types import ModelResponse

STRATEGY = Path(__file__).resolve().parent / "tool_loop_strategy.py"


def png(color: str = "red", size: tuple[int, int] = (40, 30)) -> Image:
    import io

    from PIL import Image as PILImage

    buffer = io.BytesIO()
    PILImage.new("RGB", size, color).save(buffer, format="PNG")
    return Image.from_bytes(buffer.getvalue())


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(x) for x in path.read_text().splitlines() if x.strip()]


# --- the message and wire format -------------------------------------------------------------


def test_tool_call_arguments_are_parsed_and_bad_ones_named() -> None:
    good = ToolCall.parse("c1", "calculator", '{"expression": "1+1"}')
    assert good.arguments == {"expression": "1+1"} and good.problem is None
    assert good.arguments_json == '{"expression": "1+1"}'
    assert ToolCall.parse("c2", "zoom", "{not json").problem.startswith("arguments are not valid")
    assert ToolCall.parse("c3", "zoom", "[1, 2]").problem == "arguments are not a JSON object"
    assert ToolCall.parse("c4", "zoom", {"box": [0, 0, 1, 1]}).arguments == {"box": [0, 0, 1, 1]}
    assert ToolCall.parse("c5", "python", "").arguments == {}
    made = ToolCall.from_openai({"function": {"name": "zoom", "arguments": "{}"}}, 3)
    assert made.id == "call_3" and made.name == "zoom"


def test_openai_messages_carry_calls_ids_and_tool_images_after_the_results() -> None:
    image = png()
    reply = ModelResponse(
        text="",
        model="m",
        tool_calls=[ToolCall.parse("a", "calculator", '{"expression": "2"}'),
                    ToolCall.parse("b", "zoom", '{"box": [0, 0, 1, 1]}')],
    )  # fmt: skip
    results = [ToolResult("a", "calculator", "2"), ToolResult("b", "zoom", "zoomed", image)]
    sent = ContentBuilder(None).messages(
        [ChatMessage("user", "q"), reply.as_message(), *tool_messages(results)]
    )
    assert [m["role"] for m in sent] == ["user", "assistant", "tool", "tool", "user"]
    assert sent[1]["content"] is None
    assert [c["id"] for c in sent[1]["tool_calls"]] == ["a", "b"]
    assert sent[1]["tool_calls"][0]["function"] == {
        "name": "calculator",
        "arguments": '{"expression": "2"}',
    }
    assert [(m["tool_call_id"], m["content"]) for m in sent[2:4]] == [
        ("a", "2"),
        ("b", "zoomed"),
    ]
    parts = sent[4]["content"]
    assert parts[0] == {"type": "text", "text": "The image returned by zoom (call b)."}
    assert parts[1]["image_url"]["url"].startswith("data:image/png;base64,")


def test_the_cache_key_covers_tools_tool_choice_and_tool_messages() -> None:
    identity = {"backend": "x", "model": "m"}
    user = (ChatMessage("user", "q"),)
    plain = call_key(identity, {}, user)
    # a plain message keys exactly as before tool calls existed (old cache entries still hit)
    old = {"salt": "", "identity": identity, "params": {},
           "messages": [{"role": "user", "text": "q", "images": []}]}  # fmt: skip
    blob = json.dumps(old, sort_keys=True, ensure_ascii=False, default=str)
    assert plain == hashlib.sha256(blob.encode()).hexdigest()
    schema = {"type": "function", "function": {"name": "calculator", "parameters": {}}}
    with_tools = call_key(identity, {"tools": [schema]}, user)
    forced = call_key(identity, {"tools": [schema], "tool_choice": "required"}, user)
    assert len({plain, with_tools, forced}) == 3
    call = ToolCall.parse("a", "calculator", '{"expression": "2"}')
    asked = (*user, ChatMessage("assistant", "", tool_calls=(call,)))
    answered = (*asked, ChatMessage("tool", "2", tool_call_id="a", name="calculator"))
    other_id = (*asked, ChatMessage("tool", "2", tool_call_id="b", name="calculator"))
    keys = {call_key(identity, {}, m) for m in (user, asked, answered, other_id)}
    assert len(keys) == 4


def test_the_call_cache_keeps_tool_calls(tmp_path: Path) -> None:
    cache = CallCache(tmp_path)
    call = ToolCall.parse("a", "zoom", '{"box": [0, 0, 1, 1]}')
    cache.put("k", ModelResponse(text="", model="m", tool_calls=[call]))
    hit = cache.get("k")
    assert hit is not None and hit.cache_hit
    assert hit.tool_calls == [call]
    cache.close()


def test_call_records_keep_parameters_without_credentials_and_tools_by_name() -> None:
    schema = {"type": "function", "function": {"name": "zoom", "parameters": {}}}
    recorded = params_record(
        {"temperature": 0, "tools": [schema], "tool_choice": "auto", "api_key": "sk-secret123456"}
    )
    assert recorded == {
        "temperature": 0,
        "tools": ["zoom"],
        "tool_choice": "auto",
        "api_key": "[REDACTED]",
    }


# --- registry, config and the plain path ----------------------------------------------------


def test_builtin_tools_are_registered_with_openai_schemas() -> None:
    from langchain_core.utils.function_calling import convert_to_openai_tool

    tools = load_plugins().tools
    assert tools.names() == ["calculator", "python", "zoom"]
    zoom = convert_to_openai_tool(tools.get("zoom"))["function"]
    assert zoom["parameters"]["properties"]["box"]["minItems"] == 4
    calculator = convert_to_openai_tool(tools.get("calculator"))["function"]
    assert "expression" in calculator["parameters"]["properties"]


def test_a_tool_plugin_must_register_langchain_tools() -> None:
    plugins = load_plugins()
    plugins.tools.names()  # collected: an object registered later is collected at once

    class Bad:
        @staticmethod
        def mmrefine_register_tools(register: Any) -> None:
            register(lambda expression: expression)

    with pytest.raises(PluginError, match="register a langchain-core tool"):
        register_object(plugins, Bad(), "bad_tools")

    class Twice:
        @staticmethod
        def mmrefine_register_tools(register: Any) -> None:
            from langchain_core.tools import tool

            @tool
            def calculator(expression: str) -> str:
                """Another calculator."""
                return expression

            register(calculator)

    with pytest.raises(PluginError, match="tool 'calculator' registered twice"):
        register_object(plugins, Twice(), "twice")


def test_an_unknown_tool_in_the_config_is_named_with_a_suggestion(tmp_path: Path) -> None:
    from mmrefine_agent.engine.run import arun

    plugins = load_plugins([str(STRATEGY)])
    config = build_config(
        {},
        ["strategy.name=tool_loop", "strategy.tools=[calculater]", "data.limit=1",
         "judge.name=offline"],
    )  # fmt: skip
    with pytest.raises(ConfigError, match=r"strategy.tools: unknown tool 'calculater' \(did you"):
        asyncio.run(arun(config, tmp_path / "run", plugins=plugins))
    assert not (tmp_path / "run").exists()


def test_a_plain_run_does_not_load_tool_machinery(tmp_path: Path) -> None:
    script = (
        "import asyncio, sys\n"
        "from mmrefine_agent.config import build_config\n"
        "from mmrefine_agent.engine.run import arun\n"
        f"config = build_config({{}}, ['data.limit=2', 'model.options.script={ROOT}/tests/data/"
        "script_single_pass.yaml', 'judge.name=offline'])\n"
        f"asyncio.run(arun(config, {str(tmp_path / 'run')!r}))\n"
        "loaded = [m for m in ('langchain_core.tools', 'mmrefine_agent.tools.runner') "
        "if m in sys.modules]\n"
        "print(loaded)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]"


def test_ask_refuses_a_reply_of_tool_calls_only(tmp_path: Path) -> None:
    script = tmp_path / "script.yaml"
    script.write_text(yaml.safe_dump({"default": {"tool_calls": [{"name": "calculator"}]}}))
    done = mmrefine(
        "run", "configs/paper_single_pass.yaml", "--limit", "1", "--out", str(tmp_path / "run"),
        "--set", "model.backend=scripted", "--set", f"model.options.script={script}",
        "--set", "judge.name=offline", "--quiet",
    )  # fmt: skip
    assert done.returncode != 0
    (result,) = lines(tmp_path / "run" / "results.jsonl")
    assert result["status"] == "strategy_error"
    assert "answered with tool calls only (calculator)" in result["error"]
    assert "ctx.chat" in result["error"]


# --- a tool loop through `mmrefine run` (scripted backend) ----------------------------------

SCRIPTED_CALLS = [
    {"id": "c1", "name": "calculator", "arguments": {"expression": "2^10 + 3/4"}},
    {"id": "c2", "name": "zoom", "arguments": {"box": [0, 0, 0.5, 0.5]}},
    {"id": "c3", "name": "python", "arguments": {"code": "print(6 * 7)"}},
    {"id": "c4", "name": "nosuch", "arguments": {}},
    {"id": "c5", "name": "zoom", "arguments": {"box": [0.9, 0.9, 0.1, 0.1]}},
    {"id": "c6", "name": "calculator", "arguments": "{not json"},
]


def run_tool_loop(base: Path, out: Path) -> subprocess.CompletedProcess[str]:
    """One image item through the test strategy's tool loop, scripted, with three tools."""
    script = base / "script.yaml"
    final = official_answer(False, "8", step=2)
    script.write_text(
        yaml.safe_dump({"nodes": {"detect": {"turns": [{"tool_calls": SCRIPTED_CALLS}, final]}}})
    )
    return mmrefine(
        "run", "configs/paper_single_pass.yaml", "--plugin", str(STRATEGY), "--limit", "1",
        "--out", str(out), "--quiet",
        "--set", "strategy.name=tool_loop", "--set", "strategy.tools=[calculator,zoom,python]",
        "--set", "data.filter.modality=image", "--set", "model.backend=scripted",
        "--set", f"model.options.script={script}", "--set", "judge.name=offline",
    )  # fmt: skip


@pytest.fixture(scope="module")
def scripted_tool_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("tool-loop")
    done = run_tool_loop(base, base / "run")
    assert done.returncode == 0, done.stderr
    return base / "run"


def test_a_second_run_runs_its_tools_again(tmp_path: Path) -> None:
    """Tool runs are not replayed from the item cache: a new run directory gets its images."""
    first, second = run_tool_loop(tmp_path, tmp_path / "a"), run_tool_loop(tmp_path, tmp_path / "b")
    assert first.returncode == second.returncode == 0, second.stderr
    (result,) = lines(tmp_path / "b" / "results.jsonl")
    assert not result.get("replayed")
    assert [p.name for p in (tmp_path / "a" / "images").iterdir()] == [
        p.name for p in (tmp_path / "b" / "images").iterdir()
    ]


def test_scripted_tool_loop_runs_each_call_and_records_it(scripted_tool_run: Path) -> None:
    (detect,) = [s for s in lines(scripted_tool_run / "steps.jsonl") if s["node"] == "detect"]
    first, second = detect["calls"]
    assert first["params"]["tools"] == ["calculator", "zoom", "python"]
    assert [c["id"] for c in first["tool_calls"]] == ["c1", "c2", "c3", "c4", "c5", "c6"]
    assert first["tool_calls"][5]["problem"].startswith("arguments are not valid JSON")
    runs = {run["call_id"]: run for run in detect["tool_runs"]}
    assert runs["c1"]["result"] == "4099/4 ≈ 1024.75" and not runs["c1"]["error"]
    assert runs["c3"]["result"] == "42" and not runs["c3"]["error"]
    assert runs["c4"]["error"] and runs["c4"]["error_type"] == "UnknownTool"
    assert "offered: calculator, zoom, python" in runs["c4"]["result"]
    assert runs["c5"]["error"] and "x0 < x1" in runs["c5"]["result"]  # the tool raised
    assert runs["c6"]["error"] and runs["c6"]["error_type"] == "ArgumentsError"
    zoom = runs["c2"]
    assert not zoom["error"] and zoom["result"].startswith("zoomed into [0, 0, 0.5, 0.5]")
    stored = scripted_tool_run / zoom["image_file"]
    assert (
        stored.read_bytes()
        and hashlib.sha256(stored.read_bytes()).hexdigest() == (zoom["image"]["sha256"])
    )
    assert zoom["image_file"] == f"images/{zoom['image']['sha256']}.png"
    # the second request: the reply's calls, then one tool message per call, by id, in order
    messages = second["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant", *["tool"] * 6]
    assert [c["id"] for c in messages[1]["tool_calls"]] == ["c1", "c2", "c3", "c4", "c5", "c6"]
    assert [m["tool_call_id"] for m in messages[2:]] == ["c1", "c2", "c3", "c4", "c5", "c6"]
    assert messages[3]["images"][0]["sha256"] == zoom["image"]["sha256"]
    assert detect["parsed"]["verdict"] == "incorrect"
    assert "image_files" not in detect  # the bytes are in images/, never in steps.jsonl
    (result,) = lines(scripted_tool_run / "results.jsonl")
    assert result["status"] == "ok"


def test_trace_shows_each_tool_call_with_its_result_and_image(scripted_tool_run: Path) -> None:
    (result,) = lines(scripted_tool_run / "results.jsonl")
    shown = mmrefine("trace", str(scripted_tool_run), result["key"], "--full")
    assert shown.returncode == 0, shown.stderr
    text = " ".join(shown.stdout.split())
    assert 'tool call: calculator({"expression": "2^10 + 3/4"}) [c1]' in text
    assert "-> calculator [c1] returned: 4099/4 ≈ 1024.75" in text
    assert "-> nosuch [c4] failed: unknown tool 'nosuch'" in text
    assert "images/" in text and ".png" in text
    assert "tools calculator, zoom, python" in text


def test_the_html_item_view_carries_tool_runs_and_their_images(scripted_tool_run: Path) -> None:
    from mmrefine_agent.analysis.html_report import report_data
    from mmrefine_agent.run_view import open_run

    view = open_run(scripted_tool_run)
    _data, strings, images, traces = report_data(view)
    (trace,) = traces
    detect = next(n for r in trace["rounds"] for n in r["nodes"] if n["node"] == "detect")
    runs = {run["call_id"]: run for run in detect["tool_runs"]}
    sha = runs["c2"]["image"]
    assert sha is not None and images[sha].startswith("data:image/png;base64,")
    assert "\n\n".join(strings[i] for i in runs["c3"]["result"]) == "42"
    assert [c["id"] for c in detect["calls"][0]["tool_calls"]][:2] == ["c1", "c2"]
    record = next(r for s in view.steps for r in s.tool_runs if r.call_id == "c2")
    image = view.tool_image(record)
    assert image is not None and image.sha256 == sha


def test_plugins_lists_the_tools() -> None:
    shown = mmrefine("plugins")
    assert shown.returncode == 0, shown.stderr
    rows = [" ".join(line.split()) for line in shown.stdout.splitlines()]
    for name in ("calculator", "python", "zoom"):
        assert any(f"│ tool │ {name} │" in row for row in rows), name
    assert "mmrefine_register_tools" in shown.stdout


def test_a_tool_node_runs_calls_as_a_step_of_its_own() -> None:
    from mmrefine_agent import ToolBox, run_tool_step
    from mmrefine_agent.graph.context import GraphContext
    from mmrefine_agent.records.steps import StepRecord
    from mmrefine_agent.types import Item

    item = Item(key="k", id="1", question="q", options=(), image=png(), answer="",
                initial_solution="", label="correct", reference_feedback=None,
                error_type=None, source="s")  # fmt: skip
    steps: list[StepRecord] = []
    tools = load_plugins().tools
    context = GraphContext(
        item=item, client=None, prompts=None, emit_step=steps.append,  # type: ignore[arg-type]
        tools=ToolBox({name: tools.get(name) for name in ("calculator", "zoom")}),
    )  # fmt: skip
    calls = [
        ToolCall("a", "zoom", {"box": [0, 0, 1, 1]}),
        ToolCall("b", "calculator", {"expression": "6*7"}),
    ]
    results = asyncio.run(run_tool_step(context, calls, node="tools", round=2, strategy="s"))
    assert [(r.call_id, r.error) for r in results] == [("a", False), ("b", False)]
    assert results[1].text == "42" and results[0].image is not None
    (step,) = steps
    assert (step.node, step.round) == ("tools", 2)
    assert [run.call_id for run in step.tool_runs] == ["a", "b"]
    event = step.to_event()
    assert list(event.image_files) == [f"images/{results[0].image.sha256}.png"]


def test_the_item_view_renders_tool_calls_results_and_images(
    scripted_tool_run: Path, tmp_path: Path
) -> None:
    from test_html_report import browser_page, chromium_path, link

    if chromium_path() is None:
        pytest.skip("no Debian chromium")
    page_file = tmp_path / "report.html"
    made = mmrefine("report", str(scripted_tool_run), "--html", str(page_file))
    assert made.returncode == 0, made.stderr
    (result,) = lines(scripted_tool_run / "results.jsonl")
    with browser_page() as (page, problems):
        page.goto(page_file.as_uri() + link(result["key"]))
        runs = page.locator("#trace .tool-run")
        runs.first.wait_for()
        assert runs.count() == 6
        assert page.locator("#trace .tool-run.tool-failed").count() == 3
        assert page.locator("#trace .tool-call").count() == 6
        image = page.locator("#trace img.tool-image")
        assert image.count() == 1
        assert image.evaluate("img => img.complete && img.naturalWidth > 0")
        texts = page.locator("#trace .tool-result").all_inner_texts()
        assert "4099/4 ≈ 1024.75" in texts and "42" in texts
        assert problems == []


def test_tool_choice_forces_an_offered_tool_by_name() -> None:
    from mmrefine_agent import ToolBox

    box = ToolBox({"calculator": load_plugins().tools.get("calculator")})
    assert box.choice("auto") == "auto" and box.choice("required") == "required"
    assert box.choice("calculator") == {"type": "function", "function": {"name": "calculator"}}
    with pytest.raises(PluginError, match="tool 'zoom' is not offered to this strategy"):
        box.choice("zoom")
    with pytest.raises(PluginError, match="not offered"):
        box.schemas(["python"])


def test_a_version_2_step_line_still_reads(tmp_path: Path) -> None:
    from mmrefine_agent.records.rundir import RunDir

    old = {"version": 2, "kind": "step", "item_key": "k", "round": 1, "node": "detect",
           "strategy": "single_pass", "calls": [{"messages": [{"role": "user", "text": "q",
           "images": []}], "answer": "a", "usage": {"model": "m"}}]}  # fmt: skip
    (tmp_path / "steps.jsonl").write_text(json.dumps(old) + "\n")
    (step,) = RunDir(tmp_path).steps()
    assert step.version == 2 and step.tool_runs == [] and step.calls[0].tool_calls == []
    assert step.calls[0].params == {} and step.calls[0].messages[0].tool_call_id is None
