"""Keep the chosen database layer, drop the other; copy the async adapter into the package."""

import os
import shutil
import sys

PACKAGE = "{{ cookiecutter.package_name }}"
DATABASE = "{{ cookiecutter.database }}"
TASK = "{{ cookiecutter.background_task }}" == "yes"
#: where the template came from: the adapter sits two levels up, in myapp/aio
TEMPLATE_DIR = "{{ cookiecutter._repo_dir }}"

UNUSED = {
    "sqlalchemy": [f"{PACKAGE}/db.py"],
    "aiomysql": [f"{PACKAGE}/models.py", f"{PACKAGE}/alembic"],
}[DATABASE]
if not TASK:
    UNUSED.append(f"{PACKAGE}/tasks.py")


def adapter_source():
    """myapp/aio next to the template, else the installed myapp's."""
    beside = os.path.normpath(os.path.join(TEMPLATE_DIR, "..", "..", "aio"))
    if os.path.isfile(os.path.join(beside, "runtime.py")):
        return beside
    try:
        import myapp.aio
    except ImportError:
        print("ERROR: the async adapter (myapp.aio) was not found: run this template with "
              "myapp_startproject, from an environment where myapp is installed", file=sys.stderr)
        sys.exit(1)
    return os.path.dirname(myapp.aio.__file__)


for path in UNUSED:
    if os.path.isdir(path):
        shutil.rmtree(path)
    elif os.path.exists(path):
        os.remove(path)

target = os.path.join(PACKAGE, "aio")
os.makedirs(target)
for name in sorted(os.listdir(adapter_source())):
    if name.endswith(".py"):
        with open(os.path.join(adapter_source(), name), encoding="utf-8") as f:
            code = f.read()
        with open(os.path.join(target, name), "w", encoding="utf-8") as f:
            f.write(code.replace("myapp.aio", f"{PACKAGE}.aio"))
