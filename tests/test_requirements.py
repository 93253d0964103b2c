from pathlib import Path

import pytest

from lambda_tasks.sources.requirements import (
    Line,
    direct_reference,
    direct_references,
    included_files,
    index_option_lines,
    read_lines,
    requirement_lines,
    requirements_digest,
)


def test_lines_and_includes(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "base.txt").write_text("six  # comment\n-c constraints.txt\n")
    (tmp_path / "sub" / "constraints.txt").write_text("six<2\n")
    main = tmp_path / "requirements.txt"
    main.write_text("# top\n\n-r sub/base.txt\n--requirement=sub/base.txt\nrequests\n-r https://example.invalid/x.txt\n")
    assert requirement_lines(main)[-2:] == ["requests", "-r https://example.invalid/x.txt"]
    assert included_files(main) == [main, (tmp_path / "sub" / "base.txt").resolve(),
                                    (tmp_path / "sub" / "constraints.txt").resolve()]
    before = requirements_digest(main)
    (tmp_path / "sub" / "constraints.txt").write_text("six<1.16\n")
    assert requirements_digest(main) != before
    assert requirements_digest(tmp_path / "missing.txt") is None


def test_continuations_and_comments(tmp_path):
    path = tmp_path / "requirements.txt"
    path.write_text("six \\\n  >=1.0\t# tab comment\n# whole line \\\nrequests\nurl#fragment-is-not-a-comment\n")
    assert [(line.number, line.text) for line in read_lines(path)] == [
        (1, "six   >=1.0"), (4, "requests"), (5, "url#fragment-is-not-a-comment")]


def local_directories(path: Path) -> list[Path]:
    return list(dict.fromkeys(Path(r.location) for r in direct_references(path) if r.kind == "directory"))


def test_local_requirement_directories_follow_includes(tmp_path):
    for name in ("a", "b", "c", "d", "e"):
        (tmp_path / "pkgs" / name).mkdir(parents=True)
    (tmp_path / "reqs").mkdir()
    (tmp_path / "reqs" / "more.txt").write_text("../pkgs/c  # relative to this file\n-e ../pkgs/d\n")
    main = tmp_path / "requirements.txt"
    main.write_text(f"./pkgs/a\nb @ {(tmp_path / 'pkgs' / 'b').as_uri()}\n-r reqs/more.txt\n"
                    f"file://{tmp_path / 'pkgs' / 'e'} ; python_version >= '3.11'\nsix\n./pkgs/a/\n"
                    "git+https://example.invalid/x.git#egg=x\n")
    assert local_directories(main) == [(tmp_path / "pkgs" / name).resolve() for name in "abcde"]
    assert local_directories(tmp_path / "missing.txt") == []


def test_direct_references_are_told_apart(tmp_path):
    (tmp_path / "pkg").mkdir()
    main = tmp_path / "requirements.txt"

    def ref(text):
        return direct_reference(Line(main, 1, text))

    assert ref("six>=1") is None and ref("--index-url https://x/simple") is None and ref("zope.interface") is None
    local = ref("./pkg[extra] ; python_version >= '3.11'")
    assert (local.kind, local.location, local.extras, local.marker) == (
        "directory", str((tmp_path / "pkg").resolve()), "[extra]", "python_version >= '3.11'")
    assert ref("-e ./pkg").editable and ref("./nothere").kind == "missing"
    vcs = ref("name[x] @ git+https://${TOKEN}@github.com/o/r.git@v1 ; sys_platform == 'linux'")
    assert (vcs.kind, vcs.name, vcs.extras, vcs.location, vcs.marker, vcs.named) == (
        "vcs", "name", "[x]", "git+https://${TOKEN}@github.com/o/r.git@v1", "sys_platform == 'linux'", True)
    egg = ref("-e git+https://github.com/o/r.git#egg=thing")
    assert (egg.kind, egg.name, egg.named, egg.editable) == ("vcs", "thing", False, True)
    assert ref("https://host/x-1.0-py3-none-any.whl").kind == "wheel"
    assert ref("x @ https://host/x-1.0.tar.gz").kind == "url"


def test_index_options_from_every_included_file(tmp_path):
    (tmp_path / "links").mkdir()
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "base.txt").write_text("--extra-index-url https://${USER_TOKEN}@x/simple\n-f ../links\nsix\n")
    main = tmp_path / "requirements.txt"
    main.write_text("-i https://pypi.example/simple\n--no-index\n-r sub/base.txt\n--trusted-host x\n--pre\n"
                    "--only-binary :all:\nrequests\n")
    assert index_option_lines(main) == [
        "-i https://pypi.example/simple", "--no-index", "--extra-index-url https://${USER_TOKEN}@x/simple",
        f"-f {(tmp_path / 'links').resolve()}", "--trusted-host x", "--pre"]


def test_a_missing_requirements_file_is_an_error_unless_it_is_the_default(tmp_path):
    from factory import resolve_project as resolve

    from lambda_tasks.config import load_settings
    from lambda_tasks.errors import ResolveError
    from lambda_tasks.report import Reporter

    (tmp_path / "app.py").write_text("")
    assert resolve(load_settings(tmp_path, {}, {"runtime": "python3.12"}), Reporter()) == []
    settings = load_settings(tmp_path, {}, {"runtime": "python3.12", "requirements": "requirements/prod.txt"})
    with pytest.raises(ResolveError) as error:
        resolve(settings, Reporter())
    assert str(error.value) == ("requirements file requirements/prod.txt does not exist; check the requirements "
                                f"setting\n  looked for {tmp_path / 'requirements' / 'prod.txt'}")
