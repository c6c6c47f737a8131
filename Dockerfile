# facies in a container: the package built from this source tree and installed (not
# editable) with a CUDA build of torch, which falls back to the CPU on hosts without a GPU.
#
#   docker build -t facies .
#   docker run --rm --gpus all --user "$(id -u):$(id -g)" \
#       -v "$PWD/data:/work/data" -v "$PWD/outputs:/work/outputs" facies train
#
# Jobs run in /work: surveys and caches go to /work/data, run folders to /work/outputs,
# both volumes. Build arguments pick the base image and the torch build, e.g.
# --build-arg TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu for a CPU-only image.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# Stage 1: a wheel of the source tree (the configs in conf/ ship inside it as facies.conf).
FROM ${PYTHON_IMAGE} AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY conf ./conf
COPY facies ./facies
RUN python -m pip wheel --no-cache-dir --no-deps --wheel-dir /dist .

# Stage 2: the runtime image.
FROM ${PYTHON_IMAGE}
# torch from the PyTorch index, pinned within pyproject's range (torch>=2.10,<3). The
# CUDA 12.8 build bundles its CUDA libraries; the host needs only the NVIDIA driver and
# the NVIDIA Container Toolkit (docker run --gpus all).
ARG TORCH_VERSION=2.13.0
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cu128
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    MPLCONFIGDIR=/tmp/matplotlib \
    NVIDIA_VISIBLE_DEVICES=all \
    NVIDIA_DRIVER_CAPABILITIES=compute,utility
RUN python -m pip install --no-cache-dir --index-url "${TORCH_INDEX_URL}" "torch==${TORCH_VERSION}"
# The wheel's other dependencies come from PyPI, within pyproject's ranges; the torch
# installed above already satisfies its torch requirement, so pip keeps it.
COPY --from=build /dist/ /tmp/dist/
RUN python -m pip install --no-cache-dir /tmp/dist/facies-*.whl \
    && rm -rf /tmp/dist \
    && facies --version

# A non-root user (facies, uid 1000) owns the working folder and the volumes' mount
# points; run with --user "$(id -u):$(id -g)" to write mounted folders as yourself.
# matplotlib's font cache is built once here, writable by any user id.
RUN groupadd --gid 1000 facies \
    && useradd --uid 1000 --gid 1000 --create-home facies \
    && mkdir -p /work/data /work/outputs \
    && chown -R 1000:1000 /work \
    && python -c "import matplotlib.font_manager" \
    && chmod -R a+rwX "${MPLCONFIGDIR}"
USER 1000:1000
WORKDIR /work
VOLUME ["/work/data", "/work/outputs"]

ENTRYPOINT ["facies"]
CMD ["--help"]
