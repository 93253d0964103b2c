"""The write protocol's decisions (deploy/revisions.py, pure): each one on its own, then the protocol played out
over every schedule of two deploys' writes, against a model of Lambda's revisions."""

from __future__ import annotations

import itertools
import random

import pytest

from lambda_tasks.deploy import revisions
from lambda_tasks.deploy.revisions import Reading, after_code_write, after_config_write, foreign_changes, next_move

DESIRED = {"MemorySize": 256, "Environment": {"Variables": {"WHO": "a"}}}
MINE = {"CodeSha256": "A", "MemorySize": 256, "Environment": {"Variables": {"WHO": "a"}}, "RevisionId": "r1"}


def test_foreign_changes_are_what_we_are_not_about_to_write() -> None:
    assert foreign_changes(MINE, DESIRED, "A", pending_code=False, pending_config=()) == []
    theirs = {**MINE, "CodeSha256": "B"}
    assert foreign_changes(theirs, DESIRED, "A", pending_code=False, pending_config=()) == ["code"]
    assert foreign_changes(theirs, DESIRED, "A", pending_code=True, pending_config=()) == []
    half = {**MINE, "MemorySize": 512}
    assert foreign_changes(half, DESIRED, "A", pending_code=False, pending_config=["MemorySize"]) == []
    assert foreign_changes(half, DESIRED, "A", pending_code=False, pending_config=()) == ["MemorySize"]
    # an image's code is not known before it is pushed: only its configuration is checked
    assert foreign_changes(theirs, DESIRED, "", pending_code=False, pending_config=()) == []


def test_a_reading_says_what_of_our_intent_the_function_holds() -> None:
    read = revisions.reading({**MINE, "MemorySize": 512}, DESIRED, code=False)
    assert read == Reading(False, ("MemorySize",)) and read.revision == "r1" and not read.whole
    assert revisions.reading(MINE, DESIRED, code=True).whole
    # the revision is not part of what a reading says: the same holding at another revision is equal
    assert Reading(True, (), "r1") == Reading(True, (), "r9")


def test_a_write_leaves_its_own_component_whole_and_the_other_as_it_was_read() -> None:
    before = Reading(False, ("MemorySize", "Environment"))
    assert after_code_write(before) == Reading(True, ("MemorySize", "Environment"))
    assert after_config_write(before) == Reading(False, ())
    assert after_config_write(after_code_write(before)).whole


def test_our_whole_intent_in_place_is_done_whatever_the_count() -> None:
    for conflicts in (1, revisions.ATTEMPTS, revisions.MAX_CONFLICTS + 5):
        assert next_move(Reading(True, ()), conflicts=conflicts, outcome=None) == "done"


def test_while_attempts_are_left_the_comparison_starts_again() -> None:
    theirs = Reading(False, ("MemorySize",))
    for conflicts in range(1, revisions.ATTEMPTS):
        assert next_move(theirs, conflicts=conflicts, outcome=None) == "again"


def test_attempts_used_up_and_the_newest_write_ours_finishes_the_intent() -> None:
    """Our code beside the other deploy's configuration, as our code write left it: nobody wrote after us, so
    stopping would leave the mix for good."""
    mixed = Reading(True, ("MemorySize", "Environment"))
    outcome = after_code_write(Reading(False, ("MemorySize", "Environment")))
    assert next_move(mixed, conflicts=revisions.ATTEMPTS, outcome=outcome) == "finish"
    # the other way round: our configuration beside their code, as our configuration write left it
    assert next_move(Reading(False, ()), conflicts=revisions.ATTEMPTS,
                     outcome=after_config_write(Reading(False, ("MemorySize",)))) == "finish"


def test_attempts_used_up_and_another_write_after_ours_fails() -> None:
    """The function no longer holds what our last write left: another deploy wrote after it, and that deploy's
    read-back sees the function as it is (it finishes or restores); we fail."""
    our_code_written = after_code_write(Reading(False, ("MemorySize",)))
    assert next_move(Reading(False, ("MemorySize",)), conflicts=revisions.ATTEMPTS,
                     outcome=our_code_written) == "fail"
    assert next_move(Reading(False, ()), conflicts=revisions.ATTEMPTS, outcome=our_code_written) == "fail"
    # nothing written by us at all
    assert next_move(Reading(False, ("MemorySize",)), conflicts=revisions.ATTEMPTS, outcome=None) == "fail"


def test_finishing_has_a_bound_too() -> None:
    mixed = Reading(True, ("MemorySize",))
    assert next_move(mixed, conflicts=revisions.MAX_CONFLICTS - 1, outcome=mixed) == "finish"
    assert next_move(mixed, conflicts=revisions.MAX_CONFLICTS, outcome=mixed) == "fail"


