"""The build context of a real working copy: what git ignores or does not track, what the
code writes, weights loaded by name, and development tools in a requirements file."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from conftest import write_tree

from dockerize_ml import dockerignore, inspect_project, make_plan, render
from dockerize_ml.detect.context import gitignore_patterns
from dockerize_ml.plan import Settings

_GIT_ENV = {
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@example.invalid",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@example.invalid",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
}


def _commit(root: Path) -> None:
    """Make ``root`` a git checkout whose one commit holds every file there now."""
    env = {**os.environ, **_GIT_ENV}
    for args in (["init", "-q"], ["add", "-A", "-f", "."], ["commit", "-q", "-m", "x"]):
        subprocess.run(["git", "-C", str(root), *args], check=True, env=env, capture_output=True)


def _rules(root: Path, settings: Settings | None = None) -> list[tuple[str, bool]]:
    text = render(make_plan(inspect_project(root), settings or Settings()))[".dockerignore"]
    return dockerignore.parse(text)


def test_gitignore_lines_become_docker_patterns() -> None:
    lines = ("# c", "", "*.log", "/build/", "logs/", "a/b", "!keep.log", "*", "**/tmp", "x\\#")
    assert gitignore_patterns("", "", lines) == [
        "**/*.log",
        "build",
        "**/logs",
        "a/b",
        "!**/keep.log",
        "**/tmp",
    ]
    assert gitignore_patterns("sub", "", ("*.tmp", "/out")) == ["sub/**/*.tmp", "sub/out"]
    # A .gitignore above the project: only what can match inside it, relative to it.
    above = ("word_language_model/model.pt", "*/models/*", "other/x", "data")
    assert gitignore_patterns("", "word_language_model/", above) == [
        "model.pt",
        "models/*",
        "**/data",
    ]


def test_a_working_copy_keeps_what_git_tracks_and_leaves_out_its_clutter(
    tmp_path: Path,
) -> None:
    root = write_tree(
        tmp_path / "p",
        {
            ".gitignore": "data\n*.log\neval-queue/\n",
            "requirements.txt": "numpy\n",
            "main.py": (
                "import argparse\np = argparse.ArgumentParser()\n"
                "p.add_argument('--data', default='./data/corpus')\n"
                "if __name__ == '__main__':\n    p.parse_args()\n"
            ),
            "data/corpus/train.txt": "tracked corpus\n",  # force-added, as a repository can
            "model/model.pkl": b"\x80" * 2048,  # a small model the repository ships
            "images/pipeline.png": b"\x89PNG" * 10,
        },
    )
    _commit(root)
    write_tree(
        root,
        {
            "data/download/raw.csv": "a,b\n",
            "logs/info.log": "x\n",
            "eval-queue/request.json": "{}\n",
            "imagenet/train/n01/img.JPEG": b"\xff" * 512,
            "mrpc_output/model.ckpt-343.data-00000-of-00001": b"\0" * 100,
            "scratch.py": "print('new code, not committed yet')\n",
        },
    )
    rules = _rules(root)
    for rel in ("data/corpus/train.txt", "model/model.pkl", "images/pipeline.png", "scratch.py"):
        assert not dockerignore.excluded(rules, rel), rel
    for rel in (
        "data/download/raw.csv",
        "logs/info.log",
        "eval-queue/request.json",
        "imagenet/train/n01/img.JPEG",
        "mrpc_output/model.ckpt-343.data-00000-of-00001",
    ):
        assert dockerignore.excluded(rules, rel), rel


def test_without_git_the_gitignore_still_informs_the_context(tmp_path: Path) -> None:
    root = write_tree(
        tmp_path / "p",
        {
            ".gitignore": "htmlcov/\ncoverage.xml\n",
            "sub/.gitignore": "*.tmp\n",
            "requirements.txt": "numpy\n",
            "main.py": "if __name__ == '__main__':\n    pass\n",
            "htmlcov/index.html": "<html/>\n",
            "coverage.xml": "<x/>\n",
            "sub/a.tmp": "x\n",
            "sub/keep.py": "x = 1\n",
        },
    )
    rules = _rules(root)
    for rel in ("htmlcov/index.html", "coverage.xml", "sub/a.tmp"):
        assert dockerignore.excluded(rules, rel), rel
    assert not dockerignore.excluded(rules, "sub/keep.py")


def test_folders_the_code_writes_to_stay_out_and_are_mounted_writable(tmp_path: Path) -> None:
    root = write_tree(
        tmp_path / "p",
        {
            "requirements.txt": "torch\n",
            "train.py": (
                "import argparse, os, torch\n"
                "p = argparse.ArgumentParser()\n"
                "p.add_argument('--output_dir', default='./output_dir')\n"
                "os.makedirs('samples', exist_ok=True)\n"
                "torch.save({}, 'ckpts/last.pt')\n"
                "if __name__ == '__main__':\n    p.parse_args()\n"
            ),
            "output_dir/log.txt": "epoch 1\n",
        },
    )
    profile = inspect_project(root)
    assert {"output_dir", "samples", "ckpts"} <= set(profile.output_dirs)
    files = render(make_plan(profile, Settings()))
    rules = dockerignore.parse(files[".dockerignore"])
    assert dockerignore.excluded(rules, "output_dir/log.txt")
    assert "output_dir:/app/output_dir" in files["docker/run.sh"]


def test_a_large_checkpoint_the_code_loads_is_mounted_not_baked(tmp_path: Path) -> None:
    root = write_tree(
        tmp_path / "p",
        {
            "requirements.txt": "torch\nscikit-learn\n",
            "predict.py": (
                "import argparse, pickle, torch\n"
                "p = argparse.ArgumentParser()\n"
                "p.add_argument('--model', default='MODEL.pth')\n"
                "small = pickle.load(open('model/small.pkl', 'rb'))\n"
                "if __name__ == '__main__':\n    torch.load(p.parse_args().model)\n"
            ),
            "MODEL.pth": b"\x01" * (5 * 1024 * 1024),
            "model/small.pkl": b"\x80" * 4096,
        },
    )
    profile = inspect_project(root)
    assert profile.mounted_files == ("MODEL.pth",)
    assert "model/small.pkl" in profile.runtime_files
    files = render(make_plan(profile, Settings()))
    rules = dockerignore.parse(files[".dockerignore"])
    assert dockerignore.excluded(rules, "MODEL.pth")
    assert not dockerignore.excluded(rules, "model/small.pkl")
    assert "MODEL.pth:/app/MODEL.pth:ro" in files["docker/run.sh"]
    assert "./MODEL.pth:/app/MODEL.pth:ro" in files["compose.yaml"]


@pytest.mark.parametrize(
    ("rel", "out"),
    [
        ("web/node_modules/gulp/package.json", True),
        ("web/.next/cache/x", True),
        ("recipes/ljspeech/data/wavs/a.wav", True),
        ("x/bert_model.ckpt.data-00000-of-00001", True),
        ("x/model.ckpt-343.index", True),
        ("allennlp/best.th", True),
        ("yolo/yolov3.weights", True),
        ("flax/params.msgpack", True),
        ("data/shakespeare/prepare.py", False),
    ],
)
def test_weights_caches_and_nested_datasets_stay_out(tmp_path: Path, rel: str, out: bool) -> None:
    root = write_tree(
        tmp_path / "p",
        {
            "requirements.txt": "numpy\n",
            "main.py": "if __name__ == '__main__':\n    pass\n",
            "recipes/ljspeech/train.py": "x = 1\n",
            "data/shakespeare/prepare.py": "x = 1\n",
            rel: b"\0" * 16,
        },
    )
    assert dockerignore.excluded(_rules(root), rel) is out


def test_development_tools_are_left_out_of_the_install(tmp_path: Path) -> None:
    root = write_tree(
        tmp_path / "p",
        {
            "requirements.txt": "numpy\npytest==8.0\nblack\npre-commit\nhypothesis\nsklearn\n",
            "main.py": (
                "import numpy, sklearn\nfrom hypothesis import given\n"
                "if __name__ == '__main__':\n    pass\n"
            ),
            "tests/test_main.py": "import pytest\n",
        },
    )
    profile = inspect_project(root)
    assert sorted(d.name for d in profile.dev_tools) == ["black", "pre-commit", "pytest"]
    names = {d.name for d in profile.dependencies}
    assert {"numpy", "hypothesis", "scikit-learn"} <= names  # hypothesis: imported at run time
    assert "sklearn" not in names
    assert any("`sklearn` on PyPI" in w for w in profile.warnings)
    dockerfile = render(make_plan(profile, Settings()))["Dockerfile"]
    assert "Development tools are taken out here" in dockerfile
    assert "pre[-_.]+commit" in dockerfile and "scikit-learn" in dockerfile
    kept = render(make_plan(profile, Settings(dev_tools=True)))["Dockerfile"]
    assert "Development tools are taken out here" not in kept


def test_the_deletion_leaves_the_rest_of_the_file(tmp_path: Path) -> None:
    """The sed the Dockerfile runs, run here on a copy: only the tools' lines go."""
    root = write_tree(
        tmp_path / "p",
        {
            "requirements.txt": "numpy\npytest-cov \\\n  --hash=sha256:ab\npytest\nblackjack\n",
            "main.py": "import numpy\nif __name__ == '__main__':\n    pass\n",
        },
    )
    profile = inspect_project(root)
    dockerfile = render(make_plan(profile, Settings()))["Dockerfile"]
    line = next(x for x in dockerfile.splitlines() if "sed -i -E -e" in x)
    command = line.strip().removeprefix("RUN").strip("&\\ ")
    copy = tmp_path / "copy.txt"
    copy.write_text((root / "requirements.txt").read_text())
    target = command.split()[-1]
    subprocess.run(["sh", "-c", command.replace(target, str(copy))], check=True)
    assert copy.read_text() == "numpy\nblackjack\n"


