#!/usr/bin/env python3
"""Rewrites the values table in helm/queuepilot/README.md from values.yaml (its "# -- " comments).
ChartDocsTest fails when the table and values.yaml disagree; run this after changing a value."""
import json, pathlib, re, yaml

chart = pathlib.Path(__file__).resolve().parent / "queuepilot"
values_text = (chart / "values.yaml").read_text()
values = yaml.safe_load(values_text)
descriptions, stack, pending = {}, [], None
for line in values_text.splitlines():
    m = re.match(r'^(\s*)# -- (.*)$', line)
    if m:
        pending = m.group(2)
        continue
    m = re.match(r'^(\s*)([A-Za-z0-9_]+):', line)
    if m:
        stack = stack[:len(m.group(1)) // 2] + [m.group(2)]
        if pending:
            descriptions['.'.join(stack)] = pending
        pending = None
    elif line.strip() and not line.strip().startswith('#'):
        pending = None

# maps documented as one value rather than key by key (same list as ChartDocsTest)
WHOLE = {"resources", "commonLabels", "nodeSelector", "affinity", "podAnnotations", "annotations",
         "labels", "extraSpec", "dnsNamespaceLabels"}
rows = []
def walk(value, path):
    if isinstance(value, dict) and value and path[-1] not in WHOLE:
        for k, v in value.items():
            walk(v, path + [k])
    else:
        key = '.'.join(path)
        if key not in descriptions:
            raise SystemExit(f"values.yaml: {key} has no '# -- ' description")
        rows.append(f"| `{key}` | `{json.dumps(value)}` | {descriptions[key]} |\n")
for k, v in values.items():
    walk(v, [k])

readme = (chart / "README.md").read_text()
start = readme.index("| Key | Default | Description |")
end = readme.index("\n## Tests")
table = "| Key | Default | Description |\n|-----|---------|-------------|\n" + "".join(rows)
(chart / "README.md").write_text(readme[:start] + table + readme[end:])
print(f"{len(rows)} values documented")
