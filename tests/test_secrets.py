"""Secrets stay out of the build context and out of every layer: by name (each row of
knowledge/secrets.toml, planted and checked) and by content (keys and tokens in files with no
telling name), with each finding reported."""

from __future__ import annotations

import hashlib
import json
import os
import re
import string
from pathlib import Path
from typing import Any

import pytest
from conftest import run_cli, write_tree
from hypothesis import given
from hypothesis import strategies as st

from dockerize_ml import dockerignore, inspect_project, knowledge
from dockerize_ml.detect import secrets

_ALPHABETS = {
    "hex": "0123456789abcdef",
    "b62": string.ascii_letters + string.digits,
    "b64": string.ascii_letters + string.digits + "+/",
}


def expand(template: str, seed: str) -> str:
    """A row's example with its `{N*c}` / `{N*hex}` / `{N*b62}` / `{N*b64}` parts filled in:
    deterministic, and as random-looking as a real key."""

    def fill(match: re.Match[str]) -> str:
        count, what = int(match.group(1)), match.group(2)
        if what not in _ALPHABETS:
            return what * count
        alphabet = _ALPHABETS[what]
        stream = hashlib.sha256(f"{seed}{match.start()}".encode()).digest() * (count // 32 + 1)
        return "".join(alphabet[b % len(alphabet)] for b in stream[:count])

    return re.sub(r"\{(\d+)\*([^}]+)\}", fill, template)


TABLE = knowledge.load("secrets")
NAME_ROWS = TABLE["name"]
CONTENT_ROWS = TABLE["content"]


def test_rows_are_well_formed() -> None:
    ids = [row["id"] for row in CONTENT_ROWS]
    assert len(ids) == len(set(ids))
    patterns = [row["pattern"] for row in NAME_ROWS]
    assert len(patterns) == len(set(patterns))
    for row in NAME_ROWS:
        assert set(row) <= {"pattern", "folder", "why", "example"}, row
        assert row["why"] and row["example"], row
        assert not row["pattern"].startswith(("/", "!", "**")), row
    for row in CONTENT_ROWS:
        assert set(row) == {"id", "regex", "why", "example", "hints"}, row
        re.compile(row["regex"])
        assert row["hints"] and all(h == h.lower() for h in row["hints"]), row
        # the cheap test never hides a match: the example holds one of the hints
        assert any(h in expand(row["example"], row["id"]).lower() for h in row["hints"]), row


@pytest.mark.parametrize("row", NAME_ROWS, ids=[r["pattern"] for r in NAME_ROWS])
def test_every_name_row_matches_its_example(row: dict[str, object]) -> None:
    rule = next(r for r in secrets.name_rules() if r.pattern == row["pattern"])
    assert secrets.matches(rule, str(row["example"])), row
    assert secrets.secret_by_name(str(row["example"])) is not None


@pytest.mark.parametrize("row", CONTENT_ROWS, ids=[r["id"] for r in CONTENT_ROWS])
def test_every_content_row_finds_its_example(row: dict[str, str]) -> None:
    text = "settings:\n  " + expand(row["example"], row["id"]) + "\n"
    rules = {f.rule for f in secrets.secrets_in_text("x.yaml", text)}
    assert row["id"] in rules, (row["id"], text)


def _excluded(root: Path, rel: str) -> bool:
    profile = inspect_project(root)
    rules = dockerignore.parse("\n".join(profile.context_excludes))
    return dockerignore.excluded(rules, rel)


def _project(tmp_path: Path) -> Path:
    return write_tree(
        tmp_path / "p",
        {
            "requirements.txt": "six\n",
            "train.py": "import six\nif __name__ == '__main__':\n    print(1)\n",
            "configs/model.yaml": "lr: 0.001\n",
        },
    )


def test_every_secret_name_and_content_stays_out(tmp_path: Path) -> None:
    root = _project(tmp_path)
    planted = {row["example"]: "x=1\n" for row in NAME_ROWS}
    contents = {
        f"configs/deploy_{i}.yaml": expand(row["example"], row["id"]) + "\n"
        for i, row in enumerate(CONTENT_ROWS)
    }
    write_tree(root, {**planted, **contents})
    profile = inspect_project(root)
    rules = dockerignore.parse("\n".join(profile.context_excludes))
    leaked = [p for p in [*planted, *contents] if not dockerignore.excluded(rules, p)]
    assert not leaked
    assert {e.path for e in profile.secrets_found} == set(contents)
    for rel in contents:
        assert any(rel in w for w in profile.warnings), rel
    # what the code needs is still there
    for rel in ("train.py", "configs/model.yaml", "requirements.txt"):
        assert not dockerignore.excluded(rules, rel)


def test_a_secret_in_code_or_a_notebook_is_reported_not_dropped(tmp_path: Path) -> None:
    root = _project(tmp_path)
    key = expand("{40*hex}", "code")
    token = expand("hf_{34*b62}", "nb")
    write_tree(
        root,
        {
            "settings.py": f'WANDB_API_KEY = "{key}"\n',
            "explore.ipynb": '{"cells": [{"cell_type": "code", "source": ["print(1)"], '
            f'"outputs": [{{"output_type": "stream", "text": ["{token}"]}}]}}], '
            '"metadata": {}, "nbformat": 4, "nbformat_minor": 5}',
        },
    )
    profile = inspect_project(root)
    assert not _excluded(root, "settings.py")
    messages = "\n".join(profile.warnings)
    assert "settings.py:1: settings.py holds what looks like a credential" in messages
    assert "explore.ipynb" in messages and "huggingface-token" in messages


def test_the_code_reading_a_secret_config_keeps_it_out(tmp_path: Path) -> None:
    root = _project(tmp_path)
    key = expand("AKIA{16*Q}", "cfg")
    write_tree(
        root,
        {
            "serve.py": "CONFIG = 'configs/cloud.yaml'\n",
            "configs/cloud.yaml": f"bucket: x\naws_access_key_id: {key}\n",
        },
    )
    assert _excluded(root, "configs/cloud.yaml")
    warning = next(w for w in inspect_project(root).warnings if "configs/cloud.yaml" in w)
    assert "mount it read-only" in warning
    # ... and the app still finds it: the run script and compose mount it at its path.
    from dockerize_ml.jobs import run_init

    files = run_init(root, {}).files
    assert "configs/cloud.yaml:/app/configs/cloud.yaml:ro" in files["docker/run.sh"]
    assert "configs/cloud.yaml:/app/configs/cloud.yaml:ro" in files["compose.yaml"]


@pytest.mark.parametrize(
    "path", ["!important.txt", "#creds.txt", "config/prod[1].cfg", "we ird*.txt", "a\\b.txt"]
)
def test_a_secret_file_with_a_special_name_is_kept_out_exactly(tmp_path: Path, path: str) -> None:
    """Paths become .dockerignore lines escaped: `!x` is no put-back, `#x` no comment, `[1]`
    no character class (checked here with our matcher, which follows Docker's rules, and by
    hand against BuildKit's own context listing: docs/security.md)."""
    root = _project(tmp_path)
    write_tree(root, {path: expand("hub: hf_{34*b62}", path) + "\n", "config/prod1.cfg": "a: 1\n"})
    assert _excluded(root, path)
    assert not _excluded(root, "config/prod1.cfg")
    assert not _excluded(root, "train.py")


def test_code_named_like_a_secret_stays_in(tmp_path: Path) -> None:
    root = _project(tmp_path)
    write_tree(
        root,
        {
            "app/load_secrets.py": "import os\nTOKEN = os.environ.get('TOKEN')\n",
            "app/secrets/__init__.py": "",
            "app/secrets/vault.py": "def get():\n    return 1\n",
            "app/secrets/db.txt": "hunter2\n",
            "secrets.yaml": "a: 1\n",
        },
    )
    for rel in ("app/load_secrets.py", "app/secrets/__init__.py", "app/secrets/vault.py"):
        assert not _excluded(root, rel), rel
    assert _excluded(root, "app/secrets/db.txt") and _excluded(root, "secrets.yaml")


@pytest.mark.parametrize(
    "text",
    [
        "password: ${DB_PASSWORD}\n",
        'api_key = os.environ["OPENAI_API_KEY"]\n',
        "token: <your-token-here>\n",
        "tokenizer_name: bert-base-uncased-v2-20200101\n",
        "max_tokens: 1024\n",
        "secret_key = 'changeme-changeme-1234'\n",
        'hash = "sha256:0f3d9b1a7c2e4d5f6a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f"\n',
        "url: https://pypi.org/simple\n",
        "db: postgresql://localhost:5432/features\n",
    ],
)
def test_what_is_not_a_secret(text: str) -> None:
    assert secrets.secrets_in_text("x", text) == []


@given(st.text(alphabet=string.ascii_letters + string.digits + " :=_-\n", max_size=300))
def test_content_scan_never_fails_and_finds_only_within_the_text(text: str) -> None:
    for finding in secrets.secrets_in_text("x", text):
        assert 1 <= finding.line <= text.count("\n") + 1


def test_envrc_is_not_an_env_file(tmp_path: Path) -> None:
    root = _project(tmp_path)
    write_tree(root, {".envrc": "export TOKEN=1\n", ".env": "A=1\n", ".env.example": "A=\n"})
    profile = inspect_project(root)
    assert profile.env_files == (".env",)
    assert _excluded(root, ".envrc") and not _excluded(root, ".env.example")


@pytest.mark.parametrize(
    ("files", "where"),
    [
        (
            {
                "requirements.txt": "--extra-index-url https://ml:{pw}@pkgs.example.com/simple\nsix\n"
            },
            "requirements.txt:1",
        ),
        (
            {
                "requirements.txt": "-r requirements/base.txt\n",
                "requirements/base.txt": "six\n--index-url https://deploy:{pw}@idx.corp/simple\n",
            },
            "requirements/base.txt:2",
        ),
        (
            {
                "pyproject.toml": '[project]\nname = "x"\nversion = "1"\ndependencies = ["six"]\n'
                '[[tool.uv.index]]\nname = "corp"\nurl = "https://u:{pw}@idx.corp/simple"\n'
            },
            "pyproject.toml:7",
        ),
    ],
)
def test_credentials_in_dependency_files_are_refused(
    tmp_path: Path, files: dict[str, str], where: str
) -> None:
    """A token in a dependency file would reach a layer with `COPY . .`: init says so, exit 5,
    and names the file and line; the ${VAR} form is the way, and it is accepted."""
    password = expand("{20*b62}", "index")
    root = write_tree(tmp_path / "p", {k: v.replace("{pw}", password) for k, v in files.items()})
    write_tree(root, {"train.py": "import six\n"})
    result = run_cli("init", root)
    assert result.returncode == 5, result.stderr
    assert result.stderr.startswith(f"error: {where}: a credential"), result.stderr
    assert password not in result.stdout + result.stderr
    assert not (root / "Dockerfile").exists()
    for rel, text in files.items():
        (root / rel).write_text(text.replace("{pw}", "${INDEX_TOKEN}"))
    assert run_cli("init", root).returncode == 0


def _layer_bytes(engine: Any, tag: str, base: str) -> list[bytes]:
    """The raw archives of the layers the Dockerfile added (not the base image's)."""
    import io
    import tarfile

    image = engine.images.get(tag)
    base_layers = engine.images.get(base).attrs["RootFS"]["Layers"]
    with tarfile.open(fileobj=io.BytesIO(b"".join(image.save(named=False)))) as saved:
        manifest = json.load(saved.extractfile("manifest.json"))  # type: ignore[arg-type]
        layers = manifest[0]["Layers"][len(base_layers) :]
        return [saved.extractfile(name).read() for name in layers]  # type: ignore[union-attr]


@pytest.mark.docker
def test_no_planted_secret_reaches_any_layer(
    engine: Any, buildkit_cli: str, tmp_path: Path, tag: str
) -> None:
    """Every name of the table and every content rule planted, each file carrying a marker of
    its own; a .env value; the image built by `dockerize-ml build`, whose own check passes;
    and, read independently of the rules, no marker and no .env value in any added layer."""
    root = _project(tmp_path)
    markers: dict[str, str] = {}
    for i, row in enumerate(NAME_ROWS):
        markers[row["example"]] = f"PLANTED-NAME-{i}-{expand('{12*b62}', str(i))}"
    for i, row in enumerate(CONTENT_ROWS):
        marker = f"PLANTED-CONTENT-{i}-{expand('{12*b62}', row['id'])}"
        markers[f"configs/deploy_{i}.yaml"] = (
            f"# {marker}\n" + expand(row["example"], row["id"]) + "\n"
        )
    env_value = expand("{32*b62}", "dotenv")
    write_tree(
        root,
        {
            **{
                rel: (text if text.startswith("#") else f"{text}\n")
                for rel, text in markers.items()
            },
            ".env": f"OPENAI_API_KEY={env_value}\n",
        },
    )
    assert run_cli("init", root, "--python", "3.11").returncode == 0
    result = run_cli("build", root, "--tag", tag, "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    check = next(s for s in report["smoke"] if s["name"] == "no secrets in the image")
    assert check["ok"], check
    layers = _layer_bytes(engine, tag, "python:3.11-slim")
    assert layers, "the Dockerfile added no layer?"
    needles = [m.splitlines()[0].removeprefix("# ").encode() for m in markers.values()]
    for data in layers:
        for needle in [*needles, env_value.encode()]:
            assert needle not in data, needle
    # The code is in the image, so the check looked where secrets would be.
    assert any(b"train.py" in data for data in layers)


@pytest.mark.docker
def test_the_image_check_finds_a_secret_a_dockerfile_adds(
    engine: Any, buildkit_cli: str, tmp_path: Path, tag: str
) -> None:
    """A hand edit that writes a key into the image is caught by `dockerize-ml build`: exit 12,
    naming the file."""
    root = _project(tmp_path)
    assert run_cli("init", root, "--python", "3.11").returncode == 0
    key = expand("{40*b64}", "leak")
    dockerfile = root / "Dockerfile"
    text = dockerfile.read_text()
    cmd_at = text.rindex("\nCMD ")
    dockerfile.write_text(
        text[:cmd_at]
        + f"\nRUN printf 'aws_secret_access_key = %s\\n' '{key}' > /app/settings.ini\n"
        + text[cmd_at:]
    )
    result = run_cli("build", root, "--tag", tag, "--json")
    assert result.returncode == 12, result.stdout + result.stderr
    check = next(
        s for s in json.loads(result.stdout)["smoke"] if s["name"] == "no secrets in the image"
    )
    assert not check["ok"] and "/app/settings.ini" in check["detail"], check


def test_a_notebook_is_searched_in_its_text_not_its_images(tmp_path: Path) -> None:
    """A token printed by a cell is found and the notebook named; megabytes of image output
    are not searched (the regexes were quadratic on base64 before)."""
    import base64

    token = expand("hf_{34*b62}", "printed")
    image = base64.b64encode(bytes(range(256)) * 4000).decode()
    cells = [
        {
            "cell_type": "code",
            "source": ["login()\n"],
            "outputs": [
                {"output_type": "stream", "name": "stdout", "text": [f"token={token}\n"]},
                {
                    "output_type": "display_data",
                    "data": {"image/png": image, "text/plain": ["<Figure>"]},
                },
            ],
        },
    ]
    text = json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5})
    assert token in secrets.notebook_text(text) and image not in secrets.notebook_text(text)
    root = _project(tmp_path)
    write_tree(root, {"explore.ipynb": text})
    profile = inspect_project(root)
    assert {e.path for e in profile.secrets_found} == {"explore.ipynb"}
    assert any(w.startswith("explore.ipynb: explore.ipynb holds") for w in profile.warnings)


