"""`make docs`: every generated file (guardrail table, pack configs and facts, the manifest reference, stacks)."""

from __future__ import annotations

import re
import sys
from pathlib import Path

from offline.guardrails import PACK_DIR, StackRule, all_rules

GUARDRAILS_DOC = Path(__file__).resolve().parent.parent / "docs" / "guardrails.md"
BEGIN, END = "<!-- guardrails:begin -->", "<!-- guardrails:end -->"


def table() -> str:
    lines = ["| Id | Policy | Scope | Severity | Enforcement | Mirrors | What it requires |",
             "|---|---|---|---|---|---|---|"]
    for rule in all_rules():
        meta = rule.meta
        scope = "stack" if isinstance(rule, StackRule) else ", ".join(t.split(":")[-1] for t in rule.types)
        lines.append(f"| {meta.id} | `{meta.name}` | {scope} | {meta.severity.value} | "
                     f"{meta.enforcement.value} | {', '.join(meta.mirrors) or '-'} | {meta.description} |")
    return "\n".join(lines)


def rewrite(text: str) -> str:
    block = f"{BEGIN}\n{table()}\n{END}"
    pattern = re.compile(re.escape(BEGIN) + r".*?" + re.escape(END), re.S)
    if not pattern.search(text):
        raise ValueError(f"docs/guardrails.md has no {BEGIN} ... {END} block")
    return pattern.sub(lambda _: block, text)


def main() -> int:
    from offline import layout, manifest_doc, pack_facts, policy_configs

    GUARDRAILS_DOC.write_text(rewrite(GUARDRAILS_DOC.read_text(encoding="utf-8")), encoding="utf-8")
    print(f"docs/guardrails.md: guardrail table rewritten ({len(all_rules())} rules; pack at {PACK_DIR.name}/)")
    for target in policy_configs.write():
        print(f"{target.relative_to(PACK_DIR.parent)}: the pack's config for that layer's stacks")
    facts = pack_facts.write()
    print(f"{facts.relative_to(PACK_DIR.parent)}: the program's facts the pack shares (from regions/)")
    reference = manifest_doc.write()
    print(f"{reference.relative_to(PACK_DIR.parent)}: every manifest field, from regions/schema.py")
    layout.STACKS_DOC.write_text(layout.document(), encoding="utf-8")
    print(f"{layout.STACKS_DOC.relative_to(PACK_DIR.parent)}: the stacks and deploy waves")
    return 0


if __name__ == "__main__":
    sys.exit(main())
