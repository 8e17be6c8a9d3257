"""Face detection for the `detection_face` dynamic metadata (reference §2.7).

Offline with OpenCV's Haar cascade (opencv-python-headless, a dev/local dependency); on AWS,
FACE_DETECTION=rekognition uses Amazon Rekognition instead, so the Lambda package stays small.
The largest face wins; its box is stored in source pixels, like rokka's.
"""
from __future__ import annotations

import io

from chalicelib.errors import BadRequest, RokkaError
from chalicelib.limits import MAX_DETECTION_SIDE



class FaceDetectionUnavailable(RokkaError):
    status = 501


def detect(data: bytes, backend: str) -> dict:
    """{x, y, width, height} of the largest face in the image bytes; BadRequest when none."""
    if backend == "rekognition":
        faces = _rekognition_faces(data)
    elif backend == "opencv":
        faces = _opencv_faces(data)
    else:
        raise FaceDetectionUnavailable("Face detection is switched off on this server (FACE_DETECTION).")
    if not faces:
        raise BadRequest("No face was found in the image.")
    x, y, w, h = max(faces, key=lambda f: f[2] * f[3])
    return {"x": int(x), "y": int(y), "width": int(w), "height": int(h)}


def _rekognition_faces(data: bytes) -> list[tuple[int, int, int, int]]:
    from PIL import Image

    from chalicelib.storage.aws_rekognition import MAX_BYTES, detect_faces

    image = Image.open(io.BytesIO(data))
    width, height = image.size
    if len(data) > MAX_BYTES or image.format not in ("JPEG", "PNG"):
        image = image.convert("RGB")
        image.thumbnail((2048, 2048))
        buf = io.BytesIO()
        image.save(buf, "JPEG", quality=90)
        data = buf.getvalue()
    return [(round(left * width), round(top * height), round(w * width), round(h * height))
            for left, top, w, h in detect_faces(data)]


def _opencv_faces(data: bytes) -> list[tuple[int, int, int, int]]:
    try:
        import cv2
        import numpy
    except ImportError:
        raise FaceDetectionUnavailable(
            "Offline face detection needs opencv-python-headless; on AWS set FACE_DETECTION=rekognition.") from None
    from PIL import Image, ImageOps

    image = ImageOps.exif_transpose(Image.open(io.BytesIO(data))).convert("L")
    scale = min(1.0, MAX_DETECTION_SIDE / max(image.size))
    if scale < 1:
        image = image.resize((round(image.width * scale), round(image.height * scale)))
    cascade = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")
    found = cascade.detectMultiScale(numpy.asarray(image), scaleFactor=1.1, minNeighbors=4, minSize=(24, 24))
    return [tuple(round(v / scale) for v in box) for box in found]
