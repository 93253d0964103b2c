from lambda_tasks.sources.requirements import included_files, requirement_lines, requirements_digest


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
