#!/usr/bin/env python3
"""Build the modelship example models (ONNX) from data sets bundled with scikit-learn.

Usage:  python models/train.py [--skip-latency]

Writes, under models/:
  <dataset>/holdout.csv                 fixed stratified 30 % holdout (features + `label`)
  <dataset>/<version>/model.onnx        v1, v2, bad-accuracy, bad-interface, bad-slow, bad-disagree
  SHA256SUMS                            sha256sum format, paths relative to models/
  catalog.json                          machine-readable description + measured metrics

Everything is deterministic (fixed random_state everywhere, no downloads). The only
non-deterministic output is the measured latency in catalog.json; `--skip-latency` reuses
the latencies already recorded there, so that a re-run is byte-identical. The table in
README.md is maintained by hand from catalog.json.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import statistics
import sys
import time

import numpy as np
import onnx
import onnxruntime as ort
import sklearn
import skl2onnx
from skl2onnx import to_onnx
from skl2onnx.common.data_types import FloatTensorType
from sklearn.datasets import load_breast_cancer, load_iris
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import PolynomialFeatures, StandardScaler
from sklearn.svm import SVC

MODELS_DIR = os.path.dirname(os.path.abspath(__file__))
REPO_PREFIX = "models"  # paths in catalog.json are relative to the repo root
TARGET_OPSET = {"": 17, "ai.onnx.ml": 3}
HOLDOUT_FRACTION = 0.3
SPLIT_SEED = 42
CATALOG_SCHEMA_VERSION = 1

# Offline validation gates the "bad-*" models are designed around.
ACCURACY_GATE = {"iris": 0.80, "breast-cancer": 0.85}
# bad-disagree must disagree with v1 on this share of rows (holdout and full data set).
DISAGREE_BAND = (0.10, 0.20)
DISAGREE_TARGET = 0.13
# bad-slow single-row p50 must be at least this many times v1's.
SLOW_TARGET_RATIO = 20.0


def snake(name: str) -> str:
    s = re.sub(r"[^0-9a-zA-Z]+", "_", name.strip().lower())
    return s.strip("_")


def fmt_f32(v: np.float32) -> str:
    """Shortest decimal that round-trips the float32 value exactly."""
    return np.format_float_positional(np.float32(v), unique=True, trim="-")


# ---------------------------------------------------------------------------- data


def load(dataset: str):
    if dataset == "iris":
        bunch = load_iris()
    elif dataset == "breast-cancer":
        bunch = load_breast_cancer()
    else:
        raise ValueError(dataset)
    features = [snake(n) for n in bunch.feature_names]
    classes = [str(c) for c in bunch.target_names]
    # Everything downstream (training included) sees the float32 values that ship in
    # holdout.csv and that a client sends to the model.
    X = bunch.data.astype(np.float32)
    y = bunch.target.astype(np.int64)
    X_tr, X_ho, y_tr, y_ho = train_test_split(
        X, y, test_size=HOLDOUT_FRACTION, stratify=y, random_state=SPLIT_SEED
    )
    return features, classes, X, y, X_tr, X_ho, y_tr, y_ho


def write_holdout(path: str, features, X_ho, y_ho) -> None:
    lines = [",".join(features + ["label"])]
    for row, label in zip(X_ho, y_ho):
        lines.append(",".join([fmt_f32(v) for v in row] + [str(int(label))]))
    with open(path, "w", newline="\n", encoding="ascii") as f:
        f.write("\n".join(lines) + "\n")


def read_holdout(path: str):
    with open(path, encoding="ascii") as f:
        rows = [line.rstrip("\n").split(",") for line in f if line.strip()]
    header, body = rows[0], rows[1:]
    X = np.array([[np.float32(v) for v in r[:-1]] for r in body], dtype=np.float32)
    y = np.array([int(r[-1]) for r in body], dtype=np.int64)
    return header, X, y


# ---------------------------------------------------------------------------- models


def export(model, n_features: int, path: str, meta: dict, doc: str) -> None:
    onx = to_onnx(
        model,
        initial_types=[("input", FloatTensorType([None, n_features]))],
        target_opset=TARGET_OPSET,
        options={id(model): {"zipmap": False}},
    )
    # skl2onnx collects the opset domains in a set, so their order follows Python's string
    # hash randomisation, and pipelines can list a domain twice. Keep one entry per domain
    # (highest version), sorted, so the serialised file is valid and byte-stable.
    opsets = {}
    for o in onx.opset_import:
        opsets[o.domain] = max(o.version, opsets.get(o.domain, 0))
    del onx.opset_import[:]
    for domain in sorted(opsets):
        onx.opset_import.add(domain=domain, version=opsets[domain])
    onx.doc_string = doc
    onx.model_version = 1
    onnx.helper.set_model_props(onx, meta)
    onnx.checker.check_model(onx)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(onx.SerializeToString(deterministic=True))


def session(path: str) -> ort.InferenceSession:
    return ort.InferenceSession(path, providers=["CPUExecutionProvider"])


def predict(path: str, X: np.ndarray) -> np.ndarray:
    sess = session(path)
    label, _proba = sess.run(["label", "probabilities"], {"input": X})
    return label


def latency_p50_us(path: str, X: np.ndarray, min_runs: int = 200, budget_s: float = 3.0) -> float:
    """p50 of single-row session.run() in microseconds (default session options)."""
    sess = session(path)
    rows = [X[i : i + 1] for i in range(len(X))]
    for r in rows[:20]:  # warm-up
        sess.run(None, {"input": r})
    samples = []
    start = time.perf_counter()
    i = 0
    while len(samples) < min_runs or (time.perf_counter() - start < budget_s and len(samples) < 5000):
        r = rows[i % len(rows)]
        t0 = time.perf_counter_ns()
        sess.run(None, {"input": r})
        samples.append((time.perf_counter_ns() - t0) / 1000.0)
        i += 1
    return statistics.median(samples)


def build_v1(X_tr, y_tr):
    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000, random_state=0)).fit(X_tr, y_tr)


def build_v2(X_tr, y_tr):
    # Different model family from v1 (kernel SVM); Platt scaling uses an internal CV that
    # is seeded by random_state, so the fit is deterministic.
    return make_pipeline(StandardScaler(), SVC(kernel="rbf", probability=True, random_state=0)).fit(X_tr, y_tr)


def build_bad_accuracy(X_tr, y_tr):
    # Same pipeline as v1, but fitted on labels shuffled with a fixed seed: the model has
    # learned nothing real, while its interface is identical to v1's.
    y_shuffled = np.random.default_rng(7).permutation(y_tr)
    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000, random_state=0)).fit(
        X_tr, y_shuffled
    )


def build_bad_interface(X_tr, y_tr):
    # Same pipeline as v1, trained without the last feature: input is [-1, n_features - 1].
    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000, random_state=0)).fit(
        X_tr[:, :-1], y_tr
    )


def build_bad_slow(X_tr, y_tr, degree: int):
    # Accurate, but bloated: a full polynomial feature expansion in front of v1's model.
    # skl2onnx compiles PolynomialFeatures into two ONNX nodes per generated feature
    # (ArrayFeatureExtractor + ReduceProd), so one request walks thousands of tiny nodes.
    # (A huge random forest was tried first: ~6 MB per 10k trees and only ~8x slower in
    # onnxruntime-node, so it could not reach a robust slowdown within the size budget.)
    return make_pipeline(
        StandardScaler(),
        PolynomialFeatures(degree=degree),
        StandardScaler(),
        LogisticRegression(max_iter=5000, random_state=0),
    ).fit(X_tr, y_tr)


SLOW_DEGREE = {"iris": 10, "breast-cancer": 2}

# bad-disagree: v1's pipeline with a class_weight that favours one class (iris: virginica,
# so borderline versicolor flowers become virginica), for breast-cancer also heavily
# over-regularised (C=0.003) and favouring benign, i.e. it misses malignant cases. Both
# keep holdout accuracy above the gate. Deterministic; the weight is picked by a
# deterministic scan over the grid below.
DISAGREE_FAVOURED_CLASS = {"iris": 2, "breast-cancer": 1}  # virginica / benign
DISAGREE_C = {"iris": 1.0, "breast-cancer": 0.003}
DISAGREE_WEIGHTS = [1.5, 2, 3, 4, 5, 6, 8, 10, 12, 15, 20, 25, 30, 40, 50, 60, 80, 100, 150, 200, 300, 500]


def build_bad_disagree(X_tr, y_tr, n_classes, favoured, weight, C):
    cw = {c: 1.0 for c in range(n_classes)}
    cw[favoured] = float(weight)
    return make_pipeline(
        StandardScaler(), LogisticRegression(C=C, max_iter=1000, random_state=0, class_weight=cw)
    ).fit(X_tr, y_tr)


# ---------------------------------------------------------------------------- main


def sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def rel(path: str) -> str:
    return os.path.relpath(path, MODELS_DIR).replace(os.sep, "/")


def io_spec(path: str) -> dict:
    sess = session(path)

    def shape(s):
        return [d if isinstance(d, int) else -1 for d in s]

    def dtype(t):
        return {"tensor(float)": "float32", "tensor(int64)": "int64"}.get(t, t)

    inp = sess.get_inputs()
    assert len(inp) == 1
    return {
        "input": {"name": inp[0].name, "dtype": dtype(inp[0].type), "shape": shape(inp[0].shape)},
        "outputs": [{"name": o.name, "dtype": dtype(o.type), "shape": shape(o.shape)} for o in sess.get_outputs()],
    }


def to_json(value, indent: int = 0, prefix_len: int = 0, line_width: int = 110) -> str:
    """JSON laid out the way the repo's formatter (biome, lineWidth 110) lays it out:
    objects one key per line, arrays of scalars on one line when they fit."""
    pad = " " * indent
    if isinstance(value, dict):
        if not value:
            return "{}"
        items = []
        for k, v in value.items():
            key = json.dumps(k) + ": "
            items.append(pad + "  " + key + to_json(v, indent + 2, indent + 2 + len(key) + 1, line_width))
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    if isinstance(value, list):
        if not value:
            return "[]"
        if all(not isinstance(v, (dict, list)) for v in value):
            flat = "[" + ", ".join(json.dumps(v) for v in value) + "]"
            if prefix_len + len(flat) <= line_width:
                return flat
        items = [pad + "  " + to_json(v, indent + 2, indent + 2 + 1, line_width) for v in value]
        return "[\n" + ",\n".join(items) + "\n" + pad + "]"
    return json.dumps(value, ensure_ascii=True)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--skip-latency", action="store_true", help="reuse latencies from existing catalog.json")
    args = ap.parse_args()

    catalog_path = os.path.join(MODELS_DIR, "catalog.json")
    old_latency = {}
    if args.skip_latency:
        with open(catalog_path, encoding="utf-8") as f:
            old = json.load(f)
        for ds in old["datasets"]:
            for v in ds["versions"]:
                old_latency[(ds["name"], v["version"])] = v["latency_p50_us_single_row"]

    catalog = {
        "schema_version": CATALOG_SCHEMA_VERSION,
        "generated_by": "models/train.py",
        "toolchain": {
            "python": ".".join(map(str, sys.version_info[:3])),
            "numpy": np.__version__,
            "scikit-learn": sklearn.__version__,
            "skl2onnx": skl2onnx.__version__,
            "onnx": onnx.__version__,
            "onnxruntime": ort.__version__,
        },
        "target_opset": TARGET_OPSET,
        "gates": {
            "accuracy_min": ACCURACY_GATE,
            "bad_disagree_band": list(DISAGREE_BAND),
            "bad_slow_min_ratio": SLOW_TARGET_RATIO,
        },
        "latency_method": "p50 of single-row InferenceSession.run() in Python onnxruntime, "
        "default session options, CPU, rows cycled from holdout.csv",
        "datasets": [],
    }
    sums = []

    for dataset in ["iris", "breast-cancer"]:
        print(f"== {dataset}", flush=True)
        features, classes, X, y, X_tr, X_ho, y_tr, _y_ho = load(dataset)
        n_features, n_classes = len(features), len(classes)
        ds_dir = os.path.join(MODELS_DIR, dataset)
        os.makedirs(ds_dir, exist_ok=True)
        holdout_path = os.path.join(ds_dir, "holdout.csv")
        write_holdout(holdout_path, features, X_ho, _y_ho)
        # Evaluate on exactly what the CSV holds.
        header, Xh, yh = read_holdout(holdout_path)
        assert header == features + ["label"]
        assert np.array_equal(Xh, X_ho) and np.array_equal(yh, _y_ho)
        sums.append((rel(holdout_path), sha256(holdout_path)))

        def meta(version, purpose):
            return {
                "modelship.version": version,
                "modelship.dataset": dataset,
                "modelship.purpose": purpose,
                "modelship.generated_by": "models/train.py",
            }

        def path_of(version):
            return os.path.join(ds_dir, version, "model.onnx")

        versions = []  # (version, path, purpose, notes, feature slice)

        def emit(version, model, purpose, notes, n_in=n_features, doc=None):
            p = path_of(version)
            export(model, n_in, p, meta(version, purpose), doc or f"modelship example model: {dataset} {version}. {notes}")
            versions.append((version, p, purpose, notes, n_in))
            return p

        v1_path = emit("v1", build_v1(X_tr, y_tr), "good baseline", "StandardScaler + LogisticRegression.")
        v1_full = predict(v1_path, X)
        v1_ho = predict(v1_path, Xh)

        emit(
            "v2",
            build_v2(X_tr, y_tr),
            "good candidate (different model family, agrees with v1)",
            "StandardScaler + SVC(kernel=rbf, probability=True).",
        )
        emit(
            "bad-accuracy",
            build_bad_accuracy(X_tr, y_tr),
            "fails the offline accuracy gate",
            "Same pipeline and interface as v1, fitted on shuffled labels.",
        )
        emit(
            "bad-interface",
            build_bad_interface(X_tr, y_tr),
            "fails the interface check (input shape differs from v1)",
            f"Same pipeline as v1 but trained without the last feature ({features[-1]}): "
            f"input shape [-1, {n_features - 1}] instead of [-1, {n_features}].",
            n_in=n_features - 1,
        )
        slow = build_bad_slow(X_tr, y_tr, SLOW_DEGREE[dataset])
        n_poly = int(slow.named_steps["polynomialfeatures"].n_output_features_)
        emit(
            "bad-slow",
            slow,
            "accurate but fails the latency gate (much slower than v1)",
            f"StandardScaler + PolynomialFeatures(degree={SLOW_DEGREE[dataset]}, {n_poly} features) + "
            f"StandardScaler + LogisticRegression: about {2 * n_poly} tiny ONNX nodes per request.",
        )

        # bad-disagree: of the weights in the grid whose disagreement with v1 lands in the
        # band on both the holdout and the full data set (holdout accuracy kept above the
        # gate), take the one closest to DISAGREE_TARGET. The scan is deterministic.
        favoured = DISAGREE_FAVOURED_CLASS[dataset]
        chosen = None
        lo, hi = DISAGREE_BAND[0] + 0.01, DISAGREE_BAND[1] - 0.01
        for w in DISAGREE_WEIGHTS:
            m = build_bad_disagree(X_tr, y_tr, n_classes, favoured, w, DISAGREE_C[dataset])
            ph, pf = m.predict(Xh), m.predict(X)
            d_ho = float(np.mean(ph != v1_ho))
            d_full = float(np.mean(pf != v1_full))
            acc = float(np.mean(ph == yh))
            ok = lo <= d_ho <= hi and lo <= d_full <= hi and acc >= ACCURACY_GATE[dataset] + 0.02
            score = max(abs(d_ho - DISAGREE_TARGET), abs(d_full - DISAGREE_TARGET))
            print(f"   bad-disagree scan w={w}: acc={acc:.3f} disagree holdout={d_ho:.3f} full={d_full:.3f} {'ok' if ok else ''}")
            if ok and (chosen is None or score < chosen[0] - 1e-12):
                chosen = (score, w, m)
        if chosen is None:
            raise SystemExit(f"no class weight puts bad-disagree in the band for {dataset}")
        _score, w, m = chosen
        emit(
            "bad-disagree",
            m,
            "passes offline validation but disagrees with v1 on live traffic (shadow/canary must catch it)",
            f"v1's pipeline with LogisticRegression(C={DISAGREE_C[dataset]}, class_weight="
            f"{{{favoured} ({classes[favoured]}): {w}}}): over-predicts {classes[favoured]}.",
        )

        # ------------------------------------------------------------ measure + verify
        lat = {}
        for version, p, *_ in versions:
            if args.skip_latency:
                lat[version] = old_latency[(dataset, version)]
            else:
                Xin = Xh if version != "bad-interface" else Xh[:, :-1]
                lat[version] = round(latency_p50_us(p, Xin), 1)
                print(f"   latency {version}: {lat[version]} us", flush=True)

        entries = []
        for version, p, purpose, notes, n_in in versions:
            spec = io_spec(p)
            assert spec["input"] == {"name": "input", "dtype": "float32", "shape": [-1, n_in]}, spec
            assert [o["name"] for o in spec["outputs"]] == ["label", "probabilities"], spec
            assert spec["outputs"][0]["dtype"] == "int64" and spec["outputs"][1]["dtype"] == "float32", spec
            sess = session(p)
            Xin_ho = Xh[:, :n_in]
            Xin_full = X[:, :n_in]
            label, proba = sess.run(None, {"input": Xin_ho})
            assert label.dtype == np.int64 and label.shape == (len(Xh),)
            assert proba.dtype == np.float32 and proba.shape == (len(Xh), n_classes)
            pred_full = sess.run(["label"], {"input": Xin_full})[0]
            size = os.path.getsize(p)
            digest = sha256(p)
            sums.append((rel(p), digest))
            entry = {
                "version": version,
                "path": f"{REPO_PREFIX}/{rel(p)}",
                "sha256": digest,
                "size_bytes": size,
                "purpose": purpose,
                "notes": notes,
                "input": spec["input"],
                "outputs": spec["outputs"],
                "holdout_accuracy": round(float(np.mean(label == yh)), 4),
                "agreement_with_v1_holdout": round(float(np.mean(label == v1_ho)), 4),
                "agreement_with_v1_full": round(float(np.mean(pred_full == v1_full)), 4),
                "latency_p50_us_single_row": lat[version],
                "latency_ratio_vs_v1": round(lat[version] / lat["v1"], 1),
            }
            if version == "bad-interface":
                entry["interface_diff"] = (
                    f"input shape [-1, {n_in}] instead of [-1, {n_features}] "
                    f"(last feature '{features[-1]}' dropped); input name, dtypes and outputs are unchanged"
                )
            entries.append(entry)
            print(
                f"   {version:14s} acc={entry['holdout_accuracy']:.4f} "
                f"agree_ho={entry['agreement_with_v1_holdout']:.4f} agree_full={entry['agreement_with_v1_full']:.4f} "
                f"p50={lat[version]}us x{entry['latency_ratio_vs_v1']} size={size}",
                flush=True,
            )

        # Sanity checks: each model must do the job it exists for.
        by = {e["version"]: e for e in entries}
        gate = ACCURACY_GATE[dataset]
        assert by["v1"]["holdout_accuracy"] >= 0.9, by["v1"]
        assert by["v2"]["holdout_accuracy"] >= by["v1"]["holdout_accuracy"] - 0.03, by["v2"]
        assert by["v2"]["agreement_with_v1_holdout"] >= 0.95, by["v2"]
        assert by["bad-accuracy"]["holdout_accuracy"] < min(gate, 0.8) - 0.05, by["bad-accuracy"]
        assert by["bad-slow"]["holdout_accuracy"] >= 0.85, by["bad-slow"]
        bd = by["bad-disagree"]
        assert bd["holdout_accuracy"] >= gate, bd
        for k in ("agreement_with_v1_holdout", "agreement_with_v1_full"):
            assert DISAGREE_BAND[0] - 1e-9 <= 1 - bd[k] <= DISAGREE_BAND[1] + 1e-9, bd
        if by["bad-slow"]["latency_ratio_vs_v1"] < SLOW_TARGET_RATIO:
            print(f"WARNING: {dataset} bad-slow is only {by['bad-slow']['latency_ratio_vs_v1']}x v1", flush=True)

        catalog["datasets"].append(
            {
                "name": dataset,
                "source": f"sklearn.datasets.load_{dataset.replace('-', '_')}",
                "features": features,
                "classes": classes,
                "label_column": "label",
                "holdout": {
                    "path": f"{REPO_PREFIX}/{rel(holdout_path)}",
                    "sha256": sha256(holdout_path),
                    "rows": int(len(yh)),
                    "split": f"stratified train_test_split(test_size={HOLDOUT_FRACTION}, random_state={SPLIT_SEED})",
                },
                "full_rows": int(len(y)),
                "accuracy_gate": ACCURACY_GATE[dataset],
                "versions": entries,
            }
        )

    sums.sort()
    with open(os.path.join(MODELS_DIR, "SHA256SUMS"), "w", newline="\n", encoding="ascii") as f:
        f.write("".join(f"{h}  {p}\n" for p, h in sums))
    with open(catalog_path, "w", newline="\n", encoding="utf-8") as f:
        f.write(to_json(catalog) + "\n")
    print("wrote SHA256SUMS and catalog.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
