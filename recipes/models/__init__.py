"""Model families: one module each. Importing this package imports every module in
it, so a new family file registers its builders and presets with no edit elsewhere."""

import importlib
import pkgutil

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")
