#!/usr/bin/env python3
"""Generates a Windows event corpus for measuring `hygie hunt` (JSON lines, flat EVTX naming).

The SigmaHQ regression events (../shared/data/sigma/samples) are replicated with varied values (host, user,
process ids, GUIDs, times) among benign noise (Sysmon process creation, network, image load, file and registry
events; Security logons and process creation) generated from realistic hospital workstation and server activity.

    scripts/make-hunt-corpus.py OUT.jsonl [--events 1000000] [--attack-share 0.02] [--seed 7]
"""
import argparse
import datetime
import glob
import json
import os
import random
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
SAMPLES = os.path.join(HERE, "..", "..", "shared", "data", "sigma", "samples")
SYSMON = "Microsoft-Windows-Sysmon/Operational"

HOSTS = [f"{prefix}-{n:03d}.chu-exemple.local" for prefix in ("WS-URG", "WS-RADIO", "WS-BLOC", "WS-ADM", "SRV-DPI", "SRV-PACS", "SRV-LAB") for n in range(1, 40)]
USERS = [f"CHU\\{name}" for name in ("infirmiere.dupont", "dr.martin", "secretariat.radio", "admin.si", "labo.tech", "svc_backup", "svc_hl7", "interne.leroy", "cadre.sante", "pharma.stock")]
IMAGES = [
    ("C:\\Windows\\System32\\svchost.exe", "svchost.exe -k netsvcs -p -s Schedule"),
    ("C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe", "\"C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe\" --type=renderer --lang=fr"),
    ("C:\\Program Files\\Mozilla Firefox\\firefox.exe", "\"C:\\Program Files\\Mozilla Firefox\\firefox.exe\" -contentproc"),
    ("C:\\Program Files (x86)\\DPI\\Client\\dpi.exe", "\"C:\\Program Files (x86)\\DPI\\Client\\dpi.exe\" /site=CHU /user"),
    ("C:\\Program Files\\PACS Viewer\\viewer.exe", "\"C:\\Program Files\\PACS Viewer\\viewer.exe\" --study 1.2.840.113619"),
    ("C:\\Windows\\System32\\conhost.exe", "\\??\\C:\\Windows\\system32\\conhost.exe 0xffffffff -ForceV1"),
    ("C:\\Program Files\\Microsoft Office\\root\\Office16\\WINWORD.EXE", "\"C:\\Program Files\\Microsoft Office\\root\\Office16\\WINWORD.EXE\" /n"),
    ("C:\\Program Files\\Microsoft Office\\root\\Office16\\OUTLOOK.EXE", "\"C:\\Program Files\\Microsoft Office\\root\\Office16\\OUTLOOK.EXE\""),
    ("C:\\Windows\\System32\\taskhostw.exe", "taskhostw.exe {222A245B-E637-4AE9-A93F-A59CA119A75E}"),
    ("C:\\Windows\\System32\\backgroundTaskHost.exe", "\"C:\\Windows\\system32\\backgroundTaskHost.exe\" -ServerName:App.AppXmtcan0h2tfbfy7k9kn8hbxb6dmzz1zh0.mca"),
    ("C:\\Program Files\\Mirth Connect\\mcservice.exe", "\"C:\\Program Files\\Mirth Connect\\mcservice.exe\" //RS//MirthConnect"),
    ("C:\\Windows\\System32\\SearchProtocolHost.exe", "\"C:\\Windows\\system32\\SearchProtocolHost.exe\" Global\\UsGthrFltPipeMssGthrPipe1_ Global\\UsGthrCtrlFltPipeMssGthrPipe1"),
]
PARENTS = ["C:\\Windows\\explorer.exe", "C:\\Windows\\System32\\services.exe", "C:\\Windows\\System32\\svchost.exe", "C:\\Program Files (x86)\\DPI\\Client\\dpi.exe"]
DLLS = ["C:\\Windows\\System32\\kernel32.dll", "C:\\Windows\\System32\\ntdll.dll", "C:\\Windows\\System32\\user32.dll", "C:\\Windows\\System32\\crypt32.dll", "C:\\Program Files (x86)\\DPI\\Client\\dpicore.dll"]


