"""The README's main command: `./plan` run as a user runs it (two end-to-end runs of the script),
and its output, --json, --diff and exit codes through offline.plan.main in this process, on the
session's cached graphs and policy pack (conftest.run_plan)."""

import json
import os
import re
import subprocess

import pytest
from conftest import ROOT, evaluate, example_graph, stack_graph

from offline.facts import fact_of
from offline.plan import hostnames_line


def script(*args, cwd=ROOT):
    """`./plan ARGS` itself (its bootstrap, PLAN_CWD, exec), from `cwd`, in a fresh process that
    evaluates preview mode in a forked child and streams update mode to its own pack."""
    env = {**os.environ, "PYTHONWARNINGS": "default"}
    env.pop("PLAN_CWD", None)
    return subprocess.run([str(ROOT / "plan"), *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=300)


def test_production_plan_prints_the_tree_and_counts(run_plan):
    result = run_plan("production")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    n = {preview: sum(stack_graph("production", preview).counts().values()) for preview in (False, True)}
    assert f"Evaluated in update and preview mode: {n[False]} and {n[True]} resources." in out
    assert "postgres-replica-1  (aws:rds/instance:Instance)  [protected]  — replica db.t3.medium in us-east-1c" in out
    assert "postgres 16 db.t3.medium multi-AZ, 50-500 GiB gp3, backups 30d" in out
    assert "daily/ GLACIER@30d expire@120d" in out
    assert f"Resources by type ({n[False]}):" in out
    assert "config: pack defaults (production)" in out
    assert out.rstrip().endswith("PASS: 0 mandatory, 0 advisory violation(s)")


def test_bad_config_exits_2_with_one_message(run_plan, tmp_path):
    cfg = tmp_path / "Pulumi.broken.yaml"
    cfg.write_text("config:\n  platform:postgresReadReplicas: -1\n  platform:azCount: 1\n")
    result = run_plan("--config", str(cfg))
    assert result.returncode == 2
    assert result.stdout == ""
    assert "error: invalid configuration for stack 'broken' (2 problems)" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_value_of_the_wrong_type_is_refused_with_the_clis_message(run_plan, tmp_path):
    cfg = tmp_path / "Pulumi.typo.yaml"
    cfg.write_text("config:\n  platform:azCount: three\n  platform:postgresMultiAz: yes\n")
    result = run_plan("--config", str(cfg))
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.splitlines()[-1] == "error: Stack 'typo' with configuration key 'azCount' must be of type 'integer'"


def test_missing_stack_exits_2(run_plan):
    result = run_plan("nosuchstack")
    assert result.returncode == 2 and "no stack file" in result.stderr


def test_staging_plan_uses_its_pack_config_and_passes_with_advisories(run_plan):
    result = run_plan("staging")
    assert result.returncode == 0, result.stderr
    assert "config: policies/config/staging.json" in result.stdout
    assert "  [advisory] rds-multi-az\n      postgres-primary: multiAz is not true" in result.stdout
    # Every advisory comes from a rule staging's pack config relaxes (the count grows with the rules).
    advisory = re.search(r"PASS: 0 mandatory, (\d+) advisory violation\(s\)", result.stdout)
    assert advisory and int(advisory.group(1)) > 0, result.stdout[-400:]
    relaxed = {name for name, value in json.loads((ROOT / "policies/config/staging.json").read_text()).items()
               if value == "advisory"}
    assert set(re.findall(r"\n  \[advisory\] (\S+)", result.stdout)) <= relaxed
    cost = result.stdout.split("Monthly cost estimate", 1)[1].split("Policy verdict", 1)[0]
    assert "  postgres-primary " in cost and "db.t4g.micro single-AZ: 730 h × $0.016 + 20 GB gp3 × $0.115" in cost
    assert re.search(r"\n  total +\d+\.\d\d  fixed charges of \d+ resources", cost)
    assert "budget 200.00 (alarms-budget)" in cost and "unpriced (0): none" in cost


@pytest.mark.slow
def test_a_public_database_fails_the_plan_with_exit_3(tmp_path):
    prod = (ROOT / "Pulumi.production.yaml").read_text()
    cfg = tmp_path / "Pulumi.production.yaml"  # named production: judged by production's rules
    cfg.write_text(prod.replace("  platform:postgresProxyEnabled: true\n", "") + (
        "  platform:postgresProxyEnabled: false\n  platform:postgresPubliclyAccessible: true\n"
        "  platform:databaseAllowedCidrs: [198.51.100.10/32]\n"))
    result = script("--config", cfg.name, cwd=tmp_path)  # relative to where the user runs ./plan
    assert result.returncode == 3, result.stdout[-2000:] + result.stderr
    out = result.stdout
    assert ("  [mandatory] rds-not-public\n      postgres-primary, postgres-replica-0, postgres-replica-1: "
            "is publicly accessible (publiclyAccessible=true") in out
    assert "fix: Keep postgresPubliclyAccessible=false" in out
    assert "FAIL: 3 mandatory, 0 advisory violation(s)" in out
    # the one run of the real script: no SDK warning or traceback reaches the user
    assert "DeprecationWarning" not in result.stderr and "Traceback" not in result.stderr
    assert "Exception ignored" not in result.stderr  # no event loop left for the interpreter's exit to close


def test_a_bad_pack_config_exits_2_before_evaluating(run_plan, tmp_path):
    bad = tmp_path / "pack.json"
    bad.write_text('{"rds-backup-retention": {"minimumDays": "seven"}}')
    result = run_plan("production", "--policy-pack-config", str(bad))
    assert result.returncode == 2 and result.stdout == ""
    assert "evaluating" not in result.stderr
    assert "rds-backup-retention: minimumDays: expected integer" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_misspelled_rule_in_the_pack_config_exits_2_with_a_suggestion(run_plan, tmp_path):
    # The CLI would keep "s3-versoning" silently and s3-versioning would stay mandatory.
    bad = tmp_path / "pack.json"
    bad.write_text('{"rds-multi-az": "advisory", "s3-versoning": "advisory"}')
    result = run_plan("staging", "--policy-pack-config", str(bad))
    assert result.returncode == 2, result.stderr
    assert result.stdout == "" and "Traceback" not in result.stderr
    assert "'s3-versoning' is not a policy in the pack; did you mean 's3-versioning'?" in result.stderr
    assert result.stderr.count("error:") == 1


def test_the_pack_config_path_is_the_callers(run_plan, tmp_path):
    # From the repository root, as the README writes it.
    result = run_plan("staging", "--policy-pack-config", "policies/config/staging.json")
    assert result.returncode == 0, result.stderr
    assert "config: policies/config/staging.json" in result.stdout
    # From a subdirectory: ./plan runs in the root, the path is the caller's.
    result = run_plan("staging", "--policy-pack-config", "config/staging.json", caller_cwd=ROOT / "policies")
    assert result.returncode == 0, result.stderr
    assert "config: policies/config/staging.json" in result.stdout
    # A file outside the repository, by absolute path.
    outside = tmp_path / "relaxed.json"
    outside.write_text((ROOT / "policies" / "config" / "staging.json").read_text())
    result = run_plan("staging", "--policy-pack-config", str(outside))
    assert result.returncode == 0, result.stderr
    assert f"config: {outside.resolve()}" in result.stdout
    assert "Traceback" not in result.stderr


def test_plan_script_hands_over_the_callers_directory():
    script = (ROOT / "plan").read_text()
    assert script.index('export PLAN_CWD="$PWD"') < script.index('cd "$ROOT"')


def test_json_plan_is_the_whole_plan_without_secrets(run_plan, tmp_path):
    out = tmp_path / "plan.json"
    result = run_plan("staging", "--json", str(out))
    assert result.returncode == 0, result.stderr
    doc = json.loads(out.read_text())
    # Exactly the graph's resources (the stack itself aside), in both modes, and the counts add up to them.
    urns = {mode: [r.urn for r in stack_graph("staging", preview=mode).resources if r.type != "pulumi:pulumi:Stack"]
            for mode in (False, True)}
    assert doc["stack"] == "staging" and doc["resourceCount"] == {"update": len(urns[False]), "preview": len(urns[True])}
    assert sorted(r["urn"] for r in doc["resources"]) == sorted(urns[False])
    assert sum(doc["countsByType"].values()) == len(doc["resources"])
    primary = next(r for r in doc["resources"] if r["name"] == "postgres-primary")
    assert primary["fact"].startswith("postgres 16 db.t4g.micro single-AZ")
    assert doc["policy"]["counts"] == {"mandatory": 0, "advisory": len(doc["policy"]["violations"])}
    assert {v["policy"] for v in doc["policy"]["violations"]} >= {"rds-multi-az", "stateful-protected"}
    assert all(v["fix"] for v in doc["policy"]["violations"])
    assert "Aa1" not in out.read_text()  # generated passwords/tokens never leave the evaluator
    cost = doc["cost"]
    assert len(cost["lines"]) == sum(1 for r in doc["resources"] if r["custom"])
    assert cost["monthlyTotal"] == round(sum(x["monthly"] for x in cost["lines"]), 2) and cost["budget"] == 200
    assert cost["counts"]["unpriced"] == 0 and cost["asOf"]


def test_diff_between_stacks(run_plan, tmp_path):
    out = tmp_path / "diff.json"
    result = run_plan("staging", "--diff", "production", "--json", str(out))
    assert result.returncode == 0, result.stderr
    text = result.stdout
    head = text.split("\n\n", 1)[0].splitlines()
    assert head == [
        "Offline diff of stack 'staging' (Pulumi.staging.yaml) → 'production' (Pulumi.production.yaml)",
        head[1], head[2], head[3], "Cost delta: " + head[4].removeprefix("Cost delta: ")]
    assert re.fullmatch(r"Resources: 95 only in production, 0 only in staging, \d+ changed, \d+ the same", head[1]), head
    assert head[2].startswith("Cost staging     ") and "0 unpriced" in head[2]
    assert head[3].startswith("Cost production  ") and "0 unpriced" in head[3]
    assert re.fullmatch(r"Cost delta: \+[\d,.]+ USD/month fixed charges; every resource of both sides priced or free",
                        head[4]), head[4]
    assert "\n\nDiff of stack 'staging' → 'production'" in text  # the details follow the first screen
    assert re.search(r"monthly estimate: [\d,.]+ → [\d,.]+ USD \(\+[\d,.]+\); budget: 200.00 → 1,500.00", text)
    assert "  + postgres-replica-1  (aws:rds/instance:Instance)" in text
    assert "  ~ postgres-primary  (aws:rds/instance:Instance)\n      allocatedStorage: 20 → 50" in text
    assert "      instanceClass: 'db.t4g.micro' → 'db.t3.medium'" in text
    doc = json.loads(out.read_text())
    assert doc["diff"]["left"] == "staging" and {"staging", "production"} == set(doc["cost"])
    assert "Policy verdict" not in text  # a diff, not a plan


def test_diff_with_a_missing_stack_exits_2(run_plan):
    result = run_plan("staging", "--diff", "nosuchstack")
    assert result.returncode == 2 and "no stack file" in result.stderr and result.stdout == ""


def test_the_service_fact_says_when_no_image_is_deployed():
    assert fact_of(stack_graph("staging").named("app-service")) == "0 tasks: no image deployed yet (set ecsImageTag)"
    running = evaluate("staging", ecsImageTag="v1").named("app-service")
    assert fact_of(running) == "1 Fargate task(s), circuit breaker with rollback"


# ---- the first screen (issue 17) ------------------------------------------------------------------
def first_screen(out: str) -> list[str]:
    return out.split("\n\n", 1)[0].splitlines()


def test_the_first_screen_answers_the_review_before_the_tree(run_plan):
    result = run_plan("production")
    assert result.returncode == 0, result.stderr
    head = first_screen(result.stdout)
    assert len(head) <= 20, head  # a 24-row terminal, less the command and the prompt
    assert head[0] == "Offline plan of stack 'production' from Pulumi.production.yaml (mocks; no cloud calls, no credentials)"
    assert head[2] == ("Policy:    PASS: 0 mandatory, 0 advisory violation(s) (platform-guardrails 1.0.0, "
                       "config: pack defaults (production))")
    assert head[3].startswith("Cost:      ") and "0 unpriced" in head[3] and "% of the 1,500.00 budget" in head[3]
    graph = stack_graph("production")
    total = sum(graph.counts().values())
    assert head[4] == ("Hostnames: example.com, www.example.com, api.example.com (www. serves the site as is, "
                       "no redirect; api. is created for every app, asked or not: components/_dns_zone.py HOSTS)")
    assert head[5] == f"Resources by tier ({total}):"
    rows = {m[1]: int(m[2]) for m in (re.match(r"  (\S.*?) +(\d+)  ", line) for line in head[6:])}
    assert sum(rows.values()) == total  # the tiers add up to every resource
    stack = next(r for r in graph.resources if r.type == "pulumi:pulumi:Stack")
    tiers = {r.name for r in graph.children(stack.urn) if not r.custom}
    assert {"network", "postgres", "redis", "backups", "app", "dns", "alarms"} <= tiers
    assert {name.split(" (")[0] for name in rows} == tiers | {"stack level"}
    assert rows["postgres"] == 1 + len([r for r in graph.resources if r.urn.split("::")[2].startswith(
        "platform:data:Postgres$")])
    assert "providers and shared values: aws" in result.stdout
    # the tree, the counts, the cost lines and the verdict's details follow, in that order
    out = result.stdout
    order = [out.index(s) for s in ("platform-production  (pulumi:pulumi:Stack)", "Resources by type (",
                                    "Monthly cost estimate", "Policy verdict:")]
    assert order == sorted(order)


def test_a_failing_verdict_is_on_the_first_screen_with_the_first_violations(run_plan, tmp_path):
    cfg = tmp_path / "Pulumi.production.yaml"  # judged by production's rules
    cfg.write_text((ROOT / "Pulumi.staging.yaml").read_text().replace("environment: staging", "environment: production"))
    result = run_plan("--config", str(cfg), "--summary")
    assert result.returncode == 3, result.stderr
    head = result.stdout.splitlines()
    assert re.fullmatch(r"Policy:    FAIL: (\d+) mandatory, 0 advisory violation\(s\) \(.*", head[2]), head[2]
    named = [line for line in head if line.startswith("           [mandatory] ")]
    assert len(named) == 3 and "           [mandatory] alb-deletion-protection: app-alb" in head
    assert re.fullmatch(r"           and \d+ more mandatory policies: details at the end", head[head.index(named[-1]) + 1])


def test_summary_prints_only_the_first_screen_with_the_same_exit_code(run_plan):
    full, summary = run_plan("staging"), run_plan("staging", "--summary")
    assert full.returncode == summary.returncode == 0
    assert summary.stdout == "\n".join(first_screen(full.stdout)) + "\n"
    assert "(pulumi:pulumi:Stack)" not in summary.stdout and "Policy verdict:" not in summary.stdout
    diff = run_plan("staging", "--diff", "production", "--summary")
    assert diff.returncode == 0 and diff.stdout.count("\n") == 5 and "Cost delta:" in diff.stdout


def test_the_header_names_the_file_as_the_user_gave_it(run_plan):
    given = "../examples/contribux/Pulumi.production.yaml"
    result = run_plan("--config", given, "--summary", caller_cwd=ROOT / "docs")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"Offline plan of stack 'production' from {given} (mocks;")


