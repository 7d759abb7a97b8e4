"""Entry points ranked by what the repository documents: commands in the README's code
blocks, Makefile targets, ``python -m`` modules; a side server does not outrank them."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pytest
from conftest import write_tree

from dockerize_ml.detect import detect
from dockerize_ml.profile import ProjectProfile
from dockerize_ml.scan import scan

GUARDED = (
    'import argparse\n\nif __name__ == "__main__":\n    argparse.ArgumentParser().parse_args()\n'
)
FLASK_SERVER = (
    "import argparse\nfrom flask import Flask\napp = Flask(__name__)\n"
    "if __name__ == '__main__':\n    p = argparse.ArgumentParser()\n"
    "    p.add_argument('--port', type=int, default=8888)\n"
    "    args = p.parse_args()\n    app.run(host='0.0.0.0', port=args.port)\n"
)


def profile_of(root: Path, files: Mapping[str, str | bytes]) -> ProjectProfile:
    write_tree(root, files)
    return detect(scan(root))


def commands(profile: ProjectProfile) -> list[tuple[str, ...]]:
    entries = [profile.entrypoint, *profile.entrypoint_alternatives]
    return [e.command for e in entries if e is not None]


@pytest.mark.parametrize(
    ("files", "command", "ports"),
    [
        (
            # The README trains; server.py is a side server: an alternative, and its port
            # is not published.
            {
                "README.md": "# x\n\n```\npython train.py +configs=an4\n```\n\n```\npython server.py --port 8888\n```\n",
                "train.py": GUARDED,
                "server.py": FLASK_SERVER,
                "requirements.txt": "flask\n",
            },
            ("python", "train.py", "+configs=an4"),
            (),
        ),
        (
            # `python -m pkg.module` of the project's own package; placeholder arguments
            # ($(date), path/to) are dropped, with the option that took them.
            {
                "README.md": "```sh\n$ python -m vit.main --workdir=/tmp/vit-$(date +%s) \\\n    --config=x.py\n```\n",
                "vit/__init__.py": "",
                "vit/main.py": GUARDED,
                "notebooks/a.ipynb": '{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}',
            },
            ("python", "-m", "vit.main"),
            (),
        ),
        (
            {
                "README.md": "```\npython scripts/image_train.py --data_dir path/to/images $FLAGS\n```\n",
                "scripts/image_nll.py": GUARDED,
                "scripts/image_train.py": GUARDED,
            },
            ("python", "scripts/image_train.py"),
            (),
        ),
        (
            # `make train` runs the recipe's command (`poetry run` dropped); `make init`
            # installs, and `make data` is not named like the main job.
            {
                "README.md": "    $ make init\n\n    $ make data\n\n    $ make train\n",
                "Makefile": "init:\n\tpoetry install\n\ndata:\n\tpoetry run python src/data.py\n\ntrain:\n\tpoetry run python src/train.py\n",
                "src/data.py": GUARDED,
                "src/train.py": GUARDED,
                "src/__init__.py": "",
            },
            ("python", "src/train.py"),
            (),
        ),
        (
            # The README runs the app with `python app.py`; the code's server (reachable on
            # 0.0.0.0) is what the image runs, and its port is published.
            {
                "README.md": "```\npython model.py\npython app.py\n```\n",
                "model.py": "import pickle\npickle.dump(1, open('m.pkl', 'wb'))\n",
                "app.py": "from flask import Flask\napp = Flask(__name__)\nif __name__ == '__main__':\n    app.run(debug=True)\n",
                "requirements.txt": "flask\n",
            },
            ("flask", "--app", "app", "run", "--host", "0.0.0.0", "--port", "5000"),
            (5000,),
        ),
    ],
)
def test_documented_commands_rank_first(
    tmp_path: Path, files: dict[str, str], command: tuple[str, ...], ports: tuple[int, ...]
) -> None:
    profile = profile_of(tmp_path, files)
    assert profile.entrypoint is not None
    assert profile.entrypoint.command == command
    assert profile.ports == ports


def test_a_side_server_stays_an_alternative(tmp_path: Path) -> None:
    files = {
        "README.md": "```\npython train.py\n```\n",
        "train.py": GUARDED,
        "server.py": FLASK_SERVER,
        "requirements.txt": "flask\n",
    }
    profile = profile_of(tmp_path, files)
    assert ("python", "server.py") in commands(profile)
    assert profile.entrypoint is not None
    assert any(e.path == "README.md" for e in profile.entrypoint.evidence)


def test_install_and_test_commands_are_not_entry_points(tmp_path: Path) -> None:
    files = {
        "README.md": "```\npython -m pip install -r requirements.txt\npython setup.py install\npython -m pytest tests\npython tests/test_x.py\n```\n",
        "setup.py": "",
        "tests/test_x.py": GUARDED,
        "main.py": GUARDED,
    }
    profile = profile_of(tmp_path, files)
    assert profile.entrypoint is not None
    assert profile.entrypoint.command == ("python", "main.py")


def test_scripts_in_project_folders_outrank_jupyterlab(tmp_path: Path) -> None:
    notebook = '{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}'
    files = {
        "demo.ipynb": notebook,
        "mingpt/__init__.py": "",
        "mingpt/bpe.py": GUARDED,  # a package module's demo, not a project
        "projects/adder/adder.py": GUARDED,
        ".github/tool.py": GUARDED,
    }
    profile = profile_of(tmp_path, files)
    assert profile.entrypoint is not None
    assert profile.entrypoint.command == ("python", "projects/adder/adder.py")
    assert ("python", "mingpt/bpe.py") not in commands(profile)
    assert ("python", ".github/tool.py") not in commands(profile)


def test_the_repositorys_own_dockerfile_command_ranks_first(tmp_path: Path) -> None:
    files = {
        "README.md": "```\npython train.py\n```\n",
        "train.py": GUARDED,
        "app.py": "from fastapi import FastAPI\napp = FastAPI()\n",
        "Dockerfile": 'FROM python:3.8\nCMD ["uvicorn", "app:app", "--host", "0.0.0.0"]\n',
        "requirements.txt": "fastapi\nuvicorn\n",
    }
    profile = profile_of(tmp_path, files)
    assert profile.entrypoint is not None
    assert profile.entrypoint.command == (
        "uvicorn",
        "app:app",
        "--host",
        "0.0.0.0",
        "--port",
        "8000",
    )
    assert profile.ports == (8000,)


def test_a_readme_script_that_serves_on_0000_runs_as_documented(tmp_path: Path) -> None:
    server = (
        "import argparse\nfrom flask import Flask\napp = Flask(__name__)\n"
        "def main():\n    p = argparse.ArgumentParser()\n"
        "    p.add_argument('--port', type=int, default=5002)\n"
        "    p.add_argument('--model_name', default=None)\n"
        "    args = p.parse_args()\n    app.run(host='::', port=args.port)\n"
        "if __name__ == '__main__':\n    main()\n"
    )
    files = {
        "README.md": "```\npython server/server.py --model_name tts_models/en\n```\n",
        "server/server.py": server,
        "requirements.txt": "flask\n",
    }
    profile = profile_of(tmp_path, files)
    assert profile.entrypoint is not None
    assert profile.entrypoint.command == (
        "python",
        "server/server.py",
        "--model_name",
        "tts_models/en",
    )
    assert profile.ports == (5002,)


def test_a_documented_gradio_app_gets_its_host_and_port_flags(tmp_path: Path) -> None:
    app = (
        "import argparse\nimport gradio as gr\np = argparse.ArgumentParser()\n"
        "p.add_argument('--server_name', default=None)\n"
        "p.add_argument('--server_port', type=int, default=None)\nargs = p.parse_args()\n"
        "demo = gr.Blocks()\n"
        "demo.launch(server_name=args.server_name, server_port=args.server_port)\n"
    )
    files = {"Dockerfile": 'FROM python:3.11\nENTRYPOINT ["python", "app.py"]\n', "app.py": app}
    profile = profile_of(tmp_path, files)
    assert profile.entrypoint is not None
    assert profile.entrypoint.command == (
        "python",
        "app.py",
        "--server_name",
        "0.0.0.0",
        "--server_port",
        "7860",
    )
