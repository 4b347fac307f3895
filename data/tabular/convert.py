#!/usr/bin/env python3
"""Writes breast_cancer.csv and diabetes.csv (plain CSV, a header row, the label last) from the
copies Debian's python3-sklearn ships in /usr/lib/python3/dist-packages/sklearn/datasets/data/.
Run from this folder: python3 convert.py"""
import csv, gzip, os

SRC = "/usr/lib/python3/dist-packages/sklearn/datasets/data"

# breast_cancer.csv: a first line "569,30,malignant,benign" (rows, features, the names of labels 0 and 1),
# then 30 features and the label (0 malignant, 1 benign) per row. Feature names as scikit-learn gives them.
parts = ["radius", "texture", "perimeter", "area", "smoothness", "compactness", "concavity",
         "concave points", "symmetry", "fractal dimension"]
names = [f"mean {p}" for p in parts] + [f"{p} error" for p in parts] + [f"worst {p}" for p in parts]
with open(os.path.join(SRC, "breast_cancer.csv")) as f, open("breast_cancer.csv", "w", newline="") as out:
    rows = list(csv.reader(f))
    n, k, *labels = rows[0]
    assert int(k) == len(names) and len(rows) - 1 == int(n)
    w = csv.writer(out, lineterminator="\n")
    w.writerow(names + ["diagnosis"])
    for r in rows[1:]:
        w.writerow(r[:-1] + [labels[int(r[-1])]])

# diabetes: diabetes_data_raw.csv.gz (10 space-separated unscaled columns: age, sex, bmi, bp, s1..s6) and
# diabetes_target.csv.gz (the disease progression one year later, one number per line).
with gzip.open(os.path.join(SRC, "diabetes_data_raw.csv.gz"), "rt") as f:
    x = [line.split() for line in f if line.strip()]
with gzip.open(os.path.join(SRC, "diabetes_target.csv.gz"), "rt") as f:
    y = [line.strip() for line in f if line.strip()]
assert len(x) == len(y) == 442
with open("diabetes.csv", "w", newline="") as out:
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6", "progression"])
    for r, t in zip(x, y):
        w.writerow(r + ["%g" % float(t)])
