"""The Dockerfile and the entrypoint of a build context.

The image: the slim Python base of the Python the lock was made on (its wheels and markers hold
for that Python), the lock installed exactly (``--no-deps``: nothing resolved at build time, then
``pip check``), airloop's wheel without its training-side dependencies, the model folder copied in
read-only, a non-root user, a HEALTHCHECK on ``/health``. The prediction log goes to
``LOG_DIR``, declared a volume: Kubernetes mounts the PVC there.
"""

from __future__ import annotations

import sys

APP = "/app"
MODEL_DIR = f"{APP}/model"
LOG_DIR = "/var/lib/airloop"
PORT = 8000
UID = 10001  # a fixed non-root id: Kubernetes' runAsNonRoot checks a number, not a name
ENTRYPOINT = "entrypoint.sh"

# One command, the same in the image and in a test: the settings are environment variables with
# the image's paths as defaults, so a test points them into the build context instead.
ENTRYPOINT_SH = f"""#!/bin/sh
# Serve the packaged model: no registry, no workspace (`airloop serve --help`).
# AIRLOOP_SERVE_TOKEN (or the spec's serving.token_env) turns on bearer-token auth.
set -eu
exec airloop serve \\
  --model-dir "${{AIRLOOP_MODEL_DIR:-{MODEL_DIR}}}" \\
  --log-dir "${{AIRLOOP_LOG_DIR:-{LOG_DIR}}}" \\
  --host "${{AIRLOOP_HOST:-0.0.0.0}}" \\
  --port "${{AIRLOOP_PORT:-{PORT}}}" \\
  "$@"
"""


def base_image() -> str:
    return f"python:{sys.version_info.major}.{sys.version_info.minor}-slim"


def render(name: str, version: str, wheel: str, lock: str = "requirements.lock") -> str:
    py = f"{sys.version_info.major}.{sys.version_info.minor}"
    return f"""\
# {name} v{version}, packaged by `airloop package`: build with `docker build -t IMAGE .`
FROM {base_image()}

# bytecode is compiled at install below: the root filesystem is read-only at run time
ENV PYTHONDONTWRITEBYTECODE=1 \\
    PYTHONUNBUFFERED=1 \\
    PIP_NO_CACHE_DIR=1 \\
    PIP_DISABLE_PIP_VERSION_CHECK=1 \\
    OMP_WAIT_POLICY=PASSIVE

WORKDIR {APP}

# the exact lock, nothing resolved at build time; then airloop itself, without the training side
COPY {lock} {APP}/{lock}
COPY wheels/{wheel} {APP}/wheels/{wheel}
# (pip check before the wheel: airloop's metadata names the training side, which is not installed)
RUN python -m pip install --no-cache-dir --no-deps -r {APP}/{lock} \\
 && python -m pip check \\
 && python -m pip install --no-cache-dir --no-deps {APP}/wheels/{wheel} \\
 && python -m compileall -q /usr/local/lib/python{py}/site-packages

RUN groupadd --system --gid {UID} airloop \\
 && useradd --system --uid {UID} --gid {UID} --no-create-home --home-dir /nonexistent \\
    --shell /usr/sbin/nologin airloop \\
 && mkdir -p {LOG_DIR} \\
 && chown {UID}:{UID} {LOG_DIR}

COPY --chmod=0755 {ENTRYPOINT} {APP}/{ENTRYPOINT}
COPY model/ {MODEL_DIR}/

USER {UID}:{UID}
VOLUME ["{LOG_DIR}"]
EXPOSE {PORT}
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \\
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:{PORT}/health', timeout=4)"]
ENTRYPOINT ["{APP}/{ENTRYPOINT}"]
"""


DOCKERIGNORE = "k8s/\ncontext.json\n**/__pycache__\n"
