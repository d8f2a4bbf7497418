"""Writes a deeply nested or very long flow expression to stdout.

Usage: python3 deep.py SHAPE N   (SHAPE: paren, plus, or, not, field, ifstep)
The files in this folder are `deep.py SHAPE N` at the smallest N that
overflows the stack of the AddressSanitizer fuzz build.
"""
import sys

shape, n = sys.argv[1], int(sys.argv[2])
texts = {
    "paren": lambda: "fn f() -> int = " + "(" * n + "1" + ")" * n,
    "plus": lambda: "fn f() -> int = " + "1+" * n + "1",
    "or": lambda: "fn f() -> bool = " + "true or " * n + "true",
    "not": lambda: "fn f() -> bool = " + "not " * n + "true",
    "field": lambda: "record r { a: r }\nfn f(x: r) -> r = x" + ".a" * n,
    "ifstep": lambda: "record c { n: int }\nrule r when c is created\n" + "if true\n" * n + "end\n" * n + "end",
}
print(texts[shape]())
