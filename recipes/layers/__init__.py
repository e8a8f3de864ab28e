"""Custom Keras layers of the recipes, each registered serializable under the
``recipes`` package name so that ``.keras`` files load with ``safe_mode=True``."""

__all__ = []
