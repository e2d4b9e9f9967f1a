FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY . .
# The C modules (scripts/build_native.py: segmenter, shingle hashes, index postings):
# compiled here, the compiler removed again.
RUN apt-get update && apt-get install -y --no-install-recommends gcc libc6-dev \
    && python scripts/build_native.py \
    && apt-get purge -y gcc libc6-dev && apt-get autoremove -y && rm -rf /var/lib/apt/lists/*
RUN useradd --create-home portal && mkdir -p /data && chown portal /data
USER portal
EXPOSE 8000
