"""`airloop package`: a registered version as a container build context and Kubernetes manifests.

``context.package`` writes the folder: ``model/`` (the version and what the server reads beside it,
``serving.bundle``), ``requirements.lock`` (``lock``), airloop's own wheel (``wheel``), a Dockerfile
and its entrypoint (``dockerfile``), ``k8s/base/`` in kustomize layout (``manifests``), checked
offline where the tools are installed (``checks``). The serving side never imports this room.
"""
