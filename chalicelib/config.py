"""Settings from environment variables, read and validated once."""
from __future__ import annotations

import hashlib
import hmac
import os
from dataclasses import dataclass
from functools import lru_cache

from chalicelib import limits
from chalicelib.errors import RokkaError


def _bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    low = raw.strip().lower()
    if low in ("1", "true", "yes", "on"):
        return True
    if low in ("0", "false", "no", "off"):
        return False
    raise RokkaError(f"Configuration {name}={raw!r} is not a boolean")


def _float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise RokkaError(f"Configuration {name}={raw!r} is not a number") from None
    if not value > 0:
        raise RokkaError(f"Configuration {name}={raw!r} must be positive")
    return value


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise RokkaError(f"Configuration {name}={raw!r} is not an integer") from None


DEV_PEPPER = "local-development-pepper"


def derived_secret(pepper: str, purpose: str) -> str:
    """A separate secret per purpose from KEY_PEPPER, so one leaked secret does not give the others."""
    return hmac.new(pepper.encode(), f"rokka-clone:{purpose}".encode(), hashlib.sha256).hexdigest()


def _choice(name: str, default: str, choices: tuple) -> str:
    value = (os.environ.get(name) or default).strip().lower()
    if value not in choices:
        raise RokkaError(f"Configuration {name}={value!r} must be one of {', '.join(choices)}")
    return value


def _networks(name: str) -> tuple:
    import ipaddress
    raw = os.environ.get(name, "")
    try:
        return tuple(ipaddress.ip_network(n.strip(), strict=False) for n in raw.split(",") if n.strip())
    except ValueError:
        raise RokkaError(f"Configuration {name}={raw!r} is not a comma list of networks") from None


@dataclass(frozen=True)
class Settings:
    storage: str  # "local" (files + SQLite) or "aws"
    data_dir: str
    allow_signup: bool
    # Secret mixed into the HMAC that stores API keys; set it in every deployment.
    key_pepper: str
    max_upload_bytes: int
    max_source_pixels: int
    max_output_pixels: int
    max_operations: int
    max_dimension: int
    # Wall-clock budget of one render, checked between operations and frames; over it → 503.
    render_timeout_seconds: float
    # AWS adapters (STORAGE=aws).
    sources_bucket: str
    renders_bucket: str
    table_prefix: str
    cloudfront_distribution_id: str
    # Dev switch: create missing tables and buckets (moto, a sandbox account); off when deployed.
    create_resources: bool
    # The render host (e.g. images.example.com); oversize renders redirect there.
    render_domain: str
    # Upload by URL: time limit, and networks that may be fetched although they are not public.
    fetch_timeout: float
    fetch_allowed_networks: tuple
    # detection_face backend: "opencv" (offline), "rekognition" (AWS) or "off".
    face_detection: str
    # Largest render returned inline by the render Lambda (6 MB payload limit, base64 is 4/3).
    max_inline_bytes: int
    # HS256 secret of the JWTs from GET /user/apikeys/token; derived from KEY_PEPPER unless set.
    jwt_secret: str
    # Video sources (render/formats_video.py): longest duration, and width x height x frame rate.
    max_video_seconds: float
    max_video_pixels_per_second: int
    # Keep what renders decode at a reduced DCT scale beside the original (services/reduced_decodes.py).
    reduced_decodes: bool = True
    # GET /sourceimages/{org}/download: most original bytes per zip (on AWS the Lambda payload limit).
    max_zip_bytes: int = limits.DEFAULT_MAX_ZIP_BYTES_AWS


