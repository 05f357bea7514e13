"""What is pickled into a registered model: the encoder and the transform wrapper.

Registered versions reference these classes by module path, so their paths are part of the
model format: ``airloop.model.prepare.Prepare`` and ``airloop.model.transform.FeatureTransform``.
Versions pickled before this package existed name ``airloop.steps.encoding.Prepare`` and
``airloop.steps.modeling.FeatureTransform``; those paths keep resolving (see ``airloop.steps``).
"""
