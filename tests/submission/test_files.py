"""Photos of papers: content checks, metadata stripping, and both storage back ends."""

from __future__ import annotations

import datetime as dt
import io
import re

import httpx
import pytest
from PIL import Image

from motcua.domain.files import images
from motcua.domain.files.images import ImageRefused, clean_image
from motcua.domain.files.storage import LocalStorage, NotFound, S3Storage, new_key, sigv4_headers, storage_from_url

from .helpers import jpeg_with_gps, png_bytes

# --- images -------------------------------------------------------------------------------


def test_photo_is_kept_upright_without_any_exif():
    data = jpeg_with_gps((1600, 1200), orientation=6)
    out = clean_image(data, filename="IMG_0001.JPG", content_type="image/jpeg")
    im = Image.open(io.BytesIO(out.data))
    assert im.format == "JPEG"
    assert dict(im.getexif()) == {}  # no GPS, no camera data
    assert b"GPS" not in out.data and b"Exif" not in out.data
    assert (out.width, out.height) == (1200, 1600)  # orientation 6 = rotate: stored upright


def test_large_photo_is_scaled_to_legible_size():
    out = clean_image(jpeg_with_gps((6000, 4000)), filename="a.jpg")
    assert max(out.width, out.height) == images.MAX_SIDE


def test_png_is_accepted_when_it_says_png():
    out = clean_image(png_bytes((300, 200), alpha=True), filename="scan.png", content_type="image/png")
    assert out.source_format == "png" and out.content_type == "image/jpeg"


@pytest.mark.parametrize("data, filename, content_type, expected", [
    (png_bytes((100, 100)), "giay-khai-sinh.jpg", "image/jpeg", "đuôi .jpg nhưng nội dung là ảnh PNG"),
    (b"<!DOCTYPE html><html><script>alert(1)</script></html>", "anh.jpg", "image/jpeg", "không phải là ảnh"),
    (b"\x00\x01\x02binary", "anh.png", "image/png", "không phải là ảnh"),
    (b"", "a.jpg", "image/jpeg", "Tệp trống"),
    (b"\xff\xd8\xff\xe0" + b"\x00" * 40, "a.jpg", "image/jpeg", "bị hỏng"),
    (b"\x00\x00\x00\x18ftypheic" + b"\x00" * 40, "a.heic", "image/heic", "HEIC"),
])
def test_refused_with_a_clear_message(data, filename, content_type, expected):
    with pytest.raises(ImageRefused) as exc:
        clean_image(data, filename=filename, content_type=content_type)
    assert expected in str(exc.value)


def test_decompression_bomb_is_refused_before_decoding():
    data = png_bytes((10000, 5000), mode="L")  # 50 MP of one colour: tiny file, huge bitmap
    assert len(data) < 1_000_000
    with pytest.raises(ImageRefused, match="50 megapixel"):
        clean_image(data, filename="big.png")


def test_oversized_file_is_refused():
    with pytest.raises(ImageRefused, match="quá lớn"):
        clean_image(b"\xff\xd8\xff" + b"\x00" * images.MAX_BYTES, filename="a.jpg")


# --- storage ------------------------------------------------------------------------------

