"""Every zoo family, imported explicitly so the registry is easy to follow."""

from . import densenet, inception, mini_xception, resnet, torchvision_backbone, vgg  # noqa: F401
