"""Servers that are reachable: model-serving frameworks, app factories, and host and port as
the code sets them (literals, argparse defaults, variables), made to listen on 0.0.0.0."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pytest
from conftest import write_tree

from dockerize_ml.detect import detect
from dockerize_ml.profile import ProjectProfile
from dockerize_ml.scan import scan


def profile_of(root: Path, files: Mapping[str, str | bytes]) -> ProjectProfile:
    write_tree(root, files)
    return detect(scan(root))


BENTO = """\
import bentoml

@bentoml.service(resources={"gpu": 1})
class Embedder:
    @bentoml.api
    def encode(self, text: str) -> str:
        return text
"""

RAY = """\
from fastapi import FastAPI
from ray import serve

app = FastAPI()

@serve.deployment(ray_actor_options={"num_gpus": 1})
@serve.ingress(app)
class Summarizer:
    @app.get("/summarize")
    def summarize(self, text: str) -> str:
        return text

deployment = Summarizer.bind()
"""

FACTORY = """\
from fastapi import FastAPI

def get_app() -> FastAPI:
    fast_app = FastAPI(title="x")
    return fast_app
"""

FLASK_SETUP = """\
import sys
import joblib
from flask import Flask

app = Flask(__name__)

if __name__ == "__main__":
    try:
        port = int(sys.argv[1])
    except Exception:
        port = 80
    model = joblib.load("model.pkl")
    app.run(host="0.0.0.0", port=port, debug=True)
"""

FLASK_DEBUG = """\
from flask import Flask

app = Flask(__name__)

if __name__ == "__main__":
    app.run(debug=True)
"""

GRADIO_FLAGS = """\
import argparse
import gradio as gr

parser = argparse.ArgumentParser()
parser.add_argument("--server_name", type=str, default=None)
parser.add_argument("--server_port", type=int, default=None)
args = parser.parse_args()

with gr.Blocks() as demo:
    gr.Markdown("hi")
demo.queue().launch(server_name=args.server_name, server_port=args.server_port)
"""

ARGPARSE_PORT = """\
import argparse
from label_studio_ml.api import init_app

if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("-p", "--port", dest="port", type=int, default=9090)
    parser.add_argument("--host", dest="host", type=str, default="0.0.0.0")
    args = parser.parse_args()
    app = init_app()
    app.run(host=args.host, port=args.port)
"""


@pytest.mark.parametrize(
    ("files", "kind", "command", "port", "env"),
    [
        (
            {"service.py": BENTO, "requirements.txt": "bentoml\n"},
            "bentoml",
            ("bentoml", "serve", "service:Embedder", "--host", "0.0.0.0", "--port", "3000"),
            3000,
            ("BENTOML_DO_NOT_TRACK", "True"),
        ),
        (
            # Ray Serve wraps the FastAPI app: `serve run`, not uvicorn, and its proxy is
            # told to listen on 0.0.0.0 (it binds 127.0.0.1 by default).
            {"summarizer.py": RAY},
            "ray-serve",
            ("serve", "run", "summarizer:deployment"),
            8000,
            ("RAY_SERVE_DEFAULT_HTTP_HOST", "0.0.0.0"),
        ),
        (
            {"pkg/main.py": FACTORY + "\napp = get_app()\n", "pkg/__init__.py": ""},
            "fastapi",
            ("uvicorn", "pkg.main:app", "--host", "0.0.0.0", "--port", "8000"),
            8000,
            None,
        ),
        (
            {"pkg/main.py": FACTORY, "pkg/__init__.py": ""},
            "fastapi",
            ("uvicorn", "--factory", "pkg.main:get_app", "--host", "0.0.0.0", "--port", "8000"),
            8000,
            None,
        ),
        (
            # The __main__ block loads the model before app.run(host="0.0.0.0"): the
            # script is what serves a working app, on the port its fallback names.
            {"main.py": FLASK_SETUP, "requirements.txt": "flask\njoblib\n"},
            "flask",
            ("python", "main.py"),
            80,
            None,
        ),
        (
            # app.run(debug=True) binds 127.0.0.1: served by module instead, on 0.0.0.0.
            {"app.py": FLASK_DEBUG, "requirements.txt": "flask\n"},
            "flask",
            ("flask", "--app", "app", "run", "--host", "0.0.0.0", "--port", "5000"),
            5000,
            None,
        ),
        (
            # argparse defaults of None would win over GRADIO_SERVER_NAME: pass the flags.
            # The root app.py outranks the FastAPI backend in a subfolder.
            {
                "app.py": GRADIO_FLAGS,
                "backend/main.py": "from fastapi import FastAPI\napp = FastAPI()\n",
            },
            "gradio",
            ("python", "app.py", "--server_name", "0.0.0.0", "--server_port", "7860"),
            7860,
            ("GRADIO_SERVER_NAME", "0.0.0.0"),
        ),
        (
            # A Django project in a subfolder: gunicorn from the folder of its manage.py.
            {
                "backend/server/manage.py": "",
                "backend/server/server/wsgi.py": "",
                "backend/server/server/settings.py": "",
                "requirements.txt": "django\n",
                "research/train.ipynb": '{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}',
            },
            "django",
            ("gunicorn", "--chdir", "backend/server", "server.wsgi", "--bind", "0.0.0.0:8000"),
            8000,
            None,
        ),
    ],
)
def test_reachable_servers(
    tmp_path: Path,
    files: dict[str, str],
    kind: str,
    command: tuple[str, ...],
    port: int,
    env: tuple[str, str] | None,
) -> None:
    profile = profile_of(tmp_path, files)
    entry = profile.entrypoint
    assert entry is not None
    assert (entry.kind, entry.command) == (kind, command)
    assert profile.ports == (port,)
    if env is not None:
        assert env in entry.env


def test_django_needs_gunicorn_installed(tmp_path: Path) -> None:
    files = {"manage.py": "", "site/wsgi.py": "", "requirements.txt": "django\n"}
    entry = profile_of(tmp_path, files).entrypoint
    assert entry is not None and entry.requires == ("gunicorn",)


def test_port_from_an_argparse_default(tmp_path: Path) -> None:
    profile = profile_of(tmp_path, {"_wsgi.py": ARGPARSE_PORT, "requirements.txt": "flask\n"})
    assert profile.entrypoint is not None
    assert profile.entrypoint.command == ("python", "_wsgi.py")
    assert profile.ports == (9090,)


def test_apps_built_in_tests_are_not_servers(tmp_path: Path) -> None:
    files = {
        "pkg/main.py": FACTORY + "\napp = get_app()\n",
        "pkg/__init__.py": "",
        "tests/test_api.py": "from pkg.main import get_app\napp = get_app()\n",
    }
    profile = profile_of(tmp_path, files)
    commands = [profile.entrypoint.command if profile.entrypoint else ()]
    commands += [e.command for e in profile.entrypoint_alternatives]
    assert not any("tests.test_api:app" in c for c in commands)


def test_loopback_default_of_an_option_is_a_warning(tmp_path: Path) -> None:
    code = (
        "import argparse\nfrom flask import Flask\napp = Flask(__name__)\n"
        "parser = argparse.ArgumentParser()\n"
        "parser.add_argument('--host', default='127.0.0.1')\n"
        "args = parser.parse_args()\napp.run(host=args.host)\n"
    )
    profile = profile_of(tmp_path, {"web.py": code, "requirements.txt": "flask\n"})
    assert any("'127.0.0.1' (the --host default)" in w for w in profile.warnings)
