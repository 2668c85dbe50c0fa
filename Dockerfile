# The team server (agentco serve) in a container.
# BASE_IMAGE: a Debian bookworm image. Where no registry is reachable, build one from Debian's own
# packages with deploy/base-image.sh (debootstrap) and pass --build-arg BASE_IMAGE=localhost/agentco-base:bookworm.
# EXTRAS: add "local" to build the embedded llama.cpp model in (slow to compile), "di" for the Data
# Interpreter's kernel; by default the server talks to an OpenAI-compatible model server (the
# compose file's optional "model" service).
ARG BASE_IMAGE=docker.io/library/debian:bookworm-slim

# Stage 1: build the package (its build step bundles the web page with npm) into /opt/venv, and
# pytest for generated projects' tests into /opt/agentco-tools, so runs need no package index.
FROM ${BASE_IMAGE} AS build
ARG EXTRAS=server
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 python3-venv nodejs npm ca-certificates \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY pyproject.toml README.md hatch_build.py ./
COPY src ./src
COPY web ./web
ENV AGENTCO_TOOLS_DIR=/opt/agentco-tools
# Behind a TLS-inspecting proxy, pass the host's CA bundle as the build secret "ca"
# (deploy/container.sh does): pip and npm trust it for this step only; it is not kept in the image.
RUN --mount=type=secret,id=ca,required=false \
    if [ -s /run/secrets/ca ]; then \
        export PIP_CERT=/run/secrets/ca NODE_EXTRA_CA_CERTS=/run/secrets/ca npm_config_cafile=/run/secrets/ca; \
    fi \
 && python3 -m venv /opt/venv \
 && /opt/venv/bin/pip install --no-cache-dir ".[${EXTRAS}]" \
 && /opt/venv/bin/python -c "from agentco.lang.python.env import ProjectEnv, default_cache_dir; \
ProjectEnv(default_cache_dir()).shared_sites()" \
 && test -f /opt/venv/lib/python3*/site-packages/agentco/server/static/index.html

# Stage 2: what runs. No compiler, no Node.js: git for the projects' history, bubblewrap for the
# generated code's sandbox.
FROM ${BASE_IMAGE}
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 git bubblewrap ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /opt/venv /opt/venv
COPY --from=build /opt/agentco-tools /opt/agentco-tools
RUN useradd --create-home --home-dir /data agentco && chown agentco /data
USER agentco
ENV PATH=/opt/venv/bin:$PATH HOME=/data AGENTCO_WORKSPACE=/data/workspaces AGENTCO_TOOLS_DIR=/opt/agentco-tools
VOLUME ["/data"]
EXPOSE 8765
# Beyond loopback the server needs an API token: create one first (deploy/container.sh shows how).
# Run it with --security-opt seccomp=unconfined --security-opt systempaths=unconfined: bubblewrap,
# which runs the generated code, makes its own namespaces and mounts a fresh /proc.
CMD ["agentco", "serve", "--host", "0.0.0.0", "--port", "8765", "--workspace", "/data/workspaces"]
