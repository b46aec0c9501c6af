#!/usr/bin/python3
# The guest stand-in of t_srclock: run as COMMAND under `tapgate run`, it
# writes Ethernet frames carrying one UDP datagram each to the device fd
# (TAPGATE_FD), from whatever source address the test names: what a hostile
# guest can do. Frames only, by hand, through the fd alone.
#
#   srclock_guest.py DIR NAME
#
# Creates DIR/NAME.ready, then for n = 1, 2, ... waits for DIR/NAME.cmd.n,
# whose lines are "FAMILY SRC DST PORT TAG" (FAMILY 4 or 6), sends one
# datagram per line (payload TAG) and creates DIR/NAME.done.n; exits when
# DIR/NAME.go exists.
import ipaddress
import os
import socket
import struct
import sys
import time


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def udp4(src, dst, port, payload):
    udp = struct.pack("!HHHH", 40000, port, 8 + len(payload), 0) + payload
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0x4000, 64, 17, 0,
                      src.packed, dst.packed)
    hdr = hdr[:10] + struct.pack("!H", csum(hdr)) + hdr[12:]
    return 0x0800, hdr + udp


def udp6(src, dst, port, payload):
    length = 8 + len(payload)
    pseudo = src.packed + dst.packed + struct.pack("!I3xB", length, 17)
    udp = struct.pack("!HHHH", 40000, port, length, 0) + payload
    c = csum(pseudo + udp) or 0xFFFF
    udp = udp[:6] + struct.pack("!H", c) + udp[8:]
    hdr = struct.pack("!IHBB16s16s", 6 << 28, length, 17, 64, src.packed, dst.packed)
    return 0x86DD, hdr + udp


def main():
    folder, name = sys.argv[1], sys.argv[2]
    fd = int(os.environ["TAPGATE_FD"])
    with open("/sys/class/net/%s/address" % os.environ["TAPGATE_IFNAME"]) as f:
        host_mac = bytes.fromhex(f.read().strip().replace(":", ""))
    own_mac = bytes.fromhex("027467000002")
    open(os.path.join(folder, name + ".ready"), "w").close()
    n = 1
    while not os.path.exists(os.path.join(folder, name + ".go")):
        cmd = os.path.join(folder, "%s.cmd.%d" % (name, n))
        if not os.path.exists(cmd):
            time.sleep(0.05)
            continue
        with open(cmd) as f:
            for line in f:
                fam, src, dst, port, tag = line.split()
                make = udp4 if fam == "4" else udp6
                etype, packet = make(ipaddress.ip_address(src), ipaddress.ip_address(dst),
                                     int(port), tag.encode())
                os.write(fd, host_mac + own_mac + struct.pack("!H", etype) + packet)
        open(os.path.join(folder, "%s.done.%d" % (name, n)), "w").close()
        n += 1


main()
