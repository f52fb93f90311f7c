# One image for everything: the gateway and router roles, the CLI verbs and
# the example functions (for the Knative Services in knative/manifests/).
#
#   docker build -t switchyard:0.1.0 .
#   docker build --build-arg WITH_REDIS=1 -t switchyard:0.1.0-embedded .
#
# WITH_REDIS=1 adds redis-server, so that `switchyard serve` without --redis
# (the embedded default, the image's CMD) works in a single container:
#   docker run -p 8080:8080 switchyard:0.1.0-embedded
# Without it, give --redis redis://HOST:6379 (as manifests/ does).

# ---- build -------------------------------------------------------------------
FROM debian:12 AS build
WORKDIR /src
# The build dependencies first, in their own layer (scripts/setup.sh is what a developer runs).
COPY scripts/setup.sh scripts/setup.sh
RUN bash scripts/setup.sh
COPY . .
RUN cmake -S . -B /build -G Ninja -DCMAKE_BUILD_TYPE=Release -DSWITCHYARD_TESTS=OFF -DSWITCHYARD_WERROR=ON \
 && cmake --build /build --target switchyard sy_example_functions \
 && mkdir -p /out/functions \
 && cp /build/switchyard /out/ \
 && find /build/examples/functions -maxdepth 1 -type f -perm -u+x -exec cp {} /out/functions/ \; \
 && sed 's#\.\./build/examples/functions/#/usr/local/lib/switchyard/functions/#' examples/functions.yaml \
      > /out/functions.yaml

# ---- runtime -----------------------------------------------------------------
FROM debian:12-slim
ARG WITH_REDIS=0
RUN apt-get update \
 && apt-get install -y --no-install-recommends libhiredis0.14 libyaml-cpp0.7 libssl3 libjemalloc2 ca-certificates tzdata \
 && if [ "$WITH_REDIS" = "1" ]; then apt-get install -y --no-install-recommends redis-server; fi \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /out/switchyard /usr/local/bin/switchyard
COPY --from=build /out/functions/ /usr/local/lib/switchyard/functions/
# The examples, with a functions.yaml that points at the installed function binaries.
COPY examples/state-machines/ /usr/local/share/switchyard/state-machines/
COPY --from=build /out/functions.yaml /usr/local/share/switchyard/functions.yaml
RUN useradd --uid 10001 --create-home switchyard
USER 10001
WORKDIR /home/switchyard
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/switchyard"]
CMD ["serve", "--listen", "0.0.0.0:8080", "--data-dir", "/home/switchyard/data", \
     "--functions", "/usr/local/share/switchyard/functions.yaml"]