def test_a_users_own_dockerignore_that_lets_a_secret_or_a_large_file_in_is_reported(
    tmp_path: Path,
) -> None:
    root = write_tree(
        tmp_path / "p",
        {
            ".dockerignore": "# ours\n.git\n",
            ".env": "TOKEN=abc\n",
            "requirements.txt": "numpy\n",
            "main.py": "if __name__ == '__main__':\n    pass\n",
        },
    )
    with (root / "dump.sqlite").open("wb") as big:
        big.truncate(25 * 1024 * 1024)
    warnings = [w for w in inspect_project(root).warnings if w.startswith(".dockerignore lets")]
    assert any(".env" in w and "`**/.env`" in w for w in warnings), warnings
    assert any("dump.sqlite (25 MiB)" in w and "`dump.sqlite`" in w for w in warnings), warnings
    # A .dockerignore that keeps them out says nothing.
    (root / ".dockerignore").write_text(".git\n.env\ndump.sqlite\n")
    assert not [w for w in inspect_project(root).warnings if w.startswith(".dockerignore lets")]


def test_a_gitignore_put_back_beats_the_folder_rules_after_it(tmp_path: Path) -> None:
    """`*.csv` then `!data/labels.csv` in .gitignore, and the code reads the file: the
    put-back must come after the `data` exclusion that the data folder gets later."""
    root = write_tree(
        tmp_path / "p",
        {
            ".gitignore": "*.csv\n!data/labels.csv\n",
            "requirements.txt": "six\n",
            "train.py": "LABELS = 'data/labels.csv'\nif __name__ == '__main__':\n    pass\n",
            "data/labels.csv": "a,b\n",
            "data/vocab.txt": "x\n",
        },
    )
    _commit(root)
    rules = _rules(root)
    assert not dockerignore.excluded(rules, "data/labels.csv")