@pytest.mark.parametrize(
    "line",
    [
        "secret_key: {40*hex}",
        'SECRET_KEY = "django-insecure-{40*b62}"',
        "JWT_SECRET_KEY={32*b62}",
        "wandb_key: {40*hex}",
        "DB_PASS={20*b62}",
        "broker: redis://:{12*b62}@redis:6379/0",
        "db: mysql://root:pw{4*9}@db/features",
    ],
)
def test_common_credentials_are_found(line: str) -> None:
    text = expand(line, line) + "\n"
    assert secrets.secrets_in_text("x.yaml", text), text


@pytest.mark.docker
def test_escaped_paths_are_what_docker_sends(buildkit_cli: str, tmp_path: Path) -> None:
    """The .dockerignore of a project with special file names, against BuildKit's own
    context: `FROM scratch` + `COPY . /` exported to a folder."""
    import subprocess

    root = _project(tmp_path)
    special = ["!important.txt", "#creds.txt", "config/prod[1].cfg", "we ird*.txt"]
    write_tree(
        root,
        {**{p: expand("hub: hf_{34*b62}", p) + "\n" for p in special}, "config/prod1.cfg": "a\n"},
    )
    assert run_cli("init", root).returncode == 0
    listing = tmp_path / "listing"
    (tmp_path / "ls.Dockerfile").write_text("FROM scratch\nCOPY . /\n")
    (tmp_path / "ls.Dockerfile.dockerignore").write_text((root / ".dockerignore").read_text())
    done = subprocess.run(
        [
            buildkit_cli,
            "build",
            "-q",
            "-f",
            str(tmp_path / "ls.Dockerfile"),
            "-o",
            f"type=local,dest={listing}",
            str(root),
        ],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "DOCKER_BUILDKIT": "1"},
    )
    assert done.returncode == 0, done.stderr
    sent = {p.relative_to(listing).as_posix() for p in listing.rglob("*") if p.is_file()}
    assert not set(special) & sent, sent
    assert {"train.py", "config/prod1.cfg", "requirements.txt"} <= sent


