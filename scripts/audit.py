"""`make audit`: known advisories for the locked Python packages (pip-audit over
requirements.lock) and the npm packages (npm audit), each with a timeout.

Exit status: 1 when an advisory is found (or a tool fails in a way we do not recognise);
0 when nothing is found, and 0 too when an advisory service cannot be reached — then it
says so plainly, because "no known vulnerabilities" would be a lie: nothing was checked.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = int(os.environ.get("AUDIT_TIMEOUT", "120"))
BIN = Path(os.environ.get("BIN", ROOT / ".venv" / "bin"))

UNREACHABLE_HINTS = (
    "ConnectionError",
    "Max retries exceeded",
    "NameResolutionError",
    "Name or service not known",
    "Temporary failure in name resolution",
    "timed out",
    "ENOTFOUND",
    "ETIMEDOUT",
    "ECONNREFUSED",
    "ECONNRESET",
    "EAI_AGAIN",
    "audit endpoint returned an error",
)

FOUND, CLEAN, UNREACHABLE, FAILED = "found", "clean", "unreachable", "failed"


def run(command: list[str]) -> tuple[int | None, str, str]:
    try:
        done = subprocess.run(
            command, cwd=ROOT, capture_output=True, text=True, timeout=TIMEOUT, check=False
        )
    except subprocess.TimeoutExpired:
        return None, "", ""
    return done.returncode, done.stdout, done.stderr


def python_packages() -> str:
    code, out, err = run(
        [
            str(BIN / "pip-audit"),
            "--requirement",
            "requirements.lock",
            "--require-hashes",
            "--disable-pip",  # the lock pins everything: nothing to resolve or install
            "--progress-spinner",
            "off",
            "--format",
            "json",
        ]
    )
    name = "Python (pip-audit, requirements.lock)"
    if code is None:
        print(f"{name}: the advisory service did not answer within {TIMEOUT} s: NOT CHECKED.")
        return UNREACHABLE
    try:
        report = json.loads(out)
    except ValueError:
        if any(hint in err for hint in UNREACHABLE_HINTS):
            print(f"{name}: the advisory service (PyPI's JSON API) cannot be reached: NOT CHECKED.")
            print("  " + err.strip().splitlines()[-1][:300])
            return UNREACHABLE
        print(f"{name}: pip-audit failed (exit {code}):\n{err.strip()[-2000:]}")
        return FAILED
    packages = report.get("dependencies", [])
    found = [p for p in packages if p.get("vulns")]
    skipped = [p for p in packages if p.get("skip_reason")]
    for package in found:
        for vuln in package["vulns"]:
            fixes = ", ".join(vuln.get("fix_versions") or []) or "no fixed version yet"
            what = f"{package['name']} {package['version']}"
            print(f"{name}: {what}: {vuln['id']} (fixed in {fixes})")
    if found:
        return FOUND
    if skipped and len(skipped) == len(packages):
        print(
            f"{name}: the advisory service cannot be reached (every one of the {len(packages)} "
            "locked packages came back 'not found on PyPI'): NOT CHECKED."
        )
        return UNREACHABLE
    if skipped:
        names = ", ".join(p["name"] for p in skipped)
        print(f"{name}: {len(packages) - len(skipped)} packages checked, no known advisory;")
        print(f"  NOT CHECKED (the service had no answer for them): {names}")
        return UNREACHABLE
    print(f"{name}: {len(packages)} packages checked, no known advisory.")
    return CLEAN


def npm_packages() -> str:
    name = "JavaScript (npm audit, package-lock.json)"
    code, out, err = run(["npm", "audit", "--json"])
    if code is None:
        print(f"{name}: the advisory service did not answer within {TIMEOUT} s: NOT CHECKED.")
        return UNREACHABLE
    try:
        report = json.loads(out)
    except ValueError:
        report = {}
    counts = report.get("metadata", {}).get("vulnerabilities")
    if counts is not None:
        total = counts.get("total", sum(v for k, v in counts.items() if k != "total"))
        if total:
            for package, detail in sorted(report.get("vulnerabilities", {}).items()):
                print(f"{name}: {package} ({detail.get('severity')}): {detail.get('range')}")
            return FOUND
        print(f"{name}: no known advisory.")
        return CLEAN
    status = report.get("statusCode")
    message = report.get("message") or err.strip()
    if (status and (status >= 400)) or any(hint in (message + err) for hint in UNREACHABLE_HINTS):
        print(f"{name}: the advisory service cannot be reached: NOT CHECKED.")
        print(f"  {message[:300]}")
        return UNREACHABLE
    print(f"{name}: npm audit failed (exit {code}):\n{(out + err).strip()[-2000:]}")
    return FAILED


def main() -> int:
    results = [python_packages(), npm_packages()]
    if FOUND in results:
        print("make audit: known advisories found (above): raise the minimum, then make lock.")
        return 1
    if FAILED in results:
        return 1
    if UNREACHABLE in results:
        print(
            "make audit: some advisories could NOT be checked from this machine (the service "
            "is unreachable): run `make audit` where it can reach pypi.org and registry.npmjs.org."
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
