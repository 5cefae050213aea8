#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""tests/e2e/pkt.py - hand-made ICMP packets and floods for the end-to-end tests.

Run inside the client namespace with Debian's /usr/bin/python3 (which has scapy).
Frames are sent with sendp() on IFACE to DMAC, so the kernel's routing and ARP/ND of the
client are not in the way and every frame that is asked for goes out exactly once.

  pkt.py --iface IF --dmac MAC --src A --dst B echo N [--len L[,L...]] [--badsum]
  pkt.py ... icmp TYPE CODE N [--len L[,L...]] [--badsum]
                                                      (IPv4 or IPv6 from the addresses;
                                                       N frames per payload length L)
  pkt.py ... frag OFFSET DATALEN N [--mf]             (a fragment of an ICMP datagram;
                                                       OFFSET in 8-byte units)
  pkt.py flood6 DST SECONDS                           (raw-socket ICMPv6 echo flood, no
                                                       scapy; prints the number sent)

A bad checksum is the right one with its low byte inverted: never the other zero
(0x0000 / 0xffff) of a right one, so it is wrong for any verifier.
"""
import argparse
import sys


def flood6(dst, seconds):
    import socket
    import struct
    import time

    s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
    # The kernel fills in the ICMPv6 checksum of raw ICMPv6 sockets.
    pkt = struct.pack('!BBHHH', 128, 0, 0, 0x4957, 1) + b'icmpwall'
    send, addr, n = s.sendto, (dst, 0), 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        for _ in range(256):
            try:
                send(pkt, addr)
                n += 1
            except OSError:
                pass
    print(n)


def main():
    if len(sys.argv) > 1 and sys.argv[1] == 'flood6':
        flood6(sys.argv[2], float(sys.argv[3]))
        return

    ap = argparse.ArgumentParser()
    ap.add_argument('--iface', required=True)
    ap.add_argument('--dmac', required=True)
    ap.add_argument('--src', required=True)
    ap.add_argument('--dst', required=True)
    ap.add_argument('cmd')
    ap.add_argument('args', nargs='*', type=int)
    ap.add_argument('--len', default='0',
                    help='payload bytes after the ICMP header, or a comma list of them')
    ap.add_argument('--badsum', action='store_true')
    ap.add_argument('--mf', action='store_true')
    a = ap.parse_args()

    from scapy.all import (ICMP, IP, IPv6, IPv6ExtHdrFragment, ICMPv6EchoRequest,
                           ICMPv6Unknown, Ether, Raw, UDP, sendp, conf, get_if_hwaddr)
    conf.verb = 0
    smac = get_if_hwaddr(a.iface)
    v6 = ':' in a.dst
    l3 = IPv6(src=a.src, dst=a.dst) if v6 else IP(src=a.src, dst=a.dst)
    lens = [int(x) for x in a.len.split(',')]

    def icmp(type_, code, plen):
        payload = bytes((i * 7 + 1) & 0xff for i in range(plen))
        if v6:
            if type_ == 128:
                return ICMPv6EchoRequest(id=0x4957, seq=1, data=payload)
            return ICMPv6Unknown(type=type_, code=code, msgbody=payload)
        if type_ in (3, 11, 12):
            # an error message quotes a datagram: one of ours, from us to the client
            inner = IP(src=a.dst, dst=a.src) / UDP(sport=40000, dport=40001)
            extra = {'nexthopmtu': 1500} if type_ == 3 else {}
            return ICMP(type=type_, code=code, **extra) / inner / Raw(payload)
        return ICMP(type=type_, code=code, id=0x4957, seq=1) / Raw(payload)

    def finish(pkt):
        pkt = Ether(src=smac, dst=a.dmac) / pkt
        if a.badsum:
            field = 'cksum' if v6 else 'chksum'
            right = getattr(Ether(bytes(pkt)).getlayer(2), field)
            setattr(pkt.getlayer(2), field, right ^ 0x00ff)
        return pkt

    if a.cmd == 'echo':
        n, = a.args
        frames = [finish(l3 / icmp(128 if v6 else 8, 0, L)) for L in lens for _ in range(n)]
    elif a.cmd == 'icmp':
        t, c, n = a.args
        frames = [finish(l3 / icmp(t, c, L)) for L in lens for _ in range(n)]
    elif a.cmd == 'frag':
        off, dlen, n = a.args
        data = bytes(dlen)
        if v6:
            fh = IPv6ExtHdrFragment(nh=58, offset=off, m=int(a.mf), id=0x4957)
            frames = [Ether(src=smac, dst=a.dmac) / IPv6(src=a.src, dst=a.dst) / fh / Raw(data)] * n
        else:
            ip = IP(src=a.src, dst=a.dst, proto=1, id=0x4957, frag=off,
                    flags='MF' if a.mf else 0)
            frames = [Ether(src=smac, dst=a.dmac) / ip / Raw(data)] * n
    else:
        ap.error('unknown command ' + a.cmd)
    sendp(frames, iface=a.iface)


if __name__ == '__main__':
    main()
