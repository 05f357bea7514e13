"""The fitted pipeline's own steps and how a version is stored, loaded and described.

``Prepare`` and ``FeatureTransform`` fit in training; a registered version stores their state as
data (``store``, read by ``airloop_runtime``). Versions cloudpickled before that format name these
classes by module path (``airloop.model.prepare.Prepare``, ``airloop.model.transform.FeatureTransform``,
and before those ``airloop.steps.encoding.Prepare`` / ``airloop.steps.modeling.FeatureTransform``):
the paths keep resolving, for projects that set ``serving.trust_pickle: true``.
"""
