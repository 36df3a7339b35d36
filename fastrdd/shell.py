"""The interactive shell: ``fastrdd`` or ``python -m fastrdd``, with ``sc`` ready.

Like PySpark's ``./pyspark``: IPython when it is installed (and not
refused with ``--no-ipython``), the plain Python REPL otherwise.
"""
import argparse
import code
import os
import platform
import sys

BANNER = r"""Welcome to
   ___         __  ___  ___  ___
  / _/__ ____ / /_/ _ \/ _ \/ _ \
 / _/ _ `(_-</ __/ , _/ // / // /
/_/ \_,_/___/\__/_/|_/____/____/   version {version}

Using Python version {python} ({build})
SparkContext available as 'sc' (master = {master}, app id = {app_id}).
"""


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="fastrdd", description="fastrdd interactive shell")
    parser.add_argument("--master", default=os.environ.get("MASTER", "local[*]"),
                        help="master URL: local, local[N], local[*], local[N,F] (default local[*])")
    parser.add_argument("--name", default="fastrdd-shell", help="application name")
    parser.add_argument("--conf", action="append", default=[], metavar="KEY=VALUE",
                        help="a configuration property (repeatable)")
    parser.add_argument("--no-ipython", action="store_true", help="use the plain Python REPL")
    parser.add_argument("script", nargs="?", help="run this file with sc defined instead of a shell")
    return parser.parse_args(argv)


def make_context(args):
    from fastrdd import SparkConf, SparkContext

    conf = SparkConf().setMaster(args.master).setAppName(args.name)
    for item in args.conf:
        key, sep, value = item.partition("=")
        if not sep:
            raise SystemExit(f"--conf expects KEY=VALUE, got {item!r}")
        conf.set(key, value)
    return SparkContext(conf=conf)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["ui"]:  # fastrdd ui EVENTLOG: a past run's web UI
        from fastrdd.ui.history import main as ui_main

        return ui_main(argv[1:])
    args = parse_args(argv)
    sc = make_context(args)
    namespace = {"sc": sc, "__name__": "__main__"}
    try:
        if args.script:
            with open(args.script) as f:
                source = f.read()
            namespace["__file__"] = args.script
            exec(compile(source, args.script, "exec"), namespace)
            return 0
        banner = BANNER.format(version=sc.version, python=platform.python_version(),
                               build=platform.python_build()[1], master=sc.master,
                               app_id=sc.applicationId)
        if not args.no_ipython:
            try:
                import IPython
            except ImportError:
                pass
            else:
                print(banner)
                IPython.start_ipython(argv=[], user_ns=namespace)
                return 0
        code.interact(banner=banner, local=namespace, exitmsg="")
        return 0
    finally:
        sc.stop()
