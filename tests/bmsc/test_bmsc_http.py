"""The MSK request server over real HTTP on loopback, with two independent Digest clients:
httpx's ``DigestAuth`` and our UE client (challenge path, pre-emptive path, wrong password,
replayed nonce-count, stale nonce), and hostile input."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import httpx
from bmsc_support import add_subscriber, config, run, ue
from testkit import FakeUnixClock

from broadcast import profile
from broadcast.aio.bmsc.service import BmscService
from broadcast.aio.ue.msk_client import MskClientError
from broadcast.engine.bmsc.settings import RateLimitConfig
from broadcast.proto.keys.ids import MskId
from broadcast.proto.msk.digest import build_authorization, parse_challenges
from broadcast.proto.msk.msk_xml import build_msk_request, parse_msk_response

CT = {"Content-Type": profile.MSK_REQUEST_CONTENT_TYPE}


def _body(svc: BmscService, *ids: MskId) -> bytes:
    return build_msk_request(svc.config.key_domain, list(ids or (MskId.current(1),)))


def _client(local: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.AsyncHTTPTransport(local_address=local), timeout=10.0)


def test_httpx_digest_challenge_preemptive_and_wrong_password(tmp_path: Path) -> None:
    cfg = config(tmp_path)
    key = add_subscriber(cfg, "alice@ims.example", (1,))

    async def main() -> None:
        async with BmscService(cfg) as svc, _client("127.24.0.10") as http:
            auth = httpx.DigestAuth(key.b_tid, key.password)
            r1 = await http.post(svc.url, content=_body(svc), headers=CT, auth=auth)
            assert r1.status_code == 200
            assert [h.status_code for h in r1.history] == [401]
            offered = r1.history[0].headers.get_list("www-authenticate")
            assert [parse_challenges(h)[0][1]["algorithm"] for h in offered] == ["SHA-256", "MD5"]
            assert "rspauth=" in r1.headers["authentication-info"]
            assert r1.headers["content-type"].startswith(profile.MSK_RESPONSE_CONTENT_TYPE)
            assert [s.code for s in parse_msk_response(r1.content)] == [200]
            # pre-emptive: httpx re-uses the nonce with nc=2, no challenge
            r2 = await http.post(svc.url, content=_body(svc), headers=CT, auth=auth)
            assert r2.status_code == 200 and r2.history == []
            assert "nc=00000002" in r2.request.headers["authorization"]
            # wrong password: refused, challenge offered again
            bad = httpx.DigestAuth(key.b_tid, "d3Jvbmc=")
            r3 = await http.post(svc.url, content=_body(svc), headers=CT, auth=bad)
            assert r3.status_code == 401 and "www-authenticate" in r3.headers
            # unknown B-TID looks the same
            r4 = await http.post(
                svc.url, content=_body(svc), headers=CT, auth=httpx.DigestAuth("x@y", "cGFzcw==")
            )
            assert r4.status_code == 401
            assert svc.stats["ok"] == 2
            assert svc.stats["gba_unknown"] >= 1

    run(main)


def test_replayed_nonce_count_and_md5(tmp_path: Path) -> None:
    cfg = config(tmp_path)
    key = add_subscriber(cfg, "bob@ims.example", (1,))

    async def main() -> None:
        async with BmscService(cfg) as svc, _client("127.24.0.11") as http:
            r0 = await http.post(svc.url, content=_body(svc), headers=CT)
            assert r0.status_code == 401
            md5 = next(h for h in r0.headers.get_list("www-authenticate") if "MD5" in h)
            params = parse_challenges(md5)[0][1]
            header = build_authorization(
                algorithm="MD5",
                username=key.b_tid,
                realm=params["realm"],
                password=key.password,
                method="POST",
                uri="/keymanagement",
                nonce=params["nonce"],
                nc=1,
                cnonce="0a4f113b",
                opaque=params["opaque"],
            )
            ok = await http.post(
                svc.url, content=_body(svc), headers={**CT, "Authorization": header}
            )
            assert ok.status_code == 200
            replay = await http.post(
                svc.url, content=_body(svc), headers={**CT, "Authorization": header}
            )
            assert replay.status_code == 401
            assert "already used" in replay.text
            assert "stale=true" not in replay.headers["www-authenticate"]

    run(main)


def test_stale_nonce_httpx_and_our_client(tmp_path: Path) -> None:
    clock = FakeUnixClock()
    cfg = config(tmp_path)
    cfg = dataclasses.replace(cfg, http=dataclasses.replace(cfg.http, nonce_lifetime=30.0))
    key = add_subscriber(cfg, "carol@ims.example", (1,), now=clock())

    async def main() -> None:
        async with BmscService(cfg, clock_unix=clock) as svc, _client("127.24.0.12") as http:
            auth = httpx.DigestAuth(key.b_tid, key.password)
            assert (await http.post(svc.url, content=_body(svc), headers=CT, auth=auth)).is_success
            async with ue(svc, key, "127.24.0.13") as client:
                first = await client.request([MskId.current(1)])
                second = await client.request([MskId.current(1)])
                assert first.challenged and not second.challenged  # nextnonce used
                clock.advance(60.0)  # every nonce handed out so far is now expired
                r = await http.post(svc.url, content=_body(svc), headers=CT, auth=auth)
                assert r.status_code == 200
                assert [h.status_code for h in r.history] == [401]
                assert "stale=true" in r.history[0].headers["www-authenticate"]
                third = await client.request([MskId.current(1)])
                assert third.challenged and [s.code for s in third.statuses] == [200]
                assert client.stats["challenges"] == 2
            assert svc.stats["refused_401"] >= 3

    run(main)


def test_our_client_wrong_password_is_refused(tmp_path: Path) -> None:
    cfg = config(tmp_path)
    key = add_subscriber(cfg, "dave@ims.example", (1,))
    other = add_subscriber(cfg, "eve@ims.example", (1,))
    wrong = dataclasses.replace(key, ks_naf=other.ks_naf)

    async def main() -> None:
        async with BmscService(cfg) as svc, ue(svc, wrong, "127.24.0.14") as client:
            try:
                await client.request([MskId.current(1)])
            except MskClientError as exc:
                assert exc.status == 401
            else:
                raise AssertionError("a wrong password was accepted")

    run(main)


def test_statuses_in_one_response(tmp_path: Path) -> None:
    cfg = config(tmp_path)
    key = add_subscriber(cfg, "frank@ims.example", (1,))  # not subscribed to group 2

    async def main() -> None:
        async with BmscService(cfg) as svc, ue(svc, key, "127.24.0.15") as client:
            await svc.rotate(1, promote_after=0.0)
            await svc.promote(1)  # 0001/0001 retired, 0001/0002 current
            ans = await client.request(
                [
                    MskId.current(1),
                    MskId(1, 2),
                    MskId(1, 1),
                    MskId(1, 99),
                    MskId.current(2),
                    MskId.current(7),
                ]
            )
            assert [s.code for s in ans.statuses] == [200, 200, 410, 404, 403, 404]

    run(main)


def test_hostile_requests_are_refused_and_counted(tmp_path: Path) -> None:
    cfg = config(tmp_path)
    key = add_subscriber(cfg, "gina@ims.example", (1,))

    async def main() -> None:
        async with BmscService(cfg) as svc, _client("127.24.0.16") as http:
            url = svc.url
            assert (
                await http.post(url, content=b"x", headers={"Content-Type": "text/xml"})
            ).status_code == 415
            big = b"<" * (cfg.http.max_body + 10)
            assert (await http.post(url, content=big, headers=CT)).status_code == 413
            assert (await http.get(url)).status_code == 405
            for garbage in (
                'Digest username="x',
                "Digest " + "a=b," * 50,
                "Digest \x7f",
                'Digest realm="r", nc=zz',
            ):
                r = await http.post(
                    url, content=_body(svc), headers={**CT, "Authorization": garbage}
                )
                assert r.status_code in (400, 401), garbage
                assert r.text.strip()  # a reason in the body
            # a valid Authorization with a malformed body -> 400 (after authentication)
            chal = await http.post(url, content=_body(svc), headers=CT)
            p = parse_challenges(chal.headers["www-authenticate"])[0][1]
            header = build_authorization(
                algorithm="SHA-256",
                username=key.b_tid,
                realm=p["realm"],
                password=key.password,
                method="POST",
                uri="/keymanagement",
                nonce=p["nonce"],
                nc=1,
                cnonce="c1",
                opaque=p["opaque"],
            )
            bad = await http.post(
                url, content=b"<!DOCTYPE x><x/>", headers={**CT, "Authorization": header}
            )
            assert bad.status_code == 400 and "DOCTYPE" in bad.text
            # an unknown realm -> 401
            header2 = build_authorization(
                algorithm="SHA-256",
                username=key.b_tid,
                realm="evil",
                password=key.password,
                method="POST",
                uri="/keymanagement",
                nonce=p["nonce"],
                nc=2,
                cnonce="c2",
            )
            r = await http.post(url, content=_body(svc), headers={**CT, "Authorization": header2})
            assert r.status_code == 401 and "realm" in r.text
            # the server still serves
            auth = httpx.DigestAuth(key.b_tid, key.password)
            assert (await http.post(url, content=_body(svc), headers=CT, auth=auth)).is_success
            s = svc.stats
            assert s["refused_415"] == 1 and s["refused_413"] == 1 and s["refused_405"] == 1
            assert s["refused_400"] >= 2 and s["refused_401"] >= 3
            assert key.password not in repr(svc.snapshot())

    run(main)


def test_rate_limit_429(tmp_path: Path) -> None:
    cfg = dataclasses.replace(config(tmp_path), rate_limit=RateLimitConfig(1.0, 3, 100))

    async def main() -> None:
        async with BmscService(cfg) as svc, _client("127.24.0.17") as http:
            codes = [
                (await http.post(svc.url, content=_body(svc), headers=CT)).status_code
                for _ in range(5)
            ]
            assert codes[:3] == [401, 401, 401] and 429 in codes[3:]
            async with _client("127.24.0.18") as other:  # another client is not limited
                assert (
                    await other.post(svc.url, content=_body(svc), headers=CT)
                ).status_code == 401
            assert svc.stats["refused_429"] >= 1

    run(main)
