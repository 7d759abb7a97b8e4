"""Train a tiny model and print an HTML report."""

import markupsafe
import numpy as np
from sklearn.linear_model import LogisticRegression

from report.render import render

if __name__ == "__main__":
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 3))
    y = (x[:, 0] > 0).astype(int)
    score = LogisticRegression().fit(x, y).score(x, y)
    print(render("<Churn> model", round(score, 3)))
    print("speedups:", markupsafe._speedups.__file__)
