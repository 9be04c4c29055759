"""Pretrained backbones: the registry, EfficientNet-Lite and its weights, ImageNet classes, classifying."""
