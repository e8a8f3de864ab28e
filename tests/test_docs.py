"""The documentation runs as written: every ```python block of README.md and
docs/*.md is executed, page by page, and every relative link points to a file.

A page's blocks run in order in one fresh namespace, in a temporary folder, so a
block may use what an earlier block of its page made. Blocks fenced as
```python no-run (a GPU, a download) or ```bash are not run. The README's
"Adding a recipe" example also passes the checks every preset passes.
"""

import inspect
import pathlib
import re

import keras
import pytest

import recipes
from recipes import registry
from recipes.compiling import COMPILE_ARGUMENTS

ROOT = pathlib.Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
PAGES = [README, *sorted((ROOT / "docs").glob("*.md"))]
PYTHON_BLOCK = re.compile(r"^```python\n(.*?)^```$", re.DOTALL | re.MULTILINE)
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)[^)]*\)")


def python_blocks(text):
    """The code of every block fenced exactly as ```python, in order."""
    return PYTHON_BLOCK.findall(text)


def section(text, heading):
    """The text under the Markdown heading ``heading``, up to the next heading of
    the same or a higher level."""
    match = re.search(rf"^(#+) {re.escape(heading)}\n", text, re.MULTILINE)
    assert match, f"no heading {heading!r}"
    level = len(match.group(1))
    end = re.compile(rf"^#{{1,{level}}} ", re.MULTILINE).search(text, match.end())
    return text[match.end() : end.start() if end else len(text)]


def run_page(path):
    """Executes the page's python blocks in order in one fresh namespace."""
    namespace = {"__name__": f"docs_{path.stem}"}
    for i, block in enumerate(python_blocks(path.read_text())):
        exec(compile(block, f"{path.relative_to(ROOT)} (python block {i + 1})", "exec"), namespace)


def test_every_docs_page_is_linked_from_the_readme():
    linked = {ROOT / target for target in LINK.findall(README.read_text())}
    missing = [page.name for page in PAGES[1:] if page not in linked]
    assert not missing, f"README.md does not link {missing}"


@pytest.mark.parametrize("path", PAGES, ids=lambda path: path.name)
def test_relative_links_point_to_files(path):
    broken = []
    for target in LINK.findall(path.read_text()):
        if re.match(r"[a-z]+:", target) or target.startswith("#"):
            continue  # a web address or an anchor of the same page
        if not (path.parent / target.split("#")[0]).exists():
            broken.append(target)
    assert not broken, f"{path.name} links to missing files: {broken}"


@pytest.mark.parametrize("path", PAGES, ids=lambda path: path.name)
def test_page_code_runs(path, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # what the blocks write stays in the test's folder
    with registry.scoped():
        run_page(path)


def test_readme_adding_a_recipe_example_passes_the_preset_checks(recipe_check):
    (block,) = python_blocks(section(README.read_text(), "Adding a recipe"))
    with registry.scoped():  # what the example registers is undone afterwards
        presets, builders = set(recipes.list_recipes()), set(recipes.list_builders())
        exec(compile(block, "README.md (Adding a recipe)", "exec"), {"__name__": "example"})
        (name,) = set(recipes.list_recipes()) - presets
        (builder_name,) = set(recipes.list_builders()) - builders
        description = recipes.describe(name)
        assert description["builder_name"] == builder_name and description["summary"]
        # register_builder gave the body the five compile arguments and their docs.
        builder = description["builder"]
        assert {"name", *COMPILE_ARGUMENTS} <= set(inspect.signature(builder).parameters)
        assert "learning_rate:" in builder.__doc__
        # It trains (the loss falls) and saves and loads in safe mode.
        x, y = recipes.data.arrays(description["dataset"], "train")
        model = recipes.build(name)
        assert model.compiled
        recipe_check(model, x[:128], y[:128], steps=20)
        # As tests/test_registry.py checks every preset: under mixed precision the
        # output stays float32.
        with recipes.precision("mixed_float16"):
            mixed = recipes.build(name, compile=False)
        assert isinstance(mixed, keras.Model) and not mixed.compiled
        assert mixed.count_params() > 0
        assert [output.dtype for output in mixed.outputs] == ["float32"]
    assert name not in recipes.list_recipes() and builder_name not in recipes.list_builders()


def test_readme_preset_table_lists_every_preset():
    table = section(README.read_text(), "Presets")
    listed = re.findall(r"^\| `([a-z0-9_]+)` \|", table, re.MULTILINE)
    assert listed == recipes.list_recipes()


def test_architecture_names_every_module():
    """ARCHITECTURE.md lists every module of the three packages and the benchmarks."""
    text = (ROOT / "ARCHITECTURE.md").read_text()
    missing = [
        str(path.relative_to(ROOT))
        for package in ("recipes", "callbacks", "tuning", "benchmarks")
        for path in sorted((ROOT / package).rglob("*.py"))
        if f"`{path.name}`" not in text and f"`{path.relative_to(ROOT)}`" not in text
    ]
    assert not missing, f"ARCHITECTURE.md does not name: {missing}"
