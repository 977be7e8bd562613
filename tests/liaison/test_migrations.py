from tests.helpers import run_manage


def test_models_and_migrations_agree():
    result = run_manage("makemigrations", "--check", "--dry-run", DEBUG="1")
    assert result.returncode == 0, result.stdout + result.stderr
