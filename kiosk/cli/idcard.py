"""``kiosk idcard read``: read resident ID cards (front side) in image files.

It never opens the checkpoint's database unless ``--unmasked`` is given (which, as
everywhere in Gatepass, needs the issuer's private key and leaves an audit row). The
images are only read: nothing of them is written or logged.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from kiosk.cli.context import Context, pass_ctx
from kiosk.cli.vision import ImageFiles
from kiosk.core.i18n import tr
from kiosk.core.identity import mask_id_number, mask_name


def register(cli: click.Group) -> None:
    cli.add_command(idcard)


@click.group()
def idcard() -> None:
    """Resident ID cards (居民身份证) read by the camera."""


def _shown(reading: Any, unmasked: bool) -> dict[str, str]:
    name = reading.name.text
    number = reading.id_number.text
    return {
        "name": name if unmasked else mask_name(name),
        "id_number": number if unmasked else mask_id_number(number),
    }


def _as_json(path: Path, reading: Any, unmasked: bool) -> str:
    shown = _shown(reading, unmasked)
    fields = {}
    for key, value in reading.fields().items():
        fields[key] = {
            "text": shown.get(key, value.text),
            "confidence": round(value.confidence, 3),
            "low_confidence": value.low_confidence,
        }
    return json.dumps(
        {
            "path": str(path),
            "fields": fields,
            "number_ok": reading.number_ok,
            "number_problem": reading.number_problem,
            "sex_agrees": reading.sex_agrees,
            "birth_agrees": reading.birth_agrees,
            "province": reading.province,
            "city": reading.city,
            "located": reading.located,
            "card_px": round(reading.card_px),
            "ms": round(reading.ms, 1),
        },
        ensure_ascii=False,
    )


def _as_text(path: Path, reading: Any, unmasked: bool) -> str:
    shown = _shown(reading, unmasked)
    labels = {
        "name": tr("Name"),
        "sex": tr("Sex"),
        "ethnicity": tr("Ethnicity"),
        "birth": tr("Born"),
        "address": tr("Address"),
        "id_number": tr("ID number"),
    }
    out = [f"{path}: " + tr("{ms} ms", ms=f"{reading.ms:.0f}")]
    for key, value in reading.fields().items():
        text = shown.get(key, value.text) or "-"
        flag = " " + tr("(low confidence)") if value.low_confidence else ""
        out.append(f"  {labels[key]}: {text} [{value.confidence:.2f}]{flag}")
    if reading.number_ok:
        out.append("  " + tr("ID number check: valid (GB 11643)"))
    elif reading.id_number.text:
        out.append(
            "  " + tr("ID number check: NOT valid ({reason})", reason=reading.number_problem)
        )
    if reading.where_from:
        out.append("  " + tr("From: {place}", place=reading.where_from))
    return "\n".join(out)


@idcard.command("read")
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="One JSON object per image per line: path, fields (text, confidence, "
    "low_confidence), number_ok, number_problem, sex_agrees, birth_agrees, province, "
    "city, located, card_px, ms.",
)
@click.option(
    "--unmasked",
    is_flag=True,
    help="Name and ID number in full (needs the issuer's private key; audited).",
)
@click.argument("images", nargs=-1, required=True, type=click.Path(path_type=Path))
@pass_ctx
def read(ctx: Context, as_json: bool, unmasked: bool, images: tuple[Path, ...]) -> None:
    """Read the front side of resident ID cards in image files (camera frames).

    Name and ID number are masked unless --unmasked. Exit status 1 when a file could
    not be read or no ID number was found in it; the other files are still read.
    """
    if unmasked:
        from kiosk.cli.checkpoint import require_unmasking_allowed
        from kiosk.store.checkpoint import record_audit

        require_unmasking_allowed(ctx)
        record_audit(ctx.db, "cli", "idcard.read_unmasked", {"count": len(images)})
    from kiosk.vision.idcard import read_card

    files = ImageFiles(images, as_json=as_json)
    unread = False
    for path, image in files:
        reading = read_card(image)
        unread = unread or not reading.id_number.text
        click.echo(
            _as_json(path, reading, unmasked) if as_json else _as_text(path, reading, unmasked)
        )
    if files.failed or unread:
        ctx_click = click.get_current_context()
        ctx_click.exit(1)
