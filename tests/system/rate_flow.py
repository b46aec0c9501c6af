#!/usr/bin/python3
# The two ends of t_rate's measurements, IPv4/UDP, 1400-byte IP packets.
#
#   rate_flow.py send SECONDS MBIT SRC DST PORT [--fd]
#       sends to DST:PORT at MBIT for SECONDS, through a UDP socket, or with
#       --fd as raw IPv4 packets written to the tun descriptor TAPGATE_FD
#       (the guest's side); prints "sent MBIT_MEASURED".
#   rate_flow.py sink SECONDS WARMUP PORT READY [--fd]
#       counts the IP bytes of what arrives for PORT (a UDP socket, or with
#       --fd the tun descriptor), from WARMUP seconds after the first packet
#       until SECONDS after it; prints "received MBIT over S s". Creates the
#       file READY once it listens.
import os
import select
import socket
import struct
import sys
import time

SIZE = 1400
HDRS = 28  # IPv4 and UDP headers: what a UDP socket does not count


def csum(data):
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def packet(src, dst, port):
    payload = b"x" * (SIZE - HDRS)
    udp = struct.pack("!HHHH", 40000, port, 8 + len(payload), 0) + payload
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, SIZE, 0, 0x4000, 64, 17, 0,
                      socket.inet_aton(src), socket.inet_aton(dst))
    return hdr[:10] + struct.pack("!H", csum(hdr)) + hdr[12:] + udp


def send(seconds, mbit, src, dst, port, raw):
    fd = int(os.environ["TAPGATE_FD"]) if raw else None
    sock = None if raw else socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    data = packet(src, dst, port) if raw else b"x" * (SIZE - HDRS)
    per_tick = mbit * 1e6 / 8 / SIZE / 100  # packets per 10 ms
    start = time.monotonic()
    sent = 0
    while time.monotonic() - start < seconds:
        due = int((time.monotonic() - start) * 100 * per_tick) + 1
        while sent < due:
            try:
                if raw:
                    os.write(fd, data)
                else:
                    sock.sendto(data, (dst, port))
            except OSError:
                pass
            sent += 1
        time.sleep(0.01)
    print("sent %.1f" % (sent * SIZE * 8 / 1e6 / (time.monotonic() - start)), flush=True)


def sink(seconds, warmup, port, ready, raw):
    if raw:
        fd = int(os.environ["TAPGATE_FD"])
        read = lambda: os.read(fd, 65536)
    else:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind(("0.0.0.0", port))
        fd = sock.fileno()
        read = lambda: sock.recv(65536)
    open(ready, "w").close()
    first = None
    counted = 0
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if not select.select([fd], [], [], 0.2)[0]:
            continue
        data = read()
        now = time.monotonic()
        if raw:
            if len(data) < 28 or data[9] != 17 or struct.unpack("!H", data[22:24])[0] != port:
                continue
            size = len(data)
        else:
            size = len(data) + HDRS
        if first is None:
            first = now
            deadline = first + seconds
        if now - first >= warmup:
            counted += size
    span = seconds - warmup
    print("received %.2f over %.1f s" % (counted * 8 / 1e6 / span, span), flush=True)


args = sys.argv[1:]
raw = "--fd" in args
args = [a for a in args if a != "--fd"]
if args[0] == "send":
    send(float(args[1]), float(args[2]), args[3], args[4], int(args[5]), raw)
else:
    sink(float(args[1]), float(args[2]), int(args[3]), args[4], raw)
