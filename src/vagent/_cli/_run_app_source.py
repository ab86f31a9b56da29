"""Finding the options of a livekit-agents style file: ``cli.run_app(WorkerOptions(...))``.

Such a file names its entrypoint anything and passes it to ``run_app`` under
``if __name__ == "__main__":``, a block that does not run when ``vagent`` loads the file.
So the call is read from the source instead: the ``run_app`` argument (a
``WorkerOptions(...)`` expression, or a name bound to one) is evaluated in the loaded
module's namespace, exactly as the block would have evaluated it, without running the block.
"""

from __future__ import annotations

import ast
from pathlib import Path
from types import ModuleType
from typing import Any

from vagent._core import ValidationError
from vagent.worker.agent_server import AgentServer
from vagent.worker.options import WorkerOptions


def _is_run_app(node: ast.AST) -> bool:
    if not isinstance(node, ast.Call):
        return False
    func = node.func
    return (isinstance(func, ast.Name) and func.id == "run_app") or (
        isinstance(func, ast.Attribute) and func.attr == "run_app"
    )


def _run_app_argument(call: ast.Call) -> ast.expr | None:
    if call.args:
        return call.args[0]
    return next((kw.value for kw in call.keywords if kw.arg == "opts"), None)


def _assignment_of(tree: ast.Module, name: str) -> ast.expr | None:
    """The last ``name = <expr>`` in the file (the ``__main__`` block's, typically)."""
    found: ast.expr | None = None
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Assign)
            and any(isinstance(target, ast.Name) and target.id == name for target in node.targets)
        ) or (
            isinstance(node, ast.AnnAssign)
            and isinstance(node.target, ast.Name)
            and node.target.id == name
            and node.value is not None
        ):
            found = node.value
    return found


def _block_imports(tree: ast.Module) -> list[ast.stmt]:
    """Import statements below the top level (``from vagent import cli`` inside the
    ``__main__`` block, say): the evaluated expression may need the names they bind."""
    top = set(map(id, tree.body))
    return [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom) and id(node) not in top
    ]


def _evaluate(expr: ast.expr, tree: ast.Module, module: ModuleType, where: str) -> Any:
    namespace = dict(vars(module))
    code = compile(ast.Expression(expr), where, "eval")
    try:
        imports = ast.Module(body=_block_imports(tree), type_ignores=[])
        exec(compile(imports, where, "exec"), namespace)
        return eval(code, namespace)
    except Exception as exc:
        raise ValidationError(
            f"{where}: cannot evaluate the options passed to run_app "
            f"({ast.unparse(expr)}): {type(exc).__name__}: {exc}"
        ) from exc


def options_from_run_app(module: ModuleType) -> WorkerOptions | None:
    """The ``WorkerOptions`` the module passes to ``run_app``; ``None`` when it calls none."""
    file = getattr(module, "__file__", None)
    if not file:
        return None
    source = Path(file).read_text(encoding="utf-8")
    tree = ast.parse(source, filename=file)
    call = next((node for node in ast.walk(tree) if _is_run_app(node)), None)
    if call is None:
        return None
    assert isinstance(call, ast.Call)
    argument = _run_app_argument(call)
    where = f"{file}:{call.lineno}"
    if argument is None:
        raise ValidationError(f"{where}: run_app() is called without WorkerOptions")
    if isinstance(argument, ast.Name) and argument.id not in vars(module):
        bound = _assignment_of(tree, argument.id)
        if bound is not None:
            argument = bound
    value = _evaluate(argument, tree, module, where)
    if isinstance(value, AgentServer):
        return value.worker_options()
    if not isinstance(value, WorkerOptions):
        raise ValidationError(
            f"{where}: run_app() needs a vagent.AgentServer or WorkerOptions, "
            f"got {type(value).__name__} "
            "(import WorkerOptions and cli from vagent, not livekit.agents)"
        )
    return value
