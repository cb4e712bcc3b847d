"""Dependencies point one way: blueprints/ and workers/ -> komet/<feature>/ -> komet/web/ -> the
kernel -> komet/models/. Read from the source's own imports, so a new upward import fails here."""
import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
KOMET = ROOT / "komet"
FEATURES = {p.name for p in KOMET.iterdir() if p.is_dir() and p.name not in ("web", "models", "__pycache__")}
# The composition root builds the app from every layer (create_app registers the blueprints).
COMPOSITION_ROOT = {KOMET / "__init__.py", KOMET / "cli.py", KOMET / "demo.py"}


def imports_of(path):
    names = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names += [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
    return names


def layer_of(path):
    parts = path.relative_to(KOMET).parts
    return parts[0] if len(parts) > 1 else "kernel"


def test_komet_never_imports_workers_and_only_the_factory_imports_blueprints():
    upward = [f"{path.relative_to(ROOT)} imports {name}" for path in sorted(KOMET.rglob("*.py"))
              for name in imports_of(path)
              if name.split(".")[0] == "workers" or (name.split(".")[0] == "blueprints" and path not in COMPOSITION_ROOT)]
    assert not upward, "\n".join(upward)


def test_the_kernel_the_web_kit_and_the_models_never_import_a_feature():
    upward = []
    for path in sorted(KOMET.rglob("*.py")):
        if path in COMPOSITION_ROOT or layer_of(path) not in ("kernel", "web", "models"):
            continue
        for name in imports_of(path):
            parts = name.split(".")
            if parts[0] == "komet" and len(parts) > 1 and parts[1] in FEATURES:
                upward.append(f"{path.relative_to(ROOT)} imports {name}")
    assert not upward, "\n".join(upward)


def test_the_models_import_nothing_of_the_app_above_them():
    upward = [f"{path.relative_to(ROOT)} imports {name}" for path in sorted((KOMET / "models").rglob("*.py"))
              for name in imports_of(path)
              if name.startswith("komet.") and not name.startswith(("komet.models", "komet.extensions", "komet.clock"))]
    assert not upward, "\n".join(upward)


def test_views_never_touch_the_database_session():
    touching = []
    for path in sorted((ROOT / "blueprints").rglob("*.py")):
        source = path.read_text()
        if "komet.extensions import db" in source or "db.session" in source:
            touching.append(str(path.relative_to(ROOT)))
    assert not touching, "views that touch db (komet/ functions own the transaction): " + ", ".join(touching)
