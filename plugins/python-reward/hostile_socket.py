"""Hostile reward: tries to reach the network. The sandbox grants no
sockets, so the attempt fails inside the guest and derl reports the
program's own error."""

import socket


def reward(primitives: list[float]) -> float:
    connection = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    connection.connect(("93.184.216.34", 80))
    connection.sendall(b"GET / HTTP/1.0\r\n\r\n")
    return float(len(connection.recv(64)))
