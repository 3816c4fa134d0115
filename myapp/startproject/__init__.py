"""``myapp_startproject``: a new async Pyramid project from the cookiecutter template shipped here.

    myapp_startproject [--no-input] [--output-dir DIR] [key=value ...]

The template is ``template/`` next to this file (``python -c "import myapp.startproject as s;
print(s.TEMPLATE)"`` prints its path, for ``cookiecutter PATH``).  Its post-generation hook
copies myapp.aio into the new package, so the adapter's code exists once, here.
"""

import argparse
import logging
import os
import sys

TEMPLATE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "template")


def parse(argv):
    parser = argparse.ArgumentParser(
        prog="myapp_startproject",
        description="Make a new Pyramid project whose views may be async def.",
        epilog="Answers: project_name, package_name, repo_name, description, author, "
        "database (sqlalchemy | aiomysql), background_task (no | yes).",
    )
    parser.add_argument("answers", nargs="*", metavar="key=value", help="answers to the template's questions")
    parser.add_argument("--no-input", action="store_true", help="ask nothing: defaults and the answers given")
    parser.add_argument("-o", "--output-dir", default=".", help="where to make the project (default: here)")
    parser.add_argument(
        "-f", "--overwrite-if-exists", action="store_true", help="write into the project's directory even if it exists"
    )
    args = parser.parse_args(argv)
    answers = {}
    for item in args.answers:
        key, sep, value = item.partition("=")
        if not sep or not key:
            parser.error(f"an answer is key=value, not {item!r}")
        answers[key] = value
    return args, answers


def main(argv=None):
    from cookiecutter.exceptions import CookiecutterException, FailedHookException
    from cookiecutter.main import cookiecutter

    args, answers = parse(sys.argv[1:] if argv is None else argv)
    # cookiecutter logs a refusing hook's exit as a traceback; the hook has said why already
    logging.getLogger("cookiecutter.hooks").setLevel(logging.CRITICAL)
    try:
        path = cookiecutter(
            TEMPLATE,
            no_input=args.no_input,
            extra_context=answers,
            output_dir=args.output_dir,
            overwrite_if_exists=args.overwrite_if_exists,
        )
    except FailedHookException:
        # the hook printed why; cookiecutter removed what it had made
        sys.exit("myapp_startproject: no project made (see the error above)")
    except CookiecutterException as exc:
        sys.exit(f"myapp_startproject: {exc}")
    print(f"Made {path}: its README.md says how to run and test it.")
