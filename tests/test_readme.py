"""The README's two opening commands are the contract with a new user; keep CI on the second."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    return [block.strip() for block in re.findall(r"```bash\n(.*?)```", text, flags=re.S)[:2]]


def test_readme_opens_with_setup_and_test_commands():
    main_job, tests = readme_commands()
    for command in (main_job, tests):
        assert command.startswith("test -d .venv || python3 -m venv .venv;")
    for step in ("weight_initializations.py", "rnn_rbm_train.py", "rnn_rbm_generate.py"):
        assert step in main_job
    epochs = re.search(r"rnn_rbm_train\.py (\d+)", main_job).group(1)
    assert f"parameter_checkpoints/epoch_{epochs}.ckpt" in main_job
    assert "pytest" in tests


def test_ci_runs_the_readme_test_command():
    _, tests = readme_commands()
    assert tests in (ROOT / ".ci" / "run").read_text()


def test_readme_is_a_front_page_of_at_most_150_lines():
    lines = (ROOT / "README.md").read_text().splitlines()
    assert len(lines) <= 150, f"README.md has {len(lines)} lines; the rest belongs in docs/"
