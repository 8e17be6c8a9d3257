"""Python SDK for rokka-compatible image services (rokka.io and this repository's server).

    from rokka_client import Client
    c = Client("http://127.0.0.1:8000", api_key="...", org="myorg")
    image = c.upload_path("photo.jpg")
    for img in c.search({"user:str:album": "holidays"}):
        print(c.render_url("dynamic/resize-width-200", img["hash"], "jpg"))
"""
from rokka_client.client import Client
from rokka_client.errors import RokkaApiError, RokkaError
from rokka_client.signing import sign_url

__all__ = ["Client", "RokkaApiError", "RokkaError", "sign_url"]