def test_help_is_complete():
    from offline.plan import EXIT_CODES, build_parser

    parser = build_parser()
    text = parser.format_help()
    assert parser.description and parser.description.rstrip().endswith(".")
    assert "policy verdict" in parser.description and "verdict's details." in parser.description
    for action in parser._actions:
        assert action.help and action.help.rstrip().endswith((".", "exit")), action.option_strings
    for code, what in EXIT_CODES.items():
        assert f"  {code}  {what}." in text
    # no paragraph of the help stops mid-sentence: each block of text ends with a full stop
    paragraphs = [p for p in re.split(r"\n\s*\n", text) if not p.startswith(("usage:", "positional", "options:"))]
    assert all(p.rstrip().endswith(".") for p in paragraphs), paragraphs


def test_the_tree_shows_the_security_headers_and_the_hostnames():
    g = stack_graph("production")
    headers = fact_of(g.named("cdn-security-headers"))
    assert headers.startswith("HSTS max-age=31536000; includeSubDomains | X-Frame-Options DENY | "
                              "X-Content-Type-Options nosniff | Referrer-Policy origin-when-cross-origin | ")
    assert headers.endswith("| CSP: " + g.named("cdn-security-headers").input("securityHeadersConfig")[
        "contentSecurityPolicy"]["contentSecurityPolicy"])
    assert fact_of(g.named("cdn-edge-cert")) == ("example.com, www.example.com, api.example.com "
                                                 "(DNS-validated, us-east-1)")
    assert fact_of(g.named("dns-www-a")).startswith("www.example.com A alias → d")
    assert "(www served as is, not redirected)" in fact_of(g.named("cdn-distribution"))
    assert fact_of(g.named("app-http")) == "port 80 → HTTP_301 redirect to HTTPS:443"


