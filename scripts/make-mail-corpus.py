#!/usr/bin/env python3
"""Writes Hygie's own e-mail test corpus (Tests/MailTriageTests/Fixtures) and the fuzz seeds.

Every message is made up here: fictional senders, the establishment "CHU de Valbrune" (chu-valbrune.fr) and
look-alike domains of it. Outlook .msg files are written by the small compound-file writer below; run with
`--check` to have them read back by third-party readers (PyPI olefile and extract-msg).

    python3 scripts/make-mail-corpus.py [--check]
"""
import base64
import io
import os
import struct
import sys
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "Tests", "MailTriageTests", "Fixtures")
FUZZ = os.path.join(ROOT, "Fuzz", "corpus-triage")


def crlf(text):
    return text.replace("\r\n", "\n").replace("\n", "\r\n").encode("utf-8")


def b64(data, width=76):
    encoded = base64.b64encode(data).decode()
    return "\n".join(encoded[i:i + width] for i in range(0, len(encoded), width))


# --- Compound File Binary writer (version 3, 512-byte sectors) -----------------------------------------------

ENDOFCHAIN, FREESECT, FATSECT, NOSTREAM = 0xFFFFFFFE, 0xFFFFFFFF, 0xFFFFFFFD, 0xFFFFFFFF


def cfb(tree):
    """tree: {name: bytes | {…}} → bytes. Streams under 4096 bytes go to the mini stream."""
    entries = [{"name": "Root Entry", "type": 5, "children": [], "data": None}]

    def add(node, parent):
        # CFB orders siblings by name length, then upper-case name.
        for name in sorted(node, key=lambda n: (len(n), n.upper())):
            value = node[name]
            index = len(entries)
            if isinstance(value, dict):
                entries.append({"name": name, "type": 1, "children": [], "data": None})
                add(value, index)
            else:
                entries.append({"name": name, "type": 2, "children": [], "data": value})
            entries[parent]["children"].append(index)

    add(tree, 0)
    mini = bytearray()
    minifat = []
    big = []
    for entry in entries:
        data = entry["data"]
        if data is None:
            continue
        if len(data) < 4096:
            start = len(mini) // 64
            count = max(1, (len(data) + 63) // 64)
            entry["start"] = start if data else ENDOFCHAIN
            if data:
                for i in range(count):
                    minifat.append(start + i + 1 if i < count - 1 else ENDOFCHAIN)
                mini += data + b"\0" * (count * 64 - len(data))
        else:
            big.append(entry)
    # Directory: a right-leaning chain of siblings under each storage (valid for readers; all black).
    for entry in entries:
        kids = entry["children"]
        entry["child"] = kids[0] if kids else NOSTREAM
        for a, b in zip(kids, kids[1:]):
            entries[a]["right"] = b
    dir_bytes = bytearray()
    sectors = []  # list of 512-byte blocks after the header

    def sector_count(data):
        return (len(data) + 511) // 512

    dir_sectors = sector_count(bytes(128 * len(entries)))
    minifat_bytes = b"".join(struct.pack("<I", v) for v in minifat)
    minifat_sectors = sector_count(minifat_bytes)
    mini_sectors = sector_count(mini)
    big_sectors = sum(sector_count(e["data"]) for e in big)
    body = dir_sectors + minifat_sectors + mini_sectors + big_sectors
    fat_sectors = 1
    while fat_sectors * 128 < body + fat_sectors:
        fat_sectors += 1
    fat = [FATSECT] * fat_sectors
    next_sector = fat_sectors

    def chain(count):
        nonlocal next_sector
        start = next_sector
        for i in range(count):
            fat.append(next_sector + 1 if i < count - 1 else ENDOFCHAIN)
            next_sector += 1
        return start if count else ENDOFCHAIN

    dir_start = chain(dir_sectors)
    minifat_start = chain(minifat_sectors)
    mini_start = chain(mini_sectors)
    for e in big:
        e["start"] = chain(sector_count(e["data"]))
    entries[0]["start"] = mini_start
    entries[0]["size"] = len(mini)
    for entry in entries:
        name = entry["name"].encode("utf-16-le") + b"\0\0"
        raw = name.ljust(64, b"\0")
        raw += struct.pack("<HBB", len(name), entry["type"], 1)
        raw += struct.pack("<III", entry.get("left", NOSTREAM), entry.get("right", NOSTREAM), entry["child"])
        raw += b"\0" * 16 + b"\0" * 4 + b"\0" * 16
        size = entry.get("size", len(entry["data"]) if entry["data"] is not None else 0)
        start = entry.get("start", 0 if entry["type"] == 1 else ENDOFCHAIN)
        raw += struct.pack("<IQ", start, size)
        dir_bytes += raw

    def pad(data):
        data = bytes(data)
        return data + b"\0" * (sector_count(data) * 512 - len(data))

    fat += [FREESECT] * (fat_sectors * 128 - len(fat))
    out = bytearray()
    header = bytearray(512)
    header[0:8] = bytes.fromhex("D0CF11E0A1B11AE1")
    struct.pack_into("<HHHHH", header, 0x18, 0x3E, 3, 0xFFFE, 9, 6)
    struct.pack_into("<I", header, 0x2C, fat_sectors)
    struct.pack_into("<I", header, 0x30, dir_start)
    struct.pack_into("<I", header, 0x38, 4096)
    struct.pack_into("<I", header, 0x3C, minifat_start)
    struct.pack_into("<I", header, 0x40, minifat_sectors)
    struct.pack_into("<I", header, 0x44, ENDOFCHAIN)
    for i in range(109):
        struct.pack_into("<I", header, 0x4C + 4 * i, i if i < fat_sectors else FREESECT)
    out += header
    out += b"".join(struct.pack("<I", v) for v in fat)
    out += pad(dir_bytes) + pad(minifat_bytes) + pad(mini)
    for e in big:
        out += pad(e["data"])
    return bytes(out)


def utf16(text):
    return text.encode("utf-16-le")


def msg(subject, sender_name, sender, body, html=None, headers=None, attachments=(), embedded=None):
    """An Outlook message: property streams as MS-OXMSG names them."""
    def props(pairs):
        return {f"__substg1.0_{tag}": value for tag, value in pairs}

    tree = props([("0037001F", utf16(subject)), ("0C1A001F", utf16(sender_name)),
                  ("5D01001F", utf16(sender)), ("1000001F", utf16(body)),
                  ("001A001F", utf16("IPM.Note"))])
    if html is not None:
        tree["__substg1.0_10130102"] = html.encode("utf-8")
    if headers is not None:
        tree["__substg1.0_007D001F"] = utf16(headers)
    # Fixed-length properties (none needed here): an 32-byte header for a top-level message.
    tree["__properties_version1.0"] = b"\0" * 32
    tree["__nameid_version1.0"] = {"__substg1.0_00020102": b"", "__substg1.0_00030102": b"",
                                   "__substg1.0_00040102": b""}
    index = 0
    for name, mime, data in attachments:
        tree[f"__attach_version1.0_#{index:08X}"] = {
            "__substg1.0_3707001F": utf16(name), "__substg1.0_3704001F": utf16(name[:8]),
            "__substg1.0_370E001F": utf16(mime), "__substg1.0_37010102": data,
            "__properties_version1.0": b"\0" * 8,
        }
        index += 1
    if embedded is not None:
        inner = dict(embedded)
        inner.pop("__nameid_version1.0", None)
        inner["__properties_version1.0"] = b"\0" * 24
        tree[f"__attach_version1.0_#{index:08X}"] = {
            "__substg1.0_3707001F": utf16("original.msg"), "__substg1.0_3701000D": inner,
            "__properties_version1.0": b"\0" * 8,
        }
    return tree


# --- Messages --------------------------------------------------------------------------------------------------

PHISH_HEADERS = """Received: from mail.chu-va1brune.fr (unknown [203.0.113.45])
\tby mx1.chu-valbrune.fr (Postfix) with ESMTPS id 4Xk2Lp1Qz9z1;
\tMon, 16 Nov 2026 09:12:03 +0100 (CET)
Received: from [192.168.1.20] (unknown [198.51.100.7])
\tby mail.chu-va1brune.fr with ESMTPSA id a1b2;
\tMon, 16 Nov 2026 08:12:01 +0000
Authentication-Results: mx1.chu-valbrune.fr; spf=fail (sender IP is 203.0.113.45)
 smtp.mailfrom=chu-va1brune.fr; dkim=none (message not signed) header.d=none;
 dmarc=fail (p=none dis=none) header.from=chu-va1brune.fr
Return-Path: <bounce@mailer-relay.example>
From: "Service informatique CHU Valbrune" <support@chu-va1brune.fr>
Reply-To: helpdesk-valbrune@freemail.example
To: infirmiere@chu-valbrune.fr
Subject: =?ISO-8859-1?Q?Votre_bo=EEte_aux_lettres_est_pleine_=2D_action_requise?=
Date: Mon, 16 Nov 2026 08:12:00 +0000
Message-ID: <phish-4471@chu-va1brune.fr>
MIME-Version: 1.0
"""


def phishing_message():
    text = ("Bonjour,\n\nVotre bo\xeete aux lettres a atteint son quota. Vous devez v\xe9rifier votre mot de passe "
            "imm\xe9diatement sinon votre compte sera suspendu.\n\nConnexion : hxxps://webmail.chu-va1brune[.]fr/login\n"
            "Co\xfbt du stockage suppl\xe9mentaire : 0 \u20ac\n")
    html = ('<html><body><p>Votre bo&icirc;te aux lettres est pleine.</p>'
            '<p><a href="https://eur03.safelinks.protection.outlook.com/?url=https%3A%2F%2Fwebmail.chu-va1brune.fr'
            '%2Flogin%3Fu%3Dinfirmiere&amp;data=05%7C01&amp;reserved=0">https://webmail.chu-valbrune.fr</a></p>'
            '<p><a href="https://bit.ly/3xYzAbc">Voir la facture</a></p>'
            '<img src="http://203.0.113.45:8080/p.gif"></body></html>')
    zbuf = io.BytesIO()
    with zipfile.ZipFile(zbuf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(entry("Facture_2026.pdf.exe"), b"MZ\x90\x00" + b"\0" * 200)
    return crlf(PHISH_HEADERS + """Content-Type: multipart/mixed; boundary="outer-1"

This is a multi-part message in MIME format.
--outer-1
Content-Type: multipart/alternative; boundary="alt-2"

--alt-2
Content-Type: text/plain; charset=windows-1252
Content-Transfer-Encoding: quoted-printable

""") + quoted_printable(text.encode("cp1252")) + crlf("""
--alt-2
Content-Type: text/html; charset=iso-8859-1
Content-Transfer-Encoding: base64

""" + b64(html.encode("latin-1")) + """
--alt-2--
--outer-1
Content-Type: application/zip; name="=?UTF-8?B?RmFjdHVyZV8yMDI2LnppcA==?="
Content-Disposition: attachment; filename*=UTF-8''Facture%5F2026.zip
Content-Transfer-Encoding: base64

""" + b64(zbuf.getvalue()) + """
--outer-1--
""")


def entry(name):
    """A zip entry with a fixed date, so that the corpus is the same on every run."""
    info = zipfile.ZipInfo(name, date_time=(2026, 11, 16, 8, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED
    return info


def quoted_printable(data):
    import quopri
    return quopri.encodestring(data).replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


REPORTER = """Received: from PR3P192MB0001.EURP192.PROD.OUTLOOK.COM (2603:10a6:102:1::1)
\tby mx1.chu-valbrune.fr with ESMTPS; Mon, 16 Nov 2026 09:20:11 +0100
From: Claire Martin <infirmiere@chu-valbrune.fr>
To: report@hygie.chu-valbrune.fr
Date: Mon, 16 Nov 2026 09:20:00 +0100
Message-ID: <report-1@chu-valbrune.fr>
MIME-Version: 1.0
"""


def forward_as_attachment(original):
    return crlf(REPORTER + """Subject: TR: Votre boite aux lettres est pleine
Content-Type: multipart/mixed; boundary="report-b"

--report-b
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

Bonjour, ce message me semble suspect. Claire (urgences, poste 4471)
--report-b
Content-Type: message/rfc822
Content-Disposition: attachment; filename="Votre boite aux lettres est pleine.eml"

""") + original + crlf("""
--report-b--
""")


def microsoft_report(original, name="original.eml", mime="application/octet-stream"):
    return crlf(REPORTER + """Subject: 3|Votre boite aux lettres est pleine
X-MS-Exchange-Organization-Network-Message-Id: 6f1b0c1e-1111-4c2a-9e55-0123456789ab
X-Ms-Exchange-Organization-AuthAs: Internal
X-Microsoft-Antispam-Message-Info: reported-by-user
Content-Type: multipart/mixed; boundary="ms-report"

--ms-report
Content-Type: text/plain; charset=us-ascii

This message was reported as phishing.
--ms-report
Content-Type: """ + mime + """; name=\"""" + name + """\"
Content-Disposition: attachment; filename=\"""" + name + """\"
Content-Transfer-Encoding: base64

""" + b64(original) + """
--ms-report--
""")


MS_AUTH = """Received: from DB9PR02MB1234.eurprd02.prod.outlook.com (2603:10a6:10:1::2) by
 AM0PR02MB5678.eurprd02.prod.outlook.com with HTTPS; Tue, 17 Nov 2026 07:40:12 +0000
Received: from smtp.ameli-remboursement.example (192.0.2.77) by
 DB9PR02MB1234.mail.protection.outlook.com (10.167.8.1) with Microsoft SMTP Server id 15.20.7;
 Tue, 17 Nov 2026 07:40:10 +0000
Authentication-Results: spf=fail (sender IP is 192.0.2.77)
 smtp.mailfrom=ameli.fr; dkim=none (message not signed)
 header.d=none;dmarc=fail action=quarantine header.from=ameli.fr;compauth=fail
 reason=000
Received-SPF: Fail (protection.outlook.com: domain of ameli.fr does not
 designate 192.0.2.77 as permitted sender) receiver=protection.outlook.com;
 client-ip=192.0.2.77; helo=smtp.ameli-remboursement.example;
X-MS-Exchange-Organization-SCL: 5
From: =?utf-8?B?QXNzdXJhbmNlIE1hbGFkaWU=?= <remboursement@ameli.fr>
To: secretariat@chu-valbrune.fr
Subject: =?utf-8?Q?Remboursement_en_attente_:_v=C3=A9rifiez_?=
 =?utf-8?Q?vos_coordonn=C3=A9es?=
Date: Tue, 17 Nov 2026 08:40:00 +0100
Message-ID: <ameli-1@ameli-remboursement.example>
MIME-Version: 1.0
Content-Type: text/html; charset=utf-8
Content-Transfer-Encoding: 8bit

<p>Bonjour, un remboursement de 142,50 € vous attend.</p>
<p><a href="https://urldefense.com/v3/__https://ameli-remboursement.example/carte-vitale__;!!ABC123!xyz$">Mon compte ameli</a></p>
<p><a href="https://www.google.com/url?q=https://xn--aml-bma.example/&amp;sa=D">Suivi</a></p>
"""

LEGIT = """Received: from mail.ght-valbrune.fr (mail.ght-valbrune.fr [192.0.2.10])
\tby mx1.chu-valbrune.fr (Postfix) with ESMTPS id 4Xk9;
\tWed, 18 Nov 2026 10:00:02 +0100 (CET)
Authentication-Results: mx1.chu-valbrune.fr 1; spf=pass smtp.mailfrom=ght-valbrune.fr;
\tdkim=pass (2048-bit key; unprotected) header.d=ght-valbrune.fr header.i=@ght-valbrune.fr header.b="aBcD1234";
\tdmarc=pass (p=reject dis=none) header.from=ght-valbrune.fr
From: =?UTF-8?Q?Direction_des_syst=C3=A8mes_d=27information_du_GHT?= <dsi@ght-valbrune.fr>
To: tous@chu-valbrune.fr
Subject: Maintenance programmée du DPI le 21 novembre
Date: Wed, 18 Nov 2026 10:00:00 +0100
Message-ID: <maint-2026-11@ght-valbrune.fr>
MIME-Version: 1.0
Content-Type: multipart/alternative; boundary=b1

--b1
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

Le dossier patient informatisé sera indisponible samedi de 22 h à 23 h.
Procédure dégradée : https://intranet.chu-valbrune.fr/procedures/dpi-degrade
--b1
Content-Type: text/html; charset=utf-8
Content-Transfer-Encoding: 8bit

<p>Le dossier patient informatisé sera indisponible samedi de 22&nbsp;h à 23&nbsp;h.</p>
<p><a href="https://intranet.chu-valbrune.fr/procedures/dpi-degrade">Procédure dégradée</a></p>
--b1--
"""

SIMULATION = """Received: from hygie.chu-valbrune.fr (hygie.chu-valbrune.fr [10.20.0.5])
\tby mx1.chu-valbrune.fr (Postfix) with ESMTP id 77AA;
\tThu, 19 Nov 2026 11:00:01 +0100 (CET)
From: "Ressources humaines" <rh@rh-valbrune-portail.example>
To: infirmiere@chu-valbrune.fr
Subject: Votre prime de fin d'annee
Date: Thu, 19 Nov 2026 11:00:00 +0100
Message-ID: <sim-1@hygie.chu-valbrune.fr>
MIME-Version: 1.0
Content-Type: text/html; charset=utf-8

<p>Consultez le montant de votre prime : <a href="https://hygie.chu-valbrune.fr/prime?rid=Ab3dE7q">portail RH</a></p>
<img src="https://hygie.chu-valbrune.fr/track?rid=Ab3dE7q">
"""

CHARSETS = """From: =?iso-8859-15?Q?Ren=E9e_=A4_Tr=E9sor?= <tresor@example.org>
To: compta@chu-valbrune.fr
Subject: =?windows-1252?Q?=93Relev=E9=94?= =?utf-8?B?IOKAkyBub3ZlbWJyZQ==?=
Date: Fri, 20 Nov 2026 14:00:00 +0100
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="=_cs"

--=_cs
Content-Type: text/plain; charset="windows-1252"
Content-Transfer-Encoding: quoted-printable

Montant : 1=A0200 =80 =96 l=92=E9ch=E9ance est d=E9pass=E9e.
--=_cs
Content-Type: text/plain; charset=ISO-8859-1
Content-Transfer-Encoding: 8bit

LATIN1_BODY
--=_cs
Content-Type: text/plain; charset=iso-8859-15
Content-Transfer-Encoding: base64

LATIN9_BODY
--=_cs
Content-Type: text/plain; charset=utf-16le
Content-Transfer-Encoding: base64

UTF16_BODY
--=_cs
Content-Type: text/plain; charset=x-made-up
Content-Transfer-Encoding: 7bit

unknown charset
--=_cs
Content-Type: application/pdf
Content-Disposition: attachment;
 filename*0*=utf-8''Relev%C3%A9%20de%20;
 filename*1="compte.pdf"
Content-Transfer-Encoding: base64

JVBERi0xLjQKJcOkw7zDtsOfCg==
--=_cs--
"""


def charsets():
    text = CHARSETS.replace("LATIN9_BODY", b64("Coût : 30 € (œuvre)".encode("iso-8859-15")))
    text = text.replace("UTF16_BODY", b64("Données de santé — 健康".encode("utf-16-le")))
    head, tail = text.split("LATIN1_BODY")
    return crlf(head) + "Reçu à Besançon".encode("latin-1") + crlf(tail)


def truncated():
    whole = phishing_message()
    return whole[: int(len(whole) * 0.7)]


def deep(levels=40):
    out = "From: a@example.org\nSubject: deep\nContent-Type: multipart/mixed; boundary=b0\n\n"
    for i in range(1, levels):
        out += f"--b{i-1}\nContent-Type: multipart/mixed; boundary=b{i}\n\n"
    out += f"--b{levels-1}\nContent-Type: text/plain\n\nbottom\n"
    for i in reversed(range(levels)):
        out += f"--b{i}--\n"
    return crlf(out)


def zip_bomb():
    zbuf = io.BytesIO()
    with zipfile.ZipFile(zbuf, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        z.writestr(entry("scan_0001.pdf"), b"\0" * (20 << 20))
    return crlf("""From: scanner@imprimante-valbrune.example
To: accueil@chu-valbrune.fr
Subject: Document numérisé
Date: Sat, 21 Nov 2026 09:00:00 +0100
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary=z

--z
Content-Type: text/plain

Veuillez trouver le document numérisé.
--z
Content-Type: application/zip; name=scan.zip
Content-Transfer-Encoding: base64

""" + b64(zbuf.getvalue()) + """
--z--
""")


def uuencoded():
    import binascii
    data = b"Rapport de garde\n" * 4
    lines = ["begin 644 rapport.txt"]
    for i in range(0, len(data), 45):
        lines.append(binascii.b2a_uu(data[i:i + 45]).decode().rstrip("\n"))
    lines += ["`", "end"]
    return crlf("""From: garde@chu-valbrune.fr
To: cadre@chu-valbrune.fr
Subject: rapport
Date: Sat, 21 Nov 2026 07:00:00 +0100
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary=u

--u
Content-Type: application/octet-stream; name=rapport.txt
Content-Transfer-Encoding: x-uuencode

""" + "\n".join(lines) + """
--u--
""")


def outlook_files():
    original_headers = PHISH_HEADERS + "Content-Type: text/plain; charset=utf-8\n"
    phish = msg("Votre boîte aux lettres est pleine", "Service informatique CHU Valbrune", "support@chu-va1brune.fr",
                "Vérifiez votre mot de passe immédiatement : https://webmail.chu-va1brune.fr/login\n",
                html='<p>Connexion : <a href="https://webmail.chu-va1brune.fr/login">webmail.chu-valbrune.fr</a></p>',
                headers=original_headers.replace("\n", "\r\n"),
                attachments=[("Facture.docm", "application/vnd.ms-word.document.macroEnabled.12",
                              b"PK\x03\x04" + b"\0" * 100), ("notes.txt", "text/plain", b"x" * 5000)])
    draft = msg("Brouillon sans en-têtes", "Claire Martin", "infirmiere@chu-valbrune.fr", "Texte du brouillon.\n")
    report = msg("TR: Votre boîte aux lettres est pleine", "Claire Martin", "infirmiere@chu-valbrune.fr",
                 "Message suspect ci-joint.\n", embedded=phish)
    return cfb(phish), cfb(draft), cfb(report)


def main():
    os.makedirs(OUT, exist_ok=True)
    os.makedirs(FUZZ, exist_ok=True)
    phish_msg, draft_msg, report_msg = outlook_files()
    files = {
        "phishing.eml": phishing_message(),
        "forwarded-as-attachment.eml": forward_as_attachment(phishing_message()),
        "microsoft-report.eml": microsoft_report(crlf(MS_AUTH)),
        "microsoft-report-msg.eml": microsoft_report(phish_msg, "original.msg", "application/vnd.ms-outlook"),
        "legitimate.eml": crlf(LEGIT),
        "simulation.eml": crlf(SIMULATION),
        "charsets.eml": charsets(),
        "truncated.eml": truncated(),
        "deep-nesting.eml": deep(),
        "zip-bomb.eml": zip_bomb(),
        "uuencode.eml": uuencoded(),
        "pasted-headers.txt": crlf(MS_AUTH.split("\n\n")[0] + "\n"),
        "phishing.msg": phish_msg,
        "draft.msg": draft_msg,
        "report-with-embedded.msg": report_msg,
    }
    for name, data in files.items():
        with open(os.path.join(OUT, name), "wb") as handle:
            handle.write(data)
        if name != "zip-bomb.eml":
            # TriageFuzz reads its mode from the first byte: 0 MIME, 1 .msg.
            with open(os.path.join(FUZZ, name), "wb") as handle:
                handle.write((b"\x01" if name.endswith(".msg") else b"\x00") + data)
    with open(os.path.join(FUZZ, "headers.txt"), "wb") as handle:
        handle.write(b"\x02" + crlf(MS_AUTH))
    if "--check" in sys.argv:
        import extract_msg
        import olefile
        for name in ("phishing.msg", "draft.msg", "report-with-embedded.msg"):
            path = os.path.join(OUT, name)
            ole = olefile.OleFileIO(path)
            streams = ["/".join(s) for s in ole.listdir()]
            message = extract_msg.openMsg(path)
            print(f"{name}: olefile {len(streams)} streams; extract-msg subject={message.subject!r} "
                  f"sender={message.sender!r} attachments={[a.longFilename or a.type for a in message.attachments]}")
            message.close()
            ole.close()
    print(f"wrote {len(files)} files to {OUT}")


if __name__ == "__main__":
    main()
