# agentshim: a gRPC server that runs interactive AI coding agents in PTYs.
#
#   docker build -t agentshim .                          # the server, git and bash
#   docker build --target agents -t agentshim:agents .   # plus Node.js and the pinned Claude
#                                                        # Code, Codex and Gemini CLIs
#   docker run -d -p 50051:50051 -e AGENTSHIM_TOKEN=... agentshim
#
# The default command serves on 0.0.0.0:50051, so the server insists on a token: set
# AGENTSHIM_TOKEN, or mount a file and run `serve --listen 0.0.0.0:50051 --token-file FILE`.
# See deploy/README.md.

FROM rust:1.96-slim-bookworm AS build
# Set only where a TLS-intercepting proxy re-signs crates.io (the path of a CA bundle mounted
# into the build); unset, it changes nothing.
ARG CARGO_HTTP_CAINFO
WORKDIR /src
# The dependencies first, against placeholder sources: this layer is reused until Cargo.toml,
# Cargo.lock, build.rs, the .proto or the web console's files change (build.rs reads both).
# Cargo reads the path of every target it declares, so each [[bench]] and [[test]] gets a
# placeholder too; the test placeholders stay (the image builds no test and its context holds
# none).
COPY Cargo.toml Cargo.lock build.rs ./
COPY proto ./proto
COPY src/web/assets ./src/web/assets
RUN mkdir -p src benches tests \
 && echo 'fn main() {}' > src/main.rs \
 && touch src/lib.rs \
 && for target in bench:benches test:tests; do \
      for name in $(sed -n "/^\[\[${target%%:*}\]\]/{n;s/^name = \"\(.*\)\"\$/\1/p}" Cargo.toml); do \
        echo 'fn main() {}' > "${target#*:}/$name.rs"; done; done \
 && cargo build --release --locked --bin agentshim \
 && rm -rf src benches
COPY src ./src
COPY benches ./benches
# COPY keeps the sources' own mtimes, older than the placeholders' builds: touch the roots.
RUN touch src/main.rs src/lib.rs \
 && cargo build --release --locked --bin agentshim \
 && install -m 0755 target/release/agentshim /usr/local/bin/agentshim

# The pinned agent CLIs, whose versions live in scripts/install-live-agents.sh only. Built only
# for the `agents` target.
FROM node:22-bookworm-slim AS agent-clis
# Set only where a TLS-intercepting proxy re-signs the npm registry; unset, it changes nothing.
ARG NODE_EXTRA_CA_CERTS
COPY scripts/install-live-agents.sh /tmp/install-live-agents.sh
# hadolint ignore=DL3016
RUN bash /tmp/install-live-agents.sh --print-specs > /tmp/agent-clis \
 && xargs npm install --global --prefix /opt/agent-clis --no-audit --no-fund --loglevel=error \
      < /tmp/agent-clis \
 && npm cache clean --force

FROM debian:bookworm-slim AS base
# tini is PID 1: it passes SIGTERM on to agentshim and reaps the orphans agents leave behind.
# git, bash and CA certificates are for the agents.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini bash git ca-certificates \
 && rm -rf /var/lib/apt/lists/*
RUN useradd --uid 10001 --user-group --create-home --home-dir /home/agentshim \
      --shell /bin/bash agentshim \
 && install -d -o agentshim -g agentshim /workspace
COPY --from=build /usr/local/bin/agentshim /usr/local/bin/agentshim
ENV SHELL=/bin/bash
WORKDIR /workspace
USER 10001:10001
EXPOSE 50051
# Asks grpc.health.v1 at AGENTSHIM_ADDR (default http://127.0.0.1:50051); health needs no token.
HEALTHCHECK --interval=10s --timeout=5s --start-period=5s --retries=3 \
  CMD ["agentshim", "health", "--timeout", "4"]
ENTRYPOINT ["/usr/bin/tini", "--", "agentshim"]
CMD ["serve", "--listen", "0.0.0.0:50051"]

FROM base AS agents
COPY --from=agent-clis /usr/local/bin/node /usr/local/bin/node
COPY --from=agent-clis /opt/agent-clis /opt/agent-clis
ENV PATH=/opt/agent-clis/bin:$PATH

# The default target: the server without the agent CLIs.
FROM base AS runtime
