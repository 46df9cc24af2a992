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


def test_the_convolution_that_reads_the_image_stays_float_and_the_rest_is_int8(tmp_path):
    # the first convolution sees one grey channel: int8 there cost agreement with the float model
    # and ran slower in ONNX Runtime (quantize.input_conv_nodes says what was measured)
    import onnx

    from grinlab.preprocess import Preprocessing
    from grinlab.train.export import OPSET
    from grinlab.train.quantize import input_conv_nodes, quantize_int8

    net = torch.nn.Sequential(
        torch.nn.Conv2d(1, 8, 3), torch.nn.ReLU(), torch.nn.Conv2d(8, 8, 3), torch.nn.ReLU(),
        torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(8, 2), torch.nn.Softmax(dim=1),
    ).eval()  # fmt: skip
    float_path, out_path = tmp_path / "f.onnx", tmp_path / "q.onnx"
    torch.onnx.export(net, (torch.zeros(1, 1, 48, 48),), str(float_path), input_names=["input"],
                      output_names=["probabilities"], dynamic_axes={"input": {0: "batch"}, "probabilities": {0: "batch"}},
                      opset_version=OPSET)  # fmt: skip
    assert len(input_conv_nodes(float_path)) == 1
    crops = np.random.default_rng(0).integers(0, 256, (128, 48, 48), dtype=np.uint8)
    quantize_int8(float_path, out_path, crops, Preprocessing())

    graph = onnx.load(str(out_path)).graph
    producer = {o: n for n in graph.node for o in n.output}
    convs = [n for n in graph.node if n.op_type == "Conv"]
    assert len(convs) == 2
    assert convs[0].input[0] == "input"  # the image reaches it unquantized
    assert producer[convs[1].input[0]].op_type == "DequantizeLinear"  # the next one runs on uint8
    x = np.random.default_rng(1).normal(size=(4, 1, 48, 48)).astype(np.float32)
    p_float, p_int8 = (
        ort.InferenceSession(str(p)).run(None, {"input": x})[0] for p in (float_path, out_path)
    )
    assert np.abs(p_float - p_int8).max() < 0.05
