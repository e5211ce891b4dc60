# Production image: one image for web (gunicorn), Celery worker and beat; see docker-compose.yml.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONPATH=/app \
    STATIC_ROOT=/app/staticfiles

WORKDIR /app
COPY . .

# The app runs from /app (templates, static, manage.py live here); installing the project pulls in
# its dependencies from pyproject.toml.
RUN pip install . \
    && DEBUG=0 SECRET_KEY=collectstatic-at-build-time-only python manage.py collectstatic --noinput \
    && useradd --create-home --uid 1000 scorecard \
    && chown -R scorecard:scorecard /app

USER scorecard
EXPOSE 8000

CMD ["gunicorn", "scorecard.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