def test_the_tree_shows_who_is_paged_masked():
    g = example_graph("contribux")
    email = g.named("alarms-email-0")
    assert email.input("endpoint").endswith("@example.com")
    local = email.input("endpoint").split("@")[0]
    assert fact_of(email) == f"email → {local[0]}***{local[-1]}@example.com (stack region)"
    assert fact_of(g.named("alarms-slack")) == ("AWS Chatbot 'platform-production-alarms' → Slack team T00000000 "
                                               "channel C00000000, 2 topic(s)")
    hook = evaluate("staging", alarmWebhookUrls=["https://hooks.example.com/services/T0/B0/secret-token"])
    fact = fact_of(hook.named("alarms-webhook-0"))
    assert fact == "https → https://hooks.example.com/… (stack region)" and "secret-token" not in fact


def test_the_tree_shows_cloudflare_rate_limits_and_the_www_redirect():
    g = example_graph("study-sphere")
    rules = fact_of(g.named("dns-ratelimit"))
    assert rules.startswith('rate_api: 100/10s block when (http.host in {"studysphere.example.com" ')
    assert '; rate_auth: 10/10s block when (' in rules and 'starts_with(http.request.uri.path, "/api/auth/"))' in rules
    assert fact_of(g.named("app-domain-www")) == ("www.studysphere.example.com → 308 redirect to "
                                                  "studysphere.example.com")
    assert "www. redirects to the apex" in hostnames_line(g)[0]


