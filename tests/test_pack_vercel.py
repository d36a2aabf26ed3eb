"""Vercel credentials, written as a user would (policy_cases.Case): every environment-variable
resource of pulumiverse_vercel 5 (ProjectEnvironmentVariable, ProjectEnvironmentVariables,
SharedEnvironmentVariable, Project.environments, Deployment.environment), every spelling of a
credential (URL userinfo with or without a user, query-string secrets, key names, PEM keys), write-only
values, and NEXT_PUBLIC_ variables that reach the browser."""

from __future__ import annotations

import pulumi
import pulumiverse_vercel as vercel
import pytest
from policy_cases import Case, assert_case, ids

PROJECT = "prj_0123456789abcdef"


def _var(key: str, value: str | None = None, sensitive: bool = False, value_wo: str | None = None):
    def program() -> None:
        vercel.ProjectEnvironmentVariable("var", project_id=PROJECT, key=key, value=value, value_wo=value_wo,
                                          targets=["production"], sensitive=sensitive)
    return program


def _bulk(key: str, value: str, sensitive: bool):
    def program() -> None:
        vercel.ProjectEnvironmentVariables("vars", project_id=PROJECT, variables=[
            {"key": "NODE_ENV", "value": "production", "targets": ["production"], "sensitive": False},
            {"key": key, "value": value, "targets": ["production"], "sensitive": sensitive},
        ])
    return program


def _shared(key: str, value: str, sensitive: bool):
    def program() -> None:
        vercel.SharedEnvironmentVariable("shared", key=key, value=value, project_ids=[PROJECT],
                                         targets=["production"], sensitive=sensitive, team_id="team_x")
    return program


def _project(sensitive: bool):
    def program() -> None:
        vercel.Project("project", name="site", framework="nextjs", environments=[
            {"key": "SMTP_PASSWD", "value": "hunter2", "targets": ["production"], "sensitive": sensitive}])
    return program


def _deployment(env: dict[str, str]):
    def program() -> None:
        vercel.Deployment("deploy", project_id=PROJECT, ref="main", production=True, environment=env)
    return program


def _computed(sensitive: bool):
    """A URL assembled from another resource's output: unknown in a preview."""
    def program() -> None:
        project = vercel.Project("project", name="site", framework="nextjs")
        vercel.ProjectEnvironmentVariable("var", project_id=project.id, key="UPSTREAM",
                                          value=pulumi.Output.concat("https://", project.id, ".example.com"),
                                          targets=["production"], sensitive=sensitive)
    return program


SENSITIVE = "vercel-sensitive-env"
PUBLIC = "vercel-no-public-secrets"
NOT_SENSITIVE = "but is not sensitive"

