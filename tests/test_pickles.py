"""Model files pickled by an old scikit-learn pin it (krishnaik06/Deployment-flask's
``model.pkl``, made by scikit-learn 0.20.2: today's release cannot load it).

The pickles here are made the way scikit-learn makes them (an object whose state ends with
``_sklearn_version``), under every protocol, raw and compressed as joblib compresses, with
binary blocks before the key as joblib writes numpy arrays; they are never loaded.
"""

from __future__ import annotations

import bz2
import gzip
import lzma
import pickle
import zlib
from pathlib import Path

from conftest import write_tree
from hypothesis import given, settings
from hypothesis import strategies as st

from dockerize_ml import inspect_project, knowledge
from dockerize_ml.detect.pickles import pickled_release


class LinearRegression:
    """Pickles like scikit-learn's: the estimator's attributes, then its release."""

    def __init__(self, version: str, blob: bytes = b"") -> None:
        self.fit_intercept = True
        self.coef_ = blob
        self._sklearn_version = version


def _model(version: str, protocol: int = pickle.HIGHEST_PROTOCOL, blob: bytes = b"") -> bytes:
    return pickle.dumps(LinearRegression(version, blob), protocol=protocol)


COMPRESSORS = {
    "none": lambda b: b,
    "gzip": gzip.compress,
    "bz2": bz2.compress,
    "xz": lzma.compress,
    "zlib": zlib.compress,
}

versions = st.builds(
    lambda parts, suffix: ".".join(map(str, parts)) + suffix,
    st.lists(st.integers(0, 40), min_size=2, max_size=3),
    st.sampled_from(["", "rc1", ".post1", ".dev0"]),
)


@settings(max_examples=150, deadline=None)
@given(
    version=versions,
    protocol=st.integers(0, pickle.HIGHEST_PROTOCOL),
    compress=st.sampled_from(sorted(COMPRESSORS)),
    blob=st.binary(max_size=3000),
)
def test_the_release_is_read_from_any_protocol_and_compression(
    version: str, protocol: int, compress: str, blob: bytes
) -> None:
    data = COMPRESSORS[compress](_model(version, protocol, blob))
    assert pickled_release(data, "_sklearn_version") == version


@settings(max_examples=150, deadline=None)
@given(data=st.binary(max_size=4000))
def test_any_bytes_are_read_without_error(data: bytes) -> None:
    """A truncated, corrupt or foreign file gives no release, or a well-formed one."""
    found = pickled_release(data, "_sklearn_version")
    assert found == "" or found[0].isdigit()


def test_a_pickle_without_the_key_or_with_a_non_version_gives_nothing() -> None:
    assert pickled_release(pickle.dumps({"a": 1}), "_sklearn_version") == ""
    assert pickled_release(_model("not-a-version"), "_sklearn_version") == ""
    # truncated right after the key: no value to read
    data = _model("1.5.2")
    cut = data[: data.find(b"_sklearn_version") + len("_sklearn_version")]
    assert pickled_release(cut, "_sklearn_version") == ""


def test_the_pickled_rows_are_well_formed_and_used() -> None:
    rows = knowledge.load("apis")["pickled"]
    imports = knowledge.load("imports")["imports"]
    assert rows
    for dist, key in rows.items():
        assert dist in {v for v in imports.values() if isinstance(v, str)}, dist
        assert key.isidentifier(), key


def test_an_inferred_dependency_is_pinned_to_the_release_of_its_model(
    tmp_path: Path, monkeypatch: object
) -> None:
    """No dependency file, `pickle.load(open('model.pkl'))` at start: scikit-learn==0.20.2,
    so Python 3.7 (the newest its wheels cover)."""
    root = write_tree(
        tmp_path / "p",
        {
            "app.py": "import pickle\nfrom flask import Flask\napp = Flask(__name__)\n"
            "model = pickle.load(open('model.pkl', 'rb'))\n",
            "model.py": "from sklearn.linear_model import LinearRegression\n",
        },
    )
    (root / "model.pkl").write_bytes(_model("0.20.2", protocol=3))
    profile = inspect_project(root)
    sklearn = next(d for d in profile.dependencies if d.name == "scikit-learn")
    assert sklearn.specifier == "==0.20.2"
    assert "model.pkl was pickled by scikit-learn 0.20.2" in sklearn.detail
    assert profile.python_version == "3.7"


def test_a_declared_dependency_that_lets_in_another_release_is_warned_about(
    tmp_path: Path,
) -> None:
    root = write_tree(
        tmp_path / "p",
        {
            "requirements.txt": "scikit-learn>=1.3\nflask\n",
            "app.py": "import joblib\nmodel = joblib.load('models/clf.joblib')\n",
        },
    )
    (root / "models").mkdir()
    (root / "models/clf.joblib").write_bytes(zlib.compress(_model("1.2.2")))
    profile = inspect_project(root)
    sklearn = next(d for d in profile.dependencies if d.name == "scikit-learn")
    assert sklearn.specifier == ">=1.3"  # the user's file is installed as written
    assert any(
        "models/clf.joblib was pickled by scikit-learn 1.2.2" in w
        and "pin `scikit-learn==1.2.2`" in w
        for w in profile.warnings
    ), profile.warnings
    assert profile.python_version != "3.7"
    # pinned to that release: no warning
    write_tree(root, {"requirements.txt": "scikit-learn==1.2.2\nflask\n"})
    assert not any("was pickled by" in w for w in inspect_project(root).warnings)