def test_the_vercel_json_snippet_carries_the_headers_cloudfront_sends():
    """docs/architecture.md's `vercel.json` for a Vercel app without CloudFront: the same headers."""
    doc = (ROOT / "docs" / "architecture.md").read_text()
    block = re.search(r"```json\n(\{\n  \"headers\".*?)```", doc, re.S)
    assert block, "the vercel.json snippet is missing"
    sent = {h["key"]: h["value"] for h in json.loads(block[1])["headers"][0]["headers"]}
    fact = fact_of(stack_graph("production").named("cdn-security-headers"))
    assert fact == (f"HSTS {sent['Strict-Transport-Security']} | "
                    f"X-Frame-Options {sent['X-Frame-Options']} | X-Content-Type-Options {sent['X-Content-Type-Options']} | "
                    f"Referrer-Policy {sent['Referrer-Policy']} | X-XSS-Protection {sent['X-XSS-Protection']} | "
                    f"CSP: {sent['Content-Security-Policy']}")


def test_tiers_and_tree_do_not_depend_on_registration_order():
    """The engine registers concurrently: two siblings named alike (the cdn tier's Assets and Cdn)
    came out in either order, and a README transcript failed one run in two."""
    import dataclasses

    from offline.evaluate import Graph, Resource
    from offline.plan import render_tree, tiers

    def res(typ: str, name: str, parent: str = "") -> Resource:
        return Resource(urn=f"urn:pulumi:s::p::{typ}::{name}", type=typ, name=name, parent=parent, custom=False,
                        inputs={}, outputs={}, dependencies=[], property_dependencies={}, provider="",
                        protect=False, ignore_changes=[], delete_before_replace=False)

    stack = res("pulumi:pulumi:Stack", "p-s")
    top = [res("platform:edge:Cdn", "cdn", stack.urn), res("platform:edge:Assets", "cdn", stack.urn)]
    kids = [res("aws:s3/bucket:Bucket", "x", top[0].urn), res("aws:s3/bucketV2:BucketV2", "x", top[1].urn)]
    one = Graph("s", False, [stack, *top, *kids])
    other = dataclasses.replace(one, resources=[stack, *reversed(top), *reversed(kids)])
    assert tiers(one) == tiers(other)
    assert [row[0] for row in tiers(one)] == ["cdn (Assets)", "cdn (Cdn)"]
    assert render_tree(one) == render_tree(other)