def guid():
    return "{" + str(uuid.UUID(int=random.getrandbits(128))).upper() + "}"


def base(event_id, channel, host, time, provider="Microsoft-Windows-Sysmon"):
    return {
        "Provider_Name": provider, "EventID": event_id, "Version": 5, "Level": 4, "Task": event_id, "Opcode": 0,
        "Keywords": "0x8000000000000000", "SystemTime": time.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "EventRecordID": random.randint(1, 10**8), "ProcessID": random.randint(1000, 9000),
        "ThreadID": random.randint(1000, 9000), "Channel": channel, "Computer": host, "UserID": "S-1-5-18",
    }


def noise(time):
    host = random.choice(HOSTS)
    user = random.choice(USERS)
    kind = random.random()
    if kind < 0.40:
        image, command = random.choice(IMAGES)
        event = base(1, SYSMON, host, time)
        event.update({
            "RuleName": "-", "UtcTime": time.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3], "ProcessGuid": guid(),
            "ProcessId": random.randint(100, 60000), "Image": image, "FileVersion": "10.0.19041.1",
            "Description": os.path.basename(image), "Product": "Microsoft® Windows® Operating System",
            "Company": "Microsoft Corporation", "OriginalFileName": os.path.basename(image), "CommandLine": command,
            "CurrentDirectory": "C:\\Windows\\system32\\", "User": user, "LogonGuid": guid(),
            "LogonId": hex(random.randint(0x10000, 0xFFFFFF)), "TerminalSessionId": 1, "IntegrityLevel": "Medium",
            "Hashes": "SHA256=" + "%064X" % random.getrandbits(256), "ParentProcessGuid": guid(),
            "ParentProcessId": random.randint(100, 60000), "ParentImage": random.choice(PARENTS),
            "ParentCommandLine": "C:\\Windows\\Explorer.EXE", "ParentUser": user,
        })
    elif kind < 0.55:
        event = base(3, SYSMON, host, time)
        event.update({
            "RuleName": "-", "UtcTime": time.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3], "ProcessGuid": guid(),
            "ProcessId": random.randint(100, 60000), "Image": random.choice(IMAGES)[0], "User": user,
            "Protocol": "tcp", "Initiated": "true", "SourceIsIpv6": "false",
            "SourceIp": f"10.{random.randint(1, 40)}.{random.randint(0, 255)}.{random.randint(1, 254)}",
            "SourceHostname": host, "SourcePort": random.randint(49152, 65535), "DestinationIsIpv6": "false",
            "DestinationIp": f"10.1.{random.randint(0, 10)}.{random.randint(1, 254)}", "DestinationHostname": "srv-dpi-001.chu-exemple.local",
            "DestinationPort": random.choice([443, 445, 104, 2575, 1433, 389]), "DestinationPortName": "-",
        })
    elif kind < 0.70:
        event = base(7, SYSMON, host, time)
        event.update({
            "RuleName": "-", "UtcTime": time.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3], "ProcessGuid": guid(),
            "ProcessId": random.randint(100, 60000), "Image": random.choice(IMAGES)[0], "ImageLoaded": random.choice(DLLS),
            "FileVersion": "10.0.19041.1", "Description": "Windows library", "Product": "Microsoft® Windows® Operating System",
            "Company": "Microsoft Corporation", "OriginalFileName": "lib.dll", "Hashes": "SHA256=" + "%064X" % random.getrandbits(256),
            "Signed": "true", "Signature": "Microsoft Windows", "SignatureStatus": "Valid", "User": user,
        })
    elif kind < 0.80:
        event = base(11, SYSMON, host, time)
        event.update({
            "RuleName": "-", "UtcTime": time.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3], "ProcessGuid": guid(),
            "ProcessId": random.randint(100, 60000), "Image": random.choice(IMAGES)[0],
            "TargetFilename": f"C:\\Users\\{user.split(chr(92))[1]}\\AppData\\Local\\Temp\\~DF{random.randint(1000, 9999)}.tmp",
            "CreationUtcTime": time.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3], "User": user,
        })
    elif kind < 0.88:
        event = base(13, SYSMON, host, time)
        event.update({
            "RuleName": "-", "EventType": "SetValue", "UtcTime": time.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3],
            "ProcessGuid": guid(), "ProcessId": random.randint(100, 60000), "Image": random.choice(IMAGES)[0],
            "TargetObject": f"HKU\\S-1-5-21-{random.randint(10**8, 10**9)}\\Software\\Microsoft\\Office\\16.0\\Common\\Roaming\\Identities",
            "Details": "DWORD (0x00000001)", "User": user,
        })
    elif kind < 0.96:
        event = base(random.choice([4624, 4624, 4634, 4625]), "Security", host, time, "Microsoft-Windows-Security-Auditing")
        event.update({
            "SubjectUserSid": "S-1-5-18", "SubjectUserName": host.split(".")[0] + "$", "SubjectDomainName": "CHU",
            "SubjectLogonId": "0x3e7", "TargetUserSid": f"S-1-5-21-{random.randint(10**8, 10**9)}",
            "TargetUserName": user.split("\\")[1], "TargetDomainName": "CHU", "TargetLogonId": hex(random.randint(0x10000, 0xFFFFFF)),
            "LogonType": random.choice([2, 3, 7, 10, 11]), "LogonProcessName": "User32", "AuthenticationPackageName": "Negotiate",
            "WorkstationName": host.split(".")[0], "IpAddress": f"10.{random.randint(1, 40)}.{random.randint(0, 255)}.{random.randint(1, 254)}",
            "IpPort": str(random.randint(49152, 65535)),
        })
    else:
        image, command = random.choice(IMAGES)
        event = base(4688, "Security", host, time, "Microsoft-Windows-Security-Auditing")
        event.update({
            "SubjectUserSid": "S-1-5-18", "SubjectUserName": user.split("\\")[1], "SubjectDomainName": "CHU",
            "SubjectLogonId": hex(random.randint(0x10000, 0xFFFFFF)), "NewProcessId": hex(random.randint(0x100, 0xFFFF)),
            "NewProcessName": image, "TokenElevationType": "%%1938", "ProcessId": hex(random.randint(0x100, 0xFFFF)),
            "CommandLine": command, "TargetUserSid": "S-1-0-0", "TargetUserName": "-", "TargetDomainName": "-",
            "TargetLogonId": "0x0", "ParentProcessName": random.choice(PARENTS), "MandatoryLabel": "S-1-16-8192",
        })
    return event


