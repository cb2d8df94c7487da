"""Dataset plugins: the three step benchmarks on their real files, filters, bad records.

The first-wrong-step bases are checked on records verified by hand (file and line cited).
All step numbers in items are 1-based.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mmrefine_agent.config import build_config
from mmrefine_agent.data.base import LoadedData
from mmrefine_agent.data.select import load_dataset
from mmrefine_agent.errors import DataError, PluginError
from mmrefine_agent.plugins_manager import load_plugins
from mmrefine_agent.types import Item
from mmrefine_plugins.datasets.mrben import group_steps

STEP = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "step_benchmarks"


def load(*overrides: str, plugins=None) -> LoadedData:
    return load_dataset(build_config({}, list(overrides)).data, plugins)[1]


@pytest.fixture(scope="module")
def step_plugins():
    return load_plugins()


@pytest.fixture(scope="module")
def prmbench(step_plugins) -> dict[str, Item]:
    loaded = load("data.name=prmbench", plugins=step_plugins)
    assert len(loaded.items) == 3201  # 2,848 modified solutions + 357 originals, 4 bad
    problems = {(Path(p.file).name, p.row): p for p in loaded.problems}
    assert set(problems) == {
        ("prm800k_test_p1_4o_missing_condition.jsonl", 21),
        ("prm800k_test_p1_4o_missing_condition.jsonl", 38),
        ("prm800k_test_p2_4o_confidence.jsonl", 193),
        ("prm800k_test_p2_4o_missing_condition.jsonl", 116),
    }
    bad = str(problems[("prm800k_test_p1_4o_missing_condition.jsonl", 21)])
    assert "line 21" in bad and "'error_steps'" in bad and "outside steps 1..16" in bad
    return {item.key: item for item in loaded.items}


@pytest.fixture(scope="module")
def bigbench(step_plugins) -> dict[str, Item]:
    loaded = load("data.name=bigbench_mistake", plugins=step_plugins)
    assert not loaded.problems and len(loaded.items) == 2186
    return {item.key: item for item in loaded.items}


@pytest.fixture(scope="module")
def mrben(step_plugins) -> dict[str, Item]:
    loaded = load("data.name=mrben", plugins=step_plugins)
    assert len(loaded.items) == 4533  # 4,534 solutions, one bad
    (problem,) = loaded.problems
    assert problem.key == "mrben:medicine:e56fce98-015b-42c6-b53d-3bd7723b7d9d:1"
    assert "question e56fce98-015b-42c6-b53d-3bd7723b7d9d[1]" in str(problem)
    assert problem.field == "Model_Solution_First_Error_Step"
    return {item.key: item for item in loaded.items}


def test_datasets_are_registered_plugins_with_provenance(step_plugins) -> None:
    assert {"mmrefine", "prmbench", "bigbench_mistake", "mrben"} <= set(
        step_plugins.datasets.names()
    )
    entry = step_plugins.datasets.entries["prmbench"]
    assert entry.plugin == "prmbench" and entry.origin.startswith("mmrefine-agent")
    with pytest.raises(PluginError, match="did you mean 'mrben'"):
        step_plugins.datasets.get("mrbenn")


def test_prmbench_is_one_based(prmbench: dict[str, Item]) -> None:
    # prm800k_test_p1_4o_circular.jsonl line 1: error_steps [3, 4, 5]; its step 3 ("3. Assume
    # a pencil costs 29 cents") is where the circular assumption starts.
    item = prmbench["prmbench:prm800k_test_p1_4o_circular:prm_test_p1_0"]
    assert item.label == "incorrect" and item.first_wrong_step == 3
    assert item.steps[2].startswith("Assume a pencil costs 29 cents")
    assert "Step 3: Assume a pencil costs 29 cents" in item.initial_solution
    assert item.category == item.error_type == "circular" and item.answer == ""
    assert item.reference_feedback and item.reference_feedback.startswith("Steps 3, 4, and 5")
    # prm800k_test_p2_4o_step_contradiction.jsonl line 1: error_steps [8]; the reason says
    # "Step 8 introduces a contradiction" and step 8 is "Assume 5x-1>0, ...".
    item = prmbench["prmbench:prm800k_test_p2_4o_step_contradiction:prm_test_p2_87"]
    assert item.first_wrong_step == 8 and item.steps[7].startswith("Assume 5x-1>0")
    original = prmbench["prmbench:prm800k_test_p1_4o_redundency:prm_test_p1_0:original"]
    assert original.label == "correct" and original.first_wrong_step is None
    assert original.id == "prm_test_p1_0" and original.category is None
    labels = [i.label for i in prmbench.values()]
    assert labels.count("correct") == 357


def test_bigbench_mistake_index_becomes_one_based(bigbench: dict[str, Item]) -> None:
    # multistep_arithmetic.jsonl line 1: mistake_index 3 (0-based); the fourth step turns
    # "7 - -7 * 4" into "7 - 28".
    item = bigbench["bigbench_mistake:multistep_arithmetic:1"]
    assert item.first_wrong_step == 4 and "(7 - 28)" in item.steps[3]
    assert item.answer == "-2116" and item.category == "multistep_arithmetic"
    # tracking_shuffled_objects.jsonl line 1: mistake_index 3; the fourth step is the first
    # wrong swap (Alice should end with Ulysses).
    item = bigbench["bigbench_mistake:tracking_shuffled_objects:1"]
    assert item.first_wrong_step == 4 and item.steps[3].startswith("Alice and Claire swap")
    assert item.answer == "B" and len(item.options) == 3
    # logical_deduction.jsonl line 1: target "(E)" of five options.
    item = bigbench["bigbench_mistake:logical_deduction:1"]
    assert item.answer == "E" and item.options[4] == "The hatchback is the third-newest."
    correct = [i for i in bigbench.values() if i.label == "correct"]
    assert len(correct) == 478 and all(i.first_wrong_step is None for i in correct)


def test_mrben_steps_follow_their_labels(mrben: dict[str, Item]) -> None:
    # math.json, question 855fe031-...[1] (GPT3.5): labelled 5; its "Step 5" differentiates
    # (8/x)^2 to -16/x^3 (the reason: it should be -128/x^3).
    item = mrben["mrben:math:855fe031-17d9-482d-b10f-a2646a14786f:1"]
    assert item.first_wrong_step == 5 and "16/x^3" in item.steps[4]
    assert item.answer == "A" and item.options[0] == "4" and "A: 4" in item.question
    assert item.reference_feedback and "128/x^3" in item.reference_feedback
    assert item.category == "math" and item.source == "GPT3.5"
    # math.json, question a62b3771-...[2]: the list starts "tep 1:" (a typo); labelled 5,
    # and step 5 holds the "1 - 2*0.0808" the reason criticises.
    item = mrben["mrben:math:a62b3771-8a3b-40a9-bec6-5a78ed5bf469:2"]
    assert item.first_wrong_step == 5 and "2\\*0.0808" in item.steps[4]
    # biology.json, question e4a38331-...[0]: five "Step k" lines and "Solution: Choice_B",
    # labelled 6: the final solution line is a step of its own.
    item = mrben["mrben:biology:e4a38331-094e-4556-bb28-b92b40a6b5e0:0"]
    assert len(item.steps) == 6 and item.steps[5] == "Solution: Choice_B"
    coding = [i for i in mrben.values() if i.category == "coding"]
    assert len(coding) == 238 and all(len(i.steps) == 1 for i in coding)
    assert all(i.first_wrong_step is None and i.answer == "" for i in coding)


def test_group_steps_on_crafted_lists() -> None:
    lines = ["Here is my analysis:", "Step 1: a", "more a", "Step 2: b", "Step 1: again",
             "Solution: Choice_A"]  # fmt: skip
    assert group_steps(lines) == [
        "Here is my analysis:\na\nmore a",
        "b\nStep 1: again",
        "Solution: Choice_A",
    ]
    assert group_steps(["tep 1: x", "y", "Step 2: z"]) == ["tep 1: x\ny", "z"]


@pytest.mark.parametrize("name", ["prmbench", "bigbench_mistake", "mrben"])
def test_filters_and_limit(name: str, step_plugins) -> None:
    base = f"data.name={name}"
    correct = load(base, "data.filter.label=correct", "data.limit=3", plugins=step_plugins)
    assert len(correct.items) == 3 and all(i.label == "correct" for i in correct.items)
    first = load(base, "data.limit=2", plugins=step_plugins).items
    category = next(i.category for i in first if i.category)
    by_category = load(base, f"data.filter.category={category}", "data.limit=5",
                       plugins=step_plugins).items  # fmt: skip
    assert len(by_category) == 5 and {i.category for i in by_category} == {category}
    keys = load(base, f"data.filter.keys=[{first[1].key}]", plugins=step_plugins).items
    assert [i.key for i in keys] == [first[1].key]
    same = load(base, f"data.filter.problem={first[0].id}", plugins=step_plugins).items
    assert same and all(i.id == first[0].id for i in same)
    with pytest.raises(DataError, match=r"modality: no item has \['image'\] \(values: text\)"):
        load(base, "data.filter.modality=image", plugins=step_plugins)
    mixed = load(base, "data.balanced=true", "data.limit=4", plugins=step_plugins).items
    assert {i.label for i in mixed} == {"correct", "incorrect"}


def test_filters_a_dataset_does_not_know_are_errors(step_plugins) -> None:
    with pytest.raises(DataError, match="cannot filter on \\['category'\\]"):
        load("data.filter.category=circular", plugins=step_plugins)
    with pytest.raises(DataError, match=r"data\.parquet"):
        load("data.name=mrben", "data.parquet=x.parquet", plugins=step_plugins)


def _crafted_dir(tmp_path: Path, name: str, files: dict[str, str]) -> Path:
    folder = tmp_path / "step_benchmarks" / name
    folder.mkdir(parents=True)
    for file, text in files.items():
        (folder / file).write_text(text)
    return tmp_path


def test_bad_records_name_file_record_and_field(tmp_path: Path, step_plugins) -> None:
    good = json.loads((STEP / "prmbench" / "prm800k_test_p1_4o_circular.jsonl").open().readline())
    no_steps = {**good, "idx": "x1", "modified_process": []}
    data = _crafted_dir(tmp_path / "p", "prmbench", {
        "crafted_circular.jsonl": "\n".join(
            [json.dumps(good), json.dumps(no_steps), "{not json"]
        ),
    })  # fmt: skip
    loaded = load("data.name=prmbench", f"data.dir={data}", plugins=step_plugins)
    assert [i.key for i in loaded.items] == ["prmbench:crafted_circular:prm_test_p1_0"]
    text = {p.row: str(p) for p in loaded.problems}
    assert "crafted_circular.jsonl: line 2 (key prmbench:crafted_circular:x1)" in text[2]
    assert "field 'modified_process': empty list" in text[2]
    assert "line 3" in text[3] and "not valid JSON" in text[3]

    solution = {
        "Question": "Q?",
        "Options": "A: 1\nB: 2",
        "Ground_Truth_Answer": "A",
        "Sampled_Model": "m",
        "Model_Solution_Steps": ["Step 1: x"],
        "Model_Solution_Correctness": "maybe",
        "Model_Solution_First_Error_Step": "N/A",
    }
    data = _crafted_dir(tmp_path / "m", "mrben", {"math.json": json.dumps({"q-1": [solution]})})
    (problem,) = load("data.name=mrben", f"data.dir={data}", plugins=step_plugins).problems
    assert "math.json: question q-1[0] (key mrben:math:q-1:0)" in str(problem)
    assert problem.field == "Model_Solution_Correctness"


def test_older_run_configs_keep_their_fingerprint() -> None:
    fingerprint = build_config({}).fingerprint_dict()
    assert "name" not in fingerprint["data"] and "category" not in fingerprint["data"]["filter"]
    assert build_config({}, ["data.name=mrben"]).fingerprint_dict()["data"]["name"] == "mrben"


def test_a_filter_matching_nothing_and_duplicate_keys(tmp_path: Path, step_plugins) -> None:
    with pytest.raises(DataError, match=r"data\.filter\.category: no item has \['circularr'\]"):
        load("data.name=prmbench", "data.filter.category=circularr", plugins=step_plugins)
    good = (STEP / "prmbench" / "prm800k_test_p1_4o_circular.jsonl").open().readline()
    data = _crafted_dir(tmp_path, "prmbench", {"twice_circular.jsonl": good + good})
    loaded = load("data.name=prmbench", f"data.dir={data}", plugins=step_plugins)
    assert [i.key for i in loaded.items] == ["prmbench:twice_circular:prm_test_p1_0"]
    (problem,) = loaded.problems
    assert problem.key == "prmbench:twice_circular:prm_test_p1_0#row2"
    assert "duplicate item key" in problem.message and "line 2" in str(problem)
