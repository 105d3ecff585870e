# One image for every role: `importer serve --no-worker` (api) and `importer worker` (worker).
# The package is built into a wheel in a stage with a C compiler (the compiled row scan of sheets, setup.py),
# and only the wheel goes into the image that runs.
FROM python:3.11-slim AS build
RUN apt-get update && apt-get install -y --no-install-recommends gcc libc6-dev && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY pyproject.toml setup.py README.md ./
COPY app ./app
COPY workers ./workers
COPY specifications ./specifications
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /wheels .

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
RUN useradd --create-home --uid 10001 importer && install -d -o importer -g importer /srv/importer
WORKDIR /srv/importer
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
USER importer
EXPOSE 8000
CMD ["importer", "serve", "--no-worker", "--host", "0.0.0.0"]
