"""Reference for the quality classifier: scikit-learn's LogisticRegression on the same hashed features.

Usage: sklearn_classifier_check.py TRAIN.svm HELD_OUT.svm NUM_FEATURES REG
Fits L2-regularised logistic regression with the objective Spark ML minimises without standardisation
(mean log-loss + REG/2 |w|^2, intercept not penalised), i.e. C = 1 / (n_train * REG), and prints the held-out
AUC and accuracy (threshold 0.5) as one JSON object.
"""
import json
import sys

from sklearn.datasets import load_svmlight_file
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

train_file, held_file, n_features, reg = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
x_train, y_train = load_svmlight_file(train_file, n_features=n_features, zero_based=True)
x_held, y_held = load_svmlight_file(held_file, n_features=n_features, zero_based=True)
model = LogisticRegression(C=1.0 / (x_train.shape[0] * reg), solver="lbfgs", max_iter=2000, tol=1e-10)
model.fit(x_train, y_train)
p = model.predict_proba(x_held)[:, 1]
print(json.dumps({"auc": roc_auc_score(y_held, p), "accuracy": float(((p >= 0.5) == (y_held == 1)).mean()),
                  "train": int(x_train.shape[0]), "held_out": int(x_held.shape[0])}))