def test_only_secret_env_values_are_searched_in_the_image() -> None:
    """A model name or a data path in .env is no secret, and the code may well repeat it."""
    from dockerize_ml.imagescan import env_values

    token = expand("{32*b62}", "env")
    text = f"MODEL_NAME=distilbert-base-uncased\nDATA_DIR=/app/data\nOPENAI_API_KEY={token}\n"
    text += f"export SESSION_COOKIE='abcdefgh12'\nX={expand('{24*b62}', 'x')}\n"
    assert env_values([text]) == [token, "abcdefgh12", expand("{24*b62}", "x")]


def test_a_key_in_the_projects_own_code_is_said_not_failed(tmp_path: Path) -> None:
    """Giskard-AI/giskard: a module that assigns a Mixpanel project key. The code must be in
    the image (init said so when it read it): the image check reports it and passes; the
    same key in a config file, or a .env value anywhere, fails it."""
    import io
    import tarfile

    from dockerize_ml.imagescan import ImageSecrets, _check_layer

    key = hashlib.sha256(b"mixpanel").hexdigest()[:32]
    files = {
        "app/pkg/analytics.py": f'prod_mp_project_key = "{key}"\n',
        "app/configs/deploy.yaml": f"api_key: {key}\n",
    }

    def layer(members: dict[str, str]) -> io.BytesIO:
        data = io.BytesIO()
        with tarfile.open(fileobj=data, mode="w") as archive:
            for name, text in members.items():
                raw = text.encode()
                info = tarfile.TarInfo(name)
                info.size = len(raw)
                archive.addfile(info, io.BytesIO(raw))
        data.seek(0)
        return data

    result = ImageSecrets()
    _check_layer(layer({"app/pkg/analytics.py": files["app/pkg/analytics.py"]}), [], result)
    assert result.ok and result.in_code and "/app/pkg/analytics.py:1" in result.in_code[0]
    result = ImageSecrets()
    _check_layer(layer(files), [], result)
    assert not result.ok and "/app/configs/deploy.yaml" in result.findings[0]
    # a value of the project's .env in the code is a leak, code or not
    result = ImageSecrets()
    _check_layer(layer({"app/pkg/analytics.py": files["app/pkg/analytics.py"]}), [key], result)
    assert not result.ok
