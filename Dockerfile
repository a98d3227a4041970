# syntax=docker/dockerfile:1
# Two stages, after Hummingbird's template: a release build with the static Swift standard library, then a slim
# runtime image that holds the binary, its resources and the SQL migrations, running as a non-root user.

# ---------- build ----------
FROM swift:6.2-noble AS build
RUN export DEBIAN_FRONTEND=noninteractive DEBCONF_NONINTERACTIVE_SEEN=true \
    && apt-get -q update \
    && apt-get -q dist-upgrade -y \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /build
# Resolve dependencies first so this layer is cached while only sources change.
COPY ./Package.* ./
RUN swift package resolve

COPY . .
RUN swift build -c release --product session-vault --static-swift-stdlib \
    && mkdir -p /staging/share/session-vault \
    && cp "$(swift build -c release --show-bin-path)/session-vault" /staging/ \
    && find -L "$(swift build -c release --show-bin-path)/" -regex '.*\.resources$' -exec cp -Ra {} /staging/ \; \
    && cp -R sql /staging/share/session-vault/sql

# ---------- run ----------
FROM ubuntu:noble
RUN export DEBIAN_FRONTEND=noninteractive DEBCONF_NONINTERACTIVE_SEEN=true \
    && apt-get -q update \
    && apt-get -q dist-upgrade -y \
    && apt-get -q install -y libjemalloc2 ca-certificates tzdata \
    && rm -rf /var/lib/apt/lists/*

RUN useradd --user-group --create-home --system --skel /dev/null --home-dir /app session-vault
WORKDIR /app
COPY --from=build --chown=session-vault:session-vault /staging/session-vault /app/bin/session-vault
COPY --from=build --chown=session-vault:session-vault /staging/share /app/share
# Migrator.locateDirectory finds <executable dir>/../share/session-vault/sql; SESSION_VAULT_SQL_DIR says it outright.
ENV SESSION_VAULT_SQL_DIR=/app/share/session-vault/sql \
    HTTP_HOST=0.0.0.0 \
    HTTP_PORT=8080 \
    PATH=/app/bin:$PATH

USER session-vault:session-vault
EXPOSE 8080
ENTRYPOINT ["session-vault"]
CMD ["serve"]
