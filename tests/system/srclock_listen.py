#!/usr/bin/python3
# The host-side listener of t_srclock: prints "SOURCE TAG" for every UDP
# datagram that reaches PORT (IPv4 and IPv6), one line each, flushed.
#
#   srclock_listen.py PORT READYFILE
import select
import socket
import sys

port = int(sys.argv[1])
s4 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s4.bind(("0.0.0.0", port))
s6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
s6.bind(("::", port))
open(sys.argv[2], "w").close()
while True:
    for s in select.select([s4, s6], [], [])[0]:
        data, addr = s.recvfrom(2048)
        print(addr[0].split("%")[0], data.decode(errors="replace"), flush=True)
