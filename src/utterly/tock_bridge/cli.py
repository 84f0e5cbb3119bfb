"""`utterly tock-bridge`: serve Tock's orchestrator contract (docs/tock.md)."""

from __future__ import annotations

import ipaddress
import os

import click

from ..cli_options import provider_options
from ..embeddings import PROVIDERS as EMBEDDINGS
from ..providers import ProviderConfig


def _networks(values: tuple[str, ...]):
    try:
        return tuple(ipaddress.ip_network(v.strip(), strict=False) for v in values)
    except ValueError as exc:
        raise click.BadParameter(f"{exc}: give addresses or CIDRs, e.g. 10.0.0.0/8",
                                 param_hint="--allow-client") from None


@click.command("tock-bridge")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on. Tock sends no credentials: keep 127.0.0.1 unless "
                   "--allow-client or --shared-secret guards it.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535))
@click.option("--mode", type=click.Choice(["server", "pass-through"]), default="server",
              show_default=True,
              help="server: the bridge's provider (below) writes, Tock's llm_setting gives "
                   "the temperature only; pass-through: Tock's provider, model, URL and key.")
@click.option("--prompt", type=click.Choice(["tock", "utterly"]), default=None,
              help="The template Tock sends (default; read with Utterly's filters), or "
                   "Utterly's own prompt. A linked Studio bot uses its own.")
@click.option("--deadline", "deadline_s", type=click.FloatRange(1, 600), default=45.0,
              show_default=True,
              help="Seconds before the bridge answers with what it kept (Tock's client gives "
                   "up at 55 s by default).")
@click.option("--embeddings", default="local", show_default=True,
              type=click.Choice([*EMBEDDINGS, "none"]),
              help="Embedder for the meaning and near-duplicate filters.")
@click.option("--studio-bot", type=click.IntRange(1), default=None,
              help="Id of a Studio bot that mirrors the Tock bot: its FAQs give the context "
                   "and each generation is stored as a run of the FAQ.")
@click.option("--as", "username", default=None, help="Studio user the runs are stored for.")
@click.option("--data-dir", default=None, envvar="UTTERLY_DATA_DIR",
              type=click.Path(file_okay=False), help="The Studio's data directory.")
@click.option("--database-url", default=None, envvar="UTTERLY_DATABASE_URL",
              help="The Studio's database (default: SQLite in the data directory).")
@click.option("--upstream", "upstream_url", default=None,
              help="Tock's own orchestrator, for the routes the bridge does not serve (RAG, "
                   "playground, …).")
@click.option("--shared-secret", default=None, envvar="UTTERLY_BRIDGE_SECRET",
              help="Require this value in the X-Utterly-Bridge-Secret header (set by a "
                   "reverse proxy in front of the bridge).")
@click.option("--allow-client", multiple=True,
              help="Client address or network allowed (repeat); default: any that reaches "
                   "the socket.")
@click.option("--max-body-kb", type=click.IntRange(1, 64 * 1024), default=1024,
              show_default=True, help="Largest request body accepted.")
@click.option("--secrets-dir", type=click.Path(exists=True, file_okay=False), default=None,
              help="Folder where AwsSecretsManager / GcpSecretManager references are mounted "
                   "as files (named by secret_name).")
@click.option("--no-warm-up", is_flag=True, help="Do not load the model before serving.")
@provider_options
def tock_bridge(host, port, mode, prompt, deadline_s, embeddings, studio_bot, username,
                data_dir, database_url, upstream_url, shared_secret, allow_client,
                max_body_kb, secrets_dir, no_warm_up, **provider_fields) -> None:
    """Answer Tock Studio's "Generate sentences" with Utterly (set Tock's
    tock_gen_ai_orchestrator_server_url to this server's URL)."""
    import logging

    import uvicorn

    from ..errors import UtterlyError
    from ..observability import TracingConfig
    from ..outbound import check_url
    from ..tock.translate import SecretsDir
    from .app import create_app
    from .config import BridgeConfig, Mode, PromptChoice, StudioLink

    if studio_bot is not None:
        if not username:
            raise click.UsageError("--studio-bot needs --as USERNAME (the Studio user the "
                                   "runs are stored for)")
        # The linked bot's settings are the provider and the prompt: as in the Studio.
        if mode != "server" or prompt is not None:
            raise click.UsageError("--studio-bot generates with the Studio bot's own "
                                   "settings: leave out --mode and --prompt")
    try:
        upstream = check_url(upstream_url, "--upstream")
    except UtterlyError as exc:
        raise click.BadParameter(str(exc), param_hint="--upstream") from None
    config = BridgeConfig(
        mode=Mode(mode), provider=ProviderConfig.of(**provider_fields),
        prompt=PromptChoice(prompt or "tock"), deadline_s=deadline_s, embeddings=embeddings,
        studio=(StudioLink(studio_bot, username, data_dir, database_url)
                if studio_bot is not None else None),
        upstream_url=upstream, shared_secret=shared_secret,
        allowed_clients=_networks(allow_client), max_body_bytes=max_body_kb * 1024,
        secrets=SecretsDir(secrets_dir) if secrets_dir else None,
        tracing=TracingConfig.from_env(), warm_up=not no_warm_up)
    if host not in ("127.0.0.1", "::1", "localhost") and not (allow_client or shared_secret):
        click.secho(f"warning: listening on {host} with neither --allow-client nor "
                    "--shared-secret: whoever reaches the port can generate", fg="yellow",
                    err=True)
    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        app = create_app(config)
    except (ValueError, UtterlyError) as exc:  # e.g. the linked bot or user: not found
        raise click.ClickException(str(exc)) from None
    prompt_used = "the Studio bot's" if studio_bot is not None else config.prompt
    click.echo(f"Tock bridge on http://{host}:{port} ({mode}, prompt {prompt_used}); set "
               "Tock's tock_gen_ai_orchestrator_server_url to it", err=True)
    uvicorn.run(app, host=host, port=port, log_level="warning",
                timeout_graceful_shutdown=int(os.environ.get("UTTERLY_SHUTDOWN_S", "5")))
