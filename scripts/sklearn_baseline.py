#!/usr/bin/env python3
"""scikit-learn baselines on exactly the features `readmit train` uses.

Run from the repository root:

    pip install scikit-learn numpy pandas
    cargo run --release -- train --export-features /tmp/features.csv
    python3 scripts/sklearn_baseline.py /tmp/features.csv [models/readmit-lr-v1/sklearn_baseline.json]

Fits HistGradientBoostingClassifier and LogisticRegression on the training split
(patient_nbr % 5 != 0) and reports, on the test split (patient_nbr % 5 == 0): AUROC, Brier,
calibration slope and intercept. HGB's early-stopping / iteration count is chosen by the
same grouped CV folds as readmit (column `fold`). Writes JSON (read by `readmit train` into the
model card) when an output path is given.
"""
import json
import sys

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss, roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

META = ["encounter_id", "patient_nbr", "split", "fold", "label", "race", "sex", "age_band"]


def calibration(p, y):
    p = np.clip(p, 1e-12, 1 - 1e-12)
    z = np.log(p / (1 - p)).reshape(-1, 1)
    m = LogisticRegression(C=1e12, max_iter=1000).fit(z, y)
    return float(m.coef_[0][0]), float(m.intercept_[0])


def report(p, y):
    slope, intercept = calibration(p, y)
    return {
        "auroc": float(roc_auc_score(y, p)),
        "brier": float(brier_score_loss(y, p)),
        "calibration_slope": slope,
        "calibration_intercept": intercept,
    }


def grouped_cv_auroc(make, X, y, folds):
    oof = np.zeros(len(y))
    for k in sorted(set(folds)):
        tr, te = folds != k, folds == k
        oof[te] = make().fit(X[tr], y[tr]).predict_proba(X[te])[:, 1]
    return float(roc_auc_score(y, oof))


def main():
    if len(sys.argv) < 2:
        print(__doc__)
        sys.exit(2)
    df = pd.read_csv(sys.argv[1])
    feats = [c for c in df.columns if c not in META]
    tr = df[df.split == "train"]
    te = df[df.split == "test"]
    Xtr, ytr, ftr = tr[feats].to_numpy(), tr.label.to_numpy(), tr.fold.to_numpy()
    Xte, yte = te[feats].to_numpy(), te.label.to_numpy()
    out = {"n_train": int(len(tr)), "n_test": int(len(te)), "n_features": len(feats), "models": {}, "cv": {}}

    hgb_grid = [(lr, it) for lr in (0.05,) for it in (100, 200, 400)]
    best = None
    for lr, it in hgb_grid:
        make = lambda lr=lr, it=it: HistGradientBoostingClassifier(
            learning_rate=lr, max_iter=it, max_leaf_nodes=15, min_samples_leaf=100,
            l2_regularization=1.0, early_stopping=False, random_state=0)
        a = grouped_cv_auroc(make, Xtr, ytr, ftr)
        out["cv"][f"HGB(lr={lr},iter={it})"] = a
        print(f"cv HGB lr={lr} iter={it}: {a:.4f}", file=sys.stderr)
        if best is None or a > best[0]:
            best = (a, make)
    hgb = best[1]().fit(Xtr, ytr)
    out["models"]["HistGradientBoosting"] = report(hgb.predict_proba(Xte)[:, 1], yte)
    default_hgb = HistGradientBoostingClassifier(random_state=0).fit(Xtr, ytr)
    out["models"]["HistGradientBoosting (defaults)"] = report(default_hgb.predict_proba(Xte)[:, 1], yte)

    lr = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=2000)).fit(Xtr, ytr)
    out["models"]["LogisticRegression"] = report(lr.predict_proba(Xte)[:, 1], yte)

    print(json.dumps(out, indent=2))
    if len(sys.argv) > 2:
        with open(sys.argv[2], "w") as f:
            json.dump(out, f, indent=2)
            f.write("\n")


if __name__ == "__main__":
    main()