CASES = [
    # Values: credentials in the URL whatever the scheme and with an empty user; query strings; PEM.
    Case(SENSITIVE, _var("UPSTREAM", "postgres://app:s3cret@db.internal:5432/app"),
         _var("UPSTREAM", "postgres://app:s3cret@db.internal:5432/app", sensitive=True),
         "UPSTREAM holds a URL with credentials", id="postgres-url"),
    Case(SENSITIVE, _var("CACHE", "redis://:s3cret@cache.internal:6379"),
         _var("CACHE", "redis://cache.internal:6379"), "CACHE holds a URL with credentials", id="empty-user"),
    Case(SENSITIVE, _var("MONGO_CONN", "mongodb+srv://app:pw@cluster0.example.net/db"),
         _var("MONGO_CONN", "mongodb+srv://cluster0.example.net/db"), "holds a URL with credentials", id="mongodb-srv"),
    Case(SENSITIVE, _var("BROKER", "amqp://guest:guest@mq:5672/"), _var("BROKER", "amqp://mq:5672/"),
         "holds a URL with credentials", id="amqp"),
    Case(SENSITIVE, _var("PG", "postgresql://db:5432/app?sslmode=require&password=s3cret"),
         _var("PG", "postgresql://db:5432/app?sslmode=require"), "holds a secret in a URL query string",
         id="query-password"),
    Case(SENSITIVE, _var("PG", "postgresql://db/app?sslmode=verify-full&sslpassword=s3cret"),
         _var("PG", "postgresql://db/app?sslmode=verify-full"),
         "query string", id="query-sslpassword"),
    Case(SENSITIVE, _var("WEBHOOK", "https://hooks.example.com/x?api_key=abc123"),
         _var("WEBHOOK", "https://hooks.example.com/x?channel=ops"), "query string", id="query-api-key"),
    Case(SENSITIVE, _var("SIGNER", "-----BEGIN EC PRIVATE KEY-----\nMHc...\n-----END EC PRIVATE KEY-----"),
         _var("SIGNER", "-----BEGIN PUBLIC KEY-----\nMFk...\n-----END PUBLIC KEY-----"), "PEM private key",
         id="pem"),
    # Names, whatever the value.
    *[Case(SENSITIVE, _var(key, "x"), _var(key, "x", sensitive=True), f"{key} is named like a secret", id=key)
      for key in ("SMTP_PASSWD", "DB_PWD", "MAIL_PASS", "STRIPE_API_KEY", "GITHUB_TOKEN", "PRIVATE_KEY_PEM",
                  "GITHUB_APP_PRIVATE_KEY", "DATABASE_URL", "POSTGRES_PRISMA_URL", "MONGODB_URI")],
    # Write-only keeps the value out of Pulumi's state, not out of Vercel's dashboard.
    Case(SENSITIVE, _var("DB_PASSWORD", value_wo="s3cret"), _var("DB_PASSWORD", value_wo="s3cret", sensitive=True),
         "DB_PASSWORD is named like a secret but is not sensitive", id="write-only-value"),
    # Every resource type that sets a variable.
    Case(SENSITIVE, _bulk("REDIS_URL", "rediss://:tok@cache:6379", False),
         _bulk("REDIS_URL", "rediss://:tok@cache:6379", True), "REDIS_URL is named like a secret", id="bulk"),
    Case(SENSITIVE, _shared("JWT_SECRET", "abc", False), _shared("JWT_SECRET", "abc", True),
         "JWT_SECRET is named like a secret", id="shared"),
    Case(SENSITIVE, _project(False), _project(True), "SMTP_PASSWD is named like a secret", id="project-environments"),
    Case(SENSITIVE, _deployment({"API_TOKEN": "abc", "NODE_ENV": "production"}), _deployment({"NODE_ENV": "production"}),
         "in a Deployment's environment, which cannot be sensitive", id="deployment"),
    # Preview: a computed value is unknown; the rule says it cannot judge it rather than pass it.
    Case(SENSITIVE, _computed(False), _computed(True), "can't run policy", id="preview-unknown-value",
         preview=True, level="advisory"),
    # NEXT_PUBLIC_: inlined into the browser bundle, so sensitive does not help.
    Case(PUBLIC, _var("NEXT_PUBLIC_ADMIN_PASSWORD", "x", sensitive=True), _var("NEXT_PUBLIC_ADMIN_EMAIL", "x"),
         "NEXT_PUBLIC_ADMIN_PASSWORD is named like a secret: as NEXT_PUBLIC_ it is inlined", id="name"),
    Case(PUBLIC, _var("NEXT_PUBLIC_API", "https://svc:pw@api.example.com"),
         _var("NEXT_PUBLIC_API", "https://api.example.com"), "NEXT_PUBLIC_API holds a URL with credentials",
         id="value"),
    Case(PUBLIC, _bulk("NEXT_PUBLIC_SUPABASE_SERVICE_ROLE_SECRET", "x", True),
         _bulk("NEXT_PUBLIC_STRIPE_PUBLISHABLE_KEY", "pk_live_x", False), "is named like a secret", id="bulk"),
]


@pytest.mark.parametrize("case", CASES, ids=ids(CASES))
def test_case(pack, case):
    assert_case(pack, case)
