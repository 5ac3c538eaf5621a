# syntax=docker/dockerfile:1
#
# broker-sync as one binary on distroless: `deno task compile` (scripts/compile.ts, the CLI's own
# permission flags) in the official Deno image, then only the binary in a nonroot runtime with no
# shell. The root filesystem can be read-only: every write goes under the data dir (/data).
#
#   docker build -t broker-sync:0.1.0 .
#   docker run --rm --read-only -v broker-sync-data:/data broker-sync:0.1.0 status
#
# docs/operations.md has the build, run and deploy steps.

# Build stage: the Deno release the tests run on (.ci/run pins the same version). It runs on the
# builder's platform and cross-compiles for the image's platform (docker buildx --platform).
FROM --platform=$BUILDPLATFORM denoland/deno:2.9.6 AS build
ARG TARGETARCH
WORKDIR /build
# Dependencies first, from the frozen lockfile, so a source change does not download them again.
COPY deno.json deno.lock ./
RUN deno install --frozen
COPY src/ src/
COPY scripts/ scripts/
RUN case "${TARGETARCH:-amd64}" in \
      amd64) target=x86_64-unknown-linux-gnu ;; \
      arm64) target=aarch64-unknown-linux-gnu ;; \
      *) echo "broker-sync: no Deno runtime for TARGETARCH=${TARGETARCH}" >&2; exit 1 ;; \
    esac \
 && deno task compile --target "$target" \
 && install -d -m 0700 /rootfs/data

# Runtime: glibc and libgcc (what the Deno runtime links against), nothing else; uid 65532.
FROM gcr.io/distroless/cc-debian12:nonroot
LABEL org.opencontainers.image.title="broker-sync" \
      org.opencontainers.image.description="Keeps a self-hosted Wealthfolio in step with Interactive Brokers"
COPY --from=build /build/dist/broker-sync /usr/local/bin/broker-sync
# The data dir ships owned by the runtime user, so a fresh named volume mounted on it is too.
COPY --from=build --chown=65532:65532 /rootfs/data /data
# The journal (with its WAL and lock), the Wealthfolio session and SQLite's temporary files
# (TMPDIR) all live in the data dir: nothing else is written. DENO_DIR and HOME are not used by
# a compiled binary built without the code cache.
ENV BROKER_SYNC_DATA_DIR=/data \
    TMPDIR=/data
WORKDIR /data
VOLUME ["/data"]
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/broker-sync"]
CMD ["--help"]
