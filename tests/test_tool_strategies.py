"""The tool-using strategies (``tool_refine``, ``critic_tools``, ``lookback``) end to end
against a tool-calling loopback server, through ``openai_compat`` and ``litellm``, judged by
the official judge on the same server; their traces, HTML item views and the bound on tool
calls; and the claim parser of ``lookback``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fake_openai import FakeOpenAI, JudgeScript, official_answer
from helpers import mmrefine
from hypothesis import given
from hypothesis import strategies as st
from tool_agents import ToolAgents, first_user

from mmrefine_strategies.lookback_claims import parse_claims

STRATEGIES = ("tool_refine", "critic_tools", "lookback")
TOOLS_RUN = {
    "tool_refine": {"calculator", "zoom"},
    "critic_tools": {"python", "calculator"},
    "lookback": {"zoom"},
}
TOOL_NODE = {"tool_refine": "detect", "critic_tools": "detect", "lookback": "look_back"}


def image_parts(body: dict[str, Any]) -> list[str]:
    """The image data URLs of a request (an assistant message may have no content at all)."""
    return [
        part["image_url"]["url"]
        for message in body["messages"]
        if isinstance(message.get("content"), list)
        for part in message["content"]
        if part.get("type") == "image_url"
    ]


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(x) for x in path.read_text().splitlines() if x.strip()]


def run_strategy(
    out: Path, strategy: str, backend: str, server: FakeOpenAI, *extra: str, limit: int = 2
) -> Any:
    """``mmrefine run`` of ``strategy`` on image items; the official judge on the same server."""
    return mmrefine(
        "run", "configs/paper_single_pass.yaml", "--limit", str(limit), "--out", str(out),
        "--quiet", "--set", f"strategy.name={strategy}", "--set", "strategy.max_rounds=2",
        "--set", "data.filter.modality=image", "--set", f"model.backend={backend}",
        "--set", "model.name=openai/fake-vlm", "--set", f"model.api_base={server.base_url}",
        "--set", "judge.name=mmrefine_official", "--set", "judge.backend=openai_compat",
        "--set", "judge.model=judge", "--set", f"judge.api_base={server.base_url}",
        "--set", "run.cache=false", *extra,
    )  # fmt: skip


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], tuple[Path, list]]:
    """Each strategy through each HTTP backend: (run directory, request bodies)."""
    made = {}
    for backend in ("openai_compat", "litellm"):
        for strategy in STRATEGIES:
            out = tmp_path_factory.mktemp("toolstrat") / f"{strategy}-{backend}"
            with FakeOpenAI(ToolAgents()) as server:
                done = run_strategy(out, strategy, backend, server)
                bodies = list(server.requests)
            assert done.returncode == 0, done.stderr + done.stdout[-2000:]
            made[(strategy, backend)] = (out, bodies)
    return made


def answered_ids(bodies: list[dict[str, Any]]) -> list[tuple[list[str], list[str]]]:
    """Per request that carries tool results: the ids the assistant asked, the ids answered."""
    pairs = []
    for body in bodies:
        messages = body["messages"]
        for i, message in enumerate(messages):
            if message["role"] == "assistant" and message.get("tool_calls"):
                asked = [c["id"] for c in message["tool_calls"]]
                answers = []
                for follower in messages[i + 1 :]:
                    if follower["role"] != "tool":
                        break
                    answers.append(follower["tool_call_id"])
                pairs.append((asked, answers))
    return pairs


@pytest.mark.parametrize("backend", ["openai_compat", "litellm"])
@pytest.mark.parametrize("strategy", STRATEGIES)
def test_a_tool_strategy_runs_end_to_end_and_is_judged(
    runs: dict[tuple[str, str], tuple[Path, list]], strategy: str, backend: str
) -> None:
    out, bodies = runs[(strategy, backend)]
    steps = lines(out / "steps.jsonl")
    results = lines(out / "results.jsonl")
    assert len(results) == 2
    for result in results:
        assert result["status"] == "ok" and result["strategy"] == strategy
        # the official judge read the composed official-format response and scored it
        assert result["judgment"]["judge"] == "mmrefine_official"
        assert result["judgment"]["scenario"] in ("RF", "ED", "EC", "RS")
        assert "Correctness: Incorrect" in result["final"]["response"]
        tool_steps = [s for s in steps if s["item_key"] == result["key"] and s["tool_runs"]]
        assert {s["node"] for s in tool_steps} == {TOOL_NODE[strategy]}
        runs_of = [r for s in tool_steps for r in s["tool_runs"]]
        assert {r["name"] for r in runs_of} == TOOLS_RUN[strategy]
        assert not any(r["error"] for r in runs_of), runs_of
        # each run answers a call the model made in that step, by id
        asked = {c["id"] for s in tool_steps for call in s["calls"] for c in call["tool_calls"]}
        assert {r["call_id"] for r in runs_of} <= asked
        for run in runs_of:
            if run["name"] in ("calculator", "python"):
                assert run["result"].strip() == "8"
            if run["name"] == "zoom":
                stored = out / run["image_file"]
                assert stored.is_file() and stored.parent.name == "images"
    # every result went back in the next request, in the order of the calls, with their ids
    pairs = answered_ids(bodies)
    assert pairs and all(asked == answers for asked, answers in pairs)
    if "zoom" in TOOLS_RUN[strategy]:  # the zoomed region reached the model after the results
        after_tools = [b for b in bodies if b["messages"][-1]["role"] == "user"
                       and any(m["role"] == "tool" for m in b["messages"])]  # fmt: skip
        assert after_tools and all(len(image_parts(b)) == 2 for b in after_tools)


def test_each_strategy_offers_its_documented_default_tools(
    runs: dict[tuple[str, str], tuple[Path, list]],
) -> None:
    for strategy, expected in (
        ("tool_refine", ["calculator", "zoom"]),
        ("critic_tools", ["python", "calculator"]),
        ("lookback", ["zoom"]),
    ):
        out, bodies = runs[(strategy, "openai_compat")]
        sent = [[t["function"]["name"] for t in b["tools"]] for b in bodies if b.get("tools")]
        assert sent and all(names == expected for names in sent), (strategy, sent)
        steps = [s for s in lines(out / "steps.jsonl") if s["node"] == TOOL_NODE[strategy]]
        assert all(s["parsed"]["tool_calls_run"] == len(s["tool_runs"]) for s in steps)


def test_critic_tools_revises_on_the_tool_grounded_critique(
    runs: dict[tuple[str, str], tuple[Path, list]],
) -> None:
    out, bodies = runs[("critic_tools", "openai_compat")]
    revise = [first_user(b) for b in bodies if "write a revised solution" in first_user(b)]
    assert revise and all("What the tools returned while checking:" in p for p in revise)
    assert all('- python({"code": "print(4 * 2)"}) returned: 8' in p for p in revise)
    # round 2 critiques the revision, finds nothing, and stops
    steps = lines(out / "steps.jsonl")
    key = lines(out / "results.jsonl")[0]["key"]
    assert [(s["round"], s["node"]) for s in steps if s["item_key"] == key] == [
        (1, "detect"), (1, "locate"), (1, "correct"), (1, "verify"), (2, "detect"), (2, "verify")
    ]  # fmt: skip


def test_lookback_checks_each_claim_against_the_image_without_the_solution(
    runs: dict[tuple[str, str], tuple[Path, list]],
) -> None:
    out, bodies = runs[("lookback", "openai_compat")]
    results = lines(out / "results.jsonl")
    checks = [b for b in bodies if "Question about the image:" in first_user(b)]
    # 2 items x 2 rounds (the second looks back at the rewrite) x 2 claims x (ask, then answer
    # after the zoom)
    assert len(checks) == 2 * 2 * 2 * 2
    for body in checks:
        prompt = first_user(body)
        assert "Proposed solution" not in prompt  # the check never sees the solution
        assert image_parts(body)  # ... but sees the image
    critiques = [first_user(b) for b in bodies if "Before this review, each claim" in first_user(b)]
    assert len(critiques) == 4
    assert all("Looking back at the image: 4, not 5" in c for c in critiques)
    assert all("Claim 2 (step 2): the two marked angles are equal" in c for c in critiques)
    steps = lines(out / "steps.jsonl")
    nodes = [s["node"] for s in steps if s["item_key"] == results[0]["key"]]
    assert nodes == ["list_claims", "look_back", "detect", "locate", "correct", "verify",
                     "list_claims", "look_back", "detect", "verify"]  # fmt: skip


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_trace_shows_the_tool_calls_results_and_zoom_images(
    runs: dict[tuple[str, str], tuple[Path, list]], strategy: str
) -> None:
    out, _ = runs[(strategy, "openai_compat")]
    key = lines(out / "results.jsonl")[0]["key"]
    shown = mmrefine("trace", str(out), key, "--full")
    assert shown.returncode == 0, shown.stderr
    text = " ".join(shown.stdout.split())
    for name in TOOLS_RUN[strategy]:
        assert f"tool call: {name}(" in text and f"-> {name} [" in text
    if "zoom" in TOOLS_RUN[strategy]:
        assert "returned: zoomed into [0, 0, 0.5, 0.5]" in text
        assert "images/" in text and ".png" in text
    else:
        assert "returned: 8" in text


def test_the_html_item_view_shows_each_strategys_tool_runs(
    runs: dict[tuple[str, str], tuple[Path, list]], tmp_path: Path
) -> None:
    from test_html_report import browser_page, chromium_path, link

    if chromium_path() is None:
        pytest.skip("no Debian chromium")
    pages = {}
    for strategy in STRATEGIES:
        out, _ = runs[(strategy, "openai_compat")]
        page_file = tmp_path / f"{strategy}.html"
        made = mmrefine("report", str(out), "--html", str(page_file))
        assert made.returncode == 0, made.stderr
        pages[strategy] = (page_file, lines(out / "results.jsonl")[0]["key"])
    with browser_page() as (page, problems):
        for strategy, (page_file, key) in pages.items():
            page.goto(page_file.as_uri() + link(key))
            runs_shown = page.locator("#trace .tool-run")
            runs_shown.first.wait_for()
            # tool_refine: calculator and zoom; critic_tools: python and calculator (round 2
            # calls none); lookback: one zoom per claim (2) in each of its 2 rounds
            expected_runs, expected_images = {"tool_refine": (2, 1), "critic_tools": (2, 0),
                                              "lookback": (4, 4)}[strategy]  # fmt: skip
            assert runs_shown.count() == expected_runs, strategy
            assert page.locator("#trace .tool-run.tool-failed").count() == 0
            images = page.locator("#trace img.tool-image")
            assert images.count() == expected_images, strategy
            if images.count():
                assert images.first.evaluate("img => img.complete && img.naturalWidth > 0")
            texts = page.locator("#trace .tool-result").all_inner_texts()
            assert any(t.startswith("zoomed into") or t.strip() == "8" for t in texts)
        assert problems == []


# --- the bound on tool calls ------------------------------------------------------------------


JUDGE = JudgeScript()


def greedy(body: dict[str, Any]) -> str | dict[str, Any]:
    """A model that never stops calling tools (two a turn) until tools are refused to it."""
    if body.get("model") == "judge":
        return JUDGE(body)
    if body.get("tool_choice") == "none" or not body.get("tools"):
        return official_answer(False, "8", step=2)
    n = sum(1 for m in body["messages"] if m["role"] == "tool")
    return {
        "content": None,
        "tool_calls": [
            {"name": "calculator", "arguments": {"expression": f"{n}+1"}},
            {"name": "calculator", "arguments": {"expression": f"{n}+2"}},
        ],
    }


def test_max_tool_calls_bounds_the_loop_with_a_clear_note(tmp_path: Path) -> None:
    out = tmp_path / "bounded"
    with FakeOpenAI(greedy) as server:
        done = run_strategy(
            out, "tool_refine", "openai_compat", server, "--limit", "1",
            "--set", "strategy.options.max_tool_calls=3",
        )  # fmt: skip
        bodies = list(server.requests)
    assert done.returncode == 0, done.stderr
    (detect,) = [s for s in lines(out / "steps.jsonl") if s["node"] == "detect"]
    assert len(detect["tool_runs"]) == 3  # 2 + 1 of the second reply's 2
    assert detect["parsed"]["tool_calls_run"] == 3 and detect["parsed"]["tool_bound_hit"]
    (note,) = [n for n in detect["notes"] if "tool-call bound" in n]
    assert "max_tool_calls=3" in note and "1 further call(s) not run" in note
    refine = [b for b in bodies if b.get("model") != "judge"]
    assert len(refine) == 3 and [b.get("tool_choice") for b in refine] == [None, None, "none"]
    last = refine[-1]["messages"]
    # the unrun call is still answered (by id), then the model is told the budget is spent
    assert [m["role"] for m in last[-4:]] == ["assistant", "tool", "tool", "user"]
    unrun = [m for m in last if m["role"] == "tool" and m["content"].startswith("not run")]
    assert len(unrun) == 1 and "max_tool_calls=3" in unrun[0]["content"]
    assert "used all 3 tool calls" in last[-1]["content"]
    (result,) = lines(out / "results.jsonl")
    assert result["status"] == "ok" and result["rounds"][0]["verdict"] == "incorrect"
    # the trace shows the note
    shown = mmrefine("trace", str(out), result["key"])
    assert "tool-call bound reached" in " ".join(shown.stdout.split())


def test_max_tool_calls_zero_offers_no_tools_and_bad_values_are_refused(tmp_path: Path) -> None:
    with FakeOpenAI(greedy) as server:
        done = run_strategy(
            tmp_path / "none", "tool_refine", "openai_compat", server, "--limit", "1",
            "--set", "strategy.options.max_tool_calls=0",
        )  # fmt: skip
        refine = [b for b in server.requests if b.get("model") != "judge"]
        refused = run_strategy(
            tmp_path / "bad", "critic_tools", "openai_compat", server, "--limit", "1",
            "--set", "strategy.options.max_tool_calls=-1",
        )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert len(refine) == 1 and "tools" not in refine[0]
    assert "you may act with tools" not in first_user(refine[0])
    assert refused.returncode != 0
    assert "strategy.options.max_tool_calls" in refused.stderr + refused.stdout


# --- lookback's claim parser ------------------------------------------------------------------


def test_claims_are_read_leniently_and_paired_with_their_checks() -> None:
    text = (
        "Here are the claims.\n"
        "- **Claim 1 (Step 3):** AB = 5\n"
        "  Check 1: How long is AB?\n"
        "Claim 2: the angle at C is right\n"
        "Claim 3 (4) - there are 7 dots\n"
        "Check 3. How many dots are there?\n"
    )
    claims = parse_claims(text, 10)
    assert [(c.number, c.step, c.text) for c in claims] == [
        (1, 3, "AB = 5"), (2, None, "the angle at C is right"), (3, 4, "there are 7 dots")
    ]  # fmt: skip
    assert claims[0].check == "How long is AB?"
    assert claims[1].check == "Does the figure show that the angle at C is right?"
    assert parse_claims(text, 2) == claims[:2]
    assert parse_claims("No claims about the image.", 5) == []


def test_odd_long_lines_are_read_in_one_pass() -> None:
    """Shapes that make a backtracking pattern take forever: read at once, as nothing."""
    n = 20_000
    odd = ["Claim 1" + " " * n + "x", "Claim 1 (" + " " * n, " " * n + "claim",
           "Check 1" + " " * n + "x", "claim 1" + " _" * n, "- " * n + "Claim 1: ok"]  # fmt: skip
    for line in odd:
        claims = parse_claims(line, 5)
        assert claims == [] or [c.text for c in claims] == ["ok"]
    assert parse_claims("Claim 1: " + "a" * n, 1)[0].text == "a" * n


@given(st.text(max_size=400), st.integers(min_value=0, max_value=8))
def test_the_claim_parser_never_fails_and_keeps_its_limit(text: str, limit: int) -> None:
    claims = parse_claims(text, limit)
    assert len(claims) <= limit
    assert all(c.text and c.check for c in claims)


@given(
    st.lists(
        st.tuples(
            st.integers(min_value=1, max_value=20),
            st.text(st.characters(categories=("L", "N"), max_codepoint=0x7F), min_size=1),
        ),
        max_size=6,
        unique_by=lambda pair: pair[1],
    )
)
def test_listed_claims_read_back(pairs: list[tuple[int, str]]) -> None:
    text = "\n".join(
        f"Claim {i} (step {step}): {claim}\nCheck {i}: is it {claim}?"
        for i, (step, claim) in enumerate(pairs, 1)
    )
    claims = parse_claims(text, 10)
    assert [(c.step, c.text, c.check) for c in claims] == [
        (step, claim, f"is it {claim}?") for step, claim in pairs
    ]


# --- report --by tool -------------------------------------------------------------------------

EVIL = "ev\x1b[31mil\x1b]0;pwned\x07"


def mixed(body: dict[str, Any]) -> str | dict[str, Any]:
    """Per item (by its question): calculator only; zoom, a failing calculator and an unknown
    tool with a terminal escape in its name; or no tool at all."""
    if body.get("model") == "judge":
        return JUDGE(body)
    prompt = first_user(body)
    if not any(m["role"] == "tool" for m in body["messages"]):
        case = len(prompt) % 3
        if case == 0:
            calc = {"name": "calculator", "arguments": {"expression": "6*7"}}
            return {"content": None, "tool_calls": [calc]}
        if case == 1:
            return {"content": None, "tool_calls": [
                {"name": "zoom", "arguments": {"box": [0, 0, 1, 1]}},
                {"name": "calculator", "arguments": {"expression": "1/0 +"}},
                {"name": EVIL, "arguments": {}},
            ]}  # fmt: skip
    return official_answer(len(prompt) % 2 == 0, "8")


def test_report_by_tool_matches_a_hand_count(tmp_path: Path) -> None:
    out = tmp_path / "mixed"
    with FakeOpenAI(mixed) as server:
        done = run_strategy(
            out, "tool_refine", "openai_compat", server, "--limit", "8",
            "--set", "judge.name=offline", "--set", "data.balanced=true",
        )  # fmt: skip
    assert done.returncode == 0, done.stderr
    steps, results = lines(out / "steps.jsonl"), lines(out / "results.jsonl")
    # the hand count, from the raw files
    calls: dict[str, int] = {}
    failures: dict[str, int] = {}
    users: dict[str, set[str]] = {}
    for step in steps:
        for run in step["tool_runs"]:
            calls[run["name"]] = calls.get(run["name"], 0) + 1
            failures[run["name"]] = failures.get(run["name"], 0) + run["error"]
            users.setdefault(run["name"], set()).add(step["item_key"])
    assert set(calls) == {"calculator", "zoom", EVIL}
    assert failures["zoom"] == 0 and failures[EVIL] == calls[EVIL] >= 1
    assert 0 < len(users["calculator"]) < len(results)  # some items ran no tool at all
    shown = mmrefine("report", str(out), "--by", "tool", "--json")
    assert shown.returncode == 0, shown.stderr
    document = json.loads(shown.stdout)
    assert document["n_judged"] == len(results)  # scores.json is all there ...
    report = document["by_tool"]  # ... with the tool report beside it
    assert report["kind"] == "tool_report" and report["version"] >= 3
    assert report["items_with_tools"] == len(set().union(*users.values()))
    tools = {t["name"]: t for t in report["tools"]}
    assert set(tools) == set(calls)
    for name, tool in tools.items():
        assert (tool["calls"], tool["failures"]) == (calls[name], failures[name])
        assert tool["items"] == sorted(users[name])
        error_types = sorted({r["error_type"] or "-" for r in results})
        assert [s["error_type"] for s in tool["splits"]] == ["all", *error_types]
        for split in tool["splits"]:
            group = [r for r in results
                     if split["error_type"] in ("all", r["error_type"] or "-")]  # fmt: skip
            for side, used in (("with_tool", True), ("without_tool", False)):
                chosen = [r for r in group if (r["key"] in users[name]) is used]
                block = split[side]
                assert block["n"] == len(chosen)
                for code in ("RF", "ED", "EC", "RS", "VS", "FD"):
                    expected = sum(1 for r in chosen if r["judgment"]["scenario"] == code)
                    assert block["counts"][code] == expected, (name, split["error_type"], code)
                n_inc = sum(1 for r in chosen if r["label"] == "incorrect")
                rs = sum(1 for r in chosen if r["judgment"]["scenario"] == "RS")
                assert block["rates"]["RS"] == (rs / n_inc if n_inc else None)
    # the table: one per tool; the model's tool name cannot drive the terminal
    table = mmrefine("report", str(out), "--by", "tool")
    assert table.returncode == 0, table.stderr
    assert "\x1b" not in table.stdout and "\x07" not in table.stdout
    text = " ".join(table.stdout.split())
    assert (
        f"tool calculator: {calls['calculator']} call(s), {failures['calculator']} failed" in text
    )
    assert f"tool zoom: {calls['zoom']} call(s), {len(users['zoom'])} item(s) ran it" in text
    assert "tool evil" in text and " with " in text and " without " in text
    narrow = mmrefine("report", str(out), "--by", "tool", env={"COLUMNS": "80"})
    assert narrow.returncode == 0 and "…" not in narrow.stdout  # names fold, never cut
    assert all(len(line) <= 80 for line in narrow.stdout.splitlines())
