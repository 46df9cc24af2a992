"""Static int8 quantization on a calibration set that is not a whole number of batches."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")
ort = pytest.importorskip("onnxruntime")


def test_quantize_int8_with_a_ragged_last_calibration_batch(tmp_path):
    # FaceHack's smile_polarity train split has 1254 crops: 1254 % 64 != 0 used to make ORT's
    # percentile calibrator fail ("inhomogeneous shape") on the short last batch
    from grinlab.preprocess import Preprocessing
    from grinlab.train.export import OPSET
    from grinlab.train.quantize import CALIBRATION_BATCH, quantize_int8

    net = torch.nn.Sequential(
        torch.nn.Conv2d(1, 4, 3), torch.nn.ReLU(), torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(),
        torch.nn.Linear(4, 2), torch.nn.Softmax(dim=1),
    ).eval()  # fmt: skip
    float_path, out_path = tmp_path / "f.onnx", tmp_path / "q.onnx"
    torch.onnx.export(net, (torch.zeros(1, 1, 48, 48),), str(float_path), input_names=["input"],
                      output_names=["probabilities"], dynamic_axes={"input": {0: "batch"}, "probabilities": {0: "batch"}},
                      opset_version=OPSET)  # fmt: skip
    n = CALIBRATION_BATCH + 37
    crops = np.random.default_rng(0).integers(0, 256, (n, 48, 48), dtype=np.uint8)
    quantize_int8(float_path, out_path, crops, Preprocessing())
    p = ort.InferenceSession(str(out_path)).run(None, {"input": np.zeros((3, 1, 48, 48), np.float32)})[0]
    assert p.shape == (3, 2) and np.allclose(p.sum(1), 1, atol=1e-5)
