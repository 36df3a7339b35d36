"""Fail when an engine module grows past its budget (STYLE.md, habit A.6).

Lines of code exclude blank lines, comments and docstrings, so a module
that is long because it documents its API (rdd.py) is not penalised.
"""
import ast
import io
import pathlib
import sys
import tokenize

BUDGET = 700
ROOT = pathlib.Path(__file__).resolve().parent.parent / "fastrdd"


def code_lines(path):
    source = path.read_text()
    doc_lines = set()
    for node in ast.walk(ast.parse(source)):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr) \
                and isinstance(getattr(body[0], "value", None), ast.Constant) \
                and isinstance(body[0].value.value, str):
            doc_lines.update(range(body[0].lineno, body[0].end_lineno + 1))
    lines = set()
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type not in (tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT,
                            tokenize.DEDENT, tokenize.ENDMARKER):
            lines.update(range(tok.start[0], tok.end[0] + 1))
    return len(lines - doc_lines)


def main():
    over = []
    for path in sorted(ROOT.rglob("*.py")) + sorted(ROOT.rglob("*.pyx")):
        if path.suffix == ".pyx":
            n = sum(1 for l in path.read_text().splitlines() if l.strip() and not l.strip().startswith("#"))
        else:
            n = code_lines(path)
        if n > BUDGET:
            over.append(f"{path.relative_to(ROOT.parent)}: {n} lines of code (budget {BUDGET})")
    if over:
        print("\n".join(over))
        return 1
    print(f"line budget ok: every module under {BUDGET} lines of code")
    return 0


if __name__ == "__main__":
    sys.exit(main())
