"""/login and /logout are taken only from this site's own pages (no login CSRF), and the
session cookie can be forced Secure behind a TLS-terminating proxy.

The app under test answers as `http://testserver` (the test client's Host), so a browser on
one of its pages sends `Origin: http://testserver`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.helpers.agents import sample_value
from tests.helpers.api import Api, api_context, demo_like_config

FORM = {"content-type": "application/x-www-form-urlencoded"}
OWN = "http://testserver"


def _login(api: Api, **headers: str) -> httpx.Response:
    return api.client.post("/login?lang=en", content=f"token={api.tokens['viewer']}",
                           headers={**FORM, **headers}, follow_redirects=False)


def _refused(api: Api) -> float | None:
    return sample_value(api.client.get("/metrics").text, "tierwatch_http_refused_total",
                        reason="cross_site")


# what a browser on another site's page sends when that page posts a form to us
FOREIGN = [
    pytest.param({"origin": "https://evil.example", "sec-fetch-site": "cross-site"},
                 id="cross-site"),
    pytest.param({"origin": "https://evil.example"}, id="foreign-origin-over-http"),
    pytest.param({"origin": "null"}, id="null-origin"),
    pytest.param({"origin": "http://testserver.evil.example"}, id="look-alike-host"),
    pytest.param({"origin": "http://testserver:8080"}, id="same-host-other-port"),
    pytest.param({"origin": "http://sub.testserver", "sec-fetch-site": "same-site"},
                 id="sibling-host"),
    pytest.param({"sec-fetch-site": "cross-site"}, id="cross-site-without-origin"),
    pytest.param({"referer": "https://evil.example/page.html"}, id="old-browser-referer"),
]


@pytest.mark.parametrize("headers", FOREIGN)
def test_login_from_another_site_is_refused(api: Api, headers: dict[str, str]) -> None:
    assert _refused(api) == 0
    answer = _login(api, **headers)
    assert answer.status_code == 403, answer.text
    assert "set-cookie" not in answer.headers  # no session was planted
    assert "only from this site's own pages" in answer.json()["message"]
    assert _refused(api) == 1
    assert api.client.get("/", follow_redirects=False).status_code == 303  # still signed out


@pytest.mark.parametrize("headers", FOREIGN)
def test_logout_from_another_site_is_refused(api: Api, headers: dict[str, str]) -> None:
    assert _login(api, origin=OWN, **{"sec-fetch-site": "same-origin"}).status_code == 303
    answer = api.client.post("/logout", headers=headers, follow_redirects=False)
    assert answer.status_code == 403 and "set-cookie" not in answer.headers
    assert api.client.get("/", follow_redirects=False).status_code == 200  # still signed in


SAME_SITE = [
    pytest.param({"origin": OWN, "sec-fetch-site": "same-origin"}, id="modern-browser"),
    pytest.param({"origin": OWN}, id="browser-over-plain-http"),
    pytest.param({"origin": "HTTP://TestServer:80"}, id="default-port-and-case"),
    pytest.param({"referer": f"{OWN}/login?lang=en"}, id="old-browser-referer"),
    pytest.param({}, id="not-a-browser"),  # curl, a script: nothing a foreign page could set
    pytest.param({"host": "127.0.0.1:9650", "x-forwarded-host": "tierwatch.example.vn",
                  "origin": "https://tierwatch.example.vn", "sec-fetch-site": "same-origin"},
                 id="behind-a-reverse-proxy"),
]


@pytest.mark.parametrize("headers", SAME_SITE)
def test_login_and_logout_from_this_site_work(api: Api, headers: dict[str, str]) -> None:
    answer = _login(api, **headers)
    assert answer.status_code == 303, answer.text
    assert answer.headers["set-cookie"].startswith("tierwatch_token=")
    assert api.client.get("/", follow_redirects=False).status_code == 200
    out = api.client.post("/logout", headers=headers, follow_redirects=False)
    assert out.status_code == 303
    assert api.client.get("/", follow_redirects=False).status_code == 303
    assert _refused(api) == 0


@pytest.fixture
def proxied_api(tmp_path: Path) -> Iterator[Api]:
    from tests.report import seed

    config = demo_like_config(tmp_path, api={"secure_cookie": True})
    yield from api_context(config, seed.seed)


def _cookie_flags(set_cookie: str) -> set[str]:
    return {part.strip().split("=")[0].lower() for part in set_cookie.split(";")[1:]}


def test_cookie_is_secure_over_https_only_by_default(api: Api) -> None:
    plain = _login(api, origin=OWN)
    assert "secure" not in _cookie_flags(plain.headers["set-cookie"])
    assert {"httponly", "samesite"} <= _cookie_flags(plain.headers["set-cookie"])
    # a local proxy that says the browser used HTTPS (uvicorn trusts 127.0.0.1's header)
    tls = api.client.post("https://testserver/login", content=f"token={api.tokens['viewer']}",
                          headers={**FORM, "origin": "https://testserver"},
                          follow_redirects=False)
    assert "secure" in _cookie_flags(tls.headers["set-cookie"])


def test_secure_cookie_setting_forces_the_flag(proxied_api: Api) -> None:
    # the proxy ends TLS and speaks plain HTTP to tierwatch, saying nothing of the scheme
    answer = _login(proxied_api, origin=OWN)
    assert answer.status_code == 303
    assert {"secure", "httponly", "samesite"} <= _cookie_flags(answer.headers["set-cookie"])
    out = proxied_api.client.post("/logout", headers={"origin": OWN}, follow_redirects=False)
    assert "secure" in _cookie_flags(out.headers["set-cookie"])
