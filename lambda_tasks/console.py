"""The console script's Invoke Program: only ``--help`` and ``--version`` before the command, our flags'
placeholders in its help (``cli.py`` runs it)."""

from __future__ import annotations

import inspect

from invoke.parser.argument import Argument
from invoke.program import Program


class ConsoleProgram(Program):
    """Invoke's Program over our collection, with only ``--help`` and ``--version`` before the command. Its help
    shows each flag's placeholder (``--project-dir=DIR``); parse errors are ours (``tasks.explain``)."""

    def core_args(self) -> list[Argument]:
        return [Argument(names=("help", "h"), optional=True, help="show the commands, or a command's flags "
                         "(--help build), and exit"),
                Argument(names=("version", "V"), kind=bool, default=False, help="print the version and exit")]

    def task_args(self) -> list[Argument]:
        return []

    def parse_core_args(self) -> None:
        super().parse_core_args()
        # Invoke's own code reads its other core options (echo, pty, ...): they are there, at their defaults,
        # but not parsed, so `-d` or `--prompt-for-sudo-password` is an unknown flag, not a silent switch
        args = self.core[0].args
        for argument in Program.core_args(self):
            if argument.name not in args:
                args[argument.name] = argument

    def print_help(self) -> None:
        print(f"Usage: {self.binary} [--help] [--version] <command> [flags]   ({self.binary} --help <command>: "
              "its flags)\n\nOptions:\n")
        self.print_columns(self.initial_context.help_tuples())
        self.list_tasks()

    def print_task_help(self, name: str) -> None:
        print(f"Usage: {self.binary} {name} [flags]\n")
        for line in (inspect.getdoc(self.collection[name]) or "").splitlines():
            print(self.leading_indent + line if line.strip() else "")
        print("\nFlags:\n")
        self.print_columns(self.parser.contexts[name].help_tuples())