def test_sigv4_matches_the_published_s3_example():
    """AWS's documented 'GET Object' example (Signature Version 4, header-based auth)."""
    headers = sigv4_headers(
        "GET", "https://examplebucket.s3.amazonaws.com/test.txt",
        {"host": "examplebucket.s3.amazonaws.com", "range": "bytes=0-9"},
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        access_key="AKIAIOSFODNN7EXAMPLE", secret_key="wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        region="us-east-1", now=dt.datetime(2013, 5, 24, tzinfo=dt.UTC))
    assert headers["authorization"] == (
        "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
        "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
        "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41")


async def test_local_storage_round_trip(tmp_path):
    store = LocalStorage(tmp_path)
    key = new_key("ca-mau", "submission", "jpg")
    await store.put(key, b"abc", "image/jpeg")
    assert await store.get(key) == b"abc"
    assert (tmp_path / key).stat().st_mode & 0o077 == 0  # readable by the service only
    await store.delete(key)
    with pytest.raises(NotFound):
        await store.get(key)
    for bad in ("../etc/passwd.jpg", "ca-mau/../../x.jpg", "/abs.jpg"):
        with pytest.raises(ValueError):
            await store.put(bad, b"x", "image/jpeg")


def fake_s3(access_key: str, secret_key: str, region: str):
    """A tiny S3-compatible server: path-style PUT/GET/DELETE, every request's SigV4 checked."""
    objects: dict[str, bytes] = {}
    seen: list[str] = []

    async def app(scope, receive, send):
        if scope["type"] == "lifespan":
            while True:
                msg = await receive()
                if msg["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                else:
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        body = b""
        while True:
            msg = await receive()
            body += msg.get("body", b"")
            if not msg.get("more_body"):
                break
        headers = {k.decode(): v.decode() for k, v in scope["headers"]}
        auth = headers.get("authorization", "")
        signed = re.search(r"SignedHeaders=([^,]+)", auth)
        date = headers.get("x-amz-date", "")
        status, out = 403, b"<Error><Code>SignatureDoesNotMatch</Code></Error>"
        if signed and date:
            names = signed.group(1).split(";")
            raw_path = scope.get("raw_path", scope["path"].encode()).decode()
            expected = sigv4_headers(
                scope["method"], f"http://{headers['host']}{raw_path}",
                {n: headers[n] for n in names if n not in ("x-amz-date", "x-amz-content-sha256")},
                headers["x-amz-content-sha256"], access_key=access_key, secret_key=secret_key, region=region,
                now=dt.datetime.strptime(date, "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.UTC))
            import hashlib

            body_ok = headers["x-amz-content-sha256"] == hashlib.sha256(body).hexdigest()
            if expected["authorization"] == auth and body_ok:
                seen.append(f"{scope['method']} {scope['path']}")
                key = scope["path"]
                if scope["method"] == "PUT":
                    objects[key] = body
                    status, out = 200, b""
                elif scope["method"] == "GET":
                    status, out = (200, objects[key]) if key in objects else (404, b"<Error><Code>NoSuchKey</Code></Error>")
                elif scope["method"] == "DELETE":
                    objects.pop(key, None)
                    status, out = 204, b""
        await send({"type": "http.response.start", "status": status, "headers": [(b"content-length", str(len(out)).encode())]})
        await send({"type": "http.response.body", "body": out})

    return app, objects, seen


async def test_s3_storage_against_an_s3_compatible_server():
    from motcua.onestop.sandbox import serve_app, stop_server

    from ..conftest import free_port

    app, objects, seen = fake_s3("AKTEST", "s3cr3t/key", "ap-southeast-1")
    port = free_port()
    server = await serve_app(app, "127.0.0.1", port)
    try:
        async with httpx.AsyncClient() as http:
            store = storage_from_url(f"s3://giay-to?endpoint=http://127.0.0.1:{port}&region=ap-southeast-1&prefix=motcua",
                                     data_dir=".", env={"MOTCUA_S3_ACCESS_KEY_ID": "AKTEST",
                                                        "MOTCUA_S3_SECRET_ACCESS_KEY": "s3cr3t/key"}, http=http)
            assert isinstance(store, S3Storage)
            key = new_key("an-giang", "submission", "jpg")
            await store.put(key, b"\xff\xd8\xffphoto", "image/jpeg")
            assert objects == {f"/giay-to/motcua/{key}": b"\xff\xd8\xffphoto"}
            assert await store.get(key) == b"\xff\xd8\xffphoto"
            await store.delete(key)
            with pytest.raises(NotFound):
                await store.get(key)
            wrong = S3Storage(bucket="giay-to", endpoint=f"http://127.0.0.1:{port}", region="ap-southeast-1",
                              access_key="AKTEST", secret_key="not-the-key", http=http)
            with pytest.raises(Exception, match="HTTP 403"):
                await wrong.put(key, b"x", "image/jpeg")
            assert len(seen) == 4  # the forged request never counted
    finally:
        await stop_server(server)


def test_storage_url_chooses_the_back_end(tmp_path):
    assert isinstance(storage_from_url(None, data_dir=tmp_path), LocalStorage)
    assert storage_from_url(f"file://{tmp_path}/x", data_dir=tmp_path).root == tmp_path / "x"
    with pytest.raises(ValueError, match="MOTCUA_S3_ACCESS_KEY_ID"):
        storage_from_url("s3://b?endpoint=http://x", data_dir=tmp_path, env={})
    with pytest.raises(ValueError, match="unsupported"):
        storage_from_url("ftp://x", data_dir=tmp_path)
