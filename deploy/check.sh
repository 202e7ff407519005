#!/usr/bin/env bash
# Checks the deployment files (run from anywhere; CI runs it):
#   1. promtool: rules syntax, rule unit tests, scrape config;
#   2. every YAML file under deploy/ parses (PyYAML), every JSON file parses;
#   3. every readmit_* metric name used by the rules, their tests and the Grafana dashboard is
#      a constant in src/metrics/ (histogram _bucket/_sum/_count series map to their base).
# Needs: promtool (Debian: apt-get install prometheus), python3 with PyYAML (python3-yaml).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"

command -v promtool >/dev/null || { echo "check.sh: promtool not found (apt-get install prometheus)" >&2; exit 2; }
python3 -c 'import yaml' 2>/dev/null || { echo "check.sh: PyYAML not found (apt-get install python3-yaml or pip install pyyaml)" >&2; exit 2; }

echo "== promtool check rules"
promtool check rules "$here/prometheus/rules.yml"
echo "== promtool test rules"
(cd "$here/prometheus" && promtool test rules rules_test.yml)
echo "== promtool check config"
promtool check config "$here/prometheus/prometheus.yml"

echo "== YAML/JSON parse and metric names"
python3 - "$root" <<'PY'
import json, pathlib, re, sys, yaml

root = pathlib.Path(sys.argv[1])
deploy = root / "deploy"
failed = False

for path in sorted(list(deploy.rglob("*.yml")) + list(deploy.rglob("*.yaml"))):
    try:
        list(yaml.safe_load_all(path.read_text()))
    except yaml.YAMLError as e:
        print(f"FAIL {path.relative_to(root)}: {e}")
        failed = True
for path in sorted(deploy.rglob("*.json")):
    try:
        json.loads(path.read_text())
    except ValueError as e:
        print(f"FAIL {path.relative_to(root)}: {e}")
        failed = True

defined = set()
for src in (root / "src" / "metrics").rglob("*.rs"):
    defined |= set(re.findall(r'pub const [A-Z0-9_]+: &str = "(readmit_[a-z0-9_]+)"', src.read_text()))
if not defined:
    print("FAIL no metric name constants found in src/metrics/")
    sys.exit(1)

name = re.compile(r"\breadmit_[a-z0-9_]+\b")
users = [deploy / "prometheus" / "rules.yml", deploy / "prometheus" / "rules_test.yml",
         deploy / "grafana" / "readmit.json", deploy / "k8s" / "scaledobject.yaml"]
used = {}
for path in users:
    if path.exists():
        for n in name.findall(path.read_text()):
            used.setdefault(n, set()).add(str(path.relative_to(root)))

def base(n):
    for suffix in ("_bucket", "_sum", "_count"):
        if n.endswith(suffix) and n[: -len(suffix)] in defined:
            return n[: -len(suffix)]
    return n

unknown = {n: files for n, files in used.items() if base(n) not in defined}
for n, files in sorted(unknown.items()):
    print(f"FAIL unknown metric {n} used in {', '.join(sorted(files))}")
    failed = True
print(f"{len(used)} metric names used, {len(defined)} defined, {len(unknown)} unknown")
sys.exit(1 if failed else 0)
PY
echo "deploy/check.sh: OK"
