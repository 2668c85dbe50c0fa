# The team server (agentco serve) in a container.
# BASE_IMAGE: a Debian bookworm image. Where no registry is reachable, build one from Debian's own
# packages with deploy/base-image.sh (debootstrap) and pass --build-arg BASE_IMAGE=localhost/agentco-base.
# EXTRAS: add "local" to build the embedded llama.cpp model in (slow to compile); by default the
# server talks to an OpenAI-compatible model server (the compose file's optional "model" service).
ARG BASE_IMAGE=docker.io/library/debian:bookworm-slim
FROM ${BASE_IMAGE}
ARG EXTRAS=server
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 python3-venv git bubblewrap nodejs npm ca-certificates \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /opt/agentco
COPY pyproject.toml README.md hatch_build.py ./
COPY src ./src
COPY web ./web
RUN python3 -m venv /opt/venv \
 && /opt/venv/bin/pip install --no-cache-dir ".[${EXTRAS}]" \
 && rm -rf web/node_modules /root/.npm
RUN useradd --create-home --home-dir /data agentco && chown agentco /data
USER agentco
ENV PATH=/opt/venv/bin:$PATH HOME=/data AGENTCO_WORKSPACE=/data/workspaces
VOLUME ["/data"]
EXPOSE 8765
# Beyond loopback the server needs an API token: create one first (deploy/container.sh shows how).
CMD ["agentco", "serve", "--host", "0.0.0.0", "--port", "8765", "--workspace", "/data/workspaces"]
