"""Lambda's hard numbers, in one place (see shared/LAMBDA.md; AWS's "MB" is 1,048,576 bytes)."""

from __future__ import annotations

MB = 1_048_576

#: A zip sent inline (``ZipFile=``) to CreateFunction, UpdateFunctionCode or PublishLayerVersion.
INLINE_ZIP_BYTES = 50 * MB  # 52,428,800
#: One archive unzipped, and the function plus all its layers unzipped, added up.
UNZIPPED_BYTES = 250 * MB  # 262,144,000
#: Layers attached to one function.
MAX_LAYERS = 5
#: PublishLayerVersion's Description field.
LAYER_DESCRIPTION_CHARS = 256
#: A container image (PackageType=Image), uncompressed, all layers together.
IMAGE_BYTES = 10 * 1024 * MB  # 10,737,418,240
#: A synchronous invocation's payload (the event): the largest event a function can be given.
PAYLOAD_BYTES = 6 * MB
