"""check: binned (100-bin) AUC vs exact AUC on the same 5M joined rows"""
import numpy as np, pyarrow.dataset as ds, pyarrow.parquet as pq
from sklearn.metrics import roc_auc_score
root = "/tmp/pl-measure/data-zstd"
p = ds.dataset(f"{root}/predictions").to_table(columns=["request_id", "score"])
j = p.join(pq.read_table(f"{root}/labels.parquet", columns=["request_id", "label"]), "request_id", join_type="inner")
print("exact_auc", round(roc_auc_score(j["label"].to_numpy(), j["score"].to_numpy()), 5))