def vary(event, time):
    event = dict(event)
    event["Computer"] = random.choice(HOSTS)
    event["SystemTime"] = time.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if "UtcTime" in event:
        event["UtcTime"] = time.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
    event["EventRecordID"] = random.randint(1, 10**8)
    for key in ("ProcessId", "ParentProcessId"):
        if isinstance(event.get(key), int):
            event[key] = random.randint(100, 60000)
    for key in ("ProcessGuid", "ParentProcessGuid", "LogonGuid"):
        if key in event:
            event[key] = guid()
    if isinstance(event.get("User"), str) and "\\" in event["User"]:
        event["User"] = random.choice(USERS)
    return event


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("output")
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--attack-share", type=float, default=0.02)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    random.seed(args.seed)
    attacks = []
    for path in sorted(glob.glob(os.path.join(SAMPLES, "*.jsonl"))):
        with open(path) as handle:
            attacks += [json.loads(line) for line in handle if line.strip()]
    time = datetime.datetime(2026, 11, 2, 7, 0, 0)
    with open(args.output, "w") as out:
        for _ in range(args.events):
            time += datetime.timedelta(milliseconds=random.randint(1, 40))
            if random.random() < args.attack_share:
                event = vary(random.choice(attacks), time)
            else:
                event = noise(time)
            out.write(json.dumps(event, ensure_ascii=False, separators=(",", ":")) + "\n")


if __name__ == "__main__":
    main()
