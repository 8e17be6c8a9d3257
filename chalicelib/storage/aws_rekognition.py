"""Amazon Rekognition face detection (FACE_DETECTION=rekognition)."""
from __future__ import annotations

from chalicelib.errors import BadRequest
from chalicelib.limits import REKOGNITION_MAX_BYTES
from chalicelib.storage.aws_clients import client

MAX_BYTES = REKOGNITION_MAX_BYTES


def detect_faces(data: bytes) -> list[tuple[float, float, float, float]]:
    """Face boxes (left, top, width, height) as fractions of the image (JPEG or PNG bytes)."""
    rekognition = client("rekognition")
    try:
        faces = rekognition.detect_faces(Image={"Bytes": data}, Attributes=["DEFAULT"])["FaceDetails"]
    except rekognition.exceptions.InvalidImageFormatException:
        raise BadRequest("Rekognition could not read the image.") from None
    return [(f["BoundingBox"]["Left"], f["BoundingBox"]["Top"], f["BoundingBox"]["Width"], f["BoundingBox"]["Height"])
            for f in faces]
