"""Make a ReCalKV step graph safe for onnxruntime-web's WebGPU provider (docs/webgpu.md).

onnxruntime-web 1.30 (JSEP WebGPU) refuses a kernel that has a zero-sized input but a non-empty output
("Program MatMul has zero-sized tensor(s) in inputs or outputs"). The low-rank step graph contracts each
head's attention slice over its cached entries: a[..., :P_e] @ past_v ([B, n, P_e] @ [B, P_e, d]) and
a[..., P_e:P_e+P_h] @ past_vz — with P_e = 0 (no exact entries) or P_h = 0 (no latent entries) the
contraction is empty and the result should be zeros. This pass appends one zero column to the attention
slice and one zero row to the cached values before every such MatMul, so the contraction length is P + 1
>= 1 and the extra term is 0 * 0: the product is unchanged (bit for bit on a sequential accumulation).
Weights are untouched. Idempotent: an already padded MatMul is skipped.

    /usr/bin/python3 train/webgpu_safe.py data/model/recalkv/step_r75.onnx ...   # rewrites in place
"""
import sys

import onnx
from onnx import TensorProto, helper, numpy_helper
import numpy as np

PREFIXES = ("past_v_", "past_vz_")
TAG = "webgpu_safe"


def pad_empty_contractions(model: onnx.ModelProto) -> int:
    g = model.graph
    inputs = {i.name for i in g.input if i.name.startswith(PREFIXES)}
    if not inputs:
        return 0
    one = numpy_helper.from_array(np.array([1], dtype=np.int64), f"{TAG}/one")
    zero = helper.make_tensor(f"{TAG}/zero_f32", TensorProto.FLOAT, [1], [0.0])
    have = {t.name for t in g.initializer}
    if one.name not in have:
        g.initializer.append(one)
    nodes, count = [], 0
    for n in g.node:
        if n.op_type != "MatMul" or n.input[1] not in inputs or n.name.startswith(TAG):
            nodes.append(n)
            continue
        a, b = n.input
        p = f"{TAG}/{n.name.strip('/')}"
        # zero row [B, 1, w] for the values: shape(b) = [B, P, w] -> [B, 1, w] (Shape start/end: opset >= 15)
        nodes += [
            helper.make_node("Shape", [b], [f"{p}/b_batch"], name=f"{p}/b_batch", start=0, end=1),
            helper.make_node("Shape", [b], [f"{p}/b_width"], name=f"{p}/b_width", start=2, end=3),
            helper.make_node("Concat", [f"{p}/b_batch", one.name, f"{p}/b_width"], [f"{p}/row_shape"], name=f"{p}/row_shape", axis=0),
            helper.make_node("ConstantOfShape", [f"{p}/row_shape"], [f"{p}/zero_row"], name=f"{p}/zero_row", value=zero),
            helper.make_node("Concat", [b, f"{p}/zero_row"], [f"{p}/b_padded"], name=f"{p}/b_padded", axis=1),
            # zero column [B, n, 1] for the attention slice: shape(a) = [B, n, P] -> [B, n, 1]
            helper.make_node("Shape", [a], [f"{p}/a_lead"], name=f"{p}/a_lead", start=0, end=2),
            helper.make_node("Concat", [f"{p}/a_lead", one.name], [f"{p}/col_shape"], name=f"{p}/col_shape", axis=0),
            helper.make_node("ConstantOfShape", [f"{p}/col_shape"], [f"{p}/zero_col"], name=f"{p}/zero_col", value=zero),
            helper.make_node("Concat", [a, f"{p}/zero_col"], [f"{p}/a_padded"], name=f"{p}/a_padded", axis=2),
            helper.make_node("MatMul", [f"{p}/a_padded", f"{p}/b_padded"], list(n.output), name=f"{TAG}{n.name}"),
        ]
        count += 1
    del g.node[:]
    g.node.extend(nodes)
    return count


def main(paths):
    for path in paths:
        m = onnx.load(path)
        c = pad_empty_contractions(m)
        onnx.checker.check_model(m)
        onnx.save(m, path)
        print(f"{path}: padded {c} MatMuls over cached entries")


if __name__ == "__main__":
    main(sys.argv[1:])
