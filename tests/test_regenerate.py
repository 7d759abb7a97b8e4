"""Regeneration never loses a user's edit: merge, conflict, deleted and hand-written files."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

from conftest import Sample, copy_sample, run_cli
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dockerize_ml.errors import ExitCode
from dockerize_ml.jobs import run_init
from dockerize_ml.names import NEW_SUFFIX, OUTPUTS, STATE_FILE
from dockerize_ml.write import merge


def init_ok(root: Path, *flags: str) -> subprocess.CompletedProcess[str]:
    result = run_cli("init", root, *flags)
    assert result.returncode == 0, result.stderr
    return result


def test_untouched_files_are_updated_and_edited_ones_merged(sample: Sample) -> None:
    root = sample("churn-model")
    init_ok(root)
    dockerfile = root / "Dockerfile"
    text = dockerfile.read_text()
    edited = text.replace("WORKDIR /app\n", "WORKDIR /app\nENV MY_SETTING=on  # mine\n")
    dockerfile.write_text(edited)
    with (root / ".dockerignore").open("a") as handle:
        handle.write("\n# mine\nscratch/\n")
    (root / "requirements.txt").write_text(
        (root / "requirements.txt").read_text() + "opencv-python>=4.9\n"
    )
    check = run_cli("check", root)
    assert check.returncode == ExitCode.STALE
    assert "requirements.txt" in check.stderr and "Dockerfile" in check.stderr
    assert "dockerize-ml init" in check.stderr

    again = init_ok(root)
    assert "merged" in again.stdout
    merged = dockerfile.read_text()
    assert "ENV MY_SETTING=on  # mine" in merged
    assert "libgl1" in merged  # what the new dependency needs (cv2 links libGL)
    assert "scratch/" in (root / ".dockerignore").read_text()
    assert run_cli("check", root).returncode == 0


def test_conflicting_edit_leaves_the_file_and_writes_beside(sample: Sample) -> None:
    root = sample("churn-model")
    init_ok(root)
    dockerfile = root / "Dockerfile"
    mine = dockerfile.read_text().replace(
        'CMD ["python", "train.py"]', 'CMD ["python", "train.py", "--seed", "1"]'
    )
    dockerfile.write_text(mine)
    result = run_cli("init", root, "--entry", "python train.py --seed 2")
    assert result.returncode == ExitCode.CONFLICT, result.stderr
    assert "CONFLICT" in result.stdout and "Dockerfile.dockerize-ml-new" in result.stderr
    assert dockerfile.read_text() == mine
    assert '"--seed", "2"' in (root / f"Dockerfile{NEW_SUFFIX}").read_text()
    # Resolved by hand: take the new line, keep the rest, delete the .new file.
    dockerfile.write_text(mine.replace('"--seed", "1"', '"--seed", "2"'))
    (root / f"Dockerfile{NEW_SUFFIX}").unlink()
    assert run_cli("init", root).returncode == 0
    assert run_cli("check", root).returncode == 0


def test_deleted_generated_file_is_not_recreated_unless_asked(sample: Sample) -> None:
    root = sample("churn-model")
    init_ok(root)
    (root / ".dockerignore").unlink()
    result = init_ok(root, "--port", "8080")  # a change that would touch .dockerignore too
    assert "skipped" in result.stdout and "you deleted it" in result.stdout
    assert not (root / ".dockerignore").exists()
    assert run_cli("check", root).returncode == 0, "a deleted file is not stale"
    init_ok(root, "--recreate")
    assert (root / ".dockerignore").is_file()


def test_settings_are_saved_replayed_and_checked(sample: Sample) -> None:
    root = sample("sentiment-cli")
    before = (root / "pyproject.toml").read_text()
    init_ok(root, "--python", "3.10", "--port", "9000", "--installer", "pip")
    after = (root / "pyproject.toml").read_text()
    assert after.startswith(before), "the rest of pyproject.toml is left exactly as it was"
    assert '[tool.dockerize-ml]\npython = "3.10"\nports = [9000]\ninstaller = "pip"\n' in after
    init_ok(root)  # no flags: the saved ones are replayed
    dockerfile = (root / "Dockerfile").read_text()
    assert "FROM python:3.10-slim" in dockerfile and "EXPOSE 9000" in dockerfile
    assert run_cli("check", root).returncode == 0

    (root / "pyproject.toml").write_text(after + 'colour = "blue"\n')
    bad = run_cli("check", root)
    assert bad.returncode == ExitCode.INVALID_PROJECT_FILE
    assert "unknown setting 'colour'" in bad.stderr and "docs/settings.md" in bad.stderr


def test_settings_file_without_pyproject(sample: Sample) -> None:
    root = sample("churn-model")
    init_ok(root, "--python", "3.10")
    text = (root / "dockerize-ml.toml").read_text()
    assert 'python = "3.10"' in text and text.startswith("# dockerize-ml settings")
    assert "dockerize-ml.toml" in (root / ".dockerignore").read_text()


def test_check_before_any_init_and_dry_run(sample: Sample) -> None:
    root = sample("churn-model")
    result = run_cli("check", root)
    assert result.returncode == ExitCode.STALE and "run: dockerize-ml init" in result.stderr
    dry = run_cli("init", root, "--dry-run", "--diff")
    assert dry.returncode == 0 and "+++ b/Dockerfile" in dry.stdout
    assert not (root / "Dockerfile").exists() and not (root / ".dockerize-ml").exists()


def test_check_diff_shows_the_change(sample: Sample) -> None:
    root = sample("churn-model")
    init_ok(root)
    (root / ".python-version").write_text("3.10\n")
    result = run_cli("check", root, "--diff")
    assert result.returncode == ExitCode.STALE
    assert "-FROM python:3.11-slim" in result.stdout and "+FROM python:3.10-slim" in result.stdout
    assert ".python-version" in result.stderr


def test_two_runs_at_once_leave_a_valid_state(sample: Sample) -> None:
    root = sample("churn-model")
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "dockerize_ml", "init", str(root)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for _ in range(4)
    ]
    codes = [p.wait() for p in procs]
    assert codes == [0, 0, 0, 0]
    state = json.loads((root / STATE_FILE).read_text())
    assert set(state["files"]) == set(OUTPUTS)
    assert not list(root.rglob("*.tmp"))


def test_merge_keeps_both_sides_or_reports_a_conflict() -> None:
    base = "a\nb\nc\nd\ne\n"
    assert merge(base, "a\nmine\nb\nc\nd\ne\n", "a\nb\nc\nd\nE\n") == "a\nmine\nb\nc\nd\nE\n"
    assert merge(base, "a\nB1\nc\nd\ne\n", "a\nB2\nc\nd\ne\n") is None


# --- property: no user line is ever lost ------------------------------------------------------

USER_LINES = st.lists(
    st.tuples(
        st.sampled_from(["Dockerfile", ".dockerignore", "docker/run.sh"]),
        st.integers(min_value=0, max_value=200),
        st.text(alphabet="abcdefghijklmnopqrstuvwxyz_=", min_size=3, max_size=20),
    ),
    min_size=1,
    max_size=6,
)
CHANGES = st.sampled_from(
    [
        {"python": "3.10"},
        {"ports": [8080]},
        {"entry": "python train.py --epochs 3"},
        {"installer": "pip"},
        {"buildkit": False},
    ]
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(edits=USER_LINES, change=CHANGES, add_dependency=st.booleans())
def test_no_user_line_is_ever_lost(
    edits: list[tuple[str, int, str]], change: dict[str, object], add_dependency: bool
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "p"
        copy_sample("churn-model", root)
        run_init(root, {})
        inserted: dict[str, list[str]] = {}
        for rel, position, word in edits:
            path = root / rel
            lines = path.read_text().splitlines(keepends=True)
            marker = f"# user {word}\n"
            lines.insert(position % (len(lines) + 1), marker)
            path.write_text("".join(lines))
            inserted.setdefault(rel, []).append(marker)
        edited = {rel: (root / rel).read_text() for rel in inserted}
        if add_dependency:
            with (root / "requirements.txt").open("a") as handle:
                handle.write("soundfile>=0.12\n")
        run_init(root, change)
        for rel, markers in inserted.items():
            now = (root / rel).read_text()
            beside = root / f"{rel}{NEW_SUFFIX}"
            if beside.exists():
                assert now == edited[rel], "a conflicting file is left exactly as the user had it"
            else:
                for marker in markers:
                    assert now.count(marker) >= edited[rel].count(marker), (rel, marker)
