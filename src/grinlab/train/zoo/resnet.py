"""ResNet-style nets for 48-64 px faces: a 3x3 stem without the ImageNet stride-4 downsampling,
four stages (strides 1, 2, 2, 2), BasicBlock (18/34) or Bottleneck (50). ``width`` sets the first
stage's channels (64 in the ImageNet nets; 32 by default here, so they fit a CPU budget)."""

from __future__ import annotations

from torch import nn

from ._blocks import ZooNet, conv_bn
from .registry import register


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, cin, w, stride):
        super().__init__()
        self.body = nn.Sequential(
            conv_bn(cin, w, 3, stride),
            nn.Conv2d(w, w, 3, 1, 1, bias=False),
            nn.BatchNorm2d(w),
        )
        self.short = _shortcut(cin, w, stride)
        self.act = nn.ReLU(inplace=True)

    def forward(self, x):
        return self.act(self.body(x) + self.short(x))


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, cin, w, stride):
        super().__init__()
        out = w * 4
        self.body = nn.Sequential(
            conv_bn(cin, w, 1),
            conv_bn(w, w, 3, stride),
            nn.Conv2d(w, out, 1, bias=False),
            nn.BatchNorm2d(out),
        )
        self.short = _shortcut(cin, out, stride)
        self.act = nn.ReLU(inplace=True)

    def forward(self, x):
        return self.act(self.body(x) + self.short(x))


def _shortcut(cin, cout, stride):
    if stride == 1 and cin == cout:
        return nn.Identity()
    return nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))


def _resnet(block, layers, num_classes, in_chans, width, dropout=0.0):
    stages = [conv_bn(in_chans, width)]
    cin = width
    for i, n in enumerate(layers):
        w = width * 2**i
        blocks = []
        for j in range(n):
            blocks.append(block(cin, w, 2 if (j == 0 and i > 0) else 1))
            cin = w * block.expansion
        stages.append(nn.Sequential(*blocks))
    return ZooNet(stages, cin, num_classes, dropout)


@register("resnet_tiny", "ResNet-style [1,1,1,1] BasicBlocks, width 16; ~0.31M params, ~71 MFLOPs")
def resnet_tiny(num_classes, in_chans=1, input_size=(48, 48), width=16, **kw):
    return _resnet(BasicBlock, (1, 1, 1, 1), num_classes, in_chans, width, **kw)


@register(
    "resnet18",
    "ResNet-18-style [2,2,2,2] BasicBlocks, width 32 (CPU-sized; 64 = ImageNet); ~2.8M params, ~620 MFLOPs",
)
def resnet18(num_classes, in_chans=1, input_size=(48, 48), width=32, **kw):
    return _resnet(BasicBlock, (2, 2, 2, 2), num_classes, in_chans, width, **kw)


@register(
    "resnet34", "ResNet-34-style [3,4,6,3] BasicBlocks, width 32 (CPU-sized); ~5.3M params, ~1300 MFLOPs"
)
def resnet34(num_classes, in_chans=1, input_size=(48, 48), width=32, **kw):
    return _resnet(BasicBlock, (3, 4, 6, 3), num_classes, in_chans, width, **kw)


@register("resnet50", "ResNet-50-style [3,4,6,3] Bottlenecks, width 32; ~5.9M params, ~1460 MFLOPs (GPU)")
def resnet50(num_classes, in_chans=1, input_size=(48, 48), width=32, **kw):
    return _resnet(Bottleneck, (3, 4, 6, 3), num_classes, in_chans, width, **kw)
