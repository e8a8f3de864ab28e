"""scikit-learn estimators around any recipe: ``KerasClassifier``, ``KerasRegressor``
and ``KerasTransformer`` (for encoders).

They take a recipe name (``recipes.list_recipes()``), a builder name or a builder
function, and route ``model__<arg>`` to the builder, ``optimizer__<arg>`` to the
optimizer and ``fit__<arg>`` to ``Model.fit``, as scikeras does. They pass
scikit-learn's own ``parametrize_with_checks`` suite (see ``tests/test_sklearn.py``
for the few expected failures and why), and work in ``Pipeline``,
``GridSearchCV`` and ``cross_val_score``.

Example:

>>> from recipes.sklearn import KerasClassifier
>>> from sklearn.model_selection import GridSearchCV
>>> search = GridSearchCV(KerasClassifier(epochs=20, random_state=0),
...                       {"model__hidden_units": [(32,), (64, 32)],
...                        "optimizer__learning_rate": [1e-3, 3e-3]}, cv=3)
>>> search.fit(X, y).best_params_
"""

from recipes.sklearn._base import KerasEstimator
from recipes.sklearn._estimators import KerasClassifier, KerasRegressor, KerasTransformer

__all__ = ["KerasClassifier", "KerasEstimator", "KerasRegressor", "KerasTransformer"]
