"""visualize() on networks outside the zoo contract: no blocks() (every Conv2d is a stage), a
stage that returns a tuple, and a flat grey face (nothing to min-max scale)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from grinlab.evaluate.visualize import visualize
from grinlab.preprocess import Preprocessing

torch = pytest.importorskip("torch")


class _TupleStage(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(4, 6, 3, padding=1)

    def forward(self, x):
        y = self.conv(x)
        return y, y.mean()


class _Net(torch.nn.Module):
    def __init__(self, with_blocks: bool):
        super().__init__()
        self.stem = torch.nn.Conv2d(1, 4, 3, padding=1)
        self.stage = _TupleStage()
        self.head = torch.nn.Linear(6, 2)
        if with_blocks:
            self.blocks = lambda: [self.stem, self.stage]

    def forward(self, x):
        y, _ = self.stage(torch.relu(self.stem(x)))
        return self.head(y.mean(dim=(2, 3)))


@pytest.mark.parametrize("with_blocks", [True, False])
def test_stages_with_tuple_outputs_and_a_flat_face(smilesmiled_dir, tmp_path, with_blocks):
    spec = Preprocessing(size=(32, 32), channels=1)
    face = cv2.imread(str(next((smilesmiled_dir / "SMILEs" / "positives" / "positives7").glob("*.jpg"))))
    for i, img in enumerate((face, np.full((40, 40), 128, np.uint8))):
        out = tmp_path / f"{with_blocks}{i}"
        names = [p.name for p in visualize(_Net(with_blocks), spec, img, out)]
        assert names == ["filters.png", "input.png", "stage1_4maps_32x32.png", "stage2_6maps_32x32.png"]
        for n in names:
            assert cv2.imread(str(out / n)) is not None
