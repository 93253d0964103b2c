"""``invoke package``: write a CloudFormation, SAM or Terraform template for the built artifacts and, with
``upload``, put the zips in S3 at the keys it names. The template itself is made in :mod:`.templates`."""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..aws import clients as aws
from ..deploy import preflight as validate
from ..deploy.app_wiring import AppWiring
from ..deploy.layer_publish import Publisher, bucket_for, s3_key, verified_path
from ..errors import DeployError
from ..files import write_atomic
from ..manifest import Manifest
from ..report import Reporter
from ..sections import DeploySettings, FunctionSettings, LayerSettings
from . import templates


@dataclass
class PackageResult:
    template: Path
    functions: list[str] = field(default_factory=list)
    uploaded: list[str] = field(default_factory=list)  # s3://bucket/key of each zip now in S3


def package(function: FunctionSettings, deploy: DeploySettings, settings: LayerSettings, manifest: Manifest,
            fmt: str, out: Path, *, upload: bool = False, reporter: Reporter | None = None,
            clients: aws.Clients | None = None, app: AppWiring | None = None,
            package_type: str = "zip") -> PackageResult:
    """Write ``out/<file>`` for ``fmt`` (see ``templates.FILE_NAMES``); with ``upload``, upload the zips first.
    The functions as ``function`` configures them; the zips where ``settings`` (the layers' section) puts them,
    in ``deploy``'s regions."""
    reporter = reporter or Reporter()
    if fmt not in templates.FORMATS:
        raise DeployError(f"unknown template format {fmt!r}; pick one of {', '.join(templates.FORMATS)}")
    handlers = [spec.handler or function.handler for spec in function.function_specs()]
    checked = _tokens_as_roles(function)
    validate.refuse(validate.deploy_problems(checked, deploy, settings, package_type)
                    + validate.manifest_problems(settings, manifest, handlers))
    if app is not None and app.web is not None and app.web.problems and app.web.routes:
        raise DeployError(f"the REST API cannot be packaged: {app.web.problems[0]}\n  lambda-tasks reads app.py "
                          "without running it: write these values as literals in app.py")
    plan = templates.plan(function, settings, manifest, app)
    result = PackageResult(out / templates.FILE_NAMES[fmt], [f.name for f in plan.functions])
    if upload:
        result.uploaded = upload_artifacts(settings, deploy.regions, manifest, reporter, clients or aws.Clients())
    document = templates.render(fmt, plan)
    write_atomic(result.template, (json.dumps(document, indent=2) + "\n").encode())
    what = f"{len(plan.layers)} layer(s), {len(plan.functions)} function(s)"
    if app is not None and app.web is not None and app.web.routes:
        what += ", the REST API"
    for note in templates.notes(fmt, plan):
        reporter.info(f"package: note: {note}")
    reporter.info(f"package: wrote {_shown(result.template, settings.output_dir)} ({fmt}: {what})")
    if not plan.functions:
        reporter.info("package: no function in it: set function_name or functions (a Chalice app names its own)")
    if not upload:
        where = f"s3://{settings.s3_bucket}/{settings.s3_prefix}" if settings.s3_bucket else "the S3 bucket"
        reporter.info(f"package: it names the zips by content under {where}; upload them with --upload")
    return result


def upload_artifacts(settings: LayerSettings, regions: Sequence[str], manifest: Manifest, reporter: Reporter,
                     clients: aws.Clients) -> list[str]:
    """Put the app zip and every layer zip at their content-addressed keys, in each region's bucket (``regions``:
    the setting; none: boto3's default region)."""
    if not settings.s3_bucket:
        raise DeployError("--upload needs an S3 bucket: set s3_bucket or pass --s3-bucket")
    publisher = Publisher(settings, clients, reporter)
    uploaded = []
    for region in clients.regions(regions):
        bucket = bucket_for(settings, region)
        for artifact in [manifest.app, *manifest.layers]:
            path = verified_path(settings, artifact.path, artifact.sha256)
            key = s3_key(settings, artifact.sha256)
            publisher.upload(region, bucket, key, path, artifact.sha256)
            uploaded.append(f"s3://{bucket}/{key}")
    return uploaded


def _shown(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)


#: A CDK token (``${Token[TOKEN.123]}``): CDK puts the real value in when it synthesizes the stack around the
#: template, so the template passes it through (as chalice package does for iam_role_arn).
CDK_TOKEN = re.compile(r"\$\{Token\[[^\]]+\]\}")
_STAND_IN = "arn:aws:iam::000000000000:role/cdk-token"


def _tokens_as_roles(settings: FunctionSettings) -> FunctionSettings:
    """The settings checked as if each role given as a CDK token were a role ARN (the template keeps the token)."""
    def role(value: str | None) -> str | None:
        return _STAND_IN if value is not None and CDK_TOKEN.fullmatch(value) else value

    specs = tuple(dataclasses.replace(spec, role=role(spec.role)) for spec in settings.functions)
    return dataclasses.replace(settings, role=role(settings.role), functions=specs)