@pytest.mark.parametrize(("read", "what"), [
    (Reading(False, ()), "its code while"),
    (Reading(True, ("MemorySize", "Environment")), "its configuration (MemorySize, Environment) while"),
    (Reading(False, ("Environment",)), "its code and configuration (Environment) while"),
])
def test_the_losers_message_names_exactly_what_the_other_deploy_changed(read: Reading, what: str) -> None:
    first, second = revisions.conflict_line("shop-api", "eu-west-1", read).splitlines()
    assert first.startswith("function shop-api in eu-west-1: not deployed: another deploy changed ")
    assert what in first and first.endswith("3 times") and len(first) < 160
    assert second.startswith("  ") and "run this deploy again" in second
    replaced = revisions.replaced_line("shop-api", "eu-west-1", read).splitlines()[0]
    assert what.replace(" while", " after this one wrote it") in replaced


# ---------------------------------------------------------------- the protocol played out


class Lambda:
    """A model of one function: (code, configuration) as (deploy name, deploy name), and a revision that every
    write moves; a write against another revision is refused (PreconditionFailedException)."""

    def __init__(self) -> None:
        self.code, self.config, self.revision, self.last = "init", "init", 0, ""


class Deploy:
    """One deploy's writes as function_writes.py makes them, one step at a time (``step`` returns False once done):
    read, code write, read back, configuration write, the last read; on a conflict, ``decide`` (next_move)."""

    def __init__(self, name: str, fn: Lambda, decide=next_move) -> None:
        self.name, self.fn, self.decide = name, fn, decide
        self.conflicts, self.outcome, self.result, self.lost = 0, None, "", False
        self.plan = self._program()

    def reading(self) -> Reading:
        return Reading(self.fn.code == self.name, () if self.fn.config == self.name else ("MemorySize",),
                       str(self.fn.revision))

    def step(self, lost: bool = False) -> bool:
        """One step; ``lost``: a write in it lands but its answer is lost (botocore sends it again, and the
        second copy is refused: the deploy sees a conflict)."""
        self.lost = lost
        return next(self.plan, None) is not None

    def _write(self, part: str, revision: int, before: Reading) -> bool:
        self.outcome = after_code_write(before) if part == "code" else after_config_write(before)
        if self.fn.revision != revision:
            return False
        setattr(self.fn, part, self.name)
        self.fn.revision += 1
        self.fn.last = self.name
        return not self.lost

    def _program(self):
        while True:
            read, revision = self.reading(), self.fn.revision  # compare (and settle)
            yield "read"
            ok = True
            if not read.code:
                ok = self._write("code", revision, read)
                yield "code"
                if ok:
                    back = self.reading()  # read back: a foreign configuration is ours to overwrite anyway
                    ok, revision, read = back.code, self.fn.revision, back
                    yield "read back"
            if ok and read.config:
                ok = self._write("config", revision, read)
                yield "config"
            if ok and self.reading().whole:  # the last read
                self.result = "ok"
                return
            self.conflicts += 1
            move = self.decide(self.reading(), conflicts=self.conflicts, outcome=self.outcome)
            yield "conflict"
            if move == "fail":
                self.result = "fail"
                return


def play(schedule, decide=next_move) -> tuple[Lambda, dict[str, Deploy]]:
    """Two deploys, a and b, stepped as ``schedule`` says ((who, answer lost), ...), then each alone to its end."""
    fn = Lambda()
    deploys = {name: Deploy(name, fn, decide) for name in "ab"}
    running = {"a", "b"}
    for who, lost in [*schedule, *[("a", False)] * 500, *[("b", False)] * 500]:
        if who in running and not deploys[who].step(lost):
            running.discard(who)
        if not running:
            return fn, deploys
    raise AssertionError(f"a deploy did not end: {schedule}")


def schedules():
    """Every order of the first 12 steps, then 3000 random ones of 60 steps where a write's answer is lost now
    and then (seeded)."""
    yield from ([(who, False) for who in order] for order in itertools.product("ab", repeat=12))
    rng = random.Random(28)
    for _ in range(3000):
        yield [(rng.choice("ab"), rng.random() < 0.1) for _ in range(60)]


def test_every_schedule_of_two_deploys_ends_as_the_last_writers_whole_intent() -> None:
    """The function ends as one deploy's whole intent, the deploy that wrote last, which says ok (a deploy says ok
    only after a read showing its whole intent); the give-up path is reached both ways."""
    finished = failed = 0
    for schedule in schedules():
        fn, deploys = play(schedule)
        assert fn.code == fn.config == fn.last, (schedule, vars(fn))
        assert deploys[fn.last].result == "ok", schedule
        failed += sum(deploy.result == "fail" for deploy in deploys.values())
        finished += any(d.conflicts >= revisions.ATTEMPTS and d.result == "ok" for d in deploys.values())
    assert failed > 100 and finished > 100


def test_giving_up_at_the_attempts_whatever_the_function_holds_leaves_mixes() -> None:
    """The rule before issue 28 was closed, for contrast: a deploy whose own write was the newest (its answer
    lost, so it looked like another's) gave up and left the function with its code and the other's
    configuration."""

    def give_up(read: Reading, *, conflicts: int, outcome: Reading | None) -> str:
        return "done" if read.whole else "again" if conflicts < revisions.ATTEMPTS else "fail"

    mixed = sum(fn.code != fn.config for fn, _ in (play(schedule, give_up) for schedule in schedules()))
    assert mixed > 10
