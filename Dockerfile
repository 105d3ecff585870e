# One image for every role: `importer serve --no-worker` (api) and `importer worker` (worker).
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
RUN useradd --create-home --uid 10001 importer
WORKDIR /srv/importer
COPY pyproject.toml README.md ./
COPY app ./app
COPY workers ./workers
COPY specifications ./specifications
RUN pip install --no-cache-dir .
USER importer
EXPOSE 8000
CMD ["importer", "serve", "--no-worker", "--host", "0.0.0.0"]
