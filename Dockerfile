# CADChat service image. Built from a wheelhouse, so the build needs no package index:
#   scripts/build-wheelhouse.sh wheelhouse        # on a machine that reaches PyPI (or a mirror)
#   docker build -t cadchat:0.1.0 .               # or: docker compose build
# Two images of the same Python (>= 3.10, matching the wheelhouse's version) at the same path:
# BUILD_IMAGE makes the virtualenv (venv module) and strips its compiled extensions (binutils);
# BASE_IMAGE runs it. The defaults are Docker Hub's full and slim images; where no registry is
# reachable pass local ones (--build-arg BUILD_IMAGE=... --build-arg BASE_IMAGE=...;
# molecule/scripts/build-python-image.sh makes both).
ARG BUILD_IMAGE=python:3.11-bookworm
ARG BASE_IMAGE=python:3.11-slim-bookworm

FROM ${BUILD_IMAGE} AS build
# Dependencies first, in their own layer: a new release of the service reuses it.
COPY wheelhouse/deps/ /wheelhouse/deps/
RUN python3 -m venv /opt/cadchat \
    && /opt/cadchat/bin/python -m pip install -q --no-index --no-deps --no-cache-dir \
       --disable-pip-version-check /wheelhouse/deps/*.whl
COPY wheelhouse/cadchat-*.whl /wheelhouse/
# What the service never loads leaves the image: the DashScope SDK's declared server and CLI
# extras (its client imports none of them; tests/test_image_deps.py proves it), numpy's build
# and typing support, every package's tests, the symbol tables and debug information of the
# compiled extensions (their exported symbols stay; libraries a wheel vendors in <name>.libs/ and
# extensions with an RPATH to them were rewritten by patchelf, which strip breaks, so they are
# left as shipped), and the bytecode of modules the service never
# imports (the root filesystem is read-only, so the bytecode of what it does import is compiled
# here, by importing it once, after stripping: a damaged extension fails the build).
ARG UNUSED_DISTRIBUTIONS="fastapi starlette uvicorn typer shellingham annotated-doc tiktoken regex \
    markdown-it-py mdurl"
RUN /opt/cadchat/bin/python -m pip install -q --no-index --find-links /wheelhouse/deps --no-cache-dir \
       --disable-pip-version-check /wheelhouse/cadchat-*.whl \
    && /opt/cadchat/bin/python -m pip uninstall -y -q ${UNUSED_DISTRIBUTIONS} pip setuptools \
    && cd /opt/cadchat/lib/python3*/site-packages \
    && find . -depth -type d \( -name tests -o -name __pycache__ \) -exec rm -rf {} + \
    && find . -name '*.pyi' -delete \
    && rm -rf numpy/f2py numpy/distutils numpy/typing numpy/_pyinstaller numpy/_core/include \
       numpy/random/_examples numpy/_core/_simd.* /opt/cadchat/bin/f2py \
    && find /opt/cadchat -type f -name '*.so*' ! -path '*.libs/*' -exec sh -c 'for f; do \
         readelf -d "$f" | grep -qE "\((RPATH|RUNPATH)\)" || strip --strip-unneeded "$f"; done' strip {} + \
    && /opt/cadchat/bin/python -c 'import importlib, pkgutil, cadchat, dashscope, httpx; \
       [importlib.import_module(m.name) for m in pkgutil.walk_packages(cadchat.__path__, "cadchat.") \
        if m.name != "cadchat.__main__"]'

FROM ${BASE_IMAGE}
COPY --from=build /opt/cadchat /opt/cadchat
# A fixed uid/gid so bind-mounted data keeps one owner; Ansible runs the container as the host's
# `cadchat` user instead (compose `user:`), which owns /var/lib/cadchat there.
RUN groupadd --system --gid 10001 cadchat \
    && useradd --system --uid 10001 --gid cadchat --home-dir /data --no-create-home \
       --shell /usr/sbin/nologin cadchat \
    && mkdir -p /data/user_codes /data/command_files /data/state \
    && chown -R cadchat:cadchat /data
ENV PATH=/opt/cadchat/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    CADCHAT_HOST=0.0.0.0 \
    CADCHAT_PORT=5000 \
    CADCHAT_DATA_DIR=/data \
    CADCHAT_ENV_FILE=/dev/null
USER cadchat
WORKDIR /data
# User codes, state, and the operator's command libraries (<data>/command_files) live here.
VOLUME ["/data"]
EXPOSE 5000
# The service's own health route; python's urllib keeps the image free of curl.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python3", "-c", "import os, sys, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/health' % os.environ.get('CADCHAT_PORT', '5000'), timeout=4); sys.exit(0)"]
CMD ["cadchat", "serve"]
