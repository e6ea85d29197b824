"""Writes dashboards/cinegen.json, the CineGen overview, from the panel list below.

Kept as a generator so panels stay uniform and reviewable: edit here, run
`python3 deploy/grafana/dashboard.py`, commit both. scripts/check-deploy checks the JSON is
what this script writes and that every metric it names is one the server exports.
"""

import json
import pathlib

DS = {"type": "prometheus", "uid": "prometheus"}

# (row title, [(panel title, unit, [(expr, legend)])])
ROWS = [
    ("API", [
        ("Answers by status", "reqps", [
            ('sum by (status) (rate(http_requests_total[5m]))', "{{status}}"),
        ]),
        ("p95 answer time by route", "s", [
            ('histogram_quantile(0.95, sum by (le, route) (rate(http_request_duration_seconds_bucket{route!~"/api/v1/ws.*"}[5m])))', "{{route}}"),
        ]),
        ("Server error ratio", "percentunit", [
            ('sum(rate(http_requests_total{status=~"5.."}[5m])) / sum(rate(http_requests_total[5m]))', "5xx"),
        ]),
    ]),
    ("Queue and workers", [
        ("Due tasks by type", "short", [
            ("max by (type) (cinegen_queue_due)", "{{type}}"),
        ]),
        ("Oldest due task's wait", "s", [
            ("max by (type) (cinegen_queue_oldest_due_age_seconds)", "{{type}}"),
        ]),
        ("Running tasks and worker slots", "short", [
            ("max by (type) (cinegen_queue_running)", "running {{type}}"),
            ("sum(cinegen_worker_slots)", "slots"),
            ("sum(cinegen_worker_busy)", "busy"),
        ]),
        ("Task attempts by outcome", "ops", [
            ("sum by (outcome) (rate(cinegen_tasks_finished_total[5m]))", "{{outcome}}"),
        ]),
        ("p95 task time by type", "s", [
            ('histogram_quantile(0.95, sum by (le, type) (rate(cinegen_task_duration_seconds_bucket{outcome="completed"}[15m])))', "{{type}}"),
        ]),
    ]),
    ("Providers", [
        ("Calls by provider and outcome", "ops", [
            ("sum by (provider, outcome) (rate(cinegen_provider_calls_total[5m]))", "{{provider}} {{outcome}}"),
        ]),
        ("Throttled share of calls", "percentunit", [
            ("sum by (provider) (rate(cinegen_provider_throttled_total[10m])) / sum by (provider) (rate(cinegen_provider_calls_total[10m]))", "{{provider}}"),
        ]),
        ("Provider HTTP answers by status", "ops", [
            ("sum by (provider, status) (rate(cinegen_provider_responses_total[5m]))", "{{provider}} {{status}}"),
        ]),
        ("p95 call time by provider and capability", "s", [
            ("histogram_quantile(0.95, sum by (le, provider, capability) (rate(cinegen_provider_call_duration_seconds_bucket[15m])))", "{{provider}} {{capability}}"),
        ]),
        ("Units spent per hour", "short", [
            ("sum by (provider, model, unit) (increase(cinegen_provider_units_total[1h]))", "{{provider}} {{model}} ({{unit}})"),
        ]),
        ("Fallbacks and parked keys per hour", "short", [
            ("sum by (capability, from, to) (increase(cinegen_provider_fallbacks_total[1h]))", "{{capability}}: {{from}} → {{to}}"),
            ("sum by (provider, whose, reason) (increase(cinegen_provider_keys_parked_total[1h]))", "{{provider}} {{whose}} key parked ({{reason}})"),
        ]),
    ]),
    ("Storage and database", [
        ("Bytes written", "Bps", [
            ("sum by (backend) (rate(cinegen_storage_written_bytes_total[5m]))", "{{backend}}"),
        ]),
        ("File store failures", "ops", [
            ("sum by (operation) (rate(cinegen_storage_failures_total[5m]))", "{{operation}}"),
        ]),
        ("Database connections", "short", [
            ("sum by (state) (cinegen_db_pool_connections)", "{{state}}"),
        ]),
        ("Time to take a connection", "s", [
            ("max by (instance) (cinegen_db_pool_acquire_seconds)", "{{instance}}"),
            ("min(cinegen_database_up)", "database up"),
        ]),
    ]),
    ("People", [
        ("Open live feeds", "short", [
            ("sum(cinegen_websockets_open)", "open"),
        ]),
        ("Failed sign-ins", "ops", [
            ("sum by (reason) (rate(cinegen_login_failures_total[5m]))", "{{reason}}"),
        ]),
        ("Refused over a limit", "ops", [
            ("sum by (budget) (rate(cinegen_rate_limited_total[5m]))", "{{budget}}"),
            ("sum by (quota) (rate(cinegen_quota_exceeded_total[5m]))", "quota {{quota}}"),
        ]),
    ]),
]


def panels():
    out, y, next_id = [], 0, 1
    for title, row in ROWS:
        out.append({"type": "row", "title": title, "id": next_id, "collapsed": False,
                    "gridPos": {"h": 1, "w": 24, "x": 0, "y": y}, "panels": []})
        next_id += 1
        y += 1
        width = 24 // len(row) if len(row) <= 3 else 8
        for i, (panel, unit, targets) in enumerate(row):
            x = (i * width) % 24
            if i and x == 0:
                y += 8
            out.append({
                "type": "timeseries", "title": panel, "id": next_id, "datasource": DS,
                "gridPos": {"h": 8, "w": width, "x": x, "y": y},
                "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
                "options": {"legend": {"displayMode": "list", "placement": "bottom"},
                            "tooltip": {"mode": "multi"}},
                "targets": [{"datasource": DS, "expr": expr, "legendFormat": legend, "refId": chr(65 + n)}
                            for n, (expr, legend) in enumerate(targets)],
            })
            next_id += 1
        y += 8
    return out


DASHBOARD = {
    "uid": "cinegen-overview",
    "title": "CineGen overview",
    "tags": ["cinegen"],
    "timezone": "browser",
    "schemaVersion": 39,
    "version": 1,
    "refresh": "30s",
    "time": {"from": "now-6h", "to": "now"},
    "templating": {"list": []},
    "annotations": {"list": []},
    "panels": panels(),
}

if __name__ == "__main__":
    import sys

    target = pathlib.Path(__file__).with_name("dashboards") / "cinegen.json"
    text = json.dumps(DASHBOARD, indent=2, ensure_ascii=False) + "\n"
    if "--check" in sys.argv:
        if target.read_text(encoding="utf-8") != text:
            sys.exit(f"{target} is not what {__file__} writes: run it and commit the result")
    else:
        target.write_text(text, encoding="utf-8")