@lru_cache(maxsize=1)
def settings() -> Settings:
    storage = os.environ.get("STORAGE", "local").strip().lower()
    if storage not in ("local", "aws"):
        raise RokkaError(f"Configuration STORAGE={storage!r} must be 'local' or 'aws'")
    return Settings(
        storage=storage,
        data_dir=os.path.abspath(os.environ.get("DATA_DIR") or ".data"),
        allow_signup=_bool("ALLOW_SIGNUP", storage == "local"),
        key_pepper=os.environ.get("KEY_PEPPER", DEV_PEPPER),
        # Defaults of the limits: chalicelib/limits.py.
        max_upload_bytes=_int("MAX_UPLOAD_BYTES", limits.DEFAULT_MAX_UPLOAD_BYTES),
        max_source_pixels=_int("MAX_SOURCE_PIXELS", limits.DEFAULT_MAX_SOURCE_PIXELS),
        max_output_pixels=_int("MAX_OUTPUT_PIXELS", limits.DEFAULT_MAX_OUTPUT_PIXELS),
        max_operations=_int("MAX_OPERATIONS", limits.DEFAULT_MAX_OPERATIONS),
        max_dimension=_int("MAX_DIMENSION", limits.DEFAULT_MAX_DIMENSION),
        render_timeout_seconds=_float("RENDER_TIMEOUT_SECONDS", limits.DEFAULT_RENDER_TIMEOUT_SECONDS),
        sources_bucket=os.environ.get("SOURCES_BUCKET", "rokka-sources"),
        renders_bucket=os.environ.get("RENDERS_BUCKET", "rokka-renders"),
        table_prefix=os.environ.get("TABLE_PREFIX", "rokka-"),
        cloudfront_distribution_id=os.environ.get("CLOUDFRONT_DISTRIBUTION_ID", ""),
        create_resources=_bool("AWS_CREATE_RESOURCES", False),
        render_domain=os.environ.get("RENDER_DOMAIN", ""),
        max_inline_bytes=_int("RENDER_MAX_INLINE_BYTES", limits.DEFAULT_MAX_INLINE_BYTES),
        fetch_timeout=float(_int("FETCH_TIMEOUT_SECONDS", limits.DEFAULT_FETCH_TIMEOUT_SECONDS)),
        face_detection=_choice("FACE_DETECTION", "opencv" if storage == "local" else "rekognition",
                               ("opencv", "rekognition", "off")),
        fetch_allowed_networks=_networks("FETCH_ALLOWED_NETWORKS"),
        max_video_seconds=_float("MAX_VIDEO_SECONDS", limits.DEFAULT_MAX_VIDEO_SECONDS),
        max_video_pixels_per_second=_int("MAX_VIDEO_PIXELS_PER_SECOND", limits.DEFAULT_MAX_VIDEO_PIXELS_PER_SECOND),
        jwt_secret=os.environ.get("JWT_SECRET") or derived_secret(os.environ.get("KEY_PEPPER", DEV_PEPPER), "jwt"),
        reduced_decodes=_bool("REDUCED_DECODES", storage == "local"),
        max_zip_bytes=_int("DOWNLOAD_MAX_ZIP_BYTES", limits.DEFAULT_MAX_ZIP_BYTES_AWS if storage == "aws"
                            else limits.DEFAULT_MAX_ZIP_BYTES_LOCAL),
    )


class ConfigurationError(RuntimeError):
    """A deployed function that must not start (raised at import, so Lambda reports an init error)."""


MIN_SECRET_LENGTH = 32


def refuse_development_secrets(environ=None) -> None:
    """On Lambda (AWS_LAMBDA_FUNCTION_NAME is set), refuse to start with the development KEY_PEPPER
    or JWT secret, a short one, or a dynamic reference CloudFormation did not resolve.

    A function started with the public development pepper would store API keys under a secret
    anyone can read in this repository; one with an unresolved `{{resolve:...}}` would accept no key."""
    env = os.environ if environ is None else environ
    function = env.get("AWS_LAMBDA_FUNCTION_NAME")
    if not function:
        return
    pepper, jwt = env.get("KEY_PEPPER", ""), env.get("JWT_SECRET", "")
    problems = []
    if not pepper or pepper == DEV_PEPPER:
        problems.append("KEY_PEPPER is unset or the development pepper")
    elif pepper.startswith("{{resolve:"):
        problems.append(f"KEY_PEPPER is an unresolved dynamic reference ({pepper})")
    elif len(pepper) < MIN_SECRET_LENGTH:
        problems.append(f"KEY_PEPPER is shorter than {MIN_SECRET_LENGTH} characters")
    if jwt and (jwt in (DEV_PEPPER, derived_secret(DEV_PEPPER, "jwt")) or jwt.startswith("{{resolve:")
                or len(jwt) < MIN_SECRET_LENGTH):
        problems.append("JWT_SECRET is the development secret, unresolved or shorter than "
                        f"{MIN_SECRET_LENGTH} characters")
    if problems:
        raise ConfigurationError(
            f"refusing to start {function}: " + "; ".join(problems) + ". Deploy with `make deploy`, which "
            "passes the Secrets Manager secret KeyPepperSecret (see docs/deploy.md).")
