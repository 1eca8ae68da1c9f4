"""`lineage serve`: the publication gate as an HTTP service for a dataset registry."""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path

import click

from lineage.cli.common import store_option
from lineage.cli.policies import policy_option
from lineage.exceptions import ConfigError, UsageError

TOKEN_ENV = "LINEAGE_SERVE_TOKEN"


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check_port(host: str, port: int) -> None:
    """Refuse, in one line, an address the service could not listen on (taken, or not this machine's)."""
    import socket

    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((host, port))
    except OSError as exc:
        raise UsageError(f"cannot listen on {host}:{port} ({exc.strerror or exc})",
                         fix="choose another --port, or stop what is using it") from None


def _token(token_file: Path | None) -> str | None:
    if token_file is not None:
        from lineage.readers import check_regular_file

        check_regular_file(token_file)
        try:
            token = token_file.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"cannot read the token file ({getattr(exc, 'strerror', None) or exc})",
                              where=str(token_file),
                              fix=f"check the path in --token-file, or set {TOKEN_ENV} instead") from None
        if not token:
            raise ConfigError("the token file is empty", where=str(token_file), fix="write the token in it")
        return token
    return os.environ.get(TOKEN_ENV, "").strip() or None


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="The address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=8750, show_default=True, help="The port to listen on.")
@click.option("--token-file", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE",
              help=f"A file holding the bearer token clients must send (default: ${TOKEN_ENV}).")
@click.option("--insecure", is_flag=True,
              help="Serve without a token: allowed on a loopback address only, for trying it out.")
@click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True,
              help="Worker processes (share a PostgreSQL store between them).")
@click.option("--max-bytes", type=click.IntRange(min=1), default=32 << 20, show_default=True,
              help="The largest request body accepted.")
@click.option("--max-findings", type=click.IntRange(min=0), default=1000, show_default=True,
              help="List at most N findings per answer; the summary still counts them all.")
@click.option("--waivers", "waivers_path", type=click.Path(dir_okay=False, path_type=Path),
              help="The waivers (authorisations) every check applies.")
@store_option
@policy_option
def serve(host: str, port: int, token_file: Path | None, insecure: bool, workers: int, max_bytes: int,
          max_findings: int, waivers_path: Path | None, store: str | None, policy_paths: tuple[Path, ...]) -> None:
    """Serve the publication gate over HTTP for a dataset registry: POST /v1/check with a
    dataset (a file's content, or its rows) and a use context answers the verdict and the lint
    report as JSON; GET /healthz; GET /openapi.json.

    Clients send `Authorization: Bearer <token>`, the token from --token-file or
    $LINEAGE_SERVE_TOKEN. Without one the service does not start, unless --insecure on a
    loopback address.

    \b
    Examples:
      LINEAGE_SERVE_TOKEN=... lineage serve --host 0.0.0.0 --port 8750 --store postgresql+psycopg://...
      lineage serve --insecure            # try it on 127.0.0.1
    """
    try:
        from lineage.serve import ServeSettings, run
    except ImportError:
        raise UsageError("lineage serve needs FastAPI and uvicorn", fix="pip install 'tos-lineage[serve]'") from None
    from lineage.config import find_config
    from lineage.store.location import describe, locate_store

    token = _token(token_file)
    if token is not None and not token.isascii():
        raise UsageError("the token holds characters other than ASCII, which HTTP headers cannot carry",
                         fix="use a token of letters, digits and punctuation (e.g. openssl rand -hex 32)")
    if token is None and not insecure:
        raise UsageError("no token to check clients against",
                         fix=f"set {TOKEN_ENV} or pass --token-file (or --insecure on 127.0.0.1 to try it out)")
    if token is None and not _loopback(host):
        raise UsageError(f"--insecure serves without a token, so only on a loopback address, not {host}",
                         fix=f"set {TOKEN_ENV} or pass --token-file")
    config = find_config()
    url = locate_store(store, config=config)
    if url:
        from lineage.linting.origins import check_store_readable

        check_store_readable(url)  # refused now, not at every check with /healthz saying ok
    settings = ServeSettings(token=token, token_file=str(token_file.resolve()) if token_file else None, store=url, policies=[str(p) for p in policy_paths],
                             waivers=str(waivers_path) if waivers_path else None, max_bytes=max_bytes,
                             max_findings=max_findings)
    # Fail here, with its message, on a bad policy file or waivers file rather than at the first request.
    from lineage.policy import load_pack
    from lineage.policy.waivers import load_waivers

    load_pack(config.resolved_list("policies") + settings.policies)
    if settings.waivers:
        load_waivers(settings.waivers)
    _check_port(host, port)
    where = describe(url) if url else "no lineage store (inline provenance only)"
    click.echo(f"tos-lineage gate on http://{host}:{port} ({workers} worker(s); {where})", err=True)
    run(settings, host=host, port=port, workers=workers)
